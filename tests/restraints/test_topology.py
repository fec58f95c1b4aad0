"""Restraints from the monomer library against gemmi's own topology of the same model."""

import os
from pathlib import Path

import gemmi
import numpy as np
import pytest
from restraint_helpers import atom_row, rows_by_position

from mainpy.errors import InputError
from mainpy.restraints import validation
from mainpy.restraints.monlib import find_monlib_dir, load_monlib
from mainpy.restraints.topology import build_restraints


def _gemmi_sets(case):
    """gemmi's restraints (esd > 0) as sets of atom-row tuples, plus the topology."""
    _, topo = case.gemmi_topology()
    rows = rows_by_position(case.atoms)
    bonds = {frozenset(atom_row(rows, a) for a in b.atoms) for b in topo.bonds
             if b.restr.esd > 0}
    angles = {(min(t[0], t[2]), t[1], max(t[0], t[2])) for t in
              (tuple(atom_row(rows, a) for a in x.atoms) for x in topo.angles
               if x.restr.esd > 0)}
    return topo, rows, bonds, angles


def test_same_bonds_and_angles_as_gemmi(any_case):
    r = any_case.restraints
    _, _, bonds, angles = _gemmi_sets(any_case)
    mine_b = {frozenset(map(int, p)) for p in r.bond_idx}
    mine_a = {(int(min(a, c)), int(b), int(max(a, c))) for a, b, c in r.angle_idx}
    assert len(r.bond_idx) == len(mine_b) == len(bonds) > 700
    assert mine_b == bonds
    assert len(r.angle_idx) == len(mine_a) == len(angles) > 1000
    assert mine_a == angles


def test_bond_angle_rmsd_match_gemmi(any_case):
    """rmsd and rms Z on the deposited model within 1% of gemmi's evaluation."""
    _, topo = any_case.gemmi_topology()
    gb = np.array([b.calculate() - b.restr.value for b in topo.bonds if b.restr.esd > 0])
    gbz = np.array([b.calculate_z() for b in topo.bonds if b.restr.esd > 0])
    ga = np.array([np.degrees(a.calculate()) - a.restr.value for a in topo.angles
                   if a.restr.esd > 0])
    gaz = np.array([a.calculate_z() for a in topo.angles if a.restr.esd > 0])
    s = validation.summary(any_case.atoms.xyz, any_case.restraints)
    rms = lambda v: np.sqrt(np.mean(v ** 2))
    assert s["bond"]["count"] == len(gb)
    assert s["bond"]["rmsd"] == pytest.approx(rms(gb), rel=0.01)
    assert s["bond"]["rmsz"] == pytest.approx(rms(gbz), rel=0.01)
    assert s["angle"]["count"] == len(ga)
    assert s["angle"]["rmsd"] == pytest.approx(rms(ga), rel=0.01)
    assert s["angle"]["rmsz"] == pytest.approx(rms(gaz), rel=0.01)


def test_chirals_planes_torsions_match_gemmi(any_case):
    _, topo = any_case.gemmi_topology()
    rows = rows_by_position(any_case.atoms)
    r = any_case.restraints
    xyz = any_case.atoms.xyz
    # chiral centres and their volumes
    gch = {tuple(atom_row(rows, a) for a in c.atoms): c.calculate() for c in topo.chirs}
    vol = validation.chiral_values(xyz, r)
    assert len(r.chir_idx) == len(gch)
    for k, idx in enumerate(map(tuple, r.chir_idx.tolist())):
        assert vol[k] == pytest.approx(gch[idx], abs=1e-9)
    # planes: the same atom groups; deviations agree with gemmi's best plane
    gpl = [tuple(sorted(atom_row(rows, a) for a in p.atoms)) for p in topo.planes
           if p.restr.esd > 0]
    mine = [tuple(sorted(r.plane_atoms[r.plane_start[k]:r.plane_start[k + 1]].tolist()))
            for k in range(len(r.plane_start) - 1)]
    assert sorted(mine) == sorted(gpl)
    dev = validation.plane_deviations(xyz, r)
    for k, p in enumerate([p for p in topo.planes if p.restr.esd > 0][:50]):
        coeff = gemmi.find_best_plane(p.atoms)
        gdev = sorted(abs(gemmi.get_distance_from_plane(a.pos, coeff)) for a in p.atoms)
        j = mine.index(tuple(sorted(atom_row(rows, a) for a in p.atoms)))
        s = slice(r.plane_start[j], r.plane_start[j + 1])
        assert np.allclose(sorted(np.abs(dev[s])), gdev, atol=1e-6)
    # torsions: with torsions="all" every gemmi torsion with esd > 0, same angles
    r_all = build_restraints(any_case.st, any_case.lib, torsions="all")
    gt = {tuple(atom_row(rows, a) for a in t.atoms): np.degrees(t.calculate())
          for t in topo.torsions if t.restr.esd > 0}
    assert len(r_all.tors_idx) == len(gt)
    phi = validation.dihedrals(xyz, r_all.tors_idx)
    for k, idx in enumerate(map(tuple, r_all.tors_idx.tolist())):
        assert phi[k] == pytest.approx(gt[idx], abs=1e-7)
    # the default (Refmac) choice is a subset: omega, chi, sp2-sp2
    labels = set(r.tors_label)
    assert "omega" in labels and not {"phi", "psi"} & labels
    assert len(r.tors_idx) < len(r_all.tors_idx)


def test_links_disulfide_and_ligand(aba):
    """1aba: the SSBOND disulfide and the peptide links are restrained; MES too."""
    r = aba.restraints
    a = aba.atoms
    sg = np.flatnonzero((a.name == "SG") & (a.resname == "CYS"))
    pairs = {frozenset(map(int, p)) for p in r.bond_idx}
    assert frozenset(map(int, sg[:2])) in pairs
    k = next(i for i, p in enumerate(r.bond_idx) if set(p) == set(sg[:2]))
    assert r.bond_ideal[k] == pytest.approx(2.03, abs=0.05)
    mes = set(np.flatnonzero(a.resname == "MES").tolist())
    assert sum(1 for p in r.bond_idx if set(p) <= mes) >= 12
    # every residue's C is bonded to the next N within the chain (86 peptide links)
    c_n = sum(1 for i, j in r.bond_idx if {a.name[i], a.name[j]} == {"C", "N"}
              and a.residue_index[i] != a.residue_index[j])
    assert c_n == 86
    assert r.restrained.all()
    assert not r.missing


def test_missing_residue_named_and_rest_restrained(aba, monlib_dir, tmp_path):
    """A library without MES: MES is reported, everything else is still restrained."""
    lib_dir = tmp_path / "lib"
    for f in Path(monlib_dir).rglob("*.cif"):
        if f.name == "MES.cif":
            continue
        dst = lib_dir / f.relative_to(monlib_dir)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f, dst)
    lib = load_monlib(aba.st[0].get_all_residue_names(), lib_dir)
    assert lib.missing == ["MES"]
    assert "MES" in lib.messages[0] and "read mono" in lib.messages[0]
    r = build_restraints(aba.st, lib)
    assert r.missing == ["MES"] and "MES" in r.messages[0]
    mes = aba.atoms.resname == "MES"
    assert not r.restrained[mes].any() and r.restrained[~mes].all()
    full = aba.restraints
    keep = ~np.any(mes[full.bond_idx], axis=1)
    assert {frozenset(map(int, p)) for p in r.bond_idx} == \
        {frozenset(map(int, p)) for p in full.bond_idx[keep]}
    keep = ~np.any(mes[full.angle_idx], axis=1)
    assert len(r.angle_idx) == keep.sum()


def test_flat_library_layout(aba, monlib_dir, tmp_path):
    """A flat folder (ALA.cif, ener_lib.cif, mon_lib_list.cif side by side) gives the
    same restraints as the CCP4 layout."""
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in aba.st[0].get_all_residue_names():
        src = next(Path(monlib_dir).glob(f"?/{name}.cif"))
        os.symlink(src, flat / src.name)
    os.symlink(Path(monlib_dir) / "ener_lib.cif", flat / "ener_lib.cif")
    os.symlink(Path(monlib_dir) / "list" / "mon_lib_list.cif", flat / "mon_lib_list.cif")
    lib = load_monlib(aba.st[0].get_all_residue_names(), flat)
    assert not lib.missing and lib.has_ener_lib
    r = build_restraints(aba.st, lib)
    ref = aba.restraints
    assert np.array_equal(r.bond_idx, ref.bond_idx)
    assert np.allclose(r.bond_ideal, ref.bond_ideal)
    assert np.array_equal(r.angle_idx, ref.angle_idx)
    assert np.allclose(r.vdw_radius, ref.vdw_radius)


def test_library_search_order(monlib_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("CLIBD_MON", raising=False)
    monkeypatch.setenv("MAINPY_MONLIB", str(monlib_dir))
    assert find_monlib_dir() == Path(monlib_dir)
    assert find_monlib_dir(tmp_path) == tmp_path          # explicit path wins
    monkeypatch.delenv("MAINPY_MONLIB")
    monkeypatch.setenv("CLIBD_MON", str(monlib_dir))
    assert find_monlib_dir() == Path(monlib_dir)
    with pytest.raises(InputError, match="read mono"):
        find_monlib_dir(tmp_path / "absent")
    monkeypatch.setenv("MAINPY_MONLIB", str(tmp_path / "absent"))
    with pytest.raises(InputError, match="MAINPY_MONLIB"):
        load_monlib(["ALA"])


def test_gemmi_warnings_as_ours():
    """gemmi's topology warnings lose their "Warning: " prefix (the session adds its own);
    a library link that does not match a metal site is dropped where the metal bonds
    hold it, kept otherwise and for other residues."""
    from mainpy.restraints.topology import _gemmi_warnings
    text = ("Warning: link from the monomer library does not match: ZN-CYS\n"
            "Warning: link from the monomer library does not match: LYS-GLU\n\n"
            "Missing atom CB in ALA A 5\n")
    assert _gemmi_warnings(text, metals=True) == [
        "link from the monomer library does not match: LYS-GLU", "Missing atom CB in ALA A 5"]
    assert _gemmi_warnings(text, metals=False)[0] == \
        "link from the monomer library does not match: ZN-CYS"
