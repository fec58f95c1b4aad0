"""Anisotropic ADP restraints (mainpy.restraints.adp_aniso): gradients against central
finite differences, energies against plain per-pair 3x3-matrix references, and the
physical properties of each term."""

import numpy as np
import pytest

from mainpy.restraints import adp_aniso as aa

N_ATOMS = 40
N_PAIRS = 70


def _mat(u6):
    """(6,) stored U -> (3, 3)."""
    u11, u22, u33, u12, u13, u23 = u6
    return np.array([[u11, u12, u13], [u12, u22, u23], [u13, u23, u33]])


def _u6(m):
    return np.array([m[0, 0], m[1, 1], m[2, 2], m[0, 1], m[0, 2], m[1, 2]])


def _random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def _u_with_eigenvalues(rng, lam):
    v = _random_rotation(rng)
    return _u6(v @ np.diag(lam) @ v.T)


def _model(seed, n=N_ATOMS, m=N_PAIRS, iso_fraction=0.3):
    """Random atoms 1-3 A apart along a wiggly chain plus random U (positive definite,
    eigenvalues 0.005-0.08 A^2) and B, mixed aniso/iso, random distinct pairs."""
    rng = np.random.default_rng(seed)
    xyz = np.cumsum(rng.normal(0.0, 1.0, (n, 3)), axis=0)
    uani = np.array([_u_with_eigenvalues(rng, rng.uniform(0.005, 0.08, 3))
                     for _ in range(n)])
    mask = rng.random(n) >= iso_fraction
    mask[:2] = True
    mask[2:4] = False
    uani[~mask] = 0.0
    b = rng.uniform(8.0, 40.0, n)
    pairs = set()
    while len(pairs) < m:
        i, j = rng.choice(n, 2, replace=False)
        if np.linalg.norm(xyz[i] - xyz[j]) > 0.5:
            pairs.add((int(i), int(j)))
    pairs = np.array(sorted(pairs), dtype=np.int64)
    rng.shuffle(pairs)
    return xyz, uani, b, mask, pairs, rng


def _central(f, x, h):
    """Central-difference gradient of scalar f over every element of x."""
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        xp, xm = flat.copy(), flat.copy()
        xp[k] += h
        xm[k] -= h
        gf[k] = (f(xp.reshape(x.shape)) - f(xm.reshape(x.shape))) / (2 * h)
    return g


def _rel_error(fd, an):
    """max |fd - analytic| over the largest analytic component."""
    scale = np.max(np.abs(an))
    assert scale > 0
    return float(np.max(np.abs(fd - an)) / scale)


# --- references: one pair (atom) at a time with full 3x3 matrices -----------------------

def _ref_rigid_bond(xyz, uani, pairs, w, mask=None):
    e = 0.0
    for k, (i, j) in enumerate(pairs):
        if mask is not None and not (mask[i] and mask[j]):
            continue
        r = (xyz[j] - xyz[i]) / np.linalg.norm(xyz[j] - xyz[i])
        z = r @ _mat(uani[i]) @ r - r @ _mat(uani[j]) @ r
        e += w[k] * z * z
    return e


def _ref_similarity(uani, b, mask, pairs, w):
    def full(a):
        return _mat(uani[a]) if mask[a] else b[a] / aa.U_TO_B * np.eye(3)
    e = 0.0
    for k, (i, j) in enumerate(pairs):
        if mask[i] or mask[j]:
            e += w[k] * np.sum((full(i) - full(j)) ** 2)
    return e


def _ref_isotropy(uani, mask, w):
    e = 0.0
    for a in np.flatnonzero(mask):
        u = _mat(uani[a])
        e += w[a] * np.sum((u - np.trace(u) / 3 * np.eye(3)) ** 2)
    return e


def _ref_floor(uani, mask, floor, w):
    e = 0.0
    for a in np.flatnonzero(mask):
        lam = np.linalg.eigvalsh(_mat(uani[a]))
        e += w[a] * np.sum(np.maximum(floor - lam, 0.0) ** 2)
    return e


# --- gradients against finite differences -----------------------------------------------

@pytest.mark.parametrize("use_mask", [True, False])
def test_rigid_bond_gradients(use_mask):
    xyz, uani, b, mask, pairs, rng = _model(1)
    if not use_mask:          # every pair: give the isotropic atoms a U too
        uani[~mask] = [_u_with_eigenvalues(rng, rng.uniform(0.01, 0.05, 3))
                       for _ in range((~mask).sum())]
    w = rng.uniform(0.5, 2.0, len(pairs)) / aa.RIGID_BOND_ESD ** 2
    m = mask if use_mask else None
    e, gx, gu = aa.rigid_bond(xyz, uani, pairs, w, m)
    assert e > 0 and gx.shape == (N_ATOMS, 3) and gu.shape == (N_ATOMS, 6)
    assert e == pytest.approx(_ref_rigid_bond(xyz, uani, pairs, w, m), rel=1e-12)
    fx = _central(lambda x: aa.rigid_bond(x, uani, pairs, w, m)[0], xyz, 1e-6)
    fu = _central(lambda u: aa.rigid_bond(xyz, u, pairs, w, m)[0], uani, 1e-6)
    assert _rel_error(fx, gx) < 1e-6
    assert _rel_error(fu, gu) < 1e-6
    if use_mask:              # no gradient on isotropic atoms
        assert not gx[~mask].any() and not gu[~mask].any()


def test_similarity_gradients():
    xyz, uani, b, mask, pairs, rng = _model(2)
    w = rng.uniform(0.5, 2.0, len(pairs)) / aa.SIMILARITY_ESD ** 2
    e, gu, gb = aa.similarity(uani, b, mask, pairs, w)
    assert e > 0 and gu.shape == (N_ATOMS, 6) and gb.shape == (N_ATOMS,)
    assert e == pytest.approx(_ref_similarity(uani, b, mask, pairs, w), rel=1e-12)
    fu = _central(lambda u: aa.similarity(u, b, mask, pairs, w)[0], uani, 1e-6)
    fb = _central(lambda x: aa.similarity(uani, x, mask, pairs, w)[0], b, 1e-4)
    assert _rel_error(fu, gu) < 1e-6
    assert _rel_error(fb, gb) < 1e-6
    assert not gu[~mask].any() and not gb[mask].any()
    assert np.abs(gb[~mask]).max() > 0      # mixed pairs pull on the B values


def test_isotropy_gradients():
    _, uani, _, mask, _, rng = _model(3)
    w = rng.uniform(0.5, 2.0, N_ATOMS) / aa.ISOTROPY_ESD ** 2
    e, gu = aa.isotropy(uani, mask, w)
    assert e > 0
    assert e == pytest.approx(_ref_isotropy(uani, mask, w), rel=1e-12)
    fu = _central(lambda u: aa.isotropy(u, mask, w)[0], uani, 1e-6)
    assert _rel_error(fu, gu) < 1e-6
    assert not gu[~mask].any()
    # scalar weight = that weight for every atom
    e1, g1 = aa.isotropy(uani, mask, 100.0)
    e2, g2 = aa.isotropy(uani, mask, np.full(N_ATOMS, 100.0))
    assert e1 == pytest.approx(e2, rel=1e-14) and np.allclose(g1, g2, rtol=1e-14, atol=0)


def test_eigenvalue_floor_gradients():
    rng = np.random.default_rng(4)
    floor = 0.01
    # eigenvalues from -0.02 to 0.05: most matrices have some below the floor, none
    # within the finite-difference step of it
    lam = rng.uniform(-0.02, 0.05, (N_ATOMS, 3))
    lam[np.abs(lam - floor) < 1e-3] += 2e-3
    uani = np.array([_u_with_eigenvalues(rng, x) for x in lam])
    mask = rng.random(N_ATOMS) > 0.2
    uani[~mask] = 0.0
    w = rng.uniform(0.5, 2.0, N_ATOMS) / aa.EIGEN_FLOOR_ESD ** 2
    e, gu = aa.eigenvalue_floor(uani, mask, floor, w)
    assert e > 0
    assert e == pytest.approx(_ref_floor(uani, mask, floor, w), rel=1e-10)
    fu = _central(lambda u: aa.eigenvalue_floor(u, mask, floor, w)[0], uani, 1e-7)
    assert _rel_error(fu, gu) < 1e-6
    assert not gu[~mask].any()
    above = mask & (lam.min(axis=1) > floor)
    assert above.any() and not gu[above].any()


def test_blocking_does_not_change_results(monkeypatch):
    """Blocks of 5 pairs (atoms) scattered 12 at a time give the single-block results."""
    xyz, uani, b, mask, pairs, rng = _model(5)
    uneg = uani.copy()
    uneg[mask] -= 0.03 * aa._EYE6         # some eigenvalues negative
    w = rng.uniform(0.5, 2.0, len(pairs))
    wa = rng.uniform(0.5, 2.0, N_ATOMS)

    def run():
        return (aa.rigid_bond(xyz, uani, pairs, w, mask),
                aa.similarity(uani, b, mask, pairs, w),
                aa.isotropy(uani, mask, wa),
                aa.eigenvalue_floor(uneg, mask, 0.001, wa),
                (aa.project_positive(uneg, mask, 0.001),))

    whole = run()
    monkeypatch.setattr(aa, "BLOCK", 5)
    monkeypatch.setattr(aa, "SCATTER_BLOCK", 12)
    small = run()
    for a, c in zip(whole, small):
        for x, y in zip(a, c):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


# --- physical properties ------------------------------------------------------------------

def test_rigid_bond_zero_for_motion_perpendicular_to_bond():
    rng = np.random.default_rng(6)
    for _ in range(20):
        xyz = rng.normal(0.0, 1.0, (2, 3))
        r = (xyz[1] - xyz[0]) / np.linalg.norm(xyz[1] - xyz[0])
        ui = _u_with_eigenvalues(rng, rng.uniform(0.01, 0.06, 3))
        c = rng.uniform(0.005, 0.05)
        perp = _u6(c * (np.eye(3) - np.outer(r, r)))
        along = _u6(c * np.outer(r, r))
        u = np.array([ui, ui + perp])
        e, gx, gu = aa.rigid_bond(xyz, u, [[0, 1]], 1e4)
        assert abs(e) < 1e-20 and np.abs(gx).max() < 1e-10 and np.abs(gu).max() < 1e-10
        # the same change along the bond: z = -c
        e, _, _ = aa.rigid_bond(xyz, np.array([ui, ui + along]), [[1, 0]], 1e4)
        assert e == pytest.approx(1e4 * c * c, rel=1e-12)


def test_rigid_bond_skips_pairs_with_isotropic_atoms():
    xyz, uani, b, mask, pairs, rng = _model(7)
    both = mask[pairs[:, 0]] & mask[pairs[:, 1]]
    assert 0 < both.sum() < len(pairs)
    e, gx, gu = aa.rigid_bond(xyz, uani, pairs, 2.0, mask)
    e2, gx2, gu2 = aa.rigid_bond(xyz, uani, pairs[both], 2.0)
    assert e == pytest.approx(e2, rel=1e-13)
    np.testing.assert_allclose(gx, gx2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gu, gu2, rtol=1e-12, atol=1e-14)


def test_rigid_bond_skips_coincident_atoms():
    xyz, uani, b, mask, pairs, rng = _model(13, iso_fraction=0.0)
    e, gx, gu = aa.rigid_bond(xyz, uani, pairs, 3.0)
    xyz2 = np.vstack([xyz, xyz[5]])                       # atom 40 on top of atom 5
    u2 = np.vstack([uani, uani[7]])
    e2, gx2, gu2 = aa.rigid_bond(xyz2, u2, np.vstack([pairs, [[5, 40]]]), 3.0)
    assert e2 == pytest.approx(e, rel=1e-13)
    assert np.isfinite(gx2).all() and not gx2[40].any() and not gu2[40].any()
    np.testing.assert_allclose(gx2[:40], gx, rtol=1e-12, atol=1e-14)


def test_isotropy_zero_only_for_isotropic_matrices():
    mask = np.ones(4, bool)
    u = np.array([[0.02, 0.02, 0.02, 0, 0, 0], [0.5, 0.5, 0.5, 0, 0, 0],
                  [1e-4, 1e-4, 1e-4, 0, 0, 0], [0.03, 0.03, 0.03, 0, 0, 0]], float)
    e, gu = aa.isotropy(u, mask, 100.0)
    assert e == 0.0 and not gu.any()
    # diag(a, b, c): w sum (u_kk - mean)^2; an off-diagonal element counts twice
    e, _ = aa.isotropy(np.array([[0.01, 0.02, 0.06, 0, 0, 0]]), [True], 100.0)
    assert e == pytest.approx(100.0 * (0.02 ** 2 + 0.01 ** 2 + 0.03 ** 2), rel=1e-12)
    e, gu = aa.isotropy(np.array([[0.02, 0.02, 0.02, 0.005, 0, 0]]), [True], 100.0)
    assert e == pytest.approx(100.0 * 2 * 0.005 ** 2, rel=1e-12)
    np.testing.assert_allclose(gu, [[0, 0, 0, 100.0 * 4 * 0.005, 0, 0]], atol=1e-15)
    # random anisotropic ones are positive; an isotropic atom's row is ignored
    rng = np.random.default_rng(8)
    u = np.array([_u_with_eigenvalues(rng, rng.uniform(0.01, 0.05, 3)) for _ in range(10)])
    e, _ = aa.isotropy(u, np.ones(10, bool), 1.0)
    assert e > 0
    e, gu = aa.isotropy(u, np.zeros(10, bool), 1.0)
    assert e == 0.0 and not gu.any()


def test_similarity_zero_for_equal_and_for_matching_isotropic():
    rng = np.random.default_rng(9)
    ui = _u_with_eigenvalues(rng, [0.01, 0.03, 0.05])
    mask = np.array([True, True, False, True])
    b = np.array([0.0, 0.0, 25.0, 0.0])
    u = np.array([ui, ui, np.zeros(6), 25.0 / aa.U_TO_B * aa._EYE6])
    # equal matrices; anisotropic U_iso(B) I against the isotropic atom of that B
    e, gu, gb = aa.similarity(u, b, mask, [[0, 1], [3, 2], [2, 3]], 625.0)
    assert abs(e) < 1e-30 and np.abs(gu).max() < 1e-13 and np.abs(gb).max() < 1e-13
    # u12 differing by d: w * 2 d^2 (u12 and u21)
    v = u.copy()
    v[1, 3] += 0.004
    e, gu, _ = aa.similarity(v, b, mask, [[0, 1]], 625.0)
    assert e == pytest.approx(625.0 * 2 * 0.004 ** 2, rel=1e-12)
    assert gu[1, 3] == pytest.approx(625.0 * 4 * 0.004, rel=1e-12)
    # B off by dB: the three diagonal elements differ by dB / (8 pi^2)
    e, _, gb = aa.similarity(u, b + np.array([0, 0, 2.0, 0]), mask, [[3, 2]], 625.0)
    du = 2.0 / aa.U_TO_B
    assert e == pytest.approx(625.0 * 3 * du ** 2, rel=1e-12)
    assert gb[2] == pytest.approx(625.0 * 6 * du / aa.U_TO_B, rel=1e-12)
    # two isotropic atoms: left to the isotropic B-similarity term
    e, gu, gb = aa.similarity(np.zeros((2, 6)), [10.0, 30.0], [False, False], [[0, 1]], 1.0)
    assert e == 0.0 and not gu.any() and not gb.any()


def test_eigenvalue_floor_zero_when_positive_definite_and_positive_otherwise():
    rng = np.random.default_rng(10)
    good = np.array([_u_with_eigenvalues(rng, rng.uniform(0.005, 0.1, 3)) for _ in range(50)])
    e, gu = aa.eigenvalue_floor(good, np.ones(50, bool))
    assert e == 0.0 and not gu.any()
    # diag(-0.01, 0.02, 0.03): one deficit of 0.011 on u11
    w = 1.0 / aa.EIGEN_FLOOR_ESD ** 2
    e, gu = aa.eigenvalue_floor(np.array([[-0.01, 0.02, 0.03, 0, 0, 0]]), [True])
    assert e == pytest.approx(w * 0.011 ** 2, rel=1e-12)
    np.testing.assert_allclose(gu, [[-2 * w * 0.011, 0, 0, 0, 0, 0]], atol=1e-9)
    # indefinite with off-diagonals; just below the floor; an isotropic row is ignored
    bad = _u_with_eigenvalues(rng, [-0.02, 0.01, 0.04])
    e, _ = aa.eigenvalue_floor(bad[None], [True])
    assert e == pytest.approx(w * 0.021 ** 2, rel=1e-9)
    near = _u_with_eigenvalues(rng, [aa.EIGEN_FLOOR - 1e-6, 0.02, 0.03])
    e, _ = aa.eigenvalue_floor(near[None], [True])
    assert e == pytest.approx(w * 1e-12, rel=1e-5)
    e, gu = aa.eigenvalue_floor(bad[None], [False])
    assert e == 0.0 and not gu.any()


def test_eigenvalue_screen_matches_full_eigendecomposition():
    """The Sylvester screen misses no matrix with an eigenvalue below the floor: energies
    equal the brute-force sum over every matrix, including ones within 1e-8 of the floor,
    near-isotropic ones and indefinite ones."""
    rng = np.random.default_rng(11)
    floor = aa.EIGEN_FLOOR
    lam = rng.uniform(-0.01, 0.02, (3000, 3))
    lam[:500, 0] = floor + rng.uniform(-1e-8, 1e-8, 500)
    lam[500:800] = lam[500:800, :1] + rng.uniform(-1e-9, 1e-9, (300, 3))  # near-isotropic
    u = np.array([_u_with_eigenvalues(rng, x) for x in lam])
    mask = np.ones(len(u), bool)
    w = np.ones(len(u))
    e, _ = aa.eigenvalue_floor(u, mask, floor, w)
    assert e == pytest.approx(_ref_floor(u, mask, floor, w), rel=1e-9)
    below = np.flatnonzero(lam.min(axis=1) < floor)
    found = aa._candidates(u, mask, floor)
    assert set(below) <= set(found)


def test_project_positive():
    rng = np.random.default_rng(12)
    floor = aa.EIGEN_FLOOR
    lam = rng.uniform(-0.02, 0.06, (60, 3))
    lam[:20] = rng.uniform(0.005, 0.06, (20, 3))         # good ones
    u = np.array([_u_with_eigenvalues(rng, x) for x in lam])
    mask = np.ones(60, bool)
    mask[55:] = False                                     # isotropic rows: left alone
    u[58:] = 0.0
    before = u.copy()
    out = aa.project_positive(u, mask, floor)
    np.testing.assert_array_equal(u, before)              # input not modified
    good = lam.min(axis=1) >= floor
    assert good.sum() >= 20 and (~good[mask]).sum() >= 10
    np.testing.assert_allclose(out[good | ~mask], u[good | ~mask], rtol=0, atol=1e-12)
    assert np.array_equal(out[good | ~mask], u[good | ~mask])   # bit for bit
    new = np.linalg.eigvalsh(aa._to33(out[mask]))
    assert new.min() >= floor - 1e-15
    # eigenvalues clipped, eigenvectors kept: the spectrum is max(lambda, floor)
    np.testing.assert_allclose(new, np.sort(np.maximum(lam[mask], floor), axis=1),
                               rtol=0, atol=1e-14)
    e, _ = aa.eigenvalue_floor(out, mask, floor - 1e-12)
    assert e < 1e-12
    np.testing.assert_allclose(aa.project_positive(out, mask, floor), out, rtol=0,
                               atol=1e-15)


def test_defaults():
    assert aa.RIGID_BOND_ESD == 0.01 and aa.SIMILARITY_ESD == 0.04
    assert aa.SIMILARITY_ESD_TERMINAL == 0.08 and aa.ISOTROPY_ESD == 0.1
    assert aa.ISOTROPY_ESD_TERMINAL == 0.2
    assert aa.EIGEN_FLOOR * aa.U_TO_B == pytest.approx(0.079, abs=1e-3)
