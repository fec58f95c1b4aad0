"""French & Wilson amplitudes against servalcat's, and against closed forms."""

import numpy as np
from scipy.special import erfc

from mainpy.xtal.french_wilson import french_wilson
from mainpy.xtal.reflections import read_reflections


def test_fw_1l2h_matches_servalcat(data):
    """servalcat fw (1l2h_fw.mtz, columns F, SIGF) on the same intensities."""
    mine = read_reflections(data("xtal/1l2h/1l2h.mtz"))
    ref = read_reflections(data("xtal/1l2h/1l2h_fw.mtz"), fobs="F", sigma="SIGF", free="FREE")
    where = {tuple(h): i for i, h in enumerate(ref.hkl)}
    idx = np.array([where.get(tuple(h), -1) for h in mine.hkl])
    assert (idx >= 0).all()
    ok = mine.observed & ref.observed[idx]
    assert ok.sum() == 31781
    f_rel = np.abs(mine.fobs[ok] - ref.fobs[idx][ok]) / ref.fobs[idx][ok]
    s_rel = np.abs(mine.sigf[ok] - ref.sigf[idx][ok]) / ref.sigf[idx][ok]
    print(f"FW vs servalcat: median rel diff F {np.median(f_rel):.2e}, "
          f"SIGF {np.median(s_rel):.2e}, 99th pct F {np.percentile(f_rel, 99):.3f}")
    assert np.median(f_rel) < 0.01
    assert np.median(s_rel) < 0.01
    # negative intensities: the case where FW matters most
    neg = mine.iobs[ok] < 0
    assert np.median(f_rel[neg]) < 0.03


def test_fw_acentric_mean_intensity_closed_form():
    """<F^2> of the acentric posterior (a normal truncated at 0) has a closed form:
    mu + sig * phi(a)/Q(a), a = -mu/sig. FW's sigF and F give <F^2> = F^2 + sigF^2."""
    rng = np.random.default_rng(3)
    n = 2000
    sig = rng.uniform(0.5, 5, n)
    iobs = rng.normal(0, 1, n) * sig * 3 + rng.uniform(-2, 20, n)
    big_s = np.full(n, 10.0)
    f, sf = french_wilson(iobs, sig, np.full(n, 3.0), np.zeros(n, bool), np.ones(n),
                          mean_intensity=big_s)
    mu = iobs - sig ** 2 / big_s
    a = -mu / sig
    phi = np.exp(-a ** 2 / 2) / np.sqrt(2 * np.pi)
    q = 0.5 * erfc(a / np.sqrt(2))
    ej = mu + sig * phi / q
    np.testing.assert_allclose(f ** 2 + sf ** 2, ej, rtol=1e-6)


def test_fw_centric_zero_measurement():
    """Centric with I = 0: the posterior in F is a half-normal-like exp(-F^4/2s^2 - F^2/2S)
    whose moments are checked by dense direct integration."""
    sig, big_s = 2.0, 5.0
    f, sf = french_wilson(np.array([0.0]), np.array([sig]), np.array([3.0]),
                          np.array([True]), np.array([1.0]), mean_intensity=np.array([big_s]))
    x = np.linspace(0, 10, 200001)
    p = np.exp(-x ** 4 / (2 * sig ** 2) - x ** 2 / (2 * big_s))
    m1 = np.trapezoid(x * p, x) / np.trapezoid(p, x)
    m2 = np.trapezoid(x * x * p, x) / np.trapezoid(p, x)
    assert abs(f[0] - m1) < 1e-6
    assert abs(sf[0] - np.sqrt(m2 - m1 ** 2)) < 1e-6
