"""RE_PHASE's Fcalc: the structure-factor engine (`mainpy.sf`) as gemmi computes it.

`FcalcCalculator` is `mainpy.sf.engine.StructureFactorEngine` configured as gemmi's
DensityCalculator: the atoms cut hard (rho where rho > cut), grid rate 1.5, a float32
density grid with single-precision FFTs, and Refmac's blur for the atoms of each call.
Isotropic and anisotropic atoms alike; symmetry in reciprocal space.

The cut: gemmi's default level 1e-5 e/A^3 puts Fcalc at R = 1.0e-4 (complex) from direct
summation on 1d7m (mean B 58: wide atoms lose most to the cut); half of it, 5e-6, gives
5.3e-5 for 5 % more time (9 % on 1byz); 1aba 1.9e-5, 1l2h 1.9e-5, 5e5z 1.6e-5, 1byz
2.9e-5 (tests/sf/test_sf_fcalc.py).
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.sf.engine import StructureFactorEngine
from mainpy.sf.reference import fcalc_direct as _fcalc_direct
from mainpy.sf.gemmi_model import FlatModel

#: RE_PHASE's grid rate (gemmi's default) and cut level (module docstring)
RATE = 1.5
CUTOFF = 5e-6


def _cell_sg(template=None, cell=None, spacegroup=None):
    if template is not None:
        cell = template.cell
        spacegroup = template.find_spacegroup()
    if cell is None or spacegroup is None:
        raise ValueError("give a template structure or both cell and spacegroup")
    return cell, spacegroup


class FcalcCalculator(StructureFactorEngine):
    """Fcalc of one atom set for a fixed list of Miller indices (RE_PHASE's configuration
    of the engine); ``calc(atoms, select)`` gives complex Fcalc at ``calc.hkl``."""

    def __init__(self, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup,
                 hkl: np.ndarray, d_min: float | None = None, rate: float = RATE,
                 cutoff: float = CUTOFF, workers: int | None = None):
        super().__init__(cell, spacegroup, hkl, d_min=d_min, rate=rate, cutoff=cutoff,
                         truncation="hard", workers=workers, single=True)
        self._flat = None

    def __call__(self, atoms, select: np.ndarray | None = None) -> np.ndarray:
        """Complex Fcalc (complex128) at self.hkl; ``select`` limits the atoms used."""
        self.set_blur(atoms, select)
        return self.fcalc(atoms, select)

    def model(self, atoms, select=None) -> gemmi.Model:
        """A gemmi model of the atoms (for gemmi's own tools, e.g. its solvent masker)."""
        if self._flat is None or self._flat.n != len(atoms):
            self._flat = FlatModel(atoms, self.cell, self.spacegroup)
        return self._flat.update(atoms, select)


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
    return _fcalc_direct(atoms, hkl, cell, spacegroup)
