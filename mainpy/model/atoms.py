"""The atoms of a model as flat numpy arrays, one row per atom site.

The row order is gemmi's iteration order over the first model: chains, then residues,
then atoms (altloc conformers are separate rows). Science modules read these arrays
directly; the gemmi.Structure they came from is kept as the template for writing files,
for neighbour search and for topology, and is brought up to date with `to_structure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gemmi
import numpy as np

#: per-atom arrays that change during refinement (everything else is fixed per model)
MUTABLE = ("xyz", "b", "occ", "aniso", "charge", "weight")


@dataclass
class Atoms:
    """Per-atom arrays of one model.

    Strings are numpy unicode arrays; ``aniso`` is U (not B) in the order
    u11 u22 u33 u12 u13 u23, zero rows for isotropic atoms.
    """

    xyz: np.ndarray          # (n, 3) float64, Angstrom, orthogonal
    b: np.ndarray            # (n,) isotropic B
    occ: np.ndarray          # (n,)
    aniso: np.ndarray        # (n, 6) U, zeros when isotropic
    name: np.ndarray         # atom name
    element: np.ndarray      # element symbol, upper case ("C", "SE")
    altloc: np.ndarray       # "" when none
    resname: np.ndarray
    resseq: np.ndarray       # (n,) int
    icode: np.ndarray        # insertion code, "" when none
    chain: np.ndarray        # chain name
    segment: np.ndarray      # segid where the file has one, else the chain name
    serial: np.ndarray       # (n,) int, from the file
    het: np.ndarray          # (n,) bool, HETATM record
    charge: np.ndarray       # (n,) float, MAIN's per-atom charge (SET CHARGE)
    weight: np.ndarray       # (n,) float, MAIN's per-atom weight (SET WEIGH)
    residue_index: np.ndarray  # (n,) int, running residue number 0.. over the model
    chain_index: np.ndarray    # (n,) int
    _codes: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.b)

    @property
    def n_residues(self) -> int:
        return int(self.residue_index[-1]) + 1 if len(self) else 0

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(unique values, index of each atom's value): fast matching of name columns."""
        if column not in self._codes:
            uniq, inv = np.unique(getattr(self, column), return_inverse=True)
            self._codes[column] = (uniq, inv.reshape(-1))
        return self._codes[column]

    def copy(self) -> "Atoms":
        """A copy whose mutable arrays can be changed without touching this one."""
        kw = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "_codes"}
        for k in MUTABLE:
            kw[k] = kw[k].copy()
        new = Atoms(**kw)
        new._codes = self._codes  # names are shared, so are their codes
        return new

    def replace(self, **arrays) -> "Atoms":
        """A new Atoms with some mutable arrays replaced (the rest shared)."""
        for k in arrays:
            if k not in MUTABLE:
                raise KeyError(f"{k} is not a mutable atom array")
        kw = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "_codes"}
        kw.update(arrays)
        new = Atoms(**kw)
        new._codes = self._codes
        return new

    def label(self, i: int) -> str:
        """A human-readable identity of atom i, e.g. 'A/ARG 17/CZ.B'."""
        alt = f".{self.altloc[i]}" if self.altloc[i] else ""
        return (f"{self.chain[i]}/{self.resname[i]} {self.resseq[i]}{self.icode[i]}"
                f"/{self.name[i]}{alt}")


def from_structure(st: gemmi.Structure) -> Atoms:
    """Arrays for the first model of a structure (hydrogens included if present)."""
    if len(st) == 0:
        raise ValueError("the structure has no model")
    model = st[0]
    rows = []
    ridx = 0
    for ci, ch in enumerate(model):
        for res in ch:
            seg = res.segment.strip() or ch.name
            icode = res.seqid.icode.strip()
            for at in res:
                rows.append((at, res.name, res.seqid.num, icode, ch.name, seg,
                             res.het_flag == "H", ridx, ci))
            ridx += 1
    n = len(rows)
    xyz = np.empty((n, 3))
    b = np.empty(n)
    occ = np.empty(n)
    aniso = np.zeros((n, 6))
    serial = np.empty(n, dtype=np.int64)
    charge = np.empty(n)
    for i, row in enumerate(rows):
        at = row[0]
        p = at.pos
        xyz[i] = (p.x, p.y, p.z)
        b[i] = at.b_iso
        occ[i] = at.occ
        if at.aniso.nonzero():
            u = at.aniso
            aniso[i] = (u.u11, u.u22, u.u33, u.u12, u.u13, u.u23)
        serial[i] = at.serial
        charge[i] = at.charge

    def col(j, dtype=None):
        return np.array([r[j] for r in rows], dtype=dtype) if n else np.array([], dtype=dtype or "U1")

    atoms = Atoms(
        xyz=xyz, b=b, occ=occ, aniso=aniso,
        name=np.array([r[0].name for r in rows], dtype="U4") if n else np.array([], "U4"),
        element=np.array([r[0].element.name.upper() for r in rows], dtype="U2") if n else np.array([], "U2"),
        altloc=np.array([r[0].altloc if r[0].altloc != "\0" else "" for r in rows], dtype="U1")
        if n else np.array([], "U1"),
        resname=col(1, "U5"), resseq=col(2, np.int64), icode=col(3, "U1"), chain=col(4, "U8"),
        segment=col(5, "U8"), serial=serial, het=col(6, bool), charge=charge,
        weight=np.ones(n), residue_index=col(7, np.int64), chain_index=col(8, np.int64),
    )
    return atoms


def to_structure(atoms: Atoms, template: gemmi.Structure) -> gemmi.Structure:
    """Write the mutable arrays back into the template's first model, in place.

    The template must be the structure the atoms came from (same atom order). MAIN's
    per-atom charge and weight are mainpy's own and are not written to files.
    """
    model = template[0]
    i = 0
    xyz, b, occ, aniso = atoms.xyz, atoms.b, atoms.occ, atoms.aniso
    for ch in model:
        for res in ch:
            for at in res:
                at.pos = gemmi.Position(xyz[i, 0], xyz[i, 1], xyz[i, 2])
                at.b_iso = b[i]
                at.occ = occ[i]
                u = aniso[i]
                if u.any() or at.aniso.nonzero():   # isotropic now: no ANISOU left behind
                    at.aniso = gemmi.SMat33f(u[0], u[1], u[2], u[3], u[4], u[5])
                i += 1
    if i != len(atoms):
        raise ValueError("the template structure does not match the atom arrays")
    return template


#: residue names of water
WATERS = ("HOH", "WAT", "H2O", "DOD", "D2O")


def waters(atoms: Atoms) -> np.ndarray:
    """Boolean (n,): water atoms."""
    return np.isin(np.char.upper(atoms.resname.astype(str)), WATERS)


def residue_starts(atoms: Atoms) -> np.ndarray:
    """Index of the first atom of each residue, plus len(atoms) at the end."""
    ri = atoms.residue_index
    starts = np.flatnonzero(np.r_[True, ri[1:] != ri[:-1]])
    return np.r_[starts, len(atoms)]
