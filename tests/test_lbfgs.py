import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der

from mainpy.lbfgs import Lbfgs


def _rosen(x):
    return rosen(x), rosen_der(x)


def test_rosenbrock_reaches_scipys_minimum():
    x0 = np.linspace(-1.2, 1.0, 10)
    res = Lbfgs().minimize(_rosen, x0, max_iter=2000, gtol=1e-9, ftol=0)
    ref = minimize(_rosen, x0, jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-9, "ftol": 0, "maxiter": 2000})
    assert res.converged
    np.testing.assert_allclose(res.x, 1.0, atol=1e-6)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    assert res.evaluations < 3 * ref.nfev


def test_bounds_hold_and_give_the_clipped_optimum():
    rng = np.random.default_rng(1)
    c = rng.normal(size=50) * 3
    scale = np.exp(rng.uniform(-2, 2, 50))        # badly scaled, like xyz next to B

    def fg(x):
        return float((scale * (x - c) ** 2).sum()), 2 * scale * (x - c)

    lo, hi = np.full(50, -1.0), np.full(50, 2.0)
    seen = []
    res = Lbfgs().minimize(lambda x: (seen.append(x.copy()), fg(x))[1], np.zeros(50), lo, hi,
                           gtol=1e-10, ftol=0)
    assert res.converged, res.message
    assert all(((x >= lo) & (x <= hi)).all() for x in seen)
    np.testing.assert_allclose(res.x, np.clip(c, lo, hi), atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_trial_is_backtracked(bad):
    def fg(x):
        if x[0] > 0.5:
            return bad, np.full(1, bad)
        return float((x[0] - 0.4) ** 2), np.array([2 * (x[0] - 0.4)])

    res = Lbfgs().minimize(fg, np.array([-3.0]), gtol=1e-10)
    assert abs(res.x[0] - 0.4) < 1e-6


def test_a_step_that_is_too_short_is_extended():
    # the first step of a run has length 1: here f still falls steeply after it
    calls = []

    def fg(x):
        calls.append(x[0])
        return float((x[0] - 100.0) ** 2), np.array([2 * (x[0] - 100.0)])

    res = Lbfgs().minimize(fg, np.array([0.0]), max_iter=1)
    assert calls[1] == pytest.approx(1.0)                 # the unit step, accepted ...
    assert res.x[0] >= 4.0 and res.f < (1.0 - 100.0) ** 2  # ... and carried further
    res = Lbfgs().minimize(fg, np.array([0.0]), gtol=1e-8)
    assert abs(res.x[0] - 100) < 1e-6 and res.evaluations <= 8


def test_a_new_run_given_h0_starts_with_the_scale_of_the_last():
    """The driver's segments: a fresh memory, but the initial inverse Hessian of the run
    before (per block). On a quadratic with curvatures 50 (block 0) and 0.5 (block 1) the
    first step with it lands at the minimum in one evaluation; without it the unit step
    along -g stops far short."""
    curv = np.r_[np.full(5, 50.0), np.full(5, 0.5)]
    blocks = np.r_[np.zeros(5, int), np.ones(5, int)]

    def counted(calls):
        def fg(x):
            calls.append(x.copy())
            c = curv[:len(x)]
            return float(0.5 * (c * x * x).sum()), c * x
        return fg

    first = Lbfgs(blocks=blocks)
    first.minimize(counted([]), np.linspace(1, 2, 10), max_iter=8, gtol=0, ftol=0)
    np.testing.assert_allclose(first.h0, 1.0 / curv, rtol=1e-6)
    x0 = np.linspace(-3, 3, 10)
    calls = []
    res = Lbfgs(blocks=blocks, h0=first.h0).minimize(counted(calls), x0, max_iter=1)
    assert len(calls) == 2 and res.f < 1e-10
    calls = []
    res = Lbfgs(blocks=blocks).minimize(counted(calls), x0, max_iter=1)
    assert res.f > 0.1
    # a scale for other variables (another length) is not used; reset() drops it
    calls = []
    Lbfgs(h0=first.h0).minimize(counted(calls), x0[:3], max_iter=1)
    assert np.linalg.norm(calls[1] - x0[:3]) == pytest.approx(1.0)
    opt = Lbfgs(h0=first.h0)
    opt.reset()
    assert opt.h0 is None


def test_a_preconditioner_of_the_true_curvatures_solves_a_diagonal_quadratic_at_once():
    """f = 1/2 sum a_i x_i^2 with curvatures spread over four decades (B-values of atoms
    the data see well and barely): with precond = 1/a the first step lands on the
    minimum; with none, the same number of steps leaves it far away."""
    rng = np.random.default_rng(3)
    a = np.exp(rng.uniform(0, np.log(1e4), 40))
    x0 = rng.uniform(-0.1, 0.1, 40)

    def fg(x):
        return float(0.5 * (a * x * x).sum()), a * x

    opt = Lbfgs(precond=1.0 / a)
    pre = opt.minimize(fg, x0, max_iter=1, gtol=0, ftol=0)
    plain = Lbfgs().minimize(fg, x0, max_iter=1, gtol=0, ftol=0)
    assert np.abs(pre.x).max() < 1e-12
    assert np.abs(plain.x).max() > 1e-3
    # fitted through the preconditioner, the block scale of the pair is 1 (h0 * P = 1/a)
    np.testing.assert_allclose(opt.h0, 1.0, rtol=1e-6)
