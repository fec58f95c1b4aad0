"""Reciprocal-space refinement targets: least squares, ML amplitudes, ML intensities.

Every target holds an `Fmodel` whose bulk-solvent and scale parameters are frozen between
re-phasings: per reflection k = k_iso * k_aniso and K = k_mask * Fmask are read by
`refresh()` (call it after ``fmodel.update(...)``), and only Fcalc follows the atoms:

    Fm(h) = k_h (Fc(h) + K_h),      F = |Fm|.

Fcalc is recomputed at every evaluation by the structure-factor engine
(`mainpy.sf.engine.StructureFactorEngine`: gemmi's algorithm and blur, atoms truncated
smoothly, single-precision grid and FFTs (SINGLE_FFT), a grid of rate REFINE_RATE;
R ~ 1e-4 .. 3e-4 from direct summation), and the gradients with respect to xyz, B,
occupancy and anisotropic U come from the FFT method: g_h = dT/dF_h * k_h * Fm_h / F_h
is turned into a map by one FFT and the atom-map overlap kernel gives every atom's
derivatives (no loops over reflections x atoms).

Sums run over the work set (observed, not free). Definitions (all with the scales above):

* LSQ:  T = sum_h w_h (Fo_h - F_h)^2,  w = 1/sigF^2 (``weight="sigma"``) or 1 ("unit").
* ML (amplitudes; Read 1986, Lunin & Skovoroda 1995, Murshudov et al. 1997):
  T = -sum_h log p(Fo | F) with v = eps*S + sigF^2 and D, S per resolution bin from the
  Fmodel's sigmaA estimate (free set), fixed between re-phasings;
  acentric p = 2Fo/v exp(-(Fo^2 + D^2F^2)/v) I0(2 Fo D F / v),
  centric  p = sqrt(2/(pi v)) exp(-(Fo^2 + D^2F^2)/(2v)) cosh(Fo D F / v).
* MLI (intensities, for data measured as I; cf. Read & McCoy 2016): the exact marginal
  likelihood of the measured intensity under the same model, with the measurement error
  Gaussian in I and the true amplitude F' Rice-distributed about D*F with variance eps*S:
  T = -sum_h log int_0^inf N(I_h; F'^2, sigI_h^2) p(F' | D F, eps S) dF',
  p acentric = 2F'/Sig exp(-(F'^2 + D^2F^2)/Sig) I0(2F'DF/Sig), centric
  sqrt(2/(pi Sig)) exp(-(F'^2 + D^2F^2)/(2 Sig)) cosh(F'DF/Sig), Sig = eps*S.
  The integral is a 32-point Gauss-Legendre rule in F' over the interval where
  N(I; F'^2, sigI^2) is not negligible (|F'^2 - I| < 8 sigI, fixed by the data), so the
  value is an explicit smooth function of F and its gradient is exact.
"""

from __future__ import annotations

import numpy as np

from mainpy.sf.engine import StructureFactorEngine
from mainpy.sf.overlap import DEFAULT_CUTOFF
from mainpy.targets.base import Result, Target


#: grid sampling (d_min / (2 rate)) of the refinement engine. RE_PHASE keeps gemmi's 1.5;
#: between re-phasings 1.25 costs 15-25 % less per refinement (1aba, 1d7m, 1l2h) for a
#: relative change of 1e-3 in the gradient and the same R-free to 0.0002.
REFINE_RATE = 1.25
#: the engine's FFTs in single precision: 18-22 % less per step (1aba, 1d7m, 1l2h) for a
#: change of 3e-7 in R between the Fcalcs and of 6e-7..7e-6 (of the largest entry) in the
#: gradients, far below the engine's own distance from direct summation (R ~ 1e-4)
SINGLE_FFT = True
#: truncation level (e/A^3) of hydrogens in the refinement engine, ten times the other
#: atoms': an H's density peaks 7x lower than a carbon's and is wider (B_H = 1.2 B of its
#: parent), so at the common level it covered 0.7 of a carbon's volume. Riding H cost
#: +35 / +32 / +36 % per ML value + gradient at the common level and +26 / +25 / +27 %
#: at this one (1aba, 1l2h, 1d7m; bench_targets_xray.py --hydrogens). Each H loses 2 %
#: of its electron (3 % at 2.4 A, where the blur is wider), less than the riding model's
#: own approximation of it; RE_PHASE and every reported R keep the common level
H_CUTOFF = 1e-4


def _safe_phase(fm, f):
    return np.where(f > 0, fm / np.where(f > 0, f, 1.0), 0.0)


class XrayTarget(Target):
    """Common machinery: frozen scales, fresh Fcalc, FFT gradients.

    Subclasses implement ``terms(F) -> (t_h, dt_h/dF_h)``, the per-reflection terms
    of T (T = sum t_h) for the amplitudes F = |Fm| of the reflections in ``self.sel``.
    """

    name = "xray"

    def __init__(self, fmodel, rate: float | None = None, cutoff: float = DEFAULT_CUTOFF,
                 workers: int | None = None, single: bool | None = None,
                 h_cutoff: float | None = H_CUTOFF):
        self.fmodel = fmodel
        self.single = SINGLE_FFT if single is None else single
        self.refl = fmodel.refl
        self.rate = REFINE_RATE if rate is None else rate
        self.d_min = getattr(fmodel.calc, "d_min", None)
        self.cutoff = cutoff
        self.h_cutoff = h_cutoff
        self.workers = workers
        self.engine: StructureFactorEngine | None = None
        self.fcalc = None          # Fcalc of the last evaluation
        self.refresh()

    # -- frozen parameters -----------------------------------------------------------
    def refresh(self) -> None:
        """Re-read k_iso*k_aniso, k_mask*Fmask (and sigmaA where used) from the Fmodel;
        call after every re-phasing (``fmodel.update``)."""
        fm = self.fmodel
        n = len(self.refl)
        if fm.scales is None:
            self.k = np.ones(n)
            self.kmask_fmask = np.zeros(n, complex)
        else:
            self.k = np.asarray(fm.k_iso * fm.k_aniso, float)
            self.kmask_fmask = np.asarray(fm.k_mask * fm.fmask, complex)
        if self.engine is not None:
            self.engine.blur = None    # Refmac's blur again for the atoms of the next call
        self._refresh_target()

    def _refresh_target(self) -> None:
        r = self.refl
        self.sel = np.flatnonzero(r.work)

    def _engine(self, atoms) -> StructureFactorEngine:
        if self.engine is None:
            r = self.refl
            self.engine = StructureFactorEngine(
                r.cell, r.spacegroup, r.hkl, d_min=self.d_min, rate=self.rate,
                cutoff=self.cutoff, truncation="smooth", workers=self.workers,
                single=self.single, h_cutoff=self.h_cutoff)
        return self.engine

    # -- evaluation ------------------------------------------------------------------
    def f_model(self, fcalc: np.ndarray) -> np.ndarray:
        """k (Fcalc + k_mask Fmask) with the frozen scales."""
        return self.k * (fcalc + self.kmask_fmask)

    def evaluate(self, atoms, params=("xyz",)) -> Result:
        eng = self._engine(atoms)
        fc = eng.fcalc(atoms)
        self.fcalc = fc
        fm = self.f_model(fc)
        f = np.abs(fm)
        sel = self.sel
        t_h, dtdf = self.terms(f[sel])
        value = t_h.sum()
        grad = {}
        if params:
            g = np.zeros(len(fm), complex)
            g[sel] = dtdf * self.k[sel] * _safe_phase(fm[sel], f[sel])
            grad = eng.gradient(atoms, g, params)
        r = self.refl
        fo = r.fobs
        w, t = r.work, r.test
        info = {"n": len(sel),
                "r_work": float(np.abs(fo[w] - f[w]).sum() / max(fo[w].sum(), 1e-30)),
                "r_free": float(np.abs(fo[t] - f[t]).sum() / max(fo[t].sum(), 1e-30))
                if t.any() else float("nan")}
        return Result(float(value), grad, info)

    def terms(self, f):
        """(per-reflection terms t_h, dt_h/dF_h) for amplitudes F of self.sel."""
        raise NotImplementedError

    def fisher_weights(self) -> np.ndarray:
        """Per reflection of self.sel, the expected curvature of its term in F_h times
        k_h^2 (up to a common factor): what an atom's share of F_h weighs in the
        Gauss-Newton curvature of the target."""
        return self.k[self.sel] ** 2

    def b_curvature(self, atoms, rows) -> np.ndarray:
        """The Fisher curvature of the target in the isotropic B of the atoms ``rows``
        (mainpy.sf.curvature; relative figures, for a preconditioner)."""
        from mainpy.sf.curvature import b_curvature, binned_weights
        s2, w = binned_weights(self.refl.s2[self.sel], self.fisher_weights())
        return b_curvature(atoms.element[rows], atoms.b[rows], atoms.occ[rows], s2, w)


class LsqTarget(XrayTarget):
    """T = sum_work w (Fo - |Fm|)^2 with w = 1/sigF^2 (``weight="sigma"``) or 1."""

    name = "lsq"

    def __init__(self, fmodel, weight: str = "sigma", **kw):
        if weight not in ("sigma", "unit"):
            raise ValueError("weight must be 'sigma' or 'unit'")
        self.weight = weight
        super().__init__(fmodel, **kw)

    def _refresh_target(self) -> None:
        super()._refresh_target()
        r = self.refl
        self.fo = r.fobs[self.sel]
        self.w = 1.0 / r.sigf[self.sel] ** 2 if self.weight == "sigma" else np.ones(len(self.sel))

    def terms(self, f):
        d = self.fo - f
        return self.w * d * d, -2.0 * self.w * d

    def fisher_weights(self) -> np.ndarray:
        return self.w * self.k[self.sel] ** 2


class MlTarget(XrayTarget):
    """Amplitude maximum likelihood, T = -sum_work log p(Fo | |Fm|) (module docstring)."""

    name = "ml"

    def _estimate_sigmaa(self):
        """D and S for the likelihood: the Fmodel's sigmaA (from the free set)."""
        return self.fmodel.sigmaa()

    def _refresh_target(self) -> None:
        super()._refresh_target()
        r = self.refl
        sa = self._estimate_sigmaa()
        self.sigmaa = sa
        s = self.sel
        self.fo = r.fobs[s]
        self.D = sa.D[s]
        self.v = r.epsilon[s] * sa.S[s] + r.sigf[s] ** 2
        self.cen = r.centric[s].astype(bool)

    def terms(self, f):
        from mainpy.targets._likelihood_kernels import ml_terms
        t = np.empty(len(f))
        d = np.empty(len(f))
        ml_terms(self.fo, self.D, self.v, self.cen, np.ascontiguousarray(f, float), t, d)
        return t, d

    def fisher_weights(self) -> np.ndarray:
        # the Rice likelihood's information about D F is of the order 1 / v
        return self.k[self.sel] ** 2 * self.D ** 2 / self.v


class MliTarget(XrayTarget):
    """Intensity maximum likelihood (module docstring); needs refl.iobs and refl.sigi."""

    name = "mli"
    n_nodes = 32
    width = 8.0      # the integral covers |F'^2 - I| < width * sigI

    def __init__(self, fmodel, **kw):
        r = fmodel.refl
        if r.iobs is None or r.sigi is None:
            raise ValueError("the intensity likelihood needs intensities: the data have "
                             "amplitudes only (use the amplitude ML target)")
        super().__init__(fmodel, **kw)

    def _refresh_target(self) -> None:
        r = self.refl
        ok = np.isfinite(r.iobs) & np.isfinite(r.sigi) & (r.sigi > 0) & ~r.free
        self.sel = s = np.flatnonzero(ok)
        sa = self.fmodel.sigmaa()
        self.sigmaa = sa
        self.D = sa.D[s]
        self.sig2 = r.epsilon[s] * sa.S[s]
        self.cen = r.centric[s].astype(bool)
        i, si = r.iobs[s], r.sigi[s]
        self.nodes, self.logw = mli_nodes(i, si, self.n_nodes, self.width)

    def terms(self, f):
        from mainpy.targets._likelihood_kernels import mli_terms
        t = np.empty(len(f))
        d = np.empty(len(f))
        mli_terms(self.nodes, self.logw, self.D, self.sig2, self.cen,
                  np.ascontiguousarray(f, float), t, d)
        return t, d

    def fisher_weights(self) -> np.ndarray:
        return self.k[self.sel] ** 2 * self.D ** 2 / np.maximum(self.sig2, 1e-30)


def mli_nodes(iobs, sigi, n_nodes: int = 64, width: float = 8.0):
    """Gauss-Legendre nodes in F' (m, n) and log(weight * N(I; F'^2, sigI^2)) for the
    intensity likelihood; the interval in J = F'^2 is [max(I - w sigI, 0), I + w sigI]
    (extended for very negative I, where the integrand decays from J = 0)."""
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    i = np.asarray(iobs, float)
    s = np.asarray(sigi, float)
    jlo = np.maximum(i - width * s, 0.0)
    jhi = np.maximum(i + width * s, 5.0 * width * s ** 2 / np.maximum(np.abs(i), s))
    lo, hi = np.sqrt(jlo), np.sqrt(jhi)
    half = 0.5 * (hi - lo)
    mid = lo + half
    fp = mid[:, None] + half[:, None] * x[None, :]
    logw = (np.log(w)[None, :] + np.log(half)[:, None]
            - (i[:, None] - fp * fp) ** 2 / (2 * s[:, None] ** 2)
            - 0.5 * np.log(2 * np.pi * s[:, None] ** 2))
    return fp, logw


def xray_target(kind: str, fmodel, **kw) -> XrayTarget:
    """'lsq' | 'ml' | 'mli' -> the target on this Fmodel (MAIN's ENER XRAY ... TARGET)."""
    kinds = {"lsq": LsqTarget, "ml": MlTarget, "mli": MliTarget}
    k = kind.lower()
    if k not in kinds:
        raise ValueError(f"unknown X-ray target {kind!r}; use one of {', '.join(kinds)}")
    return kinds[k](fmodel, **kw)
