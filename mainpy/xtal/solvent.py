"""Flat bulk-solvent model: a binary solvent mask and its structure factors (Fmask).

The mask is 1 in the solvent and 0 inside the macromolecule, built by gemmi's
SolventMasker with the cctbx radii, probe 1.1 A and shrink 0.9 A (Jiang & Brunger 1994
as implemented in cctbx), symmetry applied. Every alternate conformer excludes solvent
(the union of the conformers is protein), zero-occupancy atoms and hydrogens do not.
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.xtal.gemmi_model import FlatModel, crystal_structure

#: cctbx's default mask grid step (mmtbx.masks: step = 0.6 A)
MASK_STEP = 0.6


def mask_grid(model: gemmi.Model, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup,
              step: float = MASK_STEP, rprobe: float = 1.1, rshrink: float = 0.9,
              radii: str = "cctbx") -> gemmi.FloatGrid:
    """The solvent mask (1 = solvent, 0 = model) on a symmetric grid over the cell."""
    radii_set = {"cctbx": gemmi.AtomicRadiiSet.Cctbx, "refmac": gemmi.AtomicRadiiSet.Refmac,
                 "vdw": gemmi.AtomicRadiiSet.VanDerWaals}[radii.lower()]
    masker = gemmi.SolventMasker(radii_set)
    masker.rprobe = rprobe
    masker.rshrink = rshrink
    masker.island_min_volume = 0.0
    masker.ignore_hydrogen = True
    masker.ignore_zero_occupancy_atoms = True
    grid = gemmi.FloatGrid()
    grid.setup_from(crystal_structure(cell, spacegroup), step)
    masker.put_mask_on_float_grid(grid, model)
    return grid


def fmask_from_grid(grid: gemmi.FloatGrid, hkl: np.ndarray) -> np.ndarray:
    """Structure factors of a mask (or any map) grid at the given Miller indices."""
    rgrid = gemmi.transform_map_to_f_phi(grid, half_l=True)
    return rgrid.get_value_by_hkl(np.ascontiguousarray(hkl, dtype=np.int32)).astype(
        np.complex128)


def fmask(atoms, hkl: np.ndarray, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup,
          step: float = MASK_STEP, select: np.ndarray | None = None,
          flat: FlatModel | None = None) -> np.ndarray:
    """Fmask of the flat bulk-solvent model at the given Miller indices."""
    if flat is None:
        flat = FlatModel(atoms, cell, spacegroup)
    model = flat.update(atoms, select)
    return fmask_from_grid(mask_grid(model, cell, spacegroup, step), hkl)


def solvent_fraction(grid: gemmi.FloatGrid) -> float:
    """Fraction of the unit cell that the mask calls solvent."""
    return float(np.asarray(grid.array).mean())
