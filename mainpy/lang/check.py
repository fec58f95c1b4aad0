"""`mainpy --check`: resolve a macro (and the macros it calls) without running anything.

Every sentence is resolved against the registry; variables used as numbers must have been
defined before (by SET VARI here or in a called macro, or be ARGn inside a macro); key
names in selections must have been defined by KEY. An ARGn must be given by the call
that runs the macro (for a file checked alone: the arguments after `--` on the command
line) or be set by SET VARI (`set vari ARG2 = out.pdb default`); a file a READ command
reads must exist where the run will look for it (`input_file`: the working folder, then
beside the macros running), unless a WRITE before it makes it. Every error is reported,
not just the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mainpy.lang.errors import LangError
from mainpy.lang.interpreter import MAX_DEPTH, find_macro, input_file
from mainpy.lang.lexer import split
from mainpy.lang.parser import (CHOICE, INT, REAL, MacroCall, Parsed, resolve, selections,
                                value_vals)
from mainpy.lang.registry import NAME
from mainpy.lang.selection_words import BUILTIN_KEYS
from mainpy.model import selection as S

#: variables that commands set for macros to read
COMMAND_VARIABLES = ("R_WORK", "R_FREE", "R_FREE_ERROR")
#: a macro's arguments
ARG = re.compile(r"ARG[1-9][0-9]*\Z")


def _is_arg(name: str) -> bool:
    return bool(ARG.match(name)) or name == "NARG"


@dataclass
class Static:
    """What is known to exist at a point of the text, without running it."""

    variables: set = field(default_factory=lambda: set(COMMAND_VARIABLES))
    keys: set = field(default_factory=lambda: set(BUILTIN_KEYS))
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    visited: list = field(default_factory=list)   # include chain, to stop recursion
    values: dict = field(default_factory=dict)    # variable -> its value, where known
    macros: list = field(default_factory=list)    # the macro files running, outermost first
    written: set = field(default_factory=set)     # files WRITE makes before they are read
    #: what gives the arguments here (for the message about an ARGn not given)
    arguments: str = "a text outside a macro has no arguments"


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
            if v.kind != NAME and v.token.kind == "WORD" and ARG.match(v.text):
                if v.text not in static.variables:
                    static.errors.append(_chained(LangError(
                        f"{v.text} is used but not given: {static.arguments}",
                        v.token.where), chain))
                continue
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
            _check_macro(parsed.file.text, parsed.args, s.where, static, base, chain)
        elif isinstance(parsed, Parsed):
            _files(parsed, static, chain)
            value = _set_vari(parsed, static)
            if parsed.command.check is not None:
                try:
                    parsed.command.check(static, parsed)
                except LangError as e:
                    static.errors.append(_chained(e, chain))
            if value is not None:
                static.values[value[0]] = value[1]
            for mac in _phase_macros(parsed):
                if find_macro(mac.text, base) is None:
                    static.warnings.append(_chained(LangError(
                        f"phase macro {mac.text!r} is not on the macro path yet; it must be "
                        "there when the minimizer re-phases", mac.token.where), chain))
                else:
                    _check_macro(mac.text, [], mac.token.where, static, base, chain)
    return static


def _value(val, static: Static):
    """A word's value as the run will see it: a variable's value (None where it is not
    known before the run, e.g. R_WORK), else the word itself."""
    if val.token.kind == "WORD" and val.text in static.variables:
        return static.values.get(val.text)
    if val.token.kind == "WORD" and ARG.match(val.text):
        return None                     # an ARGn not given: reported where it is used
    return val.text


def _set_vari(parsed: Parsed, static: Static):
    """SET VARI NAME = value: (NAME, the value as known here), or None if it sets
    nothing here (DEFAULT with NAME defined before)."""
    if tuple(parsed.command.words) != ("set", "vari"):
        return None
    name, val = parsed.top.values.get("name"), parsed.top.values.get("value")
    if name is None or val is None:
        return None
    if any(u.decl.key == "default" for u in parsed.top.subs) and \
            name.text in static.variables:
        return None
    return name.text, _value(val, static)


def _files(parsed: Parsed, static: Static, chain) -> None:
    """READ ... FILE f: f must exist where the run will look (or be written before);
    WRITE ... FILE f: f exists from then on."""
    verb = parsed.command.words[0].lower()
    if verb not in ("read", "write"):
        return
    for use in parsed.top.subs:
        val = use.values.get("file") if use.decl.key == "file" else None
        if val is None:
            continue
        name = _value(val, static)
        if name is None:
            continue        # known only when it runs, or an ARGn not given (said above)
        path = input_file(name, static.macros) if verb == "read" else name
        resolved = str(Path(path).expanduser().resolve())
        if verb == "write":
            static.written.add(resolved)
        elif not Path(path).expanduser().exists() and resolved not in static.written:
            where = "the working folder" + "".join(
                f", beside {Path(m).name}" for m in reversed(static.macros))
            static.errors.append(_chained(LangError(
                f"no file {name!r} to read (looked in {where})", val.token.where), chain))


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
    given = [_value(a, static) for a in args]
    n = len(given)
    saved = ({v for v in static.variables if _is_arg(v)},
             {k: v for k, v in static.values.items() if _is_arg(k)}, static.arguments)
    static.variables -= saved[0]
    for k in saved[1]:
        del static.values[k]
    _give(static, given, f"the call gives {n} argument{'s' if n != 1 else ''}")
    static.visited.append(path)
    static.macros.append(path)
    try:
        check_text(path.read_text(), str(path), static, path.parent, (where, *chain))
    except OSError as e:
        static.errors.append(_chained(LangError(f"cannot read macro {path}: {e.strerror}",
                                                where), chain))
    finally:
        static.visited.pop()
        static.macros.pop()
        static.variables -= {v for v in static.variables if _is_arg(v)}
        for k in [k for k in static.values if _is_arg(k)]:
            del static.values[k]
        static.variables |= saved[0]
        static.values.update(saved[1])
        static.arguments = saved[2]


def _give(static: Static, args, arguments: str) -> None:
    """A macro's ARG1..ARGn and NARG, as a call (or the command line) gives them."""
    for i, a in enumerate(args, 1):
        static.variables.add(f"ARG{i}")
        static.values[f"ARG{i}"] = a
    static.variables.add("NARG")
    static.values["NARG"] = str(len(args))
    static.arguments = arguments


def _chained(e: LangError, chain) -> LangError:
    for w in chain:
        e.called_from(w)
    return e


def check_file(path: str | Path, args=()) -> Static:
    """Check a macro file as `mainpy path -- args` would run it; the result holds its
    errors and warnings."""
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        st = Static()
        why = e.strerror if isinstance(e, OSError) else "it is not text"
        st.errors.append(LangError(f"cannot read {p}: {why}"))
        return st
    st = Static(macros=[p.resolve()])
    n = len(args)
    _give(st, [str(a) for a in args],
          f"{p.name} is checked with {n if n else 'no'} argument{'s' if n != 1 else ''} "
          f"(give them after --: mainpy --check {p.name} -- ARG1 ARG2 ...)")
    return check_text(text, str(p), st, base=p.parent)
