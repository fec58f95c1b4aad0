"""SAVE COOR / RESTORE COOR: undo points for the model's coordinates, B and occupancies."""

from mainpy.errors import MainpyError
from mainpy.lang.registry import Name, command

_ARRAYS = ("xyz", "b", "occ", "aniso")


def _save(session, args):
    name = args.get("name") or "default"
    atoms = session.atoms
    session.saved[name] = {k: getattr(atoms, k).copy() for k in _ARRAYS}
    session.echo(f" coordinates saved as {name}")


def _restore(session, args):
    name = args.get("name") or "default"
    if name not in session.saved:
        have = ", ".join(sorted(session.saved)) or "none"
        raise MainpyError(f"no save point {name!r} (saved: {have})")
    point = session.saved[name]
    atoms = session.atoms
    if len(point["xyz"]) != len(atoms):
        raise MainpyError(f"save point {name!r} belongs to a model of another size")
    session.model.atoms = atoms.replace(**{k: v.copy() for k, v in point.items()})
    session.echo(f" coordinates restored from {name}")


command("save", "coor", help="remember the coordinates, B and occupancies (an undo point)",
        trail=(Name("name", optional=True, help="name of the save point (default: default)"),),
        action=_save)
command("restore", "coor", help="go back to coordinates saved with SAVE COOR",
        trail=(Name("name", optional=True),), action=_restore)
