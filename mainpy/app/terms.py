"""The energy terms switched on with ENER, as the minimizer's objective.

The session keeps each term's on/off, scale, map and target (`session.ener`); this module
turns them into targets: the restraint energy (its terms switched and scaled as ENER
says) and the data terms (X-ray, density map, difference map), each behind the one
`Target` interface, summed by `mainpy.refine.objective.Objective`.
"""

from __future__ import annotations

from mainpy.errors import ScienceError

#: the data terms of ENER (the others are restraint terms)
DATA_TERMS = ("xray", "dens", "diff", "em")


def apply_terms(session, energy):
    """Push the session's on/off and scales into a restraint Energy."""
    for t, st in session.ener.items():
        if t not in DATA_TERMS:
            energy.set_term(t, on=st["on"], scale=st["scale"])
    return energy


def need_energy(session):
    """The session's restraint energy with ENER's settings applied."""
    if session.energy is None:
        raise ScienceError("no restraints: build them with `define bond angle dihe impr by "
                           "topo` (after read coor; read mono PATH names a monomer library)")
    return apply_terms(session, session.energy)


def switch(session, term: str, on: bool = True, **settings) -> None:
    """Switch an ENER term on or off and set its scale / map / target (a new dict, so
    that a failed sentence's rollback keeps the old one)."""
    new = {k: dict(v) for k, v in session.ener.items()}
    new[term]["on"] = on
    new[term].update(settings)
    session.ener = new


def map_target(session, term: str):
    """The density (``dens``) or difference-map (``diff``) target on its map as it is now."""
    from mainpy.app.maps import get_map
    from mainpy.targets.density import DensityTarget, DifferenceMapTarget
    n = session.ener[term]["map"]
    if term == "dens" and n not in session.maps and n in session.em:
        from mainpy.em.mapfile import periodic_grid    # an EM map: real-space fit
        return DensityTarget(periodic_grid(session.em[n].full))
    grid = get_map(session, n)
    return (DensityTarget if term == "dens" else DifferenceMapTarget)(grid)


def xray_target(session, fmodel):
    """The X-ray target ENER XRAY ... TARGET names, on ``fmodel`` (re-phased in place by
    the run that owns it)."""
    kind = session.ener["xray"]["target"]
    if kind == "kick":             # ML with free-kick sigmaA (work set only)
        from mainpy.targets.free_kick import FreeKickMlTarget
        return FreeKickMlTarget(fmodel, session.atoms)
    from mainpy.targets.xray import xray_target as make
    return make(kind, fmodel)


def data_targets(session):
    """[(name, scale, Target)] for the data terms switched on with ENER."""
    out = []
    e = session.ener
    if e["xray"]["on"]:
        from mainpy.app.phasing import run_fmodel
        out.append(("xray", e["xray"]["scale"], xray_target(session, run_fmodel(session))))
    for t in ("dens", "diff"):
        if e[t]["on"]:
            out.append((t, e[t]["scale"], map_target(session, t)))
    if e.get("em", {}).get("on"):
        from mainpy.app.em import em_target
        out.append(("em", e["em"]["scale"], em_target(session)))
    return out


def build_objective(session):
    """The objective of every term that is on: restraints (weight 1) and the data terms
    (their ENER scales; the run's data weight multiplies them)."""
    from mainpy.refine.objective import Objective, Part, RestraintTarget
    parts = []
    restraints_on = any(st["on"] for t, st in session.ener.items() if t not in DATA_TERMS)
    if session.energy is None and restraints_on:
        raise ScienceError("no restraints: build them with `define bond angle dihe impr by "
                           "topo` (or switch them off with `ener all off` and the data "
                           "term on, to refine against data alone)")
    if session.energy is not None and restraints_on:
        session.energy.restart()     # contacts from this run's start: reproducible runs
        parts.append(Part("restraints", 1.0, RestraintTarget(apply_terms(session,
                                                                          session.energy))))
    for name, scale, target in data_targets(session):
        parts.append(Part(name, scale, target))
    if not parts:
        raise ScienceError("nothing to minimize: every term is off (ener bond on, ener xray "
                           "on, ener dens on map n, ...)")
    return Objective(parts)
