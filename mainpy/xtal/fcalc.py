"""Structure factors of the atomic model by density on a grid + FFT (gemmi).

The model's electron density (IT92 X-ray form factors, isotropic or anisotropic ADPs,
occupancies, all symmetry mates) is put on a grid finer than the data (``rate`` times
Nyquist) with an extra Gaussian blur that lets the grid be coarse; the blur is divided
out again in reciprocal space. With gemmi's defaults (rate 1.5, cut-off 1e-5) the result
agrees with direct summation to R ~ 1e-4.
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.xtal.gemmi_model import FlatModel, crystal_structure


def _cell_sg(template=None, cell=None, spacegroup=None):
    if template is not None:
        cell = template.cell
        spacegroup = template.find_spacegroup()
    if cell is None or spacegroup is None:
        raise ValueError("give a template structure or both cell and spacegroup")
    return cell, spacegroup


class FcalcCalculator:
    """Fcalc of one atom set for a fixed list of Miller indices.

    Keeps the flat gemmi model and the grid between calls, so that recomputing after
    the atoms move costs one density + one FFT.
    """

    def __init__(self, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup,
                 hkl: np.ndarray, d_min: float | None = None, rate: float = 1.5,
                 cutoff: float = 1e-5):
        self.cell = cell
        self.spacegroup = spacegroup
        self.hkl = np.ascontiguousarray(hkl, dtype=np.int32)
        d = cell.calculate_d_array(self.hkl) if len(self.hkl) else np.array([10.0])
        self.d_min = float(min(d.min(), d_min or np.inf))
        self.rate = rate
        self.cutoff = cutoff
        self._flat = None
        self._st = crystal_structure(cell, spacegroup)

    def density_calculator(self, model: gemmi.Model) -> gemmi.DensityCalculatorX:
        """A calculator holding the blurred model density on its grid."""
        dc = gemmi.DensityCalculatorX()
        dc.d_min = self.d_min
        dc.rate = self.rate
        dc.cutoff = self.cutoff
        dc.set_refmac_compatible_blur(model)
        dc.set_grid_cell_and_spacegroup(self._st)
        dc.put_model_density_on_grid(model)
        return dc

    def model(self, atoms, select=None) -> gemmi.Model:
        if self._flat is None or self._flat.n != len(atoms):
            self._flat = FlatModel(atoms, self.cell, self.spacegroup)
        return self._flat.update(atoms, select)

    def __call__(self, atoms, select: np.ndarray | None = None) -> np.ndarray:
        """Complex Fcalc (complex128) at self.hkl; ``select`` limits the atoms used."""
        model = self.model(atoms, select)
        dc = self.density_calculator(model)
        grid = gemmi.transform_map_to_f_phi(dc.grid, half_l=True)
        return grid.get_value_by_hkl(self.hkl, unblur=dc.blur).astype(np.complex128)


def fcalc(atoms, hkl: np.ndarray, template: gemmi.Structure | None = None,
          cell: gemmi.UnitCell | None = None, spacegroup: gemmi.SpaceGroup | None = None,
          select: np.ndarray | None = None) -> np.ndarray:
    """Fcalc of the atoms at the given Miller indices (cell and space group from
    ``template`` or given explicitly)."""
    cell, spacegroup = _cell_sg(template, cell, spacegroup)
    return FcalcCalculator(cell, spacegroup, hkl)(atoms, select)


def fcalc_direct(atoms, hkl: np.ndarray, template: gemmi.Structure | None = None,
                 cell: gemmi.UnitCell | None = None,
                 spacegroup: gemmi.SpaceGroup | None = None) -> np.ndarray:
    """Fcalc by gemmi's direct summation (slow; the reference for tests)."""
    cell, spacegroup = _cell_sg(template, cell, spacegroup)
    flat = FlatModel(atoms, cell, spacegroup)
    calc = gemmi.StructureFactorCalculatorX(cell)
    model = flat.model
    return np.array([calc.calculate_sf_from_model(model, [int(h), int(k), int(l)])
                     for h, k, l in hkl], dtype=np.complex128)
