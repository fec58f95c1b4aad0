"""Local NCS restraints: copies found by sequence, the energy's gradient against finite
differences, real differences left free, and the term through ENER on 1d7m's two chains."""

import io

import gemmi
import numpy as np
import pytest

from mainpy.model.atoms import from_structure
from mainpy.restraints import ncs
from mainpy.session import Session


@pytest.fixture(scope="module")
def d7m(data):
    return from_structure(gemmi.read_structure(str(data("xtal/1d7m/1d7m.pdb"))))


def test_copies_found_by_sequence(d7m, data):
    assert ncs.find_copies(d7m) == [["A", "B"]]
    aba = from_structure(gemmi.read_structure(str(data("xtal/1aba/1aba.pdb"))))
    assert ncs.find_copies(aba) == [] and ncs.build(aba) is None
    r = ncs.build(d7m)
    assert r.groups == [(("A", "B"), 811)]
    # every pair joins atoms of A to the same atoms of B, within the cutoff in A
    a, b = r.ij, r.kl
    assert (d7m.chain[a] == "A").all() and (d7m.chain[b] == "B").all()
    assert (d7m.name[a] == d7m.name[b]).all() and (d7m.resseq[a] == d7m.resseq[b]).all()
    da = np.linalg.norm(d7m.xyz[a[:, 0]] - d7m.xyz[a[:, 1]], axis=1)
    db = np.linalg.norm(d7m.xyz[b[:, 0]] - d7m.xyz[b[:, 1]], axis=1)
    assert da.max() <= ncs.CUTOFF and np.abs(da - db).max() <= ncs.MAX_DIFF


def test_real_differences_are_left_free(d7m):
    """A residue of B moved by 2 A: the pairs whose distances now differ by more than
    MAX_DIFF between the copies are not restrained; all the others still are."""
    moved = d7m.xyz.copy()
    res = (d7m.chain == "B") & (d7m.resseq == 300)
    moved[res] += [2.0, 0.0, 0.0]
    r = ncs.build(d7m.replace(xyz=moved))
    full = ncs.build(d7m)

    def diff(rr):
        da = np.linalg.norm(moved[rr.ij[:, 0]] - moved[rr.ij[:, 1]], axis=1)
        db = np.linalg.norm(moved[rr.kl[:, 0]] - moved[rr.kl[:, 1]], axis=1)
        return np.abs(da - db)

    big = diff(full) > ncs.MAX_DIFF
    assert big.sum() > 10 and len(r) == len(full) - big.sum()
    assert diff(r).max() <= ncs.MAX_DIFF


def test_energy_gradient_matches_finite_differences(d7m):
    r = ncs.build(d7m)
    rng = np.random.default_rng(3)
    xyz = d7m.xyz + rng.normal(0, 0.1, d7m.xyz.shape)
    e, g = ncs.energy(xyz, r)
    d = [np.linalg.norm(xyz[p[:, 0]] - xyz[p[:, 1]], axis=1) for p in (r.ij, r.kl)]
    assert e == pytest.approx(r.w * np.sum((d[0] - d[1]) ** 2), rel=1e-12)   # definition
    assert e > 0
    h = 1e-6
    for i in rng.choice(np.unique(np.concatenate([r.ij.ravel(), r.kl.ravel()])), 8):
        for k in range(3):
            xp, xm = xyz.copy(), xyz.copy()
            xp[i, k] += h
            xm[i, k] -= h
            fd = (ncs.energy(xp, r)[0] - ncs.energy(xm, r)[0]) / (2 * h)
            assert abs(fd - g[i, k]) <= 1e-5 * max(1.0, abs(fd))


def test_ncs_term_through_the_language(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1d7m/1d7m.pdb')}")
    s.run("define bond angle dihe impr by topo")
    assert ("NCS: copies A ~ B (811 atoms): 5076 local distances found, not restrained "
            "(ener ncs on restrains them)") in s.out.getvalue()
    s.out = io.StringIO()
    s.run("show ener")
    assert " ncs        off       1    5076         0.00" in s.out.getvalue()   # by default
    s.run("ener ncs on")
    s.out = io.StringIO()
    s.run("show ener")
    row = next(x for x in s.out.getvalue().splitlines() if x.startswith(" ncs"))
    assert row.split()[1] == "on" and float(row.split()[-1]) > 0


def test_copies_numbered_apart_found_by_alignment(data):
    """Chain B renumbered by +1000 with three residues taken out is still A's copy: the
    aligned residues pair A's residue r with B's r + 1000; a B whose atoms are scattered
    (same sequence, no common structure) is no copy."""
    st = gemmi.read_structure(str(data("xtal/1d7m/1d7m.pdb")))
    chain = next(ch for ch in st[0] if ch.name == "B")
    for k in range(len(chain) - 1, -1, -1):
        if chain[k].seqid.num in (260, 261, 300):
            del chain[k]
    for res in chain:
        res.seqid = gemmi.SeqId(res.seqid.num + 1000, res.seqid.icode)
    a = from_structure(st)
    assert ncs.find_copies(a) == [["A", "B"]]
    ia, ib = ncs._matched(a, "A", "B")
    assert len(ia) > 750 and (a.resseq[ib] == a.resseq[ia] + 1000).all()
    assert (a.name[ia] == a.name[ib]).all()
    keep = a.resname != "HOH"
    keys = ncs.residue_pairs(ncs._sequence(a, "A", keep), ncs._sequence(a, "B", keep))
    rmsd = ncs.ca_rmsd(a, "A", "B", keys)
    ca = {(str(a.chain[i]), int(a.resseq[i])): i for i in np.flatnonzero(a.name == "CA")}
    both = [(ca["A", x[0]], ca["B", y[0]]) for x, y in keys if ("A", x[0]) in ca
            and ("B", y[0]) in ca]
    sup = gemmi.superpose_positions([gemmi.Position(*a.xyz[i]) for i, _ in both],
                                    [gemmi.Position(*a.xyz[j]) for _, j in both])
    assert rmsd == pytest.approx(sup.rmsd, abs=1e-6) and rmsd < ncs.MAX_CA_RMSD
    rng = np.random.default_rng(0)
    xyz = a.xyz.copy()
    bb = a.chain == "B"
    xyz[bb] = xyz[bb][rng.permutation(int(bb.sum()))]
    assert ncs.find_copies(a.replace(xyz=xyz)) == []
