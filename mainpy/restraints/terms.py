"""Numba kernels of the restraint energy terms: energy plus gradient.

Every kernel returns the term's energy sum_k w_k * delta_k**2 (w = 1/esd**2, possibly
times a per-restraint factor) and ADDS its gradient into `grad` ((n, 3) for coordinates,
(n,) for B values), so terms can share one gradient array. Angles are in degrees, so
their esd is in degrees too. Import this module lazily: it compiles on first use.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

RAD2DEG = 180.0 / math.pi


@njit(cache=True)
def _apply(op, x):
    """Orthogonal transform [R | t] (3, 4) applied to a point."""
    return np.array([op[0, 0] * x[0] + op[0, 1] * x[1] + op[0, 2] * x[2] + op[0, 3],
                     op[1, 0] * x[0] + op[1, 1] * x[1] + op[1, 2] * x[2] + op[1, 3],
                     op[2, 0] * x[0] + op[2, 1] * x[1] + op[2, 2] * x[2] + op[2, 3]])


@njit(cache=True)
def bond_energy(xyz, idx, ideal, w, sym, ops, grad):
    """Bond lengths: sum w (d - d0)^2; atom 2 may be a symmetry image (sym >= 0)."""
    e = 0.0
    for k in range(idx.shape[0]):
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
        f = 2.0 * w[k] * delta / max(d, 1e-12)
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
def angle_energy(xyz, idx, ideal, w, grad):
    """Bond angles (degrees) at the middle atom: sum w (theta - theta0)^2."""
    e = 0.0
    for k in range(idx.shape[0]):
        i, j, l = idx[k, 0], idx[k, 1], idx[k, 2]
        u = xyz[i] - xyz[j]
        v = xyz[l] - xyz[j]
        lu = math.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2])
        lv = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        c = (u[0] * v[0] + u[1] * v[1] + u[2] * v[2]) / (lu * lv)
        c = min(1.0, max(-1.0, c))
        theta = math.acos(c) * RAD2DEG
        delta = theta - ideal[k]
        e += w[k] * delta * delta
        sn = max(math.sqrt(max(0.0, 1.0 - c * c)), 1e-10)
        f = -2.0 * w[k] * delta * RAD2DEG / sn  # dE/dcos
        for a in range(3):
            gi = f * (v[a] / (lu * lv) - c * u[a] / (lu * lu))
            gl = f * (u[a] / (lu * lv) - c * v[a] / (lv * lv))
            grad[i, a] += gi
            grad[l, a] += gl
            grad[j, a] -= gi + gl
    return e


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
def torsion_energy(xyz, idx, ideal, w, period, grad):
    """Periodic torsions: sum w (wrap(p (phi - phi0)) / p)^2, p = period (0 means 1)."""
    e = 0.0
    for k in range(idx.shape[0]):
        i1, i2, i3, i4 = idx[k, 0], idx[k, 1], idx[k, 2], idx[k, 3]
        b1 = xyz[i2] - xyz[i1]
        b2 = xyz[i3] - xyz[i2]
        b3 = xyz[i4] - xyz[i3]
        m = _cross(b1, b2)
        n = _cross(b2, b3)
        lb2sq = _dot(b2, b2)
        lb2 = math.sqrt(lb2sq)
        phi = math.atan2(lb2 * _dot(b1, n), _dot(m, n)) * RAD2DEG
        p = max(1, period[k])
        delta = wrap_degrees(p * (phi - ideal[k])) / p
        e += w[k] * delta * delta
        f = 2.0 * w[k] * delta * RAD2DEG  # dE/dphi(rad)
        mm = max(_dot(m, m), 1e-20)
        nn = max(_dot(n, n), 1e-20)
        g1 = -lb2 / mm * m
        g4 = lb2 / nn * n
        s1 = _dot(b1, b2) / lb2sq
        s3 = _dot(b3, b2) / lb2sq
        g2 = (-1.0 - s1) * g1 + s3 * g4
        g3 = s1 * g1 - (1.0 + s3) * g4
        for a in range(3):
            grad[i1, a] += f * g1[a]
            grad[i2, a] += f * g2[a]
            grad[i3, a] += f * g3[a]
            grad[i4, a] += f * g4[a]
    return e


@njit(cache=True)
def chiral_energy(xyz, idx, ideal, sign, w, grad):
    """Chiral volumes: sum w (V - s V0)^2, V = (x1-xc).((x2-xc) x (x3-xc)).

    s is the restraint's sign, or the sign of the current volume when either is allowed.
    """
    e = 0.0
    for k in range(idx.shape[0]):
        c, i1, i2, i3 = idx[k, 0], idx[k, 1], idx[k, 2], idx[k, 3]
        a1 = xyz[i1] - xyz[c]
        a2 = xyz[i2] - xyz[c]
        a3 = xyz[i3] - xyz[c]
        c23 = _cross(a2, a3)
        vol = _dot(a1, c23)
        s = sign[k]
        if s == 0:
            s = 1 if vol >= 0 else -1
        delta = vol - s * ideal[k]
        e += w[k] * delta * delta
        f = 2.0 * w[k] * delta
        g1 = c23
        g2 = _cross(a3, a1)
        g3 = _cross(a1, a2)
        for a in range(3):
            grad[i1, a] += f * g1[a]
            grad[i2, a] += f * g2[a]
            grad[i3, a] += f * g3[a]
            grad[c, a] -= f * (g1[a] + g2[a] + g3[a])
    return e


@njit(cache=True)
def _smallest_eigvec(a):
    """Unit eigenvector of the smallest eigenvalue of a symmetric 3x3 matrix."""
    vals, vecs = np.linalg.eigh(a)
    return vecs[:, 0].copy()


@njit(cache=True)
def plane_energy(xyz, atoms, start, w, grad, dev):
    """Planarity: sum_i w_i d_i^2, d_i = distance of atom i from the weighted LS plane.

    The plane minimises the weighted sum, so (envelope theorem) the gradient is simply
    2 w_i d_i n. The signed deviations are written into `dev` (same layout as `atoms`).
    """
    e = 0.0
    a = np.empty((3, 3))
    for p in range(start.shape[0] - 1):
        s0 = start[p]
        s1 = start[p + 1]
        cen = np.zeros(3)
        wsum = 0.0
        for q in range(s0, s1):
            cen += w[q] * xyz[atoms[q]]
            wsum += w[q]
        cen /= wsum
        a[:, :] = 0.0
        for q in range(s0, s1):
            d = xyz[atoms[q]] - cen
            for r in range(3):
                for t in range(3):
                    a[r, t] += w[q] * d[r] * d[t]
        nrm = _smallest_eigvec(a)
        for q in range(s0, s1):
            i = atoms[q]
            d = _dot(xyz[i] - cen, nrm)
            dev[q] = d
            e += w[q] * d * d
            f = 2.0 * w[q] * d
            for r in range(3):
                grad[i, r] += f * nrm[r]
    return e


@njit(cache=True)
def nonbonded_energy(xyz, pairs, img, d0, w, ops, grad):
    """Repulsion: sum w (d - d0)^2 over pairs closer than d0 (Refmac's VDWR form).

    `img[k]` < 0: both atoms in the model; else atom 2 is taken through ops[img[k]].
    `w` includes 1/esd^2 and 0.5 for contacts of an atom with its own image under a
    two-fold operation (counted once per asymmetric unit).
    """
    e = 0.0
    for k in range(pairs.shape[0]):
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
        f = 2.0 * w[k] * delta / max(d, 1e-12)
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
def adp_energy(b, pairs, w, grad_b):
    """B-value similarity of bonded atoms: sum w (B_i - B_j)^2; gradient wrt B."""
    e = 0.0
    for k in range(pairs.shape[0]):
        i = pairs[k, 0]
        j = pairs[k, 1]
        delta = b[i] - b[j]
        e += w[k] * delta * delta
        f = 2.0 * w[k] * delta
        grad_b[i] += f
        grad_b[j] -= f
    return e
