"""REFL and FOURIER: reflections, re-phasing (RE_PHASE), R-values; map <-> structure factors."""

from mainpy.app.phasing import (R_VARIABLES, current_r_variables, data_in_use, need_fmodel,
                                rephase)
from mainpy.app.reports import data_lines, fmt, phase_line, r_value_lines
from mainpy.errors import MainpyError, NotBuiltError, ScienceError
from mainpy.lang.registry import (ON_OFF, Choice, Clause, Int, Name, Real, Sele, command,
                                  derived_variables)

derived_variables(R_VARIABLES, current_r_variables)

LATER = ("mainpy has no named sets of reflections: every reflection in the resolution "
         "limits is used, with the free set the data file flags; to use fewer, narrow the "
         "limits with REFL RESO lo hi")


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
            if lo == hi:
                raise MainpyError(f"REFL RESO needs a range: two different limits in A "
                                  f"(got {lo:g} twice), e.g. refl reso 30 {hi:g}")
            x["reso"] = (lo, hi)
            session.fmodel = None
            _rescreen(session)
            session.echo(f" resolution {lo:g} - {hi:g} A")
        elif name in ("solv_flat", "aniso"):
            x[name] = v == "on"
            session.fmodel = None
        elif name == "outliers":
            x["outliers"] = v == "on"
            session.fmodel = None
            _rescreen(session)
            session.echo(" outliers: screened against the model at the next RE_PHASE"
                         if v == "on" else " outliers: none rejected, every observed "
                         "reflection used")
        elif name == "weights":
            x["weights"] = v
        elif name == "kick":
            _kicked_phase(session, v)
        elif name == "free":
            from mainpy.app.files import make_free_set
            from mainpy.xtal.reflections import GENERATED_FREE_FRACTION
            refl = session.reflections
            if "missing" in v and refl is not None and refl.test.any():
                session.echo(f" the data have a test set ({int(refl.test.sum())} "
                             "reflections): kept")
                continue
            refl = make_free_set(session, v.get("fraction", GENERATED_FREE_FRACTION), v.get("seed", 0))
            session.echo(f" {refl.free_note}")
        elif name in ("key", "sele"):
            raise NotBuiltError(f"REFL {name.upper()} is not built yet: {LATER}; "
                                "nothing was changed")
    for name in args.names():
        if name == "show":
            for line in data_lines(session):
                session.result(line)
        elif name == "phase":
            session.result(phase_line(rephase(session)))
        elif name == "r_value":
            for line in r_value_lines(need_fmodel(session), session.xtal["shel"]):
                session.result(line)


def _rescreen(session):
    """The outliers screened anew at the next RE_PHASE (the model or the limits are not
    those they were judged with)."""
    from dataclasses import replace
    if session.reflections is not None and session.reflections.outliers is not None:
        session.reflections = replace(session.reflections, outliers=None, outlier_note="")


def _kicked_phase(session, kick):
    """REFL KICK = r [SEED s]: RE_PHASE from a copy of the model kicked by up to r A (the
    model itself does not move); maps and R-values then use the kicked model's Fmodel."""
    from mainpy.app.phasing import kicked_rephase
    r = kick["r"]
    if r < 0:
        raise MainpyError(f"a kick amplitude cannot be negative ({r:g})")
    fm = kicked_rephase(session, r, kick.get("seed"))
    rw, rf = fm.r_factors()
    session.result(f" RE_PHASE of the model kicked by up to {r:g} A: R-work {rw:.4f}  "
                   f"R-free {fmt(rf)} (the model itself is unchanged)")


command("refl", help="reflection settings, RE_PHASE, R-values",
        clauses=(Clause("shel", (Int("n"),), help="number of resolution shells for statistics"),
                 Clause("reso", (Real("lo"), Real("hi")), help="resolution limits in A"),
                 Clause("phase", help="RE_PHASE: Fcalc, bulk solvent, scaling, R"),
                 Clause("r-value", help="R-work and R-free, overall and per shell"),
                 Clause("solv_flat", (Choice(*ON_OFF, name="state"),),
                        help="flat bulk-solvent correction (default on)"),
                 Clause("aniso", (Choice(*ON_OFF, name="state"),),
                        help="overall anisotropic scaling (default on)"),
                 Clause("outliers", (Choice(*ON_OFF, name="state"),),
                        help="reject amplitudes the model makes improbable, Read 1999 "
                             "(default on; ON judges again with the model in hand)"),
                 Clause("weights", (Choice("constant", "sigma", "a_sigma"),),
                        help="reflection weights of the X-ray target"),
                 Clause("show", help="print the reflection data summary"),
                 Clause("key", (Name("name"),), help="name a set of reflections"),
                 Sele(help="reflections (with KEY)"),
                 Clause("kick", (Real("r"),), sub=(Clause("seed", (Int("s"),),
                                                          help="random seed"),),
                        help="RE_PHASE from a copy of the model kicked by up to r A"),
                 Clause("free", (Choice("generate", name="what"),),
                        sub=(Clause("fraction", (Real("f"),),
                                    help="fraction of the reflections (default 0.05)"),
                             Clause("seed", (Int("s"),), help="random seed (default 0)"),
                             Clause("missing", help="only if the data have no test set "
                                                    "(else theirs is kept)")),
                        help="make a test set for data that have none (written with the "
                             "data as FREE, 0 = free)")),
        needs=(("shel", "reso", "phase", "r_value", "solv_flat", "aniso", "outliers",
                "weights", "show", "key", "kick", "free"),),
        action=_refl, examples=("refl shel 15", "refl phase", "refl r-value",
                                "refl free generate fraction 0.05 seed 1",
                                "refl reso 30 2.0 solv_flat on aniso on phase"))


# ---------------------------------------------------------------------------- FOURIER

def _fourier(session, args):
    import numpy as np

    from mainpy.app.maps import get_map, grid_shape_for, put_map
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
