"""A flat gemmi model (one chain, one residue) mirroring an `Atoms` array set.

gemmi's density and mask calculators take a gemmi.Model. Rather than touch the user's
template structure, the reciprocal-space code keeps its own flat copy whose atoms are in
the same order as the arrays, and writes positions, B, occupancy and U into it before
each calculation.
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.errors import InputError


def crystal_structure(cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup) -> gemmi.Structure:
    """An empty structure that carries only the cell and space group."""
    st = gemmi.Structure()
    st.cell = cell
    st.spacegroup_hm = spacegroup.xhm()
    st.setup_cell_images()
    return st


class FlatModel:
    """A gemmi.Structure with one atom per row of an `Atoms`, updated in place."""

    def __init__(self, atoms, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup):
        st = crystal_structure(cell, spacegroup)
        model = gemmi.Model(1)
        chain = gemmi.Chain("A")
        res = gemmi.Residue()
        res.name = "UNK"
        res.seqid = gemmi.SeqId(1, " ")
        for i, el in enumerate(atoms.element):
            e = gemmi.Element(str(el))
            if e.name == "X" and str(el).upper() != "X":
                raise InputError(f"atom {atoms.label(i)} has an unknown element {el!r}; "
                                 "fix the element column of the model file")
            a = gemmi.Atom()
            a.name = str(atoms.name[i]) or e.name
            a.element = e
            a.altloc = str(atoms.altloc[i]) or "\0"
            res.add_atom(a)
        chain.add_residue(res)
        model.add_chain(chain)
        st.add_model(model)
        self.structure = st
        self.n = len(atoms)
        self._aniso_set = np.zeros(self.n, bool)
        self.update(atoms)

    @property
    def model(self) -> gemmi.Model:
        return self.structure[0]

    def update(self, atoms, select: np.ndarray | None = None) -> gemmi.Model:
        """Copy xyz, B, occupancy and U into the gemmi atoms; unselected atoms get occ 0."""
        if len(atoms) != self.n:
            raise ValueError("the atom arrays changed size; make a new FlatModel")
        occ = atoms.occ if select is None else np.where(select, atoms.occ, 0.0)
        xyz, b, aniso = atoms.xyz, atoms.b, atoms.aniso
        has_aniso = aniso.any(axis=1)
        res = self.structure[0][0][0]
        for i, at in enumerate(res):
            at.pos = gemmi.Position(xyz[i, 0], xyz[i, 1], xyz[i, 2])
            at.b_iso = b[i]
            at.occ = occ[i]
            if has_aniso[i] or self._aniso_set[i]:
                u = aniso[i]
                at.aniso = gemmi.SMat33f(u[0], u[1], u[2], u[3], u[4], u[5])
        self._aniso_set = has_aniso
        return self.structure[0]
