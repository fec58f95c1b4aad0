"""READ MONO, DEFINE, ENER, SHOW ENER/GEOMETRY and geometry-only MINIMIZE on real models."""

import io

import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.restraints import validation
from mainpy.session import Session


def out(s):
    text = s.out.getvalue()
    s.out.seek(0)
    s.out.truncate()
    return text


@pytest.fixture
def aba(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    return s


def test_define_with_the_ccp4_library_matches_gemmi_counts(aba, monlib_dir):
    aba.run(f"read mono {monlib_dir}; define bond angle dihe impr by topo")
    c = aba.restraints.counts()
    # gemmi's prepare_topology on the deposited 1aba with this library (helper test
    # tests/restraints/test_topology.py compares every restraint); here the command path
    assert (c["bond"], c["angle"], c["chiral"], c["plane"]) == (759, 1016, 103, 129)
    aba.run("show ener")
    text = out(aba)
    assert "bond" in text and "759" in text and "total" in text


def test_missing_dictionary_is_named_and_restrained_to_its_input_geometry(aba):
    aba.run("define bond angle dihe impr by topo")      # built-in dictionary has no MES
    text = out(aba)
    assert "restraints from the input geometry for MES" in text and "read mono" in text
    # every atom is restrained now: MES too (issue 18: never free to fly apart)
    assert aba.restraints.restrained.all()


def test_ener_switches_and_scales(aba):
    aba.run("define bond by topo")
    e0 = aba.energy.evaluate(aba.atoms.xyz).terms["bond"]
    aba.run("ener bond scal 2 vdw off")
    assert aba.ener["bond"]["scale"] == 2 and not aba.ener["nonbonded"]["on"]
    aba.run("show ener")
    text = out(aba)
    row = next(line for line in text.splitlines() if line.split()[:1] == ["bond"])
    assert float(row.split()[-1]) == pytest.approx(2 * e0, abs=0.006)   # printed to 0.01
    aba.run("ener all off")
    assert not any(st["on"] for st in aba.ener.values())
    with pytest.raises(LangError) as e:
        aba.run("ener dens on")
    assert "map" in e.value.message
    aba.run("ener dens map 3 dens scal 800")
    assert aba.ener["dens"] == {"on": True, "scale": 800.0, "map": 3}


def test_show_geometry_and_violations(aba):
    aba.run("define bond angle dihe impr by topo; show geometry")
    text = out(aba)
    summ = validation.summary(aba.atoms.xyz, aba.restraints)
    assert f"{summ['bond']['rmsd']:.4f}" in text and "Ramachandran" in text
    aba.run("ener list range 5 100")
    text = out(aba)
    lines = [line for line in text.splitlines() if " Z " in line]
    zs = [abs(float(line.split()[-1])) for line in lines]
    assert zs == sorted(zs, reverse=True) and all(5 <= z <= 100 for z in zs)
    assert "A/LEU 63" in text         # labels name the atoms


def test_geometry_minimization_from_a_shaken_model(aba):
    aba.run("set coor kick 0.3 seed 11 sele all end; define bond angle dihe impr by topo")
    aba.run("minimize step 200 writ 100")
    summ = validation.summary(aba.atoms.xyz, aba.restraints)
    assert summ["bond"]["rmsd"] < 0.01 and summ["angle"]["rmsd"] < 1.5
    assert not validation.chirality_inverted(aba.atoms.xyz, aba.restraints).any()
    assert "200 steps" in out(aba)


def test_fixed_background_does_not_move(aba):
    x0 = aba.atoms.xyz.copy()
    aba.run("define bond angle by topo; minimize sele resi numb 10 : 20 end step 20")
    moved = np.linalg.norm(aba.atoms.xyz - x0, axis=1) > 0
    inside = (aba.atoms.resseq >= 10) & (aba.atoms.resseq <= 20)
    assert moved.any() and not moved[~inside].any()


def test_stop_request_ends_after_the_current_step(aba):
    aba.run("set coor kick 0.3 seed 2; define bond angle by topo")
    steps = []

    # the stop flag is read after every step; here the progress output sets it after the
    # third step, as key `e` in the window or Ctrl-C would
    class Watch(io.StringIO):
        def write(self, text):
            if "step" in text and "total" in text:
                steps.append(text)
                if len(steps) == 3:
                    aba.stop.request("test")
            return super().write(text)

    aba.out = Watch()
    aba.run("minimize step 500 writ 1")
    text = aba.out.getvalue()
    assert "ended by a stop request (test)" in text
    n = int(text.split(" steps, ended")[0].split()[-1])
    assert n == 3
    assert not aba.stop      # cleared for the next run


def test_minimize_without_restraints_says_what_is_missing(aba):
    with pytest.raises(LangError) as e:
        aba.run("minimize step 5")
    assert "define" in e.value.message
    with pytest.raises(LangError) as e:
        aba.run("ener xray on; minimize step 5")
    assert "define" in e.value.message
    aba.run("define bond angle by topo")
    with pytest.raises(LangError) as e:
        aba.run("ener xray on; minimize step 5")
    assert "no reflections" in e.value.message and "read refl" in e.value.message
    with pytest.raises(LangError) as e:
        aba.run("ener all off; minimize step 5")
    assert "nothing to minimize" in e.value.message


@pytest.mark.parametrize("word,terms", [("bond", ["bond"]), ("angle", ["angle"]),
                                        ("dihe", ["torsion"]), ("impr", ["chiral", "plane"]),
                                        ("chir", ["chiral"]), ("plan", ["plane"]),
                                        ("vdw", ["nonbonded"]), ("b-val", ["adp"]),
                                        ("xray", ["xray"])])
def test_every_ener_term_word(aba, word, terms):
    aba.run(f"ener {word} off")
    assert all(not aba.ener[t]["on"] for t in terms)
    aba.run(f"ener {word} on scal 0.5")
    assert all(aba.ener[t]["on"] and aba.ener[t]["scale"] == 0.5 for t in terms)
