"""MODELS: the model becomes N copies (conformers A, B, ...) refined together against the
data, for multi-model (ensemble) refinement; MODELS RMSF reports their spread
(`mainpy.app.multimodel`)."""

from mainpy.errors import MainpyError
from mainpy.lang.registry import Clause, File, Int, Real, Sele, command

DEFAULT_KICK = 0.3


def _models(session, args):
    from mainpy.app import multimodel as M
    if "rmsf" in args:
        rows = M.rmsf_per_residue(session.need_model().atoms)
        if not rows:
            raise MainpyError("MODELS RMSF: the model has no conformers (MODELS n makes copies)")
        r = [x[4] for x in rows]
        session.echo(f" rmsf of the copies over {len(rows)} residues: mean {sum(r) / len(r):.3f}"
                     f" A, largest {max(r):.3f} A ({rows[r.index(max(r))][0]} "
                     f"{rows[r.index(max(r))][1]} {rows[r.index(max(r))][2]})")
        if "file" in args:
            session.echo(" written: " + ", ".join(M.write_rmsf(rows, args["file"])))
        return
    if "n" not in args:
        raise MainpyError("MODELS needs the number of copies (models 4) or RMSF")
    sels = args.all("sele")
    mask = session.select(sels[0]) if sels else None
    session.echo(M.session_models(session, args["n"], mask, args.get("kick", DEFAULT_KICK),
                                  args.get("seed", 1)))


command("models", help="turn the model into N copies (conformers A, B, ...) refined together",
        lead=(Int("n", optional=True),),
        clauses=(Clause("kick", (Real("r"),), help="start the copies kicked by up to r A "
                        f"(default {DEFAULT_KICK})"),
                 Clause("seed", (Int("s"),), help="seed of the kick (default 1)"),
                 Sele(help="copy only these residues (e.g. a loop); the rest is shared"),
                 Clause("rmsf", help="report the copies' spread per residue"),
                 Clause("file", (File(),), help="with RMSF: write it as CSV (and a PNG "
                        "beside it when matplotlib is there)")),
        action=_models,
        details="Each residue with a selected atom gets N conformers A, B, ... at occupancy\n"
                "1/N, as Coot and PyMOL show alternative conformations; the rest stays at\n"
                "its occupancy. Fcalc is then the occupancy-weighted sum of the copies,\n"
                "each copy is restrained within itself (no non-bonded repulsion between\n"
                "copies) and has its own B-values. REFINE then refines them jointly.\n"
                "The model must have no conformers of its own where it is copied.",
        examples=("models 4 kick 0.3 seed 7", "models 2 sele resi numb 20:30 end",
                  "models rmsf file rmsf.csv"))
