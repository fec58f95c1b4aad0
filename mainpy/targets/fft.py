"""Fcalc by FFT and the gradient of any function of Fcalc by the FFT method.

Fcalc follows gemmi's DensityCalculator with Refmac's blur (what `mainpy.xtal.fcalc`
uses): the density of the atoms, blurred by an extra B = ``blur``, is sampled on a grid of
spacing d_min / (2 rate), Fourier transformed, and the blur divided out,

    Fc(h) = exp(blur s^2/4) sum_ops F1(h R) exp(2 pi i h.t),
    F1(k) = (V/N) sum_g rho_asu(x_g) exp(2 pi i k.x_g),

where rho_asu holds only the given atoms (not their symmetry mates) and the sum runs
over all symmetry operations x -> R x + t (centring included). Everything is float64,
so the value is a smooth function of the atoms to round-off.

Gradient (Agarwal 1978; Afonine & Urzhumtsev 2004): with g_h = dT/dA_h + i dT/dB_h
(Fc = A + iB), dT/dp = sum_h Re(conj(g_h) dFc_h/dp) = (V/N) sum_g M(x_g) drho/dp(x_g)
with the real map M(x) = Re sum_h sum_ops g_h exp(blur s^2/4) exp(-2 pi i h.t)
exp(-2 pi i (hR).x) -- one inverse FFT -- followed by the atom-map overlap kernel at each
atom. This is the exact derivative of the discrete Fcalc above (same grid, same blur,
same truncation), so it agrees with finite differences to round-off.
"""

from __future__ import annotations

import math

import gemmi
import numpy as np
import scipy.fft

from mainpy.targets.overlap import DEFAULT_CUTOFF, AtomKernel, _check_iso

U_TO_B = 8 * math.pi ** 2


def grid_size(cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup,
              spacing: float) -> tuple[int, int, int]:
    """gemmi's grid for the spacing (FFT-friendly, symmetry compatible, rounded up)."""
    g = gemmi.FloatGrid()
    g.unit_cell = cell
    g.spacegroup = spacegroup
    g.set_size_from_spacing(spacing, gemmi.GridSizeRounding.Up)
    return (g.nu, g.nv, g.nw)


def refmac_blur(spacing: float, b_min: float) -> float:
    """gemmi's set_refmac_compatible_blur: max(8 pi^2/1.1 spacing^2 - B_min, 0)."""
    return max(U_TO_B / 1.1 * spacing ** 2 - b_min, 0.0)


class FftStructureFactors:
    """Fcalc of isotropic atoms at fixed Miller indices, and gradients by FFT.

    ``blur`` defaults to Refmac's rule for the atoms passed to `set_blur` (the first
    `fcalc` call does it); it is then kept fixed so that the value is smooth in B.
    """

    def __init__(self, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup, hkl: np.ndarray,
                 element: np.ndarray, d_min: float | None = None, rate: float = 1.5,
                 cutoff: float = DEFAULT_CUTOFF, blur: float | None = None,
                 workers: int | None = None):
        self.cell = cell
        self.spacegroup = spacegroup
        self.hkl = np.ascontiguousarray(hkl, dtype=np.int64)
        d = cell.calculate_d_array(self.hkl.astype(np.int32)) if len(self.hkl) else np.array([10.])
        self.d_min = float(min(d.min(), d_min or np.inf))
        self.s2 = 1.0 / d ** 2
        self.rate = rate
        self.spacing = self.d_min / (2 * rate)
        self.shape = grid_size(cell, spacegroup, self.spacing)
        self.kernel = AtomKernel(element, cell, cutoff)
        ops = list(spacegroup.operations())
        self.rot = np.array([op.rot for op in ops], dtype=np.int64) // gemmi.Op.DEN
        self.tran = np.array([op.tran for op in ops], dtype=np.float64) / gemmi.Op.DEN
        self.n = np.array(self.shape, dtype=np.int64)
        self.npoints = int(np.prod(self.shape))
        self.workers = workers
        self.blur = None
        self.unblur = None
        if blur is not None:
            self._set_blur_value(blur)

    # -- blur ----------------------------------------------------------------------
    def _set_blur_value(self, blur: float) -> None:
        self.blur = float(blur)
        self.unblur = np.exp(self.blur * 0.25 * self.s2)

    def set_blur(self, b: np.ndarray) -> float:
        """Refmac's blur for atoms with these B values (kept until called again)."""
        bmin = float(np.min(b)) if len(b) else 0.0
        self._set_blur_value(refmac_blur(self.spacing, bmin))
        return self.blur

    def _ensure_blur(self, atoms) -> None:
        if self.blur is None:
            self.set_blur(atoms.b)
        elif len(atoms.b) and atoms.b.min() + self.blur < 0.5 * refmac_blur(self.spacing, 0.0):
            # atoms got much sharper than the grid was chosen for: blur more (rare;
            # the value changes at round-off level since the blur is divided out)
            self.set_blur(atoms.b)

    # -- Fcalc -----------------------------------------------------------------------
    def density(self, atoms, select: np.ndarray | None = None) -> np.ndarray:
        """The blurred density of the (selected) atoms on the grid, no symmetry mates."""
        _check_iso(atoms, select)
        self._ensure_blur(atoms)
        occ = atoms.occ if select is None else np.where(select, atoms.occ, 0.0)
        return self.kernel.spread(self.shape, atoms.xyz, atoms.b, occ, self.blur)

    def fcalc(self, atoms, select: np.ndarray | None = None) -> np.ndarray:
        """Complex Fcalc at self.hkl."""
        rho = self.density(atoms, select)
        half = scipy.fft.rfftn(rho, workers=self.workers)
        out = np.empty(len(self.hkl), np.complex128)
        from mainpy.targets._kernels import gather_fcalc
        gather_fcalc(half, self.hkl, self.rot, self.tran, self.n, self.unblur,
                     self.cell.volume / self.npoints, out)
        return out

    # -- gradient --------------------------------------------------------------------
    def gradient_map(self, g: np.ndarray) -> np.ndarray:
        """The real map M (float64, grid shape) for g_h = dT/dA_h + i dT/dB_h."""
        from mainpy.targets._kernels import scatter_gradient
        n0, n1, n2 = self.shape
        half = np.zeros((n0, n1, n2 // 2 + 1), np.complex128)
        scatter_gradient(half, self.hkl, self.rot, self.tran, self.n,
                         np.ascontiguousarray(g, np.complex128), self.unblur)
        np.conjugate(half, out=half)
        m = scipy.fft.irfftn(half, s=self.shape, workers=self.workers)
        m *= self.npoints
        return m

    def gradient(self, atoms, g: np.ndarray, params=("xyz",)) -> dict:
        """dT/dxyz, dT/dB, dT/docc of every atom for g_h = dT/dFc_h (see the module)."""
        out = {}
        params = tuple(params)
        if not params:
            return out
        _check_iso(atoms)
        self._ensure_blur(atoms)
        m = self.gradient_map(g)
        ov = self.kernel.overlap(m, atoms.xyz, atoms.b, atoms.occ, self.blur, grad=True)
        for p in params:
            if p == "xyz":
                out["xyz"] = ov.dxyz
            elif p == "b":
                out["b"] = ov.db
            elif p == "occ":
                out["occ"] = ov.docc
            else:
                raise ValueError(f"unknown parameter {p!r}")
        return out
