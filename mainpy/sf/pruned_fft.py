"""The FFTs of the engine, cut to the box of Fourier coefficients the Miller indices need.

For a real grid rho over the unit cell (indexed [a, b, c], n = (n0, n1, n2) points,
N = n0 n1 n2) and Miller indices h of a space group with operations x -> R x + t,

    F(h) = factor_h sum_ops F1(h R) exp(2 pi i h.t),
    F1(k) = (V/N) sum_g rho(x_g) exp(2 pi i k.x_g)

(with the identity as the only operation when the grid already has the symmetry, as the
solvent mask does). Only the box |k0| <= m0, |k1| <= m1, 0 <= k2 <= m2 of the half
transform is computed (m = the largest |h R| per axis): after the real transform along
c the rows beyond m2 are dropped, after the transform along b those beyond +-m1, and so
on (about 15 % of the half transform at the usual sampling). The box is stored with
negative indices wrapped, shape (2 m0 + 1, 2 m1 + 1, m2 + 1).

The inverse direction makes the real map of coefficients g_h given at the Miller indices
(the gradient map of the FFT method): M(x) = Re sum_h sum_ops g_h exp(-2 pi i h.t)
exp(-2 pi i (h R).x), scattered into the box (`scatter_gradient`), zero-padded, and
transformed back without the 1/N of numpy's inverse.

Single precision (a float32 grid, or ``single=True`` for the inverse) halves the time of
the transforms; they run on ``workers`` threads (scipy.fft).
"""

from __future__ import annotations

import numpy as np

from mainpy.sf.grid import image_limits, images


class PrunedFFT:
    """The forward and inverse pruned FFTs of one grid shape for fixed Miller indices."""

    def __init__(self, shape, hkl: np.ndarray, rot: np.ndarray, tran: np.ndarray):
        n0, n1, n2 = (int(x) for x in shape)
        hkl = np.ascontiguousarray(np.asarray(hkl, dtype=np.int64).reshape(-1, 3))
        k = images(hkl, rot)
        m0, m1, m2 = (int(x) for x in image_limits(k))
        if 2 * m0 >= n0 or 2 * m1 >= n1 or 2 * m2 >= n2:
            raise ValueError(
                f"a grid of {n0} x {n1} x {n2} points cannot hold Miller indices up to "
                f"({m0}, {m1}, {m2}) (symmetry images included); it needs more than "
                f"twice as many points along each axis")
        self.shape = (n0, n1, n2)
        self.npoints = n0 * n1 * n2
        self.m = (m0, m1, m2)
        self.box = (2 * m0 + 1, 2 * m1 + 1, m2 + 1)
        self.nref = len(hkl)
        self.ipos, self.ineg, self.shift = self._indices(hkl, k, tran)
        self._buffers = {}

    def _indices(self, hkl, k, tran):
        """(ipos, ineg, shift), each (n reflections, n ops): flat box indices of k = h R
        (`images`; where k2 >= 0) and of -k (where k2 <= 0), -1 where not used;
        exp(2 pi i h.t)."""
        b0, b1, b2 = self.box

        def flat(k):
            return ((k[..., 0] % b0) * b1 + (k[..., 1] % b1)) * b2 + k[..., 2]

        ipos = np.where(k[..., 2] >= 0, flat(k), -1)
        ineg = np.where(k[..., 2] <= 0, flat(-k), -1)
        shift = np.exp(2j * np.pi * (hkl @ np.asarray(tran, np.float64).T))
        return (np.ascontiguousarray(ipos, np.int64), np.ascontiguousarray(ineg, np.int64),
                np.ascontiguousarray(shift))

    @staticmethod
    def _crop(a, m, axis):
        """Rows 0..m and -m..-1 of an axis (a copy, in the wrapped layout)."""
        n = a.shape[axis]
        idx = np.r_[0:m + 1, n - m:n]
        return np.take(a, idx, axis=axis)

    def _padded(self, name, shape, dtype):
        """A zeroed complex buffer kept between calls: only the rows of the box are ever
        written into it, so the rows between stay zero."""
        buf = self._buffers.get((name, dtype))
        if buf is None:
            buf = self._buffers[(name, dtype)] = np.zeros(shape, dtype)
        return buf

    # -- forward -------------------------------------------------------------------
    def forward(self, rho: np.ndarray, workers: int = 1) -> np.ndarray:
        """The box of rfftn(rho) (numpy's sign: sum rho exp(-2 pi i k.x)); complex64 for
        a float32 grid (transformed in single precision), else complex128."""
        import scipy.fft
        if rho.shape != self.shape:
            raise ValueError(f"grid of shape {rho.shape}, expected {self.shape}")
        m0, m1, m2 = self.m
        a = scipy.fft.rfft(rho, axis=2, workers=workers)[:, :, :m2 + 1]
        a = scipy.fft.fft(a, axis=1, workers=workers)   # (in place on this view is slower)
        a = self._crop(a, m1, 1)
        a = scipy.fft.fft(a, axis=0, workers=workers, overwrite_x=True)
        return self._crop(a, m0, 0)

    def gather(self, box: np.ndarray, factor) -> np.ndarray:
        """F(h) = factor_h sum_ops F1(h R) exp(2 pi i h.t) from a box of `forward`
        (``factor`` includes V/N; a scalar or one value per reflection)."""
        from mainpy.sf.overlap import _k
        gather_fcalc = _k().gather_fcalc
        out = np.empty(self.nref, np.complex128)
        factor = np.broadcast_to(np.asarray(factor, np.float64), (self.nref,))
        gather_fcalc(box.reshape(-1), self.ipos, self.ineg, self.shift,
                     np.ascontiguousarray(factor), out)
        return out

    def structure_factors(self, rho: np.ndarray, volume: float, workers: int = 1):
        """F(h) = (V/N) sum_g rho(x_g) exp(2 pi i h.x_g) summed over the operations."""
        return self.gather(self.forward(rho, workers), volume / self.npoints)

    # -- inverse -------------------------------------------------------------------
    def scatter(self, g: np.ndarray, single: bool = False) -> np.ndarray:
        """The box of the half transform whose inverse is the map of coefficients g_h
        (see the module docstring), complex128 (complex64 with ``single``)."""
        from mainpy.sf.overlap import _k
        scatter_gradient = _k().scatter_gradient
        half = np.zeros(self.box, np.complex128)
        scatter_gradient(half.reshape(-1), self.ipos, self.ineg, self.shift,
                         np.ascontiguousarray(g, np.complex128))
        np.conjugate(half, out=half)
        return half.astype(np.complex64) if single else half

    def inverse(self, box: np.ndarray, workers: int = 1) -> np.ndarray:
        """sum_k box_k exp(2 pi i k.x) over the Hermitian half transform that is ``box``
        inside and zero outside: a real grid (float32 for a complex64 box)."""
        import scipy.fft
        n0, n1, n2 = self.shape
        m0, m1, m2 = self.m
        ctype = box.dtype
        p0 = self._padded("axis0", (n0,) + self.box[1:], ctype)
        p0[:m0 + 1] = box[:m0 + 1]
        p0[n0 - m0:] = box[m0 + 1:]
        a = scipy.fft.ifft(p0, axis=0, workers=workers, norm="forward")
        p1 = self._padded("axis1", (n0, n1, m2 + 1), ctype)
        p1[:, :m1 + 1] = a[:, :m1 + 1]
        p1[:, n1 - m1:] = a[:, m1 + 1:]
        a = scipy.fft.ifft(p1, axis=1, workers=workers, norm="forward")
        full = self._padded("axis2", (n0, n1, n2 // 2 + 1), ctype)
        full[:, :, :m2 + 1] = a           # a zero-padded input keeps irfft threaded
        return scipy.fft.irfft(full, n=n2, axis=2, workers=workers, norm="forward")

    def map_of(self, g: np.ndarray, workers: int = 1, single: bool = False) -> np.ndarray:
        """The real map M of coefficients g_h (float32 with ``single``)."""
        return self.inverse(self.scatter(g, single), workers)
