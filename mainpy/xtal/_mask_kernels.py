"""Numba kernels of the bulk-solvent mask: spheres around atoms, then the shrink.

Masks are int8 arrays over the unit cell indexed [i0, i1, i2] along the cell axes a, b, c
(C-contiguous, axis 2 fastest: the order of np.asarray(gemmi_grid.array)), periodic.
Imported lazily (by `mainpy.xtal.solvent`), never at ``import mainpy``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def mask_spheres(mask, frac, radius, orth):
    """Set to 0 every grid point of ``mask`` (the whole cell, periodic) closer than
    radius[i] to the fractional position frac[i] (d^2 < r^2). The atoms run in parallel:
    every write sets a point to 0, so their order cannot change the mask.

    Planes (axis 0) within r of the atom, rows (axis 1) of each plane within r (the
    squared distance of a row is quadratic in its index), and along each row (axis 2)
    the run of points between the roots of the squared distance."""
    n0, n1, n2 = mask.shape
    flat = mask.ravel()
    # step along a row as a Cartesian vector
    eu0, eu1, eu2 = orth[0, 2] / n2, orth[1, 2] / n2, orth[2, 2] / n2
    ee = eu0 * eu0 + eu1 * eu1 + eu2 * eu2
    inv = np.linalg.inv(orth)
    sp_0 = 1.0 / (n0 * math.sqrt(inv[0, 0] ** 2 + inv[0, 1] ** 2 + inv[0, 2] ** 2))
    inv_ee = 1.0 / ee
    inv_n1 = 1.0 / n1
    inv_n0 = 1.0 / n0
    # step from row to row as a Cartesian vector, and its parts along and across the rows
    g0, g1, g2 = orth[0, 1] / n1, orth[1, 1] / n1, orth[2, 1] / n1
    ge = g0 * eu0 + g1 * eu1 + g2 * eu2
    cgg = g0 * g0 + g1 * g1 + g2 * g2 - ge * ge * inv_ee
    for a in prange(frac.shape[0]):
        r = radius[a]
        r2 = r * r
        f0, f1, f2 = frac[a, 0], frac[a, 1], frac[a, 2]
        # planes closer than r to the atom
        p_lo = int(math.floor(f0 * n0 - r / sp_0))
        p_hi = int(math.ceil(f0 * n0 + r / sp_0))
        for p in range(p_lo, p_hi + 1):
            d0 = p * inv_n0 - f0
            pi = p % n0
            # offset of (row 0, point 0) of this plane from the atom
            b0 = orth[0, 0] * d0 - orth[0, 2] * f2 - orth[0, 1] * f1
            b1 = orth[1, 0] * d0 - orth[1, 2] * f2 - orth[1, 1] * f1
            b2 = orth[2, 0] * d0 - orth[2, 2] * f2 - orth[2, 1] * f1
            # rows closer than r: squared distance of the atom to a row is quadratic
            be = b0 * eu0 + b1 * eu1 + b2 * eu2
            qa = b0 * b0 + b1 * b1 + b2 * b2 - be * be * inv_ee - r2
            qb = b0 * g0 + b1 * g1 + b2 * g2 - be * ge * inv_ee
            dvd = qb * qb - cgg * qa
            if dvd <= 0:
                continue
            sv = math.sqrt(dvd)
            v_lo = int(math.floor((-qb - sv) / cgg))
            v_hi = int(math.ceil((-qb + sv) / cgg))
            vi = v_lo % n1
            for v in range(v_lo, v_hi + 1):
                vcur = vi
                vi += 1
                if vi == n1:
                    vi = 0
                tv = v * inv_n1
                c0 = b0 + orth[0, 1] * tv
                c1 = b1 + orth[1, 1] * tv
                c2 = b2 + orth[2, 1] * tv
                ce = c0 * eu0 + c1 * eu1 + c2 * eu2
                disc = ce * ce - ee * (c0 * c0 + c1 * c1 + c2 * c2 - r2)
                if disc <= 0:
                    continue
                sq = math.sqrt(disc)
                ulo = int(math.floor((-ce - sq) * inv_ee)) + 1
                uhi = int(math.ceil((-ce + sq) * inv_ee)) - 1
                n = uhi - ulo + 1
                if n <= 0:
                    continue
                base = (pi * n1 + vcur) * n2
                if n >= n2:
                    for u in range(n2):
                        flat[np.uint64(base + u)] = 0
                    continue
                s0 = ulo
                while s0 < 0:
                    s0 += n2
                while s0 >= n2:
                    s0 -= n2
                if s0 + n <= n2:
                    for u in range(s0, s0 + n):
                        flat[np.uint64(base + u)] = 0
                else:
                    for u in range(s0, n2):
                        flat[np.uint64(base + u)] = 0
                    for u in range(0, s0 + n - n2):
                        flat[np.uint64(base + u)] = 0


@njit(cache=True, parallel=True)
def mask_shrink(mask, stencil, out):
    """out = mask, except that points at 0 with a neighbour at 1 (offsets in stencil,
    (m, 3) integers along axes 0, 1, 2) become 1: the solvent region grows by the shrink
    radius. Stencil offsets along axis 2 must be smaller than n2. Planes in parallel
    (each writes its own plane of ``out``)."""
    n0, n1, n2 = mask.shape
    ns = stencil.shape[0]
    for p in prange(n0):
        acc = np.empty(n2, np.int8)
        for v in range(n1):
            src = mask[p, v]
            for u in range(n2):
                acc[u] = src[u]
            for s in range(ns):
                du = stencil[s, 2]
                row = mask[(p + stencil[s, 0]) % n0, (v + stencil[s, 1]) % n1]
                # acc[u] |= row[u + du] (periodic along the row)
                lo = max(0, -du)
                hi = min(n2, n2 - du)
                a_mid = acc[lo:hi]
                r_mid = row[lo + du:hi + du]
                for i in range(hi - lo):
                    a_mid[i] |= r_mid[i]
                for u in range(0, lo):
                    acc[u] |= row[u + du + n2]
                for u in range(hi, n2):
                    acc[u] |= row[u + du - n2]
            o = out[p, v]
            for u in range(n2):
                o[u] = acc[u]
