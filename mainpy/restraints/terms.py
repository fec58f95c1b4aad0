"""Numba kernels of the restraint energy terms: energy plus gradient.

Every kernel returns the term's energy sum_k w_k * delta_k**2 (w = 1/esd**2, possibly
times a per-restraint factor) and ADDS its gradient into `grad` ((n, 3) for coordinates,
(n,) for B values), so terms can share one gradient array. Angles are in degrees, so
their esd is in degrees too. Import this module lazily: it compiles on first use.

Each term exists twice, on one per-restraint function (`_bond_one`, ...):

* ``bond_energy(..., grad)`` and so on: one serial loop over the restraints;
* ``bond_energy_chunked(..., gbuf, scale)`` and so on: the restraints cut into
  ``gbuf.shape[0]`` contiguous chunks run in parallel (numba prange), chunk c adding
  scale * its gradient into its own array gbuf[c]; ``sum_chunks`` adds them up at the end.
  Each chunk sums in the serial order and the chunks are added in a fixed order, so the
  result depends on the number of chunks only at round-off (about 1e-16 relative), never
  on how the threads are scheduled. The energy is returned unscaled.

Private gradient arrays rather than one per restraint scattered afterwards: the scatter
would be serial, and on 55k atoms zeroing and adding two (n, 3) arrays costs 0.2 ms
against 14 ms for the terms.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

RAD2DEG = 180.0 / math.pi


@njit(cache=True)
def _apply(op, x):
    """Orthogonal transform [R | t] (3, 4) applied to a point."""
    return np.array([op[0, 0] * x[0] + op[0, 1] * x[1] + op[0, 2] * x[2] + op[0, 3],
                     op[1, 0] * x[0] + op[1, 1] * x[1] + op[1, 2] * x[2] + op[1, 3],
                     op[2, 0] * x[0] + op[2, 1] * x[1] + op[2, 2] * x[2] + op[2, 3]])


@njit(cache=True)
def _chunk(m, nch, c):
    """Range [lo, hi) of chunk c when m items are cut into nch contiguous chunks."""
    return c * m // nch, (c + 1) * m // nch


@njit(cache=True, parallel=True)
def sum_chunks(gbuf, clear):
    """Sum over the first axis of the per-chunk gradients (chunks added in order); with
    clear, gbuf is zeroed in the same pass, ready for the next evaluation."""
    nch = gbuf.shape[0]
    flat = gbuf.reshape(nch, -1)
    n = flat.shape[1]
    out = np.empty(n)
    nblk = (n + 4095) // 4096
    for blk in prange(nblk):
        lo = blk * 4096
        hi = min(n, lo + 4096)
        for q in range(lo, hi):
            s = flat[0, q]
            for c in range(1, nch):
                s += flat[c, q]
            out[q] = s
        if clear:
            for c in range(nch):
                for q in range(lo, hi):
                    flat[c, q] = 0.0
    return out.reshape(gbuf.shape[1:])


# --- bonds -------------------------------------------------------------------------------
# Each term: _X_range(lo, hi, ..., grad, scale) loops over restraints lo..hi-1 (the loop
# body written out: a per-restraint helper called in the loop, even inlined, ran the
# 55k-atom nonbonded term in 5.4 ms instead of 2.3); X_energy is the serial kernel and
# X_energy_chunked runs the chunks in parallel, chunk c into gbuf[c].

@njit(cache=True)
def _bond_range(lo, hi, xyz, idx, ideal, w, sym, ops, grad, scale):
    e = 0.0
    for k in range(lo, hi):
        i = idx[k, 0]
        j = idx[k, 1]
        s = sym[k]
        if s < 0:
            xj = xyz[j]
        else:
            xj = _apply(ops[s], xyz[j])
        dx = xyz[i, 0] - xj[0]
        dy = xyz[i, 1] - xj[1]
        dz = xyz[i, 2] - xj[2]
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        delta = d - ideal[k]
        e += w[k] * delta * delta
        f = scale * (2.0 * w[k] * delta / max(d, 1e-12))
        gx, gy, gz = f * dx, f * dy, f * dz
        grad[i, 0] += gx
        grad[i, 1] += gy
        grad[i, 2] += gz
        if s < 0:
            grad[j, 0] -= gx
            grad[j, 1] -= gy
            grad[j, 2] -= gz
        else:  # d/dx_j of |x_i - R x_j - t| is -R^T (x_i - x_j')/d
            for a in range(3):
                grad[j, a] -= ops[s, 0, a] * gx + ops[s, 1, a] * gy + ops[s, 2, a] * gz
    return e


@njit(cache=True)
def bond_energy(xyz, idx, ideal, w, sym, ops, grad):
    """Bond lengths: sum w (d - d0)^2; atom 2 may be a symmetry image (sym >= 0)."""
    return _bond_range(0, idx.shape[0], xyz, idx, ideal, w, sym, ops, grad, 1.0)


@njit(cache=True, parallel=True)
def bond_energy_chunked(xyz, idx, ideal, w, sym, ops, gbuf, scale):
    nch = gbuf.shape[0]
    ec = np.zeros(nch)
    for c in prange(nch):
        lo, hi = _chunk(idx.shape[0], nch, c)
        ec[c] = _bond_range(lo, hi, xyz, idx, ideal, w, sym, ops, gbuf[c], scale)
    return _ordered_sum(ec)


@njit(cache=True)
def _ordered_sum(ec):
    e = 0.0
    for c in range(ec.shape[0]):
        e += ec[c]
    return e


# --- angles ------------------------------------------------------------------------------

@njit(cache=True)
def _angle_range(lo, hi, xyz, idx, ideal, w, grad, scale):
    e = 0.0
    for k in range(lo, hi):
        i, j, l = idx[k, 0], idx[k, 1], idx[k, 2]
        u0 = xyz[i, 0] - xyz[j, 0]
        u1 = xyz[i, 1] - xyz[j, 1]
        u2 = xyz[i, 2] - xyz[j, 2]
        v0 = xyz[l, 0] - xyz[j, 0]
        v1 = xyz[l, 1] - xyz[j, 1]
        v2 = xyz[l, 2] - xyz[j, 2]
        uu = u0 * u0 + u1 * u1 + u2 * u2
        vv = v0 * v0 + v1 * v1 + v2 * v2
        luv = math.sqrt(uu * vv)
        c = (u0 * v0 + u1 * v1 + u2 * v2) / luv
        c = min(1.0, max(-1.0, c))
        theta = math.acos(c) * RAD2DEG
        delta = theta - ideal[k]
        e += w[k] * delta * delta
        sn = max(math.sqrt(max(0.0, 1.0 - c * c)), 1e-10)
        f = scale * (-2.0 * w[k] * delta * RAD2DEG / sn)  # dE/dcos
        a = f / luv
        bu = f * c / uu
        bv = f * c / vv
        gi0 = a * v0 - bu * u0
        gi1 = a * v1 - bu * u1
        gi2 = a * v2 - bu * u2
        gl0 = a * u0 - bv * v0
        gl1 = a * u1 - bv * v1
        gl2 = a * u2 - bv * v2
        grad[i, 0] += gi0
        grad[i, 1] += gi1
        grad[i, 2] += gi2
        grad[l, 0] += gl0
        grad[l, 1] += gl1
        grad[l, 2] += gl2
        grad[j, 0] -= gi0 + gl0
        grad[j, 1] -= gi1 + gl1
        grad[j, 2] -= gi2 + gl2
    return e


@njit(cache=True)
def angle_energy(xyz, idx, ideal, w, grad):
    """Bond angles (degrees) at the middle atom: sum w (theta - theta0)^2."""
    return _angle_range(0, idx.shape[0], xyz, idx, ideal, w, grad, 1.0)


@njit(cache=True, parallel=True)
def angle_energy_chunked(xyz, idx, ideal, w, gbuf, scale):
    nch = gbuf.shape[0]
    ec = np.zeros(nch)
    for c in prange(nch):
        lo, hi = _chunk(idx.shape[0], nch, c)
        ec[c] = _angle_range(lo, hi, xyz, idx, ideal, w, gbuf[c], scale)
    return _ordered_sum(ec)


# --- torsions ----------------------------------------------------------------------------

@njit(cache=True)
def _cross(a, b):
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


@njit(cache=True)
def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@njit(cache=True)
def dihedral(x1, x2, x3, x4):
    """Dihedral angle in degrees (IUPAC sign, as gemmi.calculate_dihedral)."""
    b1 = x2 - x1
    b2 = x3 - x2
    b3 = x4 - x3
    m = _cross(b1, b2)
    n = _cross(b2, b3)
    lb2 = math.sqrt(_dot(b2, b2))
    return math.atan2(lb2 * _dot(b1, n), _dot(m, n)) * RAD2DEG


@njit(cache=True)
def wrap_degrees(a):
    """Angle difference folded into [-180, 180)."""
    return a - 360.0 * math.floor((a + 180.0) / 360.0)


@njit(cache=True)
def _torsion_range(lo, hi, xyz, idx, ideal, w, period, grad, scale):
    e = 0.0
    for k in range(lo, hi):
        i1, i2, i3, i4 = idx[k, 0], idx[k, 1], idx[k, 2], idx[k, 3]
        a0 = xyz[i2, 0] - xyz[i1, 0]
        a1 = xyz[i2, 1] - xyz[i1, 1]
        a2 = xyz[i2, 2] - xyz[i1, 2]
        b0 = xyz[i3, 0] - xyz[i2, 0]
        b1 = xyz[i3, 1] - xyz[i2, 1]
        b2 = xyz[i3, 2] - xyz[i2, 2]
        c0 = xyz[i4, 0] - xyz[i3, 0]
        c1 = xyz[i4, 1] - xyz[i3, 1]
        c2 = xyz[i4, 2] - xyz[i3, 2]
        m0 = a1 * b2 - a2 * b1
        m1 = a2 * b0 - a0 * b2
        m2 = a0 * b1 - a1 * b0
        n0 = b1 * c2 - b2 * c1
        n1 = b2 * c0 - b0 * c2
        n2 = b0 * c1 - b1 * c0
        bb = b0 * b0 + b1 * b1 + b2 * b2
        lb = math.sqrt(bb)
        y = lb * (a0 * n0 + a1 * n1 + a2 * n2)
        x = m0 * n0 + m1 * n1 + m2 * n2
        phi = math.atan2(y, x) * RAD2DEG
        p = max(1, period[k])
        delta = wrap_degrees(p * (phi - ideal[k])) / p
        e += w[k] * delta * delta
        f = scale * (2.0 * w[k] * delta * RAD2DEG)  # dE/dphi(rad)
        mm = max(m0 * m0 + m1 * m1 + m2 * m2, 1e-20)
        nn = max(n0 * n0 + n1 * n1 + n2 * n2, 1e-20)
        fm = -f * lb / mm
        fn = f * lb / nn
        g10, g11, g12 = fm * m0, fm * m1, fm * m2
        g40, g41, g42 = fn * n0, fn * n1, fn * n2
        s1 = (a0 * b0 + a1 * b1 + a2 * b2) / bb
        s3 = (c0 * b0 + c1 * b1 + c2 * b2) / bb
        grad[i1, 0] += g10
        grad[i1, 1] += g11
        grad[i1, 2] += g12
        grad[i4, 0] += g40
        grad[i4, 1] += g41
        grad[i4, 2] += g42
        grad[i2, 0] += (-1.0 - s1) * g10 + s3 * g40
        grad[i2, 1] += (-1.0 - s1) * g11 + s3 * g41
        grad[i2, 2] += (-1.0 - s1) * g12 + s3 * g42
        grad[i3, 0] += s1 * g10 - (1.0 + s3) * g40
        grad[i3, 1] += s1 * g11 - (1.0 + s3) * g41
        grad[i3, 2] += s1 * g12 - (1.0 + s3) * g42
    return e


@njit(cache=True)
def torsion_energy(xyz, idx, ideal, w, period, grad):
    """Periodic torsions: sum w (wrap(p (phi - phi0)) / p)^2, p = period (0 means 1).

    Gradient of phi after Bekker (1996): dphi/dx1 = -|b2| m/|m|^2, dphi/dx4 = |b2| n/|n|^2,
    the middle atoms from these and the projections of b1 and b3 on b2.
    """
    return _torsion_range(0, idx.shape[0], xyz, idx, ideal, w, period, grad, 1.0)


@njit(cache=True, parallel=True)
def torsion_energy_chunked(xyz, idx, ideal, w, period, gbuf, scale):
    nch = gbuf.shape[0]
    ec = np.zeros(nch)
    for c in prange(nch):
        lo, hi = _chunk(idx.shape[0], nch, c)
        ec[c] = _torsion_range(lo, hi, xyz, idx, ideal, w, period, gbuf[c], scale)
    return _ordered_sum(ec)


# --- chiral volumes ----------------------------------------------------------------------

@njit(cache=True)
def _chiral_range(lo, hi, xyz, idx, ideal, sign, w, grad, scale):
    e = 0.0
    for k in range(lo, hi):
        c, i1, i2, i3 = idx[k, 0], idx[k, 1], idx[k, 2], idx[k, 3]
        p0 = xyz[i1, 0] - xyz[c, 0]
        p1 = xyz[i1, 1] - xyz[c, 1]
        p2 = xyz[i1, 2] - xyz[c, 2]
        q0 = xyz[i2, 0] - xyz[c, 0]
        q1 = xyz[i2, 1] - xyz[c, 1]
        q2 = xyz[i2, 2] - xyz[c, 2]
        r0 = xyz[i3, 0] - xyz[c, 0]
        r1 = xyz[i3, 1] - xyz[c, 1]
        r2 = xyz[i3, 2] - xyz[c, 2]
        # dV/dx1 = q x r, dV/dx2 = r x p, dV/dx3 = p x q
        g10, g11, g12 = q1 * r2 - q2 * r1, q2 * r0 - q0 * r2, q0 * r1 - q1 * r0
        g20, g21, g22 = r1 * p2 - r2 * p1, r2 * p0 - r0 * p2, r0 * p1 - r1 * p0
        g30, g31, g32 = p1 * q2 - p2 * q1, p2 * q0 - p0 * q2, p0 * q1 - p1 * q0
        vol = p0 * g10 + p1 * g11 + p2 * g12
        s = sign[k]
        if s == 0:
            s = 1 if vol >= 0 else -1
        delta = vol - s * ideal[k]
        e += w[k] * delta * delta
        f = scale * (2.0 * w[k] * delta)
        grad[i1, 0] += f * g10
        grad[i1, 1] += f * g11
        grad[i1, 2] += f * g12
        grad[i2, 0] += f * g20
        grad[i2, 1] += f * g21
        grad[i2, 2] += f * g22
        grad[i3, 0] += f * g30
        grad[i3, 1] += f * g31
        grad[i3, 2] += f * g32
        grad[c, 0] -= f * (g10 + g20 + g30)
        grad[c, 1] -= f * (g11 + g21 + g31)
        grad[c, 2] -= f * (g12 + g22 + g32)
    return e


@njit(cache=True)
def chiral_energy(xyz, idx, ideal, sign, w, grad):
    """Chiral volumes: sum w (V - s V0)^2, V = (x1-xc).((x2-xc) x (x3-xc)).

    s is the restraint's sign, or the sign of the current volume when either is allowed.
    """
    return _chiral_range(0, idx.shape[0], xyz, idx, ideal, sign, w, grad, 1.0)


@njit(cache=True, parallel=True)
def chiral_energy_chunked(xyz, idx, ideal, sign, w, gbuf, scale):
    nch = gbuf.shape[0]
    ec = np.zeros(nch)
    for c in prange(nch):
        lo, hi = _chunk(idx.shape[0], nch, c)
        ec[c] = _chiral_range(lo, hi, xyz, idx, ideal, sign, w, gbuf[c], scale)
    return _ordered_sum(ec)


# --- planes ------------------------------------------------------------------------------

@njit(cache=True)
def _smallest_eigvec(a00, a01, a02, a11, a12, a22, out):
    """Unit eigenvector of the smallest eigenvalue of a symmetric 3x3 matrix.

    Eigenvalue in closed form (trigonometric solution of the characteristic cubic); the
    vector is the largest cross product of two rows of A - lambda I. Falls back to LAPACK
    when the smallest eigenvalue is not separated from the next one.
    """
    q = (a00 + a11 + a22) / 3.0
    p1 = a01 * a01 + a02 * a02 + a12 * a12
    b00 = a00 - q
    b11 = a11 - q
    b22 = a22 - q
    p2 = b00 * b00 + b11 * b11 + b22 * b22 + 2.0 * p1
    p = math.sqrt(p2 / 6.0)
    ok = p > 0.0
    if ok:
        det = (b00 * (b11 * b22 - a12 * a12) - a01 * (a01 * b22 - a12 * a02)
               + a02 * (a01 * a12 - b11 * a02))
        r = det / (2.0 * p * p * p)
        r = min(1.0, max(-1.0, r))
        ph = math.acos(r) / 3.0
        lam = q + 2.0 * p * math.cos(ph + 2.0 * math.pi / 3.0)  # smallest
        r0 = (a00 - lam, a01, a02)
        r1 = (a01, a11 - lam, a12)
        r2 = (a02, a12, a22 - lam)
        best = 0.0
        for u, v in ((r0, r1), (r0, r2), (r1, r2)):
            c0 = u[1] * v[2] - u[2] * v[1]
            c1 = u[2] * v[0] - u[0] * v[2]
            c2 = u[0] * v[1] - u[1] * v[0]
            nn = c0 * c0 + c1 * c1 + c2 * c2
            if nn > best:
                best = nn
                out[0], out[1], out[2] = c0, c1, c2
        ok = best > 1e-12 * p2 * p2
        if ok:
            s = 1.0 / math.sqrt(best)
            out[0] *= s
            out[1] *= s
            out[2] *= s
    if not ok:
        a = np.array([[a00, a01, a02], [a01, a11, a12], [a02, a12, a22]])
        _, vecs = np.linalg.eigh(a)
        out[0], out[1], out[2] = vecs[0, 0], vecs[1, 0], vecs[2, 0]


@njit(cache=True)
def _plane_range(lo, hi, xyz, atoms, start, w, grad, dev, scale):
    e = 0.0
    nrm = np.empty(3)
    for p in range(lo, hi):
        s0 = start[p]
        s1 = start[p + 1]
        c0 = c1 = c2 = wsum = 0.0
        for q in range(s0, s1):
            i = atoms[q]
            c0 += w[q] * xyz[i, 0]
            c1 += w[q] * xyz[i, 1]
            c2 += w[q] * xyz[i, 2]
            wsum += w[q]
        c0 /= wsum
        c1 /= wsum
        c2 /= wsum
        a00 = a01 = a02 = a11 = a12 = a22 = 0.0
        for q in range(s0, s1):
            i = atoms[q]
            d0 = xyz[i, 0] - c0
            d1 = xyz[i, 1] - c1
            d2 = xyz[i, 2] - c2
            a00 += w[q] * d0 * d0
            a01 += w[q] * d0 * d1
            a02 += w[q] * d0 * d2
            a11 += w[q] * d1 * d1
            a12 += w[q] * d1 * d2
            a22 += w[q] * d2 * d2
        _smallest_eigvec(a00, a01, a02, a11, a12, a22, nrm)
        for q in range(s0, s1):
            i = atoms[q]
            d = ((xyz[i, 0] - c0) * nrm[0] + (xyz[i, 1] - c1) * nrm[1]
                 + (xyz[i, 2] - c2) * nrm[2])
            dev[q] = d
            e += w[q] * d * d
            f = scale * (2.0 * w[q] * d)
            grad[i, 0] += f * nrm[0]
            grad[i, 1] += f * nrm[1]
            grad[i, 2] += f * nrm[2]
    return e


@njit(cache=True)
def plane_energy(xyz, atoms, start, w, grad, dev):
    """Planarity: sum_i w_i d_i^2, d_i = distance of atom i from the weighted LS plane.

    The plane minimises the weighted sum, so (envelope theorem) the gradient is simply
    2 w_i d_i n. The signed deviations are written into `dev` (same layout as `atoms`).
    """
    return _plane_range(0, start.shape[0] - 1, xyz, atoms, start, w, grad, dev, 1.0)


@njit(cache=True, parallel=True)
def plane_energy_chunked(xyz, atoms, start, w, dev, gbuf, scale):
    nch = gbuf.shape[0]
    ec = np.zeros(nch)
    for c in prange(nch):
        lo, hi = _chunk(start.shape[0] - 1, nch, c)
        ec[c] = _plane_range(lo, hi, xyz, atoms, start, w, gbuf[c], dev, scale)
    return _ordered_sum(ec)


# --- non-bonded contacts -----------------------------------------------------------------

@njit(cache=True)
def _nonbonded_range(lo, hi, xyz, pairs, img, d0, w, ops, grad, scale):
    e = 0.0
    for k in range(lo, hi):
        i = pairs[k, 0]
        j = pairs[k, 1]
        s = img[k]
        if s < 0:
            xj0 = xyz[j, 0]
            xj1 = xyz[j, 1]
            xj2 = xyz[j, 2]
        else:
            xj0 = ops[s, 0, 0] * xyz[j, 0] + ops[s, 0, 1] * xyz[j, 1] + ops[s, 0, 2] * xyz[j, 2] + ops[s, 0, 3]
            xj1 = ops[s, 1, 0] * xyz[j, 0] + ops[s, 1, 1] * xyz[j, 1] + ops[s, 1, 2] * xyz[j, 2] + ops[s, 1, 3]
            xj2 = ops[s, 2, 0] * xyz[j, 0] + ops[s, 2, 1] * xyz[j, 1] + ops[s, 2, 2] * xyz[j, 2] + ops[s, 2, 3]
        dx = xyz[i, 0] - xj0
        dy = xyz[i, 1] - xj1
        dz = xyz[i, 2] - xj2
        dsq = dx * dx + dy * dy + dz * dz
        if dsq >= d0[k] * d0[k]:
            continue
        d = math.sqrt(dsq)
        delta = d - d0[k]
        e += w[k] * delta * delta
        f = scale * (2.0 * w[k] * delta / max(d, 1e-12))
        gx, gy, gz = f * dx, f * dy, f * dz
        grad[i, 0] += gx
        grad[i, 1] += gy
        grad[i, 2] += gz
        if s < 0:
            grad[j, 0] -= gx
            grad[j, 1] -= gy
            grad[j, 2] -= gz
        else:
            for a in range(3):
                grad[j, a] -= ops[s, 0, a] * gx + ops[s, 1, a] * gy + ops[s, 2, a] * gz
    return e


@njit(cache=True)
def nonbonded_energy(xyz, pairs, img, d0, w, ops, grad):
    """Repulsion: sum w (d - d0)^2 over pairs closer than d0 (Refmac's VDWR form).

    `img[k]` < 0: both atoms in the model; else atom 2 is taken through ops[img[k]].
    `w` includes 1/esd^2 and 0.5 for contacts of an atom with its own image under a
    two-fold operation (counted once per asymmetric unit).
    """
    return _nonbonded_range(0, pairs.shape[0], xyz, pairs, img, d0, w, ops, grad, 1.0)


@njit(cache=True, parallel=True)
def nonbonded_energy_chunked(xyz, pairs, img, d0, w, ops, gbuf, scale):
    nch = gbuf.shape[0]
    ec = np.zeros(nch)
    for c in prange(nch):
        lo, hi = _chunk(pairs.shape[0], nch, c)
        ec[c] = _nonbonded_range(lo, hi, xyz, pairs, img, d0, w, ops, gbuf[c], scale)
    return _ordered_sum(ec)


# --- B-value similarity ------------------------------------------------------------------

@njit(cache=True)
def _adp_range(lo, hi, b, pairs, w, grad_b, scale):
    e = 0.0
    for k in range(lo, hi):
        i = pairs[k, 0]
        j = pairs[k, 1]
        delta = b[i] - b[j]
        e += w[k] * delta * delta
        f = scale * (2.0 * w[k] * delta)
        grad_b[i] += f
        grad_b[j] -= f
    return e


@njit(cache=True)
def adp_energy(b, pairs, w, grad_b):
    """B-value similarity of bonded atoms: sum w (B_i - B_j)^2; gradient wrt B."""
    return _adp_range(0, pairs.shape[0], b, pairs, w, grad_b, 1.0)


@njit(cache=True, parallel=True)
def adp_energy_chunked(b, pairs, w, gbuf, scale):
    """adp_energy on chunks; gbuf is (chunks, n)."""
    nch = gbuf.shape[0]
    ec = np.zeros(nch)
    for c in prange(nch):
        lo, hi = _chunk(pairs.shape[0], nch, c)
        ec[c] = _adp_range(lo, hi, b, pairs, w, gbuf[c], scale)
    return _ordered_sum(ec)


# --- local NCS ---------------------------------------------------------------------------

@njit(cache=True)
def ncs_energy(xyz, ij, kl, w, grad):
    """Local NCS (mainpy.restraints.ncs): sum w (d_ij - d_kl)^2 over the pairs, the
    distance d_ij in one copy against d_kl of the same atoms in another."""
    e = 0.0
    for m in range(ij.shape[0]):
        i, j, k, l = ij[m, 0], ij[m, 1], kl[m, 0], kl[m, 1]
        a0 = xyz[i, 0] - xyz[j, 0]
        a1 = xyz[i, 1] - xyz[j, 1]
        a2 = xyz[i, 2] - xyz[j, 2]
        b0 = xyz[k, 0] - xyz[l, 0]
        b1 = xyz[k, 1] - xyz[l, 1]
        b2 = xyz[k, 2] - xyz[l, 2]
        da = math.sqrt(a0 * a0 + a1 * a1 + a2 * a2)
        db = math.sqrt(b0 * b0 + b1 * b1 + b2 * b2)
        diff = da - db
        e += w * diff * diff
        c = 2.0 * w * diff
        ca = c / max(da, 1e-12)
        cb = c / max(db, 1e-12)
        grad[i, 0] += ca * a0
        grad[i, 1] += ca * a1
        grad[i, 2] += ca * a2
        grad[j, 0] -= ca * a0
        grad[j, 1] -= ca * a1
        grad[j, 2] -= ca * a2
        grad[k, 0] -= cb * b0
        grad[k, 1] -= cb * b1
        grad[k, 2] -= cb * b2
        grad[l, 0] += cb * b0
        grad[l, 1] += cb * b1
        grad[l, 2] += cb * b2
    return e
