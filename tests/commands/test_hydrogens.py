"""HYDROGEN through the language: added from the library (those present kept), removed,
written or not, and riding in a refinement (their bonds kept, B from the parents)."""

import io
import re

import gemmi
import numpy as np
import pytest

from mainpy.errors import MainpyError
from mainpy.refine.riding import H_B_FACTOR, is_hydrogen, parents
from mainpy.session import Session


def _keys(atoms, rows):
    return [(str(atoms.chain[i]), int(atoms.resseq[i]), str(atoms.name[i]),
             str(atoms.altloc[i])) for i in rows]


def _by_key(atoms, mask):
    rows = np.flatnonzero(mask)
    return dict(zip(_keys(atoms, rows), atoms.xyz[rows]))


def test_add_keep_remove_and_write(data, monlib_dir, tmp_path):
    s = Session(out=io.StringIO())
    with pytest.raises(MainpyError, match="model"):
        s.run("hydrogen add")
    s.run(f"read mono {monlib_dir}; read coor file {data('xtal/1aba/1aba.pdb')}")
    a0 = s.atoms
    heavy0 = _by_key(a0, np.ones(len(a0), bool))
    s.run("hydrogen add")
    a1 = s.atoms
    hyd = is_hydrogen(a1)
    assert hyd.sum() > 700 and len(a1) == len(a0) + hyd.sum()
    assert not is_hydrogen(a1)[a1.resname == "HOH"].any()       # waters left out
    heavy1 = _by_key(a1, ~hyd)
    assert heavy1.keys() == heavy0.keys()
    assert max(np.abs(heavy1[k] - heavy0[k]).max() for k in heavy0) == 0.0
    assert s.model_changed()
    s.run("define bond angle dihe impr by topo")
    par = parents(a1, s.restraints.bond_idx)
    d = np.linalg.norm(a1.xyz[hyd] - a1.xyz[par[hyd]], axis=1)
    assert (par[hyd] >= 0).all() and 0.8 < d.min() and d.max() < 1.15
    # again: nothing added, the present ones kept where they are
    h1 = _by_key(a1, hyd)
    s.run("hydrogen add")
    assert "no hydrogens added: those the dictionaries name are all there" in s.out.getvalue()
    assert "topology made again" in s.out.getvalue()          # the model had restraints
    a2 = s.atoms
    h2 = _by_key(a2, is_hydrogen(a2))
    assert h2.keys() == h1.keys() and max(np.abs(h2[k] - h1[k]).max() for k in h1) < 1e-3
    # written without them, and with them
    s.run(f"write coor file {tmp_path / 'noh.pdb'} hydrogens off")
    st = gemmi.read_structure(str(tmp_path / "noh.pdb"))
    assert st[0].count_atom_sites() == len(a0) and not st[0].has_hydrogen()
    s.run(f"write coor file {tmp_path / 'h.pdb'}")
    st = gemmi.read_structure(str(tmp_path / "h.pdb"))
    assert sum(a.is_hydrogen() for r in st[0].all() for a in [r.atom]) == hyd.sum()
    s.run("hydrogen remove")
    assert len(s.atoms) == len(a0)
    back = _by_key(s.atoms, np.ones(len(s.atoms), bool))
    assert max(np.abs(back[k] - heavy0[k]).max() for k in heavy0) < 1e-3
    # a selection: only those residues get hydrogens
    s.run("hydrogen add sele resi numb 10 : 12 end")
    a3 = s.atoms
    got = set(a3.resseq[is_hydrogen(a3)].tolist())
    assert got == {10, 11, 12}
    before = s.fingerprint()
    with pytest.raises(MainpyError):
        s.run("hydrogen add sele resi numb 10 : 12 .and. nonsense end")
    assert s.fingerprint() == before


def test_riding_refinement(data, monlib_dir):
    """A refinement with riding H: no H is a variable, their distances to the parents
    stay those of the restraints, their B is 1.2 B of the parent, R-free falls."""
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}; read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    s.run("hydrogen add; define bond angle dihe impr by topo; refl phase; ener xray on")
    r0 = s.variables["R_FREE"]
    s.run("refine position b-values step 20 phase steps 10")
    out = s.out.getvalue()
    assert "hydrogens ride on their parents" in out
    n_heavy = int((~is_hydrogen(s.atoms)).sum())
    assert f"minimizing {len(s.atoms)} atoms" in out     # all move, H through parents
    a = s.atoms
    hyd = is_hydrogen(a)
    par = parents(a, s.restraints.bond_idx)
    d = np.linalg.norm(a.xyz[hyd] - a.xyz[par[hyd]], axis=1)
    ideal = {frozenset(map(int, b)): v for b, v in zip(s.restraints.bond_idx,
                                                      s.restraints.bond_ideal)}
    want = np.array([ideal[frozenset((int(h), int(par[h])))] for h in np.flatnonzero(hyd)])
    assert np.abs(d - want).max() < 0.03
    assert np.allclose(a.b[hyd], H_B_FACTOR * a.b[par[hyd]], rtol=1e-6)
    assert float(s.variables["R_FREE"]) < float(r0) - 0.01
    assert n_heavy == 880
    # FREE: the H are refined as atoms (no riding line)
    s.run("hydrogen free; refine position step 3")
    assert "refined as free atoms" in s.out.getvalue()


@pytest.mark.parametrize("name, adds", [("1aba", True), ("1d7m", False)])
def test_auto_adds_at_two_angstrom_or_better(name, adds, data, monlib_dir):
    """HYDROGEN AUTO (the shipped macro's default): riding H for 1aba's 1.45 A data, none
    for 1d7m's 2.4 A; a model that has H keeps them."""
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}; read coor file {data(f'xtal/{name}/{name}.pdb')}")
    s.run(f"read refl file {data(f'xtal/{name}/{name}.mtz')}")
    n0 = len(s.atoms)
    s.run("hydrogen auto")
    assert (len(s.atoms) > n0) == adds
    assert ("riding hydrogens wanted" if adds else "no hydrogens added") in s.out.getvalue()
    if adds:
        n1 = len(s.atoms)
        s.run("hydrogen auto")
        assert len(s.atoms) == n1 and "hydrogens: kept (riding)" in s.out.getvalue()


def test_no_hydrogen_on_metal_ligands(data, monlib_dir):
    """2uui's Ni ions sit on His NE2 atoms (some through symmetry): HYDROGEN ADD leaves
    off the HE2 on those four (gemmi's library adds it, 1.3 A from the Ni) and keeps HD1
    on the same rings; no H comes within 2 A of a Ni in the crystal."""
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}; read coor file {data('xtal/2uui/2uui.pdb')}")
    s.run("hydrogen add")
    assert "4 left off where their parent atom coordinates a metal ion" in s.out.getvalue()
    st = s.model.synced_structure()
    ns = gemmi.NeighborSearch(st[0], st.cell, 5).populate()
    close, rings = [], set()
    for ch in st[0]:
        for res in ch:
            if res.name != "NI":
                continue
            for m in ns.find_atoms(res[0].pos, "\0", radius=2.5):
                cra = m.to_cra(st[0])
                d = st.cell.find_nearest_pbc_image(res[0].pos, cra.atom.pos, m.image_idx).dist()
                if cra.atom.is_hydrogen() and d < 2.0:
                    close.append(str(cra))
                if cra.atom.name == "NE2" and d < 2.5:
                    rings.add(str(cra.residue.seqid))
    assert close == []
    assert rings == {"-4", "-2", "-1", "1"}
    his = {str(r.seqid): {a.name for a in r} for ch in st[0] for r in ch if r.name == "HIS"}
    assert all("HD1" in his[k] and "HE2" not in his[k] for k in rings)
    assert sum("HE2" in v for v in his.values()) == len(his) - 4


def test_geometry_figures_leave_hydrogens_out(data, monlib_dir):
    """rmsd bonds / angles with riding H are those of the heavy atoms, as gemmi's own
    topology of the model without its H gives them (the ruler geom.py's way): riding H
    at their ideal places would dilute the figures and the weighting's bond target."""
    import math

    from mainpy.app.refinement import bond_rmsd, report_figures
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}; read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run("hydrogen add; define bond angle dihe impr by topo; show geometry")
    assert "restraints of hydrogens and metal atoms left out: 773 bonds" in s.out.getvalue()
    st = s.model.synced_structure()
    st.remove_hydrogens()
    st.setup_entities()
    lib = gemmi.read_monomer_lib(str(monlib_dir), st[0].get_all_residue_names(),
                                 ignore_missing=True)
    topo = gemmi.prepare_topology(st, lib, model_index=0, ignore_unknown_links=True,
                                  h_change=gemmi.HydrogenChange.NoChange, reorder=False)
    db = [b.calculate() - b.restr.value for b in topo.bonds if math.isfinite(b.restr.value)]
    da = [math.degrees(a.calculate()) - a.restr.value for a in topo.angles]
    f = report_figures(s, s.atoms)
    assert f["rmsd bonds"] == pytest.approx(np.sqrt(np.mean(np.square(db))), rel=1e-3)
    assert f["rmsd angles"] == pytest.approx(np.sqrt(np.mean(np.square(da))), rel=1e-3)
    assert bond_rmsd(s, s.atoms) == pytest.approx(f["rmsd bonds"], rel=1e-9)
    assert re.search(r"^ bond +759 ", s.out.getvalue(), re.M)
