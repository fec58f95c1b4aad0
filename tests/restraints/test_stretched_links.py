"""Polymer links stretched beyond gemmi's 2 A heuristic are restrained all the same
(mainpy.restraints.stretched_links), real chain breaks are not."""

import gemmi
import numpy as np
import pytest

from mainpy.restraints import stretched_links
from mainpy.restraints.monlib import load_monlib
from mainpy.restraints.topology import build_restraints


def _load(data, monlib_dir, path):
    st = gemmi.read_structure(str(data(path)))
    st.remove_hydrogens()
    return st, load_monlib(st[0].get_all_residue_names(), monlib_dir)


def _pull(st, chain, k, by: float, link=("C", "N")):
    """Move residue k of the chain (and every residue after it) along the link from
    residue k - 1 so that their link atoms are ``by`` A farther apart: one stretched link,
    the rest of the chain intact."""
    ch = st[0][chain]
    a, b = ch[k - 1].find_atom(link[0], "*").pos, ch[k].find_atom(link[1], "*").pos
    u = (b - a) / a.dist(b)
    shift = gemmi.Position(u.x * by, u.y * by, u.z * by)
    for j in range(k, len(ch)):
        for at in ch[j]:
            at.pos = at.pos + shift
    return ch[k - 1], ch[k]


def _counts(r):
    return (len(r.bond_idx), len(r.angle_idx), len(r.tors_idx), len(r.plane_start) - 1,
            len(r.chir_idx) if hasattr(r, "chir_idx") else 0)


def _has_bond(r, i, j) -> bool:
    return any({int(x), int(y)} == {i, j} for x, y in r.bond_idx)


def _row(st, res, name):
    i = 0
    for ch in st[0]:
        for rr in ch:
            for at in rr:
                if rr.seqid == res.seqid and rr.name == res.name and at.name == name:
                    return i
                i += 1
    raise KeyError(name)


@pytest.mark.parametrize("case,path,chain,pick,link", [
    ("1aba", "xtal/1aba/1aba.pdb", "A", "GLY", ("C", "N")),
    ("1aba-pro", "xtal/1aba/1aba.pdb", "A", "PRO", ("C", "N")),
    ("1ehz", "xtal/1ehz/1ehz.pdb", "A", None, ("O3'", "P")),
])
def test_a_stretched_link_keeps_its_restraints(data, monlib_dir, case, path, chain, pick,
                                              link):
    """A link pulled to 1.0 A beyond its length: gemmi alone leaves a gap; mainpy's
    restraints are the same as those of the model as deposited (the same link chosen:
    PTRANS before a proline, p between nucleotides), the link bond at its ideal length."""
    st, lib = _load(data, monlib_dir, path)
    ch = st[0][chain]
    k = next(j for j in range(5, len(ch) - 5)
             if (pick is None or ch[j].name == pick)
             and ch[j].seqid.num == ch[j - 1].seqid.num + 1
             and ch[j - 1].find_atom(link[0], "*") and ch[j].find_atom(link[1], "*"))
    before = build_restraints(st, lib)
    a, b = _pull(st, chain, k, 1.0, link)
    d = a.find_atom(link[0], "*").pos.dist(b.find_atom(link[1], "*").pos)
    assert 2.2 < d < 2.8

    raw = st.clone()
    raw.setup_entities()
    topo = gemmi.prepare_topology(raw, lib.monlib, model_index=0,
                                  h_change=gemmi.HydrogenChange.NoChange, reorder=False,
                                  ignore_unknown_links=True)
    assert len(stretched_links.gap_pairs(topo)) >= 1     # gemmi alone: a gap here
    del topo

    after = build_restraints(st, lib)
    assert _counts(after) == _counts(before)
    i, j = _row(st, a, link[0]), _row(st, b, link[1])
    assert _has_bond(after, i, j)
    k_bond = next(n for n, (x, y) in enumerate(after.bond_idx) if {int(x), int(y)} == {i, j})
    assert after.bond_ideal[k_bond] == pytest.approx(1.33 if link[0] == "C" else 1.6,
                                                     abs=0.03)
    assert any("1 polymer link restrained although stretched" in m
               for m in after.messages)
    assert len(st.connections) == len(gemmi.read_structure(str(data(path))).connections)


def test_a_chain_break_stays_a_break(data, monlib_dir):
    """A residue taken out of the chain (the numbering jumps): the residues on either side
    are not linked, however close; and a pair numbered consecutively but 5 A apart is
    not linked either."""
    st, lib = _load(data, monlib_dir, "xtal/1aba/1aba.pdb")
    ch = st[0]["A"]
    k = 20
    gone = ch[k].seqid.num
    del ch[k]
    r = build_restraints(st, lib)
    assert not any("stretched" in m for m in r.messages)
    i, j = _row(st, ch[k - 1], "C"), _row(st, ch[k], "N")
    assert ch[k].seqid.num == gone + 1 and not _has_bond(r, i, j)

    st, lib = _load(data, monlib_dir, "xtal/1aba/1aba.pdb")
    a, b = _pull(st, "A", 30, 3.8)
    assert a.find_atom("C", "*").pos.dist(b.find_atom("N", "*").pos) > \
        stretched_links.MAX_STRETCH
    r = build_restraints(st, lib)
    assert not _has_bond(r, _row(st, a, "C"), _row(st, b, "N"))


def test_hydrogens_of_a_stretched_link_are_those_of_a_linked_nitrogen(data, monlib_dir,
                                                                      tmp_path):
    """HYDROGEN ADD on a model with a stretched peptide bond: the N gets its one H, not the
    three of an N-terminus, and no link record is left in the model."""
    from mainpy.session import Session
    st, _ = _load(data, monlib_dir, "xtal/1aba/1aba.pdb")
    a, b = _pull(st, "A", 40, 1.0)
    st.setup_entities()
    st.write_pdb(str(tmp_path / "pulled.pdb"))
    counts = []
    for f in (str(data("xtal/1aba/1aba.pdb")), str(tmp_path / "pulled.pdb")):
        s = Session(verbose=0)
        s.run(f"read mono {monlib_dir}; read coor file {f}; hydrogen remove; hydrogen add")
        atoms = s.atoms
        counts.append(int(np.isin(atoms.element, ["H", "D"]).sum()))
        assert len(s.model.synced_structure().connections) == \
            len(gemmi.read_structure(f).connections)
    assert counts[0] == counts[1] > 700
