"""Point-group symmetry for EM: the groups' rotations, a C2 assembly's map explained by one
copy and its operators, the gradient through the copies against finite differences, and
READ MAP ... SYMMETRY through the language."""

import io
from pathlib import Path

import numpy as np
import pytest

from mainpy import Session
from mainpy.em import fsc as F
from mainpy.em import symmetry as Y
from mainpy.em.mapfile import write_em_map
from mainpy.em.simulate import simulate_maps
from mainpy.em.target import EmTarget

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_true.pdb"


@pytest.mark.parametrize("group, n", [("C1", 1), ("C3", 3), ("D2", 4), ("d7", 14)])
def test_rotations_form_the_group(group, n):
    rs = Y.rotations(group)
    assert len(rs) == n and np.allclose(rs[0], np.eye(3))
    for a in rs:
        assert np.allclose(a @ a.T, np.eye(3)) and np.linalg.det(a) == pytest.approx(1)
        for b in rs:                                   # closed under products
            assert min(np.abs(a @ b - c).max() for c in rs) < 1e-9
    with pytest.raises(ValueError, match="Cn or Dn"):
        Y.rotations("I")


@pytest.fixture(scope="module")
def c2(tmp_path_factory):
    """Chain A of the demo model and the maps of its C2 assembly (2-fold about z through
    a centre 9 A from the chain's centre)."""
    s = Session(out=io.StringIO())
    s.run(f"read coor file {DEMO}")
    a = s.atoms
    one = a.chain == a.chain[0]
    from mainpy.model.model import Model, subset_structure
    from mainpy.model.atoms import from_structure
    st = subset_structure(s.model, one)
    atoms = from_structure(st)
    centre = atoms.xyz.mean(0) + np.array([9.0, 0.0, 0.0])
    ops = Y.operators("C2", centre)
    maps = simulate_maps(Y.expand(atoms, ops), resolution=3.0, pixel=1.1, b_blur=20.0,
                         seed=4)
    d = tmp_path_factory.mktemp("c2")
    for m, name in zip(maps, ("full", "h1", "h2")):
        write_em_map(d / f"{name}.mrc", m)
    st.write_pdb(str(d / "one.pdb"))
    return atoms, ops, maps, d, Model


def test_one_copy_explains_the_assembly(c2):
    atoms, ops, (full, h1, h2), _, _ = c2
    with_ops = EmTarget(full, 3.2, h1, h2, atoms=atoms, ops=ops)
    alone = EmTarget(full, 3.2, h1, h2, atoms=atoms)
    fc = with_ops.fcalc(atoms)
    assert F.fsc(fc, with_ops.f_full, with_ops.shells)[:5].min() > 0.95
    assert F.fsc(alone.fcalc(atoms), alone.f_full, alone.shells)[:5].max() < 0.85


def test_gradient_through_the_copies(c2):
    atoms, ops, (full, h1, h2), _, _ = c2
    rng = np.random.default_rng(1)
    moved = atoms.replace(xyz=atoms.xyz + rng.normal(0, 0.2, atoms.xyz.shape),
                          b=atoms.b + rng.uniform(-3, 3, len(atoms)))
    t = EmTarget(full, 3.2, h1, h2, atoms=moved, ops=ops)
    res = t.evaluate(moved, ("xyz", "b"))
    for p, j, c, h in [("xyz", 3, 0, 1e-4), ("xyz", 40, 2, 1e-4), ("xyz", 100, 1, 1e-4),
                       ("b", 7, None, 1e-3), ("b", 90, None, 1e-3)]:
        vals = []
        for sgn in (1, -1):
            arr = getattr(moved, p).copy()
            if c is None:
                arr[j] += sgn * h
            else:
                arr[j, c] += sgn * h
            vals.append(t.evaluate(moved.replace(**{p: arr}), ()).value)
        fd = (vals[0] - vals[1]) / (2 * h)
        g = res.grad[p][j] if c is None else res.grad[p][j, c]
        assert g == pytest.approx(fd, rel=1e-4, abs=1e-6 * abs(res.value))


def test_read_map_symmetry_through_the_language(c2):
    atoms, ops, _, d, _ = c2
    s = Session(out=io.StringIO())
    s.run(f"read coor file {d / 'one.pdb'}")
    c = ops[1][1] / 2                                   # t = c - R c = 2 (cx, cy, 0)
    centre = f"{c[0]:.4f} {c[1]:.4f} {atoms.xyz.mean(0)[2]:.4f}"
    s.run(f"read map 1 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'} "
          f"symmetry C2 centre {centre}")
    assert "the model is one of 2 copies" in s.out.getvalue()
    s.run("show fsc 1")
    with_sym = float(s.variables["FSC_WORK"])
    s.run(f"read map 2 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'}")
    s.run("show fsc 2")
    alone = float(s.variables["FSC_WORK"])
    assert with_sym > alone + 0.1, (with_sym, alone)
    before = s.fingerprint()
    with pytest.raises(Exception, match="Cn or Dn"):
        s.run(f"read map 3 file {d / 'full.mrc'} symmetry X5")
    assert s.fingerprint() == before


def test_refinement_of_one_copy_against_the_assembly(c2, tmp_path):
    """A shaken copy refined against the C2 map with its operators comes back towards
    the truth (its image follows it exactly)."""
    from mainpy.xtal.simulate import shake
    atoms, ops, _, d, _ = c2
    s = Session(out=io.StringIO())
    s.run(f"read coor file {d / 'one.pdb'}")
    shake(s.model.synced_structure(), 0.4, seed=5).write_pdb(str(tmp_path / "start.pdb"))
    s = Session(out=io.StringIO())
    s.run(f"read coor file {tmp_path / 'start.pdb'}")
    c = ops[1][1] / 2
    s.run(f"read map 1 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'} "
          f"symmetry C2 centre {c[0]:.4f} {c[1]:.4f} 0")
    s.run("define bond angle dihe impr by topo; ener em on map 1")

    def rmsd():
        return float(np.sqrt(np.mean(np.sum((s.atoms.xyz - atoms.xyz) ** 2, axis=1))))
    r0 = rmsd()
    s.run("refine position step 40 phase steps 20 adjust bond 0.01")
    assert r0 > 0.3 and rmsd() < 0.6 * r0, (r0, rmsd())


def test_operators_from_a_file(c2, tmp_path):
    """SYMMETRY FILE: the C2 operators written as 12 numbers a line give the map the same
    figures as the point group; a line that is not an operator is refused with its place."""
    atoms, ops, _, d, _ = c2
    r, t = ops[1]
    f = tmp_path / "ops.txt"
    f.write_text("# C2 about z\n" + " ".join(f"{r[i, 0]:.10f} {r[i, 1]:.10f} {r[i, 2]:.10f} "
                                              f"{t[i]:.10f}" for i in range(3)) + "\n")
    assert len(Y.read_operators(f)) == 2 and np.allclose(Y.read_operators(f)[1][0], r)
    s = Session(out=io.StringIO())
    s.run(f"read coor file {d / 'one.pdb'}")
    s.run(f"read map 1 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'} "
          f"symmetry {f}")
    assert "2 symmetry operators from" in s.out.getvalue()
    s.run("show fsc 1")
    from_file = float(s.variables["FSC_WORK"])
    c = ops[1][1] / 2
    s.run(f"read map 2 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'} "
          f"symmetry C2 centre {c[0]:.4f} {c[1]:.4f} 0")
    s.run("show fsc 2")
    assert from_file == pytest.approx(float(s.variables["FSC_WORK"]), abs=1e-4)
    bad = tmp_path / "bad.txt"
    bad.write_text("1 0 0 0 0 1 0 0 0 0 2 0\n")
    with pytest.raises(Exception, match="bad.txt:1: R is not a rotation"):
        s.run(f"read map 3 file {d / 'full.mrc'} symmetry '{bad}'")
