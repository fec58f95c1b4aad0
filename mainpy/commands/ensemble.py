"""ENSEMBLE: one kick refinement (or a macro) run from several seeds in parallel; the best
is kept (`mainpy.app.ensemble`)."""

from mainpy.errors import MainpyError
from mainpy.lang.registry import Clause, File, Int, Word, command

DEFAULT_RUNS = 4
DEFAULT_DIR = "ensemble"


def _ensemble(session, args):
    from mainpy.app.ensemble import session_ensemble
    from mainpy.lang.interpreter import find_macro
    runs = args.get("runs", DEFAULT_RUNS)
    first = args.get("seed", 1)
    if runs < 1:
        raise MainpyError(f"ENSEMBLE needs RUNS of at least 1 (got {runs})")
    macro = None
    if "macro" in args:
        macro = find_macro(args["macro"], session.interpreter.current_dir())
        if macro is None:
            raise MainpyError(f"no macro {args['macro']!r} for the members to run (looked "
                              "in the working folder and mainpy's macros)")
    what = f"{macro.name}" if macro is not None else "the kick refinement"
    if "check" in args:
        from mainpy.app.ensemble import plan_ensemble
        session.echo(" ensemble check (nothing runs):")
        session.echo(plan_ensemble(session, range(first, first + runs), args.get("workers"),
                                   macro, args.get("dir", DEFAULT_DIR),
                                   args.get("scheduler")))
        return
    session.echo(f" ensemble: {runs} runs of {what} (seeds {first}-{first + runs - 1}) "
                 f"in {args.get('dir', DEFAULT_DIR)}")
    res, start = session_ensemble(session, range(first, first + runs), args.get("workers"),
                                  macro, args.get("dir", DEFAULT_DIR), args.get("file"),
                                  args.get("scheduler"))
    session.echo(res.report())
    rw, rf = session.fmodel.r_factors()
    session.echo(f" the model is now member {res.best.seed}: R-work {rw:.4f}  R-free {rf:.4f}"
                 + (f" (also written to {args['file']})" if "file" in args else ""))


command("ensemble", help="run a kick refinement from several seeds in parallel; keep the best",
        clauses=(Clause("runs", (Int("n"),), help=f"number of members (default {DEFAULT_RUNS})"),
                 Clause("seed", (Int("s"),), help="seed of the first member (default 1); "
                                                  "the others count up"),
                 Clause("workers", (Int("w"),), help="parallel processes (default: one per "
                                                     "core, at most RUNS)"),
                 Clause("macro", (Word("name"),), help="a macro each member runs instead of the "
                        "kick refinement, as <macro model data out; it sees KICK_SEED"),
                 Clause("dir", (File("folder"),), help=f"where the members' models go "
                        f"(default {DEFAULT_DIR})"),
                 Clause("file", (File(),), help="also write the best model here"),
                 Clause("scheduler", (File("address"),), help="run the members on Dask: "
                        "LOCAL for a LocalCluster on this machine, or a scheduler's address "
                        "in quotes (\"tcp://host:8786\"); default $MAINPY_SCHEDULER, else "
                        "this machine's process pool"),
                 Clause("check", help="say what would run where, and run nothing")),
        action=_ensemble,
        details="Each member is a fresh mainpy in its own process, starting from the model\n"
                "and data as they are now, with this session's monomer library. It runs\n"
                "kick_refine.cmds' two stages (coordinates, then coordinates and B) with the\n"
                "settings KICK_AMPL, KICK_RUN, KICK_STEPS, KICK_LAW, KICK_BOND, KICK_TARGET,\n"
                "or the MACRO given. The best member by R-work (chosen without the test set,\n"
                "so its R-free stays a fair check) becomes the model; R-work, R-free and each member's rms to the best are\n"
                "reported.\n"
                "With SCHEDULER (or the environment variable MAINPY_SCHEDULER) the members\n"
                "run on Dask (pip install mainpy[cluster]): LOCAL starts a LocalCluster of\n"
                "WORKERS processes here, an address uses that scheduler's workers; the\n"
                "dashboard's address is printed. The members' inputs travel with them and\n"
                "their models and logs come back (the monomer library is read by its path\n"
                "on the workers). A member that fails is reported and the others finish;\n"
                "Ctrl-C cancels the rest. CHECK says what would run where, and runs nothing.",
        examples=("ensemble runs 4", "set vari KICK_AMPL = 0.5; ensemble runs 8 seed 11 "
                  "file best.pdb", "ensemble runs 8 scheduler local",
                  'ensemble runs 32 scheduler "tcp://10.0.0.5:8786" check'))
