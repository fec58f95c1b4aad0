"""ENSEMBLE: one refinement macro run from several seeds in parallel; the best is kept.

The members start from the session's model and data as they are now (written to the
ensemble folder as start.pdb and data.mtz, so edits and REFL RESO limits count), use its
monomer library and see its variables (KICK_AMPL, KICK_RUN, ... of kick_refine.cmds).
The best member by R-free becomes the session's model; the spread is reported.
"""

from mainpy.errors import MainpyError
from mainpy.lang.registry import Clause, File, Int, Word, command

DEFAULT_RUNS = 4
DEFAULT_MACRO = "kick_refine"
DEFAULT_DIR = "ensemble"


def _ensemble(session, args):
    import re
    import shutil
    from pathlib import Path

    from mainpy.commands.refl import data_in_use, rephase
    from mainpy.fileio import atomic_write
    from mainpy.lang.interpreter import find_macro
    from mainpy.model import model as M
    from mainpy.refine.ensemble import run_ensemble
    from mainpy.xtal.maps import write_mtz

    model = session.need_model()
    refl = data_in_use(session)
    runs = args.get("runs", DEFAULT_RUNS)
    first = args.get("seed", 1)
    workers = args.get("workers")
    if runs < 1:
        raise MainpyError(f"ENSEMBLE needs RUNS of at least 1 (got {runs})")
    if workers is not None and workers < 1:
        raise MainpyError(f"ENSEMBLE needs WORKERS of at least 1 (got {workers})")
    macro = find_macro(args.get("macro", DEFAULT_MACRO), session.interpreter.current_dir())
    if macro is None:
        raise MainpyError(f"no macro {args.get('macro', DEFAULT_MACRO)!r} for the members "
                          "to run (looked in the working folder and mainpy's macros)")
    out = Path(args.get("dir", DEFAULT_DIR))
    out.mkdir(parents=True, exist_ok=True)
    cif = str(model.path or "").lower().endswith((".cif", ".mmcif"))
    start = out / ("start.cif" if cif else "start.pdb")
    M.write_structure(model, str(start))
    data = out / "data.mtz"
    write_mtz(str(data), refl)
    variables = {k: v for k, v in session.variables.items()
                 if not re.fullmatch(r"ARG\d+|NARG", k)}
    session.echo(f" ensemble: {runs} runs of {macro.name} (seeds {first}-{first + runs - 1}) "
                 f"from {start}, in {out}")
    res = run_ensemble(start, data, out, range(first, first + runs), str(macro),
                       session.monlib_path, variables, workers,
                       dictionaries=session.extra_cifs)
    atoms = session.atoms
    best = res.best
    if best.xyz.shape != atoms.xyz.shape:
        raise MainpyError(f"the members' models have {len(best.xyz)} atoms, the session's "
                          f"{len(atoms)}; the best one is in {res.best_path} (read coor)")
    if "file" in args:
        atomic_write(args["file"], lambda tmp: shutil.copyfile(res.best_path, tmp))
    session.model.atoms = atoms.replace(xyz=best.xyz.copy(), b=best.b.copy())
    fm = rephase(session, cold=True)       # as the member fitted it
    session.variables["ENS_BEST_SEED"] = str(best.seed)
    session.echo(res.report())
    rw, rf = fm.r_factors()
    session.echo(f" the model is now member {best.seed}: R-work {rw:.4f}  R-free {rf:.4f}"
                 + (f" (also written to {args['file']})" if "file" in args else ""))


command("ensemble", help="run a refinement macro from several seeds in parallel; keep the best",
        clauses=(Clause("runs", (Int("n"),), help=f"number of members (default {DEFAULT_RUNS})"),
                 Clause("seed", (Int("s"),), help="seed of the first member (default 1); "
                                                  "the others count up"),
                 Clause("workers", (Int("w"),), help="parallel processes (default: one per "
                                                     "core, at most RUNS)"),
                 Clause("macro", (Word("name"),), help="the macro each member runs as "
                        f"<macro model data out (default {DEFAULT_MACRO}); it sees KICK_SEED"),
                 Clause("dir", (File("folder"),), help=f"where the members' models go "
                        f"(default {DEFAULT_DIR})"),
                 Clause("file", (File(),), help="also write the best model here")),
        action=_ensemble,
        details="Each member is a fresh mainpy in its own process, starting from the model\n"
                "and data as they are now, with this session's monomer library and\n"
                "variables. The best member by R-free (R-work without a test set) becomes\n"
                "the model; R-work, R-free and each member's rms to the best are reported.",
        examples=("ensemble runs 4", "set vari KICK_AMPL = 0.5; ensemble runs 8 seed 11 "
                  "file best.pdb"))
