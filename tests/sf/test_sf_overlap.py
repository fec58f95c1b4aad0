"""The atom kernel with anisotropic atoms: overlap derivatives against finite
differences, the two code paths against each other, electrons conserved, truncations."""

import gemmi
import numpy as np
import pytest
from sf_helpers import pick_atoms, random_aniso

from mainpy.sf.formfactors import electrons
from mainpy.sf.overlap import AtomKernel

GRAD_TOL = 1e-4


def _moved(atoms, centre):
    return atoms.xyz - atoms.xyz.mean(0) + centre


@pytest.mark.parametrize("cellp", [(40.0, 50.0, 60.0, 90.0, 107.0, 90.0),
                                   (30.2, 47.8, 61.3, 90.0, 90.0, 90.0),
                                   (45.0, 45.0, 60.0, 90.0, 90.0, 120.0)])
def test_overlap_fd_anisotropic(case, cellp):
    """dO/dx, dO/dB, dO/dq, dO/dU of a mixed atom set against a smooth map, in a
    monoclinic, an orthogonal and a hexagonal cell."""
    st, atoms, refl = case("1aba")
    cell = gemmi.UnitCell(*cellp)
    idx = pick_atoms(atoms, 10)
    model = random_aniso(atoms, idx[::2], seed=3)
    centre = np.array(cellp[:3]) / 2
    m = AtomKernel(atoms.element, cell).spread((60, 72, 90), _moved(atoms, centre),
                                               atoms.b, atoms.occ, blur=20.0)
    m -= m.mean()
    kern = AtomKernel(atoms.element[idx], cell)
    xyz = _moved(atoms, centre)[idx]
    b, occ, u = atoms.b[idx], atoms.occ[idx], model.aniso[idx]
    ov = kern.overlap(m, xyz, b, occ, 1.0, aniso=u)
    an_atoms = u.any(axis=1)
    assert not ov.db[an_atoms].any() and not ov.daniso[~an_atoms].any()
    worst = {}
    for name, h in (("xyz", 1e-4), ("b", 1e-3), ("occ", 1e-4), ("aniso", 1e-5)):
        an, fd = [], []
        for j in range(len(idx)):
            if (name == "aniso") != an_atoms[j] and name in ("aniso", "b"):
                continue
            for c in {"xyz": range(3), "aniso": range(6)}.get(name, [None]):
                v = []
                for s in (1, -1):
                    arrs = {"xyz": xyz.copy(), "b": b.copy(), "occ": occ.copy(),
                            "aniso": u.copy()}
                    if c is None:
                        arrs[name][j] += s * h
                    else:
                        arrs[name][j, c] += s * h
                    v.append(kern.overlap(m, arrs["xyz"], arrs["b"], arrs["occ"], 1.0,
                                          grad=False, aniso=arrs["aniso"]).value.sum())
                fd.append((v[0] - v[1]) / (2 * h))
                g = {"xyz": ov.dxyz, "b": ov.db, "occ": ov.docc, "aniso": ov.daniso}[name]
                an.append(g[j] if c is None else g[j, c])
        an, fd = np.array(an), np.array(fd)
        worst[name] = np.abs(an - fd).max() / np.abs(an).max()
    print(f"\nkernel {cellp} vs finite differences:",
          ", ".join(f"{p}: {e:.2e}" for p, e in worst.items()))
    assert max(worst.values()) < GRAD_TOL


def test_paths_agree_with_anisotropic_atoms(case):
    """Orthogonal cell: isotropic atoms by the factorised path, anisotropic ones by the
    line path; forcing the line path for all changes nothing (to round-off)."""
    st, atoms, refl = case("1aba")
    model = random_aniso(atoms, np.arange(0, len(atoms), 3), seed=4)
    shape = (48, 72, 96)
    m = np.random.default_rng(5).normal(size=shape)
    fast = AtomKernel(atoms.element, st.cell)
    slow = AtomKernel(atoms.element, st.cell, general=True)
    a = fast.overlap(m, atoms.xyz, atoms.b, atoms.occ, 2.0, aniso=model.aniso)
    b = slow.overlap(m, atoms.xyz, atoms.b, atoms.occ, 2.0, aniso=model.aniso)
    for x, y in ((a.value, b.value), (a.dxyz, b.dxyz), (a.db, b.db), (a.docc, b.docc),
                 (a.daniso, b.daniso)):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-11 * np.abs(y).max())
    for trunc in ("smooth", "hard"):
        d1 = AtomKernel(atoms.element, st.cell, truncation=trunc).spread(
            shape, atoms.xyz, atoms.b, atoms.occ, 2.0, aniso=model.aniso)
        d2 = AtomKernel(atoms.element, st.cell, truncation=trunc, general=True).spread(
            shape, atoms.xyz, atoms.b, atoms.occ, 2.0, aniso=model.aniso)
        assert np.abs(d1 - d2).max() < 1e-11 * d1.max()


@pytest.mark.parametrize("cellp", [(40.0, 50.0, 60.0, 90.0, 107.0, 90.0),
                                   (45.0, 45.0, 60.0, 90.0, 90.0, 120.0)])
def test_sheared_cells_factorise(case, cellp):
    """A monoclinic cell (b unique) and a hexagonal one: isotropic atoms by the
    factorised path (the cross term per plane or per row), the same values, derivatives
    and density as the line path, to round-off; anisotropic atoms keep the line path."""
    st, atoms, refl = case("1aba")
    cell = gemmi.UnitCell(*cellp)
    model = random_aniso(atoms, np.arange(0, len(atoms), 4), seed=6)
    xyz = _moved(atoms, np.array([20.0, 25.0, 30.0]))
    shape = (60, 72, 90)
    m = np.random.default_rng(8).normal(size=shape)
    fast = AtomKernel(atoms.element, cell)
    slow = AtomKernel(atoms.element, cell, general=True)
    from mainpy.sf._kernels import _factorises
    assert _factorises(fast.orth)          # the two paths differ here
    a = fast.overlap(m, xyz, atoms.b, atoms.occ, 2.0, aniso=model.aniso)
    b = slow.overlap(m, xyz, atoms.b, atoms.occ, 2.0, aniso=model.aniso)
    for x, y in ((a.value, b.value), (a.dxyz, b.dxyz), (a.db, b.db), (a.docc, b.docc),
                 (a.daniso, b.daniso)):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-11 * np.abs(y).max())
    for trunc in ("smooth", "hard"):
        d1 = AtomKernel(atoms.element, cell, truncation=trunc).spread(
            shape, xyz, atoms.b, atoms.occ, 2.0, aniso=model.aniso)
        d2 = AtomKernel(atoms.element, cell, truncation=trunc, general=True).spread(
            shape, xyz, atoms.b, atoms.occ, 2.0, aniso=model.aniso)
        assert np.abs(d1 - d2).max() < 1e-11 * d1.max()


def test_anisotropic_density_integrates_to_electrons(case):
    """The blurred anisotropic density sums to the electrons (less the truncated tails),
    and the hard cut keeps more of them than the smooth one, by about cut x volume."""
    st, atoms, refl = case("1byz")
    z = float((electrons(atoms.element) * atoms.occ).sum())
    shape = (72, 72, 96)
    tot = {}
    for trunc in ("smooth", "hard"):
        k = AtomKernel(atoms.element, st.cell, truncation=trunc)
        rho = k.spread(shape, atoms.xyz, atoms.b, atoms.occ, blur=5.0, aniso=atoms.aniso)
        tot[trunc] = rho.sum() * st.cell.volume / rho.size
    assert tot["hard"] == pytest.approx(z, rel=2e-3)
    assert tot["smooth"] == pytest.approx(z, rel=4e-3)
    assert tot["smooth"] < tot["hard"]


def test_not_positive_definite_is_refused(case):
    st, atoms, refl = case("5e5z")
    u = atoms.aniso.copy()
    u[3] = (0.1, 0.1, -0.2, 0.0, 0.0, 0.0)
    k = AtomKernel(atoms.element, st.cell)
    with pytest.raises(ValueError, match="positive definite"):
        k.overlap(np.zeros((16, 16, 32)), atoms.xyz, atoms.b, atoms.occ, 1.0, aniso=u)


def test_cut_radius_is_the_root():
    """The truncation radius: nothing beyond it is above the cut (with or without a
    negative amplitude); with positive ones it is the root itself (to 1e-5 relative);
    0 when the sum is never above the cut."""
    from mainpy.sf._kernels import _cut_radius2
    rng = np.random.default_rng(3)
    for trial in range(200):
        amp = rng.uniform(0.01, 2.0, 5)
        if trial % 4 == 0:
            amp[rng.integers(5)] *= -0.2
        alpha = rng.uniform(0.05, 20.0, 5)
        cut = 10 ** rng.uniform(-6, -2)
        u = _cut_radius2(amp, alpha, cut)
        if amp.sum() <= cut:
            assert u == 0.0
            continue
        f = lambda t: float((amp * np.exp(-alpha * t)).sum())   # noqa: E731
        assert f(u) <= cut * (1 + 1e-6)
        if (amp > 0).all():
            assert f(u / (1 + 1e-5) - 1e-8) > cut
        # nothing beyond it is above the cut
        ts = u + np.linspace(0, 50, 501)
        assert max(f(t) for t in ts) <= cut * (1 + 1e-6)


def test_axis_table_matches_exp():
    """The axis tables (exp() at the centre, ratios outward) against exp() at every
    point, for a centre inside, at the edge and outside the range, to 1e-13 of each
    Gaussian's peak."""
    from mainpy.sf._kernels import _axis_table
    amp = np.array([2.0, 1.0, 0.5, 0.3, 0.1])
    al = np.array([0.05, 0.4, 3.0, 30.0, 300.0])
    n, scale = 96, 61.3
    for f, lo, hi in ((0.4321, 30, 53), (0.4321, 42, 53), (0.4321, 20, 35), (0.9, 80, 100)):
        m = hi - lo + 1
        tab, r = np.empty((5, m)), np.empty(m)
        _axis_table(f, n, scale, al, amp, lo, hi, tab, r)
        r_ref = scale * (np.arange(lo, hi + 1) / n - f)
        ref = amp[:, None] * np.exp(-al[:, None] * r_ref ** 2)
        np.testing.assert_allclose(r, r_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(tab, ref, rtol=0, atol=1e-13 * amp.max())


def test_plane_seed_steps_match_exp():
    """The general path's plane seeds reached by steps (`_step_seed`: products forward,
    quotients back) against exp() at the destination, for E and its ratios along the three
    grid steps, to 1e-12 relative, in a sheared cell with negative and positive steps."""
    from mainpy.sf._kernels import _qf, _step_seed
    rng = np.random.default_rng(7)
    orth = np.array([[30.2, 4.0, -3.0], [0.0, 47.8, 6.0], [0.0, 0.0, 61.3]])
    n = (54, 90, 108)
    eu, ev, ew = orth[:, 2] / n[2], orth[:, 1] / n[1], orth[:, 0] / n[0]
    for trial in range(20):
        m = rng.normal(size=(5, 3, 3))
        A = np.empty((5, 6))
        for k in range(5):
            s = m[k] @ m[k].T + np.eye(3) * rng.uniform(0.05, 1.0)
            A[k] = (s[0, 0], s[1, 1], s[2, 2], s[0, 1], s[0, 2], s[1, 2])
        amp = rng.uniform(0.1, 2.0, 5)
        steps = {"u": eu, "v": ev, "w": ew}

        def state(r):
            st = np.empty((4, 5))
            for k in range(5):
                st[0, k] = amp[k] * np.exp(-_qf(A, k, *r, *r))
                for row, e in ((1, eu), (2, ev), (3, ew)):
                    st[row, k] = np.exp(-(2.0 * _qf(A, k, *e, *r) + _qf(A, k, *e, *e)))
            return st

        cst = np.empty((6, 5))
        for k in range(5):
            for row, (x, y) in enumerate(("uu", "vv", "ww", "uv", "uw", "vw")):
                cst[row, k] = np.exp(-2.0 * _qf(A, k, *steps[x], *steps[y]))
        r0 = rng.normal(scale=0.5, size=3)
        di, dj, dm = int(rng.integers(0, 3)), int(rng.integers(-4, 5)), int(rng.integers(-4, 5))
        st = state(r0)
        _step_seed(st, cst, di, dj, dm)
        np.testing.assert_allclose(st, state(r0 + di * ew + dj * ev + dm * eu), rtol=1e-12)
