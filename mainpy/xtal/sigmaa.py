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
    n = len(fo)
    ll = log_likelihood(fo, fc, sigf, centric, epsilon, d_scale, s_var).sum()
    g, _ = _bin_derivatives(fo, fc, sigf, centric, epsilon, np.full(n, float(d_scale)),
                            np.full(n, float(s_var)), np.zeros(n, np.int64), 1)
    return float(ll), float(g[0, 0]), float(g[0, 1])


def _bin_derivatives(fo, fc, sigf, centric, epsilon, d_scale, s_var, bin_of, nb):
    """Per bin: the gradient and Hessian of the summed log p (`log_likelihood`) in
    (log D, log S), for per-reflection D and S (those of the reflection's bin). Returns
    g (nb, 2), h (nb, 3) = [d2/dp2, d2/dq2, d2/dp dq], p = log D, q = log S."""
    v = epsilon * s_var + sigf ** 2
    a = fo ** 2 + (d_scale * fc) ** 2
    u = 2 * fo * fc / v                      # x = D u
    x = d_scale * u
    fc2v = fc ** 2 / v
    # acentric: log I0(x), its first (r = I1/I0) and second (1 - r/x - r^2) derivatives
    r = i1e(x) / i0e(x)
    g2 = np.where(x > 1e-8, 1 - r / np.maximum(x, 1e-300) - r * r, 0.5)
    dd_a = -2 * d_scale * fc2v + r * u
    dv_a = -1 / v + a / v ** 2 - r * x / v
    ddd_a = -2 * fc2v + g2 * u * u
    dvv_a = 1 / v ** 2 - 2 * a / v ** 3 + (g2 * x * x + 2 * r * x) / v ** 2
    ddv_a = 2 * d_scale * fc2v / v - (g2 * x + r) * u / v
    # centric: log cosh(y), y = x/2 = D w
    w = 0.5 * u
    y = 0.5 * x
    t = np.tanh(y)
    h2 = 1 - t * t
    dd_c = -d_scale * fc2v + t * w
    dv_c = -0.5 / v + a / (2 * v ** 2) - t * y / v
    ddd_c = -fc2v + h2 * w * w
    dvv_c = 0.5 / v ** 2 - a / v ** 3 + (h2 * y * y + 2 * t * y) / v ** 2
    ddv_c = d_scale * fc2v / v - (h2 * y + t) * w / v
    c = centric
    dd, dv = np.where(c, dd_c, dd_a), np.where(c, dv_c, dv_a)
    e = epsilon * s_var                      # dv / dlog S
    terms = (d_scale * dd, e * dv,
             d_scale ** 2 * np.where(c, ddd_c, ddd_a) + d_scale * dd,
             e * e * np.where(c, dvv_c, dvv_a) + e * dv,
             d_scale * e * np.where(c, ddv_c, ddv_a))
    gp, gq, hpp, hqq, hpq = (np.bincount(bin_of, weights=z, minlength=nb) for z in terms)
    return np.stack([gp, gq], 1), np.stack([hpp, hqq, hpq], 1)


#: Newton iterations of the bin fits at most, and the step (in log D, log S) below
#: which a bin is done
_NEWTON_ITER, _NEWTON_TOL = 100, 1e-9


def _fit_bins(fo, fc, sigf, centric, epsilon, bin_of, nb):
    """ML (D, S) of every bin at once: Newton in (log D, log S) with the analytic
    Hessian of each bin (a gradient step where it is not positive definite), halving a
    bin's step until its likelihood rises. Returns (D (nb,), S (nb,)). All bins in one
    pass over the reflections, 10-20 passes in all: one L-BFGS fit per bin took three
    times as long (1aba's 8 free-set bins 19.5 -> 6.1 ms, 2r4r's 19 bins 43.6 -> 12.7 ms;
    the same D and S to 3e-7), paid at every re-phasing of a refinement."""
    cnt = np.maximum(np.bincount(bin_of, minlength=nb), 1)
    sfo = np.bincount(bin_of, weights=fo * fc, minlength=nb)
    sfc = np.bincount(bin_of, weights=fc * fc, minlength=nb)
    d0 = np.maximum(sfo / np.maximum(sfc, 1e-30), 1e-3)
    s_a = np.bincount(bin_of, weights=(fo ** 2 - (d0[bin_of] * fc) ** 2) / epsilon,
                      minlength=nb) / cnt
    s_b = 0.05 * np.bincount(bin_of, weights=fo ** 2 / epsilon, minlength=nb) / cnt
    s0 = np.maximum(np.maximum(s_a, s_b), 1e-6)
    # bounds keep exp() finite: D within 1e-6..1e3, S within e^+-30 of its start
    p = np.stack([np.log(d0), np.log(s0)], 1)
    lo = np.stack([np.full(nb, np.log(1e-6)), p[:, 1] - 30], 1)
    hi = np.stack([np.full(nb, np.log(1e3)), p[:, 1] + 30], 1)

    # trial steps far out (S of 1e30) give inf/nan, which the step halving backs off
    def value(q):            # -log p per bin: all a trial step needs
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            ll = log_likelihood(fo, fc, sigf, centric, epsilon, np.exp(q[bin_of, 0]),
                                np.exp(q[bin_of, 1]))
        return -np.bincount(bin_of, weights=ll, minlength=nb)

    def derivatives(q):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            g, h = _bin_derivatives(fo, fc, sigf, centric, epsilon, np.exp(q[bin_of, 0]),
                                    np.exp(q[bin_of, 1]), bin_of, nb)
        return -g, -h

    f = value(p)
    g, h = derivatives(p)
    active = np.ones(nb, bool)
    for _ in range(_NEWTON_ITER):
        det = h[:, 0] * h[:, 1] - h[:, 2] ** 2
        newton = (h[:, 0] > 0) & (det > 0)
        safe = np.where(newton, det, 1.0)
        step = np.where(newton[:, None],
                        -np.stack([h[:, 1] * g[:, 0] - h[:, 2] * g[:, 1],
                                   h[:, 0] * g[:, 1] - h[:, 2] * g[:, 0]], 1) / safe[:, None],
                        -g / np.maximum(np.abs(h[:, :2]), 1.0))
        step = np.clip(step, -2.0, 2.0) * active[:, None]
        # a step this small is taken as it is: the line search could not see it in f
        done = active & (np.abs(step).max(1) < _NEWTON_TOL)
        p[done] = np.clip(p[done] + step[done], lo[done], hi[done])
        active &= ~done
        if not active.any():
            break
        t = np.ones(nb)
        todo = active.copy()
        p_new, f_new = p.copy(), f.copy()
        for _ in range(40):
            trial = np.clip(p + t[:, None] * step, lo, hi)
            ft = value(trial)
            ok = todo & np.isfinite(ft) & (ft <= f + 1e-4 * t * (g * step).sum(1) + 1e-12 * abs(f))
            p_new[ok], f_new[ok] = trial[ok], ft[ok]
            todo &= ~ok
            if not todo.any():
                break
            t[todo] *= 0.5
        p, f = p_new, f_new
        active &= ~todo
        if not active.any():
            break
        g, h = derivatives(p)
    return np.exp(p[:, 0]), np.exp(p[:, 1])


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
    nb = len(edges) - 1
    bin_of = np.repeat(np.arange(nb), np.diff(edges))
    j = order
    db, sb = _fit_bins(fobs[j], fc_abs[j], sig[j], centric[j], epsilon[j], bin_of, nb)
    nn = np.diff(edges)
    xc = np.bincount(bin_of, weights=s2[j], minlength=nb) / nn
    ratio = (np.bincount(bin_of, weights=fc_abs[j] ** 2 / epsilon[j], minlength=nb)
             / np.bincount(bin_of, weights=fobs[j] ** 2 / epsilon[j], minlength=nb))
    sa = np.minimum(1.0, db * np.sqrt(ratio))
    D = np.interp(s2, xc, db)
    S = np.exp(np.interp(s2, xc, np.log(sb)))
    return SigmaA(xc, db, sb, D, S, nn, sa, used_free=True)


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
