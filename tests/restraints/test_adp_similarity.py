"""The relative B similarity of neighbours (mainpy.restraints.adp_similarity): its pairs
against gemmi's neighbour search, its value against the formula, its gradient against
central differences, and what it does to a refinement's B-values."""

import gemmi
import numpy as np
import pytest
from restraint_helpers import central_difference

from mainpy.restraints import adp_similarity as ks


def _graph_distance(bonds, n):
    """{(i, j): 1, 2 or 3} by walks along the bonds; a pair joined by two 3-bond paths
    (across a six-membered ring) counts as 2, as the contact rules have it."""
    nbr = [[] for _ in range(n)]
    for a, b in bonds:
        nbr[a].append(b)
        nbr[b].append(a)
    dist, paths3 = {}, {}
    for i in range(n):
        for j in nbr[i]:
            dist[(i, j)] = 1
            for k in nbr[j]:
                if k == i:
                    continue
                dist.setdefault((i, k), 2)
                for m in nbr[k]:
                    if m not in (i, j):
                        paths3[(i, m)] = paths3.get((i, m), 0) + 1
    for key, c in paths3.items():
        if key not in dist and key[0] != key[1]:
            dist[key] = 2 if c >= 2 else 3
    return dist


def test_pairs_match_neighbour_search(aba):
    """Every pair within 4 A (symmetry mates too) once, with the sigma of how it is joined
    and the distance damping, against gemmi.NeighborSearch and the bond graph."""
    en = aba.energy()
    st = aba.st
    pairs, w = ks.kl_pairs(en.nonbonded, aba.atoms.xyz, en.hydrogen)
    got = {tuple(p): x for p, x in zip(pairs.tolist(), w)}
    assert len(got) == len(pairs)                      # each pair once
    serial = {}
    for n, (ch, res, at) in enumerate((ch, res, at) for ch in st[0] for res in ch
                                      for at in res):
        serial[(ch.name, res.seqid.num, res.seqid.icode, at.name, at.altloc)] = n
    assert len(serial) == len(aba.atoms)
    local = en.r.bond_sym < 0
    dist = _graph_distance(en.r.bond_idx[local].tolist(), len(aba.atoms))
    ns = gemmi.NeighborSearch(st[0], st.cell, 5).populate()
    want = {}
    for ch in st[0]:
        for res in ch:
            for at in res:
                i = serial[(ch.name, res.seqid.num, res.seqid.icode, at.name, at.altloc)]
                for m in ns.find_atoms(at.pos, "\0", radius=ks.MAX_DIST):
                    cra = m.to_cra(st[0])
                    j = serial[(cra.chain.name, cra.residue.seqid.num, cra.residue.seqid.icode,
                                cra.atom.name, cra.atom.altloc)]
                    if i == j:
                        continue
                    d2 = st.cell.find_nearest_image(at.pos, cra.atom.pos,
                                                    gemmi.Asu.Any).dist() ** 2
                    if d2 > ks.MAX_DIST ** 2:
                        continue
                    key = (min(i, j), max(i, j))
                    kind = dist.get(key, 0)
                    s = {1: 0.10, 2: 0.15, 3: 0.30}.get(kind, 0.70)
                    want[key] = max(want.get(key, 0.0), 1 / (s * s * max(1.0, d2 / 4)))
    # the nearest image only: pairs that meet closer through another image keep that weight
    assert set(got) == set(want)
    keys = sorted(want)
    assert np.allclose([got[k] for k in keys], [want[k] for k in keys], rtol=1e-9)
    assert 5 < len(pairs) / len(aba.atoms) < 8        # ~6 pairs per atom on 1aba


def test_value_and_gradient(aba):
    en = aba.energy()
    rng = np.random.default_rng(4)
    b = aba.atoms.b + rng.normal(0, 3.0, len(aba.atoms))
    res = en.evaluate(aba.atoms.xyz, b, terms=["adp"])
    pairs, w = en._kl
    c = b + ks.B_ATOM
    expect = np.sum(w * (b[pairs[:, 0]] - b[pairs[:, 1]]) ** 2
                    / (c[pairs[:, 0]] * c[pairs[:, 1]]))
    assert res.terms["adp"] == pytest.approx(expect, rel=1e-10)
    assert res.counts["adp"] == len(pairs)
    rows = sorted(rng.choice(len(b), 40, replace=False))
    fd = central_difference(lambda x: en.evaluate(aba.atoms.xyz, x, terms=["adp"]).total,
                            b, rows, h=1e-4)
    g = res.grad_b[rows]
    assert np.max(np.abs(fd - g) / np.maximum(np.abs(g), 1)) < 1e-6


def test_relative_difference():
    """The same B difference costs less between mobile atoms than between buried ones,
    and B_ATOM keeps very low B-values from being held tighter than it."""
    pairs = np.array([[0, 1], [2, 3], [4, 5]])
    w = np.ones(3)
    b = np.array([10.0, 15.0, 60.0, 65.0, 0.5, 5.5])
    for k in range(3):
        one = np.zeros(3)
        one[k] = 1.0
        e = ks.kl_energy(b, pairs, one, np.zeros(6))
        assert e == pytest.approx(25.0 / ((b[2 * k] + ks.B_ATOM) * (b[2 * k + 1] + ks.B_ATOM)))
    e_buried = ks.kl_energy(b, pairs[:1], w[:1], np.zeros(6))
    e_mobile = ks.kl_energy(b, pairs[1:2], w[:1], np.zeros(6))
    e_low = ks.kl_energy(b, pairs[2:], w[:1], np.zeros(6))
    assert e_mobile < e_buried / 5
    assert e_low < 4 * e_buried
    bare = ks.kl_energy(b, pairs[2:], w[:1], np.zeros(6), b_atom=0.0) \
        / ks.kl_energy(b, pairs[:1], w[:1], np.zeros(6), b_atom=0.0)
    assert bare > 50          # the displacements alone: 55 times as tight
