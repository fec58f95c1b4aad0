"""Numba kernels of the reciprocal-space code (scaling scans, solvent mask, density).

Imported lazily by the modules that use them, never at ``import mainpy``: the first call
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


# ----------------------------------------------------------------------------- mask

@njit(cache=True)
def mask_spheres(mask, frac, radius, orth):
    """Set to 0 every grid point (mask[w, v, u] of the whole cell, periodic, u fastest)
    closer than radius[i] to the fractional position frac[i] (d^2 < r^2).

    Planes within r of the atom, rows of each plane within r (the squared distance of a
    row is quadratic in v), and along each row the run of points between the roots of
    the squared distance (quadratic in u)."""
    nw, nv, nu = mask.shape
    flat = mask.ravel()
    eu0, eu1, eu2 = orth[0, 0] / nu, orth[1, 0] / nu, orth[2, 0] / nu
    ee = eu0 * eu0 + eu1 * eu1 + eu2 * eu2
    inv = np.linalg.inv(orth)
    sp_w = 1.0 / (nw * math.sqrt(inv[2, 0] ** 2 + inv[2, 1] ** 2 + inv[2, 2] ** 2))
    inv_ee = 1.0 / ee
    inv_nv = 1.0 / nv
    inv_nw = 1.0 / nw
    # step along v as a Cartesian vector, and its parts along and across the rows
    g0, g1, g2 = orth[0, 1] / nv, orth[1, 1] / nv, orth[2, 1] / nv
    ge = g0 * eu0 + g1 * eu1 + g2 * eu2
    cgg = g0 * g0 + g1 * g1 + g2 * g2 - ge * ge * inv_ee
    for a in range(frac.shape[0]):
        r = radius[a]
        r2 = r * r
        fx, fy, fz = frac[a, 0], frac[a, 1], frac[a, 2]
        # planes closer than r to the atom
        w_lo = int(math.floor(fz * nw - r / sp_w))
        w_hi = int(math.ceil(fz * nw + r / sp_w))
        for w in range(w_lo, w_hi + 1):
            dz = w * inv_nw - fz
            wi = w % nw
            # offset of (u=0, v=0) on this plane
            b0 = orth[0, 2] * dz - orth[0, 0] * fx - orth[0, 1] * fy
            b1 = orth[1, 2] * dz - orth[1, 0] * fx - orth[1, 1] * fy
            b2 = orth[2, 2] * dz - orth[2, 0] * fx - orth[2, 1] * fy
            # rows closer than r: squared distance of the atom to row v is quadratic in v
            be = b0 * eu0 + b1 * eu1 + b2 * eu2
            qa = b0 * b0 + b1 * b1 + b2 * b2 - be * be * inv_ee - r2
            qb = b0 * g0 + b1 * g1 + b2 * g2 - be * ge * inv_ee
            dvd = qb * qb - cgg * qa
            if dvd <= 0:
                continue
            sv = math.sqrt(dvd)
            v_lo = int(math.floor((-qb - sv) / cgg))
            v_hi = int(math.ceil((-qb + sv) / cgg))
            vi = v_lo % nv
            for v in range(v_lo, v_hi + 1):
                vcur = vi
                vi += 1
                if vi == nv:
                    vi = 0
                tv = v * inv_nv
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
                base = (wi * nv + vcur) * nu
                if n >= nu:
                    for u in range(nu):
                        flat[np.uint64(base + u)] = 0
                    continue
                s0 = ulo
                while s0 < 0:
                    s0 += nu
                while s0 >= nu:
                    s0 -= nu
                if s0 + n <= nu:
                    for u in range(s0, s0 + n):
                        flat[np.uint64(base + u)] = 0
                else:
                    for u in range(s0, nu):
                        flat[np.uint64(base + u)] = 0
                    for u in range(0, s0 + n - nu):
                        flat[np.uint64(base + u)] = 0


@njit(cache=True)
def mask_shrink(mask, stencil, out):
    """out = mask, except that points at 0 with a neighbour at 1 (offsets in stencil,
    (m, 3) integer u, v, w) become 1: the solvent region grows by the shrink radius.
    Arrays are indexed [w, v, u]; stencil u offsets must be smaller than nu."""
    nw, nv, nu = mask.shape
    ns = stencil.shape[0]
    acc = np.empty(nu, np.int8)
    for w in range(nw):
        for v in range(nv):
            src = mask[w, v]
            for u in range(nu):
                acc[u] = src[u]
            for s in range(ns):
                du = stencil[s, 0]
                row = mask[(w + stencil[s, 2]) % nw, (v + stencil[s, 1]) % nv]
                # acc[u] |= row[u + du] (periodic in u)
                lo = max(0, -du)
                hi = min(nu, nu - du)
                a_mid = acc[lo:hi]
                r_mid = row[lo + du:hi + du]
                for i in range(hi - lo):
                    a_mid[i] |= r_mid[i]
                for u in range(0, lo):
                    acc[u] |= row[u + du + nu]
                for u in range(hi, nu):
                    acc[u] |= row[u + du - nu]
            o = out[w, v]
            for u in range(nu):
                o[u] = acc[u]


# ----------------------------------------------------------------------------- density

@njit(cache=True)
def gaussian_radii(amp, alpha, cutoff):
    """Per atom, the radius where sum_k amp_k exp(-alpha_k r^2) falls to cutoff
    (densities that decrease with r; steps of 0.25 A, then linear interpolation)."""
    n, m = amp.shape
    out = np.empty(n)
    for a in range(n):
        r_prev = 0.0
        y_prev = 0.0
        for k in range(m):
            y_prev += amp[a, k]
        r = 0.0
        y = y_prev
        while y > cutoff and r < 50.0:
            r_prev, y_prev = r, y
            r += 0.25
            y = 0.0
            for k in range(m):
                y += amp[a, k] * math.exp(-alpha[a, k] * r * r)
        if y_prev == y or r == 0.0:
            out[a] = r
        else:
            out[a] = r_prev + (r - r_prev) * (y_prev - cutoff) / (y_prev - y)
    return out


@njit(cache=True)
def add_gaussian_densities(grid, frac, amp, alpha, radius, orth):
    """Add sum_k amp[i, k] exp(-alpha[i, k] d^2) (five terms) of every atom i to the grid
    points (grid[w, v, u], periodic) of the rows (along u) that pass through the sphere
    of radius[i]; the points of those rows in the sphere's bounding box beyond the sphere
    get their (small) values too.

    The Gaussians are advanced by multiplications only: with d(u, v, w) = c + u eu +
    v ev + w ew, exp(-a d^2) at u+1 is exp(-a d^2) at u times exp(-a (2 d.eu + eu.eu)),
    and that ratio itself changes by exp(-2 a eu.eu) per step (likewise along v), so each
    plane costs a few exp() and each point three multiply-adds per term."""
    nw, nv, nu = grid.shape
    flat = grid.ravel()
    eu = orth[:, 0] / nu
    ev = orth[:, 1] / nv
    ew = orth[:, 2] / nw
    uu = eu[0] * eu[0] + eu[1] * eu[1] + eu[2] * eu[2]
    vv = ev[0] * ev[0] + ev[1] * ev[1] + ev[2] * ev[2]
    uv = eu[0] * ev[0] + eu[1] * ev[1] + eu[2] * ev[2]
    inv = np.linalg.inv(orth)
    sp_u = 1.0 / (nu * math.sqrt(inv[0, 0] ** 2 + inv[0, 1] ** 2 + inv[0, 2] ** 2))
    sp_v = 1.0 / (nv * math.sqrt(inv[1, 0] ** 2 + inv[1, 1] ** 2 + inv[1, 2] ** 2))
    sp_w = 1.0 / (nw * math.sqrt(inv[2, 0] ** 2 + inv[2, 1] ** 2 + inv[2, 2] ** 2))
    for a in range(frac.shape[0]):
        r = radius[a]
        fx, fy, fz = frac[a, 0], frac[a, 1], frac[a, 2]
        # bounding box: grid planes closer than r to the atom
        u0 = int(math.ceil(fx * nu - r / sp_u))
        v0 = int(math.ceil(fy * nv - r / sp_v))
        w0 = int(math.ceil(fz * nw - r / sp_w))
        nbu = min(int(math.floor(fx * nu + r / sp_u)) - u0 + 1, nu)
        nbv = min(int(math.floor(fy * nv + r / sp_v)) - v0 + 1, nv)
        nbw = min(int(math.floor(fz * nw + r / sp_w)) - w0 + 1, nw)
        r2 = r * r
        x = u0 / nu - fx
        y = v0 / nv - fy
        z = w0 / nw - fz
        p0 = orth[0, 0] * x + orth[0, 1] * y + orth[0, 2] * z
        p1 = orth[1, 0] * x + orth[1, 1] * y + orth[1, 2] * z
        p2 = orth[2, 0] * x + orth[2, 1] * y + orth[2, 2] * z
        a0 = amp[a, 0]
        a1 = amp[a, 1]
        a2 = amp[a, 2]
        a3 = amp[a, 3]
        a4 = amp[a, 4]
        al0 = alpha[a, 0]
        al1 = alpha[a, 1]
        al2 = alpha[a, 2]
        al3 = alpha[a, 3]
        al4 = alpha[a, 4]
        cu0 = math.exp(-2.0 * al0 * uu)
        cu1 = math.exp(-2.0 * al1 * uu)
        cu2 = math.exp(-2.0 * al2 * uu)
        cu3 = math.exp(-2.0 * al3 * uu)
        cu4 = math.exp(-2.0 * al4 * uu)
        cv0 = math.exp(-2.0 * al0 * vv)
        cv1 = math.exp(-2.0 * al1 * vv)
        cv2 = math.exp(-2.0 * al2 * vv)
        cv3 = math.exp(-2.0 * al3 * vv)
        cv4 = math.exp(-2.0 * al4 * vv)
        cuv0 = math.exp(-2.0 * al0 * uv)
        cuv1 = math.exp(-2.0 * al1 * uv)
        cuv2 = math.exp(-2.0 * al2 * uv)
        cuv3 = math.exp(-2.0 * al3 * uv)
        cuv4 = math.exp(-2.0 * al4 * uv)
        ui0 = u0 % nu
        vi0 = v0 % nv
        wi = w0 % nw
        for iw in range(nbw):
            # corner of this plane: c = p + iw ew
            c0 = p0 + iw * ew[0]
            c1 = p1 + iw * ew[1]
            c2 = p2 + iw * ew[2]
            cc = c0 * c0 + c1 * c1 + c2 * c2
            cu = c0 * eu[0] + c1 * eu[1] + c2 * eu[2]
            cv = c0 * ev[0] + c1 * ev[1] + c2 * ev[2]
            gr0 = a0 * math.exp(-al0 * cc)
            gr1 = a1 * math.exp(-al1 * cc)
            gr2 = a2 * math.exp(-al2 * cc)
            gr3 = a3 * math.exp(-al3 * cc)
            gr4 = a4 * math.exp(-al4 * cc)
            qv0 = math.exp(-al0 * (2.0 * cv + vv))
            qv1 = math.exp(-al1 * (2.0 * cv + vv))
            qv2 = math.exp(-al2 * (2.0 * cv + vv))
            qv3 = math.exp(-al3 * (2.0 * cv + vv))
            qv4 = math.exp(-al4 * (2.0 * cv + vv))
            qr0 = math.exp(-al0 * (2.0 * cu + uu))
            qr1 = math.exp(-al1 * (2.0 * cu + uu))
            qr2 = math.exp(-al2 * (2.0 * cu + uu))
            qr3 = math.exp(-al3 * (2.0 * cu + uu))
            qr4 = math.exp(-al4 * (2.0 * cu + uu))
            vi = vi0
            for iv in range(nbv):
                # skip rows that miss the sphere (the recurrences still advance)
                x0 = c0 + iv * ev[0]
                x1 = c1 + iv * ev[1]
                x2 = c2 + iv * ev[2]
                xe = x0 * eu[0] + x1 * eu[1] + x2 * eu[2]
                if x0 * x0 + x1 * x1 + x2 * x2 - xe * xe / uu >= r2:
                    gr0 *= qv0
                    qv0 *= cv0
                    qr0 *= cuv0
                    gr1 *= qv1
                    qv1 *= cv1
                    qr1 *= cuv1
                    gr2 *= qv2
                    qv2 *= cv2
                    qr2 *= cuv2
                    gr3 *= qv3
                    qv3 *= cv3
                    qr3 *= cuv3
                    gr4 *= qv4
                    qv4 *= cv4
                    qr4 *= cuv4
                    vi += 1
                    if vi == nv:
                        vi = 0
                    continue
                g0 = gr0
                g1 = gr1
                g2 = gr2
                g3 = gr3
                g4 = gr4
                q0 = qr0
                q1 = qr1
                q2 = qr2
                q3 = qr3
                q4 = qr4
                # the row runs from ui0 to the end of the cell, then wraps to 0
                base = np.uint64((wi * nv + vi) * nu)
                n1 = min(nbu, nu - ui0)
                for iu in range(n1):
                    flat[base + np.uint64(ui0 + iu)] += g0 + g1 + g2 + g3 + g4
                    g0 *= q0
                    q0 *= cu0
                    g1 *= q1
                    q1 *= cu1
                    g2 *= q2
                    q2 *= cu2
                    g3 *= q3
                    q3 *= cu3
                    g4 *= q4
                    q4 *= cu4
                for iu in range(nbu - n1):
                    flat[base + np.uint64(iu)] += g0 + g1 + g2 + g3 + g4
                    g0 *= q0
                    q0 *= cu0
                    g1 *= q1
                    q1 *= cu1
                    g2 *= q2
                    q2 *= cu2
                    g3 *= q3
                    q3 *= cu3
                    g4 *= q4
                    q4 *= cu4
                gr0 *= qv0
                qv0 *= cv0
                qr0 *= cuv0
                gr1 *= qv1
                qv1 *= cv1
                qr1 *= cuv1
                gr2 *= qv2
                qv2 *= cv2
                qr2 *= cuv2
                gr3 *= qv3
                qv3 *= cv3
                qr3 *= cuv3
                gr4 *= qv4
                qv4 *= cv4
                qr4 *= cuv4
                vi += 1
                if vi == nv:
                    vi = 0
            wi += 1
            if wi == nw:
                wi = 0
