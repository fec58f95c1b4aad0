"""`mainpy --check`: resolve a macro (and the macros it calls) without running anything.

Every sentence is resolved against the registry; variables used as numbers must have been
defined before (by SET VARI here or in a called macro, or be ARGn inside a macro); key
names in selections must have been defined by KEY. Every error is reported, not just
the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mainpy.lang.errors import LangError
from mainpy.lang.interpreter import MAX_DEPTH, find_macro
from mainpy.lang.lexer import split
from mainpy.lang.parser import CHOICE, INT, REAL, MacroCall, Parsed, resolve, selections, value_vals
from mainpy.lang.selection_words import BUILTIN_KEYS
from mainpy.model import selection as S

#: variables that commands set for macros to read
COMMAND_VARIABLES = ("R_WORK", "R_FREE")


@dataclass
class Static:
    """What is known to exist at a point of the text, without running it."""

    variables: set = field(default_factory=lambda: set(COMMAND_VARIABLES))
    keys: set = field(default_factory=lambda: set(BUILTIN_KEYS))
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    visited: list = field(default_factory=list)   # include chain, to stop recursion


def check_text(text: str, name: str, static: Static | None = None,
               base: Path | None = None, chain=()) -> Static:
    """Check command text; errors collect in the returned Static's `errors`."""
    static = static or Static()
    try:
        sentences = split(text, name)
    except LangError as e:
        static.errors.append(_chained(e, chain))
        return static
    for s in sentences:
        try:
            parsed = resolve(s, keys=static.keys)
        except LangError as e:
            static.errors.append(_chained(e, chain))
            continue
        for v in value_vals(parsed):
            is_var = (v.kind in (INT, REAL) and v.token.kind == "WORD") or \
                (v.kind == CHOICE and v.choices)
            if is_var and v.text not in static.variables:
                static.errors.append(_chained(LangError(
                    f"{v.text!r} is not a number nor a variable defined before this line",
                    v.token.where), chain))
        for node in selections(parsed):
            for k in sorted(S.key_names(node)):
                if k not in static.keys:
                    static.errors.append(_chained(LangError(
                        f"{k!r} is neither a selection word nor a key defined before this line",
                        s.where), chain))
        if isinstance(parsed, MacroCall):
            _check_macro(parsed.file.text, [a.text for a in parsed.args], s.where, static,
                         base, chain)
        elif isinstance(parsed, Parsed):
            if parsed.command.check is not None:
                parsed.command.check(static, parsed)
            for mac in _phase_macros(parsed):
                if find_macro(mac.text, base) is None:
                    static.warnings.append(_chained(LangError(
                        f"phase macro {mac.text!r} is not on the macro path yet; it must be "
                        "there when the minimizer re-phases", mac.token.where), chain))
                else:
                    _check_macro(mac.text, [], mac.token.where, static, base, chain)
    return static


def _phase_macros(parsed: Parsed):
    """MACRO files named in PHASE clauses (run by the minimizer's hook)."""
    out = []

    def walk(use):
        for s in use.subs:
            if s.decl.keyword == "macro" and "file" in s.values:
                out.append(s.values["file"])
            walk(s)

    walk(parsed.top)
    return out


def _check_macro(name, args, where, static: Static, base, chain):
    path = find_macro(name, base)
    if path is None:
        static.errors.append(_chained(LangError(f"no macro {name!r} on the macro path", where),
                                      chain))
        return
    path = path.resolve()
    if path in static.visited or len(chain) >= MAX_DEPTH:
        return  # recursion: checked once is enough
    saved = {v for v in static.variables if v.startswith("ARG") or v == "NARG"}
    static.variables -= saved
    static.variables |= {f"ARG{i}" for i in range(1, len(args) + 1)} | {"NARG"}
    static.visited.append(path)
    try:
        check_text(path.read_text(), str(path), static, path.parent, (where, *chain))
    except OSError as e:
        static.errors.append(_chained(LangError(f"cannot read macro {path}: {e.strerror}",
                                                where), chain))
    finally:
        static.visited.pop()
        static.variables -= {v for v in static.variables if v.startswith("ARG")}
        static.variables |= saved


def _chained(e: LangError, chain) -> LangError:
    for w in chain:
        e.called_from(w)
    return e


def check_file(path: str | Path) -> Static:
    """Check a macro file; the result holds its errors and warnings."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        st = Static()
        st.errors.append(LangError(f"cannot read {p}: {e.strerror}"))
        return st
    return check_text(text, str(p), base=p.parent)
