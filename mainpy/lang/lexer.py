"""Text to sentences of located tokens, with the Lark grammar in grammar/main.lark."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mainpy.lang.errors import LangError, Source, Where


def package_dir(name: str) -> Path:
    """A data folder shipped with the package (grammar, macros), installed or in a checkout."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here / name, here.parent / name):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"mainpy's {name} folder is missing from the installation")


@dataclass(frozen=True)
class Token:
    """One word of a sentence. kind: WORD NUMBER STRING MACRO EQ LPAR RPAR COLON."""

    kind: str
    text: str
    where: Where

    @property
    def value(self) -> str:
        """The text as a value: quotes removed from strings, '<' from macro calls."""
        if self.kind == "STRING":
            return self.text[1:-1]
        if self.kind == "MACRO":
            return self.text[1:].strip()
        return self.text

    def __repr__(self) -> str:
        return f"{self.kind}({self.text!r})"


@dataclass(frozen=True)
class Sentence:
    """The tokens of one sentence, in order."""

    tokens: tuple[Token, ...]

    @property
    def where(self) -> Where:
        return self.tokens[0].where

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.tokens)


@lru_cache(maxsize=1)
def _lark():
    import lark

    grammar = (package_dir("grammar") / "main.lark").read_text()
    return lark.Lark(grammar, parser="lalr", maybe_placeholders=False, cache=True)


def split(text: str, name: str = "<input>") -> list[Sentence]:
    """Split command text into sentences; raise a located LangError on bad characters."""
    import lark

    source = Source(name, text if text.endswith("\n") else text + "\n")
    try:
        tree = _lark().parse(source.text)
    except lark.exceptions.UnexpectedCharacters as e:
        ch = source.text[e.pos_in_stream] if e.pos_in_stream < len(source.text) else ""
        what = "an unclosed quote" if ch == '"' else f"unexpected character {ch!r}"
        raise LangError(what, Where(source, e.line, e.column)) from None
    except lark.exceptions.UnexpectedInput as e:
        line = getattr(e, "line", 1) or 1
        col = getattr(e, "column", 1) or 1
        raise LangError("cannot read this text", Where(source, line, col)) from None
    out = []
    for s in tree.children:
        toks = tuple(Token(t.type, str(t), Where(source, t.line, t.column, len(str(t))))
                     for t in s.children)
        out.append(Sentence(toks))
    return out


_BARE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_'*%+\-]*\Z")


def quote(name: str) -> str:
    """A name written so that it is read back as one value (a name in a selection, a
    file): bare when that is safe, else in double quotes. Names that cannot be written
    (holding a double quote or a line break) raise ValueError."""
    if _BARE.match(name) and name.lower() != "end":
        return name
    if '"' in name or "\n" in name or "\r" in name:
        raise ValueError(f"{name!r} cannot be written in a sentence")
    return f'"{name}"'


def source_of(sentences: list[Sentence]) -> Source | None:
    return sentences[0].where.source if sentences else None
