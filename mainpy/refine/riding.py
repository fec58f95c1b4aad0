"""Riding hydrogens: each H follows its parent atom instead of being refined.

A riding H is no parameter of the minimizer. Between re-placements it moves with its
parent by the parent's translation (x_H = x_H0 + x_P - x_P0), takes the parent's B times
`H_B_FACTOR` (B_eq of an anisotropic parent) and the parent's occupancy; the gradient of
every target with respect to the H is added to its parent's by the chain rule of those
maps, so the objective of the heavy atoms is exact. At the start of every segment of a
minimization the H are put back where their parent's heavy neighbours say (`Placement`)
and then at the geometry their restraints ask for (`place_by_restraints`), as REFMAC and
servalcat regenerate them, so that the rotation of a group about its parent never
accumulates and no H is left on the wrong side of its parent. In the B similarity
restraint a riding H counts with its parent's B (`Energy.set_riding`).
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


#: half the H-X-H angle of a methylene (CH2 between two heavy atoms; ideal ~107-109 deg)
_CH2_HALF_ANGLE = np.radians(54.5)


class Placement:
    """Where each riding H belongs, from its parent's heavy neighbours alone.

    A minimization of the H against their restraints started from where they were keeps
    an H on the wrong side of its parent when the parent's neighbours moved through it
    (a start far off: an HA left behind when a CA's chirality is set right, an aromatic
    H left above its ring); its angle restraints then hold the heavy atoms in a distorted
    geometry that no data weight frees. So each H is first put where its heavy
    neighbours say, as REFMAC and gemmi place them: opposite the sum of the bond
    directions for one H on a parent with three heavy neighbours (CA-HA, CB-HB of Thr,
    Val, Ile) or with two (aromatic CH, peptide NH: in their plane where a plane restraint
    holds them; elsewhere the out-of-plane part it had is kept), and the two H of a CH2 / NH2 with two
    heavy neighbours either side of that plane, each on the side it was. H on a parent
    with one heavy neighbour (methyl, hydroxyl, amide NH2: their rotation is free) keep
    their place. The restraints then finish the job from there (`place_by_restraints`).
    """

    def __init__(self, atoms, restraints, parent: np.ndarray):
        hyd = is_hydrogen(atoms)
        b = restraints.bond_idx[restraints.bond_sym < 0]
        b = np.concatenate([b, b[:, ::-1]])
        heavy = b[~hyd[b[:, 0]] & ~hyd[b[:, 1]]]
        nbrs: dict[int, list[int]] = {}
        for p, q in np.unique(heavy, axis=0):
            nbrs.setdefault(int(p), []).append(int(q))
        ideal = {}
        for (i, j), d in zip(restraints.bond_idx, restraints.bond_ideal):
            if parent[i] == j or parent[j] == i:
                ideal[int(i) if parent[i] == j else int(j)] = float(d)
        riders: dict[int, list[int]] = {}
        for h in np.flatnonzero(parent >= 0):
            riders.setdefault(int(parent[h]), []).append(int(h))
        planes = [set(restraints.plane_atoms[a:b].tolist()) for a, b in
                  zip(restraints.plane_start[:-1], restraints.plane_start[1:])]
        one, two, flat = [], [], []
        for p, hs in riders.items():
            nb = nbrs.get(p, [])
            if len(hs) == 1 and len(nb) in (2, 3):
                one.append((hs[0], p, nb[0], nb[1], nb[2] if len(nb) == 3 else -1))
                group = {hs[0], p, *nb}
                flat.append(len(nb) == 2 and any(group <= pl for pl in planes))
            elif len(hs) == 2 and len(nb) == 2:
                two.append((hs[0], hs[1], p, nb[0], nb[1]))
        self.one = np.array(one, np.int64).reshape(-1, 5)
        self.flat = np.array(flat, bool)        # in a plane restraint with its neighbours
        self.two = np.array(two, np.int64).reshape(-1, 5)
        # the X-H length of each H's bond restraint (NaN: none; it keeps its length)
        self.d_one = np.array([ideal.get(int(h), np.nan) for h in self.one[:, 0]])
        self.d_two = np.array([ideal.get(int(h), np.nan) for h in self.two[:, :2].ravel()]
                              ).reshape(-1, 2)

    def __call__(self, xyz: np.ndarray) -> np.ndarray:
        """The coordinates with the H placed (a new array)."""
        out = np.array(xyz, float)
        if len(self.one):
            h, p, n1, n2, n3 = self.one.T
            u1, u2 = _unit(out[n1] - out[p]), _unit(out[n2] - out[p])
            u3 = np.where((n3 >= 0)[:, None], _unit(out[np.maximum(n3, 0)] - out[p]), 0.0)
            away = _unit(-(u1 + u2 + u3))
            # two neighbours, not in a plane restraint (a pyramidal parent): the normal
            # part of where the H was is kept
            normal = _unit(np.cross(u1, u2))
            was = _unit(out[h] - out[p])
            off = np.where((n3 >= 0) | self.flat, 0.0, np.sum(was * normal, axis=1))
            v = _unit(away * np.sqrt(np.clip(1.0 - off ** 2, 0.0, 1.0))[:, None]
                      + normal * off[:, None])
            out[h] = out[p] + v * _length(self.d_one, out[h] - out[p])[:, None]
        if len(self.two):
            h1, h2, p, n1, n2 = self.two.T
            u1, u2 = _unit(out[n1] - out[p]), _unit(out[n2] - out[p])
            away = _unit(-(u1 + u2))
            normal = _unit(np.cross(u1, u2))
            side = np.where(np.sum((out[h1] - out[h2]) * normal, axis=1) >= 0, 1.0, -1.0)
            c, s = np.cos(_CH2_HALF_ANGLE), np.sin(_CH2_HALF_ANGLE)
            d1 = _length(self.d_two[:, 0], out[h1] - out[p])[:, None]
            d2 = _length(self.d_two[:, 1], out[h2] - out[p])[:, None]
            out[h1] = out[p] + (c * away + s * side[:, None] * normal) * d1
            out[h2] = out[p] + (c * away - s * side[:, None] * normal) * d2
        return out


def _length(ideal: np.ndarray, now: np.ndarray) -> np.ndarray:
    """The ideal X-H lengths, the present one where there is none."""
    return np.where(np.isfinite(ideal), ideal, np.linalg.norm(now, axis=1))


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def place_by_restraints(energy, steps: int = 30, placement: Placement | None = None):
    """A `place` function: the H put where their parents' neighbours say (`placement`,
    when given), then the H alone minimized against the restraints (bonds, angles,
    planes, chirality and contacts of the topology), the heavy atoms fixed."""
    def place(atoms):
        from mainpy.refine.driver import regularize
        hyd = is_hydrogen(atoms)
        if not hyd.any():
            return atoms
        if placement is not None:
            atoms = atoms.replace(xyz=placement(atoms.xyz))
        return regularize(atoms, energy, moving=hyd, steps=steps).atoms
    return place
