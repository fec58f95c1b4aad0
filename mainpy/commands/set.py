"""SET: atom properties (coordinates, B, occupancy, weight, charge), kicks, variables."""

from mainpy.errors import MainpyError
from mainpy.lang.registry import (ON_OFF, Choice, Clause, Int, Name, Real, Sele, Value,
                                  command)

_SEED = Clause("seed", (Int("s"),), help="random seed: the same seed gives the same kick")
DISTRIBUTIONS = ("uniform", "linear", "square", "exponential")
_KINDS = tuple(Clause(d, help=f"kick sizes distributed {d}ly in [0, r]".replace("uniformly",
                                                                                "uniformly (default)"))
               for d in DISTRIBUTIONS)


def distribution(args) -> str:
    """Which of UNIFORM|LINEAR|SQUARE|EXPONENTIAL was given (uniform by default)."""
    return next((d for d in DISTRIBUTIONS if d in args), "uniform")


def _mask(session, args):
    return session.select(args.get("sele"))


def _kick_coor(session, args):
    from mainpy.model.perturb import kick_coordinates
    atoms = session.atoms
    mask = _mask(session, args)
    xyz = kick_coordinates(atoms.xyz, mask, args["kick"], args.get("seed"),
                           distribution(args))
    session.model.atoms = atoms.replace(xyz=xyz)
    session.echo(f" coordinates of {int(mask.sum())} atoms kicked by up to {args['kick']:g} A")


def _set_column(column, label):
    def action(session, args):
        import numpy as np
        atoms = session.atoms
        mask = _mask(session, args)
        for form in ("iso", "aniso"):
            if form in args:
                if "value" in args:
                    raise MainpyError(f"SET TEMP {form.upper()} takes no value: it changes "
                                      "the form of each atom's ADP, not its size")
                _make_form(session, atoms, mask, form)
                return
        if "kick" in args:
            from mainpy.model.perturb import kick_values
            new = kick_values(atoms.b, mask, args["kick"], args.get("seed"),
                              distribution(args), floor=0.0)
            session.model.atoms = atoms.replace(b=new)
            session.echo(f" B-values of {int(mask.sum())} atoms kicked by up to "
                         f"+/-{args['kick']:g}")
            return
        if "value" not in args:
            raise MainpyError(f"SET {label.upper()} needs a value (= v) or KICK r")
        v = float(args["value"]) if not isinstance(args["value"], float) else args["value"]
        if column == "occ" and not 0.0 <= v <= 1.0:
            raise MainpyError(f"an occupancy must lie between 0 and 1, not {v:g}")
        if column == "b" and v < 0:
            raise MainpyError(f"a B-value cannot be negative ({v:g})")
        new = getattr(atoms, column).copy()
        new[mask] = v
        arrays = {column: new}
        an = (atoms.aniso != 0).any(axis=1) & mask if column == "b" else None
        if an is not None and an.any():       # a B-value is isotropic
            arrays["aniso"] = atoms.aniso.copy()
            arrays["aniso"][an] = 0.0
        session.model.atoms = atoms.replace(**arrays)
        session.echo(f" {label} of {int(mask.sum())} atoms set to {v:g}"
                     + (f" ({int(an.sum())} anisotropic atoms now isotropic)"
                        if an is not None and an.any() else ""))
        del np
    return action


def _make_form(session, atoms, mask, form):
    """SET TEMP ISO: anisotropic atoms become isotropic, B = 8 pi^2 tr(U) / 3;
    SET TEMP ANISO: isotropic atoms become anisotropic, U = B / (8 pi^2) I."""
    from mainpy.refine.adp_params import make_anisotropic, make_isotropic
    if form == "iso":
        session.model.atoms, k = make_isotropic(atoms, mask)
        session.echo(f" {k} anisotropic atoms made isotropic (B = 8 pi^2 tr(U) / 3)")
    else:
        session.model.atoms, k = make_anisotropic(atoms, mask)
        session.echo(f" {k} isotropic atoms made anisotropic (U = B / (8 pi^2) I); "
                     "refine them with REFINE ... B-VALUES")


command("set", "coor", help="kick coordinates: random shifts of up to r A",
        clauses=(Clause("kick", (Real("r"),), help="largest shift in A"), _SEED, *_KINDS,
                 Sele()),
        needs=(("kick",),), exclusive=(DISTRIBUTIONS,), action=_kick_coor,
        examples=("set coor kick 0.2 sele all end", "set coor kick 0.5 seed 7"))
for _col, _word, _label in (("b", "temp", "B-value"), ("occ", "occu", "occupancy"),
                            ("weight", "weigh", "weight"), ("charge", "charge", "charge")):
    _clauses = (Sele(),)
    _help = f"set the {_label} of the selected atoms (all atoms without a selection)"
    if _word == "temp":
        _clauses = (Clause("kick", (Real("r"),), help="kick B-values by up to +/-r"), _SEED,
                    *_KINDS,
                    Clause("iso", help="make anisotropic atoms isotropic: B = 8 pi^2 tr(U)/3"),
                    Clause("aniso", help="make isotropic atoms anisotropic: U = B/(8 pi^2) I"),
                    Sele())
        _help += (", kick them, or change their form: isotropic (ISO) or anisotropic "
                  "(ANISO); a value makes anisotropic atoms isotropic")
    command("set", _word, help=_help, clauses=_clauses,
            exclusive=(DISTRIBUTIONS, ("iso", "aniso", "kick")),
            trail=(Real("value", optional=True, help="the new value"),),
            action=_set_column(_col, _label),
            examples=(f"set {_word} sele all end = 1.0",) + (
                ("set temp iso", "set temp aniso sele .not resi name HOH end")
                if _word == "temp" else ()))


def _set_vari(session, args):
    name = args["name"]
    if not name[0].isalpha() and name[0] != "_":
        raise MainpyError(f"a variable name starts with a letter: {name!r}")
    if "default" in args and name in session.variables:
        return
    session.variables[name] = args["value"]
    session.echo(f" {name} = {args['value']}", level=2)


def _check_vari(static, parsed):
    name = parsed.top.values.get("name")
    if name is not None:
        static.variables.add(name.text)


command("set", "vari", help="define or change a variable: set vari NAME = value",
        lead=(Name("name"), Value("value")),
        clauses=(Clause("default", help="only if NAME is not defined yet (a macro's default)"),),
        action=_set_vari, check=_check_vari,
        examples=("set vari DENS_SCAL = 800.", "set vari MODEL = my_model.pdb",
                  "set vari REF_STEPS = 60 default"))


def _set_debug(session, args):
    session.debug = args["state"] == "on"


command("set", "debug", help="show Python tracebacks for internal errors (ON|OFF)",
        lead=(Choice(*ON_OFF, name="state"),), action=_set_debug)


def _set_verbose(session, args):
    session.verbose = args["level"]


command("set", "verbose", help="how much to print: 0 quiet, 1 normal, 2 echo macro lines",
        lead=(Int("level"),), action=_set_verbose)
