"""The `mainpy` command: the prompt, batch macro files, `-c TEXT`, `--check`.

    mainpy                       the interactive prompt
    mainpy run.cmds [more.cmds]  run macro files in order; stop at the first error
    mainpy -c "read coor file x.pdb; show crystal"
    mainpy --check run.cmds      resolve everything, run nothing, report every error
"""

from __future__ import annotations

import argparse
import sys

from mainpy import __version__

JOURNAL = "mainpy_journal.cmds"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mainpy", description="Macromolecular refinement with MAIN's command language.")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="macro files to run (.cmds); extra words after a file are not taken: "
                        "use -c '<file args' for arguments")
    p.add_argument("-c", dest="command", metavar="TEXT",
                   help="run these sentences (separated by new lines or ';') and exit")
    p.add_argument("--check", action="store_true",
                   help="resolve the files without running them and report every error")
    p.add_argument("-v", "--verbose", action="count", default=1,
                   help="print more (-vv echoes every macro line)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors and results")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks of internal errors")
    p.add_argument("--journal", metavar="FILE", default=None,
                   help=f"journal of the prompt's sentences (default {JOURNAL}; 'none' for none)")
    p.add_argument("--version", action="version", version=f"mainpy {__version__}")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    verbose = 0 if args.quiet else args.verbose

    if args.check:
        return _check(args.files, args.command)

    from mainpy.lang.errors import LangError
    from mainpy.lang.interpreter import QuitSignal
    from mainpy.session import Session

    interactive = not args.files and args.command is None
    journal = args.journal if args.journal not in (None, "none") else None
    if interactive and args.journal is None:
        journal = JOURNAL
    session = Session(journal=journal, verbose=verbose, debug=args.debug)

    if interactive:
        from mainpy.repl import repl
        return repl(session)
    try:
        if args.command is not None:
            session.run(args.command, "<-c>")
        for f in args.files:
            session.run_file(f)
    except QuitSignal:
        return 0
    except LangError as e:
        print(e.format(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def _check(files, text) -> int:
    from mainpy.lang.check import check_file, check_text

    if not files and text is None:
        print("mainpy --check needs a file (or -c TEXT)", file=sys.stderr)
        return 2
    results = ([check_text(text, "<-c>")] if text is not None else [])
    results += [check_file(f) for f in files]
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
