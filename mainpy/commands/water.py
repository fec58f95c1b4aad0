"""WATER: ordered solvent updated from the maps (phenix's ordered_solvent rules)."""

from mainpy.lang.registry import ON_OFF, Choice, Clause, Real, command


def _water(session, args):
    from mainpy.app.waters import update
    if args.get("action", "update") == "keep":
        return
    for line in update(session, args.get("peak"), args.get("weak"), args.get("bmax"),
                       add=args.get("add", "on") == "on",
                       remove=args.get("remove", "on") == "on"):
        session.echo(line)


command("water", help="update the waters: remove weak ones, add new ones at mFo-DFc peaks",
        lead=(Choice("update", "keep", name="action"),),
        clauses=(Clause("peak", (Real("peak"),), help="mFo-DFc peak height for a new water "
                        "(sigma, default 3)"),
                 Clause("weak", (Real("weak"),), help="2mFo-DFc at a water's centre below "
                        "which it is removed (sigma, default 0.5)"),
                 Clause("bmax", (Real("bmax"),), help="waters with a larger B are removed "
                        "(default 80)"),
                 Clause("add", (Choice(*ON_OFF, name="add"),), help="add new waters "
                        "(default on)"),
                 Clause("remove", (Choice(*ON_OFF, name="remove"),),
                        help="remove weak waters (default on)")),
        action=_water,
        details="A new water sits at an mFo-DFc peak with a nitrogen or oxygen of the\n"
                "model (or a symmetry mate) 2.45-3.4 A away and no atom nearer than 1.8 A,\n"
                "in the symmetry copy beside the model. The restraints are made again for\n"
                "the new model and it is re-phased (its R-values printed). KEEP changes\n"
                "nothing (for macros: WATER REF_WATERS).",
        examples=("water update", "water update peak 3.5 weak 1.2 bmax 60", "water update add off"))
