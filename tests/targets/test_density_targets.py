"""Atom-map overlap kernel and the real-space targets (ENER DENS / ENER DIFF): values
against a brute-force numpy sum, gradients against central finite differences."""

import gemmi
import numpy as np
import pytest
from target_helpers import fd_check, pick_atoms, random_aniso

from mainpy.sf.grid import cell_matrices
from mainpy.sf.overlap import AtomKernel, map_overlap
from mainpy.targets.density import DensityTarget, DifferenceMapTarget
from mainpy.xtal.maps import coefficients_to_map

GRAD_TOL = 1e-4


def brute_overlap(arr, cell, xyz, b, occ, el, blur=0.0, cut=1e-5):
    """sum over every grid point within 6 A (numpy, no truncation tricks) of
    M * occ * max(rho - cut, 0) * V/N."""
    orth, frac = cell_matrices(cell)
    n = np.array(arr.shape)
    c = gemmi.Element(el).it92
    a = np.r_[c.a, c.c]
    bb = np.r_[c.b, 0.0]
    f = frac @ xyz
    span = np.ceil(6.0 * np.sqrt((frac ** 2).sum(axis=1)) * n).astype(int)
    ii = [np.arange(int(np.floor(f[k] * n[k])) - span[k], int(np.ceil(f[k] * n[k])) + span[k] + 1)
          for k in range(3)]
    g = np.stack(np.meshgrid(*ii, indexing="ij"), axis=-1).reshape(-1, 3)
    r = (g / n - f) @ orth.T
    u = (r ** 2).sum(axis=1)
    beta = bb + b + blur
    rho = (a * (4 * np.pi / beta) ** 1.5 * np.exp(-4 * np.pi ** 2 * u[:, None] / beta)).sum(1)
    vals = arr[g[:, 0] % n[0], g[:, 1] % n[1], g[:, 2] % n[2]]
    return occ * (vals * np.maximum(rho - cut, 0)).sum() * cell.volume / arr.size


@pytest.fixture
def two_maps(case, fmodel):
    """The 2mFo-DFc and mFo-DFc maps of 1aba (computed once per test)."""
    fm = fmodel("1aba")
    r = fm.refl
    out = {}
    for kind in ("2mfodfc", "mfodfc"):
        out[kind] = coefficients_to_map(r.hkl, fm.map_coefficients(kind), r.cell,
                                        r.spacegroup, rate=3.0)
    return out


def test_overlap_matches_brute_force(case, two_maps):
    st, atoms, refl = case("1aba")
    grid = two_maps["2mfodfc"]
    arr = np.asarray(grid.array, dtype=np.float64)
    idx = pick_atoms(atoms, 8)
    ov = map_overlap(grid, grid.unit_cell, atoms.xyz[idx], atoms.b[idx], atoms.occ[idx],
                     atoms.element[idx], blur=3.0)
    ref = [brute_overlap(arr, grid.unit_cell, atoms.xyz[j], atoms.b[j], atoms.occ[j],
                         atoms.element[j], blur=3.0) for j in idx]
    np.testing.assert_allclose(ov.value, ref, rtol=1e-10)


def test_general_cell_path_matches_orthogonal_path(case):
    st, atoms, refl = case("1aba")
    shape = (48, 72, 96)
    rng = np.random.default_rng(5)
    m = rng.normal(size=shape)
    fast = AtomKernel(atoms.element, st.cell)
    slow = AtomKernel(atoms.element, st.cell, general=True)
    a = fast.overlap(m, atoms.xyz, atoms.b, atoms.occ, 2.0)
    b = slow.overlap(m, atoms.xyz, atoms.b, atoms.occ, 2.0)
    for x, y in ((a.value, b.value), (a.dxyz, b.dxyz), (a.db, b.db), (a.docc, b.docc)):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12 * np.abs(y).max())
    d1 = fast.spread(shape, atoms.xyz, atoms.b, atoms.occ, 2.0)
    d2 = slow.spread(shape, atoms.xyz, atoms.b, atoms.occ, 2.0)
    assert np.abs(d1 - d2).max() < 1e-12 * d1.max()


def test_density_integrates_to_electrons(case):
    st, atoms, refl = case("1aba")
    k = AtomKernel(atoms.element, st.cell)
    rho = k.spread((64, 100, 128), atoms.xyz, atoms.b, atoms.occ, blur=5.0)
    total = rho.sum() * st.cell.volume / rho.size
    z = sum(o * (sum(gemmi.Element(e).it92.a) + gemmi.Element(e).it92.c)
            for e, o in zip(atoms.element, atoms.occ))
    assert total == pytest.approx(z, rel=2e-3)   # truncation at 1e-5 e/A^3 loses ~0.1%


def test_overlap_fd_non_orthogonal_cell(case):
    """Kernel derivatives in a monoclinic cell (general code path), smooth map."""
    st, atoms, refl = case("1aba")
    cell = gemmi.UnitCell(40.0, 50.0, 60.0, 90.0, 107.0, 90.0)
    idx = pick_atoms(atoms, 10)
    xyz = atoms.xyz[idx] - atoms.xyz[idx].mean(0) + [20.0, 25.0, 30.0]
    k = AtomKernel(atoms.element, cell)
    m = k.spread((60, 72, 90), atoms.xyz - atoms.xyz.mean(0) + [20, 25, 30], atoms.b,
                 atoms.occ, blur=20.0)
    m -= m.mean()
    kern = AtomKernel(atoms.element[idx], cell)
    b, occ = atoms.b[idx], atoms.occ[idx]
    ov = kern.overlap(m, xyz, b, occ, 1.0)
    worst = {}
    for name, h in (("xyz", 1e-4), ("b", 1e-3), ("occ", 1e-4)):
        an, fd = [], []
        for j in range(len(idx)):
            for c in (range(3) if name == "xyz" else [None]):
                v = []
                for s in (1, -1):
                    x2, b2, o2 = xyz.copy(), b.copy(), occ.copy()
                    arr = {"xyz": x2, "b": b2, "occ": o2}[name]
                    if c is None:
                        arr[j] += s * h
                    else:
                        arr[j, c] += s * h
                    v.append(kern.overlap(m, x2, b2, o2, 1.0, grad=False).value.sum())
                fd.append((v[0] - v[1]) / (2 * h))
                g = {"xyz": ov.dxyz, "b": ov.db, "occ": ov.docc}[name]
                an.append(g[j] if c is None else g[j, c])
        an, fd = np.array(an), np.array(fd)
        worst[name] = np.abs(an - fd).max() / np.abs(an).max()
    print("\nkernel (monoclinic) vs finite differences:",
          ", ".join(f"{p}: {e:.2e}" for p, e in worst.items()))
    assert max(worst.values()) < GRAD_TOL


@pytest.mark.parametrize("kind", ["dens", "diff"])
def test_density_target_gradients_fd(case, two_maps, kind):
    st, atoms, refl = case("1aba")
    if kind == "dens":
        t = DensityTarget(two_maps["2mfodfc"])
    else:
        t = DifferenceMapTarget(two_maps["mfodfc"])
    idx = pick_atoms(atoms, 30)
    errs = fd_check(t, atoms, idx)
    print(f"\n{kind} 1aba gradient vs finite differences (max rel err, max |g|): "
          + ", ".join(f"{p}: {e:.2e} ({s:.3g})" for p, (e, s) in errs.items()))
    for p, (e, s) in errs.items():
        assert s > 0 and e < GRAD_TOL, (p, e)


def test_density_target_value_and_selection(case, two_maps):
    st, atoms, refl = case("1aba")
    grid = two_maps["2mfodfc"]
    arr = np.asarray(grid.array, dtype=np.float64)
    sel = np.zeros(len(atoms), bool)
    idx = pick_atoms(atoms, 6)
    sel[idx] = True
    t = DensityTarget(grid, select=sel)
    res = t.evaluate(atoms, ("xyz", "b", "occ"))
    ref = -sum(brute_overlap(arr, grid.unit_cell, atoms.xyz[j], atoms.b[j], atoms.occ[j],
                             atoms.element[j]) for j in idx)
    assert res.value == pytest.approx(ref, rel=1e-10)
    assert not res.grad["xyz"][~sel].any() and res.grad["xyz"][sel].any()
    # atoms in density: the overlap with the 2mFo-DFc map is large and negative
    full = DensityTarget(grid).value(atoms)
    assert full < 0


def test_difference_target_from_fmodel(fmodel, case):
    st, atoms, refl = case("1aba")
    t = DifferenceMapTarget.from_fmodel(fmodel("1aba"))
    res = t.evaluate(atoms, ("xyz",))
    assert np.isfinite(res.value) and res.grad["xyz"].shape == (len(atoms), 3)


@pytest.mark.parametrize("kind", ["dens", "diff"])
def test_density_target_gradients_fd_anisotropic(case, two_maps, kind):
    """Every parameter, anisotropic U included, for a model with anisotropic atoms."""
    st, atoms, refl = case("1aba")
    idx = pick_atoms(atoms, 16)
    model = random_aniso(atoms, idx[::2], seed=8)
    t = DensityTarget(two_maps["2mfodfc"]) if kind == "dens" \
        else DifferenceMapTarget(two_maps["mfodfc"])
    errs = fd_check(t, model, idx, ("xyz", "b", "occ", "aniso"))
    print(f"\n{kind} 1aba (anisotropic) gradient vs finite differences: "
          + ", ".join(f"{p}: {e:.2e} ({s:.3g})" for p, (e, s) in errs.items()))
    for p, (e, s) in errs.items():
        assert s > 0 and e < GRAD_TOL, (p, e)
    sel = np.zeros(len(atoms), bool)
    sel[idx[:6]] = True
    g = type(t)(t.map, cell=st.cell, select=sel).evaluate(model, ("aniso",)).grad["aniso"]
    assert g.shape == (len(atoms), 6) and not g[~sel].any() and g[sel].any()
