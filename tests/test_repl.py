"""The interactive prompt, driven through prompt_toolkit's pipe input.

Keys are written to a pipe input the way a terminal would send them ("\\r" Enter, "\\t"
Tab, "\\x1b[A" Up, "\\x03" Ctrl-C, "\\x04" Ctrl-D); what the session prints goes to a
StringIO. The history file is always a temporary one (MAINPY_HISTORY).

Two ways to drive the prompt:
  feed(session, keys)  all keys written at once (typed ahead), then the prompt runs to
                       the end; for everything that does not depend on timing.
  Prompt(session)      the prompt in a thread; .type(keys) waits until the prompt is idle
                       again. Needed where prompt_toolkit works in the background
                       (history loading, completion): keys typed ahead of those are
                       handled before them, as on a real terminal.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import lark
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from mainpy.lang.lexer import split
from mainpy.repl import (MORE, _code, _plain, continues, current_sentence, make_completer,
                         make_lexer, repl)
from mainpy.session import Session

ENTER, TAB, UP, CTRL_C, CTRL_D = "\r", "\t", "\x1b[A", "\x03", "\x04"


# ------------------------------------------------------------------------------- helpers

@pytest.fixture
def history(tmp_path, monkeypatch):
    """A fresh history file for this test (never the user's ~/.mainpy_history)."""
    path = tmp_path / "history"
    monkeypatch.setenv("MAINPY_HISTORY", str(path))
    return path


def new_session() -> Session:
    return Session(out=io.StringIO())


def out(session) -> str:
    return session.out.getvalue()


def entries(path: Path) -> list[str]:
    """The entries of a prompt_toolkit history file, oldest first."""
    found, cur = [], None
    for line in path.read_text().splitlines():
        if line.startswith("+"):
            cur = (cur + "\n" if cur is not None else "") + line[1:]
        else:
            if cur is not None:
                found.append(cur)
            cur = None
    if cur is not None:
        found.append(cur)
    return found


class Screen(DummyOutput):
    """An output that counts renders (to know when the prompt is idle) and keeps the text."""

    def __init__(self):
        super().__init__()
        self.renders = 0
        self.text: list[str] = []

    def write(self, data):
        self.text.append(data)

    def write_raw(self, data):
        self.text.append(data)

    def flush(self):
        self.renders += 1


def feed(session, keys: str, timeout: float = 30) -> int:
    """Type keys (ending the input with Ctrl-D unless they quit) and run the prompt."""
    result = {}
    with create_pipe_input() as inp:
        inp.send_text(keys)

        def main():
            try:
                result["rc"] = repl(session, input=inp, output=DummyOutput())
            except BaseException as e:  # noqa: BLE001 - reported by the test
                result["exc"] = e

        t = threading.Thread(target=main, daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            inp.close()
            t.join(5)
            pytest.fail(f"the prompt did not return after {keys!r}")
    if "exc" in result:
        raise result["exc"]
    return result["rc"]


class Prompt:
    """The prompt in a thread; type() sends keys and waits until it is idle again."""

    def __init__(self, session):
        self.session = session
        self.screen = Screen()
        self._pipe = create_pipe_input()
        self.inp = self._pipe.__enter__()
        self.result: dict = {}
        self.busy = False
        self.runs = 0
        run = session.run

        def counted(text, name="<input>"):
            self.busy = True
            try:
                return run(text, name)
            finally:
                self.runs += 1
                self.busy = False

        session.run = counted          # an instance attribute: repl calls it
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()
        self.settle()

    def _main(self):
        try:
            self.result["rc"] = repl(self.session, input=self.inp, output=self.screen)
        except BaseException as e:  # noqa: BLE001 - reported by finish()
            self.result["exc"] = e

    def settle(self, quiet: float = 0.2, timeout: float = 20):
        """Wait until nothing was drawn for `quiet` s and no sentence is running."""
        end = time.monotonic() + timeout
        last = (-1, True)
        while time.monotonic() < end and self.thread.is_alive():
            now = (self.screen.renders, self.busy)
            if now == last and not self.busy and self.screen.renders:
                return
            last = now
            time.sleep(quiet)
        if self.thread.is_alive():
            pytest.fail("the prompt did not become idle")

    def type(self, keys: str, until: str | None = None):
        """Send keys; wait for the prompt to react, the sentence to run, then quiet.
        until: also wait (up to 20 s) for this text on the screen, for what is drawn
        after work outside a sentence (a completion, a question asked before leaving)."""
        renders, runs = self.screen.renders, self.runs
        self.inp.send_text(keys)
        # first see the prompt react (a loaded machine may take a while to read the keys),
        # and when the keys end a sentence, see it run; then wait for quiet
        end = time.monotonic() + 20
        while self.screen.renders == renders and time.monotonic() < end:
            time.sleep(0.01)
        while until is not None and until not in "".join(self.screen.text) \
                and time.monotonic() < end:
            time.sleep(0.01)
        if keys.endswith(ENTER):
            end = time.monotonic() + 5
            while self.runs == runs and time.monotonic() < end:
                time.sleep(0.01)
        self.settle()

    def finish(self, keys: str = CTRL_D, timeout: float = 20) -> int:
        self.inp.send_text(keys)
        self.thread.join(timeout)
        alive = self.thread.is_alive()
        self._pipe.__exit__(None, None, None)
        if alive:
            self.thread.join(5)
            pytest.fail(f"the prompt did not return after {keys!r}")
        if "exc" in self.result:
            raise self.result["exc"]
        return self.result["rc"]


def caret_under(text: str, line: str, word: str) -> bool:
    """Does the error text show `line` with a caret under `word`?"""
    rows = text.splitlines()
    for i, row in enumerate(rows[:-1]):
        if row == "  " + line:
            return rows[i + 1].index("^") == row.index(word, 2)
    return False


# ------------------------------------------------------------------------------- sentences

def test_typed_sentences_run(history):
    s = new_session()
    rc = feed(s, "set vari X = 5" + ENTER + "show vari" + ENTER + CTRL_D)
    assert rc == 0
    assert s.variables == {"X": "5"}
    assert re.search(r"^ X = 5$", out(s), re.M)


def test_read_coordinates_and_show_crystal(history, data):
    pdb = data("xtal/1aba/1aba.pdb")
    s = new_session()
    rc = feed(s, f'read coor file "{pdb}"' + ENTER + "show crystal" + ENTER + CTRL_D)
    assert rc == 0
    assert "error" not in out(s)
    assert re.search(r"^ space group P 21 21 21\b", out(s), re.M)
    assert len(s.model.atoms) == 880


# ------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("bad, word, hint", [
    ("minimize stpe 5", "stpe", "STEP"),                 # misspelled keyword
    ("set temp sele all end = abc", "abc", None),        # not a number nor a variable
    ("set occu sele all end = 2", None, None),           # refused by the command itself
    ("show sele resi nmae ALA end", "nmae", "NAME"),     # misspelled selection word
])
def test_error_is_located_state_kept_and_prompt_recovers(history, data, bad, word, hint):
    s = new_session()
    s.run(f'read coor file "{data("xtal/1aba/1aba.pdb")}"')
    s.run("set vari KEEP = 1")
    s.out = io.StringIO()
    before = s.fingerprint()
    p = Prompt(s)
    p.type(bad + ENTER)
    text = out(s)
    assert re.search(r"^<input>:1:\d+: error: ", text, re.M), text
    assert "Traceback" not in text
    assert "  " + bad in text.splitlines()                     # the typed line is shown
    assert "^" in text
    if word is not None:
        assert f"<input>:1:{bad.index(word) + 1}: error:" in text
        assert caret_under(text, bad, word), text
    if hint is not None:
        assert f"did you mean: {hint}" in text
    assert s.fingerprint() == before                         # nothing changed
    p.type("set vari AFTER = 2" + ENTER)                       # the prompt goes on
    assert p.finish() == 0
    assert s.variables["AFTER"] == "2"
    assert s.fingerprint() != before


def test_error_in_second_sentence_of_a_line_runs_nothing(history):
    s = new_session()
    feed(s, "set vari A = 1; minimize stpe 5" + ENTER + "show vari" + ENTER + CTRL_D)
    assert "did you mean: STEP" in out(s)
    assert "A" not in s.variables               # every sentence is resolved before any runs
    assert " no variables" in out(s)


def test_interrupted_sentence_reports_and_prompt_goes_on(history):
    s = new_session()
    run = s.run

    def run_or_interrupt(text, name="<input>"):
        if "slow" in text:
            raise KeyboardInterrupt
        return run(text, name)

    s.run = run_or_interrupt
    rc = feed(s, "set vari slow = 1" + ENTER + "set vari B = 2" + ENTER + CTRL_D)
    assert rc == 0
    assert "interrupted" in out(s)
    assert s.variables == {"B": "2"}


# ------------------------------------------------------------------------------- continuation

def test_continued_sentence_runs_as_one(history):
    s = new_session()
    rc = feed(s, "set vari C = 3" + ENTER + "show -" + ENTER + "  vari" + ENTER + CTRL_D)
    assert rc == 0
    assert "error" not in out(s)
    assert re.search(r"^ C = 3$", out(s), re.M)
    # one sentence, one history entry, as typed
    assert entries(history) == ["set vari C = 3", "show -\n  vari"]


def test_backslash_continuation_and_comment(history):
    s = new_session()
    feed(s, "set vari D = \\" + ENTER + "  7 ! the value" + ENTER
         + "set vari E = 8 ! a comment ending in a dash -" + ENTER + "show vari" + ENTER
         + CTRL_D)
    assert "error" not in out(s)
    assert s.variables == {"D": "7", "E": "8"}
    # the dash inside a comment does not continue: 'show vari' is its own sentence
    assert entries(history)[-2:] == ["set vari E = 8 ! a comment ending in a dash -",
                                     "show vari"]


def test_continuation_prompt_is_shown(history):
    s = new_session()
    p = Prompt(s)
    p.type("show -" + ENTER)
    # the second line has the continuation prompt ("  ... ")
    assert re.search(r"show -\r?\n" + re.escape(MORE.rstrip()), "".join(p.screen.text))
    assert s.out.getvalue() == ""                 # nothing ran yet
    p.type("vari" + ENTER)
    assert p.finish() == 0
    assert " no variables" in out(s)


@pytest.mark.parametrize("line, expected", [
    ("show -", True),
    ("show vari \\", True),
    ("-", True),
    ("show - ! a comment", True),
    ("show \\ ! a comment", True),
    ("show -   ", True),
    ("set vari X = -5", False),
    ("set vari X = a-", False),
    ("show ! a comment -", False),
    ("# a comment -", False),
    ("show vari #note -", False),
    ("show - #note", True),            # a comment may follow the mark
    ('read coor file "a -"', False),
    ('read coor file "a" -', True),
    ("", False),
])
def test_continues(line, expected):
    assert continues(line) is expected


def _continued_by_grammar(line: str) -> bool:
    """Does the grammar's lexer read a continuation mark in `line`?"""
    from mainpy.lang.lexer import _lark
    return any(tok.type == "CONTINUATION"
               for tok in _lark().lex(line + "\n", dont_ignore=True))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=' \t-\\!#";=<()ab1', max_size=14))
@example("< #x -")
@example("<a<#b -")
@example('"a"#b -')
@example("a=#b -")
def test_continues_agrees_with_the_grammar(line):
    # a backslash right after a word is read by the grammar as part of the word (see
    # test_backslash_after_a_word_continues); the spec says it continues
    assume(not re.search(r'[^ \t()=;:"]\\[ \t]*\Z', _code(line)))
    try:
        joined = _continued_by_grammar(line)
    except lark.exceptions.LarkError:
        assume(False)
    assert continues(line) is joined


def test_backslash_after_a_word_continues():
    assert [s.text for s in split("show vari\\\n key")] == ["show vari key"]


# ------------------------------------------------------------------------------- history

def test_history_persists_and_is_recalled(history):
    s = new_session()
    rc = feed(s, "set vari H = 1" + ENTER + "show vari" + ENTER + CTRL_D)
    assert rc == 0
    assert entries(history) == ["set vari H = 1", "show vari"]

    # a new prompt, a new session, the same history file
    s2 = new_session()
    p = Prompt(s2)
    p.type(UP + ENTER)                     # Up: the last sentence, 'show vari'
    assert " no variables" in out(s2)
    p.type("set v" + UP + ENTER)           # prefix search: the last entry starting 'set v'
    assert s2.variables == {"H": "1"}
    p.type(UP + UP + ENTER)                # two back: 'show vari' again
    assert re.search(r"^ H = 1$", out(s2), re.M)
    assert p.finish() == 0
    # (a sentence equal to the last entry is not stored twice)
    assert entries(history) == ["set vari H = 1", "show vari", "set vari H = 1", "show vari"]


def test_unwritable_history_does_not_stop_the_prompt(tmp_path, monkeypatch):
    monkeypatch.setenv("MAINPY_HISTORY", str(tmp_path / "missing" / "folder" / "history"))
    s = new_session()
    rc = feed(s, "set vari U = 1" + ENTER + "show vari" + ENTER + CTRL_D)
    assert rc == 0
    assert s.variables == {"U": "1"}
    assert out(s).count("warning: history not saved") == 1


# ------------------------------------------------------------------------------- completion

def complete(session, text: str) -> list[str]:
    c = make_completer(session)
    found = []
    for comp in c.get_completions(Document(text), CompleteEvent(completion_requested=True)):
        # the completion replaces the unfinished word (a macro name: what follows '<')
        word = re.search(r"[^\s()=;]*\Z", text).group(0)
        assert text[len(text) + comp.start_position:] in (word, word.lstrip("<"))
        found.append(comp.text)
    return found


@pytest.mark.parametrize("text, word", [
    ("min se", "sele"),
    ("read co", "coor"),
    ("show sele resi na", "name"),
    ("show sele atom name CA .a", ".and."),
    ("set vari Y = 1; sh", "show"),
    ("show -\n  sele resi na", "name"),          # on a continuation line
    ("minimize st", "step"),
])
def test_completion_after_abbreviation(text, word):
    got = complete(new_session(), text)
    assert got, text
    assert all(g.lower().startswith(re.search(r"[^\s()=;]*\Z", text).group(0).lower())
               for g in got)
    assert any(g.lower().startswith(word) for g in got), got


def test_completion_follows_the_case_typed():
    s = new_session()
    assert complete(s, "read co") == ["coor"]
    assert complete(s, "READ CO") == ["COOR"]


def test_completion_of_a_user_key_keeps_its_case():
    s = new_session()
    s.run("key Work_set sele all end")           # no model yet: the key waits for one
    assert complete(s, "show sele Wo") == ["Work_set"]
    assert complete(s, "show sele atom name CA .and. Wo") == ["Work_set"]
    offered = complete(s, "show sele ")
    assert "Work_set" in offered and "WORK_SET" not in offered
    assert complete(s, "show sele Zz") == []


def test_completion_of_an_unknown_command_offers_nothing():
    assert complete(new_session(), "frobnicate ") == []


def test_current_sentence_joins_continuation_lines():
    assert current_sentence("show -\n  sele resi na") == "show    sele resi na"
    assert current_sentence("show vari\nsele") == "sele"        # a new sentence
    assert current_sentence("show - ! note\n  vari") == "show    vari"


def test_tab_completes_at_the_prompt(history):
    s = new_session()
    p = Prompt(s)
    # completion runs in the background: wait for its word, not for a quiet moment
    p.type("set vari Y = 1; sh" + TAB, until="show")
    p.type(" vari" + ENTER)
    assert p.finish() == 0
    assert re.search(r"^ Y = 1$", out(s), re.M)
    assert entries(history) == ["set vari Y = 1; show vari"]


# ------------------------------------------------------------------------------- keys

def test_ctrl_c_clears_the_line(history):
    s = new_session()
    rc = feed(s, "set vari Q = 1" + CTRL_C + "show vari" + ENTER + CTRL_D)
    assert rc == 0
    assert "Q" not in s.variables
    assert " no variables" in out(s)


def test_ctrl_c_clears_a_continued_sentence(history):
    s = new_session()
    rc = feed(s, "set vari R = -" + ENTER + CTRL_C + "set vari S = 2" + ENTER + CTRL_D)
    assert rc == 0
    assert s.variables == {"S": "2"}
    assert "error" not in out(s)


def test_ctrl_d_leaves_with_zero(history):
    assert feed(new_session(), CTRL_D) == 0


def test_ctrl_d_on_a_continued_line_does_not_leave(history):
    s = new_session()
    # Ctrl-D on an empty continuation line is not the end: the sentence is still open
    rc = feed(s, "set vari T = -" + ENTER + CTRL_D + "4" + ENTER + CTRL_D)
    assert rc == 0
    assert s.variables == {"T": "4"}


@pytest.mark.parametrize("word", ["quit", "exit", "QUIT"])
def test_quit_leaves(history, word):
    s = new_session()
    # no Ctrl-D: the prompt must return by itself; what follows quit does not run
    rc = feed(s, "set vari V = 1" + ENTER + word + ENTER + "set vari W = 2" + ENTER)
    assert rc == 0
    assert s.variables == {"V": "1"}


# ------------------------------------------------------------------------------- colours

def styles(session, line: str) -> dict[str, str]:
    get_line = make_lexer(session).lex_document(Document(line))
    return {tok: style for style, tok in get_line(0) if tok.strip()}


def test_lexer_styles():
    s = new_session()
    s.run("set vari STEP_N = 20")
    s.run("key Work sele all end")
    got = styles(s, "min step STEP_N sele Work .and. atom name CA end = 28.0 ! go")
    assert got["min"] == "class:keyword"
    assert got["step"] == "class:keyword"
    assert got["STEP_N"] == "class:variable"
    assert got["Work"] == "class:key"
    assert got[".and."] == "class:operator"
    assert got["atom"] == "class:keyword"
    assert got["CA"] == ""                        # a name, not a keyword
    assert got["28.0"] == "class:number"
    assert got["! go"] == "class:comment"
    assert styles(s, "# a comment line") == {"# a comment line": "class:comment"}
    assert styles(s, "show vari #note")["#note"] == "class:comment"
    assert styles(s, "<refine 5")["<refine"] == "class:macro"
    assert styles(s, 'read coor file "my file.pdb"')['"my file.pdb"'] == "class:string"
    assert styles(s, "set temp sele all end 800.")["800."] == "class:number"
    assert styles(s, "show sele active end")["active"] == "class:key"   # built-in key


def test_lexer_covers_the_line():
    s = new_session()
    line = "set temp sele (resi name ARG .or. atom name C%) end=28. ! b"
    get_line = make_lexer(s).lex_document(Document(line))
    assert "".join(tok for _, tok in get_line(0)) == line


# ------------------------------------------------------------------------------- no terminal

def test_plain_runs_piped_sentences():
    s = new_session()
    text = ("set vari X = 1\n"
            "! a comment line\n"
            "show -\n"
            "  vari\n"
            "\n"
            "min stpe 5\n"
            "set vari Y = 2\n")
    assert _plain(s, io.StringIO(text)) == 1                   # a sentence failed
    assert s.variables == {"X": "1", "Y": "2"}                 # reading went on
    assert re.search(r"^ X = 1$", out(s), re.M)
    # the error names the line of the stream, with the caret under the word
    assert "<stdin>:6:5: error: unknown keyword 'stpe'" in out(s)
    assert caret_under(out(s), "min stpe 5", "stpe")
    assert "did you mean: STEP" in out(s)


def test_plain_status_and_quit():
    s = new_session()
    assert _plain(s, io.StringIO("set vari X = 1\nshow vari\n")) == 0
    s = new_session()
    assert _plain(s, io.StringIO("set vari X = 1\nquit\nset vari Y = 2\n")) == 0
    assert s.variables == {"X": "1"}
    s = new_session()
    assert _plain(s, io.StringIO("min stpe 5\nquit\n")) == 1   # the failure is kept


def test_plain_continuation_at_end_of_input():
    s = new_session()
    assert _plain(s, io.StringIO("set vari Z = -\n 3 -\n")) == 0
    assert s.variables == {"Z": "3"}
    s = new_session()
    assert _plain(s, io.StringIO("set vari X = 1\nmin stpe 5 -\n")) == 1
    assert "<stdin>:2:5: error" in out(s)


def test_plain_error_in_a_macro_names_the_calling_line(tmp_path, monkeypatch):
    (tmp_path / "bad.cmds").write_text("set vari A = 1\nmin stpe 4\n")
    monkeypatch.chdir(tmp_path)
    s = new_session()
    assert _plain(s, io.StringIO("show vari\n\n<bad\nset vari B = 2\n")) == 1
    assert "bad.cmds:2:5: error: unknown keyword 'stpe'" in out(s)
    assert "called from <stdin>:3:1" in out(s)
    assert s.variables == {"B": "2"}


def _mainpy(tmp_path, stdin: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MAINPY_HISTORY=str(tmp_path / "history"))
    return subprocess.run([sys.executable, "-m", "mainpy"], input=stdin, text=True,
                          capture_output=True, cwd=tmp_path, env=env, timeout=120)


def test_python_m_mainpy_with_piped_sentences(tmp_path, data):
    pdb = data("xtal/1aba/1aba.pdb")
    r = _mainpy(tmp_path, f'set vari X = 5\nshow vari\nread coor file "{pdb}"\nshow crystal\n')
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^ X = 5$", r.stdout, re.M)
    assert "P 21 21 21" in r.stdout
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "history").exists()          # no prompt, no history


def test_python_m_mainpy_exits_1_when_a_sentence_failed(tmp_path):
    r = _mainpy(tmp_path, "set vari X = 5\nminimize stpe 5\nshow vari\n")
    assert r.returncode == 1
    assert "<stdin>:2:10: error: unknown keyword 'stpe'" in r.stdout
    assert "did you mean: STEP" in r.stdout
    assert re.search(r"^ X = 5$", r.stdout, re.M)        # the next sentence still ran
    assert "Traceback" not in r.stdout + r.stderr


def test_python_m_mainpy_quit(tmp_path):
    r = _mainpy(tmp_path, "set vari X = 5\nquit\nminimize stpe 5\n")
    assert r.returncode == 0
    assert "error" not in r.stdout


# ------------------------------------------------------------------------------- leaving

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo_start.pdb"
ASKED = "leave without writing?"


def changed_session() -> Session:
    s = new_session()
    s.run(f'read coor file "{DEMO}"')
    s.run("set coor kick 0.2 seed 1")
    return s


def test_ctrl_d_with_a_changed_model_asks_first(history):
    s = changed_session()
    p = Prompt(s)
    p.type(CTRL_D, until=ASKED)
    assert ASKED in "".join(p.screen.text)
    p.type(ENTER)                             # the default: no
    assert " not leaving: write coor file NAME writes the model" in out(s)
    p.type("set vari AFTER = 1" + ENTER)      # the prompt is back
    assert s.variables["AFTER"] == "1"
    assert p.finish(CTRL_D + "y" + ENTER) == 0


def test_quit_typed_with_a_changed_model_asks_first(history, tmp_path):
    s = changed_session()
    (tmp_path / "q.cmds").write_text("quit\n")
    # n: stay; a macro's QUIT asks nothing
    rc = feed(s, "quit" + ENTER + "n" + ENTER + "set vari STAYED = 1" + ENTER
              + f"<{tmp_path / 'q'}" + ENTER + "set vari NEVER = 1" + ENTER)
    assert rc == 0
    assert s.variables.get("STAYED") == "1" and "NEVER" not in s.variables


def test_nothing_is_asked_when_the_model_is_as_read_or_written(history, tmp_path):
    s = new_session()
    s.run(f'read coor file "{DEMO}"')
    assert not s.model_changed()
    assert feed(s, CTRL_D) == 0                       # as read: leaves at once
    s = changed_session()
    assert s.model_changed()
    s.model_written(np.zeros(len(s.atoms), bool))     # a part written: still changed
    assert s.model_changed()
    s.model_written()                                 # written whole
    assert not s.model_changed() and feed(s, CTRL_D) == 0
    # piped input never asks
    s = changed_session()
    assert _plain(s, io.StringIO("set vari X = 1\nquit\n")) == 0


def test_write_coor_counts_as_written(history, tmp_path):
    """WRITE COOR tells the session (`session.model_written(mask)`)."""
    s = changed_session()
    s.run(f'write coor file "{tmp_path / "part.pdb"}" sele resi numb 1 : 5 end')
    assert s.model_changed()
    s.run(f'write coor file "{tmp_path / "all.pdb"}"')
    assert not s.model_changed()


def test_file_names_complete_after_file_and_macro_calls(tmp_path, monkeypatch):
    (tmp_path / "model.pdb").write_text("")
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "two.ccp4").write_text("")
    (tmp_path / "my.cmds").write_text("")
    monkeypatch.chdir(tmp_path)
    s = new_session()
    assert complete(s, "read coor file mo") == ["model.pdb"]
    assert complete(s, "READ COOR FILE ma") == ["maps/"]          # a folder, to go on
    assert complete(s, "read map 1 file maps/t") == ["maps/two.ccp4"]
    offered = complete(s, "<re")                # the shipped macros by name
    assert "refine" in offered and "refine_staged" in offered
    assert complete(s, "<m") == ["maps/", "my.cmds"]
    assert complete(s, "read co") == ["coor"]   # keywords as before
