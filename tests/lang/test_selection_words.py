"""The selection vocabulary is declared once (mainpy.lang.selection_words): every line of
`help selection` is a sentence the parser reads as the node written here by hand, the
prompt colours every word, and names written by `quote` are read back as they were."""

import ast
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mainpy.lang import selection_words as W
from mainpy.lang.lexer import quote, split
from mainpy.lang.parser import bind, resolve
from mainpy.model import selection as S
from mainpy.session import Session

#: the value written for each kind of part in a sample sentence
SAMPLE = {W.NAMES: "CA CB", W.RANGES: "3 : 5 9", W.NUMBER: "2.5", W.KEY: "k", W.TERM: "all"}

#: help's usage -> the node its sample must give, written independently of the table
EXPECTED = {
    "ALL": S.All(),
    "NONE": S.Nothing(),
    "ATOM NAME": S.Names("name", ("CA", "CB")),
    "ATOM NUMB": S.Numbers("serial", ((3, 5), (9, 9))),
    "ATOM ELEM": S.Names("element", ("CA", "CB")),
    "RESI NAME": S.Names("resname", ("CA", "CB")),
    "RESI NUMB": S.Numbers("resseq", ((3, 5), (9, 9))),
    "SEGM NAME": S.Names("segment", ("CA", "CB")),
    "ALTL": S.Names("altloc", ("CA", "CB")),
    "TEMP": S.Range("b", 2.5, 2.5),
    "OCCU": S.Range("occ", 2.5, 2.5),
    "AROUND": S.Around("k", 2.5),
    "BY RESI": S.By("resi", S.All()),
    "BY SEGM": S.By("segm", S.All()),
    "KEY": S.KeyRef("k"),
}


def samples():
    """(usage head, sample text) of every word and sub-word, written as help shows it."""
    out = []

    def walk(word, head):
        head = head + [word.short]
        if word.subs:
            for s in word.subs:
                walk(s, head)
            return
        text = list(head)
        for p in word.parts:
            text.append(p.usage() if p.kind == W.FIXED else SAMPLE[p.kind])
        out.append((" ".join(h for h in head), " ".join(text)))

    for w in W.WORDS:
        walk(w, [])
    return out


def parse_sele(text, keys=("k",)):
    (s,) = split(f"show sele {text} end")
    return bind(resolve(s, keys=set(keys)), {})["sele"]


@pytest.mark.parametrize("head,text", samples(), ids=[h for h, _ in samples()])
def test_every_word_as_help_writes_it_parses(head, text):
    assert parse_sele(text) == EXPECTED[head]
    # the words in full parse the same
    full = {w.short: w.word for w in W.WORDS}
    full.update({s.short: s.word for w in W.WORDS for s in w.subs})
    full.update({"DIST": "distance"})
    assert parse_sele(" ".join(full.get(t, t) for t in text.split())) == EXPECTED[head]


def test_every_declared_word_is_expected_and_in_help():
    assert {h for h, _ in samples()} == set(EXPECTED)
    s = Session(out=io.StringIO())
    s.run("help selection")
    text = s.out.getvalue()
    assert text.strip() == W.help_text().strip()
    for w in W.WORDS:
        for usage, help in w.rows():
            line = next(ln for ln in text.splitlines() if ln.strip().startswith(usage + " "))
            assert line.rstrip().endswith(help)
    for op in W.OPERATORS:
        assert f".{op.upper()}." in text


def test_messages_follow_the_declaration():
    from mainpy.lang.errors import LangError
    with pytest.raises(LangError) as e:
        parse_sele("atom x")
    assert "ATOM needs one of NAME | NUMBER | ELEMENT" in e.value.message
    with pytest.raises(LangError) as e:
        parse_sele("around key k x 3")
    assert "AROUND KEY name needs DISTANCE" in e.value.message
    with pytest.raises(LangError) as e:
        parse_sele("key nokey")
    assert "no key named 'nokey'" in e.value.message
    # AROUND's key is looked for when the selection is evaluated
    assert parse_sele("around key later dist 4") == S.Around("later", 4.0)


def test_the_prompt_colours_every_selection_word():
    from mainpy.repl import _keywords
    words = set(_keywords())
    assert W.all_words() <= words
    assert {"distance", "end", "element", "occupancy"} <= words


def test_the_prompt_uses_no_private_name_of_the_parser():
    import mainpy.repl
    tree = ast.parse(Path(mainpy.repl.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "mainpy.lang.parser":
            assert not [a.name for a in node.names if a.name.startswith("_")]


@given(st.text(st.characters(blacklist_characters='"\n\r', blacklist_categories=("Cs",)),
               max_size=12))
def test_quoted_names_are_read_back_as_one_value(name):
    (s,) = split(f"x {quote(name)}")
    assert len(s.tokens) == 2 and s.tokens[1].value == name


def test_names_that_cannot_be_written():
    for bad in ('a"b', "a\nb"):
        with pytest.raises(ValueError):
            quote(bad)
    assert quote("OH") == "OH" and quote("end") == '"end"' and quote("C1*") == "C1*"
