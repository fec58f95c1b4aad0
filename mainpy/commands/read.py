"""READ: coordinates, reflections, maps, monomer library."""

from mainpy.lang.registry import Clause, File, Int, Real, Word, command



def _read_coor(session, args):
    from mainpy.app.files import read_model
    fmt = "pdb" if "pdb" in args else "cif" if "cif" in args else None
    path = session.input_path(args["file"])
    append = "append" in args and session.model is not None
    read_model(session, path, fmt, append)
    how = "appended" if append else "read"
    m = session.model
    a = m.atoms
    sg = m.spacegroup
    session.echo(f" {len(a)} atoms in {a.n_residues} residues, {len(m.structure[0])} chains "
                 f"{how} from {args['file']}")
    session.echo(f" cell {m.cell.parameters[0]:.3f} {m.cell.parameters[1]:.3f} "
                 f"{m.cell.parameters[2]:.3f} {m.cell.parameters[3]:.2f} "
                 f"{m.cell.parameters[4]:.2f} {m.cell.parameters[5]:.2f}  "
                 f"space group {sg.xhm() if sg else 'unknown'}")


command("read", "coor", help="read a model (PDB or mmCIF); segments are chains (or segids)",
        clauses=(Clause("file", (File(),), help="the coordinate file"),
                 Clause("pdb", help="read as PDB whatever the name"),
                 Clause("cif", help="read as mmCIF whatever the name"),
                 Clause("init", help="replace the current model (default)"),
                 Clause("append", help="add the file's chains to the current model")),
        needs=(("file",),), exclusive=(("pdb", "cif"), ("init", "append")),
        action=_read_coor, examples=("read coor file 1abc.pdb", "read coor file x.cif append"))

def _read_refl(session, args):
    from mainpy.app.files import read_data
    read_data(session, session.input_path(args["file"]), fobs=args.get("fobs"),
              sigma=args.get("sigma"), iobs=args.get("iobs"), free=args.get("free"),
              free_value=args.get("free_value"), reso=args.get("reso"),
              block=args.get("block"))
    from mainpy.app.reports import data_lines
    for line in data_lines(session):
        session.echo(line)


command("read", "refl", help="read reflections (MTZ or mmCIF): amplitudes or intensities, free flags",
        clauses=(Clause("file", (File(),), help="the reflection file"),
                 Clause("fobs", (Word("label"),), help="amplitude column"),
                 Clause("sigma", (Word("label"),), help="sigma column"),
                 Clause("iobs", (Word("label"),), help="intensity column"),
                 Clause("free", (Word("label"),), help="free-R flag column"),
                 Clause("free_value", (Int("v"),), help="flag value of the test set (default: read from the flags)"),
                 Clause("reso", (Real("lo"), Real("hi")), help="resolution limits in A"),
                 Clause("block", (Word("name"),), help="data block of an mmCIF file "
                        "(default: the first whose crystal is the model's)")),
        needs=(("file",),), exclusive=(("fobs", "iobs"),), action=_read_refl,
        details="Columns are found automatically (F/SIGF, else I/SIGI converted by French &\n"
                "Wilson) unless named; their MTZ types are checked. Free flags: two values\n"
                "make the rarer one the test set (Phenix: 1), more values make 0 the test\n"
                "set (CCP4); a test set outside 0.5-50 % is refused unless FREE_VALUE\n"
                "names the value; reflections without a flag get one at the set's\n"
                "fraction. Reflections with sigma <= 0 or F < 0 are left out, repeated\n"
                "ones merged. Of several datasets or mmCIF blocks, the one taken is\n"
                "named. The first lines say what was assumed.",
        examples=("read refl file data.mtz", "read refl file data.mtz fobs F sigma SIGF free R"))

def _group(session, word):
    """SYMMETRY's word: a point group, or the operator file it names (as a path)."""
    import os
    if word is None:
        return None
    word = word.strip("'\"")
    path = session.input_path(word)
    return path if os.path.isfile(path) else word


def _read_map(session, args):
    if any(k in args for k in ("em", "half1", "half2", "blur", "sharpen", "symmetry")):
        from mainpy.app.em import read_em
        half = [session.input_path(args[k]) if k in args else None
                for k in ("half1", "half2")]
        for line in read_em(session, args["n"], session.input_path(args["file"]), *half,
                            reso=args.get("reso"), trim="notrim" not in args,
                            blur=args.get("blur"), sharpen="sharpen" in args,
                            group=_group(session, args.get("symmetry")),
                            centre=args.get("centre")):
            session.echo(line)
        return
    from mainpy.app.maps import put_map
    from mainpy.xtal.maps import read_map
    path = session.input_path(args["file"])
    grid = read_map(path)
    put_map(session, args["n"], grid)
    session.echo(f" map {args['n']}: {grid.nu}x{grid.nv}x{grid.nw} from {path}")


command("read", "map", help="read a map (CCP4/MRC) into map n",
        lead=(Int("n", help="map number"),),
        clauses=(Clause("file", (File(),), help="the map file"),
                 Clause("em", help="an EM map: a box of its own (P1), not a crystal cell"),
                 Clause("half1", (File(),), help="EM half map 1 (implies EM)"),
                 Clause("half2", (File(),), help="EM half map 2 (implies EM)"),
                 Clause("reso", (Real("d"),),
                        help="EM: resolution used (default: half-map FSC 0.143)"),
                 Clause("notrim", help="EM: keep the whole box (default: trimmed to the "
                                       "model with 8 A padding)"),
                 Clause("blur", (Real("b"),), help="EM: blur every map by B (A^2; a "
                                                   "negative B sharpens; implies EM)"),
                 Clause("sharpen", help="EM: sharpen by the B that flattens the full "
                                        "map's falloff (10 A to the resolution used)"),
                 Clause("symmetry", (Word("group", help="Cn or Dn (RELION's axes), or a "
                                                   "file of operators"),),
                        help="EM: point-group symmetry; the model is one copy, the others "
                             "follow it exactly (a file: one operator a line, R row by "
                             "row with t after each row, t in A)"),
                 Clause("centre", (Real("x"), Real("y"), Real("z")),
                        help="EM: the symmetry centre in A (default: the box's centre)")),
        needs=(("file",),), exclusive=(("blur", "sharpen"),), action=_read_map,
        details="An EM map (EM, or half maps given) is kept apart from the crystal maps:\n"
                "its box, origin and pixel come from the header; the box must hold the\n"
                "model and the half maps share it. ENER EM refines against it, SHOW FSC\n"
                "validates against it.",
        examples=("read map MAP_ORIG file mir.ccp4",
                  "read map 1 file full.mrc half1 h1.mrc half2 h2.mrc",
                  "read map 1 file full.mrc half1 h1.mrc half2 h2.mrc sharpen",
                  "read map 1 file full.mrc half1 h1.mrc half2 h2.mrc symmetry C3"))

def _read_mono(session, args):
    from mainpy.app.topology import use_monomers
    session.echo(use_monomers(session, args["path"]))


command("read", "mono", help="use a monomer library folder (CCP4 layout) or add a monomer CIF",
        lead=(File("path"),), action=_read_mono,
        examples=("read mono /opt/ccp4/lib/data/monomers", "read mono LIG.cif"))
