"""Dictionaries made from the model for residues without one (issue 18): what they hold,
that gemmi reads them back, the group that links them, the bonds found by distance
(metal ions, residues joined to their neighbours), and AceDRG's path with its fallback."""

import itertools
import stat

import gemmi
import numpy as np
import pytest

from mainpy.model.atoms import from_structure
from mainpy.restraints import acedrg
from mainpy.restraints import from_coordinates as fc
from mainpy.restraints.monlib import load_monlib, with_generated
from mainpy.restraints.topology import build_restraints

MODIFIED = "1MA 2MG 5MC 5MU 7MG H2U M2G OMC OMG PSU YYG".split()
_st = {}


def structure(data, key):
    path = {"2uui": "xtal/2uui/2uui.pdb", "1byz": "xtal/1byz/1byz.pdb",
            "1ehz": "xtal/1ehz/1ehz.pdb", "1aba": "xtal/1aba/1aba.pdb"}[key]
    if key not in _st:
        _st[key] = gemmi.read_structure(str(data(path)))
    return _st[key].clone()


def generated(st, data, use_acedrg=False):
    lib = load_monlib(st[0].get_all_residue_names(), data("monomers"))
    return with_generated(lib, st, use_acedrg=use_acedrg)


def instances(st, name):
    return [r for ch in st[0] for r in ch if r.name == name]


def heavy_pairs_below(res, cutoff=1.95):
    """The independent bond rule of the shared ruler (ligand_bonds.py): non-H atoms of one
    conformer closer than 1.95 A."""
    conf = {a.name: a for a in res if a.altloc in ("\0", "A") and not a.is_hydrogen()}
    return {frozenset((a, b)) for a, b in itertools.combinations(conf, 2)
            if conf[a].pos.dist(conf[b].pos) < cutoff}


# ---------------------------------------------------------------- the dictionary itself

@pytest.mark.parametrize("key,name", [("2uui", "PLM"), ("2uui", "LMT"), ("1byz", "MPD"),
                                      ("1byz", "ACE"), ("1ehz", "YYG"), ("1ehz", "5MC")])
def test_cif_round_trips_through_gemmi(data, key, name):
    """gemmi reads the written CIF back with the same atoms, types, bonds, angles, planes
    and chiral centres, to the precision written (0.001 A, 0.01 degree)."""
    d = fc.dictionaries_for(structure(data, key), [name])[name]
    monlib = gemmi.MonLib()
    fc.read_into(monlib, d.cif())
    cc = monlib.monomers[name]
    assert [(a.id, a.el.name, a.chem_type) for a in cc.atoms] == \
        [(n, el, t) for n, el, t, _ in d.atoms]
    bonds = {frozenset((b.id1.atom, b.id2.atom)): b.value for b in cc.rt.bonds}
    assert len(bonds) == len(d.bonds)
    for a, b, _, v in d.bonds:
        assert bonds[frozenset((a, b))] == pytest.approx(v, abs=5e-4)
    angles = {(x.id1.atom, x.id2.atom, x.id3.atom): x.value for x in cc.rt.angles}
    assert len(angles) == len(d.angles)
    for a, b, c, v in d.angles:
        assert angles[(a, b, c)] == pytest.approx(v, abs=5e-3)
    assert [sorted(i.atom for i in p.ids) for p in cc.rt.planes] == \
        [sorted(p) for _, p in d.planes]
    assert all(p.esd == pytest.approx(fc.PLANE_ESD) for p in cc.rt.planes)
    sign = {gemmi.ChiralityType.Positive: 1, gemmi.ChiralityType.Negative: -1,
            gemmi.ChiralityType.Both: 0}
    assert [(c.id_ctr.atom, sign[c.sign]) for c in cc.rt.chirs] == \
        [(c[0], c[4]) for c in d.chirals]


@pytest.mark.parametrize("key,names", [("2uui", ["PLM", "LMT"]),
                                       ("1byz", ["ACE", "ETA", "MPD", "MRD"]),
                                       ("1ehz", MODIFIED)])
def test_bonds_are_the_close_pairs_of_every_instance(data, key, names):
    """The bonds found (covalent radii + 0.5 A) are, in every instance, the non-H pairs
    closer than 1.95 A (the shared ruler's rule), and values are the first instance's."""
    st = structure(data, key)
    dicts = fc.dictionaries_for(st, names)
    for name in names:
        d = dicts[name]
        heavy = {n for n, el, _, _ in d.atoms if el not in ("H", "D")}
        bonds = {frozenset((a, b)) for a, b, _, _ in d.bonds if a in heavy and b in heavy}
        for res in instances(st, name):
            assert heavy_pairs_below(res) <= bonds, (name, res.seqid)
            present = {a.name for a in res}
            assert {k for k in bonds if k <= present} <= heavy_pairs_below(res, 2.05)


def test_groups_make_gemmi_link_them(data):
    """Modified nucleotides are RNA (gemmi then links O3'-P with the library's "p" link
    and its angles); a lipid with primed names (LMT's glucoses) is not; a renamed serine
    is a peptide and a renamed proline a P-peptide (TRANS and PTRANS links)."""
    st = structure(data, "1ehz")
    dicts = fc.dictionaries_for(st, MODIFIED)
    assert {d.group for d in dicts.values()} == {"RNA"}
    assert fc.dictionaries_for(structure(data, "2uui"), ["LMT"])["LMT"].group == "non-polymer"
    lib = generated(st, data)
    r = build_restraints(st, lib)
    atoms = from_structure(st)
    link = [(i, j) for i, j in r.bond_idx if atoms.residue_index[i] != atoms.residue_index[j]
            and {atoms.name[i], atoms.name[j]} == {"O3'", "P"}]
    assert len(link) == 75                       # every O3'-P of the 76 nucleotides
    ideal = {frozenset(map(int, p)): v for p, v in zip(r.bond_idx, r.bond_ideal)}
    mod = np.isin(atoms.resname, MODIFIED)
    for i, j in link:
        if mod[i] or mod[j]:
            assert ideal[frozenset((int(i), int(j)))] == pytest.approx(1.607, abs=0.01)

    st = structure(data, "1aba")
    for ch in st[0]:
        for res in ch:
            if res.seqid.num == 9:
                res.name = "SEX"
            if res.seqid.num == 16:
                res.name = "PRX"
    dicts = fc.dictionaries_for(st, ["SEX", "PRX"])
    assert (dicts["SEX"].group, dicts["PRX"].group) == ("peptide", "P-peptide")
    lib = generated(st, data)
    r = build_restraints(st, lib)
    atoms = from_structure(st)
    # the library's TRANS C-N is 1.337 A, its PTRANS (to a proline's N) 1.352 A
    for prev, nxt, ideal in ((8, 9, 1.337), (9, 10, 1.337), (15, 16, 1.352), (16, 17, 1.337)):
        c = np.flatnonzero((atoms.resseq == prev) & (atoms.name == "C"))[0]
        n = np.flatnonzero((atoms.resseq == nxt) & (atoms.name == "N"))[0]
        k = [q for q, p in enumerate(r.bond_idx) if set(map(int, p)) == {c, n}]
        assert len(k) == 1 and r.bond_ideal[k[0]] == pytest.approx(ideal, abs=1e-6)
    assert "omega" in r.tors_label


def test_types_and_kekule_structure(data):
    """Energy types from the geometry, and one double bond for each atom that needs one,
    as chemistry has them for guanosine's base (OMG) and palmitate."""
    d = fc.dictionaries_for(structure(data, "1ehz"), ["OMG"])["OMG"]
    types = {n: t for n, _, t, _ in d.atoms}
    assert {types[n] for n in ("N1", "N2")} == {"NR16", "NH2"}     # donors to cytosine
    assert types["N3"] == "NRD6" and types["N7"] == "NRD5" and types["O6"] == "O"
    assert types["C1'"] == "CH1" and types["OP1"] == "OP" and types["O2'"] == "O2"
    double = {frozenset((a, b)) for a, b, t, _ in d.bonds if t == "double"}
    assert double == {frozenset(p) for p in (("C6", "O6"), ("C2", "N3"), ("C4", "C5"),
                                             ("C8", "N7"), ("P", "OP1"))}
    d = fc.dictionaries_for(structure(data, "2uui"), ["PLM"])["PLM"]
    assert [t for n, _, t, _ in d.atoms if n in ("C1", "O1", "O2", "CG")] == \
        ["C", "OC", "OC", "CH3"]


def test_planes_and_chiral_centres(data):
    """The base of a modified nucleotide is a plane (ring atoms within 0.05 A), its sugar
    carbons and P are chiral centres with the input's sign; a saturated ring (the
    dihydrouridine of H2U) is no plane."""
    st = structure(data, "1ehz")
    d = fc.dictionaries_for(st, ["5MC", "H2U"])
    ring = {"N1", "C2", "N3", "C4", "C5", "C6"}
    planes = [set(p) for _, p in d["5MC"].planes]
    assert any(ring <= p for p in planes)
    assert not any(ring <= set(p) for _, p in d["H2U"].planes)
    centres = {c[0]: c[4] for c in d["5MC"].chirals}
    assert set(centres) == {"C1'", "C2'", "C3'", "C4'", "P"}
    for res in instances(st, "5MC"):
        for c in d["5MC"].chirals:
            x = [np.array(res[n][0].pos.tolist()) for n in c[:4]]
            assert np.sign(fc.chiral_volume(*x)) == c[4]


def test_each_instance_is_restrained_to_its_own_geometry(data):
    """Ideal values of bonds, angles and chiral volumes in residues restrained to the input
    geometry are each instance's own (2uui's PLM instances differ by up to 0.2 A)."""
    from mainpy.restraints import validation
    st = structure(data, "2uui")
    lib = generated(st, data)
    assert lib.own_geometry == {"LMT", "PLM", "NI"}       # NI: an atom, no restraints
    r = build_restraints(st, lib)
    atoms = from_structure(st)
    mine = np.isin(atoms.resname, ["PLM", "LMT"])
    b = np.all(mine[r.bond_idx], axis=1)
    assert b.sum() >= 190
    v = validation.bond_values(atoms.xyz, r)
    assert np.abs(v[b] - r.bond_ideal[b]).max() < 1e-9
    plm_c1c2 = r.bond_ideal[b & np.all(np.isin(atoms.name[r.bond_idx], ["C1", "C2"]), axis=1)]
    assert plm_c1c2.max() - plm_c1c2.min() > 0.15            # instances differ
    a = np.all(mine[r.angle_idx], axis=1)
    assert np.abs(validation.angle_values(atoms.xyz, r)[a] - r.angle_ideal[a]).max() < 1e-6
    c = np.all(mine[r.chir_idx], axis=1)
    vol = validation.chiral_values(atoms.xyz, r)
    assert c.sum() >= 10 and np.allclose(np.abs(vol[c]), r.chir_ideal[c], atol=1e-9)
    assert not validation.chirality_inverted(atoms.xyz, r).any()


# ---------------------------------------------------------------- bonds found by distance

def _link_records(path):
    """(ion residue number, partner atom, partner residue number, distance) of the file's
    metal LINK records (1ehz names three of its Mg sites MN there)."""
    out = []
    for line in open(path):
        if line.startswith("LINK  ") and line[17:20].strip() in ("MG", "MN", "NI"):
            out.append((int(line[22:26]), line[42:46].strip(), int(line[52:56]),
                        float(line[73:78])))
    return out


@pytest.mark.parametrize("key", ["1ehz", "2uui"])
def test_metal_ions_held_at_their_links(data, key):
    """Each metal-ligand LINK of the file (the depositors' coordination, through symmetry
    in 2uui) within covalent distance (Mg-O 2.57 A, Ni-N 2.45 A) is a bond restraint at
    the LINK's distance (2 decimals in the file), esd 0.05 A, and no other; in 1ehz no vdW
    contact pushes an Mg ion at the input any more (before: the C8 and C5 of guanines
    bound at N7 did, 3.1-3.4 A against a 3.47 A target)."""
    from mainpy.restraints.energy import Energy
    st = structure(data, key)
    lib = generated(st, data)
    r = build_restraints(st, lib)
    atoms = from_structure(st)
    metal = np.flatnonzero(r.is_metal)
    found = []
    for k, (i, j) in enumerate(r.bond_idx):
        if r.is_metal[i] != r.is_metal[j]:
            ion, other = (i, j) if r.is_metal[i] else (j, i)
            found.append((int(atoms.resseq[ion]), atoms.name[other], int(atoms.resseq[other]),
                          r.bond_ideal[k], r.bond_esd[k]))
    links = _link_records(data(f"xtal/{key}/{key}.pdb"))
    inside = 0
    for num, pname, pnum, dist in links:
        ion = gemmi.Element("Mg" if key == "1ehz" else "Ni")
        cut = ion.covalent_r + gemmi.Element(pname[0]).covalent_r + fc.COVALENT_TOLERANCE
        match = [f for f in found if f[:3] == (num, pname, pnum)]
        if dist >= cut:
            assert not match, (num, pname, pnum, dist)
            continue
        inside += 1
        assert len(match) >= 1 and any(abs(f[3] - dist) < 0.006 for f in match), \
            (num, pname, pnum, dist)
        assert match[0][4] == pytest.approx(fc.METAL_ESD)
    assert inside == len(found) == {"1ehz": 43, "2uui": 12}[key]    # LINKs, no more
    if key == "1ehz":
        en = Energy(r, atoms, st.cell, st.find_spacegroup())
        nb = en.nonbonded
        nb.build(atoms.xyz)
        local = nb.img < 0
        pair_metal = np.isin(nb.pairs, metal).any(axis=1) & local
        d = np.linalg.norm(atoms.xyz[nb.pairs[:, 0]] - atoms.xyz[nb.pairs[:, 1]], axis=1)
        assert pair_metal.sum() > 0 and not (pair_metal & (d < nb.d0)).any()
        assert len(metal) == 9


def test_generated_residue_bonded_to_its_neighbours(data):
    """A residue that no link joins (a serine renamed, with N and C renamed too) gets its
    bonds to the neighbouring residues by distance, at their input lengths, with the
    angles at both ends; the message names them once."""
    st = structure(data, "1aba")
    for ch in st[0]:
        for res in ch:
            if res.seqid.num == 74:
                res.name = "SEY"
                res["N"][0].name = "N1"
                res["C"][0].name = "C1"
    lib = generated(st, data)
    assert fc.dictionaries_for(st, ["SEY"])["SEY"].group == "non-polymer"
    r = build_restraints(st, lib)
    atoms = from_structure(st)

    def row(num, name):
        return int(np.flatnonzero((atoms.resseq == num) & (atoms.name == name))[0])

    for a, b in ((row(73, "C"), row(74, "N1")), (row(74, "C1"), row(75, "N"))):
        k = [q for q, p in enumerate(r.bond_idx) if set(map(int, p)) == {a, b}]
        assert len(k) == 1
        assert r.bond_ideal[k[0]] == pytest.approx(np.linalg.norm(atoms.xyz[a] - atoms.xyz[b]))
        ends = [q for q, t in enumerate(r.angle_idx) if {int(t[0]), int(t[2])} >= {a, b}
                or (int(t[1]) in (a, b) and {int(t[0]), int(t[2])} & {a, b})]
        assert len(ends) == 3          # X-C-N twice at the carbonyl, C-N-CA
    lines = [m for m in r.messages if "neighbours" in m]
    assert len(lines) == 1 and "SEY" in lines[0]


# ---------------------------------------------------------------- AceDRG and its fallback

def _fake_acedrg(tmp_path, body):
    exe = tmp_path / "acedrg"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


def test_acedrg_failure_falls_back_to_the_input_geometry(data, tmp_path, monkeypatch):
    """An AceDRG that fails gives the input geometry for that residue, and one line each
    says so; a switched-off or missing AceDRG points to the extra."""
    acedrg._made.clear()
    monkeypatch.setenv("MAINPY_ACEDRG", _fake_acedrg(
        tmp_path, 'echo "Explicit valence for atom # 0 C, 5, is greater than permitted"; exit 1'))
    st = structure(data, "1byz")
    lib = generated(st, data, use_acedrg=True)
    assert set(lib.own_geometry) == {"ACE", "ETA", "MPD", "MRD"}
    failed = [m for m in lib.messages if m.startswith("AceDRG failed")]
    assert len(failed) == 1 and "valence" in failed[0] and "MPD" in failed[0]
    own = [m for m in lib.messages if m.startswith("restraints from the input geometry")]
    assert len(own) == 1 and "AceDRG failed" in own[0]
    monkeypatch.setenv("MAINPY_ACEDRG", "no-such-program-here")
    assert acedrg.executable() is None
    lib = generated(st, data, use_acedrg=True)
    assert any("pip install 'mainpy[ligands]'" in m for m in lib.messages)
    monkeypatch.setenv("MAINPY_ACEDRG", "off")
    lib = generated(st, data, use_acedrg=True)
    assert any("switched off" in m for m in lib.messages)


def test_acedrg_that_loses_atoms_is_refused(data, tmp_path, monkeypatch):
    """A dictionary whose atoms are not the model's is not used."""
    acedrg._made.clear()
    body = ("cat > out.cif <<'EOF'\ndata_comp_list\nloop_\n_chem_comp.id\n_chem_comp.group\n"
            "ETA non-polymer\ndata_comp_ETA\nloop_\n_chem_comp_atom.comp_id\n"
            "_chem_comp_atom.atom_id\n_chem_comp_atom.type_symbol\nETA X1 C\nEOF")
    monkeypatch.setenv("MAINPY_ACEDRG", _fake_acedrg(tmp_path, body))
    lib = generated(structure(data, "1byz"), data, use_acedrg=True)
    assert "ETA" in lib.own_geometry
    assert any("not in its dictionary" in m for m in lib.messages)


@pytest.mark.slow
@pytest.mark.skipif(acedrg.executable() is None, reason="AceDRG is not installed "
                    "(pip install 'mainpy[ligands]')")
def test_acedrg_dictionaries_for_mpd_and_plm(data, monkeypatch):
    """AceDRG run from the model's MPD (1byz, with hydrogens) and PLM (2uui, without):
    gemmi reads its dictionaries, with the model's atom names, MPD's hands as the model's
    (C4 of MPD is S, of MRD R), and ideal bonds from small molecules (MPD's C2-O2 1.50 A
    in the model, a C-O single bond of about 1.43 A in AceDRG's)."""
    monkeypatch.delenv("MAINPY_ACEDRG", raising=False)
    exe = acedrg.executable()
    st = structure(data, "1byz")
    dicts = fc.dictionaries_for(st, ["MPD", "MRD"])
    dicts.update(fc.dictionaries_for(structure(data, "2uui"), ["PLM"]))
    made = acedrg.dictionaries(dicts, exe)
    for name, text in made.items():
        assert isinstance(text, str), (name, text)
        monlib = gemmi.MonLib()
        fc.read_into(monlib, text)
        cc = monlib.monomers[name]
        names = {a.id for a in cc.atoms}
        assert {n for n, el, _, _ in dicts[name].atoms if el != "H"} <= names
        bonds = {frozenset((b.id1.atom, b.id2.atom)): b for b in cc.rt.bonds}
        if name in ("MPD", "MRD"):
            assert 1.38 < bonds[frozenset(("C2", "O2"))].value < 1.47
            sign = {c.id_ctr.atom: c.sign for c in cc.rt.chirs}["C4"]
            mine = {c[0]: c[4] for c in dicts[name].chirals}["C4"]
            want = gemmi.ChiralityType.Positive if mine > 0 else gemmi.ChiralityType.Negative
            assert sign == want
        else:
            assert 1.49 < bonds[frozenset(("C1", "C2"))].value < 1.53
    print({n: len(monlib.monomers) for n in made})
