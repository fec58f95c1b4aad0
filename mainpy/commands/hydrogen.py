"""HYDROGEN: add hydrogens from the monomer library, remove them, and say how they refine."""

from mainpy.lang.registry import Choice, Sele, command

ACTIONS = ("add", "remove", "keep", "auto", "riding", "free")


def _hydrogen(session, args):
    from mainpy.app import hydrogens as H
    session.need_model()
    what = args.get("action")
    mask = session.select(args["sele"]) if "sele" in args else None
    if what == "auto":
        add, why = H.auto(session)
        session.echo(f" HYDROGEN AUTO: {why}")
        what = "add" if add else "keep"
    if what == "add":
        session.echo(H.add(session, mask))
    elif what == "remove":
        session.echo(H.remove(session, mask))
    elif what in ("riding", "free"):
        session.hydrogens = what
    n = H.count(session)
    how = ("ride on their parents" if session.hydrogens == "riding"
           else "refine as free atoms")
    session.echo(f" the model has {n} hydrogens" + (f"; in refinement they {how}" if n else
                                                    ""))


command("hydrogen", help="add hydrogens (riding), remove them, or say how they refine",
        lead=(Choice(*ACTIONS, name="action", optional=True),),
        clauses=(Sele(help="ADD and REMOVE: only these residues' / atoms' hydrogens"),),
        action=_hydrogen,
        details="ADD places hydrogens on every residue with a dictionary (waters left out)\n"
                "at the library's X-H distances to the electron cloud; those present keep\n"
                "their coordinates. RIDING (the default) makes hydrogens ride on their\n"
                "parent atoms in refinement: no variables of their own, the gradient on\n"
                "them added to the parent's, B = 1.2 B(parent), placed again by their\n"
                "restraints at each re-phasing. FREE refines them as any atom. KEEP\n"
                "changes nothing (for macros: HYDROGEN REF_HYDROGENS). AUTO adds them\n"
                "to a model without any when the data reach 2.0 A or better, else keeps.\n"
                "WRITE COOR ... HYDROGENS OFF writes the model without them.",
        examples=("hydrogen add", "hydrogen remove", "hydrogen free",
                  "hydrogen add sele resi numb 10 : 20 end"))
