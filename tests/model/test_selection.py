"""Selections on real structures give the counts that gemmi's own iteration gives."""

import io

import gemmi
import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.model import selection as S
from mainpy.model.atoms import from_structure
from mainpy.session import Session


@pytest.fixture
def d7m(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1d7m/1d7m.pdb')}")
    return s


@pytest.fixture
def aba(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    return s


def gemmi_count(path, pred):
    st = gemmi.read_structure(str(path))
    return sum(1 for ch in st[0] for res in ch for at in res if pred(ch, res, at))


def count(s, text):
    s.run(f"key tmp sele {text} end")
    return int(s.keys["tmp"].mask.sum())


def test_side_chains_of_charged_residues(d7m, data):
    n = count(d7m, "resi name ARG LYS ASP GLU .a .not atom name C N CA O")
    ref = gemmi_count(data("xtal/1d7m/1d7m.pdb"), lambda ch, r, a:
                      r.name in ("ARG", "LYS", "ASP", "GLU") and a.name not in ("C", "N", "CA", "O"))
    assert n == ref and n > 0


@pytest.mark.parametrize("text,pred", [
    ("all", lambda ch, r, a: True),
    ("none", lambda ch, r, a: False),
    ("atom name CA", lambda ch, r, a: a.name == "CA"),
    ("atom name C*", lambda ch, r, a: a.name.startswith("C")),
    ("atom name C%", lambda ch, r, a: len(a.name) == 2 and a.name[0] == "C"),
    ("atom elem S", lambda ch, r, a: a.element.name == "S"),
    ("resi numb 250 : 260 280", lambda ch, r, a: 250 <= r.seqid.num <= 260 or r.seqid.num == 280),
    ("segm name B", lambda ch, r, a: ch.name == "B"),
    ("temp 20 40 .or. occu 0 0.5", lambda ch, r, a: 20 <= a.b_iso <= 40 or a.occ <= 0.5),
    ("atom name CA .x. resi name ALA", lambda ch, r, a: (a.name == "CA") != (r.name == "ALA")),
    ("resi name HOH .o. atom name CA .a. segm name A",
     lambda ch, r, a: (r.name == "HOH" or a.name == "CA") and ch.name == "A"),
    ("resi name HOH .o. (atom name CA .a. segm name A)",
     lambda ch, r, a: r.name == "HOH" or (a.name == "CA" and ch.name == "A")),
    (".not. resi name HOH .and. .not atom name N", lambda ch, r, a: r.name != "HOH" and a.name != "N"),
])
def test_tags_and_operators_match_gemmi(d7m, data, text, pred):
    assert count(d7m, text) == gemmi_count(data("xtal/1d7m/1d7m.pdb"), pred)


def test_names_are_case_sensitive(d7m):
    assert count(d7m, "atom name CA") > 0
    assert count(d7m, "atom name ca") == 0
    assert count(d7m, "ATOM NAME CA") == count(d7m, "atom name CA")   # keywords are not


def test_by_residue_widens_to_whole_residues(aba, data):
    n = count(aba, "by resi (atom name SG)")
    ref = gemmi_count(data("xtal/1aba/1aba.pdb"),
                      lambda ch, r, a: any(x.name == "SG" for x in r))
    assert n == ref and n > count(aba, "atom name SG")


def test_altloc(aba, data):
    n = count(aba, "altl A")
    assert n == gemmi_count(data("xtal/1aba/1aba.pdb"), lambda ch, r, a: a.altloc == "A") > 0


def _brute_force_within(st, key_idx, radius):
    """Atoms within radius of key atoms over all symmetry images (independent of gemmi's
    neighbour search): fractional differences reduced to the nearest lattice vector."""
    atoms = from_structure(st)
    cell = st.cell
    frac = np.array([cell.fractionalize(gemmi.Position(*p)).tolist() for p in atoms.xyz])
    orth = np.array(cell.orth.mat.tolist())
    sg = st.find_spacegroup()
    out = np.zeros(len(atoms), bool)
    for op in sg.operations():
        rot = np.array(op.rot, float) / op.DEN
        tran = np.array(op.tran, float) / op.DEN
        images = frac[key_idx] @ rot.T + tran
        for im in images:
            d = frac - im
            d -= np.round(d)
            out |= np.linalg.norm(d @ orth.T, axis=1) <= radius
    return out


@pytest.mark.parametrize("path,resi", [("xtal/1aba/1aba.pdb", 10), ("xtal/1d7m/1d7m.pdb", 250)])
def test_around_through_symmetry_matches_brute_force(data, path, resi):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data(path)}")
    s.run(f"key res_a sele resi numb {resi} .and. segm name A end")
    mask = s.select(S.Around("res_a", 5.0))
    st = gemmi.read_structure(str(data(path)))
    ref = _brute_force_within(st, np.flatnonzero(s.keys["res_a"].mask), 5.0)
    assert mask.sum() == ref.sum() and (mask == ref).all()
    # and symmetry matters somewhere: without mates fewer atoms are near a surface residue
    assert count(s, "around key res_a dist 5") == int(ref.sum())


def test_symmetry_mates_are_found(aba):
    # water molecules contact symmetry-related protein: P1 brute force would miss them
    s = aba
    s.run("key w sele resi name HOH end")
    xyz = s.atoms.xyz
    near_sym = s.select(S.Around("w", 3.2))
    # atoms within 3.2 A of waters without symmetry
    w = s.keys["w"].mask
    d = np.linalg.norm(xyz[:, None, :] - xyz[None, w, :], axis=2).min(axis=1)
    assert near_sym.sum() > (d <= 3.2).sum()


def test_key_named_as_a_word_is_refused_and_unknown_key_is_an_error(aba):
    # a key named ALL would make every `sele all end` select only its atoms (issue 15:
    # keys named like selection words were accepted and then unusable)
    with pytest.raises(LangError, match="cannot be named 'all'"):
        aba.run("key all sele resi name HOH end")
    with pytest.raises(LangError) as e:
        aba.run("show sele nosuchkey end")
    assert "nosuchkey" in e.value.message


def test_python_api_builds_trees_directly(aba):
    mask = aba.select(S.BinOp("and", S.Names("resname", ("CYS",)), S.Names("name", ("SG",))))
    assert mask.sum() == 2
