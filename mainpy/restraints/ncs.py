"""Local NCS restraints: copies of a chain found by sequence alignment and superposition,
and the distances between nearby atoms of one copy restrained to those of the same atoms
in another copy.

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
#: chains are copies when at least this fraction of the shorter one's residues align with
#: the same residue name in the other (and at least MIN_RESIDUES of them) ...
MIN_IDENTITY, MIN_RESIDUES = 0.9, 10
#: ... and their matched CA superpose within this (A): a domain of the same sequence in
#: another fold is no copy (local NCS would leave most of it free anyway)
MAX_CA_RMSD = 5.0


@dataclass
class NcsRestraints:
    """Distance pairs (i, j) of one copy and (k, l), the same atoms in another."""
    ij: np.ndarray          # (m, 2) int
    kl: np.ndarray          # (m, 2) int
    w: float
    groups: list            # [(chain names of the copies, atoms matched)]

    def __len__(self) -> int:
        return len(self.ij)


def _sequence(atoms, ch, keep) -> list:
    """The chain's residues in order: [(residue number, insertion code, name)]."""
    rows = np.flatnonzero((atoms.chain == ch) & keep)
    out = {}
    for r in rows:
        out.setdefault((int(atoms.resseq[r]), str(atoms.icode[r]).strip()),
                       str(atoms.resname[r]))
    return [(k[0], k[1], v) for k, v in out.items()]


def residue_pairs(sa: list, sb: list) -> list:
    """The residues of two chains matched by aligning their sequences (difflib's longest
    matching blocks of residue names): [(key in a, key in b)], keys (number, icode).
    Copies numbered differently, or with a few residues missing, still match."""
    from difflib import SequenceMatcher
    na, nb = [r[2] for r in sa], [r[2] for r in sb]
    out = []
    for blk in SequenceMatcher(None, na, nb, autojunk=False).get_matching_blocks():
        out += [(sa[blk.a + k][:2], sb[blk.b + k][:2]) for k in range(blk.size)]
    return out


def ca_rmsd(atoms, ca: str, cb: str, pairs: list) -> float:
    """rmsd (A) of the matched residues' CA (or P, C1') after the best superposition."""
    def table(ch):
        rows = np.flatnonzero((atoms.chain == ch) & np.isin(atoms.name, ("CA", "P")))
        return {(int(atoms.resseq[r]), str(atoms.icode[r]).strip()): r for r in rows}
    ta, tb = table(ca), table(cb)
    both = [(ta[a], tb[b]) for a, b in pairs if a in ta and b in tb]
    if len(both) < 3:
        return float("nan")
    x = atoms.xyz[[i for i, _ in both]]
    y = atoms.xyz[[j for _, j in both]]
    x, y = x - x.mean(0), y - y.mean(0)
    u, sv, vt = np.linalg.svd(x.T @ y)
    d = np.sign(np.linalg.det(u @ vt))
    e = max(float((x * x).sum() + (y * y).sum() - 2 * (sv[0] + sv[1] + d * sv[2])), 0.0)
    return float(np.sqrt(e / len(both)))


def find_copies(atoms) -> list:
    """Groups of chains that are copies of one another: [[chain, chain, ...], ...]: their
    aligned sequences (`residue_pairs`) agree on at least MIN_IDENTITY of the shorter
    chain's residues, and their matched CA superpose within MAX_CA_RMSD (waters left
    out)."""
    from mainpy.model.atoms import waters
    keep = ~waters(atoms)
    chains = list(dict.fromkeys(atoms.chain[keep].tolist()))
    seq = {c: _sequence(atoms, c, keep) for c in chains}
    groups: list = []
    for c in chains:
        for g in groups:
            pairs = residue_pairs(seq[g[0]], seq[c])
            n = min(len(seq[g[0]]), len(seq[c]))
            if n >= MIN_RESIDUES and len(pairs) >= MIN_IDENTITY * n \
                    and not ca_rmsd(atoms, g[0], c, pairs) > MAX_CA_RMSD:
                g.append(c)
                break
        else:
            groups.append([c])
    return [g for g in groups if len(g) > 1]


def _matched(atoms, ca, cb) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the same atoms (aligned residues, atom name, one conformer) in chains ca
    and cb."""
    from mainpy.model.atoms import waters
    keep = ~waters(atoms)
    pairs = dict(residue_pairs(_sequence(atoms, ca, keep), _sequence(atoms, cb, keep)))

    def table(ch):
        rows = np.flatnonzero(atoms.chain == ch)
        out = {}
        for r in rows:
            alt = str(atoms.altloc[r]).strip()
            if alt not in ("", "A"):
                continue
            out.setdefault((int(atoms.resseq[r]), str(atoms.icode[r]).strip(),
                            str(atoms.name[r])), r)
        return out
    ta, tb = table(ca), table(cb)
    common = [(k, (*pairs[k[:2]], k[2])) for k in ta if k[:2] in pairs
              and (*pairs[k[:2]], k[2]) in tb]
    return (np.array([ta[a] for a, _ in common], np.int64),
            np.array([tb[b] for _, b in common], np.int64))


def build(atoms, cutoff: float = CUTOFF, esd: float = ESD) -> NcsRestraints | None:
    """The local NCS restraints of the model's copies (None when it has none). Each copy
    is restrained to the first of its group."""
    ij, kl, groups = [], [], []
    for g in find_copies(atoms):
        for other in g[1:]:
            ia, ib = _matched(atoms, g[0], other)
            if len(ia) < 2:
                continue
            # the non-bonded search's cells (scipy.spatial for a cKDTree: 60 ms of imports)
            from mainpy.restraints._cells import pairs_within
            xa, xb = atoms.xyz[ia], atoms.xyz[ib]
            pairs = pairs_within(xa, cutoff)
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
    """(E, dE/dxyz (n, 3)) of the local NCS restraints (a numba loop over the pairs:
    numpy's scatter of the four atoms' parts (np.add.at) took 2.0 ms per call on 1d7m's
    5076 pairs, ten times all its other restraints; the loop 0.1 ms)."""
    from mainpy.restraints.terms import ncs_energy
    g = np.zeros_like(xyz, dtype=float)
    e = ncs_energy(np.ascontiguousarray(xyz, float), ncs.ij, ncs.kl, float(ncs.w), g)
    return float(e), g
