"""WRITE: coordinates, maps, reflections, made dictionaries. Every file is written whole or
not at all."""

from mainpy.lang.registry import ON_OFF, Choice, Clause, File, Int, Sele, Word, command

def _write_coor(session, args):
    from mainpy.app.files import write_model
    session.need_model()
    fmt = "pdb" if "pdb" in args else "cif" if "cif" in args else None
    mask = session.select(args["sele"]) if "sele" in args else None
    aniso = args.get("aniso", "on") == "on"
    no_h = args.get("hydrogens", "on") == "off"
    if no_h:
        from mainpy.refine.riding import is_hydrogen
        keep = ~is_hydrogen(session.atoms)
        mask = keep if mask is None else mask & keep
    n = write_model(session, args["file"], fmt, mask, aniso=aniso)
    session.model_written(None if no_h and "sele" not in args else mask)
    session.echo(f" {n} atoms written to {args['file']}"
                 + ("" if aniso else " (B_eq only, no ANISOU)")
                 + (" (no hydrogens)" if no_h else ""))


command("write", "coor", help="write the model (PDB or mmCIF, from the name or PDB|CIF)",
        clauses=(Clause("file", (File(),), help="the coordinate file"),
                 Clause("pdb", help="write PDB"), Clause("cif", help="write mmCIF"),
                 Clause("aniso", (Choice(*ON_OFF, name="state"),),
                        help="ANISOU records of anisotropic atoms (default on; OFF writes "
                             "B_eq alone, TLS groups staying in the header)"),
                 Clause("hydrogens", (Choice(*ON_OFF, name="hstate"),),
                        help="hydrogens in the file (default on; OFF leaves them out)"),
                 Sele(help="write only these atoms")),
        needs=(("file",),), exclusive=(("pdb", "cif"),), action=_write_coor,
        examples=("write coor file refined.pdb", "write coor file part.cif sele segm name A end",
                  "write coor file refined_b.pdb aniso off",
                  "write coor file refined.pdb hydrogens off"))

def _write_map(session, args):
    if args["n"] in session.em:
        from mainpy.app.em import write_em
        write_em(session, args["n"], args["file"])
        session.echo(f" EM map {args['n']} written to {args['file']}")
        return
    from mainpy.app.maps import get_map
    from mainpy.xtal.maps import write_map
    write_map(args["file"], get_map(session, args["n"]))
    session.echo(f" map {args['n']} written to {args['file']}")


command("write", "map", help="write map n (CCP4/MRC)", lead=(Int("n"),),
        clauses=(Clause("file", (File(),)),), needs=(("file",),), action=_write_map)


def _write_refl(session, args):
    from mainpy.app.phasing import data_in_use, need_fmodel, rejected_outliers
    if session.model is None:
        from mainpy.xtal.maps import write_mtz
        write_mtz(args["file"], data_in_use(session))
        session.echo(f" FP SIGFP FREE written to {args['file']} (no model: no FC or maps)")
        return
    fm = need_fmodel(session)
    fm.write_mtz(args["file"])
    o = rejected_outliers(session)
    n = int(o.sum()) if o is not None else 0
    session.echo(f" FP SIGFP FREE FC PHIC FWT PHWT DELFWT PHDELWT FOM written to {args['file']}"
                 + (f" ({n} rejected outliers as missing, as the maps left them out)"
                    if n else ""))


command("write", "refl", help="write an MTZ: FP SIGFP FREE FC PHIC FWT PHWT DELFWT PHDELWT FOM",
        clauses=(Clause("file", (File(),)),), needs=(("file",),), action=_write_refl,
        details="Map coefficients come from the last REFL PHASE (made now if none);\n"
                "Coot opens the file as usual (FWT/PHWT and DELFWT/PHDELWT).")


def _write_mono(session, args):
    from mainpy.app.topology import write_generated
    session.echo(write_generated(session, args["res"], args["file"]))


command("write", "mono", help="write the dictionary made for a residue without one (to edit)",
        lead=(Word("res", help="the residue name"),),
        clauses=(Clause("file", (File(),), help="the monomer CIF to write"),),
        needs=(("file",),), action=_write_mono,
        details="DEFINE ... BY TOPO makes a dictionary for each residue type the library\n"
                "lacks (AceDRG where installed, else the input geometry). Edit the file\n"
                "and READ MONO it: a dictionary read wins over a made one.",
        examples=("write mono PLM file PLM.cif",))


def _last_run(session):
    h = session.history
    if h is None:
        from mainpy.errors import ScienceError
        raise ScienceError("no refinement run yet: MINIMIZE or REFINE makes a history")
    return h


def _write_history(session, args):
    h = _last_run(session)
    h.write_csv(args["file"])
    session.echo(f" {len(h)} rows of the last run written to {args['file']}")


command("write", "history", help="write the last refinement run's history as CSV",
        clauses=(Clause("file", (File(),), help="the CSV file"),),
        needs=(("file",),), action=_write_history,
        details="One row per step (step 0: the model before the run): step, total energy,\n"
                "R-work, R-free, fresh (1 where R-work and R-free come from a RE_PHASE,\n"
                "the start or the end; elsewhere R-work is the X-ray target's own and\n"
                "R-free is empty), rmsd bonds (A) and angles (deg), the data weight, then\n"
                "one column per energy term. From Python: session.history.",
        examples=("write history file run.csv",))


_PLOTS = ("history", "r_value", "rama", "b_values", "fsc", "cc")


def _write_plot(session, args):
    from mainpy.app.plots import write_plot
    kind = next(k for k in _PLOTS if k in args)
    mask = session.select(args["sele"]) if "sele" in args else None
    session.echo(write_plot(session, kind, args["file"], mask,
                            args.get("fsc", args.get("cc"))))


command("write", "plot", help="draw a plot as a PNG (needs matplotlib: mainpy[plot])",
        clauses=(Clause("history", help="R-work/R-free and rmsd bonds/angles against the "
                                        "step of the last refinement run"),
                 Clause("r-value", help="R-work and R-free per resolution shell (REFL SHEL)"),
                 Clause("rama", help="the Ramachandran plot over mainpy's regions"),
                 Clause("b-values", help="mean B per residue along each chain"),
                 Clause("fsc", (Int("n", help="the EM map"),),
                        help="FSC curves of the model and half maps of EM map n (SHOW FSC)"),
                 Clause("cc", (Int("n", help="the EM map"),),
                        help="map-model CC per residue along the chains, EM map n"),
                 Clause("file", (File(),), help="the PNG file"),
                 Sele(help="B-VALUES: only these atoms")),
        needs=(_PLOTS, ("file",)), exclusive=(_PLOTS,), action=_write_plot,
        examples=("write plot history file run.png", "write plot rama file rama.png",
                  "write plot b-values file b.png sele segm name A end",
                  "write plot fsc 1 file fsc.png", "write plot cc 1 file cc.png"))
