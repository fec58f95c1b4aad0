"""MAIN's kicking methods through the language (issue 7): PHASE KICK, MAKE MAP KICK,
TARGET KICK, FOURIER ... BACKWARD FOBS|FOFC, and the shipped macros under --check.
The long comparisons with numbers are in tests/refine/test_kick_science.py."""

import io
from pathlib import Path

import numpy as np
import pytest

from mainpy.lang.check import check_file, check_text
from mainpy.lang.errors import LangError
from mainpy.lang.lexer import package_dir
from mainpy.refine.kick_protocol import amplitude_schedule
from mainpy.session import Session


@pytest.fixture(scope="module")
def base(data, monlib_dir):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    s.run(f"read mono {monlib_dir}")
    s.run("define bond angle dihe impr by topo")
    return s


def fresh(base):
    """A session sharing the (read-only) model data, reflections and restraints."""
    t = Session(out=io.StringIO())
    t.model = base.model.__class__.__new__(base.model.__class__)
    t.model.__dict__.update(base.model.__dict__)
    t.model.atoms = base.model.atoms
    t.reflections = base.reflections
    t.restraints, t.energy = base.restraints, base.energy
    t.library, t.monlib_path = base.library, base.monlib_path
    return t


@pytest.mark.parametrize("law", ["linear", "square", "exponential"])
def test_amplitude_falls_to_zero(law):
    a = amplitude_schedule(0.5, 8, law)
    assert a[0] == pytest.approx(0.5) and a[-1] == pytest.approx(0.0, abs=1e-12)
    assert (np.diff(a) < 0).all()
    lin = amplitude_schedule(0.5, 8, "linear")
    if law != "linear":
        assert (a[1:-1] < lin[1:-1]).all()     # square and exponential fall faster


def test_phase_kick_is_reproducible_with_a_seed(base):
    runs = []
    for seed in (5, 5, 6):
        t = fresh(base)
        t.run("ener xray on target lsq")
        t.run(f"refine position b-values step 6 phase steps 3 phase kick = 0.3 seed {seed} "
              "square")
        runs.append(t.atoms)
        assert "kick protocol: amplitude 0.3 A falling squarely to 0" in t.out.getvalue()
    # the same seed, the same run to the precision of a PDB file (0.001 A): sums whose
    # order depends on history (the contact list of an earlier run) differ in the last
    # digits, and the minimizer amplifies that to ~3e-4 A over a run
    assert np.allclose(runs[0].xyz, runs[1].xyz, rtol=0, atol=1e-3)
    assert np.allclose(runs[0].b, runs[1].b, rtol=0, atol=1e-2)
    assert np.abs(runs[0].xyz - runs[2].xyz).max() > 0.05      # another seed, another run
    assert not np.array_equal(runs[0].b, base.atoms.b)          # B-values were kicked too


def test_phase_kick_errors_change_nothing(base):
    t = fresh(base)
    before = t.fingerprint()
    for bad in ("refine phase seed 3", "refine phase kick 0.3 linear phase square",
                "refine phase kick -0.2", "minimize by body phase kick 0.2"):
        with pytest.raises(LangError):
            t.run(bad)
        assert t.fingerprint() == before, bad


def test_averaged_kick_map(base):
    t = fresh(base)
    t.run("refl phase; make map 5 2mfodfc; make map 8 kick = 0.4 count 2 seed 3")
    t.run("make map 9 kick = 0.4 count 2 seed 3")
    a5, a8, a9 = (np.asarray(t.maps[k].array) for k in (5, 8, 9))
    assert np.allclose(a8, a9, rtol=0, atol=1e-5 * a8.std())   # the seed fixes the kicks
    assert a8.shape == a5.shape
    assert np.corrcoef(a5.ravel(), a8.ravel())[0, 1] > 0.9
    assert "averaged 2mFo-DFc kick map of 2 models" in t.out.getvalue()


KICK_TYPES = {"2mfodfc": "2mFo-DFc", "mfodfc": "mFo-DFc", "2fofc": "2Fo-Fc", "fofc": "Fo-Fc"}


def test_kick_map_type_with_no_kick_is_the_plain_map(base):
    # a kick of 0 leaves one copy equal to the model: TYPE must pick that map's
    # coefficients. The copy's scales are fitted anew, so the maps agree to the scale
    # fit's tolerance (correlation 0.9999999 measured), not bit for bit; maps of the other
    # types correlate 0.99 at most.
    t = fresh(base)
    t.run("refl phase")
    kinds = list(KICK_TYPES)
    for i, kind in enumerate(kinds):
        t.run(f"make map {i + 1} {kind}")
    for kind in kinds:
        t.run(f"make map 8 kick = 0 count 1 type {kind}")
        a8 = np.asarray(t.maps[8].array).ravel()
        cc = [np.corrcoef(a8, np.asarray(t.maps[i + 1].array).ravel())[0, 1]
              for i in range(len(kinds))]
        assert kinds[int(np.argmax(cc))] == kind and max(cc) > 0.9999, (kind, cc)
        assert f"averaged {KICK_TYPES[kind]} kick map of 1 models" in t.out.getvalue()


def test_kick_map_type_errors_say_what_to_write(base):
    t = fresh(base)
    with pytest.raises(LangError, match="did you mean KICK ... TYPE 2FOFC"):
        t.run("make map 8 kick = 0.4 2fofc")
    with pytest.raises(LangError, match="one of 2MFODFC | MFODFC | 2FOFC | FOFC expected"):
        t.run("make map 8 kick = 0.4 type 3fo2fc")
    assert 8 not in t.maps


def test_fourier_backward_fobs_and_fofc(base):
    t = fresh(base)
    t.run("refl phase; make map 4 fcalc; fourier map 4 forward; "
          "fourier map 2 backward fobs; fourier map 3 backward fofc; make map 5 2fofc")
    a2, a5 = (np.asarray(t.maps[k].array).ravel() for k in (2, 5))
    # Fobs with model phases: close to a 2Fo-Fc map of the same model
    assert np.corrcoef(a2, a5)[0, 1] > 0.85
    with pytest.raises(LangError):
        t.run("fourier map 4 forward fobs")


def test_free_kick_target_runs_and_reports_r_free(base):
    t = fresh(base)
    t.run("refl phase; ener xray on target kick; refine position step 3 phase steps 2")
    out = t.out.getvalue()
    assert "xray" in out and t.variables["R_FREE"] > 0
    from mainpy.app.terms import build_objective
    obj = build_objective(t)
    part = obj.part("xray")
    assert part.target.name == "kick" and part.target.sigmaa.used_free is False


def test_shipped_macros_pass_check(tmp_path):
    macros = package_dir("macros")
    examples = Path(__file__).resolve().parents[2] / "examples"
    args = [examples / "demo_start.pdb", examples / "demo.mtz", tmp_path / "out.pdb"]
    for name in ("kick_refine.cmds",):          # as `mainpy --check kick_refine.cmds -- ...`
        res = check_file(macros / name, args)
        assert res.errors == [], [e.format() for e in res.errors]
    # dens_comb.cmds is a phase macro: it is checked where the refinement page calls it
    text = ("<DEF_ALL\nkey model_part sele all end\nkey model_mask sele all end\n"
            "ener dens map MAP_FO\nminimize step 10 phase steps 5 phase macro dens_comb.cmds\n")
    res = check_text(text, "<setup>")
    assert res.errors == [] and res.warnings == [], [e.format() for e in res.errors]


def test_refl_kick_rephases_a_kicked_copy(base):
    t = fresh(base)
    t.run("refl phase")
    r0 = t.variables["R_WORK"]
    xyz = t.atoms.xyz.copy()
    t.run("refl kick = 0.3 seed 2")
    assert t.variables["R_WORK"] > r0 + 0.01          # a kicked model fits worse
    assert np.array_equal(t.atoms.xyz, xyz)           # the model itself did not move


def test_kick_refine_macro_runs(data, monlib_dir, tmp_path):
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    s.run("set vari KICK_RUN = 4; set vari KICK_STEPS = 2; set vari KICK_LAW = exponential")
    out = tmp_path / "kicked.pdb"
    s.run(f"<kick_refine {data('xtal/1aba/1aba.pdb')} {data('xtal/1aba/1aba.mtz')} {out}")
    log = s.out.getvalue()
    assert out.exists() and log.count("kick protocol: amplitude 0.3 A falling "
                                      "exponentially") == 2
    assert s.variables["KICK_SEED"] == "1"          # the macro's default


def test_dens_comb_macro_as_the_phase_macro(base):
    # the full model, MAP_ORIG its own 2mFo-DFc map: a short run of the phase hook
    t = fresh(base)
    t.run("<DEF_ALL\nrefl phase\nmake map MAP_ORIG 2mfodfc\nmake map MAP_FO from MAP_ORIG copy\n"
          "key model_part sele resi numb 1 : 60 end\nkey model_mask sele all end\n"
          "ener dens map MAP_FO scal 800.\n"
          "minimize sele work_set end step 4 phase steps 2 phase macro dens_comb.cmds")
    log = t.out.getvalue()
    assert "Fobs amplitudes with their phases -> map 2" in log
    assert "Fobs - k|F| with their phases -> map 3" in log
    fo, orig = (np.asarray(t.maps[k].array).ravel() for k in (2, 1))
    assert np.corrcoef(fo, orig)[0, 1] > 0.8             # MAP_FO was remade, still close
    assert not np.array_equal(fo, orig)


def test_free_kick_target_without_any_free_set(base):
    import dataclasses
    t = fresh(base)
    r = base.reflections
    t.reflections = dataclasses.replace(r, free=np.zeros(len(r), bool))
    t.run("refl phase; ener xray on target kick; refine position step 3 phase steps 2")
    assert t.fmodel.refl.test.sum() == 0
    assert "R-free" in t.out.getvalue() and t.variables["R_WORK"] < 0.25
