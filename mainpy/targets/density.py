"""Real-space targets: model density against a map (MAIN's ENER DENS / ENER DIFF).

For a map M on a grid over the unit cell (a gemmi.FloatGrid or an array with its cell)
and atoms j with occupancy q_j, isotropic B_j or anisotropic U_j and IT92 X-ray
densities rho~_j (see `mainpy.sf.overlap`; extra Gaussian ``blur`` added to every atom,
truncated smoothly at ``cutoff`` e/A^3):

    T = - sum_j q_j (V/N) sum_g M(x_g) rho~_j(x_g - x_j)      (~ -sum_j int M rho_j dx)

over the selected atoms (all by default), the grid quadrature of the overlap of the model
density with the map. Minimizing T pulls atoms into density. Symmetry mates are not
added: the map covers the whole cell, so each atom meets its own density once. The
gradients dT/dx_j, dT/dB_j (isotropic atoms), dT/dU_j (anisotropic atoms, the six
stored elements) and dT/dq_j are exact for the sum.

`DensityTarget` uses a density map (MAIN's ``ener dens map n``); `DifferenceMapTarget`
uses a difference map such as mFo-DFc (``ener diff map n``): the same T, whose gradient
dT/dx_j = -q_j (V/N) sum_g M(x_g) d rho~_j(x_g - x_j)/dx_j is the classic difference-map
gradient: it moves atoms out of negative and into positive difference density.
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.sf.overlap import DEFAULT_CUTOFF, AtomKernel
from mainpy.targets.base import Result, Target, zero_grad


class DensityTarget(Target):
    """T = -sum_j int M(x) q_j rho_j(x) dx against the map ``grid`` (module docstring).

    ``grid``: gemmi.FloatGrid (its unit cell is used) or an array with ``cell``.
    ``select``: boolean mask of atoms that feel the map (None: all).
    """

    name = "dens"

    def __init__(self, grid, cell: gemmi.UnitCell | None = None, blur: float = 0.0,
                 cutoff: float = DEFAULT_CUTOFF, select: np.ndarray | None = None):
        if hasattr(grid, "array"):
            arr = np.asarray(grid.array)
            cell = cell or grid.unit_cell
        else:
            arr = np.asarray(grid)
            if cell is None:
                raise ValueError("give the unit cell of a map array")
        if arr.ndim != 3:
            raise ValueError("the map must be a 3-d grid over the unit cell")
        self.map = np.ascontiguousarray(arr, dtype=np.float64)
        self.cell = cell
        self.blur = float(blur)
        self.cutoff = float(cutoff)
        self.select = None if select is None else np.asarray(select, bool)
        self._kernel = None
        self._elements = None

    def _kern(self, atoms) -> AtomKernel:
        if self._kernel is None or len(self._elements) != len(atoms) or \
                (self._elements is not atoms.element and
                 not np.array_equal(self._elements, atoms.element)):
            self._kernel = AtomKernel(atoms.element, self.cell, self.cutoff)
            self._elements = atoms.element
        return self._kernel

    def overlaps(self, atoms, grad: bool = True, adp_grad: bool = True):
        """Per-atom overlaps O_j (and derivatives; ``adp_grad``: those with respect to B
        and U too) of the selected atoms (`Overlap`)."""
        idx = None if self.select is None else np.flatnonzero(self.select)
        return self._kern(atoms).overlap(self.map, atoms.xyz, atoms.b, atoms.occ,
                                         self.blur, grad=grad, index=idx,
                                         b_grad=adp_grad, aniso=atoms.aniso), idx

    def evaluate(self, atoms, params=("xyz",)) -> Result:
        params = tuple(params)
        ov, idx = self.overlaps(atoms, grad=bool(params),
                                adp_grad="b" in params or "aniso" in params)
        value = -float(ov.value.sum())
        n = len(atoms)
        grad = {}
        for p in params:
            src = {"xyz": ov.dxyz, "b": ov.db, "occ": ov.docc, "aniso": ov.daniso}.get(p)
            if src is None:
                raise ValueError(f"unknown parameter {p!r}")
            if idx is None:
                grad[p] = -src
            else:
                g = zero_grad(atoms, (p,))[p]
                g[idx] = -src
                grad[p] = g
        return Result(value, grad, {"n": n if idx is None else len(idx)})


class DifferenceMapTarget(DensityTarget):
    """The same overlap target against a difference (Fo-Fc type) map."""

    name = "diff"

    @classmethod
    def from_fmodel(cls, fmodel, kind: str = "mfodfc", rate: float = 3.0, **kw):
        """The target on the difference map of an Fmodel (mFo-DFc by default)."""
        from mainpy.xtal.maps import coefficients_to_map
        r = fmodel.refl
        coef = fmodel.map_coefficients(kind)
        grid = coefficients_to_map(r.hkl, coef, r.cell, r.spacegroup, rate=rate)
        return cls(grid, **kw)
