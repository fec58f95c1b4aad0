"""Atom densities on a unit-cell grid and their overlap with a map (with derivatives).

The workhorse of the density targets and of the FFT gradient method (Agarwal 1978;
Afonine & Urzhumtsev 2004). For atom j with isotropic B_j, occupancy q_j and IT92 X-ray
form factor (a_k, b_k; k = 1..4, plus c as a fifth Gaussian with b_5 = 0), the density
per unit occupancy, blurred by an optional extra ``blur`` (A^2), is

    rho_j(r) = sum_k a_k (4 pi / beta_k)^(3/2) exp(-4 pi^2 r^2 / beta_k),
    beta_k = b_k + B_j + blur,

truncated smoothly as rho~_j = max(rho_j - cutoff, 0) (cutoff in e/A^3, like gemmi's
DensityCalculator), so every quantity below is continuous in x_j and B_j. The overlap
of atom j with a map M on an (n0, n1, n2) grid over the unit cell (periodic) is the
grid quadrature

    O_j = q_j * (V/N) * sum_g M(x_g) rho~_j(x_g - x_j),

and its derivatives dO_j/dx_j (Cartesian), dO_j/dB_j, dO_j/dq_j = O_j / q_j are exact
for this sum. Only isotropic atoms are handled (anisotropic U is refused).
"""

from __future__ import annotations

from dataclasses import dataclass

import gemmi
import numpy as np

DEFAULT_CUTOFF = 1e-5


def _k():
    from mainpy.targets import _kernels
    return _kernels


def form_factor_table(element: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index of each atom's element, a (ne, 5), b (ne, 5)): IT92 Gaussians of the
    distinct elements, the constant c as a fifth Gaussian with b = 0."""
    uniq, inv = np.unique(np.asarray(element), return_inverse=True)
    a = np.zeros((len(uniq), 5))
    b = np.zeros((len(uniq), 5))
    for i, el in enumerate(uniq):
        e = gemmi.Element(str(el))
        if e.name == "X" or not e.it92:
            raise ValueError(f"no IT92 form factor for element {el!r}")
        c = e.it92
        a[i, :4] = c.a
        b[i, :4] = c.b
        a[i, 4] = c.c
    return inv.reshape(-1).astype(np.int64), a, b


def cell_matrices(cell: gemmi.UnitCell) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(orthogonalization O, fractionalization F, |rows of F|) of a unit cell."""
    orth = np.array(cell.orth.mat, dtype=np.float64)
    frac = np.array(cell.frac.mat, dtype=np.float64)
    for m in (orth, frac):   # exact zeros for right angles (cos 90 = 6e-17)
        off = ~np.eye(3, dtype=bool)
        m[off & (np.abs(m) < 1e-12 * np.abs(m).max())] = 0.0
    return orth, frac, np.sqrt((frac ** 2).sum(axis=1))


def _check_iso(atoms, select=None):
    an = atoms.aniso if select is None else atoms.aniso[select]
    if an.size and np.any(an != 0):
        raise NotImplementedError(
            "anisotropic atoms are not supported by the density/FFT-gradient kernels yet; "
            "convert them to isotropic B first")


@dataclass
class Overlap:
    """Per-atom overlaps O_j and, when asked for, their derivatives."""

    value: np.ndarray             # (n,) O_j (occupancy included)
    dxyz: np.ndarray | None       # (n, 3)
    db: np.ndarray | None         # (n,)
    docc: np.ndarray | None       # (n,)


class AtomKernel:
    """Element coefficients and cell matrices for one set of atoms, reused between calls."""

    def __init__(self, element: np.ndarray, cell: gemmi.UnitCell,
                 cutoff: float = DEFAULT_CUTOFF, general: bool = False):
        self.eidx, self.acoef, self.bcoef = form_factor_table(element)
        self.cell = cell
        self.orth, self.frac, self.fnorm = cell_matrices(cell)
        self.cutoff = float(cutoff)
        self.general = general   # True: never use the orthogonal-cell fast path
        self._private = {}       # per-thread spreading grids by (shape, threads)

    def fractional(self, xyz: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(xyz, float) @ self.frac.T)

    def overlap(self, grid: np.ndarray, xyz, b, occ, blur: float = 0.0, grad: bool = True,
                index: np.ndarray | None = None, b_grad: bool = True) -> Overlap:
        """Overlap of the atoms (or those at ``index``) with the map values ``grid``
        (an (n0, n1, n2) array over the unit cell); ``b_grad=False`` skips dO/dB (db is
        then zero), a third of the work when only positions are refined."""
        grid = np.asarray(grid)
        if grid.dtype not in (np.float32, np.float64):
            grid = grid.astype(np.float64)
        xyz = np.asarray(xyz, float)
        b = np.asarray(b, float)
        occ = np.asarray(occ, float)
        eidx = self.eidx
        if index is not None:
            xyz, b, occ, eidx = xyz[index], b[index], occ[index], eidx[index]
        beff = b + blur
        if len(beff) and (beff + np.minimum(self.bcoef.min(), 0.0)).min() <= 0:
            raise ValueError("B + blur must be positive for every atom")
        out = _k().overlap_atoms(grid, self.orth, self.fnorm, self.fractional(xyz),
                                 np.ascontiguousarray(beff), eidx, self.acoef, self.bcoef,
                                 self.cutoff, grad, self.general, b_grad)
        dv = self.cell.volume / grid.size
        unit = out[:, 0] * dv
        if not grad:
            return Overlap(unit * occ, None, None, None)
        return Overlap(unit * occ, out[:, 1:4] * (dv * occ[:, None]), out[:, 4] * dv * occ,
                       unit)

    def spread(self, shape, xyz, b, occ, blur: float = 0.0, threads: int | None = None,
               out: np.ndarray | None = None) -> np.ndarray:
        """The density sum_j q_j rho~_j on a float64 grid of ``shape`` (e/A^3)."""
        k = _k()
        frac = self.fractional(xyz)
        beff = np.ascontiguousarray(np.asarray(b, float) + blur)
        occ = np.ascontiguousarray(np.asarray(occ, float))
        if threads is None:
            import numba
            threads = numba.get_num_threads()
        if threads > 1 and len(occ) > 4 * threads:
            shape = tuple(int(x) for x in shape)
            priv = self._private.get((shape, threads))
            if priv is None:       # per-thread grids, kept for the next call
                priv = self._private[(shape, threads)] = np.empty((threads - 1,) + shape)
            grid = np.empty(shape) if out is None else out
            k.spread_atoms_parallel(grid, priv, self.orth, self.fnorm, frac, beff, occ,
                                    self.eidx, self.acoef, self.bcoef, self.cutoff,
                                    self.general)
            return grid
        grid = np.zeros(tuple(shape)) if out is None else out
        if out is not None:
            grid.fill(0.0)
        k.spread_atoms(grid, self.orth, self.fnorm, frac, beff, occ, self.eidx,
                       self.acoef, self.bcoef, self.cutoff, self.general)
        return grid


def map_overlap(grid, cell: gemmi.UnitCell, xyz, b, occ, element, blur: float = 0.0,
                cutoff: float = DEFAULT_CUTOFF, grad: bool = True) -> Overlap:
    """Overlap of each atom's density with a map; ``grid`` is a gemmi.FloatGrid or an
    array over ``cell`` (see the module docstring for the definition)."""
    arr = np.asarray(grid.array) if hasattr(grid, "array") else np.asarray(grid)
    return AtomKernel(element, cell, cutoff).overlap(arr, xyz, b, occ, blur, grad)


def model_density(shape, cell: gemmi.UnitCell, xyz, b, occ, element, blur: float = 0.0,
                  cutoff: float = DEFAULT_CUTOFF) -> np.ndarray:
    """sum_j q_j rho~_j on a grid of ``shape`` over the unit cell, no symmetry mates."""
    return AtomKernel(element, cell, cutoff).spread(shape, xyz, b, occ, blur)
