"""What the window draws, as plain arrays (no OpenGL here, so it is tested without a display).

Bonds are found by distance: every pair of atoms of one residue closer than the sum of
their covalent radii plus a tolerance, the peptide link C(i)-N(i+1) and the nucleic-acid
link O3'(i)-P(i+1) within a chain, and disulfides SG-SG. Atoms of different alternate
conformers are never bonded. Sticks are drawn as one set of line segments: each bond is
split at its midpoint and each half takes the colour of its atom.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: covalent radii (A) used to decide bonds; elements not listed use DEFAULT_RADIUS
COVALENT_RADIUS = {
    "H": 0.31, "D": 0.31, "C": 0.76, "N": 0.71, "O": 0.66, "S": 1.05, "P": 1.07,
    "SE": 1.20, "F": 0.57, "CL": 1.02, "BR": 1.20, "I": 1.39, "B": 0.84, "SI": 1.11,
}
DEFAULT_RADIUS = 1.0
#: added to the sum of the two radii
BOND_TOLERANCE = 0.45
#: shorter than this is not a bond (overlapping atoms, bad files)
MIN_BOND = 0.4
#: elements that are never bonded by distance (metal coordination is not drawn as sticks)
NO_BONDS = frozenset({"NA", "K", "MG", "CA", "ZN", "FE", "MN", "CU", "CO", "NI", "CD", "HG",
                      "SR", "BA", "CS", "RB", "LI", "PT", "AU", "AG", "PB", "YB", "SM", "GD",
                      "TB", "EU", "LU", "U", "W", "MO", "V", "CR", "AL", "GA", "IN", "TL"})
#: inter-residue links: (atom of residue i, atom of residue i+1, longest distance)
LINKS = (("C", "N", 2.0), ("O3'", "P", 2.0), ("O3*", "P", 2.0))
DISULFIDE = 2.5

#: element colours (RGB, 0..1), close to Coot's: yellow carbons, blue N, red O
ELEMENT_COLOR = {
    "C": (0.85, 0.85, 0.20), "N": (0.25, 0.35, 1.00), "O": (1.00, 0.15, 0.15),
    "S": (1.00, 0.60, 0.05), "P": (1.00, 0.45, 0.75), "H": (0.90, 0.90, 0.90),
    "D": (0.90, 0.90, 0.90), "SE": (0.95, 0.50, 0.10), "F": (0.40, 0.95, 0.40),
    "CL": (0.30, 0.90, 0.30), "BR": (0.65, 0.25, 0.10), "I": (0.60, 0.15, 0.70),
    "FE": (0.85, 0.45, 0.20), "ZN": (0.50, 0.50, 0.70), "MG": (0.40, 0.85, 0.40),
    "CA": (0.55, 0.55, 0.55), "NA": (0.60, 0.40, 0.95), "K": (0.55, 0.30, 0.85),
    "MN": (0.65, 0.45, 0.75), "CU": (0.80, 0.50, 0.20),
}
#: anything else: magenta, as Coot shows unknown elements
DEFAULT_COLOR = (1.00, 0.30, 1.00)
#: colour of the unit-cell box and of the map mesh
CELL_COLOR = (0.55, 0.55, 0.55)
MAP_COLOR = (0.35, 0.65, 0.95)
#: a difference map's mesh at +level and -level (Coot's green and red)
DIFF_PLUS_COLOR = (0.2, 0.85, 0.2)
DIFF_MINUS_COLOR = (0.95, 0.25, 0.25)


def element_colors(element: np.ndarray) -> np.ndarray:
    """(n, 4) RGBA per atom from its element symbol (upper case, as in Atoms.element)."""
    uniq, inv = np.unique(np.asarray(element), return_inverse=True)
    table = np.array([ELEMENT_COLOR.get(str(e).strip().upper(), DEFAULT_COLOR) + (1.0,)
                      for e in uniq], dtype=np.float32).reshape(-1, 4)
    return table[inv.reshape(-1)]


def covalent_radii(element: np.ndarray) -> np.ndarray:
    """Radius per atom for the bond test; NaN for elements that are never bonded."""
    uniq, inv = np.unique(np.asarray(element), return_inverse=True)
    r = np.array([np.nan if str(e).upper() in NO_BONDS else
                  COVALENT_RADIUS.get(str(e).strip().upper(), DEFAULT_RADIUS) for e in uniq],
                 dtype=np.float64)
    return r[inv.reshape(-1)] if len(uniq) else np.zeros(0)


@njit(cache=True)
def _residue_bonds(xyz, starts, radius, alt, tol, dmin, out):
    """Pairs within each residue [starts[k], starts[k+1]); returns how many were written."""
    m = 0
    for k in range(len(starts) - 1):
        a, b = starts[k], starts[k + 1]
        for i in range(a, b):
            ri = radius[i]
            if np.isnan(ri):      # never bonded
                continue
            for j in range(i + 1, b):
                rj = radius[j]
                if np.isnan(rj):
                    continue
                if alt[i] >= 0 and alt[j] >= 0 and alt[i] != alt[j]:
                    continue
                dx = xyz[i, 0] - xyz[j, 0]
                dy = xyz[i, 1] - xyz[j, 1]
                dz = xyz[i, 2] - xyz[j, 2]
                d2 = dx * dx + dy * dy + dz * dz
                cut = ri + rj + tol
                if d2 < cut * cut and d2 > dmin * dmin:
                    if m >= out.shape[0]:
                        return -1
                    out[m, 0] = i
                    out[m, 1] = j
                    m += 1
    return m


def _pairs_close(xyz, ia, ib, dmax, alt):
    """All pairs (i in ia, j in ib) closer than dmax, of compatible altlocs (small sets)."""
    if len(ia) == 0 or len(ib) == 0:
        return np.zeros((0, 2), np.int64)
    d = np.linalg.norm(xyz[ia][:, None, :] - xyz[ib][None, :, :], axis=-1)
    ok = (d < dmax) & (d > MIN_BOND)
    aa, bb = alt[ia][:, None], alt[ib][None, :]
    ok &= (aa < 0) | (bb < 0) | (aa == bb)
    i, j = np.nonzero(ok)
    return np.stack([ia[i], ib[j]], axis=1)


def find_bonds(atoms) -> np.ndarray:
    """(m, 2) int64 atom pairs bonded by distance (i < j within a residue), for an Atoms.

    >>> # see tests/graphics/test_geometry.py for real residues
    """
    n = len(atoms)
    if n == 0:
        return np.zeros((0, 2), np.int64)
    xyz = np.ascontiguousarray(atoms.xyz, dtype=np.float64)
    ri = atoms.residue_index
    starts = np.flatnonzero(np.r_[True, ri[1:] != ri[:-1]])
    starts = np.r_[starts, n].astype(np.int64)
    radius = covalent_radii(atoms.element)
    alt_u, alt_i = np.unique(atoms.altloc, return_inverse=True)
    alt = alt_i.reshape(-1).astype(np.int64)
    if "" in alt_u:
        alt[alt == int(np.flatnonzero(alt_u == "")[0])] = -1
    size = max(16, 8 * n)
    while True:
        out = np.empty((size, 2), np.int64)
        m = _residue_bonds(xyz, starts, radius, alt, BOND_TOLERANCE, MIN_BOND, out)
        if m >= 0:
            break
        size *= 4
    parts = [out[:m]]
    # links between consecutive residues of a chain
    name = atoms.name
    chain = atoms.chain_index
    for a_name, b_name, dmax in LINKS:
        ia = np.flatnonzero(name == a_name)
        ib = np.flatnonzero(name == b_name)
        if len(ia) == 0 or len(ib) == 0:
            continue
        # pair each a with the b atoms of the next residue of the same chain
        order = np.argsort(ri[ib], kind="stable")
        ib = ib[order]
        lo = np.searchsorted(ri[ib], ri[ia] + 1, "left")
        hi = np.searchsorted(ri[ib], ri[ia] + 1, "right")
        for k in np.flatnonzero(hi > lo):
            cand = ib[lo[k]:hi[k]]
            cand = cand[chain[cand] == chain[ia[k]]]
            parts.append(_pairs_close(xyz, ia[k:k + 1], cand, dmax, alt))
    sg = np.flatnonzero((name == "SG") & (atoms.element == "S"))
    if 1 < len(sg) <= 5000:
        p = _pairs_close(xyz, sg, sg, DISULFIDE, alt)
        parts.append(p[(p[:, 0] < p[:, 1]) & (ri[p[:, 0]] != ri[p[:, 1]])])
    bonds = np.concatenate(parts).astype(np.int64)
    bonds.sort(axis=1)
    return np.unique(bonds, axis=0) if len(bonds) else bonds.reshape(0, 2)


def shown_bonds(bonds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The bonds whose two atoms are both shown."""
    if len(bonds) == 0:
        return bonds
    return bonds[mask[bonds[:, 0]] & mask[bonds[:, 1]]]


def stick_vertices(xyz: np.ndarray, bonds: np.ndarray) -> np.ndarray:
    """(4m, 3) float32: for each bond i-j the segments i..mid and mid..j (draw with
    connect='segments'); colours from `stick_colors`."""
    a = xyz[bonds[:, 0]]
    b = xyz[bonds[:, 1]]
    mid = 0.5 * (a + b)
    out = np.empty((len(bonds), 4, 3), np.float32)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = a, mid, mid, b
    return out.reshape(-1, 3)


def stick_colors(colors: np.ndarray, bonds: np.ndarray) -> np.ndarray:
    """(4m, 4) RGBA matching `stick_vertices`: each half bond in its atom's colour."""
    ca = colors[bonds[:, 0]]
    cb = colors[bonds[:, 1]]
    out = np.empty((len(bonds), 4, 4), np.float32)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = ca, ca, cb, cb
    return out.reshape(-1, 4)


#: colour of the symmetry mates' sticks (dimmer than the model's)
MATE_COLOR = (0.6, 0.45, 0.75)


def symmetry_mates(xyz, bonds, cell, spacegroup, center, radius: float):
    """The crystal's other copies of the model near ``center``: for every symmetry
    operator and lattice translation but the identity, the bonds of the copy with an
    atom within ``radius`` (A) of the centre, as (2m, 3) float32 segment ends; and the
    copies' atoms within the radius as (k, 3) float64."""
    if spacegroup is None or len(xyz) == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3))
    orth = orthogonalization(cell)
    frac = np.linalg.inv(orth)
    f = np.asarray(xyz, float) @ frac.T
    fc = np.asarray(center, float) @ frac.T
    rf = radius * np.linalg.norm(frac, axis=1)      # the radius along each frac axis
    segs, atoms = [], []
    for op in spacegroup.operations():
        rot = np.array(op.rot, float) / op.DEN
        g = f @ rot.T + np.array(op.tran, float) / op.DEN
        lo = np.floor(fc - rf - g.max(axis=0)).astype(int)
        hi = np.ceil(fc + rf - g.min(axis=0)).astype(int)
        identity = op.is_identity() if hasattr(op, "is_identity") else \
            (np.allclose(rot, np.eye(3)) and not np.any(op.tran))
        for s in np.stack(np.meshgrid(*[np.arange(lo[k], hi[k] + 1) for k in range(3)],
                                      indexing="ij"), -1).reshape(-1, 3):
            if identity and not s.any():
                continue
            c = (g + s) @ orth.T
            near = np.linalg.norm(c - center, axis=1) < radius
            if not near.any():
                continue
            atoms.append(c[near])
            if len(bonds):
                keep = near[bonds[:, 0]] | near[bonds[:, 1]]
                segs.append(c[bonds[keep]].reshape(-1, 3))
    seg = np.concatenate(segs).astype(np.float32) if segs else np.zeros((0, 3), np.float32)
    return seg, (np.concatenate(atoms) if atoms else np.zeros((0, 3)))


def orthogonalization(cell) -> np.ndarray:
    """3x3 matrix fractional -> Cartesian of a gemmi.UnitCell."""
    return np.array(cell.orth.mat.tolist(), dtype=np.float64)


def cell_edges(cell) -> np.ndarray:
    """(24, 3) float32: the 12 edges of the unit cell as segments."""
    orth = orthogonalization(cell)
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)
    edges = [(a, b) for a in range(8) for b in range(a + 1, 8)
             if np.abs(corners[a] - corners[b]).sum() == 1]
    seg = np.array([[corners[a], corners[b]] for a, b in edges]).reshape(-1, 3)
    return (seg @ orth.T).astype(np.float32)
