"""The restraint energy: a sum of terms, each switchable and scalable.

    E = sum_t scale_t * E_t,   E_t = sum_k (delta_k / esd_k)^2

Terms: bond, angle, torsion, chiral, plane, nonbonded (repulsion with symmetry contacts),
adp (similarity of ADPs: the relative difference of B (B_eq of anisotropic atoms) of
atoms within 4 A, as servalcat has it (mainpy.restraints.adp_similarity), and the shape
of U of anisotropic atoms 1-2 and 1-3 apart),
and for anisotropic atoms rigidbond (Hirshfeld) and sphericity (a weak pull towards
isotropy, with a floor that keeps U positive definite). The commands
``ener TERM on|off``, ``ener TERM scal r`` and ``show ener`` drive `set_term` and `report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mainpy.errors import InputError

TERMS = ("bond", "angle", "torsion", "chiral", "plane", "nonbonded", "adp", "rigidbond",
         "sphericity", "ncs")
#: the terms that act on anisotropic atoms only
ANISO_TERMS = ("rigidbond", "sphericity")
#: esd of B differences (A^2) for atoms 1-2 and 1-3 apart (servalcat's defaults). For a
#: pair with an anisotropic atom the same weight acts on U (the squared Frobenius norm of
#: U_i - U_j, which is 3 (U_i - U_j)^2 for isotropic U): an esd of 5 A^2 in B is 0.11 A^2
#: per element of U, so isotropic and anisotropic atoms are held alike
ADP_ESD = (5.0, 7.5)
EIGHT_PI2 = 8.0 * np.pi ** 2
#: models smaller than this are evaluated serially (see parallel_chunks): 880 atoms
#: (1aba) 0.138 ms serial, 0.126 ms on 2 threads; 1715 (1d7m) 0.273 and 0.204 ms
PARALLEL_MIN_ATOMS = 1500
#: serial time per restraint of each term, ns (55k atoms, one thread; planes per plane)
SERIAL_NS = {"bond": 16, "angle": 36, "torsion": 64, "chiral": 18, "plane": 153,
             "nonbonded": 10, "adp": 3}
#: the terms of one evaluation run on chunks only when their serial time is at least this
#: many ns per atom: adding up the per-chunk (n, 3) gradients costs about 3.3 ns per atom
#: on 2 threads, and the threads save half the serial time (the adp term, with (n,)
#: arrays, a third of it)
CHUNK_MIN_NS_PER_ATOM = 8.0
#: ... plus this many ns for starting the threads and the extra calls (1d7m, 2 threads:
#: the bond term alone, 26 us serial, took 51 us on chunks)
CHUNK_MIN_NS = 30000.0


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
    grad_aniso: np.ndarray | None = None  # (n, 6) dE/dU, when anisotropic U were given


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
        self.adp_esd = adp_esd
        self.adp_pairs, self.w_adp = adp_pairs(r, adp_esd)
        #: "kl": every atom's B (B_eq) held to its neighbours' within 4 A by their
        #: relative difference (mainpy.restraints.adp_similarity, servalcat's restraint),
        #: U's shape by pairs 1-2 and 1-3 apart; "diff" (before): w (B_i - B_j)^2 and
        #: w ||U_i - U_j||^2 of atoms 1-2 and 1-3 apart
        self.adp_mode = "kl"
        self._kl = None
        #: hydrogens: no rigid-bond restraint on their bonds (a riding H moves more than
        #: its parent along the bond; SHELXL's DELU / RIGU leave them out too)
        self.hydrogen = np.isin(np.asarray(atoms.element).astype(str), ("H", "D"))
        #: atoms whose B is not their own (riding H: `factor` B of the parent;
        #: `set_riding`): held to their neighbours by B / factor (the parent's B), by no
        #: U shape. Held by their own B they pushed the parent's B down (B_H - B_P =
        #: 0.2 B_P) and its U round: from a 0.6 A start on simulated 1aba data with H,
        #: the shipped macro's B ended 3.9 A^2 rms from the truth's, 1.8 by B / factor
        self.riding = None
        self.riding_factor = 1.0
        self._aniso_split = None    # (aniso mask, pair subsets) of the last anisotropic call
        #: local NCS restraints between copies (mainpy.restraints.ncs), None without copies
        self.ncs = None
        self._buffers = {}    # zeroed per-chunk gradient arrays by shape (_take_buffer)

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
        self._kl = None

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
        c["adp"] = len(self._kl[0]) if self.adp_mode == "kl" and self._kl is not None \
            else len(self.adp_pairs)
        split = self._aniso_split
        c["rigidbond"] = len(split[1]["rigid"]) if split is not None else 0
        c["sphericity"] = int(split[0].sum()) if split is not None else 0
        c["ncs"] = len(self.ncs) if self.ncs is not None else 0
        return c

    def evaluate(self, xyz: np.ndarray, b: np.ndarray | None = None,
                 terms=None, aniso: np.ndarray | None = None) -> EnergyResult:
        """Energy and gradients at coordinates `xyz` (and B values `b` for the adp term;
        U rows `aniso` (n, 6) for the ADP terms of anisotropic atoms, with `b`).

        `terms` limits the evaluation to some term names (still subject to on/off).
        On a model of PARALLEL_MIN_ATOMS atoms or more every term runs on all numba
        threads (numba.get_num_threads()), each thread adding into its own gradient array.
        """
        from mainpy.restraints import terms as k

        xyz = np.ascontiguousarray(xyz, dtype=float)
        r = self.r
        nb = self.nonbonded
        nch = parallel_chunks(len(xyz))
        out = {}
        want = set(TERMS if terms is None else terms)
        # (serial kernel adding into a gradient, chunked kernel (gbuf, scale) -> energy)
        coord = {
            "bond": (lambda g: k.bond_energy(xyz, r.bond_idx, r.bond_ideal, self.w_bond,
                                             r.bond_sym, r.sym_ops, g),
                     lambda gb, s: k.bond_energy_chunked(
                         xyz, r.bond_idx, r.bond_ideal, self.w_bond, r.bond_sym, r.sym_ops,
                         gb, s)),
            "angle": (lambda g: k.angle_energy(xyz, r.angle_idx, r.angle_ideal,
                                               self.w_angle, g),
                      lambda gb, s: k.angle_energy_chunked(
                          xyz, r.angle_idx, r.angle_ideal, self.w_angle, gb, s)),
            "torsion": (lambda g: k.torsion_energy(xyz, r.tors_idx, r.tors_ideal,
                                                   self.w_tors, r.tors_period, g),
                        lambda gb, s: k.torsion_energy_chunked(
                            xyz, r.tors_idx, r.tors_ideal, self.w_tors, r.tors_period,
                            gb, s)),
            "chiral": (lambda g: k.chiral_energy(xyz, r.chir_idx, r.chir_ideal,
                                                 r.chir_sign, self.w_chir, g),
                       lambda gb, s: k.chiral_energy_chunked(
                           xyz, r.chir_idx, r.chir_ideal, r.chir_sign, self.w_chir, gb, s)),
            "plane": (lambda g: k.plane_energy(xyz, r.plane_atoms, r.plane_start,
                                               self.w_plane, g, self.plane_dev),
                      lambda gb, s: k.plane_energy_chunked(
                          xyz, r.plane_atoms, r.plane_start, self.w_plane, self.plane_dev,
                          gb, s)),
            "nonbonded": (lambda g: k.nonbonded_energy(xyz, nb.pairs, nb.img, nb.d0, nb.w,
                                                       nb.ops, g),
                          lambda gb, s: k.nonbonded_energy_chunked(
                              xyz, nb.pairs, nb.img, nb.d0, nb.w, nb.ops, gb, s)),
        }
        run = [t for t in TERMS if t in coord and t in want and self.state[t].on
               and self.state[t].scale != 0.0]
        if "nonbonded" in run:
            nb.update(xyz)
        if nch > 1 and self._serial_ns(run) < CHUNK_MIN_NS_PER_ATOM * len(xyz) + CHUNK_MIN_NS:
            nch = 1       # too little work to pay for summing the per-chunk arrays
        gbuf = self._take_buffer((nch, len(xyz), 3)) if nch > 1 else np.zeros((1, len(xyz), 3))
        for name in run:
            st = self.state[name]
            serial, chunked = coord[name]
            if nch > 1:
                out[name] = st.scale * chunked(gbuf, st.scale)
            elif st.scale == 1.0:
                out[name] = serial(gbuf[0])
            else:
                gt = np.zeros_like(xyz)
                out[name] = st.scale * serial(gt)
                np.add(gbuf[0], st.scale * gt, out=gbuf[0])
        if nch == 1:
            g = gbuf[0]
        else:
            g = k.sum_chunks(gbuf, True)     # and zero gbuf for the next evaluation
            self._give_buffer(gbuf)
        st = self.state["ncs"]
        if "ncs" in want and self.ncs is not None and st.on and st.scale != 0.0:
            from mainpy.restraints.ncs import energy as ncs_energy
            e, dg = ncs_energy(xyz, self.ncs)
            out["ncs"] = st.scale * e
            g += st.scale * dg
        gb = np.zeros(len(xyz)) if b is not None else None
        gu = None
        amask = None
        if b is not None and aniso is not None and (np.asarray(aniso) != 0).any():
            aniso = np.asarray(aniso, float)
            gu = self._aniso_terms(xyz, b, aniso, want, out, g, gb)
            amask = self._aniso_split[0]
            b_pairs, b_w = self._aniso_split[1]["iso"]
        else:
            b_pairs, b_w = self.adp_pairs, self.w_adp
        st = self.state["adp"]
        if b is not None and "adp" in want and st.on and st.scale != 0.0 \
                and self.adp_mode == "kl":
            self._kl_term(xyz, b, aniso, amask, st.scale, out, gb, gu)
        elif b is not None and "adp" in want and st.on and st.scale != 0.0:
            b = np.ascontiguousarray(b, float)
            nch = parallel_chunks(len(xyz))
            if nch > 1 and (self._serial_ns(["adp"])
                            >= CHUNK_MIN_NS_PER_ATOM / 3 * len(xyz) + CHUNK_MIN_NS):
                bbuf = self._take_buffer((nch, len(xyz)))
                out["adp"] = out.get("adp", 0.0) + st.scale * k.adp_energy_chunked(
                    b, b_pairs, b_w, bbuf, st.scale)
                gb = k.sum_chunks(bbuf, True)
                self._give_buffer(bbuf)
            else:
                gbt = np.zeros(len(xyz))
                out["adp"] = out.get("adp", 0.0) + st.scale * k.adp_energy(b, b_pairs, b_w, gbt)
                gb += st.scale * gbt
        return EnergyResult(total=float(sum(out.values())), grad=g, grad_b=gb,
                            terms=out, counts=self.counts(), grad_aniso=gu)

    def set_riding(self, mask, factor: float = 1.0) -> None:
        """The atoms that ride (their B is ``factor`` times their parent's), None for
        none."""
        mask = None if mask is None or not np.any(mask) else np.asarray(mask, bool).copy()
        self.riding_factor = float(factor)
        same = (mask is None and self.riding is None) or (
            mask is not None and self.riding is not None
            and np.array_equal(mask, self.riding))
        if not same:
            self.riding = mask
            self._aniso_split = None
            self.adp_pairs, self.w_adp = adp_pairs(self.r, self.adp_esd, exclude=mask)

    def _kl_term(self, xyz, b, aniso, amask, scale, out, gb, gu) -> None:
        """The relative B similarity of neighbours (mainpy.restraints.adp_similarity)
        on every atom's B_eq (8 pi^2 tr(U) / 3 of an anisotropic atom); its neighbour
        pairs are made from the coordinates of the first evaluation after a restart."""
        from mainpy.restraints.adp_aniso import U_TO_B
        from mainpy.restraints.adp_similarity import kl_energy, kl_pairs
        if self._kl is None:
            self._kl = kl_pairs(self.nonbonded, xyz, self.hydrogen)
        beq = np.array(b, float)
        if amask is not None:
            beq[amask] = U_TO_B * aniso[amask, :3].sum(axis=1) / 3.0
        if self.riding is not None:
            beq[self.riding] /= self.riding_factor
        g = np.zeros(len(beq))
        out["adp"] = out.get("adp", 0.0) + scale * kl_energy(beq, *self._kl, g)
        if self.riding is not None:
            g[self.riding] /= self.riding_factor
        if amask is None:
            gb += scale * g
        else:
            gb[~amask] += scale * g[~amask]
            gu[amask, :3] += (scale * U_TO_B / 3.0) * g[amask, None]

    def _aniso_split_for(self, mask: np.ndarray) -> dict:
        """The ADP pairs split by the anisotropic atoms: "iso" (both isotropic: the B
        kernel), "mixed" (at least one anisotropic: U similarity, its weight in U units),
        "rigid" (bonded, both anisotropic, neither a hydrogen); kept while the anisotropic
        atoms stay the same."""
        if self._aniso_split is not None and np.array_equal(self._aniso_split[0], mask):
            return self._aniso_split[1]
        p, w = self.adp_pairs, self.w_adp
        either = mask[p[:, 0]] | mask[p[:, 1]]
        r = self.r
        bonds = np.sort(r.bond_idx[r.bond_sym < 0], axis=1)
        heavy = mask & ~self.hydrogen
        both = heavy[bonds[:, 0]] & heavy[bonds[:, 1]] if len(bonds) else np.zeros(0, bool)
        split = {"iso": (np.ascontiguousarray(p[~either]), w[~either]),
                 "mixed": (p[either], w[either] * EIGHT_PI2 ** 2 / 3.0),
                 "rigid": np.ascontiguousarray(bonds[both], dtype=np.int64)}
        self._aniso_split = (mask.copy(), split)
        return split

    def _aniso_terms(self, xyz, b, aniso, want, out, g, gb) -> np.ndarray:
        """The ADP terms of anisotropic atoms (mainpy.restraints.adp_aniso): U similarity
        of pairs with an anisotropic atom (into "adp"), rigid bond, sphericity and the
        positive-definite floor; adds the xyz and B gradients, returns dE/dU."""
        from mainpy.restraints import adp_aniso as aa
        mask = (aniso != 0).any(axis=1)
        split = self._aniso_split_for(mask)
        gu = np.zeros((len(xyz), 6))
        st = self.state["adp"]
        if "adp" in want and st.on and st.scale != 0.0 and len(split["mixed"][0]):
            if self.adp_mode == "kl":
                # the size of U is held by the relative B similarity (_kl_term), its
                # shape here: the deviatoric parts of pairs 1-2 and 1-3 apart alike
                dev = aniso.copy()
                dev[mask, :3] -= dev[mask, :3].mean(axis=1)[:, None]
                e, du, _ = aa.similarity(dev, np.zeros(len(xyz)), mask, *split["mixed"])
                du[:, :3] -= du[:, :3].mean(axis=1)[:, None]     # d dev / d U
            else:
                e, du, db = aa.similarity(aniso, b, mask, *split["mixed"])
                gb += st.scale * db
            out["adp"] = st.scale * e
            gu += st.scale * du
        st = self.state["rigidbond"]
        if "rigidbond" in want and st.on and st.scale != 0.0 and len(split["rigid"]):
            e, dx, du = aa.rigid_bond(xyz, aniso, split["rigid"],
                                      1.0 / aa.RIGID_BOND_ESD ** 2, mask)
            out["rigidbond"] = st.scale * e
            g += st.scale * dx
            gu += st.scale * du
        st = self.state["sphericity"]
        if "sphericity" in want and st.on and st.scale != 0.0:
            e, du = aa.isotropy(aniso, mask, 1.0 / aa.ISOTROPY_ESD ** 2)
            out["sphericity"] = st.scale * e
            gu += st.scale * du
        e, du = aa.eigenvalue_floor(aniso, mask)      # always: U stays positive definite
        if e:
            out["sphericity"] = out.get("sphericity", 0.0) + e
            gu += du
        return gu

    def _serial_ns(self, names) -> float:
        """Estimated serial time (ns) of some terms, from their restraint counts."""
        c = self.counts()
        return sum(SERIAL_NS[t] * c[t] for t in names)

    def _take_buffer(self, shape) -> np.ndarray:
        """A zeroed per-chunk gradient array, kept from the last evaluation when it has the
        shape (zeroing it while summing costs less than fresh pages: 55k atoms, 2 threads,
        5.25 ms per evaluation against 5.52 ms); a fresh one if another evaluation holds it."""
        buf = self._buffers.pop(shape, None)
        return np.zeros(shape) if buf is None else buf

    def _give_buffer(self, buf: np.ndarray) -> None:
        """Keep a per-chunk array that sum_chunks(buf, True) has zeroed again."""
        self._buffers[buf.shape] = buf

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


def parallel_chunks(n_atoms: int) -> int:
    """Chunks (= numba threads) the terms are cut into for a model of n_atoms atoms;
    1 (the serial kernels) below PARALLEL_MIN_ATOMS, where starting the threads costs
    about what they save."""
    if n_atoms < PARALLEL_MIN_ATOMS:
        return 1
    import numba
    return max(1, numba.get_num_threads())


def adp_pairs(r, esd: tuple = ADP_ESD, exclude=None) -> tuple[np.ndarray, np.ndarray]:
    """Atom pairs 1-2 (from bonds) and 1-3 (angle ends) for B similarity, with weights;
    none with an atom of ``exclude`` (a mask)."""
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
    if exclude is not None:
        keep = ~(exclude[p[:, 0]] | exclude[p[:, 1]])
        p, wt = p[keep], wt[keep]
    _, first = np.unique(p, axis=0, return_index=True)  # a pair 1-2 and 1-3 counts once
    first = np.sort(first)
    return np.ascontiguousarray(p[first], dtype=np.int64), wt[first]
