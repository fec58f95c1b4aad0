"""The minimizer driver: parameter packing (atoms, rigid bodies, occupancy groups) checked
by finite differences, stopping, NaN handling, segments."""

import io
import os
import signal

import numpy as np
import pytest

from mainpy.model.atoms import from_structure
from mainpy.refine.driver import Packer, minimize, occupancy_groups
from mainpy.refine.objective import Objective, Part
from mainpy.session import Session
from mainpy.targets.base import Result, Target, zero_grad


class Quadratic(Target):
    """sum w (xyz - ref)^2 + (b - b0)^2 / 100 + 10 (occ - o0)^2: a known minimum."""

    def __init__(self, ref_xyz, b0, o0):
        self.ref, self.b0, self.o0 = ref_xyz, b0, o0

    def evaluate(self, atoms, params=("xyz",)):
        dx = atoms.xyz - self.ref
        db = atoms.b - self.b0
        do = atoms.occ - self.o0
        v = float((dx ** 2).sum() + (db ** 2).sum() / 100 + 10 * (do ** 2).sum())
        g = zero_grad(atoms, params)
        if "xyz" in params:
            g["xyz"] = 2 * dx
        if "b" in params:
            g["b"] = db / 50
        if "occ" in params:
            g["occ"] = 20 * do
        return Result(v, g)


@pytest.fixture(scope="module")
def atoms(data):
    import gemmi
    return from_structure(gemmi.read_structure(str(data("xtal/1aba/1aba.pdb"))))


def fd_check(pk, atoms, target, x):
    f = lambda y: target.evaluate(pk.unpack(y, atoms), pk.params).value   # noqa: E731
    g = pk.gradient(target.evaluate(pk.unpack(x, atoms), pk.params).grad, x)
    num = np.array([(f(x + e) - f(x - e)) / 2e-6 for e in np.eye(len(x)) * 1e-6])
    return np.max(np.abs(g - num)) / np.max(np.abs(num))


def test_packing_gradients_match_finite_differences(atoms):
    rng = np.random.default_rng(0)
    target = Quadratic(atoms.xyz + rng.normal(size=atoms.xyz.shape) * 0.3,
                       atoms.b + 5, np.clip(atoms.occ - 0.2, 0, 1))
    moving = (atoms.resseq >= 20) & (atoms.resseq <= 24)   # includes altloc residues?
    moving |= atoms.altloc != ""
    pk = Packer(atoms, ("xyz", "b", "occ"), moving)
    x = pk.pack(atoms) + rng.normal(size=len(pk.pack(atoms))) * 0.01
    assert fd_check(pk, atoms, target, x) < 1e-6
    bodies = [np.flatnonzero(moving & (atoms.resseq < 22)), np.flatnonzero(moving & (atoms.resseq >= 22))]
    pk = Packer(atoms, ("xyz",), moving, bodies)
    x = rng.normal(size=12) * 0.05
    assert fd_check(pk, atoms, target, x) < 1e-5


def test_altloc_pairs_keep_their_sum(atoms):
    moving = atoms.altloc != ""
    gid, groups, pairs = occupancy_groups(atoms, moving)
    assert pairs and all(abs(tot - 1.0) < 1e-6 for _, _, tot in pairs)
    pk = Packer(atoms, ("occ",), moving)
    x = np.full(len(pk.pack(atoms)), 0.3)
    new = pk.unpack(x, atoms)
    for a, b, tot in pairs:
        assert new.occ[groups[a][0]] + new.occ[groups[b][0]] == pytest.approx(tot)


def test_rigid_body_recovers_a_shift_and_rotation(atoms):
    moving = atoms.chain == "A"
    c = atoms.xyz.mean(axis=0)
    th = np.radians(3.0)
    rot = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    moved = atoms.replace(xyz=(atoms.xyz - c) @ rot.T + c + np.array([0.4, -0.3, 0.2]))
    obj = Objective([Part("q", 1.0, Quadratic(atoms.xyz, atoms.b, atoms.occ))])
    res = minimize(moved, obj, ("xyz",), moving, steps=60, bodies=[np.flatnonzero(moving)])
    assert np.sqrt(((res.atoms.xyz - atoms.xyz) ** 2).sum(axis=1).mean()) < 1e-3


def test_nan_stops_with_the_last_good_model(atoms):
    class Breaks(Quadratic):
        calls = 0

        def evaluate(self, a, params=("xyz",)):
            Breaks.calls += 1
            r = super().evaluate(a, params)
            return Result(float("nan"), r.grad) if Breaks.calls == 3 else r

    obj = Objective([Part("q", 1.0, Breaks(atoms.xyz + 0.5, atoms.b, atoms.occ))])
    res = minimize(atoms, obj, ("xyz",), None, steps=50)
    assert res.reason == "nan" and res.steps == 3 and "step 3" in res.message
    assert np.isfinite(res.atoms.xyz).all()
    assert not np.array_equal(res.atoms.xyz, atoms.xyz)     # steps 1-2 were kept


def test_segments_call_between(atoms):
    seen = []
    obj = Objective([Part("q", 1.0, Quadratic(atoms.xyz + 0.2, atoms.b, atoms.occ))])
    minimize(atoms, obj, ("xyz",), None, steps=30, segment=10,
             between=lambda a: seen.append(len(seen)))
    assert len(seen) >= 2


def test_ctrl_c_ends_minimize_after_the_current_step(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run("set coor kick 0.3 seed 3; define bond angle by topo")

    class Interrupting(io.StringIO):
        n = 0

        def write(self, text):
            if "  step " in text:
                Interrupting.n += 1
                if Interrupting.n == 4:
                    os.kill(os.getpid(), signal.SIGINT)   # as Ctrl-C at the terminal
            return super().write(text)

    s.out = Interrupting()
    before = signal.getsignal(signal.SIGINT)   # SIG_IGN when started in the background
    s.run("minimize step 1000 writ 1")
    text = s.out.getvalue()
    assert "ended by a stop request (Ctrl-C)" in text
    assert int(text.split(" steps, ended")[0].split()[-1]) == 4
    assert signal.getsignal(signal.SIGINT) == before      # the handler given back


def test_the_b_preconditioner_scales_each_atoms_b_by_its_xray_curvature(data):
    """1aba with the ML target: coordinates and B together give each atom's B the relative
    inverse X-ray curvature (mean 1, larger for atoms of higher B), every coordinate 1;
    runs of B alone and objectives without an X-ray part get none."""
    import gemmi

    from mainpy.refine.precondition import inverse_scales
    from mainpy.targets.xray import MlTarget
    from mainpy.xtal.fmodel import Fmodel
    from mainpy.xtal.reflections import read_reflections
    atoms = from_structure(gemmi.read_structure(str(data("xtal/1aba/1aba.pdb"))))
    t = MlTarget(Fmodel(read_reflections(str(data("xtal/1aba/1aba.mtz"))), atoms))
    objective = Objective([Part("xray", 3.0, t)])
    moving = np.zeros(len(atoms), bool)
    moving[:200] = True
    pk = Packer(atoms, ("xyz", "b"), moving)
    p = pk.preconditioner(objective, atoms)
    n = pk.n
    assert p.shape == (4 * n,) and np.all(p[:3 * n] == 1.0)
    rows = np.flatnonzero(moving)
    np.testing.assert_allclose(p[3 * n:], inverse_scales(t.b_curvature(atoms, rows)))
    hi, lo = rows[np.argmax(atoms.b[rows])], rows[np.argmin(atoms.b[rows])]
    assert p[3 * n + np.searchsorted(rows, hi)] > 3 * p[3 * n + np.searchsorted(rows, lo)]
    assert Packer(atoms, ("b",), moving).preconditioner(objective, atoms) is None
    assert pk.preconditioner(Objective([Part("q", 1.0, Quadratic(atoms.xyz, atoms.b,
                                                                   atoms.occ))]),
                             atoms) is None
