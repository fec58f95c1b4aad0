"""Geometry minimization: restraint energy alone, L-BFGS over the moving atoms' xyz.

Atoms outside the moving mask are fixed background: they still take part in restraints
and contacts but are not changed. One step is one energy+gradient evaluation (MAIN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mainpy.errors import InputError
from mainpy.lbfgs import Lbfgs


@dataclass
class MinimizeResult:
    atoms: object            # the Atoms with minimized xyz (a new object)
    energy_start: float
    energy_end: float
    steps: int               # energy+gradient evaluations used
    converged: bool
    message: str


def minimize_geometry(atoms, energy, moving_mask=None, steps: int = 200,
                      callback=None) -> MinimizeResult:
    """Minimize `energy` over the xyz of atoms in `moving_mask` (all if None).

    `callback(step, energy, xyz)` is called after each evaluation; returning True stops
    the minimization after that step (the last accepted coordinates are kept).
    """
    n = len(atoms)
    mask = np.ones(n, bool) if moving_mask is None else np.asarray(moving_mask, bool)
    if mask.shape != (n,):
        raise InputError(f"the moving selection has {mask.size} entries for {n} atoms")
    moving = np.flatnonzero(mask)
    xyz0 = np.array(atoms.xyz, float)
    e_start = energy(xyz0)[0]
    if len(moving) == 0 or steps <= 0:
        return MinimizeResult(atoms.replace(xyz=xyz0), e_start, e_start, 0, True,
                              "nothing to move")
    work = xyz0.copy()
    best = {"e": e_start, "x": xyz0[moving].copy()}
    count = {"n": 0}

    class _Stop(Exception):
        pass

    def fg(x):
        work[moving] = x.reshape(-1, 3)
        e, g = energy(work)
        count["n"] += 1
        if e < best["e"]:
            best["e"] = e
            best["x"] = x.reshape(-1, 3).copy()
        if callback is not None and callback(count["n"], e, work):
            raise _Stop("stopped on request")
        if count["n"] >= steps:
            raise _Stop(f"{steps} steps done")
        return e, g[moving].ravel()

    try:
        res = Lbfgs(memory=20).minimize(fg, xyz0[moving].ravel(), max_iter=steps,
                                        gtol=1e-8, ftol=1e-12)
        converged, message = res.converged, res.message
    except _Stop as stop:
        converged, message = False, str(stop)
    out = xyz0.copy()
    out[moving] = best["x"]
    return MinimizeResult(atoms.replace(xyz=out), e_start, best["e"], count["n"],
                          converged, message)
