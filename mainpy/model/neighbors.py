"""Atoms near other atoms, through crystal symmetry (gemmi's neighbour search)."""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.model.atoms import Atoms, to_structure


def _flat_index(st: gemmi.Structure, atoms=None):
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


_cache: dict = {}


def _search(structure: gemmi.Structure, xyz: np.ndarray, dist: float):
    """gemmi's neighbour search over the structure, kept while the coordinates are the
    same array (arrays are replaced, never changed in place) and dist fits its cells."""
    key = id(structure)
    hit = _cache.get(key)
    if hit is not None and hit[0] is xyz and hit[1] >= dist:
        return hit[2], hit[3]
    radius = max(dist, 5.0) + 0.5
    ns = gemmi.NeighborSearch(structure[0], structure.cell, radius).populate()
    entry = (xyz, radius, ns, _flat_index(structure, None))
    _cache.clear()
    _cache[key] = entry
    return entry[2], entry[3]


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
    ns, offsets = _search(structure, atoms.xyz, dist)
    xyz = atoms.xyz
    for i in np.flatnonzero(mask):
        pos = gemmi.Position(*xyz[i])
        for m in ns.find_atoms(pos, "\0", radius=dist):
            out[offsets[m.chain_idx][m.residue_idx] + m.atom_idx] = True
    return out
