"""Riding hydrogens: each H follows its parent atom instead of being refined.

A riding H is no parameter of the minimizer. Between re-placements it moves with its
parent by the parent's translation (x_H = x_H0 + x_P - x_P0), takes the parent's B times
`H_B_FACTOR` (B_eq of an anisotropic parent) and the parent's occupancy; the gradient of
every target with respect to the H is added to its parent's by the chain rule of those
maps, so the objective of the heavy atoms is exact. At the start of every segment of a
minimization the H are put back at the geometry their restraints ask for (`place`), as
REFMAC and servalcat regenerate them, so that the rotation of a group about its parent
never accumulates.
"""

from __future__ import annotations

import numpy as np

#: B of a riding H relative to its parent's (SHELXL's AFIX and phenix use 1.2 for most
#: H; methyl and hydroxyl H get 1.5 there, one factor here)
H_B_FACTOR = 1.2
EIGHT_PI2 = 8.0 * np.pi ** 2


def is_hydrogen(atoms) -> np.ndarray:
    """Boolean (n,): hydrogen and deuterium atoms."""
    return np.isin(np.char.upper(np.asarray(atoms.element).astype(str)), ("H", "D"))


def parents(atoms, bond_idx: np.ndarray) -> np.ndarray:
    """(n,) row of each hydrogen's parent (the heavy atom it is bonded to in the
    restraints), -1 for heavy atoms and for hydrogens bonded to no heavy atom."""
    hyd = is_hydrogen(atoms)
    out = np.full(len(hyd), -1, np.int64)
    b = np.asarray(bond_idx, np.int64).reshape(-1, 2)
    for a, p in ((b[:, 0], b[:, 1]), (b[:, 1], b[:, 0])):
        pick = hyd[a] & ~hyd[p]
        out[a[pick]] = p[pick]
    return out


class Riding:
    """The riding H of one model (rows and their parents) and how they are placed.

    ``place(atoms) -> atoms`` puts the H at their ideal geometry (None: they keep where
    they are at the start of each segment)."""

    def __init__(self, parent: np.ndarray, place=None, b_factor: float = H_B_FACTOR):
        self.parent = np.asarray(parent, np.int64)
        self.place = place
        self.b_factor = float(b_factor)

    def riders(self, moving: np.ndarray) -> np.ndarray:
        """Rows of the H that ride on a moving parent."""
        moving = np.asarray(moving, bool)
        has = self.parent >= 0
        return np.flatnonzero(has & moving[np.where(has, self.parent, 0)])

    def riding_mask(self) -> np.ndarray:
        """Boolean (n,): every H with a parent (moving or not): never a parameter."""
        return self.parent >= 0

    # -------------------------------------------------------------- the maps
    def b_of_parents(self, b: np.ndarray, aniso: np.ndarray, rows: np.ndarray) -> np.ndarray:
        p = self.parent[rows]
        u = aniso[p]
        beq = EIGHT_PI2 * u[:, :3].sum(axis=1) / 3.0
        return self.b_factor * np.where(u.any(axis=1), beq, b[p])

    def ride(self, new, base, rows: np.ndarray, params) -> dict:
        """The arrays of `new` with the riders at `rows` put on their parents (relative to
        `base`, the atoms at the start of the segment)."""
        p = self.parent[rows]
        out = {}
        if "xyz" in params:
            xyz = new.xyz.copy()
            xyz[rows] = base.xyz[rows] + (new.xyz[p] - base.xyz[p])
            out["xyz"] = xyz
        if "b" in params:
            b = new.b.copy()
            b[rows] = self.b_of_parents(new.b, new.aniso, rows)
            out["b"] = b
            if new.aniso[rows].any():
                aniso = new.aniso.copy()
                aniso[rows] = 0.0
                out["aniso"] = aniso
        if "occ" in params:
            occ = new.occ.copy()
            occ[rows] = new.occ[p]
            out["occ"] = occ
        return out

    def fold(self, grad: dict, atoms, rows: np.ndarray) -> dict:
        """The gradient with each rider's part moved onto its parent (the chain rule of
        `ride`); the riders' own entries are zero afterwards."""
        if not len(rows):
            return grad
        p = self.parent[rows]
        out = dict(grad)
        for key in ("xyz", "occ"):          # x_H and q_H follow x_P and q_P one to one
            if grad.get(key) is not None:
                g = grad[key].copy()
                np.add.at(g, p, g[rows])
                g[rows] = 0.0
                out[key] = g
        gb = grad.get("b")
        if gb is not None:
            gb = gb.copy()
            gh = gb[rows] * self.b_factor
            gb[rows] = 0.0
            an = atoms.aniso[p].any(axis=1)
            np.add.at(gb, p[~an], gh[~an])
            if an.any():
                gu = grad.get("aniso")
                gu = np.zeros_like(atoms.aniso) if gu is None else gu.copy()
                for k in range(3):
                    np.add.at(gu[:, k], p[an], gh[an] * EIGHT_PI2 / 3.0)
                out["aniso"] = gu
            out["b"] = gb
        return out


def place_by_restraints(energy, steps: int = 30):
    """A `place` function: the H alone minimized against the restraints (bonds,
    angles, planes, chirality and contacts of the topology), the heavy atoms fixed."""
    def place(atoms):
        from mainpy.refine.driver import regularize
        hyd = is_hydrogen(atoms)
        if not hyd.any():
            return atoms
        return regularize(atoms, energy, moving=hyd, steps=steps).atoms
    return place
