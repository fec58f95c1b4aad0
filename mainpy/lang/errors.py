"""Errors located in command text: file:line:col, the line with a caret, suggestions.

A `LangError` is raised by the parser and the interpreter; it knows the text it came
from, so its message can show the offending line. Errors inside macros gain one
`Frame` per level of the include chain as they travel up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mainpy.errors import MainpyError

#: an include chain longer than this shows its first and last CHAIN_SHOWN callers only
CHAIN_SHOWN = 3

@dataclass(frozen=True)
class Source:
    """A piece of command text and where it came from ("<input>", a file path, "-c")."""

    name: str
    text: str

    def line(self, lineno: int) -> str:
        lines = self.text.splitlines()
        return lines[lineno - 1] if 0 < lineno <= len(lines) else ""

    @property
    def is_file(self) -> bool:
        return not self.name.startswith("<")


@dataclass(frozen=True)
class Where:
    """A place in a source: 1-based line and column, and the length to underline."""

    source: Source
    line: int
    col: int
    length: int = 1

    def __str__(self) -> str:
        return f"{self.source.name}:{self.line}:{self.col}"


@dataclass
class LangError(MainpyError):
    """An error in a sentence, with its place and (for misspellings) candidates."""

    message: str
    where: Where | None = None
    candidates: list[str] = field(default_factory=list)
    chain: list[Where] = field(default_factory=list)   # callers, innermost first

    def __post_init__(self):
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.format()

    def called_from(self, where: Where) -> "LangError":
        self.chain.append(where)
        return self

    def format(self) -> str:
        """The message as the user sees it, caret and include chain included."""
        out = []
        w = self.where
        head = f"{w}: error: {self.message}" if w else f"error: {self.message}"
        out.append(head)
        if w is not None:
            text = w.source.line(w.line)
            if text:
                out.append("  " + text.rstrip("\n"))
                pad = "".join("\t" if c == "\t" else " " for c in text[: w.col - 1])
                out.append("  " + pad + "^" * max(1, min(w.length, len(text) - w.col + 1)))
        if self.candidates:
            out.append("  did you mean: " + ", ".join(self.candidates) + "?")
        out += [f"  called from {c}" if isinstance(c, Where) else c
                for c in shorten(self.chain)]
        return "\n".join(out)


def shorten(chain: list, keep: int = CHAIN_SHOWN) -> list:
    """The include chain as shown: all of it, or (a runaway recursion) its first and
    last `keep` places around a line that says how many are left out."""
    if len(chain) <= 2 * keep + 1:
        return list(chain)
    return [*chain[:keep], f"  ... ({len(chain) - 2 * keep} more)", *chain[-keep:]]


def wrap(exc: Exception, where: Where | None) -> LangError:
    """A LangError for an error raised by a command's action (message kept, place added)."""
    if isinstance(exc, LangError):
        if exc.where is None:
            exc.where = where
        return exc
    return LangError(str(exc), where)
