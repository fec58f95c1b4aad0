"""Numba kernels of the overall scaling: scans of B and of k_mask.

Imported lazily (by `mainpy.xtal.scaling`), never at ``import mainpy``: the first call
compiles (or loads from numba's cache) the functions it needs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


# ----------------------------------------------------------------------------- scaling

@njit(cache=True, fastmath=True)
def b_scan(fo, fm, ss, b0, nb):
    """For B = b0, b0+1, ..., b0+nb-1: the LS scale k of Fo against exp(-B ss) |Fm| and
    the numerator of R, sum |Fo - k exp(-B ss) |Fm||. Returns (k, r) arrays of length nb.

    exp(-B ss) is advanced by multiplication with exp(-ss) from B to B+1.
    """
    n = len(fo)
    cur = np.empty(n)
    q = np.empty(n)
    for i in range(n):
        cur[i] = math.exp(-b0 * ss[i]) * fm[i]
        q[i] = math.exp(-ss[i])
    ks = np.empty(nb)
    rs = np.empty(nb)
    for j in range(nb):
        if j > 0:
            for i in range(n):
                cur[i] *= q[i]
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            e = cur[i]
            s1 += e * fo[i]
            s2 += e * e
        k = s1 / max(s2, 1e-300)
        r = 0.0
        for i in range(n):
            r += abs(fo[i] - k * cur[i])
        ks[j] = k
        rs[j] = r
    return ks, rs


@njit(cache=True, fastmath=True)
def k_mask_scan(fo, fc_re, fc_im, fm_re, fm_im, starts, trials, ntrial):
    """Per bin (reflections starts[i]:starts[i+1] of the work arrays) the trial k_mask
    (trials[i, :ntrial[i]]) with the lowest R of Fo against s |Fc + k Fm|, s the bin's LS
    scale. Returns (best k, its scale) per bin; (0, 1) for an empty bin."""
    nbin = len(starts) - 1
    best_k = np.zeros(nbin)
    best_s = np.ones(nbin)
    n = len(fo)
    # |Fc + k Fm|^2 = cc + k (2 cm + k mm)
    cc = np.empty(n)
    cm2 = np.empty(n)
    mm = np.empty(n)
    for i in range(n):
        cc[i] = fc_re[i] * fc_re[i] + fc_im[i] * fc_im[i]
        cm2[i] = 2.0 * (fc_re[i] * fm_re[i] + fc_im[i] * fm_im[i])
        mm[i] = fm_re[i] * fm_re[i] + fm_im[i] * fm_im[i]
    tmp = np.empty(n)
    for b in range(nbin):
        a0 = starts[b]
        a1 = starts[b + 1]
        if a1 <= a0:
            continue
        sfo = 0.0
        for i in range(a0, a1):
            sfo += fo[i]
        r_best = np.inf
        for t in range(ntrial[b]):
            k = trials[b, t]
            s1 = 0.0
            s2 = 0.0
            for i in range(a0, a1):
                f = math.sqrt(max(cc[i] + k * (cm2[i] + k * mm[i]), 0.0))
                tmp[i] = f
                s1 += fo[i] * f
                s2 += f * f
            sc = s1 / max(s2, 1e-300)
            r = 0.0
            for i in range(a0, a1):
                r += abs(fo[i] - sc * tmp[i])
            r /= sfo
            if r < r_best:
                r_best = r
                best_k[b] = k
                best_s[b] = sc
    return best_k, best_s
