"""What the window draws, checked without OpenGL: bonds, colours, sticks, cell, contours."""

import io
import time

import gemmi
import numpy as np
import pytest

from mainpy.graphics import scene
from mainpy.graphics.contour import (
    chicken_wire,
    contour_box,
    level_value,
    map_statistics,
)
from mainpy.session import Session

TYR_BONDS = {("N", "CA"), ("CA", "C"), ("C", "O"), ("CA", "CB"), ("CB", "CG"), ("CG", "CD1"),
             ("CG", "CD2"), ("CD1", "CE1"), ("CD2", "CE2"), ("CE1", "CZ"), ("CE2", "CZ"),
             ("CZ", "OH")}


@pytest.fixture(scope="module")
def aba_topo(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run("define bond by topo")
    return s


def _topology_bonds(s):
    r = s.restraints
    return {tuple(sorted(map(int, p))) for p, sym in zip(r.bond_idx, r.bond_sym) if sym < 0}


def test_tyr5_bonds_are_the_topology(aba_topo):
    a = aba_topo.atoms
    bonds = scene.find_bonds(a)
    r5 = set(np.flatnonzero(a.resseq == 5).tolist())
    assert {a.resname[i] for i in r5} == {"TYR"}
    inside = [(i, j) for i, j in bonds.tolist() if i in r5 and j in r5]
    names = {tuple(sorted((a.name[i], a.name[j]))) for i, j in inside}
    assert len(inside) == 12
    assert names == {tuple(sorted(p)) for p in TYR_BONDS}
    topo5 = [p for p in _topology_bonds(aba_topo) if p[0] in r5 and p[1] in r5]
    assert len(inside) == len(topo5)
    # and the two peptide links C(4)-N(5), C(5)-N(6)
    links = [(a.name[i], a.name[j], a.resseq[i], a.resseq[j]) for i, j in bonds.tolist()
             if (i in r5) != (j in r5)]
    assert sorted(links) == sorted([("C", "N", 4, 5), ("C", "N", 5, 6)])


def test_all_bonds_equal_topology_for_restrained_residues(aba_topo):
    a = aba_topo.atoms
    dist = {tuple(p) for p in scene.find_bonds(a).tolist()}
    topo = _topology_bonds(aba_topo)
    assert len(topo) > 700
    assert topo <= dist
    # the ligand without a library dictionary (MES) is restrained to its input geometry
    # (bonds by covalent radii, as the window finds them): no bond is drawn but those
    assert dist - topo == set()


def _atoms(rows):
    """Atoms from (name, element, resseq, altloc, xyz) rows, one chain."""
    st = gemmi.Structure()
    st.add_model(gemmi.Model("1"))
    st[0].add_chain(gemmi.Chain("A"))
    ch = st[0][0]
    for name, el, seq, alt, xyz in rows:
        if len(ch) == 0 or ch[len(ch) - 1].seqid.num != seq:
            r = gemmi.Residue()
            r.name = "CYS" if name == "SG" else "LIG"
            r.seqid = gemmi.SeqId(seq, " ")
            ch.add_residue(r)
        res = ch[len(ch) - 1]
        at = gemmi.Atom()
        at.name, at.element, at.pos = name, gemmi.Element(el), gemmi.Position(*xyz)
        at.altloc = alt or "\0"
        at.occ = 1.0
        res.add_atom(at)
    from mainpy.model.atoms import from_structure
    return from_structure(st)


def test_altlocs_disulfide_and_metals():
    a = _atoms([
        ("C1", "C", 1, "", (0, 0, 0)),
        ("C2", "C", 1, "A", (1.5, 0, 0)),
        ("C2", "C", 1, "B", (1.5, 0.3, 0)),      # other conformer, 0.3 A from A: no bond
        ("ZN", "Zn", 1, "", (0, 2.0, 0)),       # metals are not bonded
        ("SG", "S", 5, "", (10, 0, 0)),
        ("SG", "S", 9, "", (12.04, 0, 0)),        # disulfide to a distant residue
    ])
    pairs = {tuple(p) for p in scene.find_bonds(a).tolist()}
    assert pairs == {(0, 1), (0, 2), (4, 5)}


def test_element_colours_and_sticks():
    c = scene.element_colors(np.array(["C", "N", "O", "S", "XX", "C"]))
    assert c.shape == (6, 4) and c.dtype == np.float32
    assert tuple(c[0, :3]) == pytest.approx(scene.ELEMENT_COLOR["C"])
    assert tuple(c[1, :3]) == pytest.approx(scene.ELEMENT_COLOR["N"])
    assert tuple(c[2, :3]) == pytest.approx(scene.ELEMENT_COLOR["O"])
    assert tuple(c[3, :3]) == pytest.approx(scene.ELEMENT_COLOR["S"])
    assert tuple(c[4, :3]) == pytest.approx(scene.DEFAULT_COLOR)
    assert (c[:, 3] == 1).all() and (c[0] == c[5]).all()
    # carbon yellow, nitrogen blue, oxygen red (as in Coot)
    assert c[0, 0] > 0.7 and c[0, 1] > 0.7 and c[0, 2] < 0.4
    assert c[1, 2] > 0.9 and c[1, 0] < 0.4
    assert c[2, 0] > 0.9 and c[2, 1] < 0.3
    xyz = np.array([[0, 0, 0], [2, 0, 0], [2, 2, 0]], float)
    bonds = np.array([[0, 1], [1, 2]])
    v = scene.stick_vertices(xyz, bonds)
    assert v.shape == (8, 3)
    np.testing.assert_allclose(v[:4], [[0, 0, 0], [1, 0, 0], [1, 0, 0], [2, 0, 0]])
    col = scene.stick_colors(c[:3], bonds)
    np.testing.assert_allclose(col[:4], [c[0], c[0], c[1], c[1]])
    np.testing.assert_allclose(col[4:], [c[1], c[1], c[2], c[2]])
    mask = np.array([True, True, False])
    assert scene.shown_bonds(bonds, mask).tolist() == [[0, 1]]


def test_cell_edges():
    cell = gemmi.UnitCell(30, 40, 50, 90, 100, 90)
    e = scene.cell_edges(cell).reshape(12, 2, 3)
    lengths = np.sort(np.linalg.norm(e[:, 1] - e[:, 0], axis=1))
    np.testing.assert_allclose(lengths, [30] * 4 + [40] * 4 + [50] * 4, atol=1e-4)


# ---------------------------------------------------------------------- contours

def blob_grid(cell, shape, centre_frac, sigma):
    """A Gaussian exp(-r^2 / 2 sigma^2) around a fractional position (wrapped)."""
    g = gemmi.FloatGrid(*shape)
    g.unit_cell = cell
    orth = np.array(cell.orth.mat.tolist())
    f = np.stack(np.meshgrid(*[np.arange(k) / k for k in shape], indexing="ij"), -1)
    d = f - np.asarray(centre_frac)
    d -= np.round(d)
    r2 = ((d @ orth.T) ** 2).sum(-1)
    np.asarray(g.array)[:] = np.exp(-r2 / (2 * sigma ** 2))
    return g


@pytest.mark.parametrize("cellp,shape,centre", [
    ((40, 40, 40, 90, 90, 90), (80, 80, 80), (0.5, 0.5, 0.5)),
    # monoclinic, the blob on the cell origin: the box is wrapped through the cell
    ((40, 45, 50, 90, 110, 90), (80, 90, 100), (0.0, 0.0, 0.02)),
])
def test_gaussian_blob_is_a_closed_sphere(cellp, shape, centre):
    cell = gemmi.UnitCell(*cellp)
    sigma, radius = 2.0, 3.0
    g = blob_grid(cell, shape, centre, sigma)
    value = np.exp(-radius ** 2 / (2 * sigma ** 2))
    mean, sd = map_statistics(g)
    level_sigma = (value - mean) / sd
    assert level_value(g, level_sigma) == pytest.approx(value)
    c = np.array(cell.orthogonalize(gemmi.Fractional(*centre)).tolist())
    verts, segs = contour_box(g, c, level_sigma)
    assert len(verts) > 300 and len(segs) == 2 * len(verts)
    d = np.linalg.norm(verts - c, axis=1)
    assert abs(d.mean() / radius - 1) < 0.02
    assert d.min() > 0.95 * radius and d.max() < 1.05 * radius
    # closed: every vertex (on a grid edge) joins the contours of the four squares
    # around its edge, and every segment joins two different vertices
    degree = np.bincount(segs.ravel(), minlength=len(verts))
    assert (degree == 4).all()
    assert (segs[:, 0] != segs[:, 1]).all()


def test_plane_through_a_ramp():
    # values = u: the level 2.5 is the plane u = 2.5; every square of the u-planes is
    # empty, the v- and w-plane squares each give one segment
    v = np.broadcast_to(np.arange(6, dtype=np.float32)[:, None, None], (6, 4, 5)).copy()
    verts, segs = chicken_wire(v, np.float32(2.5))
    np.testing.assert_allclose(verts[:, 0], 2.5)
    assert len(verts) == 4 * 5
    assert len(segs) == 3 * 5 + 4 * 4


def test_saddle_is_resolved_by_the_centre():
    # one square (u, v) with a saddle: two segments that do not cross
    v = np.zeros((2, 2, 1), np.float32)
    v[0, 0, 0] = v[1, 1, 0] = 1.0
    verts, segs = chicken_wire(v, np.float32(0.6))      # centre 0.5 < 0.6: corners cut off
    assert len(verts) == 4 and len(segs) == 2
    ends = [sorted(verts[s].tolist()) for s in segs]
    # each segment cuts off one inside corner: its ends are near that corner
    corners = {(0, 0), (1, 1)}
    for e in ends:
        mid = np.mean(e, axis=0)[:2]
        assert tuple(np.round(mid).astype(int)) in corners


def test_contour_20A_box_of_a_real_map_is_fast(make_session):
    s = make_session(with_map=True)
    grid = s.maps[1]
    c = s.atoms.xyz[s.atoms.resseq == 5].mean(axis=0)
    contour_box(grid, c, 1.0)                         # compiled, statistics cached
    times = []
    for _ in range(5):
        t = time.perf_counter()
        _, segs = contour_box(grid, c + np.random.default_rng(0).normal(0, 2, 3), 1.0)
        times.append(time.perf_counter() - t)
    assert len(segs) > 1000
    # the goal is 50 ms (bench/bench_graphics.py); the test allows a slow machine
    assert min(times) < 0.25, times
