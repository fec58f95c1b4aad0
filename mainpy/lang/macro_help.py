"""`help macro`: the macro language (variables, macro files, arguments, continuation,
comments), with the search path and the shipped macros listed from where they are."""

from __future__ import annotations

from pathlib import Path

RULES = """\
Macros: sentences in a file (name.cmds), run with <name [args]

  <name a b ...         run name.cmds; the words after it are ARG1, ARG2, ... inside it
                        and NARG is their number (the caller's are put back after)
  return                end the current macro here (end of file also returns)
  set vari NAME = v     define or change a variable; write NAME where a value goes
                        (step MIN_STEP, map MAP_FO): it is replaced when the sentence runs
  set vari NAME = v default
                        set NAME only if it is not defined yet (a macro's defaults)
  show vari             the variables and their values
  ! ...                 a comment to the end of the line (# too, where a word would start)
  ... -  or  ... \\      a line ending in a lone - or in \\ continues on the next line
  a ; b                 two sentences on one line

  A file named in a macro is looked for in the working folder, then beside the macros
  being run. An error stops the macro and all that called it, and names the place at
  every level (file:line:col). Macros nest up to {depth} deep. Ctrl-C ends the running
  minimization after its step and nothing after it runs, at any level.
  minimize ... phase steps n phase macro name.cmds runs a macro after every RE_PHASE.
  From the shell: mainpy name.cmds -- a b ...; mainpy --check name.cmds -- a b ...
  resolves every sentence without running it and lists every error.

Where <name is looked for, in order:
  the folder of the calling macro, the working folder, the folders in $MAINPY_MACROS
  (separated by '{sep}'), then the macros shipped with mainpy{shipped}
"""


def _first_comment(path: Path) -> str:
    """The first sentence of a macro's opening comment, without its 'name:' lead."""
    words: list[str] = []
    try:
        for line in path.read_text().splitlines():
            s = line.strip()
            if not s.startswith("!") or not s.strip("! "):
                break
            words.append(s.lstrip("! "))
    except OSError:
        return ""
    text = " ".join(words)
    head, _, rest = text.partition(":")
    if rest and head.strip().lower() in (path.name.lower(), path.stem.lower()):
        text = rest.strip()
    for end in (". ", " (", "; "):
        text = text.split(end)[0]
    return text.rstrip(".") + "."


def help_text() -> str:
    """The macro language and the shipped macros (each with its first comment line)."""
    import os

    from mainpy.lang.interpreter import MAX_DEPTH
    from mainpy.lang.lexer import package_dir
    try:
        files = sorted(package_dir("macros").glob("*.cmds"), key=lambda p: p.name.lower())
    except FileNotFoundError:
        files = []
    shipped = ":" if files else ""
    text = RULES.format(depth=MAX_DEPTH, sep=os.pathsep, shipped=shipped)
    w = max((len(p.stem) for p in files), default=0) + 1
    lines = [f"  <{p.stem:<{w}} {_first_comment(p)}".rstrip() for p in files]
    return text + "\n".join(lines) + ("\n" if lines else "")
