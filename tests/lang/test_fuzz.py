"""Thousands of random and mutated sentences: only located errors come out, and a
sentence that fails leaves the session exactly as it was."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mainpy.lang.errors import LangError
from mainpy.lang.interpreter import QuitSignal
from mainpy.session import Session
from tests.lang.test_check import SECTION_7

CORPUS = [line for line in SECTION_7.replace("-\n", " ").replace("\\\n", " ").splitlines()] + [
    "show key", "show vari", "show crystal", "show sele resi numb 1 : 10 .a. atom name CA end",
    "key near sele around key active dist 4 .and. .not. resi name HOH end",
    "set coor kick 0.1 seed 3 sele by resi (atom name SG) end",
    "set temp sele temp 10 20 .or. occu 0 0.5 end = 15", "save coor a", "restore coor a",
    "set occu sele altl A end = 0.5", "key work_set drop", "help minimize",
    "set vari X = 3", "minimize step X", "read coor file nothing.pdb", "write coor file out.pdb",
]
VOCAB = ["sele", "end", ".a", ".o", ".not.", "(", ")", "=", ":", "-", "\\", "!", "#", '"',
         "resi", "atom", "name", "numb", "around", "key", "dist", "by", "all", "none", "1",
         "-3", "2.5", "1e9", "nan", "X", "ARG1", "*", "%", "<", "<nosuch", ";", "\n", "file",
         "kick", "seed", "step", "map", "MAP_FO", "set", "show", "temp", "occu", "write"]


@pytest.fixture(scope="module")
def session(data, tmp_path_factory):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    return s


def run_checked(s, text):
    before = s.fingerprint()
    try:
        s.run(text)
    except LangError as e:
        assert s.fingerprint() == before, text
        e.format()       # the message itself must be printable
    except QuitSignal:
        pass
    s.out.seek(0)
    s.out.truncate()


@st.composite
def mutated(draw):
    words = draw(st.sampled_from(CORPUS)).split()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "swap", "truncate", "case", "dup"]))
        if not words:
            words = [draw(st.sampled_from(VOCAB))]
        i = draw(st.integers(0, len(words) - 1))
        if op == "delete":
            del words[i]
        elif op == "insert":
            words.insert(i, draw(st.sampled_from(VOCAB)))
        elif op == "swap":
            j = draw(st.integers(0, len(words) - 1))
            words[i], words[j] = words[j], words[i]
        elif op == "truncate":
            words[i] = words[i][: draw(st.integers(0, len(words[i])))]
        elif op == "case":
            words[i] = words[i].swapcase()
        else:
            words.insert(i, words[i])
    return " ".join(words)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=mutated())
def test_mutated_sentences(session, tmp_path_factory, monkeypatch_module, text):
    run_checked(session, text)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(alphabet=st.sampled_from(list("abcdeklmnoprstuvxyz.!#-=()<:;\"\\ \n\t*%0123456789")),
                    max_size=60))
def test_random_text(session, monkeypatch_module, text):
    run_checked(session, text)


@pytest.fixture(scope="module")
def monkeypatch_module(tmp_path_factory):
    # mutated sentences may write files: keep them in a scratch folder
    mp = pytest.MonkeyPatch()
    mp.chdir(tmp_path_factory.mktemp("fuzz"))
    yield mp
    mp.undo()
