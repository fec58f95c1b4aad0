"""The Fourier-space SPA target (mainpy.em.target): its coefficients line up with the
model (the box's origin and the FFT convention), D_s takes the blur of the map, and its
gradients (xyz, B, U, occupancy) agree with central finite differences."""

from pathlib import Path

import numpy as np
import pytest

from mainpy.em import fsc as F
from mainpy.em.simulate import simulate_maps
from mainpy.em.target import EmTarget
from mainpy.model.atoms import Atoms  # noqa: F401  (the atoms the target takes)

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_true.pdb"


def demo_atoms():
    from mainpy import Session
    s = Session()
    s.verbose = 0
    s.run(f"read coor file {DEMO}")
    return s.atoms


@pytest.fixture(scope="module")
def maps():
    atoms = demo_atoms()
    return atoms, simulate_maps(atoms, resolution=3.0, pixel=1.1, b_blur=20.0, seed=3)


def test_coefficients_line_up_with_the_model(maps):
    """Noise-free: the map's coefficients are the model's times exp(-B_blur s^2/4): D
    follows that curve and the model-map FSC is 1 to 5e-4 in every shell (the two
    engines' grids differ)."""
    atoms, _ = maps
    full, _, _ = simulate_maps(atoms, resolution=3.0, pixel=1.1, b_blur=20.0, seed=3,
                               sharpness=1e4)   # an FSC that is 1 everywhere below 3.0 A
    t = EmTarget(full, 3.2, atoms=atoms)
    fc = t.fcalc(atoms)
    v = F.fsc(fc, t.f_full, t.shells)
    assert v.min() > 1 - 5e-4, v
    s2 = 1 / t.shells.d_mid ** 2
    np.testing.assert_allclose(t.D, np.exp(-20.0 * s2 / 4), rtol=0.02)
    assert abs(t.overall_b() - 20.0) < 0.5


def _fd(target, atoms, p, j, c, h):
    vals = []
    for sgn in (1, -1):
        a = atoms.copy()
        arr = getattr(a, p)
        if c is None:
            arr[j] += sgn * h
        else:
            arr[j, c] += sgn * h
        vals.append(target.value(a))
    return (vals[0] - vals[1]) / (2 * h)


@pytest.mark.parametrize("work", ["full", "half1"])
def test_gradients_against_finite_differences(maps, work):
    atoms, (full, h1, h2) = maps
    from mainpy.xtal.simulate import shake  # noqa: F401 (shaken by hand below)
    rng = np.random.default_rng(1)
    start = atoms.replace(xyz=atoms.xyz + rng.normal(0, 0.3, atoms.xyz.shape),
                          b=atoms.b + rng.uniform(-5, 5, len(atoms)))
    t = EmTarget(full, 3.0, h1, h2, work=work, atoms=start)
    res = t.evaluate(start, ("xyz", "b", "occ"))
    idx = np.linspace(0, len(start) - 1, 12).astype(int)
    for p, h, comps in (("xyz", 1e-4, range(3)), ("b", 1e-3, [None]),
                        ("occ", 1e-4, [None])):
        an, fd = [], []
        for j in idx:
            for c in comps:
                fd.append(_fd(t, start, p, j, c, h))
                an.append(res.grad[p][j] if c is None else res.grad[p][j, c])
        an, fd = np.array(an), np.array(fd)
        err = np.abs(an - fd).max() / np.abs(an).max()
        assert err < 1e-4, (p, err)


def test_aniso_gradient_against_finite_differences(maps):
    atoms, (full, h1, h2) = maps
    a = atoms.copy()
    idx = np.arange(0, len(a), 40)
    u = a.b[idx] / (8 * np.pi ** 2)
    a.aniso[idx] = np.stack([u * 1.2, u, u * 0.8, u * 0.1, -u * 0.05, u * 0.07], 1)
    t = EmTarget(full, 3.0, h1, h2, atoms=a)
    res = t.evaluate(a, ("aniso",))
    an, fd = [], []
    for j in idx:
        for c in range(6):
            fd.append(_fd(t, a, "aniso", j, c, 1e-5))
            an.append(res.grad["aniso"][j, c])
    an, fd = np.array(an), np.array(fd)
    assert np.abs(an - fd).max() / np.abs(an).max() < 1e-4
