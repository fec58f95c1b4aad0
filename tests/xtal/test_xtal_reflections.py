"""Reading reflection files: column choice, free flags, unobserved data, mmCIF."""

import gemmi
import numpy as np
import pytest

from mainpy.xtal.reflections import read_reflections, select_resolution


def _raw(path, *labels):
    mtz = gemmi.read_mtz_file(str(path))
    return [np.array(mtz.column_with_label(lab), dtype=float) for lab in labels]


def test_1aba_amplitudes_unobserved_and_flags(data):
    path = data("xtal/1aba/1aba.mtz")
    r = read_reflections(path)
    assert r.labels["fobs"] == "FP" and r.labels["sigma"] == "SIGFP"
    assert r.labels["free"] == "FreeR_flag"
    fp, flag = _raw(path, "FP", "FreeR_flag")
    n_nan, n_zero = int(np.isnan(fp).sum()), int((fp == 0).sum())
    assert (n_nan, n_zero) == (287, 422)          # the file's quirks (data README)
    # unobserved reflections are kept, masked, and have NaN amplitude and sigma
    assert len(r) == len(fp)
    assert r.observed.sum() == len(fp) - n_nan - n_zero
    assert np.isnan(r.sigf[~r.observed]).all() and np.isnan(r.fobs[~r.observed]).all()
    # flag 0 is free (CCP4); counted over every reflection, as in the file
    assert r.free.sum() == int((flag == 0).sum()) == 846
    assert r.free_value == 0
    # another free value picks another of the 20 sets, of similar size
    r5 = read_reflections(path, free_value=5)
    assert 0.03 < r5.free.mean() < 0.07 and not (r5.free & r.free).any()


def test_1d7m_free_column_named_free(data):
    r = read_reflections(data("xtal/1d7m/1d7m.mtz"))
    assert r.labels["free"] == "FREE"
    assert r.test.sum() == 769
    assert r.d_min == pytest.approx(2.400, abs=1e-3)
    s = r.summary()
    assert s["free_fraction"] == pytest.approx(769 / s["observed"], rel=1e-12)


def test_1l2h_intensities_become_amplitudes(data):
    r = read_reflections(data("xtal/1l2h/1l2h.mtz"))
    assert r.french_wilson and r.labels["iobs"] == "IMEAN"
    assert r.observed.sum() == 31781            # negative intensities are data too
    assert (r.iobs < 0).sum() == 448
    assert (r.fobs[r.iobs < 0] > 0).all()
    # very strong reflections are hardly changed by the prior
    strong = r.iobs > 30 * r.sigi
    assert strong.sum() > 5000
    rel = np.abs(r.fobs[strong] - np.sqrt(r.iobs[strong])) / np.sqrt(r.iobs[strong])
    assert np.median(rel) < 1e-3 and rel.max() < 0.01


def test_explicit_labels(data):
    path = data("xtal/1l2h/1l2h_fw.mtz")
    r = read_reflections(path, fobs="F", sigma="SIGF", free="FREE")
    f, = _raw(path, "F")
    assert r.labels == {"sigma": "SIGF", "free": "FREE", "fobs": "F"}
    assert r.observed.sum() == np.isfinite(f).sum()
    ri = read_reflections(path, iobs="I", sigma="SIGI", free="FREE")
    assert ri.french_wilson
    both = r.observed & ri.observed
    rel = np.abs(ri.fobs[both] - r.fobs[both]) / r.fobs[both]
    assert np.median(rel) < 0.01


def test_resolution_selection(data):
    r = read_reflections(data("xtal/1d7m/1d7m.mtz"))
    cut = select_resolution(r, 2.7, 20.0)
    assert cut.d.min() >= 2.7 - 1e-9 and cut.d.max() <= 20.0 + 1e-9
    n_expected = int(((r.d >= 2.7) & (r.d <= 20.0)).sum())
    assert len(cut) == n_expected
    # the README's count for 1d7m cut at 2.7 A: 10420 work + 568 free (all low res)
    cut27 = select_resolution(r, 2.7)
    assert (cut27.work.sum(), cut27.test.sum()) == (10420, 568)
    # limits in either order
    assert len(select_resolution(r, 20.0, 2.7)) == n_expected


def test_mmcif_structure_factors(data, tmp_path):
    """An mmCIF SF file written by gemmi's MtzToCif reads back to the same data."""
    path = data("xtal/1aba/1aba.mtz")
    mtz = gemmi.read_mtz_file(str(path))
    conv = gemmi.MtzToCif()
    conv.spec_lines = ["H H index_h", "K H index_k", "L H index_l",
                       "FreeR_flag I status S",
                       "FP F F_meas_au", "SIGFP Q F_meas_sigma_au"]
    cif = tmp_path / "1aba-sf.cif"
    cif.write_text(conv.write_cif_to_string(mtz))
    a = read_reflections(path)
    b = read_reflections(cif)
    assert b.spacegroup.hm == a.spacegroup.hm
    ka = {tuple(h): i for i, h in enumerate(a.hkl)}
    idx = np.array([ka[tuple(h)] for h in b.hkl])
    both = b.observed
    np.testing.assert_allclose(b.fobs[both], a.fobs[idx][both], rtol=1e-5)
    assert b.observed.sum() == a.observed.sum()
    assert b.test.sum() == a.test.sum()
