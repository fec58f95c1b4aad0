"""Local NCS restraints: copies of a chain found by sequence, and the distances between
nearby atoms of one copy restrained to those of the same atoms in another copy.

As servalcat's `--ncsr` (after REFMAC's local NCS): a distance d_A(i, j) between atoms i
and j of copy A within CUTOFF, against the same atoms' distance d_B(i, j) in copy B,

    E = sum w (d_A - d_B)^2,   w = 1 / ESD^2,

so that the copies stay alike where they are alike (local geometry, not a global
superposition): hinge motions and real differences cost nothing, and pairs whose
distances differ by more than MAX_DIFF at the start (a real local difference) are not
restrained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: atoms of one copy closer than this (A) are paired with the same atoms of the other
CUTOFF = 4.2
#: esd (A) of a difference of distances between copies
ESD = 0.1
#: pairs whose distances differ by more at the start are real differences: left free
MAX_DIFF = 1.0
#: chains are copies when at least this fraction of the shorter one's residues have the
#: same number and name in the other (and at least MIN_RESIDUES of them)
MIN_IDENTITY, MIN_RESIDUES = 0.9, 10


@dataclass
class NcsRestraints:
    """Distance pairs (i, j) of one copy and (k, l), the same atoms in another."""
    ij: np.ndarray          # (m, 2) int
    kl: np.ndarray          # (m, 2) int
    w: float
    groups: list            # [(chain names of the copies, atoms matched)]

    def __len__(self) -> int:
        return len(self.ij)


def _chain_residues(atoms, ch, keep) -> dict:
    rows = np.flatnonzero((atoms.chain == ch) & keep)
    out = {}
    for r in rows:
        out.setdefault(int(atoms.resseq[r]), str(atoms.resname[r]))
    return out


def find_copies(atoms) -> list:
    """Groups of chains that are copies of one another: [[chain, chain, ...], ...], by
    residue numbers and names (waters left out)."""
    from mainpy.model.atoms import waters
    keep = ~waters(atoms)
    chains = list(dict.fromkeys(atoms.chain[keep].tolist()))
    res = {c: _chain_residues(atoms, c, keep) for c in chains}
    groups: list = []
    for c in chains:
        for g in groups:
            a, b = res[g[0]], res[c]
            n = min(len(a), len(b))
            same = sum(1 for k, v in a.items() if b.get(k) == v)
            if n >= MIN_RESIDUES and same >= MIN_IDENTITY * n:
                g.append(c)
                break
        else:
            groups.append([c])
    return [g for g in groups if len(g) > 1]


def _matched(atoms, ca, cb) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the same atoms (residue number, name, one conformer) in chains ca and cb."""
    def table(ch):
        rows = np.flatnonzero(atoms.chain == ch)
        out = {}
        for r in rows:
            alt = str(atoms.altloc[r]).strip()
            if alt not in ("", "A"):
                continue
            out.setdefault((int(atoms.resseq[r]), str(atoms.resname[r]),
                            str(atoms.name[r])), r)
        return out
    ta, tb = table(ca), table(cb)
    common = [k for k in ta if k in tb]
    return (np.array([ta[k] for k in common], np.int64),
            np.array([tb[k] for k in common], np.int64))


def build(atoms, cutoff: float = CUTOFF, esd: float = ESD) -> NcsRestraints | None:
    """The local NCS restraints of the model's copies (None when it has none). Each copy
    is restrained to the first of its group."""
    from scipy.spatial import cKDTree
    ij, kl, groups = [], [], []
    for g in find_copies(atoms):
        for other in g[1:]:
            ia, ib = _matched(atoms, g[0], other)
            if len(ia) < 2:
                continue
            xa, xb = atoms.xyz[ia], atoms.xyz[ib]
            pairs = cKDTree(xa).query_pairs(cutoff, output_type="ndarray")
            if len(pairs) == 0:
                continue
            da = np.linalg.norm(xa[pairs[:, 0]] - xa[pairs[:, 1]], axis=1)
            db = np.linalg.norm(xb[pairs[:, 0]] - xb[pairs[:, 1]], axis=1)
            pairs = pairs[np.abs(da - db) <= MAX_DIFF]
            ij.append(ia[pairs])
            kl.append(ib[pairs])
            groups.append(((g[0], other), len(ia)))
    if not ij:
        return None
    return NcsRestraints(np.concatenate(ij), np.concatenate(kl), 1.0 / esd ** 2, groups)


def energy(xyz: np.ndarray, ncs: NcsRestraints) -> tuple[float, np.ndarray]:
    """(E, dE/dxyz (n, 3)) of the local NCS restraints."""
    g = np.zeros_like(xyz)
    va = xyz[ncs.ij[:, 0]] - xyz[ncs.ij[:, 1]]
    vb = xyz[ncs.kl[:, 0]] - xyz[ncs.kl[:, 1]]
    da = np.linalg.norm(va, axis=1)
    db = np.linalg.norm(vb, axis=1)
    diff = da - db
    e = float(ncs.w * np.sum(diff * diff))
    c = 2.0 * ncs.w * diff
    ga = (c / np.maximum(da, 1e-12))[:, None] * va
    gb = (c / np.maximum(db, 1e-12))[:, None] * vb
    np.add.at(g, ncs.ij[:, 0], ga)
    np.add.at(g, ncs.ij[:, 1], -ga)
    np.add.at(g, ncs.kl[:, 0], -gb)
    np.add.at(g, ncs.kl[:, 1], gb)
    return e, g
