"""The ADP blocks of the minimizer's vector: pack/unpack, bounds, and the gradient by the
chain rule against central differences of the objective through the vector."""

from types import SimpleNamespace

import gemmi
import numpy as np
import pytest

from mainpy.model.atoms import from_structure
from mainpy.refine import adp_params as ap
from mainpy.refine.driver import Packer
from mainpy.refine.objective import Objective, Part, RestraintTarget
from mainpy.restraints.energy import Energy
from mainpy.restraints.monlib import load_monlib
from mainpy.restraints.topology import build_restraints
from tests.refine.vector_fd import fd_through_vector


@pytest.fixture(scope="module")
def aba(data, monlib_dir):
    """1aba's atoms and a maker of its restraint energy."""
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    st.setup_entities()
    atoms = from_structure(st)
    lib = load_monlib(sorted(set(atoms.resname.tolist())), str(monlib_dir))
    r = build_restraints(st, lib)
    return SimpleNamespace(atoms=atoms,
                           energy=lambda: Energy(r, atoms, st.cell, st.find_spacegroup()))


def _mixed(atoms, seed=1):
    """Main-chain atoms anisotropic (U around their B), the rest isotropic."""
    rng = np.random.default_rng(seed)
    mc = np.isin(atoms.name, ["N", "CA", "C", "O"])
    u = np.zeros((len(atoms), 6))
    uiso = atoms.b[mc] / ap.EIGHT_PI2
    u[mc, :3] = uiso[:, None] * rng.uniform(0.7, 1.3, (mc.sum(), 3))
    u[mc, 3:] = uiso[:, None] * rng.uniform(-0.15, 0.15, (mc.sum(), 3))
    return atoms.replace(aniso=u), mc


def test_atom_adp_mixed_model_roundtrip_and_gradient(aba):
    atoms, mc = _mixed(aba.atoms)
    objective = Objective([Part("restraints", 1.0, RestraintTarget(aba.energy()))])
    pk = Packer(atoms, ("xyz", "b"), np.ones(len(atoms), bool))
    assert pk.target_params == ("xyz", "b", "aniso")
    n_iso, n_ani = int((~mc).sum()), int(mc.sum())
    x = pk.pack(atoms)
    assert len(x) == 3 * len(atoms) + n_iso + 6 * n_ani
    back = pk.unpack(x, atoms)
    assert np.allclose(back.aniso, atoms.aniso, atol=1e-15)
    assert np.allclose(back.b[~mc], atoms.b[~mc])
    assert np.allclose(back.b[mc], ap.b_equivalent(atoms.aniso[mc]))   # B of U written
    lo, hi = pk.bounds()
    assert np.isfinite(lo[3 * len(atoms):3 * len(atoms) + n_iso]).all()
    blocks = pk.blocks()
    assert (blocks[:3 * len(atoms)] == 0).all() and (blocks[3 * len(atoms):] == 1).all()
    rng = np.random.default_rng(0)
    start = 3 * len(atoms)
    picks = list(rng.choice(np.arange(start, start + n_iso), 4, replace=False))
    picks += list(rng.choice(np.arange(start + n_iso, len(x)), 12, replace=False))
    picks += list(rng.choice(np.arange(start), 4, replace=False))
    assert fd_through_vector(pk, objective, atoms, picks) < 1e-4


def test_grouped_b_gradient_and_groups(aba):
    atoms = aba.atoms
    idx = np.arange(len(atoms))
    one = ap.residue_groups(atoms, idx)
    two = ap.residue_groups(atoms, idx, split_side_chain=True)
    assert len(one) == atoms.n_residues
    assert atoms.n_residues < len(two) < 2 * atoms.n_residues        # GLY has no side chain
    for g in one:
        assert len(set(atoms.residue_index[g].tolist())) == 1
    objective = Objective([Part("restraints", 1.0, RestraintTarget(aba.energy()))])
    pk = Packer(atoms, ("b",), np.ones(len(atoms), bool),
                adp=lambda a, rows: ap.GroupB(a, ap.residue_groups(a, rows, True)))
    x = pk.pack(atoms)
    assert len(x) == len(two)
    new = pk.unpack(x, atoms)
    for g in two:                       # every atom of a group has the group's B
        assert np.ptp(new.b[g]) == 0 and new.b[g][0] == pytest.approx(atoms.b[g].mean())
    assert fd_through_vector(pk, objective, new, range(0, len(x), max(1, len(x) // 15))) < 1e-4


def test_settle_makes_u_positive_definite(aba):
    atoms, mc = _mixed(aba.atoms)
    u = atoms.aniso.copy()
    i = np.flatnonzero(mc)[0]
    u[i] = (0.1, 0.1, 0.1, 0.2, 0.0, 0.0)          # eigenvalues -0.1, 0.1, 0.3
    atoms = atoms.replace(aniso=u)
    pk = Packer(atoms, ("b",), np.ones(len(atoms), bool))
    out = pk.settle(atoms)
    m = np.array([[out.aniso[i, 0], out.aniso[i, 3], out.aniso[i, 4]],
                  [out.aniso[i, 3], out.aniso[i, 1], out.aniso[i, 5]],
                  [out.aniso[i, 4], out.aniso[i, 5], out.aniso[i, 2]]])
    assert np.linalg.eigvalsh(m).min() > 0
    others = mc.copy()
    others[i] = False
    assert np.array_equal(out.aniso[others], atoms.aniso[others])
    assert out.b[i] == pytest.approx(ap.b_equivalent(out.aniso[i:i + 1])[0])


def test_make_anisotropic_and_back(aba):
    atoms = aba.atoms
    mask = ~ap.waters(atoms)
    ani, k = ap.make_anisotropic(atoms, mask)
    assert k == mask.sum()
    assert np.allclose(ap.b_equivalent(ani.aniso[mask]), atoms.b[mask])
    iso, k2 = ap.make_isotropic(ani, np.ones(len(atoms), bool))
    assert k2 == k and not iso.aniso.any() and np.allclose(iso.b, atoms.b)


def _tls_model(atoms, seed=3):
    """One TLS group per chain with small random T, L, S (waters left to their own B)."""
    import dataclasses

    from mainpy.app.tls import chain_groups, membership
    rng = np.random.default_rng(seed)
    groups = []
    for g in chain_groups(atoms):
        T = np.array([0.2, 0.25, 0.15, 0.02, -0.01, 0.01]) * rng.uniform(0.8, 1.2)
        L = np.radians(np.sqrt([4.0, 2.0, 3.0, 0.5, 0.3, 0.2])) ** 2 * np.array([1, 1, 1, .3, -.3, .3])
        S = np.radians(1.0) * rng.uniform(-0.05, 0.05, 9)
        S[8] = -(S[0] + S[4])
        groups.append(dataclasses.replace(g, T=T, L=L, S=S))
    return ap.TlsModel(groups, membership(atoms, groups))


def test_tls_block_gradient_through_coordinates_and_tensors(aba):
    """TLS tensors, residual B and the coordinates (U_TLS depends on them) against
    central differences of a target that sees U."""
    atoms = aba.atoms
    model = _tls_model(atoms)
    objective = Objective([Part("restraints", 1.0, RestraintTarget(aba.energy()))])
    pk = Packer(atoms, ("xyz", "b"), np.ones(len(atoms), bool), adp=model)
    assert pk.target_params == ("xyz", "b", "aniso")
    member = model.member_of >= 0
    x = pk.pack(atoms)
    n_tls = ap.TLS_PARAMS * len(model.groups)
    n_rest = int((~member).sum())
    assert len(x) == 3 * len(atoms) + n_tls + int(member.sum()) + n_rest
    back = pk.unpack(x, atoms)
    assert ap.aniso_rows(back)[member].all() and not ap.aniso_rows(back)[~member].any()
    # the residual keeps each member's B: B_eq(U_TLS + B_res) equals the B it came with
    # wherever the TLS part alone stays below it
    ok = pk.adp.blocks[0].b_res0 > 0
    assert np.allclose(back.b[member][ok], atoms.b[member][ok], atol=1e-6)
    start = 3 * len(atoms)
    rng = np.random.default_rng(0)
    picks = list(range(start, start + n_tls))
    picks += list(rng.choice(np.arange(start + n_tls, len(x)), 6, replace=False))
    picks += list(rng.choice(np.arange(start), 10, replace=False))
    assert fd_through_vector(pk, objective, atoms, picks) < 1e-4


def test_tls_state_returns_the_refined_tensors(aba):
    atoms = aba.atoms
    model = _tls_model(atoms)
    pk = Packer(atoms, ("b",), np.ones(len(atoms), bool), adp=model)
    x = pk.pack(atoms)
    x[0] += 0.05 * pk.adp.blocks[0].scale[0, 0]       # T11 of the first group, +0.05 A^2
    groups = pk.adp_state(x)
    assert groups[0].T[0] == pytest.approx(model.groups[0].T[0])   # the owner took them
    assert model.groups[0].T[0] - _tls_model(atoms).groups[0].T[0] == pytest.approx(0.05)


def test_tls_atoms_restrained_on_their_b_equivalent(aba):
    """With the TLS members restrained as isotropic atoms of B = B_eq (and their U kept
    positive definite), the gradient through the vector still matches central
    differences, and no rigid-bond term is left (the members are the only anisotropic
    atoms); a member made non-positive-definite meets the eigenvalue floor."""
    atoms = aba.atoms
    model = _tls_model(atoms)
    target = RestraintTarget(aba.energy(), iso_rows=model.member_of >= 0)
    objective = Objective([Part("restraints", 1.0, target)])
    pk = Packer(atoms, ("xyz", "b"), np.ones(len(atoms), bool), adp=model)
    ev = objective.evaluate(pk.unpack(pk.pack(atoms), atoms), pk.target_params)
    terms = ev.info["restraints"]["terms"]
    assert "rigidbond" not in terms and terms["adp"] > 0
    assert terms["sphericity"] == 0.0          # the eigenvalue floor alone: every U is fine
    n_tls = ap.TLS_PARAMS * len(model.groups)
    start = 3 * len(atoms)
    rng = np.random.default_rng(1)
    picks = list(range(start, start + n_tls))
    picks += list(rng.choice(np.arange(start + n_tls, start + n_tls + 800), 6, replace=False))
    picks += list(rng.choice(np.arange(start), 6, replace=False))
    assert fd_through_vector(pk, objective, atoms, picks) < 1e-4
    bad = atoms.replace(aniso=np.where(np.arange(len(atoms))[:, None] == 5,
                                       [0.2, -0.05, 0.2, 0, 0, 0], 0.0))
    target.iso_rows = np.arange(len(atoms)) == 5
    ev = objective.evaluate(bad, ("b", "aniso"))
    assert ev.info["restraints"]["terms"]["sphericity"] > 0 and ev.grad["aniso"][5, 1] < 0


@pytest.fixture(scope="module")
def aba_ml(data):
    """The ML X-ray target of 1aba's deposited model (double precision, for differences)."""
    from mainpy.targets.xray import xray_target
    from mainpy.xtal.fmodel import Fmodel
    from mainpy.xtal.reflections import read_reflections
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    atoms = from_structure(st)
    refl = read_reflections(str(data("xtal/1aba/1aba.mtz")))
    return atoms, xray_target("ml", Fmodel(refl, atoms), single=False)


def test_xray_gradient_through_tls_and_group_b(aba_ml):
    """The X-ray target's own gradients (dU, dB) taken through the TLS tensors, the
    residual B and the coordinates (TlsAdp), and through per-residue B (GroupB), against
    central differences of the target through the vector."""
    atoms, target = aba_ml
    objective = Objective([Part("xray", 1.0, target)])
    model = _tls_model(atoms)
    pk = Packer(atoms, ("xyz", "b"), np.ones(len(atoms), bool), adp=model)
    n_tls = ap.TLS_PARAMS * len(model.groups)
    start = 3 * len(atoms)
    rng = np.random.default_rng(4)
    picks = list(range(start, start + n_tls))
    picks += list(rng.choice(np.arange(start + n_tls, start + n_tls + 700), 4, replace=False))
    picks += list(rng.choice(np.arange(start), 4, replace=False))
    assert fd_through_vector(pk, objective, atoms, picks, h=1e-4) < 1e-4
    groups = ap.residue_groups(atoms, np.arange(len(atoms)), True)
    pk = Packer(atoms, ("b",), np.ones(len(atoms), bool),
                adp=lambda a, rows: ap.GroupB(a, ap.residue_groups(a, rows, True)))
    assert pk.adp.n == len(groups)
    picks = list(rng.choice(np.arange(len(groups)), 6, replace=False))
    assert fd_through_vector(pk, objective, atoms, picks, h=1e-4) < 1e-4
