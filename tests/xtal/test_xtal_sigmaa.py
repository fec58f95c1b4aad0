"""sigmaA estimation and figures of merit on simulated data with known D and error."""

import numpy as np
import pytest

from mainpy.xtal.sigmaa import estimate_sigmaa, figure_of_merit, sigmaa_for


def _simulate(case, d_true, s_scale, seed=5):
    """Fo = |D*Fc + e|, e complex Gaussian (real for centric) of variance eps*S(s)."""
    from mainpy.xtal.fcalc import FcalcCalculator
    c = case("1aba")
    refl = c.refl.select(c.refl.observed)
    fc = FcalcCalculator(refl.cell, refl.spacegroup, refl.hkl)(c.atoms)
    rng = np.random.default_rng(seed)
    # error variance a fixed fraction of the local <|Fc|^2/eps> (smooth in resolution)
    s2 = 1 / refl.d ** 2
    order = np.argsort(s2)
    chunks = np.array_split(order, 40)
    xc = [s2[j].mean() for j in chunks]
    yc = [np.mean(np.abs(fc[j]) ** 2 / refl.epsilon[j]) for j in chunks]
    s_var = s_scale * np.interp(s2, xc, yc)
    v = refl.epsilon * s_var
    e = np.where(refl.centric, rng.normal(0, np.sqrt(v)),
                 rng.normal(0, np.sqrt(v / 2)) + 1j * rng.normal(0, np.sqrt(v / 2)))
    ftrue = d_true * fc + e
    return refl, fc, np.abs(ftrue), ftrue, s_var


def test_sigmaa_recovers_d_and_s(case):
    refl, fc, fo, _, s_var = _simulate(case, 0.8, 0.3)
    sig = np.zeros(len(fo))
    sa = estimate_sigmaa(fo, fc, sig, refl.centric, refl.epsilon, refl.d,
                         np.ones(len(fo), bool), per_bin=1000)
    np.testing.assert_allclose(sa.d_bin, 0.8, rtol=0.06)
    # S per bin against the mean true variance of the bin's reflections
    order = np.argsort(1 / refl.d ** 2)
    chunks = np.array_split(order, len(sa.s_bin))
    np.testing.assert_allclose(sa.s_bin, [s_var[j].mean() for j in chunks], rtol=0.12)
    assert np.median(sa.S / s_var) == pytest.approx(1.0, abs=0.05)
    assert ((sa.sigmaa > 0) & (sa.sigmaa <= 1)).all()


def test_fom_is_expected_cosine_of_phase_error(case):
    """<m> equals the mean cos(phase(Fc) - phase(Ftrue)) of the simulation."""
    refl, fc, fo, ftrue, s_var = _simulate(case, 0.9, 0.5, seed=9)
    d = np.full(len(fo), 0.9)
    m = figure_of_merit(fo, fc, np.zeros(len(fo)), refl.centric, refl.epsilon, d, s_var)
    cos_err = np.cos(np.angle(ftrue) - np.angle(fc))
    assert np.mean(m) == pytest.approx(np.mean(cos_err), abs=0.01)
    # also within resolution halves, where the errors differ
    hi = refl.d < np.median(refl.d)
    assert np.mean(m[hi]) == pytest.approx(np.mean(cos_err[hi]), abs=0.02)


def test_sigmaa_from_free_set_of_real_data(fmodel):
    fm = fmodel("1aba")
    sa = sigmaa_for(fm.refl, fm.f_model)
    assert sa.used_free and sa.n_bin.sum() == fm.refl.test.sum()
    # a good model: sigmaA high at low resolution, falling at high resolution
    assert sa.sigmaa[0] > 0.9 and sa.sigmaa[-1] < sa.sigmaa[0]
    np.testing.assert_array_less(0.7, sa.d_bin)


def test_likelihood_gradient_and_optimum(fmodel):
    """The analytic d/dlog D, d/dlog S of the bin likelihood against central differences,
    and the bin fit at a point where both vanish (an interior maximum)."""
    from mainpy.xtal.sigmaa import _fit_bins, log_likelihood, log_likelihood_grad
    fm = fmodel("1aba")
    r = fm.refl
    w = r.test & r.observed
    args = (r.fobs[w], np.abs(fm.f_model[w]), r.sigf[w], r.centric[w], r.epsilon[w])
    assert args[3].any() and not args[3].all()          # centric and acentric terms
    h = 1e-6
    for d, s in ((0.9, 50.0), (0.6, 400.0)):
        _, gd, gs = log_likelihood_grad(*args, d, s)
        fd_d = (log_likelihood(*args, d * np.exp(h), s).sum()
                - log_likelihood(*args, d * np.exp(-h), s).sum()) / (2 * h)
        fd_s = (log_likelihood(*args, d, s * np.exp(h)).sum()
                - log_likelihood(*args, d, s * np.exp(-h)).sum()) / (2 * h)
        assert gd == pytest.approx(fd_d, rel=1e-6) and gs == pytest.approx(fd_s, rel=1e-6)
    d, s = (float(x[0]) for x in _fit_bins(*args, np.zeros(len(args[0]), np.int64), 1))
    ll, gd, gs = log_likelihood_grad(*args, d, s)
    assert abs(gd) < 1e-3 * len(args[0]) and abs(gs) < 1e-3 * len(args[0])
    for dd, ss in ((d * 1.01, s), (d / 1.01, s), (d, s * 1.03), (d, s / 1.03)):
        assert log_likelihood(*args, dd, ss).sum() < ll


def test_bin_hessian_and_all_bins_at_once(fmodel):
    """The per-bin Hessian of `_bin_derivatives` against central differences of its
    gradient, and the fit of every bin at once against scipy's L-BFGS-B on each bin
    alone."""
    from scipy.optimize import minimize

    from mainpy.xtal.sigmaa import _bin_derivatives, _fit_bins, log_likelihood
    fm = fmodel("1aba")
    r = fm.refl
    w = np.flatnonzero(r.test & r.observed)
    w = w[np.argsort(r.d[w])]
    nb = 4
    bin_of = np.repeat(np.arange(nb), np.diff(np.linspace(0, len(w), nb + 1).astype(int)))
    args = (r.fobs[w], np.abs(fm.f_model[w]), r.sigf[w], r.centric[w], r.epsilon[w])
    p = np.log(np.array([[0.9, 80.0], [0.8, 150.0], [0.7, 300.0], [0.5, 900.0]]))

    def terms(q):
        return _bin_derivatives(*args, np.exp(q[bin_of, 0]), np.exp(q[bin_of, 1]), bin_of, nb)
    g, h = terms(p)
    e = 1e-5
    for k, cols in ((0, (0, 2)), (1, (2, 1))):      # d/dp: [hpp, hpq]; d/dq: [hpq, hqq]
        dp = np.zeros_like(p)
        dp[:, k] = e
        fd = (terms(p + dp)[0] - terms(p - dp)[0]) / (2 * e)
        np.testing.assert_allclose(fd, h[:, list(cols)], rtol=1e-5, atol=1e-6)
    d_fit, s_fit = _fit_bins(*args, bin_of, nb)
    for b in range(nb):
        sel = bin_of == b
        one = tuple(x[sel] for x in args)
        res = minimize(lambda q: -log_likelihood(*one, np.exp(q[0]), np.exp(q[1])).sum(),
                       np.log([0.8, 200.0]), method="L-BFGS-B",
                       options={"ftol": 1e-15, "gtol": 1e-10})
        assert d_fit[b] == pytest.approx(np.exp(res.x[0]), rel=1e-4)
        assert s_fit[b] == pytest.approx(np.exp(res.x[1]), rel=1e-4)
        # and no better point beside it
        ll = log_likelihood(*one, d_fit[b], s_fit[b]).sum()
        assert ll >= -res.fun - 1e-6 * abs(res.fun)
