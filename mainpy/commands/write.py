"""WRITE: coordinates, maps, reflections. Every file is written whole or not at all."""

from mainpy.lang.registry import Clause, File, Int, Sele, command

ISSUE3 = "the reciprocal-space engine (issue 3)"


def _write_coor(session, args):
    from mainpy.model import model as M
    model = session.need_model()
    fmt = "pdb" if "pdb" in args else "cif" if "cif" in args else None
    mask = session.select(args["sele"]) if "sele" in args else None
    n = M.write_structure(model, args["file"], fmt, mask)
    session.echo(f" {n} atoms written to {args['file']}")


command("write", "coor", help="write the model (PDB or mmCIF, from the name or PDB|CIF)",
        clauses=(Clause("file", (File(),), help="the coordinate file"),
                 Clause("pdb", help="write PDB"), Clause("cif", help="write mmCIF"),
                 Sele(help="write only these atoms")),
        needs=(("file",),), exclusive=(("pdb", "cif"),), action=_write_coor,
        examples=("write coor file refined.pdb", "write coor file part.cif sele segm name A end"))

command("write", "map", help="write map n (CCP4/MRC)", lead=(Int("n"),),
        clauses=(Clause("file", (File(),)),), needs=(("file",),), pending=ISSUE3)

command("write", "refl", help="write an MTZ: FP SIGFP FREE FC PHIC FWT PHWT DELFWT PHDELWT FOM",
        clauses=(Clause("file", (File(),)),), needs=(("file",),), pending=ISSUE3)
