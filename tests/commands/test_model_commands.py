"""SET, KEY, SHOW, SAVE/RESTORE COOR and HELP on a real model."""

import io

import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.session import Session


@pytest.fixture
def s(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    return s


def out(s):
    text = s.out.getvalue()
    s.out.seek(0)
    s.out.truncate()
    return text


def test_set_properties_on_selections(s):
    a = s.atoms
    s.run("set temp sele all end = 28.0")
    assert (s.atoms.b == 28.0).all()
    s.run("set occu sele resi name HOH end 0.5")
    assert (s.atoms.occ[a.resname == "HOH"] == 0.5).all()
    assert (s.atoms.occ[a.resname != "HOH"] == a.occ[a.resname != "HOH"]).all()
    s.run("set charge sele resi name ARG LYS ASP GLU .a .not -\natom name C N CA O end   0.0")
    s.run("set weigh sele atom name H* end 0.0")
    assert s.atoms.weight.sum() == len(a) - (np.char.startswith(a.name, "H")).sum()
    assert a.b is not s.atoms.b          # arrays are replaced, not changed in place


def test_keys_show_counts_and_drop(s):
    s.run("key lys sele resi name LYS end; key model_part select segm name DM_* end")
    text = out(s)
    assert "key model_part: 0 atoms" in text and "selects no atoms" in text
    s.run("show key")
    text = out(s)
    lys = int((s.atoms.resname == "LYS").sum())
    assert f"lys{'':<13} {lys:>8}" in text.replace(" lys ", " lys ")
    assert "active" in text and "image" in text
    s.run("key lys drop")
    assert "lys" not in s.keys
    s.run("key init")
    assert not s.keys


def test_keys_are_evaluated_again_for_a_new_model(s, data):
    s.run("key water sele resi name HOH end")
    n_aba = int(s.keys["water"].mask.sum())
    s.run(f"read coor file {data('xtal/1d7m/1d7m.pdb')}")
    assert int(s.keys["water"].mask.sum()) == int((s.atoms.resname == "HOH").sum()) != n_aba


def test_key_defined_before_a_model_is_read(data):
    t = Session(out=io.StringIO())
    t.run("<DEF_ALL")
    t.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    assert t.keys["work_set"].mask.all()


def test_save_and_restore(s):
    x0 = s.atoms.xyz.copy()
    s.run("save coor start; set coor kick 0.5 seed 1")
    assert not np.array_equal(s.atoms.xyz, x0)
    s.run("restore coor start")
    assert np.array_equal(s.atoms.xyz, x0)
    with pytest.raises(LangError) as e:
        s.run("restore coor other")
    assert "start" in e.value.message


def test_show_crystal_vari_and_selection(s):
    s.run("show crystal")
    text = out(s)
    assert "30.200 47.800 61.300" in text and "P 21 21 21" in text and "880" in text
    s.run("set vari X = 2.5; show vari")
    assert "X = 2.5" in out(s)
    s.run("show sele resi numb 1 .and. atom name CA end")
    text = out(s)
    assert "1 atoms selected" in text and "A/MET 1/CA" in text


def test_help(s):
    s.run("help")
    text = out(s)
    assert "MINIMIZE" in text and "READ COOR" in text
    s.run("help min")
    assert "STEP n" in out(s)
    s.run("help rea co")
    assert "READ COOR" in out(s)
    s.run("help selection")
    assert ".AND." in out(s)
    with pytest.raises(LangError) as e:
        s.run("help minimise")
    assert "MINIMIZE" in e.value.message


def test_anisotropic_atoms_kept_refined_and_made_isotropic(s, data):
    # ANISOU on the main-chain atoms of 1aba (U = B/8pi^2 stretched along x)
    a = s.atoms
    mc = np.isin(a.name, ["N", "CA", "C", "O"])
    u = np.zeros((len(a), 6))
    u_iso = a.b / (8 * np.pi ** 2)
    u[mc] = np.stack([1.5 * u_iso, 0.75 * u_iso, 0.75 * u_iso, 0.1 * u_iso,
                      0 * u_iso, 0 * u_iso], axis=1)[mc]
    s.model.atoms = a.replace(aniso=u)
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    s.run(f"read mono {data('monomers')}")
    s.run("define bond angle dihe impr by topo; ener xray on target ml")
    s.run("refine position step 2")                      # coordinates alone: U is kept
    assert (s.atoms.aniso == u).all() and not (s.atoms.xyz == a.xyz).all()
    s.run("refine b-values step 3")         # mixed: U of the anisotropic, B of the rest
    an = (s.atoms.aniso != 0).any(axis=1)
    assert (an == mc).all() and not np.allclose(s.atoms.aniso[mc], u[mc])
    assert not np.allclose(s.atoms.b[~mc], a.b[~mc])
    assert np.allclose(s.atoms.b[mc], 8 * np.pi ** 2 * s.atoms.aniso[mc, :3].sum(1) / 3)
    s.model.atoms = s.atoms.replace(xyz=a.xyz, aniso=u, b=a.b)
    s.run("set temp iso sele resi numb 1 : 10 end")     # only these
    first = (s.atoms.resseq <= 10) & mc
    assert (s.atoms.aniso[first] == 0).all()
    assert (s.atoms.aniso[mc & ~first] != 0).any(axis=1).all()
    s.run("set temp iso")
    assert (s.atoms.aniso == 0).all()
    # B = 8 pi^2 tr(U)/3: the stretched U above has trace 3 U_iso, so B is unchanged
    assert np.allclose(s.atoms.b, a.b, atol=1e-4)
    s.run("refine position step 2")
    with pytest.raises(LangError, match="takes no value"):
        s.run("set temp iso = 20")
