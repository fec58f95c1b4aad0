"""READ REFL, REFL, MAKE MAP, FOURIER, READ/WRITE MAP and WRITE REFL through the language."""

import io

import gemmi
import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.session import Session

# cctbx mmtbx.model_vs_data on the same files (default settings), from issue 3
PEER = {"1aba": (0.2072, 0.2101)}


@pytest.fixture(scope="module")
def s(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    s.run("refl shel 8 phase")
    return s


def test_r_values_through_the_language(s):
    rw, rf = s.variables["R_WORK"], s.variables["R_FREE"]
    print(f"1aba mainpy {rw:.4f}/{rf:.4f}  cctbx {PEER['1aba'][0]:.4f}/{PEER['1aba'][1]:.4f}")
    assert rw <= PEER["1aba"][0] + 0.003 and rf <= PEER["1aba"][1] + 0.003
    s.run("show r-value vari RF")
    assert s.variables["RF"] == rf
    table = s.out.getvalue()
    assert table.count("\n") > 9 and "all" in table


def test_switches_change_the_fit(s):
    t = Session(out=io.StringIO())
    t.model, t.reflections = s.model, s.reflections
    t.run("refl solv_flat off aniso off phase")
    assert t.variables["R_WORK"] > s.variables["R_WORK"] + 0.01   # no bulk solvent: worse
    t.run("refl solv_flat on aniso on reso 30 2.0 phase")
    assert t.fmodel.refl.d_min >= 2.0 and t.fmodel.refl.d_max <= 30


def test_maps_arithmetic_and_fourier_round_trip(s, tmp_path):
    s.run("make map 1 2mfodfc; make map 2 from 1 copy scale 2; make map 2 from 1 subtract")
    a1, a2 = (np.asarray(s.maps[k].array) for k in (1, 2))
    assert np.allclose(a2, a1, atol=1e-5)
    s.run("fourier map 1 forward; fourier map 3 backward")
    assert np.allclose(np.asarray(s.maps[3].array), a1, atol=1e-4 * a1.std())
    s.run("make map 4 mask sele resi numb 5 end radius 2.0; make map 5 from 1 copy; "
          "make map 5 flatten mask 4 value 0; make map 6 from 1 copy; make map 6 sigma")
    m4 = np.asarray(s.maps[4].array)
    assert set(np.unique(m4)) == {0.0, 1.0}
    assert (np.asarray(s.maps[5].array)[m4 == 0] == 0).all()
    assert abs(np.asarray(s.maps[6].array).std() - 1) < 1e-4
    s.run("make map 7 zero; make map 7 set -1 1 9999.")
    assert (np.asarray(s.maps[7].array) == 9999.0).all()
    f = tmp_path / "m.ccp4"
    s.run(f"write map 1 file {f}; read map 8 file {f}")
    assert np.array_equal(np.asarray(s.maps[8].array), a1)


def test_write_refl_round_trip(s, tmp_path):
    f = tmp_path / "out.mtz"
    s.run(f"write refl file {f}")
    mtz = gemmi.read_mtz_file(str(f))
    assert [c.label for c in mtz.columns][3:] == ["FP", "SIGFP", "FREE", "FC", "PHIC", "FWT",
                                                  "PHWT", "DELFWT", "PHDELWT", "FOM"]
    t = Session(out=io.StringIO())
    t.run(f"read refl file {f}")
    r0, r1 = s.reflections, t.reflections
    out = r0.outliers if r0.outliers is not None else np.zeros(len(r0), bool)
    obs = r0.observed & ~out        # the rejected outliers are written as missing
    assert np.array_equal(r1.hkl, r0.hkl) and np.allclose(r1.fobs[obs], r0.fobs[obs], rtol=1e-6)
    assert np.array_equal(r1.observed, obs)
    assert np.array_equal(r1.free, r0.free)


def test_bad_data_leave_the_session_unchanged(s, data, tmp_path):
    before = s.fingerprint()
    for bad in (f"read refl file {data('xtal/1l2h/1l2h.mtz')}",     # another crystal
                f"read refl file {data('xtal/1aba/1aba.mtz')} fobs NOPE",
                f"read coor file {data('xtal/1d7m/1d7m.pdb')}",     # model of another crystal
                "make map 3 from 99 copy", "read map 3 file nowhere.ccp4"):
        with pytest.raises(LangError) as e:
            s.run(bad)
        assert s.fingerprint() == before, bad
        assert e.value.message
    with pytest.raises(LangError) as e:
        s.run(f"read refl file {data('xtal/1l2h/1l2h.mtz')}")
    assert "P 43" in e.value.message and "P 21 21 21" in e.value.message


def test_intensities_are_converted(data):
    t = Session(out=io.StringIO())
    t.run(f"read refl file {data('xtal/1l2h/1l2h.mtz')}")
    assert t.reflections.french_wilson
    assert "French-Wilson" in t.out.getvalue()


def test_a_run_starts_from_the_last_rephase(data):
    from mainpy.app.phasing import run_fmodel
    t = Session(out=io.StringIO())
    t.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    t.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    t.run("refl phase")
    last = t.fmodel
    fc, r = last.fcalc.copy(), last.r_factors()
    same = run_fmodel(t)                  # atoms unchanged: the same Fmodel, not refitted
    assert same is not last and same.fcalc is last.fcalc and same.scales is last.scales
    t.run("set coor kick = 0.3 seed 4")
    moved = run_fmodel(t)                 # atoms moved: updated, the session's untouched
    assert np.abs(moved.fcalc - fc).max() > 1.0
    assert np.array_equal(t.fmodel.fcalc, fc) and t.fmodel.r_factors() == r
    assert moved.r_factors()[0] > r[0] + 0.01
    t.run("refl reso 20 2.0")             # other settings: a new Fmodel for them
    assert run_fmodel(t).refl.d.min() >= 2.0 > last.refl.d.min()


def test_sf_mmcif_without_crystal_takes_the_models(data):
    """1ehz-sf.cif has no cell and no space group: with the model read first they are the
    model's (said in one line), and the data agree with the MTZ of the same entry."""
    s = Session(out=io.StringIO())
    with pytest.raises(Exception, match="no space group; read the model first"):
        s.run(f"read refl file {data('xtal/1ehz/1ehz-sf.cif')}")
    s.run(f"read coor file {data('xtal/1ehz/1ehz.pdb')}")
    s.out = io.StringIO()
    s.run(f"read refl file {data('xtal/1ehz/1ehz-sf.cif')}")
    assert "space group and cell not in the file: the model's (P 1 21 1" in s.out.getvalue()
    refl = s.reflections
    assert refl.cell.parameters == s.model.cell.parameters
    m = gemmi.read_mtz_file(str(data("xtal/1ehz/1ehz.mtz")))
    assert refl.observed.sum() == m.nreflections                  # the same 15371 observed
    s.run("refl phase")
    rw = s.variables["R_WORK"]
    s.run(f"read refl file {data('xtal/1ehz/1ehz.mtz')}; refl phase")
    assert abs(s.variables["R_WORK"] - rw) < 0.005


def test_refl_free_generate(data, tmp_path):
    """Data without free flags get a seeded test set on request, written out as FREE
    (0 = free) and read back as the same set; data with a set refuse a new one."""
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1ehz/1ehz.pdb')}")
    s.run(f"read refl file {data('xtal/1ehz/1ehz.mtz')}")
    assert not s.reflections.test.any()
    s.run("refl free generate seed 7")
    refl = s.reflections
    frac = refl.test.sum() / refl.observed.sum()
    assert 0.045 < frac < 0.055 and "test set made now" in refl.free_note
    s.run("refl phase")
    assert s.variables["R_FREE"] > 0
    s.run(f"write refl file {tmp_path / 'f.mtz'}")
    back = Session(out=io.StringIO())
    back.run(f"read coor file {data('xtal/1ehz/1ehz.pdb')}")
    back.run(f"read refl file {tmp_path / 'f.mtz'}")
    assert np.array_equal(back.reflections.test, refl.test)
    with pytest.raises(Exception, match="the data have a test set"):
        back.run("refl free generate")
    other = Session(out=io.StringIO())
    other.run(f"read refl file {data('xtal/1ehz/1ehz.mtz')}; refl free generate seed 7")
    assert np.array_equal(other.reflections.free, refl.free)       # the seed decides
    fresh = Session(out=io.StringIO())
    fresh.run(f"read refl file {data('xtal/1ehz/1ehz.mtz')}")
    with pytest.raises(Exception, match="between 0 and 0.5"):
        fresh.run("refl free generate fraction 0.7")
    assert not fresh.reflections.test.any()                       # the session as it was
