"""Non-bonded contacts: neighbour list with crystal symmetry, and their target distances.

Pairs are found by a cell list over the model and the symmetry images near it (every
space-group operation and lattice shift whose image comes within the cutoff of the model),
each contact counted once per asymmetric unit. The list keeps pairs closer than their
target distance plus a skin and is rebuilt when an atom has moved more than half the skin
since the last build (Verlet list).

Target distances follow Refmac (servalcat's reimplementation of vdw_and_contacts.f):
sum of ener_lib vdW radii; 1-4 pairs (three bonds apart) reduced by 0.1 (N, O) or 0.15
(C, others) per atom; H-bond donor/acceptor pairs reduced by 0.3; metal pairs use the sum
of ionic radii; esd 0.2 A. 1-2 and 1-3 pairs are excluded, as are atoms of different
alternate conformations and, outside one residue's conformer, pairs whose occupancies sum
to at most 1.
"""

from __future__ import annotations

import itertools

import numpy as np

VDW_ESD = 0.2
HBOND_INCREMENT = -0.3
TORSION_INCREMENT = {"O": -0.1, "N": -0.1, "C": -0.15}
TORSION_INCREMENT_OTHER = -0.15
#: a contact of an atom with its own image closer than this is a special position
SPECIAL_POSITION_CUTOFF = 1.2
MAX_TARGET = 4.0


def _extend(walk_end: np.ndarray, indptr: np.ndarray, nbr: np.ndarray):
    """Every one-bond extension of walks ending at `walk_end`: (walk index, next atom)."""
    deg = indptr[walk_end + 1] - indptr[walk_end]
    which = np.repeat(np.arange(len(walk_end)), deg)
    first = np.repeat(indptr[walk_end] - (np.cumsum(deg) - deg), deg)
    return which, nbr[first + np.arange(len(which))]


def graph_pairs(bond_idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys i*n+j (i<j) of atom pairs 1, 2 or 3 bonds apart, and that distance.

    Pairs joined by two or more different 3-bond paths (across a six-membered ring) are
    given distance 2: their separation is fixed by the ring's bonds and angles, so they
    are excluded like 1-3 pairs instead of being pushed apart as 1-4 pairs.
    """
    if len(bond_idx) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int8)
    b = np.unique(np.sort(np.asarray(bond_idx, np.int64), axis=1), axis=0)
    b = b[b[:, 0] != b[:, 1]]
    src = np.r_[b[:, 0], b[:, 1]]                     # both directions of every bond
    dst = np.r_[b[:, 1], b[:, 0]]
    order = np.argsort(src, kind="stable")
    nbr = dst[order]
    indptr = np.zeros(n + 1, np.int64)
    np.add.at(indptr, src + 1, 1)
    indptr = np.cumsum(indptr)
    # walks i-j-k (k != i), then i-j-k-l (l != j): no backtracking, so a pair at
    # distance 3 is reached once by each path between them
    w, k = _extend(dst, indptr, nbr)
    keep = k != src[w]
    i2, j2, k2 = src[w][keep], dst[w][keep], k[keep]
    w, l3 = _extend(k2, indptr, nbr)
    keep = (l3 != j2[w]) & (l3 != i2[w])
    i3, l3 = i2[w][keep], l3[keep]
    key1 = b[:, 0] * n + b[:, 1]
    up = i2 < k2
    key2 = np.setdiff1d(i2[up] * n + k2[up], key1)
    up = i3 < l3
    key3, paths = np.unique(i3[up] * n + l3[up], return_counts=True)
    far = ~np.isin(key3, np.r_[key1, key2])
    key3, paths = key3[far], paths[far]
    keys = np.r_[key1, key2, key3]
    dist = np.r_[np.full(len(key1), 1, np.int8), np.full(len(key2), 2, np.int8),
                 np.where(paths >= 2, 2, 3).astype(np.int8)]
    order = np.argsort(keys)
    return keys[order], dist[order]


def symmetry_ops(cell, spacegroup) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fractional (R, t) of every space-group operation (identity first); [] without a cell."""
    if cell is None or spacegroup is None or not cell.is_crystal():
        return []
    ops = []
    for op in spacegroup.operations():
        s = np.array(op.float_seitz())
        ops.append((s[:3, :3], s[:3, 3]))
    ops.sort(key=lambda rt: not (np.allclose(rt[0], np.eye(3)) and np.allclose(rt[1], 0)))
    return ops


def symmetry_images(xyz, cell, fops, cutoff):
    """Images of the model that come within `cutoff` of it.

    Returns (ops (k,3,4) orthogonal, keep_self (k,) weight for an atom's contact with its
    own image (0 drop, 1 keep, 0.5 two-fold), lists of atom rows of each image).
    """
    if not fops:
        return np.zeros((0, 3, 4)), np.zeros(0), []
    orth = np.array(cell.orth.mat.tolist())
    frac = np.array(cell.frac.mat.tolist())
    f = xyz @ frac.T
    margin = cutoff * np.linalg.norm(frac, axis=1)
    lo = f.min(0) - margin
    hi = f.max(0) + margin
    keys, ops, members = [], [], []
    for k, (rf, tf) in enumerate(fops):
        fk = f @ rf.T + tf
        lmin = np.ceil(lo - fk.max(0)).astype(int)
        lmax = np.floor(hi - fk.min(0)).astype(int)
        for shift in itertools.product(*(range(a, b + 1) for a, b in zip(lmin, lmax))):
            if k == 0 and shift == (0, 0, 0):
                continue
            g = fk + np.array(shift)
            inside = np.flatnonzero(np.all((g >= lo) & (g <= hi), axis=1))
            if len(inside) == 0:
                continue
            op = np.empty((3, 4))
            op[:, :3] = orth @ rf @ frac
            op[:, 3] = orth @ (tf + np.array(shift))
            keys.append((k, *shift))
            ops.append(op)
            members.append(inside)
    keep_self = np.array([_self_weight(key, fops) for key in keys])
    return np.array(ops).reshape(-1, 3, 4), keep_self, members


def _self_weight(key, fops) -> float:
    """Weight of x-to-own-image contacts under image `key` so each counts once per ASU."""
    k, shift = key[0], np.array(key[1:], float)
    rf, tf = fops[k]
    rinv = np.linalg.inv(rf)
    for kk, (r2, t2) in enumerate(fops):
        if np.allclose(r2, rinv):
            inv_shift = np.round(-rinv @ (tf + shift) - t2)
            if np.allclose(-rinv @ (tf + shift) - t2, inv_shift, atol=1e-6):
                inv_key = (kk, *inv_shift.astype(int).tolist())
                if inv_key == tuple(key):
                    return 0.5
                return 1.0 if tuple(key) < inv_key else 0.0
    return 1.0


class NonbondedList:
    """Verlet list of non-bonded pairs with their target distances and weights."""

    def __init__(self, restraints, atoms, cell=None, spacegroup=None, skin: float = 0.6,
                 esd: float = VDW_ESD):
        self.r = restraints
        self.n = restraints.n_atoms
        self.skin = skin
        self.esd = esd
        self.cell = cell
        self.fops = symmetry_ops(cell, spacegroup)
        local = restraints.bond_sym < 0 if len(restraints.bond_sym) else np.zeros(0, bool)
        self.gkeys, self.gdist = graph_pairs(restraints.bond_idx[local], self.n)
        sym_b = restraints.bond_idx[~local] if len(local) else np.zeros((0, 2), np.int64)
        self.sym_bonded = {(int(min(a, b)), int(max(a, b))) for a, b in sym_b}
        self.occ = np.asarray(atoms.occ, float)
        alt = np.asarray(atoms.altloc)
        _, self.alt_code = np.unique(alt, return_inverse=True)
        self.alt_code = np.where(alt == "", -1, self.alt_code)
        self.residue = np.asarray(atoms.residue_index)
        self.tors_inc = np.array([TORSION_INCREMENT.get(str(e), TORSION_INCREMENT_OTHER)
                                  for e in atoms.element], float).reshape(-1)
        self.xyz_built = None
        self.n_builds = 0
        self.pairs = np.zeros((0, 2), np.int64)
        self.img = np.zeros(0, np.int64)
        self.d0 = np.zeros(0)
        self.w = np.zeros(0)
        self.kind = np.zeros(0, np.int8)
        self.ops = np.zeros((0, 3, 4))

    def update(self, xyz: np.ndarray, force: bool = False) -> bool:
        """Rebuild the list if atoms moved more than skin/2 since the last build."""
        if not force and self.xyz_built is not None:
            moved = np.max(np.sum((xyz - self.xyz_built) ** 2, axis=1), initial=0.0)
            if moved < (0.5 * self.skin) ** 2:
                return False
        self.build(xyz)
        return True

    def build(self, xyz: np.ndarray) -> None:
        """Find all pairs within MAX_TARGET + skin and keep those within target + skin."""
        from mainpy.restraints._cells import cell_pairs

        xyz = np.ascontiguousarray(xyz, float)
        cutoff = MAX_TARGET + self.skin
        ops, keep_self, members = symmetry_images(xyz, self.cell, self.fops, cutoff)
        pts = [xyz]
        src = [np.arange(self.n)]
        img = [np.full(self.n, -1)]
        for s, m in enumerate(members):
            pts.append(xyz[m] @ ops[s, :, :3].T + ops[s, :, 3])
            src.append(m)
            img.append(np.full(len(m), s))
        pts = np.ascontiguousarray(np.concatenate(pts))
        src = np.concatenate(src).astype(np.int64)
        img = np.concatenate(img).astype(np.int64)
        pi, pj, ps, pw = cell_pairs(xyz, pts, src, img, keep_self, cutoff,
                                    SPECIAL_POSITION_CUTOFF)
        pairs = np.stack([pi, pj], axis=1)
        keep = self._allowed(pi, pj, ps)
        pairs, ps, pw = pairs[keep], ps[keep], pw[keep]
        d0, kind = self._targets(pairs[:, 0], pairs[:, 1], ps)
        xj = xyz[pairs[:, 1]]
        sym = ps >= 0
        if sym.any():
            o = ops[ps[sym]]
            xj[sym] = np.einsum("kab,kb->ka", o[:, :, :3], xj[sym]) + o[:, :, 3]
        dist = np.linalg.norm(xyz[pairs[:, 0]] - xj, axis=1)
        near = dist < d0 + self.skin
        self.pairs = np.ascontiguousarray(pairs[near])
        self.img = np.ascontiguousarray(ps[near])
        self.d0 = np.ascontiguousarray(d0[near])
        self.kind = kind[near]
        self.w = np.ascontiguousarray(pw[near] / self.esd ** 2)
        self.ops = np.ascontiguousarray(ops)
        self.xyz_built = xyz.copy()
        self.n_builds += 1

    def _allowed(self, i, j, s) -> np.ndarray:
        """Drop 1-2/1-3 pairs, other conformers, and low-occupancy pairs (Refmac rules)."""
        ai, aj = self.alt_code[i], self.alt_code[j]
        same_conf = (ai < 0) | (aj < 0) | (ai == aj)
        same_res = (s < 0) & (self.residue[i] == self.residue[j])
        ok = same_conf & ((same_res) | (self.occ[i] + self.occ[j] >= 1.0001))
        local = s < 0
        gd = self._graph_distance(i, j)
        ok &= ~(local & (gd > 0) & (gd <= 2))
        if self.sym_bonded and (~local).any():
            for k in np.flatnonzero(~local & ok):
                if (min(i[k], j[k]), max(i[k], j[k])) in self.sym_bonded:
                    ok[k] = False
        return ok

    def _graph_distance(self, i, j) -> np.ndarray:
        """Bonds between atoms i and j (0 if more than 3 or not connected)."""
        if len(self.gkeys) == 0:
            return np.zeros(len(i), np.int8)
        key = np.minimum(i, j).astype(np.int64) * self.n + np.maximum(i, j)
        pos = np.searchsorted(self.gkeys, key)
        pos = np.minimum(pos, len(self.gkeys) - 1)
        found = self.gkeys[pos] == key
        return np.where(found, self.gdist[pos], 0).astype(np.int8)

    def _targets(self, i, j, s) -> tuple[np.ndarray, np.ndarray]:
        """Target distance and kind (1 vdw, 2 1-4, 3 H-bond, 4 metal; +6 if symmetry)."""
        r = self.r
        ri, rj = r.vdw_radius[i], r.vdw_radius[j]
        d0 = ri + rj
        kind = np.ones(len(i), np.int8)
        hi, hj = r.hb_type[i], r.hb_type[j]
        hb = (((hi == "A") & ((hj == "D") | (hj == "B")))
              | ((hi == "D") & ((hj == "A") | (hj == "B")))
              | ((hi == "B") & ((hj == "A") | (hj == "D") | (hj == "B"))))
        d0 = np.where(hb, ri + rj + HBOND_INCREMENT, d0)
        kind[hb] = 3
        ah = ((hi == "A") | (hi == "B")) & (hj == "H")
        ha = (hi == "H") & ((hj == "A") | (hj == "B"))
        d0 = np.where(ah, ri + 0.1, np.where(ha, rj + 0.1, d0))
        kind[ah | ha] = 3
        ion = r.ion_radius[i] + r.ion_radius[j]
        metal = (r.is_metal[i] | r.is_metal[j]) & np.isfinite(ion) & (kind != 3)
        d0 = np.where(metal, ion, d0)
        kind[metal] = 4
        tors = (s < 0) & (self._graph_distance(i, j) == 3)
        d0 = np.where(tors, ri + rj + self.tors_inc[i] + self.tors_inc[j], d0)
        kind[tors] = 2
        kind[s >= 0] += 6
        return d0, kind
