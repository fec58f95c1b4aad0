"""Numba kernels of the structure-factor engine: atom densities on a unit-cell grid,
their overlap with a map (with derivatives), and the gather/scatter of Fourier
coefficients. Imported lazily (by `mainpy.sf.overlap` and `mainpy.sf.pruned_fft`), never
at ``import mainpy``.

Grids are C-contiguous arrays indexed [i0, i1, i2] along the cell axes a, b, c, points
x_g = (i0/n0, i1/n1, i2/n2) in fractional coordinates, periodic; r = O (x_g - x_atom)
with O the orthogonalization matrix.

The density of one atom per unit occupancy is a sum of five Gaussians (IT92: four, plus
the constant c with b = 0), each the form-factor Gaussian convolved with the atom's
displacement and an extra blur:

    rho(r) = sum_k c_k exp(-r' A_k r),   A_k = Sigma_k^-1 / 2,
    c_k = a_k (2 pi)^(-3/2) det(Sigma_k)^(-1/2),   Sigma_k = U + (b_k + blur)/(8 pi^2) I

(isotropic atoms: U = B/(8 pi^2) I, so that c_k = a_k (4 pi/beta_k)^(3/2) and
r' A_k r = 4 pi^2 r^2/beta_k with beta_k = b_k + B + blur). ``beff`` of an isotropic atom
is B + blur; ``u`` of an anisotropic atom is its U (A^2) and ``blur`` is added here.

Truncation at the level ``cut`` (e/A^3, per unit occupancy): where rho > cut the grid gets
rho - ``sub``, elsewhere nothing. sub = cut is the smooth truncation max(rho - cut, 0)
(continuous in every parameter, so the analytic derivatives are exact for the grid sum),
sub = 0 the hard one (gemmi's DensityCalculator: rho inside the cut-off). The drivers take
``cut`` and ``sub`` per element (an atom's level is its element's).

Which points are visited: every point inside an ellipsoid that holds the whole region
rho > cut. With T = U + s_max I (s_max of the widest Gaussian) and lambda the largest
eigenvalue of U, r' Sigma_k^-1 r >= gamma_k r' T^-1 r with
gamma_k = (lambda + s_max)/(lambda + s_k), so rho(r) <= sum_k |c_k| exp(-gamma_k t/2),
t = r' T^-1 r; the ellipsoid is t <= t_c where that bound equals the cut (exact for
isotropic atoms: the sphere where rho = cut). Each point is still tested (rho > cut).

Two paths: isotropic atoms in an orthogonal cell factorise along the axes (three tables
of exp() per atom, products inside; in a monoclinic cell with b unique, plane by plane);
everything else (anisotropic atoms, triclinic and other cells) runs
along lines of the fastest axis with incremental exponentials (e_{m+1} = e_m q_m,
q_{m+1} = q_m s), the start of each line, and of each plane, reached from the one before
by the same kind of steps: a few exp() per atom, multiplications per point.

Derivatives (modes 2, 3) come from per-Gaussian moments of the map-weighted density,
m_k = sum M e_k, F_k = sum M e_k r, R_k = sum M e_k r r' (over the points inside):
dO/dx_atom = sum_k 2 A_k F_k,  dO/dSigma_k = 2 A_k R_k A_k - m_k A_k; the B derivative of
an isotropic atom is sum_k tr(dO/dSigma_k)/(8 pi^2), the U derivative of an anisotropic
one sum_k dO/dSigma_k (off-diagonal entries doubled: the derivative with respect to the
stored u12, u13, u23, each standing for two matrix entries). Along a line r = r0 + m e
the moments need only S0 = sum M e_k, S1 = sum m M e_k, S2 = sum m^2 M e_k per Gaussian.

Output rows of the overlap kernel (per atom, occupancy 1, no volume element):
[O, dO/dx, dO/dy, dO/dz, dO/dB, dO/du11, du22, du33, du12, du13, du23].
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_FOUR_PI = 4.0 * math.pi
_FOUR_PI2 = 4.0 * math.pi * math.pi
_U_TO_B = 8.0 * math.pi * math.pi
_NORM = (2.0 * math.pi) ** -1.5
NOUT = 11          # columns of the overlap kernel's output
#: rows are reached by multiplications from the row before unless the narrowest Gaussian
#: falls below exp(-150) at the edge of the region: the rows start up to a few times
#: farther out than the edge, still far from underflow at exp(-708)
_RESEED_EXPONENT = 150.0
#: a plane's seed reached by steps from the one before is computed afresh when a
#: Gaussian has fallen below this fraction of its amplitude (exp(-575))
_TINY = 1e-250


# ----------------------------------------------------------------------------- helpers

@njit(cache=True)
def _sym3_eig_range(a00, a11, a22, a01, a02, a12):
    """(smallest, largest) eigenvalue of a symmetric 3x3 matrix (closed form)."""
    p1 = a01 * a01 + a02 * a02 + a12 * a12
    q = (a00 + a11 + a22) / 3.0
    d0 = a00 - q
    d1 = a11 - q
    d2 = a22 - q
    p2 = d0 * d0 + d1 * d1 + d2 * d2 + 2.0 * p1
    if p2 <= 1e-300:
        return q, q
    p = math.sqrt(p2 / 6.0)
    b00 = d0 / p
    b11 = d1 / p
    b22 = d2 / p
    b01 = a01 / p
    b02 = a02 / p
    b12 = a12 / p
    det = (b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02)
           + b02 * (b01 * b12 - b11 * b02))
    r = min(max(0.5 * det, -1.0), 1.0)
    phi = math.acos(r) / 3.0
    lmax = q + 2.0 * p * math.cos(phi)
    lmin = q + 2.0 * p * math.cos(phi + 2.0 * math.pi / 3.0)
    return lmin, lmax


@njit(cache=True)
def min_eigenvalues(u):
    """Smallest eigenvalue of each row u11 u22 u33 u12 u13 u23 of ``u`` (n, 6)."""
    n = u.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = _sym3_eig_range(u[i, 0], u[i, 1], u[i, 2], u[i, 3], u[i, 4], u[i, 5])[0]
    return out


@njit(cache=True)
def _cut_radius2(amp, alpha, cut):
    """Largest t where sum_k amp_k exp(-alpha_k t) = cut (0 if the sum at t = 0 is not
    above cut): Newton on the logarithm, from an upper bound kept as a safeguard."""
    s0 = 0.0
    for k in range(5):
        s0 += amp[k]
    if s0 <= cut:
        return 0.0
    amin = alpha[0]
    sabs = 0.0
    for k in range(5):
        amin = min(amin, alpha[k])
        sabs += abs(amp[k])
    u_hi = math.log(sabs / cut) / amin
    # with no negative amplitude, start at the best lower bound: the largest root of one
    # Gaussian alone (the sum is above each of its terms). From there as from 0, Newton
    # on the convex log rises to the root from below, in fewer steps (5-10 % less time
    # in the kernels with the axis tables below, 1aba 1l2h 1d7m)
    u = 0.0
    if sabs == s0:
        for k in range(5):
            if amp[k] > cut:
                u = max(u, math.log(amp[k] / cut) / alpha[k])
        u = min(u, u_hi)
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
def _box(f, half, n):
    """Grid indices lo..hi whose fractional coordinate is within half of f."""
    lo = int(math.ceil((f - half) * n))
    hi = int(math.floor((f + half) * n))
    return lo, hi


@njit(cache=True)
def _factorises(orth):
    """Isotropic atoms factorise along the axes (`_one_atom_orth`): an orthogonal cell,
    a monoclinic one with b unique (c leaning in the a-c plane: orth[0, 2] != 0) or a
    hexagonal one (gamma != 90: orth[0, 1] != 0), not both shears at once."""
    return (orth[1, 0] == 0.0 and orth[1, 2] == 0.0 and orth[2, 0] == 0.0
            and orth[2, 1] == 0.0 and (orth[0, 1] == 0.0 or orth[0, 2] == 0.0))


# ----------------------------------------------------------------------------- general path

@njit(cache=True)
def _prepare_general(a, b, beff, u, aniso, blur, cut, frac_mat, amp, A, G, ext):
    """Amplitudes c_k, quadratic forms A_k (rows a00 a11 a22 a01 a02 a12), the bounding
    ellipsoid r' G r <= 1 and its half extents in fractional coordinates. Returns the
    largest exponent r' A_k r on the ellipsoid, or -1 when the atom has no density above
    the cut."""
    if aniso:
        u00, u11, u22, u01, u02, u12 = u[0], u[1], u[2], u[3], u[4], u[5]
        sadd = blur
    else:
        u00 = beff / _U_TO_B
        u11 = u00
        u22 = u00
        u01 = 0.0
        u02 = 0.0
        u12 = 0.0
        sadd = 0.0
    lmin, lmax = _sym3_eig_range(u00, u11, u22, u01, u02, u12)
    s = np.empty(5)
    smax = -1e300
    for k in range(5):
        s[k] = (b[k] + sadd) / _U_TO_B
        smax = max(smax, s[k])
    bamp = np.empty(5)
    balpha = np.empty(5)
    for k in range(5):
        m00 = u00 + s[k]
        m11 = u11 + s[k]
        m22 = u22 + s[k]
        c00 = m11 * m22 - u12 * u12
        c11 = m00 * m22 - u02 * u02
        c22 = m00 * m11 - u01 * u01
        c01 = u02 * u12 - u01 * m22
        c02 = u01 * u12 - u02 * m11
        c12 = u01 * u02 - m00 * u12
        det = m00 * c00 + u01 * c01 + u02 * c02
        h = 0.5 / det
        A[k, 0] = c00 * h
        A[k, 1] = c11 * h
        A[k, 2] = c22 * h
        A[k, 3] = c01 * h
        A[k, 4] = c02 * h
        A[k, 5] = c12 * h
        amp[k] = a[k] * _NORM / math.sqrt(det)
        bamp[k] = abs(amp[k])
        balpha[k] = 0.5 * (lmax + smax) / (lmax + s[k])
    tc = _cut_radius2(bamp, balpha, cut)
    if tc <= 0.0:
        return -1.0
    # T = U + s_max I; G = T^-1 / t_c; half extent along axis i: sqrt(t_c F_i T F_i')
    t00 = u00 + smax
    t11 = u11 + smax
    t22 = u22 + smax
    c00 = t11 * t22 - u12 * u12
    c11 = t00 * t22 - u02 * u02
    c22 = t00 * t11 - u01 * u01
    c01 = u02 * u12 - u01 * t22
    c02 = u01 * u12 - u02 * t11
    c12 = u01 * u02 - t00 * u12
    det = t00 * c00 + u01 * c01 + u02 * c02
    h = 1.0 / (det * tc)
    G[0] = c00 * h
    G[1] = c11 * h
    G[2] = c22 * h
    G[3] = c01 * h
    G[4] = c02 * h
    G[5] = c12 * h
    for i in range(3):
        f0, f1, f2 = frac_mat[i, 0], frac_mat[i, 1], frac_mat[i, 2]
        q = (t00 * f0 * f0 + t11 * f1 * f1 + t22 * f2 * f2
             + 2.0 * (u01 * f0 * f1 + u02 * f0 * f2 + u12 * f1 * f2))
        ext[i] = math.sqrt(tc * q)
    # the largest r' A_k r on the ellipsoid: t_c/2 max_k (lmin + s_max)/(lmin + s_k)
    qmax = 0.0
    for k in range(5):
        qmax = max(qmax, 0.5 * tc * (lmin + smax) / (lmin + s[k]))
    return qmax


@njit(cache=True, inline="always")
def _qf(A, k, x0, x1, x2, y0, y1, y2):
    """x' A_k y for the symmetric A_k stored as a00 a11 a22 a01 a02 a12."""
    return (A[k, 0] * x0 * y0 + A[k, 1] * x1 * y1 + A[k, 2] * x2 * y2
            + A[k, 3] * (x0 * y1 + x1 * y0) + A[k, 4] * (x0 * y2 + x2 * y0)
            + A[k, 5] * (x1 * y2 + x2 * y1))


@njit(cache=True)
def _seed(A, amp, rx, ry, rz, ux, uy, uz, vx, vy, vz, eau, eav, st):
    """Gaussians at r (st[0]), their ratios to the next point along the row (st[1]) and
    to the next row (st[2])."""
    for k in range(5):
        st[0, k] = amp[k] * math.exp(-_qf(A, k, rx, ry, rz, rx, ry, rz))
        st[1, k] = math.exp(-(2.0 * _qf(A, k, ux, uy, uz, rx, ry, rz) + eau[k]))
        st[2, k] = math.exp(-(2.0 * _qf(A, k, vx, vy, vz, rx, ry, rz) + eav[k]))


@njit(cache=True, inline="always")
def _forward(e, r, p, q, cr, cp, cq, n):
    """n steps along a grid direction e_s: E(x + e_s) = E(x) R(x); R, the ratio along e_s,
    and P, Q, those along the other two directions, change by constant factors."""
    for _ in range(n):
        e *= r
        r *= cr
        p *= cp
        q *= cq
    return e, r, p, q


@njit(cache=True, inline="always")
def _back(e, r, p, q, cr, cp, cq, n):
    """n steps back along e_s: E(x - e_s) = E(x) / R(x - e_s)."""
    for _ in range(n):
        r /= cr
        p /= cp
        q /= cq
        e /= r
    return e, r, p, q


@njit(cache=True, inline="always")
def _axpy5(p0, p1, p2, p3, p4, w, s0, s1, s2, s3, s4):
    """(p_k + w s_k) for five scalars kept in registers."""
    return p0 + w * s0, p1 + w * s1, p2 + w * s2, p3 + w * s3, p4 + w * s4


@njit(cache=True)
def _step_seed(st, cst, di, dj, dm):
    """Move the Gaussians and their ratios st[0:4] (E, U, V, W: at a point r, and to
    r + eu, r + ev, r + ew) by di >= 0 steps along ew (the next plane), dj along ev and
    dm along eu, by products alone (quotients back). ``cst`` rows: exp(-2 x'A_k y) for
    (x, y) = (eu, eu), (ev, ev), (ew, ew), (eu, ev), (eu, ew), (ev, ew)."""
    for k in range(5):
        e, u, v, w = st[0, k], st[1, k], st[2, k], st[3, k]
        cuu, cvv, cww = cst[0, k], cst[1, k], cst[2, k]
        cuv, cuw, cvw = cst[3, k], cst[4, k], cst[5, k]
        e, w, u, v = _forward(e, w, u, v, cww, cuw, cvw, di)
        if dj >= 0:
            e, v, u, w = _forward(e, v, u, w, cvv, cuv, cvw, dj)
        else:
            e, v, u, w = _back(e, v, u, w, cvv, cuv, cvw, -dj)
        if dm >= 0:
            e, u, v, w = _forward(e, u, v, w, cuu, cuv, cuw, dm)
        else:
            e, u, v, w = _back(e, u, v, w, cuu, cuv, cuw, -dm)
        st[0, k], st[1, k], st[2, k], st[3, k] = e, u, v, w


@njit(cache=True, fastmath=True)
def _one_atom_general(grid, orth, fx, amp, A, G, ext, cut, sub, mode, occ, acc, reseed):
    """One atom, plane by plane (axis 0), row by row (axis 1), along rows (axis 2), over
    the points inside its bounding ellipsoid. mode 0: grid += occ (rho - sub) where
    rho > cut. Modes 1-3 (map in ``grid``): acc[5, 0] += sum M (rho - sub); mode 2 also
    the first moments F_k (acc[k, 0:3]) and m_k (acc[k, 9]); mode 3 also R_k (acc[k, 3:9]).

    With r(j, m) = c + j ev + m eu (ev, eu the grid steps along axes 1 and 2), each
    Gaussian E = c_k exp(-r' A_k r), its ratio U to the next point along the row and V to
    the next row change by constant factors: a step along the row multiplies E by U, U
    by exp(-2 eu'A eu) and V by exp(-2 ev'A eu); a step to the next row multiplies E by
    V, V by exp(-2 ev'A ev) and U by exp(-2 ev'A eu). All rows of a plane start at the
    same column (the smallest start of the plane's rows on the ellipse; the points before
    a row's own start are outside, below the cut, and add nothing), so each row start is
    one step from the one before, and each plane's first row start is reached from the
    plane before's by steps as well (`_step_seed`; with the ratio W to the next plane):
    exp() once per atom (spreading 5 %, the overlap 1 % faster, 1aba with anisotropic
    atoms). ``reseed``: exp() at every row, from the row's own start (atoms whose
    narrowest Gaussians would underflow).

    The moments of a row (sums of M e_k times 1, m and m^2 along it) go into sums over
    the plane weighted by the row's index j (a row starts at P + j ev), kept in local
    variables (registers, not an array: 11 % faster), from which the atom's moments are
    made once per plane, not once per row (overlap with anisotropic atoms 6-17 % faster,
    1aba and 1d7m)."""
    n0, n1, n2 = grid.shape
    flat = grid.reshape(-1)
    lo0, hi0 = _box(fx[0], ext[0], n0)
    lo1, hi1 = _box(fx[1], ext[1], n1)
    if hi1 < lo1:
        return
    o0 = orth[0, 2]
    o1 = orth[1, 2]
    o2 = orth[2, 2]
    h1 = 1.0 / n1
    h2 = 1.0 / n2
    ux = o0 * h2
    uy = o1 * h2
    uz = o2 * h2
    vx = orth[0, 1] * h1
    vy = orth[1, 1] * h1
    vz = orth[2, 1] * h1
    # the bounding ellipse along a row p + o d2: goo d2^2 + 2 gpo d2 + gpp - 1 <= 0,
    # with p = p0 + j v moving across the rows of a plane
    goo = (G[0] * o0 * o0 + G[1] * o1 * o1 + G[2] * o2 * o2
           + 2.0 * (G[3] * o0 * o1 + G[4] * o0 * o2 + G[5] * o1 * o2))
    inv_goo = 1.0 / goo
    gvv = (G[0] * vx * vx + G[1] * vy * vy + G[2] * vz * vz
           + 2.0 * (G[3] * vx * vy + G[4] * vx * vz + G[5] * vy * vz))
    gvo = (G[0] * vx * o0 + G[1] * vy * o1 + G[2] * vz * o2
           + G[3] * (vx * o1 + vy * o0) + G[4] * (vx * o2 + vz * o0)
           + G[5] * (vy * o2 + vz * o1))
    # constant factors per Gaussian: along the row, across rows, and the cross term
    eau = np.empty(5)
    eav = np.empty(5)
    # exp(-2 x'A_k y) of the grid steps (x, y) = (eu, eu), (ev, ev), (ew, ew), (eu, ev),
    # (eu, ew), (ev, ew): along rows and across them here, the plane steps below
    cst = np.empty((6, 5))
    cuu = cst[0]
    cvv = cst[1]
    cuv = cst[3]
    for k in range(5):
        eau[k] = _qf(A, k, ux, uy, uz, ux, uy, uz)
        eav[k] = _qf(A, k, vx, vy, vz, vx, vy, vz)
        cuu[k] = math.exp(-2.0 * eau[k])
        cvv[k] = math.exp(-2.0 * eav[k])
        cuv[k] = math.exp(-2.0 * _qf(A, k, ux, uy, uz, vx, vy, vz))
    t0, t1, t2, t3, t4 = cuu[0], cuu[1], cuu[2], cuu[3], cuu[4]
    y0, y1, y2, y3, y4 = cvv[0], cvv[1], cvv[2], cvv[3], cvv[4]
    x0, x1, x2, x3, x4 = cuv[0], cuv[1], cuv[2], cuv[3], cuv[4]
    # the step to the next plane, for the plane seeds (`_step_seed`)
    wx = orth[0, 0] / n0
    wy = orth[1, 0] / n0
    wz = orth[2, 0] / n0
    eaw = np.empty(5)
    for k in range(5):
        eaw[k] = _qf(A, k, wx, wy, wz, wx, wy, wz)
        cst[2, k] = math.exp(-2.0 * eaw[k])
        cst[4, k] = math.exp(-2.0 * _qf(A, k, ux, uy, uz, wx, wy, wz))
        cst[5, k] = math.exp(-2.0 * _qf(A, k, vx, vy, vz, wx, wy, wz))
    seeded = False       # st holds the seed of plane si0 at row sj, column sm
    si0 = sj = sm = 0
    nrow = hi1 - lo1 + 1
    los = np.empty(nrow, np.int64)
    his = np.empty(nrow, np.int64)
    st = np.empty((4, 5))
    pl = np.empty((6, 5))
    val = 0.0
    for i0 in range(lo0, hi0 + 1):
        d0 = i0 / n0 - fx[0]
        w0 = _wrap(i0, n0)
        d1 = lo1 * h1 - fx[1]
        p0x = orth[0, 0] * d0 + orth[0, 1] * d1
        p0y = orth[1, 0] * d0 + orth[1, 1] * d1
        p0z = orth[2, 0] * d0 + orth[2, 1] * d1
        gpp0 = (G[0] * p0x * p0x + G[1] * p0y * p0y + G[2] * p0z * p0z
                + 2.0 * (G[3] * p0x * p0y + G[4] * p0x * p0z + G[5] * p0y * p0z))
        gpo0 = (G[0] * p0x * o0 + G[1] * p0y * o1 + G[2] * p0z * o2
                + G[3] * (p0x * o1 + p0y * o0) + G[4] * (p0x * o2 + p0z * o0)
                + G[5] * (p0y * o2 + p0z * o1))
        gpv0 = (G[0] * p0x * vx + G[1] * p0y * vy + G[2] * p0z * vz
                + G[3] * (p0x * vy + p0y * vx) + G[4] * (p0x * vz + p0z * vx)
                + G[5] * (p0y * vz + p0z * vy))
        # the rows that meet the ellipse of this plane (contiguous) and their ranges
        first = -1
        last = -1
        m0 = 0
        for j in range(nrow):
            gpp = gpp0 + j * (2.0 * gpv0 + j * gvv)
            gpo = gpo0 + j * gvo
            disc = gpo * gpo - goo * (gpp - 1.0)
            if disc <= 0.0:
                if first >= 0:
                    break
                continue
            sq = math.sqrt(disc)
            los[j] = int(math.ceil((fx[2] - (gpo + sq) * inv_goo) * n2))
            his[j] = int(math.floor((fx[2] + (sq - gpo) * inv_goo) * n2))
            if first < 0:
                first = j
                m0 = los[j]
            last = j
            m0 = min(m0, los[j])
        if first < 0:
            continue
        # every row of the plane from the same column m0 (the points before the row's
        # own start are outside the ellipsoid, so below the cut): the start of each row
        # is one step across from the one before
        started = False
        # the plane's sums (pl below) kept in registers while its rows are visited
        P00 = P01 = P02 = P03 = P04 = 0.0
        P10 = P11 = P12 = P13 = P14 = 0.0
        P20 = P21 = P22 = P23 = P24 = 0.0
        P30 = P31 = P32 = P33 = P34 = 0.0
        P40 = P41 = P42 = P43 = P44 = 0.0
        P50 = P51 = P52 = P53 = P54 = 0.0
        E0 = E1 = E2 = E3 = E4 = 0.0
        U0 = U1 = U2 = U3 = U4 = 0.0
        V0 = V1 = V2 = V3 = V4 = 0.0
        for j in range(first, last + 1):
            lo2 = los[j] if reseed else m0
            d2 = lo2 * h2 - fx[2]
            rx = p0x + j * vx + o0 * d2
            ry = p0y + j * vy + o1 * d2
            rz = p0z + j * vz + o2 * d2
            if not started or reseed:
                if reseed:
                    _seed(A, amp, rx, ry, rz, ux, uy, uz, vx, vy, vz, eau, eav, st)
                else:
                    # the plane's first row start: from the seed of the plane before
                    # by steps (exp() once per atom), unless that came near underflow
                    if seeded:
                        _step_seed(st, cst, i0 - si0, j - sj, m0 - sm)
                        for k in range(5):
                            if abs(st[0, k]) < _TINY * abs(amp[k]):
                                seeded = False
                    if not seeded:
                        _seed(A, amp, rx, ry, rz, ux, uy, uz, vx, vy, vz, eau, eav, st)
                        for k in range(5):
                            st[3, k] = math.exp(-(2.0 * _qf(A, k, wx, wy, wz, rx, ry, rz)
                                                  + eaw[k]))
                        seeded = True
                    si0 = i0
                    sj = j
                    sm = m0
                E0, E1, E2, E3, E4 = st[0, 0], st[0, 1], st[0, 2], st[0, 3], st[0, 4]
                U0, U1, U2, U3, U4 = st[1, 0], st[1, 1], st[1, 2], st[1, 3], st[1, 4]
                V0, V1, V2, V3, V4 = st[2, 0], st[2, 1], st[2, 2], st[2, 3], st[2, 4]
                started = True
            else:
                E0 *= V0
                E1 *= V1
                E2 *= V2
                E3 *= V3
                E4 *= V4
                V0 *= y0
                V1 *= y1
                V2 *= y2
                V3 *= y3
                V4 *= y4
                U0 *= x0
                U1 *= x1
                U2 *= x2
                U3 *= x3
                U4 *= x4
            cnt = his[j] - lo2 + 1
            if his[j] < los[j]:
                continue
            e0, e1, e2, e3, e4 = E0, E1, E2, E3, E4
            q0, q1, q2, q3, q4 = U0, U1, U2, U3, U4
            i1 = lo1 + j
            w2 = _wrap(lo2, n2)
            if mode == 0:
                # the row runs from w2 to the end of the cell, then wraps to 0
                seg = min(cnt, n2 - w2)
                base = (w0 * n1 + _wrap(i1, n1)) * n2
                for part in range(2):
                    # unsigned indices: no check for negative ones
                    idx = np.uint64(base + w2 if part == 0 else base)
                    num = seg if part == 0 else cnt - seg
                    for m in range(num):
                        rho = e0 + e1 + e2 + e3 + e4
                        flat[idx] += occ * (rho - sub) if rho > cut else 0.0
                        idx += np.uint64(1)
                        e0 *= q0
                        e1 *= q1
                        e2 *= q2
                        e3 *= q3
                        e4 *= q4
                        q0 *= t0
                        q1 *= t1
                        q2 *= t2
                        q3 *= t3
                        q4 *= t4
            elif mode == 1:
                base = (w0 * n1 + _wrap(i1, n1)) * n2
                for m in range(cnt):
                    rho = e0 + e1 + e2 + e3 + e4
                    if rho > cut:
                        val += flat[np.uint64(base + w2)] * (rho - sub)
                    e0 *= q0
                    e1 *= q1
                    e2 *= q2
                    e3 *= q3
                    e4 *= q4
                    q0 *= t0
                    q1 *= t1
                    q2 *= t2
                    q3 *= t3
                    q4 *= t4
                    w2 += 1
                    if w2 == n2:
                        w2 = 0
            else:
                base = (w0 * n1 + _wrap(i1, n1)) * n2
                off = float(lo2 - m0)
                s00 = s01 = s02 = s03 = s04 = 0.0
                s10 = s11 = s12 = s13 = s14 = 0.0
                s20 = s21 = s22 = s23 = s24 = 0.0
                for m in range(cnt):
                    rho = e0 + e1 + e2 + e3 + e4
                    if rho > cut:
                        mv = flat[np.uint64(base + w2)]
                        val += mv * (rho - sub)
                        v0 = mv * e0
                        v1 = mv * e1
                        v2 = mv * e2
                        v3 = mv * e3
                        v4 = mv * e4
                        s00 += v0
                        s01 += v1
                        s02 += v2
                        s03 += v3
                        s04 += v4
                        fm = off + float(m)
                        s10 += fm * v0
                        s11 += fm * v1
                        s12 += fm * v2
                        s13 += fm * v3
                        s14 += fm * v4
                        if mode == 3:
                            fm2 = fm * fm
                            s20 += fm2 * v0
                            s21 += fm2 * v1
                            s22 += fm2 * v2
                            s23 += fm2 * v3
                            s24 += fm2 * v4
                    e0 *= q0
                    e1 *= q1
                    e2 *= q2
                    e3 *= q3
                    e4 *= q4
                    q0 *= t0
                    q1 *= t1
                    q2 *= t2
                    q3 *= t3
                    q4 *= t4
                    w2 += 1
                    if w2 == n2:
                        w2 = 0
                # the row starts (column m0) at r = P + j ev: the plane's sums of
                # S0, j S0, j^2 S0, S1, j S1, S2 give its moments (below)
                fj = float(j)
                P00, P01, P02, P03, P04 = _axpy5(P00, P01, P02, P03, P04, 1.0,
                                                 s00, s01, s02, s03, s04)
                P10, P11, P12, P13, P14 = _axpy5(P10, P11, P12, P13, P14, fj,
                                                 s00, s01, s02, s03, s04)
                P30, P31, P32, P33, P34 = _axpy5(P30, P31, P32, P33, P34, 1.0,
                                                 s10, s11, s12, s13, s14)
                if mode == 3:
                    P20, P21, P22, P23, P24 = _axpy5(P20, P21, P22, P23, P24, fj * fj,
                                                     s00, s01, s02, s03, s04)
                    P40, P41, P42, P43, P44 = _axpy5(P40, P41, P42, P43, P44, fj,
                                                     s10, s11, s12, s13, s14)
                    P50, P51, P52, P53, P54 = _axpy5(P50, P51, P52, P53, P54, 1.0,
                                                     s20, s21, s22, s23, s24)
        pl[0, 0], pl[0, 1], pl[0, 2], pl[0, 3], pl[0, 4] = P00, P01, P02, P03, P04
        pl[1, 0], pl[1, 1], pl[1, 2], pl[1, 3], pl[1, 4] = P10, P11, P12, P13, P14
        pl[2, 0], pl[2, 1], pl[2, 2], pl[2, 3], pl[2, 4] = P20, P21, P22, P23, P24
        pl[3, 0], pl[3, 1], pl[3, 2], pl[3, 3], pl[3, 4] = P30, P31, P32, P33, P34
        pl[4, 0], pl[4, 1], pl[4, 2], pl[4, 3], pl[4, 4] = P40, P41, P42, P43, P44
        pl[5, 0], pl[5, 1], pl[5, 2], pl[5, 3], pl[5, 4] = P50, P51, P52, P53, P54
        if mode >= 2:
            # r = P + j ev + m eu, P the plane's first row at column m0:
            # sum M e_k r = P A0 + ev A1 + eu B0, and sum M e_k r r' likewise
            d2 = m0 * h2 - fx[2]
            px = p0x + o0 * d2
            py = p0y + o1 * d2
            pz = p0z + o2 * d2
            for k in range(5):
                a0 = pl[0, k]
                a1 = pl[1, k]
                b0 = pl[3, k]
                acc[k, 0] += px * a0 + vx * a1 + ux * b0
                acc[k, 1] += py * a0 + vy * a1 + uy * b0
                acc[k, 2] += pz * a0 + vz * a1 + uz * b0
                acc[k, 9] += a0
                if mode == 3:
                    a2 = pl[2, k]
                    b1 = pl[4, k]
                    c0 = pl[5, k]
                    acc[k, 3] += (px * px * a0 + 2.0 * px * vx * a1 + vx * vx * a2
                                  + 2.0 * (px * ux * b0 + vx * ux * b1) + ux * ux * c0)
                    acc[k, 4] += (py * py * a0 + 2.0 * py * vy * a1 + vy * vy * a2
                                  + 2.0 * (py * uy * b0 + vy * uy * b1) + uy * uy * c0)
                    acc[k, 5] += (pz * pz * a0 + 2.0 * pz * vz * a1 + vz * vz * a2
                                  + 2.0 * (pz * uz * b0 + vz * uz * b1) + uz * uz * c0)
                    acc[k, 6] += (px * py * a0 + (px * vy + vx * py) * a1 + vx * vy * a2
                                  + (px * uy + ux * py) * b0 + (vx * uy + ux * vy) * b1
                                  + ux * uy * c0)
                    acc[k, 7] += (px * pz * a0 + (px * vz + vx * pz) * a1 + vx * vz * a2
                                  + (px * uz + ux * pz) * b0 + (vx * uz + ux * vz) * b1
                                  + ux * uz * c0)
                    acc[k, 8] += (py * pz * a0 + (py * vz + vy * pz) * a1 + vy * vz * a2
                                  + (py * uz + uy * pz) * b0 + (vy * uz + uy * vz) * b1
                                  + uy * uz * c0)
    acc[5, 0] += val


@njit(cache=True)
def _finish_general(A, acc, aniso, mode, out):
    """Per-atom derivatives from the moments (module docstring)."""
    out[0] = acc[5, 0]
    if mode < 2:
        return
    gx = 0.0
    gy = 0.0
    gz = 0.0
    for k in range(5):
        a00, a11, a22, a01, a02, a12 = A[k, 0], A[k, 1], A[k, 2], A[k, 3], A[k, 4], A[k, 5]
        fx, fy, fz = acc[k, 0], acc[k, 1], acc[k, 2]
        gx += 2.0 * (a00 * fx + a01 * fy + a02 * fz)
        gy += 2.0 * (a01 * fx + a11 * fy + a12 * fz)
        gz += 2.0 * (a02 * fx + a12 * fy + a22 * fz)
    out[1] = gx
    out[2] = gy
    out[3] = gz
    if mode < 3:
        return
    d00 = d11 = d22 = d01 = d02 = d12 = 0.0
    for k in range(5):
        a00, a11, a22, a01, a02, a12 = A[k, 0], A[k, 1], A[k, 2], A[k, 3], A[k, 4], A[k, 5]
        r00, r11, r22, r01, r02, r12 = (acc[k, 3], acc[k, 4], acc[k, 5], acc[k, 6],
                                        acc[k, 7], acc[k, 8])
        mk = acc[k, 9]
        # P = A R (full 3x3), then D = 2 P A - m A (symmetric)
        p00 = a00 * r00 + a01 * r01 + a02 * r02
        p01 = a00 * r01 + a01 * r11 + a02 * r12
        p02 = a00 * r02 + a01 * r12 + a02 * r22
        p10 = a01 * r00 + a11 * r01 + a12 * r02
        p11 = a01 * r01 + a11 * r11 + a12 * r12
        p12 = a01 * r02 + a11 * r12 + a12 * r22
        p20 = a02 * r00 + a12 * r01 + a22 * r02
        p21 = a02 * r01 + a12 * r11 + a22 * r12
        p22 = a02 * r02 + a12 * r12 + a22 * r22
        d00 += 2.0 * (p00 * a00 + p01 * a01 + p02 * a02) - mk * a00
        d11 += 2.0 * (p10 * a01 + p11 * a11 + p12 * a12) - mk * a11
        d22 += 2.0 * (p20 * a02 + p21 * a12 + p22 * a22) - mk * a22
        d01 += 2.0 * (p00 * a01 + p01 * a11 + p02 * a12) - mk * a01
        d02 += 2.0 * (p00 * a02 + p01 * a12 + p02 * a22) - mk * a02
        d12 += 2.0 * (p10 * a02 + p11 * a12 + p12 * a22) - mk * a12
    if aniso:
        out[5] = d00
        out[6] = d11
        out[7] = d22
        out[8] = 2.0 * d01
        out[9] = 2.0 * d02
        out[10] = 2.0 * d12
    else:
        out[4] = (d00 + d11 + d22) / _U_TO_B


# ------------------------------------------------------------------------ orthogonal path

@njit(cache=True)
def _atom_coefs(a, b, beff, amp, alpha, invb):
    """Amplitudes and exponents of the five Gaussians of an isotropic atom."""
    for k in range(5):
        beta = b[k] + beff
        alpha[k] = _FOUR_PI2 / beta
        amp[k] = a[k] * (_FOUR_PI / beta) ** 1.5
        invb[k] = 1.0 / beta


@njit(cache=True)
def _axis_table(f, n, scale, al, amp, lo, hi, tab, rvals):
    """tab[k, i] = amp_k exp(-al_k r_i^2), r_i = scale * ((lo + i)/n - f), i = 0..hi-lo:
    exp() at the point nearest the centre, then outward by the ratio of neighbours,
    which changes by a constant factor (values only fall outward, so an underflow to
    zero is where the Gaussian is below any double anyway)."""
    m = hi - lo + 1
    h = scale / n
    for i in range(m):
        rvals[i] = scale * ((lo + i) / n - f)
    c = int(round(f * n)) - lo
    if c < 0:
        c = 0
    elif c > m - 1:
        c = m - 1
    r0 = rvals[c]
    for k in range(5):
        a = al[k]
        e0 = amp[k] * math.exp(-a * r0 * r0)
        tab[k, c] = e0
        step = math.exp(-2.0 * a * h * h)
        # upward: e(i+1) = e(i) q, q = exp(-a (2 r_i h + h^2)), q(i+1) = q(i) step
        e = e0
        q = math.exp(-a * (2.0 * r0 * h + h * h))
        for i in range(c + 1, m):
            e *= q
            q *= step
            tab[k, i] = e
        e = e0
        q = math.exp(-a * (-2.0 * r0 * h + h * h))
        for i in range(c - 1, -1, -1):
            e *= q
            q *= step
            tab[k, i] = e


#: a line's points are summed in vectors of four doubles, two at a time; a line of fewer
#: than eight points (most of a hydrogen's, the rims of every atom) ran the scalar loop
#: alone. Running each line on to a multiple of eight over points past its end, where
#: the density is below the cut (or the z tables are zero) and adds nothing, makes
#: those lines vector work: 1-13 % less time per atom in the kernels alone (carbon and
#: hydrogen, modes 0, 2 and 3), 2-6 % per ML value + gradient (1aba, 1l2h, 1d7m, with
#: and without riding H); the spread grid unchanged to the bit
_LINE_PAD = 8


@njit(cache=True, inline="always")
def _padded(seg, w, n, z, mz):
    """The points to run on a line of ``seg`` starting at grid index ``w`` (of ``n``)
    and table index ``z`` (tables of ``mz``): ``seg`` rounded up to a multiple of
    _LINE_PAD where both the grid row and the tables reach that far."""
    run = (seg + _LINE_PAD - 1) // _LINE_PAD * _LINE_PAD
    return run if w + run <= n and z + run <= mz else seg


@njit(cache=True, inline="always")
def _wrap(i, n):
    """i modulo n, without the integer division where i is already in 0..n-1 (nearly
    every grid line of an atom): spreading 5-9 % faster (1aba, 1d7m; the same grid to
    the bit), the overlap kernel unchanged."""
    return i if 0 <= i < n else i % n


@njit(cache=True)
def _cross_steps(alpha, c, x0, hx, y0, hy, out):
    """The cross factors exp(-2 alpha_k c x y) of a sheared cell on the grid
    x = x0 + i hx, y = y0 + j hy, as products: out[0, k] the factor at (x0, y0), out[1]
    its ratio along y there, out[2] and out[3] what those two are multiplied by at each
    step along x."""
    for k in range(5):
        f = -2.0 * alpha[k] * c
        out[0, k] = math.exp(f * x0 * y0)
        out[1, k] = math.exp(f * x0 * hy)
        out[2, k] = math.exp(f * hx * y0)
        out[3, k] = math.exp(f * hx * hy)


@njit(cache=True, fastmath=True)
def _one_atom_orth(grid, orth, fx, beff, a, b, cut, sub, mode, occ, out):
    """An isotropic atom in an orthogonal cell: the Gaussians factor along the axes.
    Modes and truncation as `_one_atom_general`; out[0:5] = value, d/dxyz, d/dB.

    A monoclinic cell with b unique (gemmi's orthogonalization: c = (c cos beta, 0,
    c sin beta)) too: with x = a da, y = b db, z = c dc along the cell axes,
    |r|^2 = x^2 + y^2 + z^2 + 2 cos(beta) x z, so each plane (fixed x) still factors:
    its z table is the atom's times exp(-2 alpha_k cos(beta) x z), made per plane by
    products (4 exp() per Gaussian and atom), and r = (x + cos(beta) z, y, sin(beta) z).
    A hexagonal cell (b = (b cos gamma, b sin gamma, 0)): the cross term
    2 cos(gamma) x y is constant along a row, a factor of the row's constant (made by
    products as well), and r = (x + cos(gamma) y, sin(gamma) y, z)."""
    n0, n1, n2 = grid.shape
    flat = grid.reshape(-1)
    coef = np.empty((14, 5))
    amp = coef[0]
    alpha = coef[1]
    invb = coef[2]
    ones = coef[3]
    shear = coef[4:8]           # a-c cross term per plane (monoclinic)
    cross = coef[8:12]          # a-b cross term per row (hexagonal)
    xy = coef[12:14]            # its running value and ratio along the plane's rows
    ones[:] = 1.0
    _atom_coefs(a, b, beff, amp, alpha, invb)
    u_c = _cut_radius2(amp, alpha, cut)
    if u_c <= 0.0:
        return
    rc = math.sqrt(u_c)
    s0 = orth[0, 0]
    s1 = math.sqrt(orth[0, 1] * orth[0, 1] + orth[1, 1] * orth[1, 1])
    s2 = math.sqrt(orth[0, 2] * orth[0, 2] + orth[2, 2] * orth[2, 2])
    cg = orth[0, 1] / s1        # cos(gamma), cos(beta): 0 in an orthogonal cell
    sg = orth[1, 1] / s1
    cb = orth[0, 2] / s2
    sb = orth[2, 2] / s2
    lo0, hi0 = _box(fx[0], rc / (s0 * sg * sb), n0)
    lo1, hi1 = _box(fx[1], rc / (s1 * sg), n1)
    lo2, hi2 = _box(fx[2], rc / (s2 * sb), n2)
    if hi0 < lo0 or hi1 < lo1 or hi2 < lo2:
        return
    m0_ = hi0 - lo0 + 1
    m1_ = hi1 - lo1 + 1
    m2_ = hi2 - lo2 + 1
    mm = max(m0_, m1_, m2_)
    # the tables in one allocation; the z tables (and r_z) run _LINE_PAD zeros past the
    # atom's box, where a line's loop may run on (`_padded`)
    mz = m2_ + _LINE_PAD
    work = np.empty((23, max(mm, mz)))
    work[10:15, m2_:mz] = 0.0
    work[17:23, m2_:mz] = 0.0
    X = work[0:5, :m0_]
    Y = work[5:10, :m1_]
    Z = work[10:15, :mz]
    rxs = work[15, :m0_]
    rys = work[16, :m1_]
    rzs = work[17, :mz]
    _axis_table(fx[0], n0, s0, alpha, amp, lo0, hi0, X, rxs)
    _axis_table(fx[1], n1, s1, alpha, ones, lo1, hi1, Y, rys)
    _axis_table(fx[2], n2, s2, alpha, ones, lo2, hi2, Z, rzs)
    # the z tables of the current plane (the atom's in an orthogonal cell)
    zb = Z if cb == 0.0 else work[18:23, :mz]
    Z0 = zb[0]
    Z1 = zb[1]
    Z2 = zb[2]
    Z3 = zb[3]
    Z4 = zb[4]
    # monoclinic: per plane exp(-2 al_k cb x z_m) = start_k ratio_k^m; hexagonal: per
    # row exp(-2 al_k cg x y_j) likewise (`_cross_steps`)
    if cb != 0.0:
        _cross_steps(alpha, cb, rxs[0], s0 / n0, rzs[0], s2 / n2, shear)
    if cg != 0.0:
        _cross_steps(alpha, cg, rxs[0], s0 / n0, rys[0], s1 / n1, cross)
    xy[0] = 1.0
    al0, al1, al2, al3, al4 = alpha[0], alpha[1], alpha[2], alpha[3], alpha[4]
    val = 0.0
    gx = 0.0
    gy = 0.0
    gz = 0.0
    gb = 0.0
    for i0 in range(hi0 - lo0 + 1):
        rx = rxs[i0]
        w0 = _wrap(lo0 + i0, n0)
        if cb != 0.0:
            for k in range(5):
                e = shear[0, k]
                q = shear[1, k]
                for m in range(m2_):
                    zb[k, m] = Z[k, m] * e
                    e *= q
                shear[0, k] *= shear[2, k]
                shear[1, k] *= shear[3, k]
        if cg != 0.0:
            for k in range(5):
                xy[0, k] = cross[0, k]
                xy[1, k] = cross[1, k]
                cross[0, k] *= cross[2, k]
                cross[1, k] *= cross[3, k]
        # on a line u = (z + cb x)^2 + y^2 + 2 cg x y + sb^2 x^2 (cb or cg is 0)
        zmid = -cb * rx
        for i1 in range(hi1 - lo1 + 1):
            ry = rys[i1]
            xy0, xy1, xy2, xy3, xy4 = xy[0, 0], xy[0, 1], xy[0, 2], xy[0, 3], xy[0, 4]
            if cg != 0.0:
                for k in range(5):
                    xy[0, k] *= xy[1, k]
            rem = u_c - sb * sb * rx * rx - ry * ry - 2.0 * cg * rx * ry
            if rem <= 0.0:
                continue
            w1 = _wrap(lo1 + i1, n1)
            c0 = X[0, i0] * Y[0, i1] * xy0
            c1 = X[1, i0] * Y[1, i1] * xy1
            c2 = X[2, i0] * Y[2, i1] * xy2
            c3 = X[3, i0] * Y[3, i1] * xy3
            c4 = X[4, i0] * Y[4, i1] * xy4
            # the z range where u < u_c on this line
            zr = math.sqrt(rem)
            a2 = max(int(math.ceil((fx[2] + (zmid - zr) / s2) * n2)), lo2)
            b2 = min(int(math.floor((fx[2] + (zmid + zr) / s2) * n2)), hi2)
            l = a2
            if mode == 0:
                base = (w0 * n1 + w1) * n2
                while l <= b2:
                    ws = _wrap(l, n2)
                    seg = min(b2 - l + 1, n2 - ws)
                    run = _padded(seg, ws, n2, l - lo2, mz)
                    # unsigned indices: no check for negative ones
                    idx = np.uint64(base + ws)
                    z = np.uint64(l - lo2)
                    for t in range(run):
                        rho = c0 * Z0[z] + c1 * Z1[z] + c2 * Z2[z] + c3 * Z3[z] + c4 * Z4[z]
                        flat[idx] += occ * (rho - sub) if rho > cut else 0.0
                        idx += np.uint64(1)
                        z += np.uint64(1)
                    l += seg
                continue
            base = (w0 * n1 + w1) * n2
            if mode == 1:
                while l <= b2:
                    ws = _wrap(l, n2)
                    seg = min(b2 - l + 1, n2 - ws)
                    run = _padded(seg, ws, n2, l - lo2, mz)
                    # unsigned indices: numba's wrap-around of negative ones kept the
                    # loop from vectorizing (overlap 25-35 % faster, 1aba)
                    t0 = np.uint64(l - lo2)
                    b0 = np.uint64(base + ws)
                    for t in range(run):
                        z = t0 + np.uint64(t)
                        rho = c0 * Z0[z] + c1 * Z1[z] + c2 * Z2[z] + c3 * Z3[z] + c4 * Z4[z]
                        if rho > cut:
                            val += flat[b0 + np.uint64(t)] * (rho - sub)
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
                uxy = rx * rx + ry * ry + 2.0 * cg * rx * ry
                tcx = 2.0 * cb * rx
                tline = 0.0
                while l <= b2:
                    ws = _wrap(l, n2)
                    seg = min(b2 - l + 1, n2 - ws)
                    run = _padded(seg, ws, n2, l - lo2, mz)
                    t0 = np.uint64(l - lo2)
                    b0 = np.uint64(base + ws)
                    for t in range(run):
                        z = t0 + np.uint64(t)
                        z0 = Z0[z]
                        z1 = Z1[z]
                        z2 = Z2[z]
                        z3 = Z3[z]
                        z4 = Z4[z]
                        rho = c0 * z0 + c1 * z1 + c2 * z2 + c3 * z3 + c4 * z4
                        mv = flat[b0 + np.uint64(t)]
                        if rho <= cut:
                            mv = 0.0
                        val += mv * (rho - sub)
                        du = mv * (d0 * z0 + d1 * z1 + d2 * z2 + d3 * z3 + d4 * z4)
                        tline += du
                        rz = rzs[z]
                        gz += du * rz
                        if mode == 3:
                            u = uxy + rz * (rz + tcx)
                            gb += mv * ((p0 * z0 + p1 * z1 + p2 * z2 + p3 * z3 + p4 * z4) * u
                                        + m0 * z0 + m1 * z1 + m2 * z2 + m3 * z3 + m4 * z4)
                    l += seg
                gx += tline * (rx + cg * ry)
                gy += tline * ry
    if mode != 0:
        out[0] = val
        # d u / d x_atom = -2 r, r = (x + cg y + cb z, sg y, sb z)
        out[1] = -2.0 * (gx + cb * gz)
        out[2] = -2.0 * sg * gy
        out[3] = -2.0 * sb * gz
        out[4] = gb


# ----------------------------------------------------------------------------- drivers

@njit(cache=True)
def _atom(grid, orth, frac_mat, fx, beff, u, aniso, a, b, blur, cut, sub, mode, occ, out,
          orth_fast):
    """One atom, by the path that fits it; ``out`` gets the overlap row (modes 1-3)."""
    if orth_fast and not aniso:
        _one_atom_orth(grid, orth, fx, beff, a, b, cut, sub, mode, occ, out)
        return
    amp = np.empty(5)
    A = np.empty((5, 6))
    G = np.empty(6)
    ext = np.empty(3)
    qmax = _prepare_general(a, b, beff, u, aniso, blur, cut, frac_mat, amp, A, G, ext)
    if qmax < 0.0:
        return
    acc = np.zeros((6, 10))
    _one_atom_general(grid, orth, fx, amp, A, G, ext, cut, sub, mode, occ, acc,
                      qmax > _RESEED_EXPONENT)
    if mode != 0:
        _finish_general(A, acc, aniso, mode, out)


@njit(cache=True, parallel=True)
def overlap_atoms(grid, orth, frac_mat, frac, beff, uani, aniso, eidx, acoef, bcoef, blur,
                  cut, sub, mode, general):
    """Per atom (occupancy 1, no volume element) the row
    [O, dO/dx, dO/dy, dO/dz, dO/dB, dO/du11 .. dO/du23] (zeros where not asked for:
    mode 1 value only, 2 with dxyz, 3 with dB / dU). ``cut`` and ``sub`` are per element
    (indexed like ``acoef``), as in the spreading kernels."""
    n = frac.shape[0]
    out = np.zeros((n, NOUT))
    orth_fast = _factorises(orth) and not general
    for j in prange(n):
        _atom(grid, orth, frac_mat, frac[j], beff[j], uani[j], aniso[j], acoef[eidx[j]],
              bcoef[eidx[j]], blur, cut[eidx[j]], sub[eidx[j]], mode, 1.0, out[j], orth_fast)
    return out


@njit(cache=True)
def spread_atoms(grid, orth, frac_mat, frac, beff, uani, aniso, occ, eidx, acoef, bcoef,
                 blur, cut, sub, general):
    """grid += sum_j occ_j rho~_j (serial: atoms overlap on the grid)."""
    dummy = np.zeros(NOUT)
    orth_fast = _factorises(orth) and not general
    for j in range(frac.shape[0]):
        if occ[j] == 0.0:
            continue
        _atom(grid, orth, frac_mat, frac[j], beff[j], uani[j], aniso[j], acoef[eidx[j]],
              bcoef[eidx[j]], blur, cut[eidx[j]], sub[eidx[j]], 0, occ[j], dummy,
              orth_fast)


@njit(cache=True, parallel=True)
def spread_atoms_parallel(out, priv, orth, frac_mat, frac, beff, uani, aniso, occ, eidx,
                          acoef, bcoef, blur, cut, sub, general):
    """out = sum_j occ_j rho~_j with the atoms split over priv.shape[0] + 1 threads: the
    first spreads into ``out``, the others into their own grids ``priv[t - 1]``, which are
    then added (zeroing and adding in parallel over planes; the order is fixed)."""
    nt = priv.shape[0] + 1
    n = frac.shape[0]
    n0 = out.shape[0]
    orth_fast = _factorises(orth) and not general
    for p in prange(n0):
        out[p] = 0.0
        for t in range(nt - 1):
            priv[t, p] = 0.0
    for t in prange(nt):
        a0 = (n * t) // nt
        a1 = (n * (t + 1)) // nt
        g = out if t == 0 else priv[t - 1]
        dummy = np.zeros(NOUT)
        for j in range(a0, a1):
            if occ[j] == 0.0:
                continue
            _atom(g, orth, frac_mat, frac[j], beff[j], uani[j], aniso[j], acoef[eidx[j]],
                  bcoef[eidx[j]], blur, cut[eidx[j]], sub[eidx[j]], 0, occ[j], dummy,
                  orth_fast)
    for p in prange(n0):
        for t in range(nt - 1):
            out[p] += priv[t, p]


# ----------------------------------------------------------------------------- coefficients

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
    in `gather_fcalc`. Serial: symmetry mates of different h may meet at one
    coefficient, and it is cheap (500k reflections: 3 ms; split over two threads that
    each own half of ``flat``, 4 ms)."""
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


# ----------------------------------------------------------------------------- threads

@njit(cache=True, parallel=True)
def count_iterations(counts):
    """counts[i] += 1 for every i, in parallel: each iteration must run exactly once."""
    for i in prange(counts.shape[0]):
        counts[i] += 1
