"""The words of the selection language (`sele ... end`), declared once.

Every word with its sub-words, what follows it and a line of help, and the selection
node it builds. The parser reads its words from here, `help selection` is printed from
here and the prompt completes and colours from here, so a word added here is parsed,
documented and offered at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mainpy.model import selection as S

#: keys that always exist: what MINIMIZE moves and what the window shows (all atoms
#: unless the user defines them)
BUILTIN_KEYS = ("active", "image")

#: infix operators, left to right, then the prefix one (binds tighter)
OPERATORS = ("and", "or", "xor", "not")
END = "end"

# what may follow a word
FIXED = "fixed"      # a fixed word (AROUND's KEY and DISTANCE)
NAMES = "names"      # one or more names up to an operator, a parenthesis or END
RANGES = "ranges"    # one or more integers i or ranges i : j
NUMBER = "number"    # a number (or a variable holding one)
KEY = "key"          # a key's name
TERM = "term"        # a selection term (a word, .not. term or a parenthesis)


@dataclass(frozen=True)
class Part:
    """What follows a word: a fixed word, or a value of one of the kinds above."""

    kind: str
    name: str              # the fixed word, or the value's name in usage and messages
    checked: bool = True   # KEY: must be a defined key when the sentence is resolved

    def usage(self) -> str:
        if self.kind == FIXED:
            return self.name[:4].upper()
        if self.kind == NAMES:
            return f"{self.name}..."
        if self.kind == RANGES:
            return f"{self.name} [: j] ..."
        return self.name


def Fixed(word: str) -> Part:
    return Part(FIXED, word)


@dataclass(frozen=True)
class Word:
    """A selection word: either one of its `subs` follows (ATOM NAME | NUMB | ELEM), or
    its `parts`; `build` makes the selection node from the values of the parts."""

    word: str
    help: str = ""
    parts: tuple[Part, ...] = ()
    subs: tuple["Word", ...] = ()
    build: Callable[..., S.Node] | None = None
    shown: str = ""        # as help writes it (default: MAIN's four letters)

    @property
    def short(self) -> str:
        return (self.shown or self.word[:4]).upper()

    def rows(self, prefix: str = "") -> list[tuple[str, str]]:
        """(usage, help) of this word, one row per sub-word."""
        head = f"{prefix}{self.short}"
        if self.subs:
            return [r for s in self.subs for r in s.rows(head + " ")]
        return [(" ".join([head, *(p.usage() for p in self.parts)]), self.help)]


WORDS: tuple[Word, ...] = (
    Word("all", "every atom", build=S.All),
    Word("none", "no atom", build=S.Nothing),
    Word("atom", subs=(
        Word("name", "atom names", (Part(NAMES, "n"),), build=lambda n: S.Names("name", n)),
        Word("number", "serial numbers as in the file; ranges i : j", (Part(RANGES, "i"),),
             build=lambda r: S.Numbers("serial", r)),
        Word("element", "element symbols (any case)", (Part(NAMES, "e"),),
             build=lambda e: S.Names("element", tuple(x.upper() for x in e))))),
    Word("residue", subs=(
        Word("name", "residue names", (Part(NAMES, "r"),),
             build=lambda r: S.Names("resname", r)),
        Word("number", "residue numbers; ranges i : j", (Part(RANGES, "i"),),
             build=lambda r: S.Numbers("resseq", r)))),
    Word("segment", subs=(
        Word("name", "segments: the segid where the file has one, else the chain",
             (Part(NAMES, "s"),), build=lambda s: S.Names("segment", s)),)),
    Word("altloc", "alternative locations", (Part(NAMES, "a"),),
         build=lambda a: S.Names("altloc", a)),
    Word("temperature", "B-values from lo to hi", (Part(NUMBER, "lo"), Part(NUMBER, "hi")),
         build=lambda lo, hi: S.Range("b", lo, hi)),
    Word("occupancy", "occupancies from lo to hi", (Part(NUMBER, "lo"), Part(NUMBER, "hi")),
         build=lambda lo, hi: S.Range("occ", lo, hi)),
    Word("around", "atoms within r A of key name, through crystal symmetry",
         (Fixed("key"), Part(KEY, "name", checked=False), Fixed("distance"),
          Part(NUMBER, "r")), build=S.Around, shown="around"),
    Word("by", subs=(
        Word("residue", "whole residues of the atoms of term", (Part(TERM, "term"),),
             build=lambda t: S.By("resi", t)),
        Word("segment", "whole segments of the atoms of term", (Part(TERM, "term"),),
             build=lambda t: S.By("segm", t)))),
    Word("key", "the atoms of a key (its name alone does the same)", (Part(KEY, "name"),),
         build=S.KeyRef),
)

#: the words by name, in the order declared
TAGS: dict[str, Word] = {w.word: w for w in WORDS}

NOTES = (
    "a key's name alone selects its atoms (so no key is named like a word or its abbreviation)",
    "names are case-sensitive; wildcards: * any run of characters, % one character",
    "words and sub-words may be abbreviated (resi numb, segm name, altl, temp, occu)",
)
EXAMPLE = "set charge sele resi name ARG LYS ASP GLU .a .not atom name C N CA O end 0.0"


def all_words() -> set[str]:
    """Every word the selection language knows (sub-words and fixed words too; not the
    operators): what the prompt colours and completes."""
    out = {END}

    def walk(w: Word):
        out.add(w.word)
        out.update(p.name for p in w.parts if p.kind == FIXED)
        for s in w.subs:
            walk(s)

    for w in WORDS:
        walk(w)
    return out


def key_name_problem(name: str) -> str | None:
    """Why a key cannot be called `name` (None if it can): inside SELE ... END a key's
    name must read as that name, not as a selection word or an abbreviation of one
    (K is KEY, A is ambiguous), not as END, and it must be a plain word."""
    from mainpy.lang.parser import VAR_NAME
    from mainpy.lang.registry import Ambiguous, match
    low = name.lower()
    if not VAR_NAME.match(name):
        why = "a key's name is a word of letters, digits and _ starting with a letter"
    elif low == END:
        why = "inside SELE ... END it would end the selection"
    else:
        try:
            word = match(low, TAGS)
        except Ambiguous as e:
            words = ", ".join(c.upper() for c in e.candidates)
            why = f"inside SELE ... END it reads as an abbreviation of {words}"
        else:
            if word is None:
                return None
            why = (f"inside SELE ... END it is the selection word {word.upper()}"
                   if word == low else
                   f"inside SELE ... END it reads as the selection word {word.upper()}")
    better = next((c for c in (f"{name}_set", "my_key")
                   if VAR_NAME.match(c) and key_name_problem(c) is None), "my_key")
    return f"a key cannot be named {name!r}: {why}; choose a longer name, e.g. {better}"


def help_text() -> str:
    """`help selection`: made from the declarations above."""
    ops = " ".join(f".{o.upper()}." for o in OPERATORS[:-1])
    short = " ".join(f".{o[0]}" for o in OPERATORS)
    lines = ["SELE ... END: a selection (one boolean per atom)", "",
             f"  operators  {ops} (infix, left to right)  .{OPERATORS[-1].upper()}. "
             "(prefix, binds tighter)",
             f"             abbreviated as MAIN writes them: {short} ; parentheses group"]
    rows = [r for w in WORDS for r in w.rows()]
    width = max(len(u) for u, _ in rows)
    lines += [f"  {u:<{width}}  {h}".rstrip() for u, h in rows]
    lines += ["", *(f"  {n}" for n in NOTES)]
    lines += ["", f"  example: {EXAMPLE}"]
    return "\n".join(lines)
