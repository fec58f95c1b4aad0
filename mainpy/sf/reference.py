"""References for tests: gemmi's direct summation and gemmi's own FFT structure factors.

Slow, and independent of the engine: the direct sum is
F(h) = sum_atoms sum_ops q f(s) exp(-s' U s ...) exp(2 pi i h.(R x + t)) evaluated atom by
atom by gemmi's StructureFactorCalculatorX (IT92, isotropic or anisotropic ADPs).
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.sf.gemmi_model import FlatModel


def fcalc_direct(atoms, hkl: np.ndarray, cell: gemmi.UnitCell,
                 spacegroup: gemmi.SpaceGroup) -> np.ndarray:
    """Fcalc by gemmi's direct summation over atoms and symmetry operations."""
    flat = FlatModel(atoms, cell, spacegroup)
    # the cell of the flat structure has the symmetry images set up (a bare
    # gemmi.UnitCell has none, and the sum would then leave out the symmetry mates)
    calc = gemmi.StructureFactorCalculatorX(flat.structure.cell)
    model = flat.model
    return np.array([calc.calculate_sf_from_model(model, [int(h), int(k), int(l)])
                     for h, k, l in np.asarray(hkl)], dtype=np.complex128)


def fcalc_gemmi_fft(atoms, hkl: np.ndarray, cell: gemmi.UnitCell,
                    spacegroup: gemmi.SpaceGroup, d_min: float | None = None,
                    rate: float = 1.5, cutoff: float = 1e-5) -> np.ndarray:
    """Fcalc by gemmi's DensityCalculator (symmetry on the grid, Refmac's blur)."""
    hkl = np.ascontiguousarray(hkl, dtype=np.int32)
    flat = FlatModel(atoms, cell, spacegroup)
    dc = gemmi.DensityCalculatorX()
    dc.d_min = d_min or float(cell.calculate_d_array(hkl).min())
    dc.rate = rate
    dc.cutoff = cutoff
    dc.set_refmac_compatible_blur(flat.model)
    dc.set_grid_cell_and_spacegroup(flat.structure)
    dc.put_model_density_on_grid(flat.model)
    grid = gemmi.transform_map_to_f_phi(dc.grid, half_l=True)
    return grid.get_value_by_hkl(hkl, unblur=dc.blur).astype(np.complex128)
