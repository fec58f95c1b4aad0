"""Riding hydrogens: the parents found from the restraints, the minimizer's vector without
the H, and the gradient folded onto the parents against central differences of the X-ray
target plus restraints through the vector (positions, B of isotropic and anisotropic
parents, occupancies)."""

from types import SimpleNamespace

import gemmi
import numpy as np
import pytest

from mainpy.model.atoms import from_structure
from mainpy.refine import adp_params as ap
from mainpy.refine.driver import Packer, minimize
from mainpy.refine.objective import Objective, Part, RestraintTarget
from mainpy.refine.riding import H_B_FACTOR, Riding, is_hydrogen, parents
from mainpy.restraints.energy import Energy
from mainpy.restraints.monlib import load_monlib
from mainpy.restraints.topology import build_restraints
from tests.refine.vector_fd import fd_through_vector


@pytest.fixture(scope="module")
def aba_h(data, monlib_dir):
    """1aba with hydrogens placed by gemmi, its restraints and its ML X-ray target."""
    from mainpy.targets.xray import xray_target
    from mainpy.xtal.fmodel import Fmodel
    from mainpy.xtal.reflections import read_reflections
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    st.setup_entities()
    lib = load_monlib(st[0].get_all_residue_names(), str(monlib_dir))
    gemmi.prepare_topology(st, lib.monlib, h_change=gemmi.HydrogenChange.ReAddButWater,
                           ignore_unknown_links=True)
    atoms = from_structure(st)
    r = build_restraints(st, lib)
    refl = read_reflections(str(data("xtal/1aba/1aba.mtz")))
    return SimpleNamespace(atoms=atoms, restraints=r, cell=st.cell,
                           spacegroup=st.find_spacegroup(),
                           energy=Energy(r, atoms, st.cell, st.find_spacegroup()),
                           xray=xray_target("ml", Fmodel(refl, atoms), single=False))


def test_parents_are_the_bonded_heavy_atoms(aba_h):
    atoms = aba_h.atoms
    par = parents(atoms, aba_h.restraints.bond_idx)
    hyd = is_hydrogen(atoms)
    assert hyd.sum() > 700
    assert (par[hyd] >= 0).all() and (par[~hyd] == -1).all()
    assert not is_hydrogen(atoms)[par[hyd]].any()
    d = np.linalg.norm(atoms.xyz[hyd] - atoms.xyz[par[hyd]], axis=1)
    assert 0.8 < d.min() and d.max() < 1.15          # X-H to the electron cloud
    same_res = atoms.residue_index[hyd] == atoms.residue_index[par[hyd]]
    assert same_res.all()


def _parent_vars(pk, atoms, par, hyd, n, seed):
    """Vector indices of `n` heavy atoms that carry hydrogens: xyz and B entries."""
    rng = np.random.default_rng(seed)
    carriers = np.unique(par[hyd])
    pos = {row: k for k, row in enumerate(pk.idx)}
    rows = rng.choice(carriers, n, replace=False)
    return rows, [3 * pos[r] + c for r in rows for c in range(3)], [pos[r] for r in rows]


def test_riding_gradient_against_differences(aba_h):
    """Value and gradient of restraints + ML X-ray target through the vector of the
    heavy atoms, the H riding (translation, B = 1.2 B_parent or B_eq, occupancy)."""
    atoms = aba_h.atoms
    hyd = is_hydrogen(atoms)
    par = parents(atoms, aba_h.restraints.bond_idx)
    # some parents anisotropic: the riders take 1.2 B_eq and pass dE/dB to their U
    carriers = np.unique(par[hyd])
    an = np.zeros(len(atoms), bool)
    an[carriers[::3]] = True
    atoms, _ = ap.make_anisotropic(atoms, an)
    riding = Riding(par)
    objective = Objective([Part("restraints", 1.0, RestraintTarget(aba_h.energy)),
                           Part("xray", 0.5, aba_h.xray)])
    pk = Packer(atoms, ("xyz", "b"), np.ones(len(atoms), bool), riding=riding)
    assert pk.n == int((~hyd).sum())                 # the H are no variables
    x = pk.pack(atoms)
    new = pk.unpack(x, atoms)
    rows = np.flatnonzero(hyd)
    beq = np.where(new.aniso[par[rows]].any(axis=1), ap.b_equivalent(new.aniso[par[rows]]),
                   new.b[par[rows]])
    assert np.allclose(new.b[rows], H_B_FACTOR * beq)
    assert not new.aniso[rows].any()
    prow, xyz_k, _ = _parent_vars(pk, atoms, par, hyd, 4, 1)
    assert fd_through_vector(pk, objective, atoms, xyz_k, 1e-5, floor=1e-2) < 1e-4
    # B: the entries of isotropic and anisotropic parents (U's diagonal carries dB_eq)
    start = 3 * pk.n
    rng = np.random.default_rng(2)
    b_k = list(start + rng.choice(pk.adp.n, 10, replace=False))
    assert fd_through_vector(pk, objective, atoms, b_k, 1e-4, floor=1e-2) < 1e-4
    # a shifted parent moves its H by the same vector
    moved = x.copy()
    moved[xyz_k[:3]] += (0.1, -0.2, 0.05)
    after = pk.unpack(moved, atoms)
    kids = rows[par[rows] == prow[0]]
    assert len(kids) and np.allclose(after.xyz[kids] - atoms.xyz[kids], (0.1, -0.2, 0.05))


def test_riding_occupancy_gradient(aba_h):
    atoms = aba_h.atoms
    par = parents(atoms, aba_h.restraints.bond_idx)
    objective = Objective([Part("xray", 1.0, aba_h.xray)])
    atoms = atoms.replace(occ=np.full(len(atoms), 0.9))
    pk = Packer(atoms, ("occ",), np.ones(len(atoms), bool), riding=Riding(par))
    x = pk.pack(atoms)
    hyd = is_hydrogen(atoms)
    heavy_only = Packer(atoms, ("occ",), ~hyd)         # the groups of the heavy atoms
    assert len(x) == len(heavy_only.pack(atoms)) and len(x) >= atoms.n_residues
    new = pk.unpack(x + 0.05, atoms)
    assert np.allclose(new.occ[hyd], new.occ[par[hyd]])
    assert fd_through_vector(pk, objective, atoms, range(0, len(x), 9), 1e-5,
                             floor=1e-2) < 1e-4


def test_minimize_keeps_riding_geometry(aba_h):
    """A run with riding H: their X-H distances stay those of the restraints (placed
    each segment), their B follow the parents, the restraint energy falls."""
    from mainpy.model.perturb import kick_coordinates
    from mainpy.refine.riding import place_by_restraints
    atoms = aba_h.atoms
    hyd = is_hydrogen(atoms)
    par = parents(atoms, aba_h.restraints.bond_idx)
    start = atoms.replace(xyz=kick_coordinates(atoms.xyz, ~hyd, 0.3, 5, "uniform"))
    energy = aba_h.energy
    objective = Objective([Part("restraints", 1.0, RestraintTarget(energy))])
    res = minimize(start, objective, ("xyz", "b"), steps=40, segment=20,
                   riding=Riding(par, place_by_restraints(energy)))
    out = res.atoms
    d0 = np.linalg.norm(atoms.xyz[hyd] - atoms.xyz[par[hyd]], axis=1)
    d1 = np.linalg.norm(out.xyz[hyd] - out.xyz[par[hyd]], axis=1)
    assert np.abs(d1 - d0).max() < 0.03
    assert np.allclose(out.b[hyd], H_B_FACTOR * out.b[par[hyd]])
    e0 = energy.evaluate(start.xyz).total
    assert energy.evaluate(out.xyz).total < 0.2 * e0


def _h_angle_z(atoms, r):
    """|Z| of every angle restraint with a hydrogen at an end."""
    x = atoms.xyz
    i, j, k = r.angle_idx.T
    a, b = x[i] - x[j], x[k] - x[j]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    z = (np.degrees(np.arccos(np.clip(cos, -1, 1))) - r.angle_ideal) / r.angle_esd
    hyd = is_hydrogen(atoms)
    return np.abs(z[hyd[i] | hyd[k]])


def test_placement_puts_hydrogens_back_on_their_side(aba_h):
    """H on the wrong side of their parent (an HA mirrored through its CA, as a start
    far off leaves it when the CA's chirality is set right; an aromatic H and an H of
    a CH2 turned 90 degrees out of place): the restraints alone leave them there, the
    placement from the parents' neighbours puts them back."""
    from mainpy.refine.riding import Placement, place_by_restraints
    atoms, r, energy = aba_h.atoms, aba_h.restraints, aba_h.energy
    par = parents(atoms, r.bond_idx)
    names = np.asarray(atoms.name).astype(str)
    ha = np.flatnonzero(names == "HA")[::4]
    ring = np.flatnonzero(np.isin(names, ["HE1", "HD1"]) &
                          np.isin(np.asarray(atoms.resname).astype(str), ["PHE", "TYR"]))
    hb = np.flatnonzero(names == "HB2")[::5]
    assert len(ha) > 10 and len(ring) > 2 and len(hb) > 5
    xyz = atoms.xyz.copy()
    xyz[ha] = 2 * xyz[par[ha]] - xyz[ha]                 # through the CA
    for h in np.concatenate([ring, hb]):                 # 90 degrees about a neighbour bond
        p = par[h]
        nb = [q for q in r.bond_idx[(r.bond_idx == p).any(axis=1)].ravel()
              if q != p and not is_hydrogen(atoms)[q]][0]
        axis = (xyz[p] - xyz[nb]) / np.linalg.norm(xyz[p] - xyz[nb])
        v = xyz[h] - xyz[p]
        xyz[h] = xyz[p] + np.cross(axis, v) + axis * (axis @ v)
    bad = atoms.replace(xyz=xyz)
    moved = np.concatenate([ha, ring, hb])
    assert _h_angle_z(bad, r).max() > 20
    by_restraints = place_by_restraints(energy)(bad)
    assert np.linalg.norm(by_restraints.xyz[ha] - atoms.xyz[ha], axis=1).max() > 1.0
    placed = place_by_restraints(energy, placement=Placement(atoms, r, par))(bad)
    # where the restraints take gemmi's H (an HA 0.1 A from gemmi's place: gemmi
    # places by the ideal angles, the restraints weigh them against the others)
    right = place_by_restraints(energy)(atoms)
    assert np.linalg.norm(placed.xyz[moved] - right.xyz[moved], axis=1).max() < 0.05
    assert _h_angle_z(placed, r).max() < 1.5 * _h_angle_z(atoms, r).max() + 1.0
    assert np.array_equal(placed.xyz[~is_hydrogen(atoms)], atoms.xyz[~is_hydrogen(atoms)])


def test_riding_hydrogens_adp_restraints_by_their_parents_b(aba_h):
    """A riding H's B is 1.2 B of its parent, no parameter: the B similarity holds it
    by B / 1.2, its parent's (held by its own B, an H only pushed its parent's B down,
    B_H - B_P = 0.2 B_P); no U shape restraint between an H and an anisotropic parent.
    The energy is that of the H at their parents' B, its gradient (folded onto the
    parents) that of central differences."""
    atoms, r = aba_h.atoms, aba_h.restraints
    hyd = is_hydrogen(atoms)
    par = parents(atoms, r.bond_idx)
    riding = Riding(par)
    rows = np.flatnonzero(hyd)
    b = atoms.b.copy()
    b[rows] = H_B_FACTOR * b[par[rows]]

    def adp(energy, b, aniso=None):
        res = energy.evaluate(atoms.xyz, b, ("adp",), aniso)
        return res.terms["adp"], res

    plain = Energy(r, atoms, aba_h.cell, aba_h.spacegroup)
    ride = Energy(r, atoms, aba_h.cell, aba_h.spacegroup)
    ride.set_riding(riding.riding_mask(), H_B_FACTOR)
    at_parents = b.copy()
    at_parents[rows] = b[par[rows]]
    e_ride, res = adp(ride, b)
    assert e_ride == pytest.approx(adp(plain, at_parents)[0], rel=1e-12)
    assert e_ride < adp(plain, b)[0]           # the pull on the parents' B is gone
    g = riding.fold({"b": res.grad_b}, atoms, rows)["b"]
    carriers = np.unique(par[rows])[::40]
    for p in carriers:
        e = []
        for d in (1e-4, -1e-4):
            bb = b.copy()
            bb[p] += d
            bb[rows] = H_B_FACTOR * bb[par[rows]]
            e.append(adp(ride, bb)[0])
        assert g[p] == pytest.approx((e[0] - e[1]) / 2e-4, rel=1e-5, abs=1e-8)
    # an anisotropic parent: its U's shape is not pulled round by its isotropic H
    an = np.zeros(len(atoms), bool)
    an[np.unique(par[rows])] = True
    u = ap.make_anisotropic(atoms, an)[0].aniso.copy()
    u[an, 0] *= 1.3
    shape = Energy(r, atoms, aba_h.cell, aba_h.spacegroup)
    heavy_only = shape.evaluate(atoms.xyz, b, ("adp",), u).terms["adp"]
    shape.set_riding(riding.riding_mask(), H_B_FACTOR)
    assert shape.evaluate(atoms.xyz, b, ("adp",), u).terms["adp"] < heavy_only
    shape.set_riding(None)                               # HYDROGEN FREE: their own B
    assert shape.evaluate(atoms.xyz, b, ("adp",), u).terms["adp"] == \
        pytest.approx(heavy_only, rel=1e-12)
