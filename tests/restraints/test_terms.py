"""Energy terms: gradients against central finite differences, energies against gemmi."""

import gemmi
import numpy as np
import pytest
from restraint_helpers import atom_row, central_difference, rows_by_position, shaken

from mainpy.restraints import validation

COORD_TERMS = ("bond", "angle", "torsion", "chiral", "plane", "nonbonded")


def _sample_rows(atoms, grad, extra, k, seed):
    """Atoms with a gradient from this term: the `extra` rows plus k random others."""
    active = np.flatnonzero(np.linalg.norm(grad, axis=1) > 0)
    rng = np.random.default_rng(seed)
    chosen = {int(i) for i in extra if np.linalg.norm(grad[i]) > 0}
    chosen.update(int(i) for i in rng.choice(active, min(k, len(active)), replace=False))
    return sorted(chosen)


def _rel_error(fd, an):
    """Largest per-atom |fd - analytic| / max(|analytic|, 1)."""
    num = np.linalg.norm(np.atleast_2d(fd - an), axis=-1)
    den = np.maximum(np.linalg.norm(np.atleast_2d(an), axis=-1), 1.0)
    return float(np.max(num / den))


@pytest.mark.parametrize("term", COORD_TERMS)
def test_gradient_finite_differences_1aba(aba, term):
    """Every coordinate term on 1aba (shaken 0.1 A), including the MES ligand, the
    disulfide and altloc atoms: max relative error < 1e-4."""
    en = aba.energy()
    a = aba.atoms
    xyz = shaken(a.xyz, 0.1, seed=11)
    en.nonbonded.build(xyz)
    res = en.evaluate(xyz, terms=[term])
    assert res.terms[term] > 0
    special = np.flatnonzero((a.resname == "MES") | ((a.resname == "CYS") & (a.name == "SG"))
                             | (a.altloc != ""))[::2]
    rows = _sample_rows(a, res.grad, special, 25, seed=5)
    assert len(rows) >= 25
    f = lambda x: en.evaluate(x, terms=[term]).total
    fd = central_difference(f, xyz, rows, h=1e-5)
    err = _rel_error(fd, res.grad[rows])
    assert err < 1e-4, f"{term}: relative gradient error {err:.2e}"
    assert en.nonbonded.n_builds == 1  # the finite differences used one pair list


def test_adp_gradient_finite_differences(aba):
    """The B difference of atoms 1-2 and 1-3 apart (ADP mode "diff"; the default "kl" is
    tests/restraints/test_adp_similarity.py)."""
    en = aba.energy()
    en.adp_mode = "diff"
    rng = np.random.default_rng(3)
    b = aba.atoms.b + rng.normal(0, 3.0, len(aba.atoms))
    res = en.evaluate(aba.atoms.xyz, b, terms=["adp"])
    assert res.terms["adp"] > 0 and res.counts["adp"] > 1000
    rows = sorted(rng.choice(np.flatnonzero(res.grad_b != 0), 40, replace=False))
    fd = central_difference(lambda x: en.evaluate(aba.atoms.xyz, x, terms=["adp"]).total,
                            b, rows, h=1e-4)
    assert np.max(np.abs(fd - res.grad_b[rows]) / np.maximum(np.abs(res.grad_b[rows]), 1)) < 1e-6
    # value: bonded pairs with esd 5 A^2, 1-3 pairs 7.5 A^2, each pair once
    r = en.r
    pairs = {tuple(sorted(map(int, p))): 1 / 25.0 for p in r.bond_idx}
    for i, _, k in r.angle_idx:
        pairs.setdefault(tuple(sorted((int(i), int(k)))), 1 / 7.5 ** 2)
    expect = sum(w * (b[i] - b[j]) ** 2 for (i, j), w in pairs.items())
    assert res.terms["adp"] == pytest.approx(expect, rel=1e-10)


def test_energies_match_gemmi_z(any_case):
    """Bond, angle and torsion energies are sums of gemmi's Z^2; chiral and plane energies
    match volumes and plane distances computed by gemmi."""
    en = any_case.energy()
    res = en.evaluate(any_case.atoms.xyz)
    _, topo = any_case.gemmi_topology()
    zb = sum(b.calculate_z() ** 2 for b in topo.bonds if b.restr.esd > 0)
    za = sum(t.calculate_z() ** 2 for t in topo.angles if t.restr.esd > 0)
    assert res.terms["bond"] == pytest.approx(zb, rel=1e-9)
    assert res.terms["angle"] == pytest.approx(za, rel=1e-9)
    rows = rows_by_position(any_case.atoms)
    r = en.r
    mine = {tuple(t): k for k, t in enumerate(r.tors_idx.tolist())}
    zt = sum(t.calculate_z() ** 2 for t in topo.torsions
             if tuple(atom_row(rows, x) for x in t.atoms) in mine)
    assert res.terms["torsion"] == pytest.approx(zt, rel=1e-9)
    # chirality: gemmi volumes and ideal absolute volumes, esd from the restraint arrays
    esd = {tuple(c): s for c, s in zip(r.chir_idx.tolist(), r.chir_esd)}
    ec = 0.0
    for c in topo.chirs:
        key = tuple(atom_row(rows, x) for x in c.atoms)
        v = c.calculate()
        ideal = topo.ideal_chiral_abs_volume(c)
        sign = {gemmi.ChiralityType.Positive: 1, gemmi.ChiralityType.Negative: -1}.get(
            c.restr.sign, 1 if v >= 0 else -1)
        ec += ((v - sign * ideal) / esd[key]) ** 2
    assert res.terms["chiral"] == pytest.approx(ec, rel=1e-9)
    # planes: gemmi's best plane (unweighted; esds are per plane so it is the same)
    ep = 0.0
    for p in topo.planes:
        coeff = gemmi.find_best_plane(p.atoms)
        ep += sum(gemmi.get_distance_from_plane(x.pos, coeff) ** 2 for x in p.atoms) \
            / p.restr.esd ** 2
    assert res.terms["plane"] == pytest.approx(ep, rel=1e-6)


def test_torsion_periodicity_and_chirality_sign(aba):
    """Torsion energy is unchanged when the dihedral moves by a full period; an inverted
    centre costs (2 V0 / esd)^2 more than an ideal one."""
    r = aba.restraints
    xyz = aba.atoms.xyz
    from mainpy.restraints import terms
    k = int(np.flatnonzero(r.tors_period == 3)[0])
    idx = r.tors_idx[k:k + 1]
    phi = validation.dihedrals(xyz, idx)[0]
    w = np.ones(1)
    # rotate the 4th atom about the 2-3 axis by 120 degrees
    x2, x3 = xyz[idx[0, 1]], xyz[idx[0, 2]]
    axis = (x3 - x2) / np.linalg.norm(x3 - x2)
    t = np.radians(120.0)
    kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rm = np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * kx @ kx
    moved = xyz.copy()
    moved[idx[0, 3]] = x3 + rm @ (xyz[idx[0, 3]] - x3)
    assert validation.dihedrals(moved, idx)[0] == pytest.approx(
        (phi + 120 + 180) % 360 - 180, abs=1e-6)
    e1 = terms.torsion_energy(xyz, idx, r.tors_ideal[k:k + 1], w, r.tors_period[k:k + 1],
                              np.zeros_like(xyz))
    e2 = terms.torsion_energy(moved, idx, r.tors_ideal[k:k + 1], w, r.tors_period[k:k + 1],
                              np.zeros_like(xyz))
    assert e2 == pytest.approx(e1, rel=1e-9)
    c = int(np.flatnonzero(r.chir_sign == 1)[0])
    ci = r.chir_idx[c:c + 1]
    vol = validation.chiral_values(xyz, r)[c]
    ideal = np.array([vol])  # make the current volume ideal
    e_ok = terms.chiral_energy(xyz, ci, ideal, r.chir_sign[c:c + 1], w, np.zeros_like(xyz))
    mirror = xyz * np.array([1.0, 1.0, -1.0])
    e_inv = terms.chiral_energy(mirror, ci, ideal, r.chir_sign[c:c + 1], w,
                                np.zeros_like(xyz))
    assert e_ok == pytest.approx(0.0, abs=1e-20)
    assert e_inv == pytest.approx((2 * vol) ** 2, rel=1e-9)


def test_bond_through_symmetry_gradient(aba):
    """A bond whose second atom is a symmetry image (links across the ASU boundary):
    the gradient reaches the real atom through R^T; checked by finite differences."""
    from mainpy.restraints import terms
    st = aba.st
    op = st.find_spacegroup().operations().sym_ops[1]
    frac = np.array(st.cell.frac.mat.tolist())
    orth = np.array(st.cell.orth.mat.tolist())
    s = np.array(op.float_seitz())
    ops = np.empty((1, 3, 4))
    ops[0, :, :3] = orth @ s[:3, :3] @ frac
    ops[0, :, 3] = orth @ (s[:3, 3] + np.array([1.0, 0.0, 0.0]))
    xyz = aba.atoms.xyz
    idx = np.array([[10, 20], [30, 30], [40, 41]], np.int64)
    sym = np.array([0, 0, -1], np.int64)
    ideal = np.array([2.0, 3.0, 1.5])
    w = np.array([1.0, 2.0, 3.0])
    g = np.zeros_like(xyz)
    e = terms.bond_energy(xyz, idx, ideal, w, sym, ops, g)
    image = ops[0, :, :3] @ xyz[20] + ops[0, :, 3]
    d = np.linalg.norm(xyz[10] - image)
    assert e > 0 and np.isfinite(d)
    f = lambda x: terms.bond_energy(x, idx, ideal, w, sym, ops, np.zeros_like(x))
    rows = [10, 20, 30, 40, 41]
    fd = central_difference(f, xyz, rows, h=1e-5)
    assert _rel_error(fd, g[rows]) < 1e-4
