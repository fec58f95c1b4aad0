"""Outliers among the observed amplitudes (Read 1999): the tail probabilities against
amplitudes drawn from the Rice model itself, injected outliers in 1aba's measured data
found (and nothing much else), and what the session says and does with them."""

import io

import gemmi
import numpy as np
import pytest

from mainpy.session import Session
from mainpy.xtal.outliers import LEVEL, find_outliers, model_outliers, tail_probabilities
from mainpy.xtal.reflections import read_reflections


def _rice_draws(n, centric, rng):
    """Amplitudes drawn as the model says: |D Fm + error| with a complex (acentric) or
    real (centric) Gaussian error of variance v = epsilon S + sigF^2."""
    fm = rng.gamma(2.0, 50.0, n)
    D = rng.uniform(0.6, 1.0, n)
    S = rng.uniform(100.0, 3000.0, n)
    sigf = rng.uniform(0.0, 20.0, n)
    eps = rng.choice([1.0, 2.0], n)
    v = eps * S + sigf ** 2
    if centric:
        fo = np.abs(D * fm + rng.normal(0, np.sqrt(v)))
    else:
        e = rng.normal(0, np.sqrt(v / 2)) + 1j * rng.normal(0, np.sqrt(v / 2))
        fo = np.abs(D * fm + e)
    return fo, fm, D, S, sigf, np.full(n, centric), eps


@pytest.mark.parametrize("centric", [False, True])
def test_tail_probabilities_are_uniform_for_amplitudes_of_the_model(centric):
    """P(F >= Fo) of draws from the distribution itself is uniform on (0, 1) (its
    quantiles within Monte-Carlo error), and no draw is an outlier at the 1 % level."""
    rng = np.random.default_rng(5 if centric else 6)
    args = _rice_draws(40000, centric, rng)
    high, low = tail_probabilities(*args)
    assert np.allclose(high + low, 1.0, atol=1e-9)
    q = np.quantile(high, [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
    assert np.allclose(q, [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99], atol=0.008)
    out, _ = model_outliers(*args, np.ones(40000, bool))
    assert out.sum() == 0
    # the same amplitudes 5x as strong: rejected (almost) all where the model is sure
    fo, fm, D, S, sigf, c, eps = args
    big = np.r_[fo[:200] * 5, fo[200:]]
    sure = ((fo > D * fm) & ((D * fm) ** 2 > 3 * (eps * S + sigf ** 2)))[:200]
    out, strong = model_outliers(big, fm, D, S, sigf, c, eps, np.ones(40000, bool))
    assert sure.sum() >= 10 and out[:200][sure].all()
    assert (strong == out).all() and out[200:].sum() == 0


@pytest.fixture(scope="module")
def spoiled(data, tmp_path_factory):
    """1aba's data with 10 amplitudes x10, 10 x50 and a thin shell x5 (as an ice ring)."""
    mtz = gemmi.read_mtz_file(str(data("xtal/1aba/1aba.mtz")))
    a = np.array(mtz, copy=True)
    d = mtz.cell.calculate_d_array(a[:, :3].astype(np.int32))
    obs = np.isfinite(a[:, 3]) & (a[:, 3] > 0)
    rng = np.random.default_rng(8)
    x10, x50 = np.split(rng.choice(np.flatnonzero(obs & ((d < 3.7) | (d > 3.95))), 20,
                                   replace=False), 2)
    ring = obs & (d > 3.86) & (d < 3.92)
    a[x10, 3] *= 10
    a[x50, 3] *= 50
    a[ring, 3] *= 5
    mtz.set_data(a)
    path = tmp_path_factory.mktemp("outliers") / "spoiled.mtz"
    mtz.write_to_file(str(path))
    return path, x10, x50, ring


def test_injected_outliers_are_found_and_little_else(data, spoiled):
    path, x10, x50, ring = spoiled
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}; read refl file {path}; refl phase")
    out = s.reflections.outliers
    # rows of the file as read (systematic absences dropped): map the injected rows
    raw = read_reflections(path)
    assert len(raw) == len(s.reflections)
    mtz = gemmi.read_mtz_file(str(path))
    key = {tuple(h): k for k, h in enumerate(raw.hkl)}
    hkl = np.array(mtz, copy=False)[:, :3].astype(int)
    rows = lambda idx: [key[tuple(h)] for h in hkl[idx]]          # noqa: E731
    assert out[rows(x10)].all() and out[rows(x50)].all()
    assert out[rows(np.flatnonzero(ring))].mean() > 0.8
    injected = set(rows(x10)) | set(rows(x50)) | set(rows(np.flatnonzero(ring)))
    assert len(set(np.flatnonzero(out)) - injected) <= 2            # 1aba's own: one
    text = s.out.getvalue()
    assert f"{int(out.sum())} of 15731 observed reflections rejected as outliers" in text
    # R-free as on the clean data (0.2111): the outliers no longer count
    clean = Session(out=io.StringIO())
    clean.run(f"read coor file {data('xtal/1aba/1aba.pdb')}; "
              f"read refl file {data('xtal/1aba/1aba.mtz')}; refl outliers off; refl phase")
    assert s.variables.get("R_FREE") == pytest.approx(clean.variables.get("R_FREE"), abs=0.003)
    # OFF keeps every reflection (R-work rises with them), ON judges again
    s.run("refl outliers off; refl phase")
    assert s.fmodel.refl.observed.sum() == 15731
    assert s.variables.get("R_WORK") > clean.variables.get("R_WORK") + 0.003
    s.run("refl outliers on; refl phase")
    assert np.array_equal(s.reflections.outliers, out)


def test_outliers_found_on_a_data_set_as_on_its_sub_range(data, spoiled):
    """With REFL RESO limits the rows outside are not judged; those inside as before."""
    path, *_ = spoiled
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}; read refl file {path}; "
          "refl reso 20 2.0; refl phase")
    out = s.reflections.outliers
    inside = (s.reflections.d >= 2.0) & (s.reflections.d <= 20)
    assert not out[~inside].any() and out[inside].sum() >= 10
    again = find_outliers(s.fmodel.refl, s.fmodel.f_model)[0]
    assert again.sum() <= 2      # judged again without them: (almost) none left


def test_written_data_leave_the_outliers_out_as_the_maps_do(data, spoiled, tmp_path):
    path, x10, x50, _ = spoiled
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}; read refl file {path}; "
          f"write refl file {tmp_path / 'out.mtz'}")
    assert "rejected outliers as missing" in s.out.getvalue()
    back = read_reflections(tmp_path / "out.mtz")
    assert back.observed.sum() == 15731 - int(s.reflections.outliers.sum())
    assert LEVEL == 0.01


def test_a_screen_that_finds_none_says_so_in_the_data_lines(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1d7m/1d7m.pdb')}; read refl file {data('xtal/1d7m/1d7m.mtz')}")
    s.run("refl phase")
    assert "rejected as outliers" not in s.out.getvalue()       # RE_PHASE stays quiet
    assert not s.reflections.outliers.any()
    s.run("refl show")
    assert "no outliers among 15069 observed reflections (Read 1999)" in s.out.getvalue()
