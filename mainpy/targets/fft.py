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


class _Pruning:
    """The FFTs of the engine cut to the box of Fourier coefficients that the Miller
    indices (and their symmetry mates h R) reach: |k0| <= m0, |k1| <= m1, 0 <= k2 <= m2
    (about 15 % of the half transform at the usual sampling). The box is stored as an
    array of shape (2 m0 + 1, 2 m1 + 1, m2 + 1) with negative indices wrapped, so that
    k mod box size addresses it like the full half transform."""

    def __init__(self, hkl: np.ndarray, rot: np.ndarray, shape):
        n0, n1, n2 = (int(x) for x in shape)
        if len(hkl):
            hr = np.einsum("ni,oij->onj", hkl, rot)
            m = np.abs(hr).max(axis=(0, 1))
        else:
            m = np.zeros(3, np.int64)
        m0, m1, m2 = (int(x) for x in m)
        if 2 * m0 >= n0 or 2 * m1 >= n1 or 2 * m2 >= n2:
            raise ValueError("the grid is too coarse for these Miller indices")
        self.shape = (n0, n1, n2)
        self.m = (m0, m1, m2)
        self.box = (2 * m0 + 1, 2 * m1 + 1, m2 + 1)
        self._buffers = {}

    def indices(self, hkl: np.ndarray, rot: np.ndarray, tran: np.ndarray):
        """(ipos, ineg, shift), each (n reflections, n ops), for the gather and scatter
        kernels: flat box indices of k = h R (k2 >= 0) and of -k (k2 <= 0), -1 where not
        used, and exp(2 pi i h.t)."""
        b0, b1, b2 = self.box
        k = np.einsum("ni,oij->noj", hkl, rot)

        def flat(k):
            return ((k[..., 0] % b0) * b1 + (k[..., 1] % b1)) * b2 + k[..., 2]

        ipos = np.where(k[..., 2] >= 0, flat(k), -1)
        ineg = np.where(k[..., 2] <= 0, flat(-k), -1)
        shift = np.exp(2j * np.pi * np.einsum("ni,oi->no", hkl, tran))
        return (np.ascontiguousarray(ipos, np.int64), np.ascontiguousarray(ineg, np.int64),
                np.ascontiguousarray(shift))

    @staticmethod
    def _crop(a, m, axis):
        """Rows 0..m and -m..-1 of an axis (a copy, in the wrapped layout)."""
        n = a.shape[axis]
        idx = np.r_[0:m + 1, n - m:n]
        return np.take(a, idx, axis=axis)

    def _padded(self, name, shape, dtype=np.complex128):
        """A zeroed complex buffer kept between calls: only the rows of the box are ever
        written into it, so the rows between stay zero."""
        buf = self._buffers.get((name, dtype))
        if buf is None:
            buf = self._buffers[(name, dtype)] = np.zeros(shape, dtype)
        return buf

    def forward(self, rho: np.ndarray, workers: int) -> np.ndarray:
        """The box of rfftn(rho) (numpy's sign: sum rho exp(-2 pi i k x)), complex128;
        a float32 ``rho`` is transformed in single precision."""
        m0, m1, m2 = self.m
        a = scipy.fft.rfft(rho, axis=2, workers=workers)[:, :, :m2 + 1]
        a = scipy.fft.fft(a, axis=1, workers=workers)   # (in place on this view is slower)
        a = self._crop(a, m1, 1)
        a = scipy.fft.fft(a, axis=0, workers=workers, overwrite_x=True)
        return self._crop(a, m0, 0).astype(np.complex128, copy=False)

    def inverse(self, box: np.ndarray, workers: int, single: bool = False) -> np.ndarray:
        """irfftn of the half transform that is ``box`` inside and zero outside (float32
        and transformed in single precision with ``single``)."""
        n0, n1, n2 = self.shape
        m0, m1, m2 = self.m
        ctype = np.complex64 if single else np.complex128
        p0 = self._padded("axis0", (n0,) + self.box[1:], ctype)
        p0[:m0 + 1] = box[:m0 + 1]
        p0[n0 - m0:] = box[m0 + 1:]
        a = scipy.fft.ifft(p0, axis=0, workers=workers)
        p1 = self._padded("axis1", (n0, n1, m2 + 1), ctype)
        p1[:, :m1 + 1] = a[:, :m1 + 1]
        p1[:, n1 - m1:] = a[:, m1 + 1:]
        a = scipy.fft.ifft(p1, axis=1, workers=workers)
        full = self._padded("axis2", (n0, n1, n2 // 2 + 1), ctype)
        full[:, :, :m2 + 1] = a           # a zero-padded input keeps irfft threaded
        return scipy.fft.irfft(full, n=n2, axis=2, workers=workers)


class FftStructureFactors:
    """Fcalc of isotropic atoms at fixed Miller indices, and gradients by FFT.

    ``blur`` defaults to Refmac's rule for the atoms passed to `set_blur` (the first
    `fcalc` call does it); it is then kept fixed so that the value is smooth in B.
    ``workers``: threads of the FFTs (default: numba's thread count). ``single``: the
    FFTs in single precision (twice as fast; the atom kernels and everything else stay
    float64): Fcalc and gradients then agree with the double-precision ones to ~1e-6
    relative, which refinement does not notice, but finite differences of the value
    would; gradient checks use the default.
    """

    def __init__(self, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup, hkl: np.ndarray,
                 element: np.ndarray, d_min: float | None = None, rate: float = 1.5,
                 cutoff: float = DEFAULT_CUTOFF, blur: float | None = None,
                 workers: int | None = None, single: bool = False):
        self.cell = cell
        self.single = single
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
        self.npoints = int(np.prod(self.shape))
        self.workers = workers
        self.prune = _Pruning(self.hkl, self.rot, self.shape)
        self._ipos, self._ineg, self._shift = self.prune.indices(self.hkl, self.rot,
                                                                 self.tran)
        self._rho = None          # the density grid, reused between calls
        self._rho32 = None        # its float32 copy (single)
        self._map = None          # the gradient map, reused between calls
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
    def density(self, atoms, select: np.ndarray | None = None,
                out: np.ndarray | None = None) -> np.ndarray:
        """The blurred density of the (selected) atoms on the grid, no symmetry mates."""
        _check_iso(atoms, select)
        self._ensure_blur(atoms)
        occ = atoms.occ if select is None else np.where(select, atoms.occ, 0.0)
        return self.kernel.spread(self.shape, atoms.xyz, atoms.b, occ, self.blur, out=out)

    def _threads(self) -> int:
        if self.workers is None:
            import numba
            self.workers = numba.get_num_threads()
        return self.workers

    def fcalc(self, atoms, select: np.ndarray | None = None) -> np.ndarray:
        """Complex Fcalc at self.hkl."""
        if self._rho is None:
            self._rho = np.empty(self.shape)
        rho = self.density(atoms, select, out=self._rho)
        if self.single:
            if self._rho32 is None:
                self._rho32 = np.empty(self.shape, np.float32)
            np.copyto(self._rho32, rho, casting="same_kind")
            rho = self._rho32
        half = self.prune.forward(rho, self._threads())
        out = np.empty(len(self.hkl), np.complex128)
        from mainpy.targets._kernels import gather_fcalc
        gather_fcalc(half.reshape(-1), self._ipos, self._ineg, self._shift,
                     self.unblur * (self.cell.volume / self.npoints), out)
        return out

    # -- gradient --------------------------------------------------------------------
    def gradient_map(self, g: np.ndarray) -> np.ndarray:
        """The real map M (float64, grid shape) for g_h = dT/dA_h + i dT/dB_h; the array
        is reused by the next call."""
        from mainpy.targets._kernels import scatter_gradient
        half = np.zeros(self.prune.box, np.complex128)
        scatter_gradient(half.reshape(-1), self._ipos, self._ineg, self._shift,
                         np.asarray(g, np.complex128) * self.unblur)
        np.conjugate(half, out=half)
        m = self.prune.inverse(half, self._threads(), self.single)
        if self._map is None:
            self._map = np.empty(self.shape)
        np.multiply(m, self.npoints, out=self._map)
        return self._map

    def gradient(self, atoms, g: np.ndarray, params=("xyz",)) -> dict:
        """dT/dxyz, dT/dB, dT/docc of every atom for g_h = dT/dFc_h (see the module)."""
        out = {}
        params = tuple(params)
        if not params:
            return out
        _check_iso(atoms)
        self._ensure_blur(atoms)
        m = self.gradient_map(g)
        ov = self.kernel.overlap(m, atoms.xyz, atoms.b, atoms.occ, self.blur, grad=True,
                                 b_grad="b" in params)
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
