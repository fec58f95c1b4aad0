"""Restraints on anisotropic displacement parameters (pure numpy, vectorized).

Conventions
-----------
* ``uani`` (n, 6): Cartesian U in A^2, stored u11 u22 u33 u12 u13 u23 (gemmi's ANISOU
  order, ``Atoms.aniso``); rows of isotropic atoms are zero and ignored.
* ``b`` (n,): B values in A^2 of the isotropic atoms, U_iso = B / (8 pi^2) (U_TO_B).
* ``aniso_mask`` (n,) bool: the anisotropic atoms.
* Derivatives with respect to U are with respect to the six stored numbers: u12 is one
  parameter, so d(u12 x y + u21 y x)/du12 = 2 x y.
* ``pairs`` (m, 2) int: precomputed atom pairs (1-2 bonds, 1-3 angle ends) from the
  caller; ``w`` is 1/esd^2, a scalar or one value per pair (or per atom for the
  single-atom terms).
* Energies are sums of (delta / esd)^2, with no 1/2, like the other restraint terms
  (mainpy.restraints.energy, terms.adp_energy). Every function returns new gradient
  arrays over all n atoms (zero rows where the term does not act).

The terms
---------
``rigid_bond``       Hirshfeld rigid-bond test as a restraint (SHELXL DELU, REFMAC RBON,
                     cctbx rigid_bond): z = r^T U_i r - r^T U_j r along the unit bond
                     vector r; the esd is that of z, the difference of the two atoms'
                     mean-square displacements along the bond (A^2).
``similarity``       SHELXL SIMU / cctbx adp_similarity: the squared Frobenius norm of
                     U_i - U_j (off-diagonal elements count twice, as the 9 elements of
                     the matrix), an isotropic partner taken as U_iso I. The esd is that
                     of each of the 9 matrix elements of U_i - U_j (A^2); as a restraint on
                     the 6 stored numbers the off-diagonal ones have esd / sqrt(2).
``isotropy``         SHELXL ISOR / REFMAC SPHE / cctbx isotropic_adp: the squared
                     Frobenius norm of U - U_eq I, U_eq = tr(U)/3; the esd is that of each
                     of the 9 matrix elements of U - U_eq I (A^2).
``eigenvalue_floor`` a smooth one-sided penalty sum w (floor - lambda)^2 over eigenvalues
                     lambda < floor of U, keeping U positive definite during
                     minimization; the esd is that of the deficit floor - lambda (A^2).
``project_positive`` U with its eigenvalues clipped to >= floor (cctbx
                     adptbx.eigenvalue_filtering with u_min = floor), for use between
                     minimizer segments.

Speed (pure numpy): the pairs, and the atoms, are processed in blocks of BLOCK so that
the temporaries stay in cache; per-pair gradients collect in a buffer of SCATTER_BLOCK
pairs that 1-d np.add.at / np.subtract.at scatter into (k, n) accumulators (np.add.at
has ~8 us of overhead a call). No reduction runs along a short axis (a.sum(axis=1) on
(k, 6) is ~10x slower than explicit column sums) and no np.dot (OpenBLAS threads spin
against the rest). The eigenvalue terms screen every U with Sylvester's criterion
(leading principal minors of U - floor I, exact and cheap) and call np.linalg.eigh only
on the few matrices that fail it (eigh on 10^5 stacked 3x3 matrices takes ~0.15 s).
Measured on a 2-vCPU VM, 10^5 atoms (80% anisotropic), 2.5e5 pairs: rigid_bond ~25-30
ms, similarity ~16-25 ms, isotropy ~4 ms, eigenvalue_floor and project_positive ~2 ms
(about 100 ns a pair: the scatter alone is 18 (9) values of 1.5-2 ns per pair, and on
this VM a page fault costs 2.6 us, so the fresh (n, 9) gradient arrays cost ~4 ms).
"""

from __future__ import annotations

import math

import numpy as np

from mainpy.model.tls import sym_matrix, sym_vector

U_TO_B = 8.0 * math.pi ** 2

# --- defaults (esd in A^2; the weight is 1/esd^2) -----------------------------------------
#: rigid bond, 1-2 and 1-3 pairs: SHELXL ``DELU s1[0.01] s2[0.01]`` (SHELXL manual);
#: cctbx/smtbx ``rigid_bond_restraints(sigma_12=0.01, sigma_13=sigma_12)``. (REFMAC's
#: ``RBONd`` takes a relative weight instead, 2.0 by default in servalcat's
#: refmac_params, not an esd.)
RIGID_BOND_ESD = 0.01
RIGID_BOND_ESD_13 = 0.01
#: SHELXL's "enhanced rigid-bond" ``RIGU s1[0.004] s2[0.004]`` restrains three components
#: (not this term's one); its esd is the tighter 0.004 sometimes quoted for rigid bonds.
RIGU_ESD = 0.004
#: similarity: SHELXL ``SIMU s[0.04] st[0.08] dmax[2.0]`` (st for terminal atoms);
#: cctbx/smtbx ``adp_similarity_restraints(sigma=0.04, sigma_terminal=2*sigma)``.
SIMILARITY_ESD = 0.04
SIMILARITY_ESD_TERMINAL = 0.08
#: isotropy (weak): SHELXL ``ISOR s[0.1] st[0.2]``; cctbx/smtbx
#: ``isotropic_adp_restraints(sigma=0.1, sigma_terminal=2*sigma)``. (REFMAC's ``SPHEricity``
#: takes a relative weight, 2.0 by default in servalcat's refmac_params.)
ISOTROPY_ESD = 0.1
ISOTROPY_ESD_TERMINAL = 0.2
#: eigenvalue floor: our choice. cctbx's adptbx.eigenvalue_filtering clips eigenvalues at
#: u_min = 0 by default (only non-negative); 0.001 A^2 (B = 8 pi^2 * 0.001 = 0.079 A^2)
#: keeps U strictly positive definite with a margin far below any physical value.
EIGEN_FLOOR = 0.001
#: esd of the eigenvalue deficit: our choice, one floor (a deficit of 0.001 A^2 costs 1,
#: an eigenvalue of -0.01 A^2 costs 121: stiff against the data, negligible near the floor).
EIGEN_FLOOR_ESD = 0.001

#: pairs or atoms per block of arithmetic: temporaries of 8192 values (64 kB) stay in cache
BLOCK = 8192
#: pairs per scatter (np.add.at costs ~8 us a call: 2.5 ns per value on 8192 values,
#: 1.5 ns on 32768 or more)
SCATTER_BLOCK = 32768
#: the factor of each stored element in a squared Frobenius norm (u12 stands for u12, u21)
_FROB = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
#: the stored form of the identity matrix
_EYE6 = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])


# --- helpers -------------------------------------------------------------------------------
# (numpy reductions along a short last axis, such as a.sum(axis=1) on (k, 6), are ~10x
# slower than the explicit sums of columns or full dot products used below)

def _pairs(pairs) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return p[:, 0], p[:, 1]


def _weights(w, m: int):
    """w as a float (a scalar) or an (m,) float array."""
    w = np.asarray(w, dtype=float)
    if w.ndim == 0:
        return float(w)
    if w.shape != (m,):
        raise ValueError(f"weights of shape {w.shape}, expected a scalar or ({m},)")
    return w


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) without BLAS: np.dot/np.vdot on these short arrays start OpenBLAS
    threads, which spin against the rest of the work (2x the CPU time, no gain)."""
    return float(np.einsum("i,i->", a.ravel(), b.ravel()))


def _blocks(m: int, size: int | None = None, start: int = 0):
    size = BLOCK if size is None else size
    return (slice(s, min(s + size, m)) for s in range(start, m, size))


def _pair_blocks(m: int):
    """(scatter block, its arithmetic blocks, their offsets in the scatter block)."""
    for big in _blocks(m, SCATTER_BLOCK):
        yield big, [(sl, slice(sl.start - big.start, sl.stop - big.start))
                    for sl in _blocks(big.stop, BLOCK, big.start)]


def _sub(w, sl):
    """The block's part of a scalar-or-array weight."""
    return w if isinstance(w, float) else w[sl]


def _add_pm(out: np.ndarray, i: np.ndarray, j: np.ndarray, cols) -> None:
    """out[k, i[p]] += c[p] and out[k, j[p]] -= c[p] for the k-th array c of `cols`
    (1-d ufunc.at: as fast as np.bincount per element, and without its (n,) output)."""
    for k, c in enumerate(cols):
        np.add.at(out[k], i, c)
        np.subtract.at(out[k], j, c)


def _rows(gt: np.ndarray) -> np.ndarray:
    """(k, n) accumulator -> (n, k) C-contiguous gradient."""
    return np.ascontiguousarray(gt.T)


def _to33(u6: np.ndarray) -> np.ndarray:
    """(k, 6) stored U -> (k, 3, 3) symmetric matrices."""
    return sym_matrix(u6)


def _from33(m: np.ndarray) -> np.ndarray:
    """(k, 3, 3) symmetric matrices -> (k, 6) stored U."""
    return sym_vector(m)


def _below(u6: np.ndarray, floor: float) -> np.ndarray:
    """Bool (k,): rows of (k, 6) U whose smallest eigenvalue may be below `floor` (a
    superset): U - level I fails Sylvester's criterion (leading principal minors all
    > 0), level = floor plus a margin (1e-9 A^2, relative to tr U) covering round-off."""
    a0, b0, c0 = u6[:, 0], u6[:, 1], u6[:, 2]
    level = floor + 1e-9 * (1.0 + abs(floor) + np.abs(a0) + np.abs(b0) + np.abs(c0))
    a, b, c = a0 - level, b0 - level, c0 - level
    d, e, f = u6[:, 3], u6[:, 4], u6[:, 5]
    m2 = a * b - d * d
    m3 = a * (b * c - f * f) - d * (d * c - f * e) + e * (d * f - b * e)
    return ~((a > 0) & (m2 > 0) & (m3 > 0))


def _candidates(uani: np.ndarray, mask: np.ndarray, floor: float) -> np.ndarray:
    """Indices of anisotropic rows that may have an eigenvalue below floor."""
    out = []
    for sl in _blocks(len(mask)):
        hit = _below(uani[sl], floor) & mask[sl]
        if hit.any():
            out.append(np.flatnonzero(hit) + sl.start)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _outer6(x, y, z) -> tuple:
    """d(v^T U v)/d(stored U) for a vector v = (x, y, z):
    (x^2, y^2, z^2, 2xy, 2xz, 2yz) (u12 stands for both u12 and u21)."""
    return x * x, y * y, z * z, 2 * x * y, 2 * x * z, 2 * y * z


def effective_u(uani: np.ndarray, b: np.ndarray | None, aniso_mask: np.ndarray) -> np.ndarray:
    """(n, 6) U of every atom: the stored row for anisotropic atoms, U_iso I = B/(8 pi^2) I
    for isotropic ones."""
    mask = np.asarray(aniso_mask, dtype=bool)
    u = np.array(uani, dtype=float, copy=True)
    iso = ~mask
    if iso.any():
        if b is None:
            raise ValueError("isotropic atoms need their B values (b)")
        u[iso] = np.multiply.outer(np.asarray(b, dtype=float)[iso] / U_TO_B, _EYE6)
    return u


# --- terms ---------------------------------------------------------------------------------

def rigid_bond(xyz, uani, pairs, w, aniso_mask=None):
    """Hirshfeld rigid-bond restraint on pairs of anisotropic atoms.

    For each pair (i, j) with unit vector r = (x_j - x_i)/|x_j - x_i|:
    z = r^T U_i r - r^T U_j r,  E = sum w z^2.

    Only pairs where both atoms are anisotropic count: pass `aniso_mask` and pairs with an
    isotropic atom are skipped (without it every pair is used). With an isotropic partner
    r^T U r is just its U_iso, so the restraint would pull one component of the
    anisotropic U towards the partner's B, which `similarity` (all of U) and the
    isotropic B-similarity term already do. Pairs of coincident atoms (no bond
    direction) are skipped too.

    w: 1/esd^2 with esd that of z (A^2), default RIGID_BOND_ESD; scalar or (m,).
    Returns (E, dE/dxyz (n, 3), dE/dU (n, 6)).
    """
    xyz = np.asarray(xyz, dtype=float)
    uani = np.asarray(uani, dtype=float)
    n = len(xyz)
    i, j = _pairs(pairs)
    w = _weights(w, len(i))
    mask = None if aniso_mask is None else np.asarray(aniso_mask, dtype=bool)
    m = len(i)
    gx = np.zeros((3, n))
    gu = np.zeros((6, n))
    buf = np.empty((9, min(SCATTER_BLOCK, m)))       # per-pair dE/dU_i (6), dE/dx_j (3)
    energy = 0.0
    for big, parts in _pair_blocks(m):
        for sl, loc in parts:
            ib, jb = i[sl], j[sl]
            # gathered rows, transposed to contiguous columns (strided ones are 2x slower)
            dx, dy, dz = (np.take(xyz, jb, axis=0) - np.take(xyz, ib, axis=0)).T.copy()
            r2 = dx * dx + dy * dy + dz * dz
            if r2.min() > 0.0:
                rinv = 1.0 / np.sqrt(r2)
            else:                    # coincident atoms: no bond direction, no restraint
                rinv = np.where(r2 > 0.0, 1.0 / np.sqrt(np.where(r2 > 0.0, r2, 1.0)), 0.0)
            x, y, zz = dx * rinv, dy * rinv, dz * rinv  # unit bond vector
            a11, a22, a33, a12, a13, a23 = (np.take(uani, ib, axis=0)
                                            - np.take(uani, jb, axis=0)).T.copy()
            # (U_i - U_j) r
            ax = a11 * x + a12 * y + a13 * zz
            ay = a12 * x + a22 * y + a23 * zz
            az = a13 * x + a23 * y + a33 * zz
            z = ax * x + ay * y + az * zz
            f = 2.0 * _sub(w, sl) * z                   # dE/dz
            if mask is not None:     # pairs with an isotropic atom: zero weight
                f *= mask[ib] & mask[jb]
            energy += 0.5 * _dot(f, z)
            # dz/dU_i = (x^2, y^2, z^2, 2xy, 2xz, 2yz) = -dz/dU_j
            fx, fy, fz = f * x, f * y, f * zz
            np.multiply(fx, x, out=buf[0, loc])
            np.multiply(fy, y, out=buf[1, loc])
            np.multiply(fz, zz, out=buf[2, loc])
            np.multiply(fx, 2.0 * y, out=buf[3, loc])
            np.multiply(fx, 2.0 * zz, out=buf[4, loc])
            np.multiply(fy, 2.0 * zz, out=buf[5, loc])
            # dz/dd = (2/|d|) (I - r r^T) (U_i - U_j) r, d = x_j - x_i
            s = 2.0 * f * rinv
            np.multiply(s, ax - z * x, out=buf[6, loc])
            np.multiply(s, ay - z * y, out=buf[7, loc])
            np.multiply(s, az - z * zz, out=buf[8, loc])
        k = big.stop - big.start
        _add_pm(gu, i[big], j[big], buf[:6, :k])
        _add_pm(gx, j[big], i[big], buf[6:, :k])
    return energy, _rows(gx), _rows(gu)


def similarity(uani, b, aniso_mask, pairs, w):
    """ADP similarity (SHELXL SIMU-like): E = sum w ||U_i - U_j||_F^2.

    ||.||_F^2 sums the 9 matrix elements: d11^2 + d22^2 + d33^2 + 2 (d12^2 + d13^2 +
    d23^2). An isotropic atom takes part as U_iso I with U_iso = B / (8 pi^2); its
    gradient goes to its B (dU_iso/dB = 1/(8 pi^2)). Pairs of two isotropic atoms are
    skipped: for them this is 3 w (dB)^2 / (8 pi^2)^2, the isotropic B-similarity term
    (terms.adp_energy) already restrains them. `b` may be None when all atoms are
    anisotropic.

    w: 1/esd^2 with esd that of each of the 9 matrix elements of U_i - U_j (A^2),
    default SIMILARITY_ESD (SIMILARITY_ESD_TERMINAL when an atom is terminal); scalar
    or (m,). Returns (E, dE/dU (n, 6), dE/dB (n,)); dE/dU is zero on isotropic rows and
    dE/dB on anisotropic ones.
    """
    mask = np.asarray(aniso_mask, dtype=bool)
    n = len(mask)
    i, j = _pairs(pairs)
    w = _weights(w, len(i))
    m = len(i)
    u = effective_u(uani, b, mask)
    g = np.zeros((6, n))
    buf = np.empty((6, min(SCATTER_BLOCK, m)))       # per-pair dE/dU_i
    energy = 0.0
    for big, parts in _pair_blocks(m):
        for sl, loc in parts:
            ib, jb = i[sl], j[sl]
            du = np.take(u, ib, axis=0) - np.take(u, jb, axis=0)
            gd = du * _FROB
            wb = 2.0 * _sub(w, sl) * (mask[ib] | mask[jb])  # two isotropic atoms: weight 0
            gd *= wb[:, None]                        # dE/d(U_i - U_j)
            energy += 0.5 * _dot(gd, du)
            buf[:, loc] = gd.T
        _add_pm(g, i[big], j[big], buf[:, :big.stop - big.start])
    gb = np.where(mask, 0.0, (g[0] + g[1] + g[2]) / U_TO_B)
    g[:, ~mask] = 0.0
    return energy, _rows(g), gb


def isotropy(uani, aniso_mask, w):
    """Weak sphericity (SHELXL ISOR-like): E = sum w ||U - U_eq I||_F^2, U_eq = tr(U)/3,
    over the anisotropic atoms.

    w: 1/esd^2 with esd that of each of the 9 matrix elements of U - U_eq I (A^2),
    default ISOTROPY_ESD (ISOTROPY_ESD_TERMINAL for terminal atoms); scalar or (n,).
    Returns (E, dE/dU (n, 6)).
    """
    mask = np.asarray(aniso_mask, dtype=bool)
    uani = np.asarray(uani, dtype=float)
    n = len(mask)
    w = _weights(w, n)
    gu = np.zeros((n, 6))
    energy = 0.0
    for sl in _blocks(n):
        mb = mask[sl]
        if not mb.any():
            continue
        ub = uani[sl]
        ueq = (ub[:, 0] + ub[:, 1] + ub[:, 2]) / 3.0
        dev = ub - np.multiply.outer(ueq, _EYE6)
        # the diagonal deviations sum to zero: the trace's share of the gradient vanishes
        g = dev * _FROB
        g *= (2.0 * _sub(w, sl) * mb)[:, None]
        energy += 0.5 * _dot(g, dev)
        gu[sl] = g
    return energy, gu


def eigenvalue_floor(uani, aniso_mask, floor=EIGEN_FLOOR, w=1.0 / EIGEN_FLOOR_ESD ** 2):
    """Penalty keeping U positive definite: E = sum over anisotropic atoms and their
    eigenvalues lambda < floor of w (floor - lambda)^2. Continuous with a continuous
    gradient (zero at the floor); dlambda/dU = v v^T for the unit eigenvector v, i.e.
    (v1^2, v2^2, v3^2, 2 v1 v2, 2 v1 v3, 2 v2 v3) on the stored elements.

    w: 1/esd^2 with esd that of the deficit floor - lambda (A^2), default
    EIGEN_FLOOR_ESD; scalar or (n,). Returns (E, dE/dU (n, 6)).
    """
    mask = np.asarray(aniso_mask, dtype=bool)
    uani = np.asarray(uani, dtype=float)
    n = len(mask)
    w = _weights(w, n)
    gu = np.zeros((n, 6))
    rows = _candidates(uani, mask, floor)
    if len(rows) == 0:
        return 0.0, gu
    lam, vec = np.linalg.eigh(_to33(uani[rows]))     # vec[:, :, k]: eigenvector k
    deficit = np.maximum(floor - lam, 0.0)           # (k, 3)
    wk = w if isinstance(w, float) else w[rows]
    energy = float(np.sum(wk * (deficit * deficit).sum(axis=1)))
    dl = -2.0 * np.asarray(wk)[..., None] * deficit  # dE/dlambda, (k, 3)
    prod = np.stack(_outer6(vec[:, 0], vec[:, 1], vec[:, 2]), axis=-1)  # (k, 3, 6)
    gu[rows] = np.einsum("ke,kec->kc", dl, prod)
    return energy, gu


def project_positive(uani, aniso_mask, floor=EIGEN_FLOOR):
    """A copy of uani with the eigenvalues of every anisotropic U clipped to >= floor
    (U = V diag(max(lambda, floor)) V^T, to round-off: ~1e-17 A^2). Rows already at or
    above the floor, and isotropic rows, are returned unchanged (bit for bit)."""
    out = np.array(uani, dtype=float, copy=True)
    mask = np.asarray(aniso_mask, dtype=bool)
    rows = _candidates(out, mask, floor)
    if len(rows) == 0:
        return out
    lam, vec = np.linalg.eigh(_to33(out[rows]))
    low = (lam < floor).any(axis=1)
    if not low.any():
        return out
    lam, vec, rows = np.maximum(lam[low], floor), vec[low], rows[low]
    out[rows] = _from33(np.einsum("kij,kj,klj->kil", vec, lam, vec))
    return out
