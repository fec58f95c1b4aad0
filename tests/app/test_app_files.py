"""Written models carry mainpy's own statistics, about the model in hand."""

import io
import math
import subprocess
import sys
import textwrap

import gemmi
import pytest

from mainpy.app.phasing import data_in_use
from mainpy.session import Session


def _session(data, monlib_dir, model="xtal/1aba/1aba.pdb", mtz="xtal/1aba/1aba.mtz"):
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    s.run(f"read coor file {data(model)}")
    if mtz:
        s.run(f"read refl file {data(mtz)}")
    s.run("define bond angle dihe impr by topo")
    return s


@pytest.mark.parametrize("ext", ["pdb", "cif"])
def test_written_header_is_mainpys(data, monlib_dir, tmp_path, ext):
    s = _session(data, monlib_dir)
    s.run("refl phase; set coor kick 0.5 seed 3 sele all end")   # the model changes after
    out = tmp_path / f"out.{ext}"
    s.run(f"write coor file {out}")
    s.run("refl r-value")                                         # the figure printed now
    rw, rf = s.variables["R_WORK"], s.variables["R_FREE"]
    st = gemmi.read_structure(str(out))
    (ri,) = st.meta.refinement
    assert ri.r_work == pytest.approx(rw, abs=1e-4) and ri.r_free == pytest.approx(rf, abs=1e-4)
    assert rw > 0.3                            # the kicked model's R, not the input's 0.175
    refl = data_in_use(s)                      # the data refined against: outliers out
    assert refl.observed.sum() == s.reflections.observed.sum() - s.reflections.outliers.sum()
    assert ri.resolution_high == pytest.approx(refl.d[refl.observed].min(), abs=0.01)
    n_work, n_free = int(refl.work.sum()), int(refl.test.sum())
    assert ri.reflection_count == n_work + n_free and ri.rfree_set_count == n_free
    if ext == "cif":                  # the PDB template has no line for the work count
        assert ri.work_set_count == n_work
    assert [x.name.lower() for x in st.meta.software if x.classification ==
            gemmi.SoftwareItem.Classification.Refinement] == ["mainpy"]
    text = out.read_text()
    assert "0.175" not in text                 # the depositor's R is gone
    if ext == "pdb":
        remark3 = "".join(line for line in text.splitlines() if line.startswith("REMARK   3"))
        assert "X-PLOR" not in remark3 and "MAINPY" in remark3
    if ext == "cif":
        doc = gemmi.cif.read(str(out))
        b = doc.sole_block()
        assert float(b.find_value("_refine.ls_R_factor_R_free")) == pytest.approx(rf, abs=1e-4)
        assert [gemmi.cif.as_string(v) for v in b.find_loop("_refine_ls_restr.type")] == [
            "r_bond_refined_d",
            "r_angle_refined_deg"]


def test_shelx_statistics_of_an_mmcif_are_replaced(data, monlib_dir, tmp_path):
    s = _session(data, monlib_dir, "xtal/1l2h/1l2h.cif", "xtal/1l2h/1l2h.mtz")
    s.run(f"refl phase; write coor file {tmp_path / 'x.cif'}")
    b = gemmi.cif.read(str(tmp_path / "x.cif")).sole_block()
    assert float(b.find_value("_refine.ls_R_factor_R_free")) == pytest.approx(
        s.variables["R_FREE"], abs=1e-4)
    assert "SHELXL" not in (tmp_path / "x.cif").read_text()


def test_without_data_no_r_value_is_claimed(data, monlib_dir, tmp_path):
    s = _session(data, monlib_dir, mtz=None)
    s.run(f"write coor file {tmp_path / 'x.pdb'}")
    st = gemmi.read_structure(str(tmp_path / "x.pdb"))
    assert all(math.isnan(r.r_work) and math.isnan(r.r_free) for r in st.meta.refinement)
    assert "R VALUE" not in (tmp_path / "x.pdb").read_text()


def test_an_empty_selection_writes_nothing(data, monlib_dir, tmp_path):
    s = _session(data, monlib_dir, mtz=None)
    out = tmp_path / "keep.pdb"
    out.write_text("precious\n")
    with pytest.raises(Exception, match="no atoms"):
        s.run(f"write coor file {out} sele resi name XYZ end")
    assert out.read_text() == "precious\n"


def test_set_temp_iso_leaves_no_anisou(data, tmp_path):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/5e5z/5e5z.pdb')}; set temp iso")
    s.run(f"write coor file {tmp_path / 'iso.pdb'}")
    assert "ANISOU" not in (tmp_path / "iso.pdb").read_text()


def test_cctbx_reads_mainpys_r_values(data, monlib_dir, tmp_path):
    import importlib.util
    if importlib.util.find_spec("iotbx") is None:    # (cctbx and gemmi in one process crash)
        pytest.skip("cctbx-base is not installed (pip install cctbx-base)")
    s = _session(data, monlib_dir)
    out = tmp_path / "out.pdb"
    s.run(f"refl phase; write coor file {out}")
    code = textwrap.dedent(f"""
        import iotbx.pdb
        inp = iotbx.pdb.input(file_name={str(out)!r})
        r = inp.get_r_rfree_sigma()
        print(r.r_work, r.r_free, r.high)
    """)
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert float(got[0]) == pytest.approx(s.variables["R_WORK"], abs=1e-4)
    assert float(got[1]) == pytest.approx(s.variables["R_FREE"], abs=1e-4)


@pytest.mark.parametrize("ext", ["pdb", "cif"])
def test_written_r_free_error_is_the_bootstrap_error(data, monlib_dir, tmp_path, ext):
    """5e5z's test set has 18 reflections: the written estimated error of R-free (CNS's
    REMARK 3 line, mmCIF _refine.ls_R_factor_R_free_error) is what resampling those
    reflections gives, and the RE_PHASE line prints it beside R-free."""
    import numpy as np
    s = _session(data, monlib_dir, "xtal/5e5z/5e5z.pdb", "xtal/5e5z/5e5z.mtz")
    s.run("refl phase")
    assert "(+-0.0" in s.out.getvalue() and "18 test reflections" in s.out.getvalue()
    out = tmp_path / f"out.{ext}"
    s.run(f"write coor file {out}")
    fm, r = s.fmodel, s.reflections
    fo, fc = r.fobs[r.test], np.abs(fm.f_model[r.test])
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(4000):
        i = rng.integers(0, len(fo), len(fo))
        boot.append(np.abs(fo[i] - fc[i]).sum() / fo[i].sum())
    if ext == "pdb":
        (line,) = [x for x in out.read_text().splitlines() if "ESTIMATED ERROR OF FREE R" in x]
        written = float(line.split(":")[1])
    else:
        written = float(gemmi.cif.read(str(out)).sole_block().find_value(
            "_refine.ls_R_factor_R_free_error"))
        assert gemmi.read_structure(str(out)).meta.refinement[0].rfree_set_count == 18
    assert written == pytest.approx(np.std(boot), rel=0.05)
    assert 0.03 < written < 0.07
    assert s.variables["R_FREE_ERROR"] == pytest.approx(written, abs=1e-4)   # for macros


def test_no_r_free_error_beside_a_large_test_set(data, monlib_dir):
    """1aba's 808 test reflections: R-free printed alone (its error, 0.009, is in the
    written header only)."""
    s = _session(data, monlib_dir)
    s.run("refl phase")
    assert "+-" not in s.out.getvalue() and "test reflections)" not in s.out.getvalue()
    se, n = s.fmodel.r_free_error()
    assert n == 808 and 0.005 < se < 0.015
