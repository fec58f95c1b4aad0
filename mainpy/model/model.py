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
    notes: tuple = ()            # what reading left out (further MODELs), for the user


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


#: numeric fields of PDB coordinate records: (name, first column, last column), 1-based
_PDB_NUMBERS = {"ATOM": (("x coordinate", 31, 38), ("y coordinate", 39, 46),
                         ("z coordinate", 47, 54), ("occupancy", 55, 60),
                         ("B-factor", 61, 66)),
                "ANISOU": tuple((f"U{ij}", 29 + 7 * k, 35 + 7 * k)
                                for k, ij in enumerate(("11", "22", "33", "12", "13", "23")))}
_PDB_NUMBERS["HETATM"] = _PDB_NUMBERS["ATOM"]


def check_pdb_numbers(path: str) -> None:
    """InputError at the first number field of an ATOM, HETATM or ANISOU record that is
    not a number (gemmi reads it as 0 without a word): file:line:col, the line, a caret."""
    with open(path, errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            fields = _PDB_NUMBERS.get(line[:6].rstrip())
            if fields is None:
                continue
            for what, a, b in fields:
                text = line[a - 1:b]
                if not text.strip():
                    if what.endswith("coordinate"):
                        raise _number_error(path, lineno, line, a, b, what, text)
                    continue           # occupancy / B may be left blank
                try:
                    float(text)
                except ValueError:
                    raise _number_error(path, lineno, line, a, b, what, text) from None


def _number_error(path, lineno, line, a, b, what, text) -> InputError:
    line = line.rstrip("\n")
    caret = " " * (a - 1) + "^" * (b - a + 1)
    return InputError(f"{path}:{lineno}:{a}: the {what} {text.strip()!r} is not a number "
                      f"(columns {a}-{b})\n  {line}\n  {caret}")


def read_structure(path: str, fmt: str | None = None, notes: list | None = None
                   ) -> gemmi.Structure:
    """Read PDB or mmCIF (fmt 'pdb'/'cif' or from the file); raise InputError if
    unreadable. Only the first MODEL is kept (``notes`` gets a line saying so)."""
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
    if st.input_format == gemmi.CoorFormat.Pdb:
        check_pdb_numbers(str(p))
    _check_finite(st, path)
    if len(st) > 1 and notes is not None:
        notes.append(f"{path} holds {len(st)} models (MODEL records): the first "
                     f"({st[0].num}) read, the other {len(st) - 1} left out")
    while len(st) > 1:
        del st[1]
    st.setup_entities()
    if not st.cell.is_crystal():
        # no CRYST1: a cell that contains the model, P1, so symmetry-free code still runs
        st.cell = gemmi.UnitCell(1, 1, 1, 90, 90, 90)
    st.setup_cell_images()
    return st


def _check_finite(st: gemmi.Structure, path: str) -> None:
    """InputError naming the first atom whose coordinates, occupancy or B are not numbers
    (an mmCIF value such as 'abcdef' is read as NaN)."""
    for ch in st[0]:
        for res in ch:
            for at in res:
                p = at.pos
                if not all(np.isfinite((p.x, p.y, p.z, at.occ, at.b_iso))):
                    raise InputError(
                        f"{path}: atom {ch.name}/{res.name} {res.seqid.num}/{at.name} has a "
                        f"coordinate, occupancy or B that is not a number "
                        f"({p.x} {p.y} {p.z}, occupancy {at.occ}, B {at.b_iso})")


def load(path: str, fmt: str | None = None) -> Model:
    notes: list = []
    st = read_structure(path, fmt, notes)
    return Model(from_structure(st), st, str(path), notes=tuple(notes))


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
                    mask: np.ndarray | None = None, stats=None, aniso: bool = True) -> int:
    """Write PDB or mmCIF atomically; returns the number of atoms written. ``stats``
    (`mainpy.model.header.RefinementStats`) replaces the input's refinement header;
    without ``aniso`` the anisotropic U are left out (the B column holds B_eq)."""
    if fmt is None:
        fmt = "cif" if str(path).lower().endswith((".cif", ".mmcif")) else "pdb"
    if mask is not None and not np.asarray(mask).any():
        raise InputError(f"the selection has no atoms: {path} was not written")
    st = model.synced_structure() if mask is None else subset_structure(model, mask)
    n = st[0].count_atom_sites()
    if not aniso:
        st = st.clone() if mask is None else st
        for ch in st[0]:
            for res in ch:
                for at in res:
                    at.aniso = gemmi.SMat33f(0, 0, 0, 0, 0, 0)
    if stats is not None:
        from mainpy.model.header import set_refinement_header
        set_refinement_header(st, stats)

    def write(tmp):
        if fmt == "cif":
            doc = st.make_mmcif_document()
            if stats is not None:
                from mainpy.model.header import add_mmcif_items
                add_mmcif_items(doc, stats)
            doc.write_file(tmp)
        else:
            st.write_pdb(tmp)

    try:
        atomic_write(path, write)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    return n
