"""Non-bonded contacts: neighbour list with crystal symmetry, and their target distances.

Pairs are found by a cell list over the model and the symmetry images near it (every
space-group operation and lattice shift whose image comes within the cutoff of the model),
each contact counted once per asymmetric unit. The list keeps pairs closer than their
target distance plus a skin and is rebuilt when an atom has moved more than half the skin
since the last build (Verlet list). The search, the rules below and the targets are one
numba pass over the atoms on all threads (_cells.contact_pairs): 55k atoms in 0.09 s on
one thread, 0.06 s on two (0.50 s before, with the rules applied by numpy).

Target distances follow Refmac (servalcat's reimplementation of vdw_and_contacts.f):
sum of ener_lib vdW radii; 1-4 pairs (three bonds apart) reduced by 0.1 (N, O) or 0.15
(C, others) per atom; H-bond donor/acceptor pairs reduced by 0.3; metal pairs use the sum
of ionic radii; esd 0.2 A. 1-2 and 1-3 pairs are excluded, as are atoms of different
alternate conformations and, outside one residue's conformer, pairs whose occupancies sum
to at most 1.
"""

from __future__ import annotations

import numpy as np

VDW_ESD = 0.2
HBOND_INCREMENT = -0.3
TORSION_INCREMENT = {"O": -0.1, "N": -0.1, "C": -0.15}
TORSION_INCREMENT_OTHER = -0.15
#: a contact of an atom with its own image closer than this is a special position
SPECIAL_POSITION_CUTOFF = 1.2
MAX_TARGET = 4.0
#: least buffer rows per atom of the parallel contact search (a protein has 4-5 contacts
#: per atom in the list; a block of atoms with more is searched twice)
PER_ATOM_MIN = 12


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
    from mainpy.restraints._cells import column_bounds, image_members

    f = np.ascontiguousarray(xyz @ frac.T)
    margin = cutoff * np.linalg.norm(frac, axis=1)
    lo, hi = column_bounds(f)
    lo -= margin
    hi += margin
    keys, ops, members = [], [], []
    for k, (rf, tf) in enumerate(fops):
        lmin, lmax, start, flat = image_members(f, np.ascontiguousarray(rf, float),
                                                np.ascontiguousarray(tf, float), lo, hi)
        ext = lmax - lmin + 1
        for b in np.flatnonzero(np.diff(start)):
            shift = (int(b // (ext[1] * ext[2]) + lmin[0]), int(b // ext[2] % ext[1] + lmin[1]),
                     int(b % ext[2] + lmin[2]))
            if k == 0 and shift == (0, 0, 0):
                continue
            op = np.empty((3, 4))
            op[:, :3] = orth @ rf @ frac
            op[:, 3] = orth @ (tf + np.array(shift))
            keys.append((k, *shift))
            ops.append(op)
            members.append(flat[start[b]:start[b + 1]])
    keep_self = np.array([_self_weight(key, fops) for key in keys])
    return np.array(ops).reshape(-1, 3, 4), keep_self, members


def image_table(xyz, cell, fops, cutoff):
    """The model and its images within `cutoff` as one table of points for the cell
    searches (mainpy.restraints._cells): (ops (k,3,4), keep_self (k,), src (atom row of
    each point), img (its image, -1 the model itself), pts (its coordinates))."""
    from mainpy.restraints._cells import image_points

    n = len(xyz)
    ops, keep_self, members = symmetry_images(xyz, cell, fops, cutoff)
    src = np.concatenate([np.arange(n)] + members).astype(np.int64)
    img = np.concatenate([np.full(n, -1)] + [np.full(len(m), s) for s, m in
                                             enumerate(members)]).astype(np.int64)
    ops = np.ascontiguousarray(ops, float)
    pts = image_points(xyz, src, img, ops)
    return ops, np.ascontiguousarray(keep_self, float), src, img, pts


def _close(a, b, atol) -> bool:
    """np.allclose(a, b, atol=atol) for small arrays, without its overhead."""
    return bool(np.all(np.abs(a - b) <= atol + 1e-5 * np.abs(b)))


def _self_weight(key, fops) -> float:
    """Weight of x-to-own-image contacts under image `key` so each counts once per ASU."""
    k, shift = key[0], np.array(key[1:], float)
    rf, tf = fops[k]
    rinv = np.linalg.inv(rf)
    for kk, (r2, t2) in enumerate(fops):
        if _close(r2, rinv, 1e-8):
            inv_shift = np.round(-rinv @ (tf + shift) - t2)
            if _close(-rinv @ (tf + shift) - t2, inv_shift, 1e-6):
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
        self.per_atom = PER_ATOM_MIN
        self._atom_tables()

    def _atom_tables(self) -> None:
        """Per-atom columns and the bond graph in the form the numba search reads."""
        from mainpy.restraints import _cells

        r = self.r
        hb = {"A": _cells.HB_ACCEPTOR, "D": _cells.HB_DONOR, "B": _cells.HB_BOTH,
              "H": _cells.HB_HYDROGEN}
        self.atom_i = np.empty((self.n, 3), np.int64)
        self.atom_i[:, 0] = self.alt_code
        self.atom_i[:, 1] = self.residue
        self.atom_i[:, 2] = [hb.get(str(t), _cells.HB_NONE) for t in r.hb_type]
        self.atom_f = np.empty((self.n, 5))
        self.atom_f[:, 1] = r.vdw_radius
        self.atom_f[:, 2] = r.ion_radius
        self.atom_f[:, 3] = np.asarray(r.is_metal, float)
        self.atom_f[:, 4] = self.tors_inc
        # graph_pairs' sorted keys i*n+j (i<j) as rows: partners of i in gnbr[gptr[i]:gptr[i+1]]
        gi = self.gkeys // max(self.n, 1)
        self.gptr = np.searchsorted(gi, np.arange(self.n + 1)).astype(np.int64)
        self.gnbr = np.ascontiguousarray(self.gkeys % max(self.n, 1), dtype=np.int64)
        self.gdist = np.ascontiguousarray(self.gdist, dtype=np.int64)
        self.sym_keys = np.array(sorted(a * self.n + b for a, b in self.sym_bonded), np.int64)

    def update(self, xyz: np.ndarray, force: bool = False) -> bool:
        """Rebuild the list if atoms moved more than skin/2 since the last build."""
        if not force and self.xyz_built is not None:
            from mainpy.restraints._cells import max_displacement_sq

            moved = max_displacement_sq(np.ascontiguousarray(xyz, float), self.xyz_built)
            if moved < (0.5 * self.skin) ** 2:
                return False
        self.build(xyz)
        return True

    def build(self, xyz: np.ndarray) -> None:
        """Find all pairs within MAX_TARGET + skin and keep those within target + skin
        that the rules restrain (one numba pass, in parallel over the atoms)."""
        from mainpy.restraints._cells import contact_pairs

        xyz = np.ascontiguousarray(xyz, float)
        cutoff = MAX_TARGET + self.skin
        ops, keep_self, src, img, pts = image_table(xyz, self.cell, self.fops, cutoff)
        self.atom_f[:, 0] = self.occ
        pi, pj, ps, pw, d0, kind = contact_pairs(
            xyz, pts, src, img, keep_self, cutoff,
            SPECIAL_POSITION_CUTOFF, self.skin, self.atom_i, self.atom_f,
            self.gptr, self.gnbr, self.gdist, self.sym_keys, self.per_atom)
        # buffer rows per atom for the next build: room for this list's density and more
        self.per_atom = max(PER_ATOM_MIN, int(2 * len(pi) / max(self.n, 1)) + 4)
        self.pairs = np.ascontiguousarray(np.stack([pi, pj], axis=1))
        self.img = ps
        self.d0 = d0
        self.kind = kind
        self.w = pw / self.esd ** 2
        self.ops = ops
        self.xyz_built = xyz.copy()
        self.n_builds += 1
