"""The `mainpy` command: the prompt, batch macro files, `-c TEXT`, `--check`.

    mainpy                       the interactive prompt
    mainpy run.cmds [more.cmds]  run macro files in order; stop at the first error
    mainpy refine.cmds -- model.pdb data.mtz out.pdb
                                 the words after -- are the macro's ARG1 ARG2 ...
    mainpy -c "read coor file x.pdb; show crystal"
    mainpy --check run.cmds      resolve everything, run nothing, report every error

A file given to mainpy runs as a macro: one that is plainly not a macro (model.pdb,
data.mtz, or a file whose first sentence is not one) is refused before anything runs,
with the hint about `--`. Ctrl-C (or key e in the window) ends the run after the
current minimizer step: mainpy exits with status 130 and says where it stopped.
"""

from __future__ import annotations

import argparse
import sys

from mainpy import __version__

JOURNAL = "mainpy_journal.cmds"
#: endings of files that hold data, not sentences
DATA_FILES = (".pdb", ".ent", ".cif", ".mmcif", ".mtz", ".hkl", ".sca", ".ccp4", ".mrc",
              ".map", ".gz", ".bz2", ".zip")
#: status after a stop request (Ctrl-C, key e): as after SIGINT
STOPPED = 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mainpy", usage="mainpy [options] [FILE ...] [-- ARG ...]",
        description="Macromolecular refinement with MAIN's command language.",
        epilog="Words after -- are given to the one macro file before them as ARG1, "
               "ARG2, ...: mainpy refine.cmds -- model.pdb data.mtz out.pdb")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="macro files to run (.cmds), in order")
    p.add_argument("-c", dest="command", metavar="TEXT",
                   help="run these sentences (separated by new lines or ';') and exit")
    p.add_argument("--check", action="store_true",
                   help="resolve the files without running them and report every error")
    p.add_argument("-v", "--verbose", action="count", default=1,
                   help="print more (-vv echoes every macro line)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print only what sentences show (SHOW, REFL R-VALUE, HELP), errors "
                        "and warnings: no progress")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks of internal errors")
    p.add_argument("--journal", metavar="FILE", default=None,
                   help=f"journal of the prompt's sentences (default {JOURNAL}; 'none' for none)")
    p.add_argument("--version", action="version", version=f"mainpy {__version__}")
    return p


def split_argv(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """(mainpy's own arguments, the macro's arguments after `--` or None)."""
    takes_value = ("-c", "--journal")
    i = 0
    while i < len(argv):
        if argv[i] == "--":
            return argv[:i], argv[i + 1:]
        i += 2 if argv[i] in takes_value else 1
    return argv, None


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, macro_args = split_argv(argv)
    args = _parser().parse_args(own)
    verbose = 0 if args.quiet else args.verbose

    if macro_args is not None and len(args.files) != 1:
        print("mainpy: error: the words after -- are the arguments of one macro file: "
              "mainpy refine.cmds -- model.pdb data.mtz out.pdb", file=sys.stderr)
        return 2
    problems = not_macros(args.files)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return 2
    macro_args = macro_args or []

    if args.check:
        return _check(args.files, args.command, macro_args)

    from mainpy.lang.errors import LangError
    from mainpy.lang.interpreter import QuitSignal, Stopped
    from mainpy.session import Session

    interactive = not args.files and args.command is None
    journal = args.journal if args.journal not in (None, "none") else None
    if interactive and args.journal is None:
        journal = JOURNAL
    session = Session(journal=journal, verbose=verbose, debug=args.debug)

    if interactive:
        from mainpy.repl import repl
        return repl(session)

    def stopped(left) -> bool:
        stop = session.interpreter.last_stop
        if stop is None:
            return False
        rest = f"; not run: {' '.join(left)}" if left else ""
        print(stop.format() + rest, file=sys.stderr)
        return True

    try:
        if args.command is not None:
            session.run(args.command, "<-c>")
            if stopped(args.files):
                return STOPPED
        for i, f in enumerate(args.files):
            session.run_file(f, macro_args)
            if stopped(args.files[i + 1:]):
                return STOPPED
    except QuitSignal:
        return 0
    except Stopped as e:
        print(e.format(), file=sys.stderr)
        return STOPPED
    except LangError as e:
        print(e.format(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return STOPPED
    return 0


def not_macros(files) -> list[str]:
    """Messages for the files that are not macros (data files, or text whose first
    sentence is no sentence of the language), each with the hint about `--`."""
    from pathlib import Path

    bad = {}
    for f in files:
        p = Path(f)
        if p.name.lower().endswith(DATA_FILES):
            bad[f] = f"mainpy: error: {f} is a data file, not a macro"
            continue
        reason = _first_sentence_problem(p)
        if reason is not None:
            bad[f] = reason
    if not bad:
        return []
    macros = [f for f in files if f not in bad]
    example = f"mainpy {macros[0] if macros else 'run.cmds'} -- " + " ".join(bad)
    hint = ("  a file given to mainpy runs as a macro; to give files to a macro, put "
            f"them after --: {example}")
    return [*bad.values(), hint]


def _first_sentence_problem(path) -> str | None:
    """Why `path` does not read as a macro (its first sentence is not one), or None."""
    from mainpy.lang.errors import LangError
    from mainpy.lang.lexer import split
    from mainpy.lang.parser import resolve
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        return f"mainpy: error: {path} is not a macro (it is not text)"
    except OSError:
        return None                     # the run says it cannot be read
    try:
        sentences = split(text, str(path))
    except LangError as e:
        first = next((i for i, line in enumerate(text.splitlines(), 1)
                      if line.strip() and line.lstrip()[0] not in "!#"), 0)
        if e.where is not None and e.where.line <= first:
            return f"{e.format()}\n  {path} does not read as a macro"
        return None                     # a macro with an error further on: the run says
    if not sentences:
        return None
    try:
        resolve(sentences[0], keys=None)
    except LangError as e:
        # its first word is no command (a misspelling further on is the run's to report)
        if e.where == sentences[0].where:
            return f"{e.format()}\n  {path} does not read as a macro"
    return None


def _check(files, text, macro_args=()) -> int:
    from mainpy.lang.check import check_file, check_text

    if not files and text is None:
        print("mainpy --check needs a file (or -c TEXT)", file=sys.stderr)
        return 2
    results = ([check_text(text, "<-c>")] if text is not None else [])
    results += [check_file(f, macro_args) for f in files]
    errors = [e for r in results for e in r.errors]
    for r in results:
        for w in r.warnings:
            print(w.format().replace(": error: ", ": warning: ", 1), file=sys.stderr)
    for e in errors:
        print(e.format(), file=sys.stderr)
    n = len(errors)
    print(f"{n} error{'s' if n != 1 else ''}" if n else "no errors", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
