"""Kicks are reproducible with a seed, bounded by r, and touch only selected atoms."""

import io

import numpy as np
import pytest

from mainpy.model.perturb import kick_coordinates, kick_values
from mainpy.session import Session


@pytest.mark.parametrize("dist", ["uniform", "linear", "square", "exponential"])
def test_coordinate_kick_bounded_and_reproducible(dist):
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(5000, 3)) * 10
    mask = rng.random(5000) < 0.5
    a = kick_coordinates(xyz, mask, 0.4, seed=11, distribution=dist)
    b = kick_coordinates(xyz, mask, 0.4, seed=11, distribution=dist)
    c = kick_coordinates(xyz, mask, 0.4, seed=12, distribution=dist)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    shift = np.linalg.norm(a - xyz, axis=1)
    assert shift.max() <= 0.4 + 1e-12
    assert (shift[~mask] == 0).all() and (shift[mask] > 0).mean() > 0.99
    # the directions are isotropic: mean shift vector near zero
    assert np.abs((a - xyz)[mask].mean(axis=0)).max() < 0.02


def test_distributions_differ_as_documented():
    xyz = np.zeros((20000, 3))
    mask = np.ones(20000, bool)
    means = {d: np.linalg.norm(kick_coordinates(xyz, mask, 1.0, 3, d), axis=1).mean()
             for d in ("uniform", "linear", "square", "exponential")}
    assert abs(means["uniform"] - 0.5) < 0.01
    assert abs(means["linear"] - 1 / 3) < 0.01
    assert abs(means["square"] - 1 / 3) < 0.01
    assert means["exponential"] < means["square"]


def test_b_kick_bounded_and_floor():
    b = np.full(1000, 3.0)
    k = kick_values(b, np.ones(1000, bool), 5.0, seed=1, floor=0.0)
    assert (k >= 0).all() and (np.abs(k - b) <= 5.0).all()
    assert (k < b).any() and (k > b).any()


def test_kick_commands_on_a_real_model(data):
    path = data("xtal/1aba/1aba.pdb")
    s = Session(out=io.StringIO())
    s.run(f"read coor file {path}")
    x0, b0 = s.atoms.xyz.copy(), s.atoms.b.copy()
    s.run("set coor kick 0.2 seed 4 sele resi numb 1 : 20 end")
    s.run("set temp kick 5. seed 4 sele all end")
    t = Session(out=io.StringIO())
    t.run(f"read coor file {path}")
    t.run("set coor kick 0.2 seed 4 sele resi numb 1 : 20 end; set temp kick 5. seed 4")
    assert np.array_equal(s.atoms.xyz, t.atoms.xyz) and np.array_equal(s.atoms.b, t.atoms.b)
    moved = np.linalg.norm(s.atoms.xyz - x0, axis=1)
    sel = (s.atoms.resseq <= 20) & (s.atoms.resseq >= 1)
    assert moved.max() <= 0.2 + 1e-9 and (moved[~sel] == 0).all() and (moved[sel] > 0).all()
    assert np.abs(s.atoms.b - b0).max() <= 5.0 + 1e-9
