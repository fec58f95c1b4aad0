"""Atoms near other atoms, through crystal symmetry (gemmi's neighbour search)."""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.model.atoms import Atoms, to_structure


def _flat_index(st: gemmi.Structure, atoms: Atoms):
    """Offset table: row of atom (chain i, residue j, atom 0) in the flat arrays."""
    offsets = []
    k = 0
    for ch in st[0]:
        row = np.empty(len(ch), dtype=np.int64)
        for j, res in enumerate(ch):
            row[j] = k
            k += len(res)
        offsets.append(row)
    return offsets


def within(atoms: Atoms, structure: gemmi.Structure, mask: np.ndarray, dist: float,
           synced: bool = False) -> np.ndarray:
    """Mask of atoms within dist (Angstrom) of any masked atom, symmetry mates included.

    structure is the template the atoms came from; it is brought up to date with the
    arrays first unless synced is True.
    """
    out = np.zeros(len(atoms), bool)
    if not mask.any() or dist < 0:
        return out
    if not synced:
        to_structure(atoms, structure)
    ns = gemmi.NeighborSearch(structure[0], structure.cell, max(dist, 1.0) + 0.5).populate()
    offsets = _flat_index(structure, atoms)
    xyz = atoms.xyz
    for i in np.flatnonzero(mask):
        pos = gemmi.Position(*xyz[i])
        for m in ns.find_atoms(pos, "\0", radius=dist):
            out[offsets[m.chain_idx][m.residue_idx] + m.atom_idx] = True
    return out
