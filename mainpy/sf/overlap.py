"""Atom densities on a unit-cell grid and their overlap with a map (with derivatives).

The workhorse of Fcalc (spreading the model on a grid), of the FFT gradient method
(Agarwal 1978; Afonine & Urzhumtsev 2004) and of the real-space density targets. Atom j
with occupancy q_j, isotropic B_j or anisotropic U_j, and IT92 form factor (a_k, b_k;
k = 1..5, c as a fifth Gaussian with b_5 = 0) has, per unit occupancy and blurred by an
extra ``blur`` (A^2), the density

    rho_j(r) = sum_k a_k (2 pi)^(-3/2) det(S_k)^(-1/2) exp(-r' S_k^-1 r / 2),
    S_k = U_j + (b_k + blur)/(8 pi^2) I      (U_j = B_j/(8 pi^2) I when isotropic),

truncated at ``cutoff`` (e/A^3): smoothly, rho~ = max(rho - cutoff, 0), continuous in
every parameter, for targets and gradients; or hard, rho where rho > cutoff (gemmi's
DensityCalculator), for R-values. The overlap of atom j with a map M on an (n0, n1, n2)
grid over the unit cell (periodic) is the grid quadrature

    O_j = q_j (V/N) sum_g M(x_g) rho~_j(x_g - x_j),

with derivatives with respect to x_j (Cartesian), B_j (isotropic atoms), the six stored
elements of U_j (anisotropic atoms) and q_j (O_j / q_j), exact for this sum (smooth
truncation). The kernels are in `mainpy.sf._kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import gemmi
import numpy as np

from mainpy.sf.formfactors import form_factor_table
from mainpy.sf.grid import U_TO_B, cell_matrices

DEFAULT_CUTOFF = 1e-5
TRUNCATIONS = ("smooth", "hard")


_CHECKED = []


def _k():
    from mainpy.sf import _kernels
    if not _CHECKED:
        check_threads(_kernels)
        _CHECKED.append(True)
    return _kernels


def check_threads(kernels) -> None:
    """RuntimeError unless numba's parallel loops run every iteration once. They do not
    when a library's OpenMP stubs (cctbx's libomptbx, imported before numba started its
    threads) replace the OpenMP runtime: every thread then runs the whole loop, and
    accumulating kernels would give wrong numbers silently."""
    counts = np.zeros(64, np.int64)
    kernels.count_iterations(counts)
    if not (counts == 1).all():
        raise RuntimeError(
            "numba's parallel loops run each iteration more than once in this process "
            f"(threading layer {_threading_layer()!r}): another library's OpenMP stubs "
            "(e.g. cctbx imported first) replace the OpenMP runtime. Set the environment "
            "variable NUMBA_THREADING_LAYER=workqueue before starting Python.")


def _threading_layer() -> str:
    import numba
    try:
        return numba.threading_layer()
    except ValueError:
        return "not started"


def _threads() -> int:
    import numba
    return numba.get_num_threads()


@dataclass
class Overlap:
    """Per-atom overlaps O_j and, when asked for, their derivatives."""

    value: np.ndarray             # (n,) O_j (occupancy included)
    dxyz: np.ndarray | None       # (n, 3)
    db: np.ndarray | None         # (n,), zero for anisotropic atoms
    docc: np.ndarray | None       # (n,)
    daniso: np.ndarray | None = None   # (n, 6) d/du11 .. d/du23, zero rows when isotropic


class AtomKernel:
    """Form factors of one set of atoms and the matrices of one cell, reused between calls.

    ``truncation``: "smooth" or "hard" (module docstring). ``h_cutoff``: the level of
    hydrogen atoms when it is not ``cutoff`` (see `XrayTarget`). ``general=True`` never
    takes the factorised path of isotropic atoms (orthogonal, monoclinic and hexagonal
    cells; for tests).
    """

    def __init__(self, element: np.ndarray, cell: gemmi.UnitCell,
                 cutoff: float = DEFAULT_CUTOFF, truncation: str = "smooth",
                 general: bool = False, h_cutoff: float | None = None):
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, not {truncation!r}")
        self.eidx, self.acoef, self.bcoef, symbols = form_factor_table(element,
                                                                       symbols=True)
        self.n = len(self.eidx)
        self.cell = cell
        self.orth, self.frac = cell_matrices(cell)
        self.cutoff = float(cutoff)
        self.truncation = truncation
        #: the level of each element (indexed like acoef) and what the grid loses there
        self.cuts = np.full(len(symbols), self.cutoff)
        if h_cutoff is not None:
            self.cuts[np.isin(np.char.upper(symbols.astype(str)), ("H", "D"))] = h_cutoff
        self.subs = self.cuts.copy() if truncation == "smooth" else np.zeros(len(symbols))
        self.general = general
        self._private = {}       # per-thread spreading grids by (shape, threads, dtype)

    def fractional(self, xyz: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(xyz, float) @ self.frac.T)

    def _atom_arrays(self, xyz, b, aniso, blur, index=None):
        """Fractional positions, B + blur, U rows and the anisotropic flags, checked."""
        b = np.asarray(b, float)
        eidx = self.eidx
        n = len(b)
        if aniso is None:
            uani = np.zeros((n, 6))
        else:
            uani = np.asarray(aniso, float).reshape(n, 6)
        if index is not None:
            xyz, b, uani, eidx = np.asarray(xyz)[index], b[index], uani[index], eidx[index]
        isan = uani.any(axis=1)
        beff = b + blur
        bmin_form = min(float(self.bcoef.min()), 0.0)
        if len(beff):
            iso_ok = np.where(isan, 1.0, beff + bmin_form)
            if iso_ok.min() <= 0:
                raise ValueError("B + blur must be positive for every atom")
            if isan.any():
                lmin = _k().min_eigenvalues(np.ascontiguousarray(uani[isan]))
                if (lmin + (blur + bmin_form) / U_TO_B).min() <= 0:
                    bad = np.flatnonzero(isan)[np.argmin(lmin)]
                    raise ValueError(
                        f"anisotropic U of atom {bad} plus the blur is not positive "
                        f"definite (smallest eigenvalue {lmin.min():.4g} A^2)")
        c = np.ascontiguousarray
        return self.fractional(xyz), c(beff), c(uani), c(isan), c(eidx)

    def overlap(self, grid: np.ndarray, xyz, b, occ, blur: float = 0.0, grad: bool = True,
                index: np.ndarray | None = None, b_grad: bool = True,
                aniso: np.ndarray | None = None, xyz_grad: bool = True) -> Overlap:
        """Overlap of the atoms (or those at ``index``) with the map values ``grid`` (an
        (n0, n1, n2) array over the unit cell). ``aniso``: U rows (n, 6), zero rows for
        isotropic atoms. ``b_grad=False`` skips the B and U derivatives (then zero),
        ``xyz_grad=False`` with it the position ones too (the occupancy derivative only
        needs the value)."""
        grid = np.asarray(grid)
        if grid.dtype not in (np.float32, np.float64):
            grid = grid.astype(np.float64)
        # the kernels index the C-ordered [a, b, c] array flat (a gemmi grid's array
        # is that order but Fortran-contiguous)
        grid = np.ascontiguousarray(grid)
        occ = np.asarray(occ, float)
        if index is not None:
            occ = occ[index]
        frac, beff, uani, isan, eidx = self._atom_arrays(xyz, b, aniso, blur, index)
        mode = 1 if not grad else (3 if b_grad else (2 if xyz_grad else 1))
        out = _k().overlap_atoms(grid, self.orth, self.frac, frac, beff, uani, isan, eidx,
                                 self.acoef, self.bcoef, float(blur), self.cuts, self.subs,
                                 mode, self.general)
        dv = self.cell.volume / grid.size
        unit = out[:, 0] * dv
        if not grad:
            return Overlap(unit * occ, None, None, None, None)
        w = dv * occ
        return Overlap(unit * occ, out[:, 1:4] * w[:, None], out[:, 4] * w, unit,
                       out[:, 5:11] * w[:, None])

    def spread(self, shape, xyz, b, occ, blur: float = 0.0, aniso: np.ndarray | None = None,
               threads: int | None = None, out: np.ndarray | None = None,
               dtype=np.float64) -> np.ndarray:
        """The density sum_j q_j rho~_j on a grid of ``shape`` (e/A^3; ``dtype`` or that of
        ``out``), spread over ``threads`` threads (default: numba's count), each into a
        grid of its own, added at the end."""
        k = _k()
        shape = tuple(int(x) for x in shape)
        frac, beff, uani, isan, eidx = self._atom_arrays(xyz, b, aniso, blur)
        occ = np.ascontiguousarray(np.asarray(occ, float))
        if out is not None:
            if out.shape != shape or not out.flags.c_contiguous:
                raise ValueError(f"out must be a C-contiguous array of shape {shape}")
            dtype = out.dtype
        if threads is None:
            threads = _threads()
        args = (self.orth, self.frac, frac, beff, uani, isan, occ, eidx, self.acoef,
                self.bcoef, float(blur), self.cuts, self.subs, self.general)
        if threads > 1 and len(occ) > 4 * threads:
            key = (shape, threads, np.dtype(dtype))
            priv = self._private.get(key)
            if priv is None:       # per-thread grids, kept for the next call
                priv = self._private[key] = np.empty((threads - 1,) + shape, dtype)
            grid = np.empty(shape, dtype) if out is None else out
            k.spread_atoms_parallel(grid, priv, *args)
            return grid
        if out is None:
            grid = np.zeros(shape, dtype)
        else:
            grid = out
            grid.fill(0.0)
        k.spread_atoms(grid, *args)
        return grid


def map_overlap(grid, cell: gemmi.UnitCell, xyz, b, occ, element, blur: float = 0.0,
                cutoff: float = DEFAULT_CUTOFF, grad: bool = True,
                aniso: np.ndarray | None = None) -> Overlap:
    """Overlap of each atom's density with a map; ``grid`` is a gemmi.FloatGrid or an
    array over ``cell`` (see the module docstring for the definition)."""
    arr = np.asarray(grid.array) if hasattr(grid, "array") else np.asarray(grid)
    return AtomKernel(element, cell, cutoff).overlap(arr, xyz, b, occ, blur, grad,
                                                     aniso=aniso)


def model_density(shape, cell: gemmi.UnitCell, xyz, b, occ, element, blur: float = 0.0,
                  cutoff: float = DEFAULT_CUTOFF, aniso: np.ndarray | None = None,
                  truncation: str = "smooth") -> np.ndarray:
    """sum_j q_j rho~_j on a grid of ``shape`` over the unit cell, no symmetry mates."""
    return AtomKernel(element, cell, cutoff, truncation).spread(shape, xyz, b, occ, blur,
                                                                aniso=aniso)
