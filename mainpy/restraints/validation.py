"""Geometry validation: deviations from ideal, rmsd and rms Z, violations, Ramachandran.

Everything is computed with numpy from the restraint arrays (not from the energy
kernels), for ``show geometry`` and ``ener list range lo hi``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gemmi
import numpy as np


def _image(xyz, r):
    """Second-atom coordinates of bonds, through symmetry where the bond crosses it."""
    xj = xyz[r.bond_idx[:, 1]].copy()
    s = r.bond_sym >= 0
    if s.any():
        ops = r.sym_ops[r.bond_sym[s]]
        xj[s] = np.einsum("kab,kb->ka", ops[:, :, :3], xj[s]) + ops[:, :, 3]
    return xj


def bond_values(xyz, r) -> np.ndarray:
    """Bond lengths (A)."""
    if len(r.bond_idx) == 0:
        return np.zeros(0)
    return np.linalg.norm(xyz[r.bond_idx[:, 0]] - _image(xyz, r), axis=1)


def angle_values(xyz, r) -> np.ndarray:
    """Bond angles (degrees) at the middle atom."""
    if len(r.angle_idx) == 0:
        return np.zeros(0)
    u = xyz[r.angle_idx[:, 0]] - xyz[r.angle_idx[:, 1]]
    v = xyz[r.angle_idx[:, 2]] - xyz[r.angle_idx[:, 1]]
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v), axis=1),
                                 np.einsum("ij,ij->i", u, v)))


def dihedrals(xyz, idx) -> np.ndarray:
    """Dihedral angles (degrees, IUPAC sign) of atom quadruples."""
    if len(idx) == 0:
        return np.zeros(0)
    b1 = xyz[idx[:, 1]] - xyz[idx[:, 0]]
    b2 = xyz[idx[:, 2]] - xyz[idx[:, 1]]
    b3 = xyz[idx[:, 3]] - xyz[idx[:, 2]]
    m = np.cross(b1, b2)
    n = np.cross(b2, b3)
    y = np.linalg.norm(b2, axis=1) * np.einsum("ij,ij->i", b1, n)
    return np.degrees(np.arctan2(y, np.einsum("ij,ij->i", m, n)))


def torsion_deltas(xyz, r) -> np.ndarray:
    """Torsion deviations (degrees) folded by the period."""
    p = np.maximum(r.tors_period, 1)
    d = p * (dihedrals(xyz, r.tors_idx) - r.tors_ideal)
    return (d - 360.0 * np.floor((d + 180.0) / 360.0)) / p


def chiral_values(xyz, r) -> np.ndarray:
    """Chiral volumes (A^3): (x1-xc).((x2-xc) x (x3-xc))."""
    if len(r.chir_idx) == 0:
        return np.zeros(0)
    c = xyz[r.chir_idx[:, 0]]
    a1, a2, a3 = (xyz[r.chir_idx[:, k]] - c for k in (1, 2, 3))
    return np.einsum("ij,ij->i", a1, np.cross(a2, a3))


def chiral_targets(vol, r) -> np.ndarray:
    """Signed ideal volumes (either-sign restraints take the current sign)."""
    sign = np.where(r.chir_sign == 0, np.where(vol >= 0, 1, -1), r.chir_sign)
    return sign * r.chir_ideal


def plane_deviations(xyz, r) -> np.ndarray:
    """Signed distance (A) of every plane atom from its weighted least-squares plane."""
    dev = np.zeros(len(r.plane_atoms))
    w = 1.0 / r.plane_esd ** 2 if len(r.plane_esd) else np.zeros(0)
    for p in range(len(r.plane_start) - 1):
        s = slice(r.plane_start[p], r.plane_start[p + 1])
        x = xyz[r.plane_atoms[s]]
        wp = w[s]
        cen = (wp[:, None] * x).sum(0) / wp.sum()
        d = x - cen
        _, vec = np.linalg.eigh((wp[:, None] * d).T @ d)
        dev[s] = d @ vec[:, 0]
    return dev


def chirality_inverted(xyz, r) -> np.ndarray:
    """Indices of chiral centres whose volume has the wrong sign."""
    vol = chiral_values(xyz, r)
    return np.flatnonzero((r.chir_sign != 0) & (np.sign(vol) != r.chir_sign))


def left_out(idx, leave_out) -> np.ndarray:
    """Boolean per restraint (rows of atom indices ``idx``, (n, k) or (n,)): whether one
    of its atoms is marked in ``leave_out``."""
    idx = np.asarray(idx)
    marked = np.asarray(leave_out, bool)[idx]
    return marked.reshape(len(idx), -1).any(axis=1)


def deviations(xyz, r) -> dict:
    """For each kind: (atom index rows, value, ideal, delta, esd)."""
    out = {}
    v = bond_values(xyz, r)
    out["bond"] = (r.bond_idx, v, r.bond_ideal, v - r.bond_ideal, r.bond_esd)
    v = angle_values(xyz, r)
    out["angle"] = (r.angle_idx, v, r.angle_ideal, v - r.angle_ideal, r.angle_esd)
    v = dihedrals(xyz, r.tors_idx)
    out["torsion"] = (r.tors_idx, v, r.tors_ideal, torsion_deltas(xyz, r), r.tors_esd)
    v = chiral_values(xyz, r)
    t = chiral_targets(v, r)
    out["chiral"] = (r.chir_idx, v, t, v - t, r.chir_esd)
    d = plane_deviations(xyz, r)
    out["plane"] = (r.plane_atoms[:, None], d, np.zeros_like(d), d, r.plane_esd)
    return out


def summary(xyz, r, leave_out=None) -> dict:
    """Per kind: count, rmsd of the deviation and rms Z (deviation / esd), over the
    restraints with no atom that ``leave_out`` (boolean per atom) marks: hydrogens, for
    the figures the field reports (phenix, servalcat and wwPDB validation leave them out;
    riding H sit at their ideal places and would dilute them)."""
    out = {}
    for kind, (idx, _, _, delta, esd) in deviations(xyz, r).items():
        if leave_out is not None and len(delta):
            keep = ~left_out(idx, leave_out)
            delta, esd = delta[keep], esd[keep]
        n = len(delta)
        out[kind] = {"count": n,
                     "rmsd": float(np.sqrt(np.mean(delta ** 2))) if n else 0.0,
                     "rmsz": float(np.sqrt(np.mean((delta / esd) ** 2))) if n else 0.0}
    return out


@dataclass
class Violation:
    kind: str
    atoms: tuple         # atom rows
    labels: tuple        # Atoms.label of each
    value: float
    ideal: float
    delta: float
    z: float

    def __str__(self) -> str:
        return (f"{self.kind:8s} {' - '.join(self.labels)}  value {self.value:9.3f}  "
                f"ideal {self.ideal:9.3f}  delta {self.delta:8.3f}  Z {self.z:6.2f}")


def violations(xyz, r, atoms, lo: float = 0.0, hi: float = np.inf, kinds=None,
               by: str = "z", limit: int | None = None) -> list[Violation]:
    """Restraints whose |Z| (by='z') or |delta| (by='delta') is in [lo, hi], worst first."""
    if by not in ("z", "delta"):
        raise ValueError("by must be 'z' or 'delta'")
    rows = []
    for kind, (idx, val, ideal, delta, esd) in deviations(xyz, r).items():
        if kinds is not None and kind not in kinds:
            continue
        z = delta / esd
        key = np.abs(z if by == "z" else delta)
        for k in np.flatnonzero((key >= lo) & (key <= hi)):
            rows.append((key[k], kind, k, idx[k], val[k], ideal[k], delta[k], z[k]))
    rows.sort(key=lambda t: -t[0])
    if limit is not None:
        rows = rows[:limit]
    return [Violation(kind, tuple(int(i) for i in ia), tuple(atoms.label(int(i)) for i in ia),
                      float(v), float(t), float(d), float(z))
            for _, kind, _, ia, v, t, d, z in rows]


# --- Ramachandran -----------------------------------------------------------------------
# A coarse region classification (not MolProbity's contours): rectangles around the
# populated regions of the general-case plot of Lovell et al. (2003, Proteins 50:437),
# drawn from its Fig. 1. Glycine is judged on the plot made symmetric by (phi, psi) ->
# (-phi, -psi); proline favoured only near phi = -65. Good for a quick count only.

_FAVOURED = [(-160, -35, -80, 0), (-180, -45, 90, 180), (-180, -45, -180, -165),
             (-110, -45, 0, 25)]
_ALLOWED = [(-180, -25, -180, 180), (25, 100, -30, 100)]
_PRO_FAVOURED = [(-95, -45, -60, -10), (-95, -45, 110, 180)]
_PRO_ALLOWED = [(-110, -35, -90, 40), (-110, -35, 80, 180), (-110, -35, -180, -160)]
_GLY_FAVOURED = [(-160, -35, -80, 0), (-180, -45, 90, 180), (-180, -45, -180, -165),
                 (-110, -45, 0, 25), (35, 160, 0, 80), (45, 180, -180, -90),
                 (45, 180, 165, 180), (45, 110, -25, 0)]
_GLY_ALLOWED = [(-180, -25, -180, 180), (25, 180, -180, 180)]


def _inside(phi, psi, boxes) -> bool:
    return any(a <= phi <= b and c <= psi <= d for a, b, c, d in boxes)


def rama_class(resname: str, phi: float, psi: float) -> str:
    """'favored', 'allowed' or 'outlier' for one residue's (phi, psi) in degrees."""
    if resname == "GLY":
        fav, alw = _GLY_FAVOURED, _GLY_ALLOWED
    elif resname == "PRO":
        fav, alw = _PRO_FAVOURED, _PRO_ALLOWED
    else:
        fav, alw = _FAVOURED, _ALLOWED
    if _inside(phi, psi, fav):
        return "favored"
    if _inside(phi, psi, alw):
        return "allowed"
    return "outlier"


def _peptide_bonded(r1, r2) -> bool:
    """True if C of r1 and N of r2 (first conformers) are within 2 A."""
    c = r1.find_atom("C", "*")
    n = r2.find_atom("N", "*")
    return c is not None and n is not None and c.pos.dist(n.pos) < 2.0


def ramachandran(structure: gemmi.Structure) -> list[tuple]:
    """(chain, resseq, resname, phi, psi, class) of amino-acid residues with both angles
    (model 0, first conformer)."""
    out = []
    for ch in structure[0]:
        poly = ch.get_polymer()
        for k, res in enumerate(poly):
            if k == 0 or k == len(poly) - 1:
                continue
            prev, nxt = poly[k - 1], poly[k + 1]
            if not (_peptide_bonded(prev, res) and _peptide_bonded(res, nxt)):
                continue
            phi, psi = gemmi.calculate_phi_psi(prev, res, nxt)
            if np.isnan(phi) or np.isnan(psi):
                continue
            phi, psi = np.degrees(phi), np.degrees(psi)
            out.append((ch.name, res.seqid.num, res.name, float(phi), float(psi),
                        rama_class(res.name, phi, psi)))
    return out


def rama_summary(structure: gemmi.Structure) -> dict:
    """Counts and percentages of favored / allowed / outlier residues."""
    cls = [row[-1] for row in ramachandran(structure)]
    n = len(cls)
    out = {"count": n}
    for c in ("favored", "allowed", "outlier"):
        k = cls.count(c)
        out[c] = k
        out[c + "_pct"] = 100.0 * k / n if n else 0.0
    return out
