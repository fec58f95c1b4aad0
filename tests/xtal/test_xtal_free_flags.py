"""Free-R flag conventions, MTZ column types, and flags kept when data are written."""

import gemmi
import numpy as np
import pytest

from mainpy.errors import InputError
from mainpy.xtal.maps import write_mtz
from mainpy.xtal.reflections import free_set, read_reflections


def test_phenix_flags_one_is_free(data):
    """2r4r's R-free-flags are 1 = free (9.7 %): read as such, not as a 90 % test set."""
    r = read_reflections(data("xtal/2r4r/2r4r.mtz"))
    flags = np.rint(r.flags[r.observed])
    assert r.free_value == 1 and (flags[r.free[r.observed]] == 1).all()
    assert 0.09 < r.test.sum() / r.observed.sum() < 0.10
    assert "Phenix" in r.free_note


@pytest.mark.parametrize("case, value", [("1aba", 0), ("1d7m", 0), ("5e5z", 0)])
def test_ccp4_flags_zero_is_free(data, case, value):
    r = read_reflections(data(f"xtal/{case}/{case}.mtz"))
    assert r.free_value == value and 0.03 < r.test.sum() / r.observed.sum() < 0.06


def test_a_given_value_wins_and_a_silly_one_is_flagged(data):
    r = read_reflections(data("xtal/2r4r/2r4r.mtz"), free_value=0)
    assert r.test.sum() / r.observed.sum() > 0.9 and "unusual" in r.free_note


def test_fractions_out_of_range_are_refused():
    obs = np.ones(1000, bool)
    flags = np.r_[np.zeros(2), np.arange(998) % 19 + 1].astype(float)   # 0: 0.2 %
    with pytest.raises(InputError, match=r"0\.2 %.*free_value"):
        free_set(flags, obs)
    free, value, note = free_set(flags, obs, free_value=0)              # told: taken
    assert free.sum() == 2 and "unusual" in note


def test_no_test_set_is_said(data):
    r = read_reflections(data("xtal/1ehz/1ehz.mtz"))
    assert not r.free.any() and "no test set" in r.free_note


@pytest.mark.parametrize("kw, message", [
    ({"fobs": "SIGFP"}, r"'SIGFP' is of type Q \(sigmas\), not amplitudes"),
    ({"fobs": "FP", "sigma": "FP"}, r"'FP' is of type F \(amplitudes\), not sigmas"),
    ({"iobs": "FP"}, r"'FP' is of type F \(amplitudes\), not intensities"),
    ({"free": "FP"}, r"not integers \(flags\)|not free-R flags|type F"),
])
def test_column_types_are_checked(data, kw, message):
    with pytest.raises(InputError, match=message):
        read_reflections(data("xtal/1aba/1aba.mtz"), **kw)


def test_written_mtz_keeps_the_flag_values(data, tmp_path):
    r = read_reflections(data("xtal/1aba/1aba.mtz"))
    out = tmp_path / "out.mtz"
    write_mtz(str(out), r)
    m = gemmi.read_mtz_file(str(out))
    flags = np.array(m.column_with_label("FREE"), float)
    assert set(np.unique(flags[np.isfinite(flags)]).astype(int)) == set(range(20))
    back = read_reflections(str(out))
    assert (back.free == r.free).all() and back.free_value == 0
