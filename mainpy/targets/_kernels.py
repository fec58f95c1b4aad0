"""Numba kernels: atom densities on a periodic unit-cell grid, and their overlap with a map.

Imported lazily (by `mainpy.targets.overlap`), never at ``import mainpy``.

The density of one atom (per unit occupancy) is a sum of five Gaussians, the IT92
X-ray form factor (four Gaussians plus the constant c) convolved with its isotropic
displacement: with beta_k = b_k + B (B already includes any extra blur),

    rho(r) = sum_k a_k (4 pi / beta_k)^(3/2) exp(-4 pi^2 r^2 / beta_k)      (b_5 = 0, a_5 = c)

It is truncated smoothly at the absolute level ``cut`` (e/A^3):

    rho~(r) = max(rho(r) - cut, 0),

which is continuous in the atom position and B, so finite differences of any sum over
grid points are well behaved and the analytic derivatives (those of rho wherever
rho > cut) are exact for the discrete sum.

Grid points are x_g = (i/n0, j/n1, k/n2) in fractional coordinates (array axes = a, b, c),
wrapped periodically; r = O (x_g - x_j) with O the orthogonalization matrix.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_FOUR_PI = 4.0 * math.pi
_FOUR_PI2 = 4.0 * math.pi * math.pi


@njit(cache=True)
def _atom_coefs(a, b, beff, amp, alpha, invb):
    """Amplitudes and exponents of the five Gaussians of one atom (occupancy 1)."""
    for k in range(5):
        beta = b[k] + beff
        alpha[k] = _FOUR_PI2 / beta
        amp[k] = a[k] * (_FOUR_PI / beta) ** 1.5
        invb[k] = 1.0 / beta


@njit(cache=True)
def _cut_radius2(amp, alpha, cut):
    """Largest u = r^2 where rho(u) = cut (0 if rho(0) <= cut): Newton on log rho."""
    s0 = 0.0
    for k in range(5):
        s0 += amp[k]
    if s0 <= cut:
        return 0.0
    # an upper bound: |rho(u)| <= sum|A_k| exp(-alpha_min u)
    amin = alpha[0]
    sabs = 0.0
    for k in range(5):
        amin = min(amin, alpha[k])
        sabs += abs(amp[k])
    u_hi = math.log(sabs / cut) / amin
    u = 0.0
    for _ in range(60):
        f = 0.0
        df = 0.0
        for k in range(5):
            e = amp[k] * math.exp(-alpha[k] * u)
            f += e
            df -= alpha[k] * e
        if f <= 0.0 or df >= 0.0:
            return u_hi
        g = math.log(f / cut)
        step = -g / (df / f)
        u += step
        if u > u_hi:
            return u_hi
        if abs(step) < 1e-10 * (1.0 + u):
            break
    return min(u * (1.0 + 1e-6) + 1e-9, u_hi)


@njit(cache=True)
def _box(f, r, fnorm, n):
    lo = int(math.ceil((f - r * fnorm) * n))
    hi = int(math.floor((f + r * fnorm) * n))
    return lo, hi


@njit(cache=True)
def _one_atom(grid, orth, fnorm, fx, beff, a, b, cut, mode, occ, out):
    """Work on one atom. mode 0: add occ*rho~ to the grid (spreading).
    mode 1: out[0] = sum M rho~ ; mode 2: also out[1:4] = sum M drho/dx_atom (Cartesian),
    out[4] = sum M drho/dB; mode 3: as mode 2 without the B derivative (out[4] = 0).
    Sums are over grid points (no volume element)."""
    n0, n1, n2 = grid.shape
    amp = np.empty(5)
    alpha = np.empty(5)
    invb = np.empty(5)
    _atom_coefs(a, b, beff, amp, alpha, invb)
    u_c = _cut_radius2(amp, alpha, cut)
    if u_c <= 0.0:
        return
    rc = math.sqrt(u_c)
    lo0, hi0 = _box(fx[0], rc, fnorm[0], n0)
    lo1, hi1 = _box(fx[1], rc, fnorm[1], n1)
    h2 = 1.0 / n2
    o20 = orth[0, 2]
    o21 = orth[1, 2]
    o22 = orth[2, 2]
    oo = o20 * o20 + o21 * o21 + o22 * o22
    cq = h2 * h2 * oo
    al0, al1, al2, al3, al4 = alpha[0], alpha[1], alpha[2], alpha[3], alpha[4]
    # per-point factors of the Gaussians along a line: e_{m+1} = e_m q_m, q_{m+1} = q_m r
    r0 = math.exp(-2.0 * al0 * cq)
    r1 = math.exp(-2.0 * al1 * cq)
    r2 = math.exp(-2.0 * al2 * cq)
    r3 = math.exp(-2.0 * al3 * cq)
    r4 = math.exp(-2.0 * al4 * cq)
    # drho/du = sum_k ca_k e_k ; drho/dB = sum_k (c1_k u + c0_k) e_k   (e_k = A_k exp(..))
    ca0, ca1, ca2, ca3, ca4 = -al0, -al1, -al2, -al3, -al4
    c10, c11, c12, c13, c14 = (invb[0] * al0, invb[1] * al1, invb[2] * al2, invb[3] * al3,
                               invb[4] * al4)
    c00, c01, c02, c03, c04 = (-1.5 * invb[0], -1.5 * invb[1], -1.5 * invb[2],
                               -1.5 * invb[3], -1.5 * invb[4])
    val = 0.0
    gx = 0.0
    gy = 0.0
    gz = 0.0
    gb = 0.0
    sx = o20 * h2
    sy = o21 * h2
    sz = o22 * h2
    for i0 in range(lo0, hi0 + 1):
        d0 = i0 / n0 - fx[0]
        w0 = i0 % n0
        for i1 in range(lo1, hi1 + 1):
            d1 = i1 / n1 - fx[1]
            w1 = i1 % n1
            px = orth[0, 0] * d0 + orth[0, 1] * d1
            py = orth[1, 0] * d0 + orth[1, 1] * d1
            pz = orth[2, 0] * d0 + orth[2, 1] * d1
            pp = px * px + py * py + pz * pz
            po = px * o20 + py * o21 + pz * o22
            # |p + o d2|^2 < u_c  <=>  oo d2^2 + 2 po d2 + pp - u_c < 0
            disc = po * po - oo * (pp - u_c)
            if disc <= 0.0:
                continue
            sq = math.sqrt(disc)
            lo2 = int(math.ceil((fx[2] + (-po - sq) / oo) * n2))
            hi2 = int(math.floor((fx[2] + (-po + sq) / oo) * n2))
            if hi2 < lo2:
                continue
            d2 = lo2 * h2 - fx[2]
            rx = px + o20 * d2
            ry = py + o21 * d2
            rz = pz + o22 * d2
            u = rx * rx + ry * ry + rz * rz
            bq = 2.0 * h2 * (rx * o20 + ry * o21 + rz * o22) + cq
            e0 = amp[0] * math.exp(-al0 * u)
            e1 = amp[1] * math.exp(-al1 * u)
            e2 = amp[2] * math.exp(-al2 * u)
            e3 = amp[3] * math.exp(-al3 * u)
            e4 = amp[4] * math.exp(-al4 * u)
            q0 = math.exp(-al0 * bq)
            q1 = math.exp(-al1 * bq)
            q2 = math.exp(-al2 * bq)
            q3 = math.exp(-al3 * bq)
            q4 = math.exp(-al4 * bq)
            w2 = lo2 % n2
            line = grid[w0, w1]
            if mode == 0:
                for m in range(hi2 - lo2 + 1):
                    rho = e0 + e1 + e2 + e3 + e4
                    if rho > cut:
                        line[w2] += occ * (rho - cut)
                    e0 *= q0
                    e1 *= q1
                    e2 *= q2
                    e3 *= q3
                    e4 *= q4
                    q0 *= r0
                    q1 *= r1
                    q2 *= r2
                    q3 *= r3
                    q4 *= r4
                    w2 += 1
                    if w2 == n2:
                        w2 = 0
            elif mode == 1:
                for m in range(hi2 - lo2 + 1):
                    rho = e0 + e1 + e2 + e3 + e4
                    if rho > cut:
                        val += line[w2] * (rho - cut)
                    e0 *= q0
                    e1 *= q1
                    e2 *= q2
                    e3 *= q3
                    e4 *= q4
                    q0 *= r0
                    q1 *= r1
                    q2 *= r2
                    q3 *= r3
                    q4 *= r4
                    w2 += 1
                    if w2 == n2:
                        w2 = 0
            else:
                for m in range(hi2 - lo2 + 1):
                    rho = e0 + e1 + e2 + e3 + e4
                    if rho > cut:
                        mv = line[w2]
                        val += mv * (rho - cut)
                        t = mv * (ca0 * e0 + ca1 * e1 + ca2 * e2 + ca3 * e3 + ca4 * e4)
                        gx += t * rx
                        gy += t * ry
                        gz += t * rz
                        if mode == 2:
                            gb += mv * ((c10 * e0 + c11 * e1 + c12 * e2 + c13 * e3
                                         + c14 * e4) * u
                                        + c00 * e0 + c01 * e1 + c02 * e2 + c03 * e3
                                        + c04 * e4)
                    e0 *= q0
                    e1 *= q1
                    e2 *= q2
                    e3 *= q3
                    e4 *= q4
                    q0 *= r0
                    q1 *= r1
                    q2 *= r2
                    q3 *= r3
                    q4 *= r4
                    rx += sx
                    ry += sy
                    rz += sz
                    u = rx * rx + ry * ry + rz * rz
                    w2 += 1
                    if w2 == n2:
                        w2 = 0
    if mode != 0:
        out[0] = val
        # d u / d x_atom = -2 r
        out[1] = -2.0 * gx
        out[2] = -2.0 * gy
        out[3] = -2.0 * gz
        out[4] = gb


@njit(cache=True)
def _axis_table(f, n, scale, al, amp, lo, hi, tab, rvals):
    """tab[k, i] = amp_k exp(-al_k r_i^2), r_i = scale * (i/n - f), i = lo..hi."""
    for i in range(hi - lo + 1):
        r = scale * ((lo + i) / n - f)
        rvals[i] = r
        r2 = r * r
        for k in range(5):
            tab[k, i] = amp[k] * math.exp(-al[k] * r2)


@njit(cache=True, fastmath=True)
def _one_atom_orth(grid, orth, fx, beff, a, b, cut, mode, occ, out):
    """`_one_atom` for an orthogonal cell: the Gaussians factor along the three axes."""
    n0, n1, n2 = grid.shape
    amp = np.empty(5)
    alpha = np.empty(5)
    invb = np.empty(5)
    ones = np.ones(5)
    _atom_coefs(a, b, beff, amp, alpha, invb)
    u_c = _cut_radius2(amp, alpha, cut)
    if u_c <= 0.0:
        return
    rc = math.sqrt(u_c)
    s0, s1, s2 = orth[0, 0], orth[1, 1], orth[2, 2]
    lo0, hi0 = _box(fx[0], rc, 1.0 / s0, n0)
    lo1, hi1 = _box(fx[1], rc, 1.0 / s1, n1)
    lo2, hi2 = _box(fx[2], rc, 1.0 / s2, n2)
    if hi0 < lo0 or hi1 < lo1 or hi2 < lo2:
        return
    X = np.empty((5, hi0 - lo0 + 1))
    Y = np.empty((5, hi1 - lo1 + 1))
    Z = np.empty((5, hi2 - lo2 + 1))
    rxs = np.empty(hi0 - lo0 + 1)
    rys = np.empty(hi1 - lo1 + 1)
    rzs = np.empty(hi2 - lo2 + 1)
    _axis_table(fx[0], n0, s0, alpha, amp, lo0, hi0, X, rxs)
    _axis_table(fx[1], n1, s1, alpha, ones, lo1, hi1, Y, rys)
    _axis_table(fx[2], n2, s2, alpha, ones, lo2, hi2, Z, rzs)
    Z0 = Z[0]
    Z1 = Z[1]
    Z2 = Z[2]
    Z3 = Z[3]
    Z4 = Z[4]
    al0, al1, al2, al3, al4 = alpha[0], alpha[1], alpha[2], alpha[3], alpha[4]
    val = 0.0
    gx = 0.0
    gy = 0.0
    gz = 0.0
    gb = 0.0
    for i0 in range(hi0 - lo0 + 1):
        rx = rxs[i0]
        w0 = (lo0 + i0) % n0
        for i1 in range(hi1 - lo1 + 1):
            ry = rys[i1]
            rem = u_c - rx * rx - ry * ry
            if rem <= 0.0:
                continue
            w1 = (lo1 + i1) % n1
            c0 = X[0, i0] * Y[0, i1]
            c1 = X[1, i0] * Y[1, i1]
            c2 = X[2, i0] * Y[2, i1]
            c3 = X[3, i0] * Y[3, i1]
            c4 = X[4, i0] * Y[4, i1]
            # the z range where u < u_c on this line
            zr = math.sqrt(rem)
            a2 = max(int(math.ceil((fx[2] - zr / s2) * n2)), lo2)
            b2 = min(int(math.floor((fx[2] + zr / s2) * n2)), hi2)
            line = grid[w0, w1]
            l = a2
            if mode == 0:
                while l <= b2:
                    ws = l % n2
                    seg = min(b2 - l + 1, n2 - ws)
                    t0 = l - lo2
                    for t in range(seg):
                        z = t0 + t
                        rho = c0 * Z0[z] + c1 * Z1[z] + c2 * Z2[z] + c3 * Z3[z] + c4 * Z4[z]
                        line[ws + t] += occ * max(rho - cut, 0.0)
                    l += seg
            elif mode == 1:
                while l <= b2:
                    ws = l % n2
                    seg = min(b2 - l + 1, n2 - ws)
                    t0 = l - lo2
                    for t in range(seg):
                        z = t0 + t
                        rho = c0 * Z0[z] + c1 * Z1[z] + c2 * Z2[z] + c3 * Z3[z] + c4 * Z4[z]
                        val += line[ws + t] * max(rho - cut, 0.0)
                    l += seg
            else:
                # drho/du = -sum al_k e_k ; drho/dB = sum invb_k (al_k u - 1.5) e_k
                d0, d1, d2, d3, d4 = -al0 * c0, -al1 * c1, -al2 * c2, -al3 * c3, -al4 * c4
                p0 = invb[0] * al0 * c0
                p1 = invb[1] * al1 * c1
                p2 = invb[2] * al2 * c2
                p3 = invb[3] * al3 * c3
                p4 = invb[4] * al4 * c4
                m0 = -1.5 * invb[0] * c0
                m1 = -1.5 * invb[1] * c1
                m2 = -1.5 * invb[2] * c2
                m3 = -1.5 * invb[3] * c3
                m4 = -1.5 * invb[4] * c4
                uxy = rx * rx + ry * ry
                tline = 0.0
                while l <= b2:
                    ws = l % n2
                    seg = min(b2 - l + 1, n2 - ws)
                    t0 = l - lo2
                    for t in range(seg):
                        z = t0 + t
                        z0 = Z0[z]
                        z1 = Z1[z]
                        z2 = Z2[z]
                        z3 = Z3[z]
                        z4 = Z4[z]
                        rho = c0 * z0 + c1 * z1 + c2 * z2 + c3 * z3 + c4 * z4
                        mv = line[ws + t]
                        if rho <= cut:
                            mv = 0.0
                        val += mv * (rho - cut)
                        du = mv * (d0 * z0 + d1 * z1 + d2 * z2 + d3 * z3 + d4 * z4)
                        tline += du
                        rz = rzs[z]
                        gz += du * rz
                        if mode == 2:
                            u = uxy + rz * rz
                            gb += mv * ((p0 * z0 + p1 * z1 + p2 * z2 + p3 * z3 + p4 * z4) * u
                                        + m0 * z0 + m1 * z1 + m2 * z2 + m3 * z3 + m4 * z4)
                    l += seg
                gx += tline * rx
                gy += tline * ry
    if mode != 0:
        out[0] = val
        out[1] = -2.0 * gx
        out[2] = -2.0 * gy
        out[3] = -2.0 * gz
        out[4] = gb


@njit(cache=True)
def _is_orth(orth):
    return (orth[0, 1] == 0.0 and orth[0, 2] == 0.0 and orth[1, 0] == 0.0
            and orth[1, 2] == 0.0 and orth[2, 0] == 0.0 and orth[2, 1] == 0.0)


@njit(cache=True)
def _atom(grid, orth, fnorm, fx, beff, a, b, cut, mode, occ, out, is_orth):
    if is_orth:
        _one_atom_orth(grid, orth, fx, beff, a, b, cut, mode, occ, out)
    else:
        _one_atom(grid, orth, fnorm, fx, beff, a, b, cut, mode, occ, out)


@njit(cache=True, parallel=True)
def overlap_atoms(grid, orth, fnorm, frac, beff, eidx, acoef, bcoef, cut, grad, general=False,
                  b_grad=True):
    """Per atom (occupancy 1): [sum_g M rho~, d/dx, d/dy, d/dz, d/dB] (no volume element;
    d/dB is 0 unless b_grad)."""
    n = frac.shape[0]
    out = np.zeros((n, 5))
    mode = (2 if b_grad else 3) if grad else 1
    orth_cell = _is_orth(orth) and not general
    for j in prange(n):
        _atom(grid, orth, fnorm, frac[j], beff[j], acoef[eidx[j]], bcoef[eidx[j]],
              cut, mode, 1.0, out[j], orth_cell)
    return out


@njit(cache=True)
def spread_atoms(grid, orth, fnorm, frac, beff, occ, eidx, acoef, bcoef, cut, general=False):
    """grid += sum_j occ_j rho~_j (serial: atoms overlap on the grid)."""
    dummy = np.zeros(5)
    orth_cell = _is_orth(orth) and not general
    for j in range(frac.shape[0]):
        if occ[j] == 0.0:
            continue
        _atom(grid, orth, fnorm, frac[j], beff[j], acoef[eidx[j]], bcoef[eidx[j]],
              cut, 0, occ[j], dummy, orth_cell)


@njit(cache=True, parallel=True)
def spread_atoms_parallel(out, priv, orth, fnorm, frac, beff, occ, eidx, acoef, bcoef, cut,
                          general=False):
    """out = sum_j occ_j rho~_j with the atoms split over priv.shape[0] + 1 threads: the
    first spreads into ``out``, the others into their own grids ``priv[t - 1]``, which are
    then added (zeroing and adding in parallel over planes; the order is fixed)."""
    nt = priv.shape[0] + 1
    n = frac.shape[0]
    n0 = out.shape[0]
    dummy = np.zeros(5)
    orth_cell = _is_orth(orth) and not general
    for p in prange(n0):
        out[p] = 0.0
        for t in range(nt - 1):
            priv[t, p] = 0.0
    for t in prange(nt):
        a0 = (n * t) // nt
        a1 = (n * (t + 1)) // nt
        g = out if t == 0 else priv[t - 1]
        for j in range(a0, a1):
            if occ[j] == 0.0:
                continue
            _atom(g, orth, fnorm, frac[j], beff[j], acoef[eidx[j]], bcoef[eidx[j]],
                  cut, 0, occ[j], dummy, orth_cell)
    for p in prange(n0):
        for t in range(nt - 1):
            out[p] += priv[t, p]


@njit(cache=True, parallel=True)
def gather_fcalc(flat, ipos, ineg, shift, factor, out):
    """Fcalc(h) = factor_h sum_ops F_P1(h R) exp(2 pi i h.t) from the half transform
    ``flat`` (numpy's sign, so F_P1(k) = conj(half[k]) for k2 >= 0 and half[-k] else):
    ipos[i, o] is the flat index of k = h R when k2 >= 0 (else -1), ineg[i, o] that of
    -k when k2 <= 0 (else -1); shift[i, o] = exp(2 pi i h.t)."""
    nref, nops = ipos.shape
    for i in prange(nref):
        acc = 0.0 + 0.0j
        for o in range(nops):
            if ipos[i, o] >= 0:
                acc += flat[ipos[i, o]].conjugate() * shift[i, o]
            else:
                acc += flat[ineg[i, o]] * shift[i, o]
        out[i] = acc * factor[i]


@njit(cache=True)
def scatter_gradient(flat, ipos, ineg, shift, g):
    """Add to the half transform ``flat`` the coefficients whose real map (taken
    Hermitian) is Re sum_h sum_ops g_h exp(-2 pi i h.t) exp(-2 pi i (hR).x); indices as
    in `gather_fcalc`. Serial: symmetry mates of different h meet at one k."""
    nref, nops = ipos.shape
    for i in range(nref):
        gi = g[i]
        if gi == 0:
            continue
        for o in range(nops):
            w = 0.5 * gi * shift[i, o].conjugate()
            if ipos[i, o] >= 0:
                flat[ipos[i, o]] += w
            if ineg[i, o] >= 0:
                flat[ineg[i, o]] += w.conjugate()


# ----------------------------------------------------------------------------- likelihood

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
