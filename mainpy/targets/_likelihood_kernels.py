"""Numba kernels of the likelihood targets: per-reflection terms and their derivatives.

Imported lazily (by `mainpy.targets.xray`), never at ``import mainpy``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True)
def log_i0e_ratio(x):
    """(log(I0(x) exp(-x)), I1(x)/I0(x)) for x >= 0, to ~1e-15 relative: power series
    below 20, asymptotic expansion above."""
    if x < 20.0:
        y = 0.25 * x * x
        t0 = 1.0
        s0 = 1.0
        t1 = 1.0
        s1 = 1.0
        for k in range(1, 200):
            t0 *= y / (k * k)
            t1 *= y / (k * (k + 1.0))
            s0 += t0
            s1 += t1
            if t0 < 1e-17 * s0:
                break
        return math.log(s0) - x, 0.5 * x * s1 / s0
    inv8x = 1.0 / (8.0 * x)
    a0 = 1.0
    a1 = 1.0
    t0 = 1.0
    t1 = 1.0
    for k in range(1, 40):
        q = (2.0 * k - 1.0) ** 2
        t0 *= q * inv8x / k
        t1 *= -(4.0 - q) * inv8x / k
        a0 += t0
        a1 += t1
        if abs(t0) < 1e-17 * a0 and abs(t1) < 1e-17 * abs(a1):
            break
    return math.log(a0) - 0.5 * math.log(2.0 * math.pi * x), a1 / a0


@njit(cache=True)
def _log_cosh(x):
    x = abs(x)
    return x + math.log1p(math.exp(-2.0 * x)) - math.log(2.0)


@njit(cache=True, parallel=True)
def ml_terms(fo, D, v, cen, f, out_t, out_d):
    """Per reflection: t = -log p(Fo | D F, v) and dt/dF (Rice; acentric or centric; see
    mainpy.targets.xray.MlTarget)."""
    for i in prange(fo.shape[0]):
        x = 2.0 * fo[i] * D[i] * f[i] / v[i]
        a2 = fo[i] * fo[i] + (D[i] * f[i]) ** 2
        if cen[i]:
            xc = 0.5 * x
            out_t[i] = -0.5 * math.log(2.0 / (math.pi * v[i])) + a2 / (2.0 * v[i]) \
                - _log_cosh(xc)
            out_d[i] = D[i] * D[i] * f[i] / v[i] - (fo[i] * D[i] / v[i]) * math.tanh(xc)
        else:
            li0e, ratio = log_i0e_ratio(x)
            out_t[i] = -math.log(2.0 * fo[i] / v[i]) + a2 / v[i] - li0e - x
            out_d[i] = 2.0 * D[i] * D[i] * f[i] / v[i] - (2.0 * fo[i] * D[i] / v[i]) * ratio


@njit(cache=True, parallel=True)
def mli_terms(fp, logw, D, sig2, cen, f, out_t, out_d):
    """Per reflection: t = -log sum_n exp(logw_n + log p(F'_n | D f, sig2)) and dt/df
    (Rice p, acentric or centric; see mainpy.targets.xray)."""
    m, nq = fp.shape
    for i in prange(m):
        d = D[i]
        s = sig2[i]
        fc = f[i]
        L = np.empty(nq)
        G = np.empty(nq)
        lmax = -1e300
        for n in range(nq):
            x = fp[i, n]
            a2 = x * x + (d * fc) * (d * fc)
            if cen[i]:
                z = x * d * fc / s
                lp = 0.5 * math.log(2.0 / (math.pi * s)) - a2 / (2.0 * s) + _log_cosh(z)
                g = -d * d * fc / s + (x * d / s) * math.tanh(z)
            else:
                z = 2.0 * x * d * fc / s
                li0e, ratio = log_i0e_ratio(z)
                lp = math.log(2.0 * x / s) - a2 / s + li0e + z
                g = -2.0 * d * d * fc / s + (2.0 * x * d / s) * ratio
            L[n] = logw[i, n] + lp
            G[n] = g
            lmax = max(lmax, L[n])
        sw = 0.0
        sg = 0.0
        for n in range(nq):
            w = math.exp(L[n] - lmax)
            sw += w
            sg += w * G[n]
        out_t[i] = -(lmax + math.log(sw))
        out_d[i] = -sg / sw
