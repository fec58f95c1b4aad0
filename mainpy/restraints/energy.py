"""The restraint energy: a sum of terms, each switchable and scalable.

    E = sum_t scale_t * E_t,   E_t = sum_k (delta_k / esd_k)^2

Terms: bond, angle, torsion, chiral, plane, nonbonded (repulsion with symmetry contacts)
and adp (B-value similarity of atoms 1-2 and 1-3 apart). The commands
``ener TERM on|off``, ``ener TERM scal r`` and ``show ener`` drive `set_term` and `report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mainpy.errors import InputError

TERMS = ("bond", "angle", "torsion", "chiral", "plane", "nonbonded", "adp")
#: esd of B differences (A^2) for atoms 1-2 and 1-3 apart (servalcat's defaults)
ADP_ESD = (5.0, 7.5)


@dataclass
class TermState:
    on: bool = True
    scale: float = 1.0


@dataclass
class EnergyResult:
    """Total energy, gradients, and each term's (scaled) energy and restraint count."""

    total: float
    grad: np.ndarray                      # (n, 3) dE/dxyz
    grad_b: np.ndarray | None             # (n,) dE/dB, when B values were given
    terms: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


class Energy:
    """Restraint energy of one model; evaluate(xyz, b) gives energy and gradients."""

    def __init__(self, restraints, atoms, cell=None, spacegroup=None,
                 adp_esd: tuple = ADP_ESD, skin: float = 0.6):
        from mainpy.restraints.nonbonded import NonbondedList

        if restraints.n_atoms != len(atoms):
            raise InputError(f"the restraints are for {restraints.n_atoms} atoms but the "
                             f"model has {len(atoms)}: rebuild the topology")
        self.r = restraints
        self.state = {t: TermState() for t in TERMS}
        r = restraints
        self.w_bond = 1.0 / r.bond_esd ** 2
        self.w_angle = 1.0 / r.angle_esd ** 2
        self.w_tors = 1.0 / r.tors_esd ** 2
        self.w_chir = 1.0 / r.chir_esd ** 2
        self.w_plane = 1.0 / r.plane_esd ** 2
        self.plane_dev = np.zeros(len(r.plane_atoms))
        self.nonbonded = NonbondedList(r, atoms, cell, spacegroup, skin=skin)
        self.adp_pairs, self.w_adp = adp_pairs(r, adp_esd)

    @classmethod
    def from_structure(cls, structure, library, atoms=None, torsions: str = "refmac",
                       **kw) -> Energy:
        """Topology + energy for model 0 of a gemmi.Structure (cell and symmetry from it)."""
        from mainpy.model.atoms import from_structure
        from mainpy.restraints.topology import build_restraints

        if atoms is None:
            atoms = from_structure(structure)
        r = build_restraints(structure, library, torsions=torsions)
        return cls(r, atoms, structure.cell, structure.find_spacegroup(), **kw)

    def restart(self) -> None:
        """Forget the contact list, so that the next evaluation builds it from the
        coordinates it is given: a run then depends only on where it starts."""
        self.nonbonded.xyz_built = None

    def update_occupancies(self, occ: np.ndarray) -> None:
        """New occupancies change which contacts count: rebuild the pair list next time."""
        self.nonbonded.occ = np.asarray(occ, float).copy()
        self.nonbonded.xyz_built = None

    def set_term(self, name: str, on: bool | None = None, scale: float | None = None):
        """Switch a term on/off and/or set its scale (``ener TERM on|off|scal r``)."""
        if name not in self.state:
            raise InputError(f"unknown energy term {name!r}: one of {', '.join(TERMS)}")
        if on is not None:
            self.state[name].on = bool(on)
        if scale is not None:
            if not np.isfinite(scale) or scale < 0:
                raise InputError(f"the scale of energy term {name} must be >= 0, not {scale}")
            self.state[name].scale = float(scale)

    def counts(self) -> dict:
        """Number of restraints per term (non-bonded: pairs in the current list)."""
        c = self.r.counts()
        c["nonbonded"] = len(self.nonbonded.pairs)
        c["adp"] = len(self.adp_pairs)
        return c

    def evaluate(self, xyz: np.ndarray, b: np.ndarray | None = None,
                 terms=None) -> EnergyResult:
        """Energy and gradients at coordinates `xyz` (and B values `b` for the adp term).

        `terms` limits the evaluation to some term names (still subject to on/off).
        """
        from mainpy.restraints import terms as k

        xyz = np.ascontiguousarray(xyz, dtype=float)
        r = self.r
        g = np.zeros_like(xyz)
        gb = np.zeros(len(xyz)) if b is not None else None
        out = {}
        want = set(TERMS if terms is None else terms)

        def run(name, fn):
            st = self.state[name]
            if name not in want or not st.on or st.scale == 0.0:
                return
            if st.scale == 1.0:
                out[name] = fn(g)
            else:
                gt = np.zeros_like(g)
                out[name] = st.scale * fn(gt)
                np.add(g, st.scale * gt, out=g)

        run("bond", lambda gr: k.bond_energy(xyz, r.bond_idx, r.bond_ideal, self.w_bond,
                                             r.bond_sym, r.sym_ops, gr))
        run("angle", lambda gr: k.angle_energy(xyz, r.angle_idx, r.angle_ideal,
                                               self.w_angle, gr))
        run("torsion", lambda gr: k.torsion_energy(xyz, r.tors_idx, r.tors_ideal,
                                                   self.w_tors, r.tors_period, gr))
        run("chiral", lambda gr: k.chiral_energy(xyz, r.chir_idx, r.chir_ideal,
                                                 r.chir_sign, self.w_chir, gr))
        run("plane", lambda gr: k.plane_energy(xyz, r.plane_atoms, r.plane_start,
                                               self.w_plane, gr, self.plane_dev))

        def nonbonded(gr):
            nb = self.nonbonded
            nb.update(xyz)
            return k.nonbonded_energy(xyz, nb.pairs, nb.img, nb.d0, nb.w, nb.ops, gr)

        run("nonbonded", nonbonded)
        st = self.state["adp"]
        if b is not None and "adp" in want and st.on and st.scale != 0.0:
            gbt = np.zeros(len(xyz))
            e = k.adp_energy(np.ascontiguousarray(b, float), self.adp_pairs, self.w_adp, gbt)
            out["adp"] = st.scale * e
            gb += st.scale * gbt
        return EnergyResult(total=float(sum(out.values())), grad=g, grad_b=gb,
                            terms=out, counts=self.counts())

    def __call__(self, xyz: np.ndarray) -> tuple[float, np.ndarray]:
        """(energy, gradient) of the coordinate terms, for minimizers."""
        res = self.evaluate(xyz)
        return res.total, res.grad

    def report(self, xyz: np.ndarray, b: np.ndarray | None = None) -> list[dict]:
        """One row per term: name, on, scale, count, energy (``show ener``)."""
        res = self.evaluate(xyz, b)
        rows = []
        for t in TERMS:
            st = self.state[t]
            rows.append({"term": t, "on": st.on, "scale": st.scale,
                         "count": res.counts.get(t, 0), "energy": res.terms.get(t, 0.0)})
        return rows


def adp_pairs(r, esd: tuple = ADP_ESD) -> tuple[np.ndarray, np.ndarray]:
    """Atom pairs 1-2 (from bonds) and 1-3 (angle ends) for B similarity, with weights."""
    pairs, w = [], []
    local = r.bond_sym < 0
    for idx, s in ((r.bond_idx[local], esd[0]),
                   (r.angle_idx[:, [0, 2]] if len(r.angle_idx) else np.zeros((0, 2), int),
                    esd[1] if len(esd) > 1 else None)):
        if s is None or len(idx) == 0:
            continue
        p = np.sort(idx, axis=1)
        pairs.append(p)
        w.append(np.full(len(p), 1.0 / s ** 2))
    if not pairs:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    p = np.concatenate(pairs)
    wt = np.concatenate(w)
    _, first = np.unique(p, axis=0, return_index=True)  # a pair 1-2 and 1-3 counts once
    first = np.sort(first)
    return np.ascontiguousarray(p[first], dtype=np.int64), wt[first]
