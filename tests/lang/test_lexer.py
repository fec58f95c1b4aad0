"""Lexing: words, numbers, punctuation, continuation, comments, positions."""

import pytest

from mainpy.lang.errors import LangError
from mainpy.lang.lexer import split


def kinds(text):
    return [[(t.kind, t.text) for t in s.tokens] for s in split(text)]


def test_numbers_words_and_punctuation():
    (s,) = kinds("make map MAP_FO set -1 1 9999. .5 1e-3 2fofc x=(y):z")
    assert s == [("WORD", "make"), ("WORD", "map"), ("WORD", "MAP_FO"), ("WORD", "set"),
                 ("NUMBER", "-1"), ("NUMBER", "1"), ("NUMBER", "9999."), ("NUMBER", ".5"),
                 ("NUMBER", "1e-3"), ("WORD", "2fofc"), ("WORD", "x"), ("EQ", "="),
                 ("LPAR", "("), ("WORD", "y"), ("RPAR", ")"), ("COLON", ":"), ("WORD", "z")]


def test_sentences_split_on_newlines_and_semicolons():
    assert len(split("show key; show vari\n\n show crystal ;")) == 3


def test_continuation_dash_and_backslash_join_lines():
    text = ("set charge sele resi name ARG .a .not -\n"
            "atom name C N CA O end   0.0\n"
            "minimize sele all end step 5 \\\n"
            "phase steps 2\n")
    s1, s2 = split(text)
    assert [t.text for t in s1.tokens][-3:] == ["O", "end", "0.0"]
    assert s1.tokens[-1].where.line == 2
    assert [t.text for t in s2.tokens][-3:] == ["phase", "steps", "2"]


def test_dash_inside_a_line_is_a_word_not_a_continuation():
    (s,) = kinds("show sele resi name - end\n")
    assert ("WORD", "-") in s


def test_comments():
    sents = split("! a comment line\n# another\nshow key ! trailing\n  # indented\n")
    assert len(sents) == 1
    assert [t.text for t in sents[0].tokens] == ["show", "key"]


def test_quoted_strings_and_macro_calls():
    (s1, s2) = split('read coor file "my model.pdb"\n<DEF_ALL a 2\n')
    assert s1.tokens[-1].kind == "STRING" and s1.tokens[-1].value == "my model.pdb"
    assert s2.tokens[0].kind == "MACRO" and s2.tokens[0].value == "DEF_ALL"
    assert [t.value for t in s2.tokens[1:]] == ["a", "2"]


def test_positions_are_line_and_column():
    (s,) = split("\n  show   key\n", "f.cmds")
    assert (s.tokens[1].where.line, s.tokens[1].where.col) == (2, 10)
    assert str(s.tokens[1].where) == "f.cmds:2:10"


def test_unclosed_quote_is_a_located_error():
    with pytest.raises(LangError) as e:
        split('read coor file "abc\n', "x.cmds")
    assert str(e.value.where) == "x.cmds:1:16"
    assert "unclosed quote" in e.value.format()
