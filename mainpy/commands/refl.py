"""REFL and FOURIER: reflections, re-phasing (RE_PHASE), R-values; map <-> structure factors."""

from mainpy.errors import MainpyError, NotBuiltError, ScienceError
from mainpy.lang.registry import ON_OFF, Choice, Clause, Int, Name, Real, Sele, command

LATER = "named sets of reflections, a later issue"


# ---------------------------------------------------------------------------- shared helpers

def data_in_use(session):
    """The reflections within the REFL RESO limits (all of them without limits)."""
    from mainpy.xtal.reflections import select_resolution
    refl = session.reflections
    if refl is None:
        raise ScienceError("no reflections: read them first (read refl file data.mtz)")
    lo, hi = session.xtal.get("reso", (None, None))
    return refl if lo is None and hi is None else select_resolution(refl, hi, lo)


def new_fmodel(session):
    """A fresh Fmodel (Fcalc, bulk-solvent mask, scales) of the current model and data."""
    from mainpy.xtal.fmodel import Fmodel
    model = session.need_model()
    refl = data_in_use(session)
    return Fmodel(refl, model.atoms, model_cell=model.cell, model_spacegroup=model.spacegroup,
                  model_source=model.path or "the model",
                  bulk_solvent=session.xtal["solv_flat"], aniso=session.xtal["aniso"])


def set_r_variables(session, fm):
    rw, rf = fm.r_factors()
    session.variables["R_WORK"] = round(rw, 6)
    session.variables["R_FREE"] = round(rf, 6)


def _fmodel_key(session):
    x = session.xtal
    return (id(session.reflections), id(session.model), x["reso"], x["solv_flat"], x["aniso"])


def rephase(session, cold: bool = False):
    """RE_PHASE: Fcalc of the current model, bulk-solvent mask, scales; sets R_WORK/R_FREE.

    With the same data, model and settings as the last RE_PHASE, the scale fit starts
    from the last scales (a warm start) on a shallow copy of the last Fmodel: update()
    replaces its arrays, so the one a failed sentence leaves behind is never touched.
    ``cold`` fits the scales from scratch (the same figures as any fresh fit of this
    model: a warm start may end up to ~5e-4 in R away after a large change)."""
    import copy
    key = _fmodel_key(session)
    old = session.fmodel
    if not cold and old is not None and getattr(old, "session_key", None) == key:
        fm = copy.copy(old).update(session.atoms)
    else:
        fm = new_fmodel(session)
    fm.session_key = key
    session.fmodel = fm
    set_r_variables(session, fm)
    return fm


def run_fmodel(session):
    """An Fmodel of the current model for a minimization to re-phase in place: a shallow
    copy of the last RE_PHASE's when data, model and settings are the same (updated
    warm if the atoms moved since), else a new one."""
    import copy

    from mainpy.xtal.fmodel import atoms_key
    old = session.fmodel
    if old is None or getattr(old, "session_key", None) != _fmodel_key(session):
        fm = new_fmodel(session)
        fm.session_key = _fmodel_key(session)
        return fm
    fm = copy.copy(old)
    if getattr(old, "atoms_key", None) != atoms_key(session.atoms):
        fm.update(session.atoms)
    return fm


def need_fmodel(session):
    """The Fmodel of the last RE_PHASE (made now if there is none yet)."""
    if session.fmodel is None:
        rephase(session)
    return session.fmodel


def _fmt(x, spec=".4f"):
    import math
    return "   -   " if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def print_r_values(session, fm):
    rows = fm.shells(session.xtal["shel"])
    st = fm.statistics()
    session.echo(f" {'d_max':>7} {'d_min':>6} {'work':>6} {'free':>5} {'compl':>6} "
                 f"{'F/sigF':>7} {'R-work':>7} {'R-free':>7}")
    for r in rows:
        session.echo(f" {r['d_max']:7.2f} {r['d_min']:6.2f} {r['n_work']:6d} {r['n_free']:5d} "
                     f"{r['completeness']:6.3f} {r['f_over_sigma']:7.1f} "
                     f"{_fmt(r['r_work']):>7} {_fmt(r['r_free']):>7}")
    session.echo(f" {st['d_max']:7.2f} {st['d_min']:6.2f} {st['work']:6d} {st['free']:5d} "
                 f"{st['completeness']:6.3f} {st['f_over_sigma']:7.1f} "
                 f"{_fmt(st['r_work']):>7} {_fmt(st['r_free']):>7}  all")


def _report_phase(session, fm):
    sc = fm.scales
    rw, rf = fm.r_factors()
    extra = ""
    if sc is not None:
        extra = f"  (bulk solvent {'on' if fm.bulk_solvent else 'off'}, " \
                f"anisotropic scale {'on' if fm.aniso else 'off'}, B_iso {sc.b_iso:.1f})"
    session.echo(f" RE_PHASE: R-work {rw:.4f}  R-free {_fmt(rf)}  "
                 f"{int(fm.refl.observed.sum())} observed reflections{extra}")


# ---------------------------------------------------------------------------- REFL

def _refl(session, args):
    x = session.xtal
    for name, v in args.items():
        if name == "shel":
            if v < 1:
                raise MainpyError("REFL SHEL needs at least 1 shell")
            x["shel"] = v
        elif name == "reso":
            lo, hi = max(v), min(v)
            if hi <= 0:
                raise MainpyError("resolution limits are positive distances in A")
            x["reso"] = (lo, hi)
            session.fmodel = None
            session.echo(f" resolution {lo:g} - {hi:g} A")
        elif name in ("solv_flat", "aniso"):
            x[name] = v == "on"
            session.fmodel = None
        elif name == "weights":
            x["weights"] = v
        elif name == "kick":
            _kicked_phase(session, v)
        elif name in ("key", "sele"):
            raise NotBuiltError(f"REFL {name.upper()} is not built yet (it comes with {LATER});"
                                " nothing was changed")
    for name in args.names():
        if name == "show":
            _show_data(session)
        elif name == "phase":
            _report_phase(session, rephase(session))
        elif name == "r_value":
            print_r_values(session, need_fmodel(session))


def _kicked_phase(session, kick):
    """REFL KICK = r [SEED s]: RE_PHASE from a copy of the model kicked by up to r A (the
    model itself does not move); maps and R-values then use the kicked model's Fmodel."""
    from mainpy.model.kick import kick_coordinates
    from mainpy.xtal.fmodel import Fmodel
    r = kick["r"]
    if r < 0:
        raise MainpyError(f"a kick amplitude cannot be negative ({r:g})")
    model = session.need_model()
    atoms = model.atoms
    kicked = atoms.replace(xyz=kick_coordinates(atoms.xyz, session.select(None), r,
                                                kick.get("seed")))
    fm = Fmodel(data_in_use(session), kicked, model_cell=model.cell,
                model_spacegroup=model.spacegroup, model_source=model.path or "the model",
                bulk_solvent=session.xtal["solv_flat"], aniso=session.xtal["aniso"])
    session.fmodel = fm
    set_r_variables(session, fm)
    rw, rf = fm.r_factors()
    session.echo(f" RE_PHASE of the model kicked by up to {r:g} A: R-work {rw:.4f}  "
                 f"R-free {_fmt(rf)} (the model itself is unchanged)")


def _show_data(session):
    refl = data_in_use(session)
    st = refl.summary()
    lab = refl.labels
    kind = "intensities (French-Wilson amplitudes)" if refl.french_wilson else "amplitudes"
    session.echo(f" {refl.source}: {st['n']} reflections, {st['observed']} observed "
                 f"({kind}: {', '.join(f'{k} {v}' for k, v in lab.items())})")
    session.echo(f" resolution {st['d_max']:.2f} - {st['d_min']:.2f} A; work {st['work']}, "
                 f"free {st['free']} ({100 * st['free_fraction']:.1f}%)")
    x = session.xtal
    session.echo(f" shells {x['shel']}, bulk solvent {'on' if x['solv_flat'] else 'off'}, "
                 f"anisotropic scale {'on' if x['aniso'] else 'off'}, weights {x['weights']}")


command("refl", help="reflection settings, RE_PHASE, R-values",
        clauses=(Clause("shel", (Int("n"),), help="number of resolution shells for statistics"),
                 Clause("reso", (Real("lo"), Real("hi")), help="resolution limits in A"),
                 Clause("phase", help="RE_PHASE: Fcalc, bulk solvent, scaling, R"),
                 Clause("r-value", help="R-work and R-free, overall and per shell"),
                 Clause("solv_flat", (Choice(*ON_OFF, name="state"),),
                        help="flat bulk-solvent correction (default on)"),
                 Clause("aniso", (Choice(*ON_OFF, name="state"),),
                        help="overall anisotropic scaling (default on)"),
                 Clause("weights", (Choice("constant", "sigma", "a_sigma"),),
                        help="reflection weights of the X-ray target"),
                 Clause("show", help="print the reflection data summary"),
                 Clause("key", (Name("name"),), help="name a set of reflections"),
                 Sele(help="reflections (with KEY)"),
                 Clause("kick", (Real("r"),), sub=(Clause("seed", (Int("s"),),
                                                          help="random seed"),),
                        help="RE_PHASE from a copy of the model kicked by up to r A")),
        needs=(("shel", "reso", "phase", "r_value", "solv_flat", "aniso", "weights", "show",
                "key", "kick"),),
        action=_refl, examples=("refl shel 15", "refl phase", "refl r-value",
                                "refl reso 30 2.0 solv_flat on aniso on phase"))


# ---------------------------------------------------------------------------- FOURIER

def _fourier(session, args):
    import numpy as np

    from mainpy.commands.maps import get_map, grid_shape_for, put_map
    from mainpy.xtal.maps import coefficients_to_map, map_to_coefficients
    refl = data_in_use(session)
    n = args["map"]
    keep = np.ones(len(refl), bool)
    if "reso" in args:
        lo, hi = max(args["reso"]), min(args["reso"])
        keep = (refl.d >= hi) & (refl.d <= lo)
    if "forward" in args:
        coef = map_to_coefficients(get_map(session, n), refl.hkl)
        coef[~keep] = 0
        session.map_coefficients = coef
        session.echo(f" map {n} -> {int(keep.sum())} structure factors")
    else:
        if session.map_coefficients is None or len(session.map_coefficients) != len(refl):
            raise ScienceError("no structure factors to transform: FOURIER MAP m FORWARD "
                               "first")
        coef = np.where(keep, session.map_coefficients, 0)
        kind = next((k for k in ("fobs", "fofc") if k in args), None)
        if kind is not None:            # Fobs (or Fobs - k|F|) with the phases of F
            from mainpy.xtal.denscomb import combined_coefficients
            coef = np.where(keep, combined_coefficients(refl, coef, kind), 0)
        grid = coefficients_to_map(refl.hkl, coef, refl.cell, refl.spacegroup,
                                   shape=grid_shape_for(session))
        put_map(session, n, grid)
        what = {"fobs": "Fobs amplitudes with their phases", "fofc":
                "Fobs - k|F| with their phases"}.get(kind, "structure factors")
        session.echo(f" {int(keep.sum())} {what} -> map {n}")


command("fourier", help="Fourier-transform map n to structure factors or back",
        clauses=(Clause("map", (Int("n"),), help="the map"),
                 Clause("forward", help="map -> structure factors"),
                 Clause("backward", help="structure factors -> map"),
                 Clause("fobs", help="BACKWARD with Fobs amplitudes and the phases of the "
                                     "structure factors (density combination's MAP_FO)"),
                 Clause("fofc", help="BACKWARD with Fobs - k|F| and the phases of F (the "
                                     "difference map MAP_FOFC)"),
                 Clause("reso", (Real("lo"), Real("hi")), help="resolution limits in A")),
        needs=(("map",), ("forward", "backward")),
        exclusive=(("forward", "backward"), ("forward", "fobs"), ("forward", "fofc"),
                   ("fobs", "fofc")),
        action=_fourier,
        examples=("fourier map MAP_WORK forward", "fourier map MAP_FO backward fobs",
                  "fourier map MAP_FOFC backward fofc"))
