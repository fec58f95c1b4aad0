"""One declaration per command: its words, clauses, argument types and help text.

The parser resolves abbreviations from these declarations, `help` prints them, the REPL
completes from them and errors suggest from them; nothing is listed twice. Command
modules declare their commands with `command(...)` at import; the language imports none
of them: a loader (`add_loader`, registered by the root package) does, on first use.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

# argument kinds
INT, REAL, WORD, NAME, FILE, CHOICE, SELE, REST, VALUE = (
    "int", "real", "word", "name", "file", "choice", "sele", "rest", "value")

_KIND_SHOWN = {INT: "n", REAL: "r", WORD: "w", NAME: "name", FILE: "file", SELE: "sele ... end",
               REST: "...", VALUE: "value"}


@dataclass(frozen=True)
class Arg:
    """A value in a sentence. Numbers (int, real) may be given as variable names."""

    name: str
    kind: str
    choices: tuple[str, ...] = ()
    optional: bool = False
    help: str = ""

    def usage(self) -> str:
        if self.kind == CHOICE:
            s = "|".join(c.upper() for c in self.choices)
        elif self.kind == SELE:
            s = "SELE ... END"
        else:
            s = self.name
        return f"[{s}]" if self.optional else s


def Int(name="n", optional=False, help=""):
    return Arg(name, INT, optional=optional, help=help)


def Real(name="r", optional=False, help=""):
    return Arg(name, REAL, optional=optional, help=help)


def Word(name="w", optional=False, help=""):
    return Arg(name, WORD, optional=optional, help=help)


def Name(name="name", optional=False, help=""):
    """A literal name (key, variable): never replaced by a variable's value."""
    return Arg(name, NAME, optional=optional, help=help)


def File(name="file", optional=False, help=""):
    return Arg(name, FILE, optional=optional, help=help)


def Choice(*choices, name="mode", optional=False, help=""):
    return Arg(name, CHOICE, tuple(c.lower() for c in choices), optional=optional, help=help)


def Value(name="value", optional=False, help=""):
    return Arg(name, VALUE, optional=optional, help=help)


def Rest(name="words", help=""):
    return Arg(name, REST, optional=True, help=help)


ON_OFF = ("on", "off")


@dataclass(frozen=True)
class Clause:
    """A keyword with its arguments; `sub` clauses may follow it (a group, e.g. ENER DENS)."""

    keyword: str
    args: tuple[Arg, ...] = ()
    sub: tuple["Clause", ...] = ()
    help: str = ""
    repeat: int = 1          # times it may appear; 0 = any number
    dest: str = ""           # name the action reads; default: keyword in lower case

    @property
    def key(self) -> str:
        return self.dest or self.keyword.lower().replace("-", "_")

    def usage(self) -> str:
        if self.args and self.args[0].kind == SELE:
            return "SELE ... END"
        parts = [self.keyword.upper()] + [a.usage() for a in self.args]
        parts += [f"[{c.usage()}]" for c in self.sub]
        return " ".join(parts)


def Sele(keyword="select", repeat=1, help="atoms selected by a selection expression"):
    """The `sele ... end` clause."""
    return Clause(keyword, (Arg("sele", SELE),), help=help, repeat=repeat, dest="sele")


@dataclass
class Command:
    """A command: its words (`READ COOR`), positional args, clauses, help and action.

    lead args come right after the words (`MAKE MAP n`); trail args are values among or
    after the clauses (`SET TEMP sele ... end = v`). `pending` names what a command
    still waits for: such a command parses and checks but does not run yet.
    """

    words: tuple[str, ...]
    help: str
    lead: tuple[Arg, ...] = ()
    clauses: tuple[Clause, ...] = ()
    trail: tuple[Arg, ...] = ()
    action: Callable | None = None
    needs: tuple[tuple[str, ...], ...] = ()       # at least one of each tuple must appear
    exclusive: tuple[tuple[str, ...], ...] = ()   # at most one of each tuple
    pending: str = ""
    check: Callable | None = None                 # static effect for --check (defines names)
    details: str = ""
    examples: tuple[str, ...] = ()
    journal: bool = True          # False: it only reads (HELP, SHOW): not journaled

    @property
    def name(self) -> str:
        return " ".join(w.upper() for w in self.words)

    def usage(self) -> str:
        parts = [self.name] + [a.usage() for a in self.lead]
        parts += [f"[{c.usage()}]" for c in self.clauses]
        parts += [a.usage() for a in self.trail]
        return " ".join(parts)

    def help_text(self) -> str:
        """Usage, help, details, one row per argument and clause, examples. A sub-clause
        is listed under its clause; one that several clauses share (ENER's SCALE) is
        listed once, after them, with the clauses it follows."""
        lines = [self.usage(), "", "  " + self.help]
        if self.details:
            lines += ["", *("  " + d for d in self.details.strip().splitlines())]
        owners: dict[Clause, list[Clause]] = {}
        for parent, sub in _sub_clauses(self.clauses):
            owners.setdefault(sub, [])
            if parent not in owners[sub]:
                owners[sub].append(parent)
        rows: list[tuple[str, str] | str] = [(a.usage(), a.help)
                                             for a in self.lead + self.trail if a.help]

        def add(clause, indent):
            rows.append((indent + clause.usage(), clause.help))
            for s in clause.sub:
                if len(owners[s]) == 1:
                    add(s, indent + "  ")

        for c in self.clauses:
            add(c, "")
        shared: dict[tuple, list[Clause]] = {}
        for sub, parents in owners.items():
            if len(parents) > 1:
                shared.setdefault(tuple(parents), []).append(sub)
        for parents, subs in shared.items():
            rows.append("after " + " ".join(p.keyword.upper() for p in parents) + ":")
            for s in subs:
                add(s, "  ")
        if rows:
            lines.append("")
            w = min(34, max(len(r[0]) for r in rows if isinstance(r, tuple)))
            lines += [f"  {r}" if isinstance(r, str) else f"  {r[0]:<{w}}  {r[1]}".rstrip()
                      for r in rows]
        if self.examples:
            lines += ["", "  examples:", *("    " + e for e in self.examples)]
        if self.pending:
            lines += ["", f"  (not built yet: {self.pending})"]
        return "\n".join(lines)


def _sub_clauses(clauses):
    """(parent, sub-clause) pairs at every depth, in the order declared."""
    for c in clauses:
        for s in c.sub:
            yield c, s
        yield from _sub_clauses(c.sub)


class Ambiguous(Exception):
    def __init__(self, word, candidates):
        super().__init__(word)
        self.word, self.candidates = word, candidates


def match(word: str, names) -> str | None:
    """The name that `word` abbreviates (case-insensitive): exact match, else a unique prefix.

    Returns None if nothing matches; raises Ambiguous listing the candidates.
    """
    w = word.lower()
    names = list(names)
    if w in names:
        return w
    hits = [n for n in names if n.startswith(w)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise Ambiguous(word, sorted(hits))
    return None


def suggest(word: str, names, n: int = 3) -> list[str]:
    """Nearest names for a misspelled word (for error messages)."""
    w = word.lower()
    names = sorted(set(names))
    close = difflib.get_close_matches(w, names, n=n, cutoff=0.5)
    # a prefix typo ("stpe" for "step") is better caught by comparing equal-length heads
    for nm in names:
        if nm not in close and len(close) < n and difflib.SequenceMatcher(
                None, w, nm[: len(w)]).ratio() >= 0.75:
            close.append(nm)
    return [c.upper() for c in close]


@dataclass
class Registry:
    """All commands, as a tree of words: {'read': {'coor': Command, ...}, 'quit': Command}."""

    tree: dict = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)

    def add(self, cmd: Command) -> Command:
        node = self.tree
        for w in cmd.words[:-1]:
            node = node.setdefault(w.lower(), {})
            if isinstance(node, Command):
                raise ValueError(f"{cmd.name}: {w} is already a command")
        last = cmd.words[-1].lower()
        if last in node:
            raise ValueError(f"{cmd.name} is declared twice")
        node[last] = cmd
        self.commands.append(cmd)
        return cmd

    def find(self, words: list[str]) -> Command | dict | None:
        """Follow (possibly abbreviated) words down the tree; None if they lead nowhere."""
        node = self.tree
        for w in words:
            if not isinstance(node, dict):
                return node
            try:
                k = match(w, node)
            except Ambiguous:
                return None
            if k is None:
                return None
            node = node[k]
        return node


REGISTRY = Registry()


def command(*words: str, **kw) -> Command:
    """Declare a command (used at import time by mainpy/commands/*)."""
    return REGISTRY.add(Command(tuple(words), **kw))


#: macro variables whose values come from the session (R_WORK, R_FREE, ...): name -> a
#: function of the session that makes them those of the model in hand; the interpreter
#: calls it before a sentence that names the variable is bound (SHOW VARI too)
DERIVED: dict[str, Callable] = {}


def derived_variables(names, refresh: Callable) -> None:
    """Declare ``names`` as variables that ``refresh(session)`` brings up to date."""
    for n in names:
        DERIVED[n] = refresh


def refresh_derived(session, names) -> None:
    """Bring the derived variables among ``names`` up to date (each function once)."""
    done = set()
    for n in names:
        f = DERIVED.get(n)
        if f is not None and f not in done:
            done.add(f)
            f(session)


#: functions that declare commands, each run once on the first use of the registry; the
#: root package adds the one that imports the command families (the language itself
#: knows no command)
_loaders: list[Callable[[], None]] = []


def add_loader(fn: Callable[[], None]) -> None:
    """Have `fn` declare its commands when the registry is first asked for them."""
    if fn not in _loaders:
        _loaders.append(fn)


def registry() -> Registry:
    """The registry, with the commands of every loader declared."""
    while _loaders:
        fn = _loaders.pop(0)
        try:
            fn()
        except BaseException:
            _loaders.insert(0, fn)     # tried again on the next use
            raise
    return REGISTRY
