"""Intensities to amplitudes by French & Wilson (1978).

The posterior mean of |F| given the measured I (Gaussian error sigma) and a Wilson prior
(acentric: p(J) = exp(-J/S)/S; centric: p(J) = exp(-J/2S)/sqrt(2 pi S J)), where
S = epsilon * <I/epsilon> in the reflection's resolution bin. Negative intensities are
measurements like any other and give small positive amplitudes. The moments are
computed by Gauss-Legendre quadrature over F on an interval that covers the posterior.
"""

from __future__ import annotations

import numpy as np

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)


def wilson_mean_intensity(iobs: np.ndarray, d: np.ndarray, epsilon: np.ndarray,
                          per_bin: int = 300) -> np.ndarray:
    """<I/epsilon> as a function of resolution, evaluated for every reflection.

    Means over bins of ``per_bin`` reflections (equal counts in 1/d^2), interpolated
    linearly in 1/d^2 between bin centres. NaN intensities are ignored.
    """
    s2 = 1.0 / d ** 2
    ok = np.isfinite(iobs)
    order = np.argsort(s2[ok])
    x = s2[ok][order]
    y = (iobs[ok] / epsilon[ok])[order]
    nb = max(1, len(x) // per_bin)
    edges = np.linspace(0, len(x), nb + 1).astype(int)
    xc = np.array([x[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    yc = np.array([y[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    # a bin of mostly noise can average <= 0: keep the prior proper and weak
    floor = 1e-3 * np.abs(yc).max()
    yc = np.maximum(yc, floor)
    return np.interp(s2, xc, yc)


def _moments(iobs, sigi, mu, centric):
    """Posterior <F> and <F^2> for J = F^2 >= 0 with density exp(-(J-mu)^2/2sig^2) * w(F).

    After the change of variable J = F^2 the weight w(F) is F for acentric and 1 for
    centric reflections (the prior's exponential is already folded into mu).
    """
    sig = sigi
    lo = np.sqrt(np.maximum(mu - 8 * sig, 0.0))
    # when mu is below zero the posterior decays like exp(-J |mu| / sig^2)
    hi_j = np.maximum(mu + 8 * sig, 40 * sig ** 2 / np.maximum(np.abs(mu), sig))
    hi = np.sqrt(np.maximum(hi_j, lo ** 2 + 1e-12 * sig))
    half = 0.5 * (hi - lo)
    fq = (lo + half)[:, None] + half[:, None] * _NODES[None, :]
    logp = -((fq ** 2 - mu[:, None]) ** 2) / (2 * sig[:, None] ** 2)
    logp = np.where(centric[:, None], logp, logp + np.log(np.maximum(fq, 1e-300)))
    logp -= logp.max(axis=1, keepdims=True)
    w = np.exp(logp) * _WEIGHTS[None, :]
    z = w.sum(axis=1)
    f1 = (w * fq).sum(axis=1) / z
    f2 = (w * fq ** 2).sum(axis=1) / z
    return f1, f2


def french_wilson(iobs: np.ndarray, sigi: np.ndarray, d: np.ndarray,
                  centric: np.ndarray, epsilon: np.ndarray,
                  mean_intensity: np.ndarray | None = None,
                  chunk: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """(F, sigF) from (I, sigI); NaN in, NaN out.

    ``mean_intensity`` (<I/epsilon> per reflection) defaults to the binned Wilson mean.
    """
    iobs = np.asarray(iobs, float)
    sigi = np.asarray(sigi, float)
    ok = np.isfinite(iobs) & np.isfinite(sigi) & (sigi > 0)
    if mean_intensity is None:
        mean_intensity = wilson_mean_intensity(np.where(ok, iobs, np.nan), d, epsilon)
    big_s = epsilon * mean_intensity
    f = np.full(len(iobs), np.nan)
    sf = np.full(len(iobs), np.nan)
    idx = np.flatnonzero(ok)
    for a in range(0, len(idx), chunk):
        j = idx[a:a + chunk]
        c = centric[j].astype(bool)
        s = sigi[j]
        # Gaussian likelihood times exponential prior = shifted Gaussian in J
        mu = iobs[j] - s ** 2 / np.where(c, 2 * big_s[j], big_s[j])
        f1, f2 = _moments(iobs[j], s, mu, c)
        f[j] = f1
        sf[j] = np.sqrt(np.maximum(f2 - f1 ** 2, 0.0))
    return f, sf
