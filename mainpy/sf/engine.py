"""`StructureFactorEngine`: Fcalc at fixed Miller indices and the gradient of any
function of Fcalc with respect to the atoms.

Fcalc (gemmi's DensityCalculator with Refmac's blur, symmetry in reciprocal space): the
density of the atoms (not their symmetry mates), blurred by an extra B = ``blur``, is
spread on a grid of spacing d_min / (2 rate) (enlarged where the indices need it),
Fourier transformed (pruned) and the blur divided out,

    Fc(h) = exp(blur s^2/4) sum_ops F1(h R) exp(2 pi i h.t),
    F1(k) = (V/N) sum_g rho(x_g) exp(2 pi i k.x_g).

Gradient (Agarwal 1978; Afonine & Urzhumtsev 2004): for a target T with
g_h = dT/dA_h + i dT/dB_h (Fc = A + iB), dT/dp = sum_h Re(conj(g_h) dFc_h/dp)
= (V/N) sum_g M(x_g) drho/dp(x_g) with the real map
M(x) = Re sum_h sum_ops g_h exp(blur s^2/4) exp(-2 pi i h.t) exp(-2 pi i (h R).x) (one
inverse FFT), followed by the atom-map overlap kernel at each atom. With the smooth
truncation this is the exact derivative of the discrete Fcalc (same grid, blur and
truncation), for positions, B of isotropic atoms, the six stored U elements of
anisotropic atoms and occupancies.

Configurations: RE_PHASE (`mainpy.xtal.fcalc`) uses the hard truncation at rate 1.5 with
a float32 grid and the blur of the atoms at every call; the refinement targets the
smooth truncation at their own rate, the blur fixed between re-phasings (`set_blur`) so
that the value is a smooth function of B and U.
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.sf.grid import (aniso_rows, effective_b, grid_size, refmac_blur,
                            symmetry_ops)
from mainpy.sf.overlap import DEFAULT_CUTOFF, AtomKernel
from mainpy.sf.pruned_fft import PrunedFFT

PARAMS = ("xyz", "b", "occ", "aniso")


class StructureFactorEngine:
    """Fcalc of a model at fixed Miller indices, its density, and gradients by FFT.

    ``truncation``: "smooth" (targets and gradients) or "hard" (gemmi's cut, RE_PHASE).
    ``blur``: None for Refmac's rule, set for the atoms of the first call (or by
    `set_blur`) and then kept, so that the value is smooth in B; a number fixes it.
    ``workers``: threads of the FFTs and of the spreading (its per-thread grids); default
    numba's thread count at each call (the other kernels always use numba's count). ``single``: a float32 density grid and single-precision FFTs (twice as
    fast; Fcalc and gradients then agree with double precision to ~1e-6 relative, which
    refinement does not notice but finite differences would; gradient checks use the
    default double precision). ``h_cutoff``: the truncation level of hydrogens when it is
    not ``cutoff``.
    """

    def __init__(self, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup, hkl: np.ndarray,
                 d_min: float | None = None, rate: float = 1.5,
                 cutoff: float = DEFAULT_CUTOFF, truncation: str = "smooth",
                 blur: float | None = None, workers: int | None = None,
                 single: bool = False, h_cutoff: float | None = None):
        self.cell = cell
        self.spacegroup = spacegroup
        self.hkl = np.ascontiguousarray(np.asarray(hkl).reshape(-1, 3), dtype=np.int64)
        d = cell.calculate_d_array(self.hkl.astype(np.int32)) if len(self.hkl) \
            else np.array([10.0])
        self.d_min = float(min(d.min(), d_min or np.inf))
        self.s2 = 1.0 / d ** 2 if len(self.hkl) else np.zeros(0)
        self.rate = float(rate)
        self.cutoff = float(cutoff)
        self.h_cutoff = h_cutoff
        self.truncation = truncation
        self.single = bool(single)
        self.workers = workers
        self.spacing = self.d_min / (2 * self.rate)
        self.rot, self.tran = symmetry_ops(spacegroup)
        self.shape = grid_size(cell, spacegroup, self.spacing, self.hkl, self.rot)
        if self.shape != grid_size(cell, spacegroup, self.spacing):
            # enlarged to hold the indices (a rate below ~1.2): the blur follows the
            # grid as it is (5e5z at rate 0.7: R 4e-3 from direct summation, not 2e-2)
            rec = cell.reciprocal()
            self.spacing = max(1.0 / (n * r) for n, r in zip(self.shape,
                                                              (rec.a, rec.b, rec.c)))
        self.npoints = int(np.prod(self.shape))
        self.fft = PrunedFFT(self.shape, self.hkl, self.rot, self.tran)
        self.kernel: AtomKernel | None = None
        self._elements = None
        self._rho = None          # the density grid, reused between calls
        self.blur = None
        self.unblur = None
        if blur is not None:
            self._set_blur_value(blur)

    # -- set-up --------------------------------------------------------------------
    def threads(self) -> int:
        if self.workers is not None:
            return int(self.workers)
        import numba
        return numba.get_num_threads()

    def kernel_for(self, atoms) -> AtomKernel:
        """The atom kernel for these atoms' elements (made again when they change)."""
        el = atoms.element
        if self.kernel is None or self._elements is None or len(self._elements) != len(el) \
                or (self._elements is not el and not np.array_equal(self._elements, el)):
            self.kernel = AtomKernel(el, self.cell, self.cutoff, self.truncation,
                                     h_cutoff=self.h_cutoff)
            self._elements = el
        return self.kernel

    # -- blur ------------------------------------------------------------------------
    def _set_blur_value(self, blur: float) -> None:
        self.blur = float(blur)
        self.unblur = np.exp(self.blur * 0.25 * self.s2)

    def set_blur(self, atoms, select: np.ndarray | None = None) -> float:
        """Refmac's blur for the atoms that have density (nonzero occupancy, selected):
        B_min is the smallest B, or 8 pi^2 times the smallest eigenvalue of U for an
        anisotropic atom (kept until called again)."""
        use = np.asarray(atoms.occ) != 0
        if select is not None:
            use &= np.asarray(select, bool)
        b = effective_b(atoms)[use]
        b_min = min(float(b.min()), 1000.0) if len(b) else 1000.0
        self._set_blur_value(refmac_blur(self.spacing, b_min))
        return self.blur

    def _ensure_blur(self, atoms) -> None:
        if self.blur is None:
            self.set_blur(atoms)
            return
        if not len(atoms):
            return
        b = atoms.b if not aniso_rows(atoms).any() else effective_b(atoms)
        if b.min() + self.blur < 0.5 * refmac_blur(self.spacing, 0.0):
            # atoms got much sharper than the grid was chosen for: blur more (rare;
            # the value changes at round-off level since the blur is divided out)
            self.set_blur(atoms)

    # -- Fcalc -----------------------------------------------------------------------
    def density(self, atoms, select: np.ndarray | None = None,
                out: np.ndarray | None = None) -> np.ndarray:
        """The blurred density of the (selected) atoms on the grid, no symmetry mates
        (float32 when ``single``)."""
        self._ensure_blur(atoms)
        occ = atoms.occ if select is None else np.where(select, atoms.occ, 0.0)
        return self.kernel_for(atoms).spread(
            self.shape, atoms.xyz, atoms.b, occ, self.blur, aniso=atoms.aniso,
            threads=self.threads(), out=out,
            dtype=np.float32 if self.single else np.float64)

    def fcalc(self, atoms, select: np.ndarray | None = None) -> np.ndarray:
        """Complex Fcalc (complex128) at self.hkl; ``select`` limits the atoms used."""
        if self._rho is None:
            self._rho = np.empty(self.shape, np.float32 if self.single else np.float64)
        rho = self.density(atoms, select, out=self._rho)
        box = self.fft.forward(rho, self.threads())
        return self.fft.gather(box, self.unblur * (self.cell.volume / self.npoints))

    # -- gradient --------------------------------------------------------------------
    def gradient_map(self, g: np.ndarray) -> np.ndarray:
        """The real map M (grid shape; float32 when ``single``) for g_h = dT/dA_h +
        i dT/dB_h (see the module docstring)."""
        g = np.asarray(g, np.complex128) * self.unblur
        return self.fft.map_of(g, self.threads(), self.single)

    def gradient(self, atoms, g: np.ndarray, params=("xyz",)) -> dict:
        """dT/dxyz (n, 3), dT/dB (n,), dT/docc (n,), dT/daniso (n, 6) of every atom for
        g_h = dT/dFc_h, the ones named in ``params``. B derivatives of anisotropic atoms
        and U derivatives of isotropic ones are zero."""
        params = tuple(params)
        for p in params:
            if p not in PARAMS:
                raise ValueError(f"unknown parameter {p!r}; use one of {', '.join(PARAMS)}")
        if not params:
            return {}
        self._ensure_blur(atoms)
        m = self.gradient_map(g)
        ov = self.kernel_for(atoms).overlap(
            m, atoms.xyz, atoms.b, atoms.occ, self.blur, grad=True,
            b_grad="b" in params or "aniso" in params, xyz_grad="xyz" in params,
            aniso=atoms.aniso)
        src = {"xyz": ov.dxyz, "b": ov.db, "occ": ov.docc, "aniso": ov.daniso}
        return {p: src[p] for p in params}
