"""Non-bonded contacts: the pair search against gemmi's ContactSearch, Refmac target
distances, symmetry contacts and their gradients, and the Verlet-list rebuild."""

import collections

import gemmi
import numpy as np
import pytest
from restraint_helpers import central_difference, reference_pair_list, shaken

from mainpy.restraints._cells import cell_pairs
from mainpy.restraints.nonbonded import NonbondedList, symmetry_images, symmetry_ops

CUT = 4.6


def _all_pairs(case, cutoff):
    """Every contact within cutoff found by our cell list (before any exclusion)."""
    xyz = case.atoms.xyz
    n = len(xyz)
    fops = symmetry_ops(case.st.cell, case.st.find_spacegroup())
    ops, keep_self, members = symmetry_images(xyz, case.st.cell, fops, cutoff)
    pts, src, img = [xyz], [np.arange(n)], [np.full(n, -1)]
    for s, m in enumerate(members):
        pts.append(xyz[m] @ ops[s, :, :3].T + ops[s, :, 3])
        src.append(m)
        img.append(np.full(len(m), s))
    pi, pj, ps, pw = cell_pairs(xyz, np.concatenate(pts), np.concatenate(src),
                                np.concatenate(img), keep_self, cutoff, 0.0)
    xj = xyz[pj].copy()
    s = ps >= 0
    xj[s] = np.einsum("kab,kb->ka", ops[ps[s], :, :3], xj[s]) + ops[ps[s], :, 3]
    d = np.linalg.norm(xyz[pi] - xj, axis=1)
    return pi, pj, ps, pw, d


def test_pair_search_matches_gemmi_contact_search(any_case):
    """Same contacts (atoms and distance) as gemmi.ContactSearch with symmetry, except
    gemmi's omission of pairs from different altlocs; an atom's contact with its own
    image under a two-fold is weighted 1/2 (gemmi counts it once)."""
    pi, pj, ps, pw, d = _all_pairs(any_case, CUT)
    alt = any_case.atoms.altloc
    mine = collections.Counter()
    for i, j, w, dist in zip(pi, pj, pw, d):
        if (alt[i] and alt[j] and alt[i] != alt[j]) or dist == 0:
            continue
        mine[(int(i), int(j), round(float(dist), 3))] += 2 * w if i == j else w
    st = any_case.st.clone()
    for k, cra in enumerate(st[0].all()):
        cra.atom.serial = k
    ns = gemmi.NeighborSearch(st[0], st.cell, 5).populate()
    cs = gemmi.ContactSearch(CUT)
    cs.ignore = gemmi.ContactSearch.Ignore.Nothing
    cs.special_pos_cutoff_sq = 0.0
    theirs = collections.Counter()
    for c in cs.find_contacts(ns):
        i, j = c.partner1.atom.serial, c.partner2.atom.serial
        if c.dist > 0:
            theirs[(min(i, j), max(i, j), round(c.dist, 3))] += 1
    assert sum(theirs.values()) > 5000
    assert mine == theirs
    assert (ps >= 0).sum() > 300  # symmetry contacts are there


def test_targets_follow_refmac_rules(aba):
    """1-2/1-3 excluded; 1-4 reduced per element; N/O H-bond pairs reduced by 0.3."""
    en = aba.energy()
    nb = en.nonbonded
    nb.build(aba.atoms.xyz)
    a = aba.atoms
    ener = aba.lib.monlib.ener_lib.atoms
    r = en.r
    bonded = {frozenset(map(int, p)) for p in r.bond_idx}
    angle_ends = {frozenset((int(i), int(k))) for i, _, k in r.angle_idx}
    radius = {}
    for k, t in enumerate(r.chem_type):
        lib = ener[t]
        radius[k] = min(2.0, lib.vdwh_radius if np.isfinite(lib.vdwh_radius)
                        else lib.vdw_radius)
    seen = collections.Counter()
    for (i, j), s, d0, kind in zip(nb.pairs, nb.img, nb.d0, nb.kind):
        i, j = int(i), int(j)
        if s < 0:
            assert frozenset((i, j)) not in bonded and frozenset((i, j)) not in angle_ends
        hb = {ener[r.chem_type[i]].hb_type, ener[r.chem_type[j]].hb_type}
        if kind % 6 == 1:
            assert d0 == pytest.approx(radius[i] + radius[j], abs=1e-12)
        elif kind % 6 == 3:
            assert hb & {"A", "B"} and hb & {"D", "B"}
            assert d0 == pytest.approx(radius[i] + radius[j] - 0.3, abs=1e-12)
        elif kind == 2:
            inc = {"N": -0.1, "O": -0.1}
            expect = radius[i] + radius[j] + inc.get(a.element[i], -0.15) \
                + inc.get(a.element[j], -0.15)
            assert d0 == pytest.approx(expect, abs=1e-12)
        seen[kind] += 1
        # different conformers never interact
        assert not (a.altloc[i] and a.altloc[j] and a.altloc[i] != a.altloc[j])
    assert seen[1] > 500 and seen[2] > 300 and seen[3] > 100 and seen[7] > 50
    # para atoms of a six-membered ring are not pushed apart as 1-4 pairs
    phe = np.flatnonzero(a.resname == "PHE")
    cg = next(i for i in phe if a.name[i] == "CG")
    cz = next(i for i in phe if a.name[i] == "CZ"
              and a.residue_index[i] == a.residue_index[cg])
    assert not any({int(p[0]), int(p[1])} == {cg, cz} for p in nb.pairs)


def test_symmetry_contact_gradients_1d7m(d7m):
    """C2221 contacts, including atoms touching their own image across a two-fold:
    finite differences of the whole crystal's energy per asymmetric unit."""
    en = d7m.energy()
    xyz = shaken(d7m.atoms.xyz, 0.2, seed=3)
    nb = en.nonbonded
    nb.build(xyz)
    res = en.evaluate(xyz, terms=["nonbonded"])
    sym = nb.img >= 0
    self_pairs = sym & (nb.pairs[:, 0] == nb.pairs[:, 1])
    assert self_pairs.sum() >= 2 and np.any(nb.w[self_pairs] == 0.5 / 0.2 ** 2)
    xj = xyz[nb.pairs[:, 1]].copy()
    o = nb.ops[nb.img[sym]]
    xj[sym] = np.einsum("kab,kb->ka", o[:, :, :3], xj[sym]) + o[:, :, 3]
    clash = np.linalg.norm(xyz[nb.pairs[:, 0]] - xj, axis=1) < nb.d0
    rows = sorted(set(nb.pairs[sym & clash].ravel().tolist()))
    assert len(rows) >= 10
    f = lambda x: en.evaluate(x, terms=["nonbonded"]).total
    fd = central_difference(f, xyz, rows, h=1e-5)
    an = res.grad[rows]
    err = np.max(np.linalg.norm(fd - an, axis=1) / np.maximum(np.linalg.norm(an, axis=1), 1))
    assert err < 1e-4
    assert nb.n_builds == 1


def test_verlet_list_rebuild(aba):
    """Energy from the kept list equals a fresh build while atoms move < skin/2, and the
    list is rebuilt once they move further."""
    en = aba.energy()
    nb = en.nonbonded
    xyz0 = aba.atoms.xyz
    e0 = en.evaluate(xyz0, terms=["nonbonded"]).total
    assert nb.n_builds == 1
    rng = np.random.default_rng(7)
    step = rng.normal(size=xyz0.shape)
    step *= 0.29 / np.linalg.norm(step, axis=1).max()  # every atom < skin/2 = 0.3
    e1 = en.evaluate(xyz0 + step, terms=["nonbonded"]).total
    assert nb.n_builds == 1
    fresh = NonbondedList(en.r, aba.atoms, aba.st.cell, aba.st.find_spacegroup())
    fresh.build(xyz0 + step)
    from mainpy.restraints.terms import nonbonded_energy
    e1_fresh = nonbonded_energy(xyz0 + step, fresh.pairs, fresh.img, fresh.d0, fresh.w,
                                fresh.ops, np.zeros_like(xyz0))
    assert e1 == pytest.approx(e1_fresh, rel=1e-12)
    assert e1 != pytest.approx(e0, rel=1e-3)
    en.evaluate(xyz0 + 2.5 * step, terms=["nonbonded"])
    assert nb.n_builds == 2


def test_occupancy_rule(aba):
    """Outside one residue's conformer, pairs with occupancies summing to <= 1 are not
    restrained (Refmac): halving every water's occupancy drops water-water contacts."""
    en = aba.energy()
    a = aba.atoms
    en.nonbonded.build(a.xyz)
    water = a.resname == "HOH"
    ww = lambda nb: int(np.sum(water[nb.pairs[:, 0]] & water[nb.pairs[:, 1]]))
    before = ww(en.nonbonded)
    assert before > 10
    en.update_occupancies(np.where(water, 0.5, a.occ))
    en.evaluate(a.xyz, terms=["nonbonded"])
    assert en.nonbonded.n_builds == 2 and ww(en.nonbonded) == 0


def test_build_matches_numpy_reference(any_case):
    """The one-pass numba build (search, rules, targets, skin) keeps exactly the pairs of
    the plain numpy route (restraint_helpers.reference_pair_list), in the same order,
    with the same targets, kinds and weights; also after an occupancy change."""
    en = any_case.energy()
    nb = en.nonbonded
    xyz = shaken(any_case.atoms.xyz, 0.2, seed=9)
    for occ in (None, np.where(any_case.atoms.resname == "HOH", 0.5, any_case.atoms.occ)):
        if occ is not None:
            en.update_occupancies(occ)
        nb.build(xyz)
        pairs, img, d0, kind, w = reference_pair_list(nb, xyz)
        assert len(pairs) > 3000
        assert np.array_equal(nb.pairs, pairs)
        assert np.array_equal(nb.img, img)
        assert np.array_equal(nb.kind, kind)
        assert np.allclose(nb.d0, d0, rtol=0, atol=1e-12)
        assert np.allclose(nb.w, w, rtol=0, atol=1e-12)
    assert set(np.unique(nb.kind)) >= {1, 2, 3}
    # blocks of atoms whose contacts overflow their buffer are searched again: the same
    nb.per_atom = 1
    nb.build(xyz)
    assert np.array_equal(nb.pairs, pairs) and np.array_equal(nb.img, img)
    assert np.array_equal(nb.kind, kind) and np.array_equal(nb.d0, d0)


@pytest.mark.parametrize("path", ["xtal/1ehz/1ehz.pdb", "xtal/2uui/2uui.pdb"])
def test_build_matches_reference_metals_and_symmetry_bonds(data, path):
    """Metal contacts (1ehz's Mg, 2uui's F 2 3 with its 48 operations) and a bond through
    symmetry, which removes that contact: the same list as the numpy route."""
    from mainpy.model.atoms import from_structure
    from mainpy.restraints.energy import Energy
    from mainpy.restraints.monlib import load_monlib
    from mainpy.restraints.topology import build_restraints
    st = gemmi.read_structure(str(data(path)))
    atoms = from_structure(st)
    lib = load_monlib(st[0].get_all_residue_names(), data("monomers"))
    en = Energy(build_restraints(st, lib), atoms, st.cell, st.find_spacegroup())
    nb = en.nonbonded
    nb.build(atoms.xyz)
    assert (nb.kind == 4).sum() + (nb.kind == 10).sum() > 0
    sym = np.flatnonzero(nb.img >= 0)
    assert len(sym) > 40
    n_before = len(nb.img)
    # pretend two image contacts are bonds across the crystal
    for k in sym[[0, len(sym) // 2]]:
        a, b = int(nb.pairs[k, 0]), int(nb.pairs[k, 1])
        nb.sym_bonded.add((min(a, b), max(a, b)))
    nb._atom_tables()
    nb.build(atoms.xyz)
    assert len(nb.img) <= n_before - 2
    pairs, img, d0, kind, w = reference_pair_list(nb, atoms.xyz)
    assert np.array_equal(nb.pairs, pairs) and np.array_equal(nb.img, img)
    assert np.array_equal(nb.kind, kind)
    assert np.allclose(nb.d0, d0, rtol=0, atol=1e-12)
    assert np.allclose(nb.w, w, rtol=0, atol=1e-12)
    gone = {(min(a, b), max(a, b)) for (a, b), s in zip(nb.pairs.tolist(), nb.img) if s >= 0}
    assert not (gone & nb.sym_bonded)


def test_image_members_match_numpy_every_shift():
    """The parallel block search of symmetry copies finds, for every lattice shift, the
    atoms numpy finds by testing that shift (10,000 atoms: several blocks)."""
    import itertools

    from mainpy.restraints._cells import image_members
    rng = np.random.default_rng(12)
    f = np.ascontiguousarray(rng.uniform([0.1, -0.2, 0.3], [0.9, 0.5, 1.4], (10000, 3)))
    lo, hi = f.min(0) - 0.15, f.max(0) + 0.15
    for rf, tf in ((np.array([[0., -1, 0], [1, -1, 0], [0, 0, 1]]), np.array([0, 0, 1 / 3])),
                   (np.array([[-1., 0, 0], [0, 1, 0], [0, 0, -1]]), np.array([0.5, 0.5, 0]))):
        lmin, lmax, start, flat = image_members(f, rf, tf, lo, hi)
        fk = f @ rf.T + tf
        assert np.array_equal(lmin, np.ceil(lo - fk.max(0)).astype(int))
        assert np.array_equal(lmax, np.floor(hi - fk.min(0)).astype(int))
        shifts = list(itertools.product(*(range(a, b + 1) for a, b in zip(lmin, lmax))))
        assert len(start) == len(shifts) + 1
        found = 0
        for k, shift in enumerate(shifts):
            g = fk + np.array(shift)
            expect = np.flatnonzero(np.all((g >= lo) & (g <= hi), axis=1))
            assert np.array_equal(flat[start[k]:start[k + 1]], expect), shift
            found += len(expect)
        assert found > 10000
