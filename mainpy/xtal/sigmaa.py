"""sigmaA: D and the error variance per resolution bin, figures of merit (Read 1986).

For each reflection the observed amplitude is distributed about D*|Fc| (Rice
distribution; Luzzati/Srinivasan model): acentric
    p(Fo) = 2 Fo / v * exp(-(Fo^2 + D^2 Fc^2) / v) * I0(2 Fo D Fc / v)
centric
    p(Fo) = sqrt(2 / (pi v)) * exp(-(Fo^2 + D^2 Fc^2) / (2 v)) * cosh(Fo D Fc / v)
with v = epsilon * S + sigF^2. D and S are estimated by maximum likelihood per resolution
bin, normally from the free (test) reflections so that the estimate is not biased by the
refinement, then interpolated in 1/d^2 for every reflection. The free-set bins are of
equal width in 1/d^2 (servalcat's choice); equal counts remain available.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import i0e, i1e

from mainpy.lbfgs import Lbfgs


def _log_cosh(x):
    x = np.abs(x)
    return x + np.log1p(np.exp(-2 * x)) - np.log(2.0)


def log_likelihood(fo, fc, sigf, centric, epsilon, d_scale, s_var) -> np.ndarray:
    """Per-reflection log p(Fo | Fc; D, S) of the Rice model above."""
    v = epsilon * s_var + sigf ** 2
    a = fo ** 2 + (d_scale * fc) ** 2
    acen = np.log(2 * fo / v) - a / v + np.log(i0e(2 * fo * d_scale * fc / v)) \
        + 2 * fo * d_scale * fc / v
    cen = 0.5 * np.log(2 / (np.pi * v)) - a / (2 * v) + _log_cosh(fo * d_scale * fc / v)
    return np.where(centric, cen, acen)


def log_likelihood_grad(fo, fc, sigf, centric, epsilon, d_scale, s_var):
    """(sum of log p, d/dlog D, d/dlog S) of the Rice model above for one D and S."""
    v = epsilon * s_var + sigf ** 2
    a = fo ** 2 + (d_scale * fc) ** 2
    # acentric: x = 2 Fo D Fc / v, d log I0(x) / dx = I1/I0
    x = 2 * fo * d_scale * fc / v
    r = i1e(x) / i0e(x)
    acen = np.log(2 * fo / v) - a / v + np.log(i0e(x)) + x
    acen_dd = -2 * d_scale * fc ** 2 / v + r * 2 * fo * fc / v
    acen_dv = -1 / v + a / v ** 2 - r * x / v
    # centric: y = Fo D Fc / v, d logcosh(y) / dy = tanh(y)
    y = 0.5 * x
    t = np.tanh(y)
    cen = 0.5 * np.log(2 / (np.pi * v)) - a / (2 * v) + _log_cosh(y)
    cen_dd = -d_scale * fc ** 2 / v + t * fo * fc / v
    cen_dv = -0.5 / v + a / (2 * v ** 2) - t * y / v
    ll = np.where(centric, cen, acen)
    dd = np.where(centric, cen_dd, acen_dd)
    dv = np.where(centric, cen_dv, acen_dv)
    return ll.sum(), d_scale * dd.sum(), s_var * (dv * epsilon).sum()


def _fit_bin(fo, fc, sigf, centric, epsilon):
    """ML (D, S) for one bin of reflections (L-BFGS in log D, log S with the analytic
    gradient; Nelder-Mead needed ten times the evaluations for the same optimum)."""
    d0 = max((fo * fc).sum() / max((fc * fc).sum(), 1e-30), 1e-3)
    s0 = max(np.mean((fo ** 2 - (d0 * fc) ** 2) / epsilon), 0.05 * np.mean(fo ** 2 / epsilon))
    s0 = max(s0, 1e-6)

    def f(p):
        # trial steps far out (S of 1e30) give inf/nan, which the line search backs off
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            ll, gd, gs = log_likelihood_grad(fo, fc, sigf, centric, epsilon, np.exp(p[0]),
                                             np.exp(p[1]))
        return -ll, -np.array([gd, gs])

    # bounds keep exp() finite: D within 1e-6..1e3, S within e^+-30 of its start
    p0 = np.array([np.log(d0), np.log(s0)])
    lo, hi = np.array([np.log(1e-6), p0[1] - 30]), np.array([np.log(1e3), p0[1] + 30])
    res = Lbfgs(memory=5).minimize(f, p0, lo, hi, max_iter=500, gtol=1e-9, ftol=1e-13)
    return float(np.exp(res.x[0])), float(np.exp(res.x[1]))


@dataclass
class SigmaA:
    """Per-bin estimates and their per-reflection interpolations."""

    s2_bin: np.ndarray     # bin centres in 1/d^2
    d_bin: np.ndarray      # D per bin
    s_bin: np.ndarray      # S (error variance per epsilon) per bin
    D: np.ndarray          # per reflection
    S: np.ndarray          # per reflection
    n_bin: np.ndarray      # reflections used per bin
    sigmaa: np.ndarray     # sigmaA per bin: D * sqrt(<Fc^2/eps> / <Fo^2/eps>), in [0, 1]
    used_free: bool        # True if estimated from the free set


def _bin_edges(s2_sorted: np.ndarray, nb: int, binning: str) -> np.ndarray:
    """Start/end positions in the sorted 1/d^2 values of `nb` bins: equal counts
    ("count") or equal widths in 1/d^2 ("width", as servalcat; empty bins merged)."""
    n = len(s2_sorted)
    if binning == "count" or nb == 1:
        return np.linspace(0, n, nb + 1).astype(int)
    if binning != "width":
        raise ValueError(f"binning must be 'count' or 'width', not {binning!r}")
    lo, hi = s2_sorted[0], s2_sorted[-1]
    cuts = np.searchsorted(s2_sorted, np.linspace(lo, hi, nb + 1)[1:-1], side="right")
    return np.unique(np.concatenate([[0], cuts, [n]]))


def estimate_sigmaa(fobs, fcalc, sigf, centric, epsilon, d, use: np.ndarray,
                    per_bin: int = 100, max_bins: int = 20,
                    binning: str = "count") -> SigmaA:
    """D and S per resolution bin from the selected reflections (normally the free set).

    There are len(use)/``per_bin`` bins (at most ``max_bins``), of equal counts in 1/d^2
    (``binning="count"``) or of equal widths in 1/d^2 (``"width"``: fewer reflections at
    low resolution, so the low-resolution bin does not reach into the middle of the
    data). ``fcalc`` may be complex (its modulus is used); it should be the scaled Fmodel.
    """
    fc_abs = np.abs(fcalc)
    sig = np.nan_to_num(np.asarray(sigf, float), nan=0.0)
    use = np.asarray(use, bool) & np.isfinite(fobs) & (fobs > 0) & (fc_abs > 0)
    idx = np.flatnonzero(use)
    s2 = 1.0 / np.asarray(d, float) ** 2
    order = idx[np.argsort(s2[idx])]
    nb = int(np.clip(len(order) // per_bin, 1, max_bins))
    edges = _bin_edges(s2[order], nb, binning)
    xc, db, sb, nn, sa = [], [], [], [], []
    for a, b in zip(edges[:-1], edges[1:]):
        j = order[a:b]
        dd, ss = _fit_bin(fobs[j], fc_abs[j], sig[j], centric[j], epsilon[j])
        xc.append(s2[j].mean())
        db.append(dd)
        sb.append(ss)
        nn.append(len(j))
        ratio = np.mean(fc_abs[j] ** 2 / epsilon[j]) / np.mean(fobs[j] ** 2 / epsilon[j])
        sa.append(min(1.0, dd * np.sqrt(ratio)))
    xc, db, sb = map(np.array, (xc, db, sb))
    D = np.interp(s2, xc, db)
    S = np.exp(np.interp(s2, xc, np.log(sb)))
    return SigmaA(xc, db, sb, D, S, np.array(nn), np.array(sa), used_free=True)


#: binning of the free-set estimate: equal widths in 1/d^2 (as servalcat), so that the
#: few low-resolution free reflections get a bin of their own. With equal counts the
#: lowest bin of 1d7m's 769 free reflections reached from 37 to 4.6 A, the bulk-solvent
#: dominated low-resolution data got an S far too small and the refinement over-fitted
#: them (R-free 0.2813 -> 0.2762 with equal widths, same protocol).
FREE_BINNING = "width"


def sigmaa_for(refl, fmodel: np.ndarray, min_free: int = 200,
               binning: str | None = None) -> SigmaA:
    """sigmaA of a data set against Fmodel: from the free set when it has at least
    ``min_free`` reflections (about 100 per bin, equal widths in 1/d^2 unless
    ``binning="count"``), otherwise from the work set (about 500 per bin, equal counts)."""
    use_free = int(refl.test.sum()) >= min_free
    use = refl.test if use_free else refl.work
    if binning is None:
        binning = FREE_BINNING if use_free else "count"
    sa = estimate_sigmaa(refl.fobs, fmodel, refl.sigf, refl.centric, refl.epsilon, refl.d,
                         use, per_bin=100 if use_free else 500, binning=binning)
    sa.used_free = use_free
    return sa


def figure_of_merit(fobs, fcalc, sigf, centric, epsilon, D, S) -> np.ndarray:
    """Expected cos(phase error): I1(X)/I0(X) acentric, tanh(X/2) centric,
    X = 2 Fo D |Fc| / v. NaN where Fo is unobserved."""
    fc_abs = np.abs(fcalc)
    sig = np.nan_to_num(np.asarray(sigf, float), nan=0.0)
    v = epsilon * S + sig ** 2
    x = 2 * fobs * D * fc_abs / v
    with np.errstate(invalid="ignore"):
        m = np.where(centric, np.tanh(x / 2), i1e(x) / i0e(x))
    return np.where(np.isfinite(fobs) & (fobs > 0), m, np.nan)
