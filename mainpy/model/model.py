"""A model: the atom arrays with the gemmi.Structure they came from (cell, symmetry, file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gemmi
import numpy as np

from mainpy.errors import InputError
from mainpy.fileio import atomic_write
from mainpy.model.atoms import Atoms, from_structure, to_structure


@dataclass
class Model:
    """Atoms (the arrays everything reads) and their template structure."""

    atoms: Atoms
    structure: gemmi.Structure
    path: str = ""
    _synced: tuple = ()          # the arrays last written into the structure


    @property
    def cell(self) -> gemmi.UnitCell:
        return self.structure.cell

    @property
    def spacegroup(self) -> gemmi.SpaceGroup | None:
        return self.structure.find_spacegroup()

    def synced_structure(self) -> gemmi.Structure:
        """The template with the current coordinates, B and occupancies written in.

        Arrays are replaced, never changed in place, so when they are the ones written
        last time there is nothing to do."""
        a = self.atoms
        now = (a.xyz, a.b, a.occ, a.aniso)
        if len(now) != len(self._synced) or any(x is not y for x, y in zip(now, self._synced)):
            to_structure(a, self.structure)
            self._synced = now
        return self.structure


def read_structure(path: str, fmt: str | None = None) -> gemmi.Structure:
    """Read PDB or mmCIF (fmt 'pdb'/'cif' or from the file); raise InputError if unreadable."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"cannot read coordinates: no file {path}")
    try:
        if fmt == "pdb":
            st = gemmi.read_pdb(str(p))
        elif fmt == "cif":
            st = gemmi.make_structure_from_block(gemmi.cif.read(str(p)).sole_block())
        else:
            st = gemmi.read_structure(str(p))
    except Exception as e:  # gemmi raises RuntimeError/ValueError with a useful text
        raise InputError(f"cannot read coordinates from {path}: {e}") from None
    if len(st) == 0 or st[0].count_atom_sites() == 0:
        raise InputError(f"{path} holds no atoms")
    while len(st) > 1:
        del st[1]
    st.setup_entities()
    if not st.cell.is_crystal():
        # no CRYST1: a cell that contains the model, P1, so symmetry-free code still runs
        st.cell = gemmi.UnitCell(1, 1, 1, 90, 90, 90)
    st.setup_cell_images()
    return st


def load(path: str, fmt: str | None = None) -> Model:
    st = read_structure(path, fmt)
    return Model(from_structure(st), st, str(path))


def append(model: Model, other: gemmi.Structure) -> Model:
    """A new model: the chains of `other` added after those of `model` (same crystal)."""
    st = model.synced_structure().clone()
    for ch in other[0]:
        st[0].add_chain(ch, unique_name=True)
    atoms = from_structure(st)
    n0 = len(model.atoms)
    atoms.charge[:n0] = model.atoms.charge
    atoms.weight[:n0] = model.atoms.weight
    return Model(atoms, st, model.path)


def subset_structure(model: Model, mask: np.ndarray) -> gemmi.Structure:
    """A copy of the synced structure holding only the masked atoms."""
    st = model.synced_structure().clone()
    i = len(mask)
    # walk backwards so deleting keeps earlier indices valid
    for ch in reversed(list(st[0])):
        for res in reversed(list(ch)):
            for k in range(len(res) - 1, -1, -1):
                i -= 1
                if not mask[i]:
                    del res[k]
    st.remove_empty_chains()
    for ch in st[0]:
        for r in range(len(ch) - 1, -1, -1):
            if len(ch[r]) == 0:
                del ch[r]
    return st


def write_structure(model: Model, path: str, fmt: str | None = None,
                    mask: np.ndarray | None = None) -> int:
    """Write PDB or mmCIF atomically; returns the number of atoms written."""
    if fmt is None:
        fmt = "cif" if str(path).lower().endswith((".cif", ".mmcif")) else "pdb"
    st = model.synced_structure() if mask is None else subset_structure(model, mask)
    n = st[0].count_atom_sites()

    def write(tmp):
        if fmt == "cif":
            st.make_mmcif_document().write_file(tmp)
        else:
            st.write_pdb(tmp)

    try:
        atomic_write(path, write)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    return n
