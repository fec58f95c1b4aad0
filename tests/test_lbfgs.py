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


class _Segment(Exception):
    pass


def _run_in_segments(keep: bool, segment: int = 5, tol: float = 1e-8) -> int:
    """Evaluations to bring an ill-conditioned quadratic below tol, the run cut every
    `segment` evaluations as the refinement driver cuts it for re-phasing."""
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(40, 40)))
    a = q @ np.diag(np.logspace(0, 3, 40)) @ q.T
    x = rng.normal(size=40)
    opt = Lbfgs()
    total = 0
    while True:
        count = [0]

        def fg(y):
            count[0] += 1
            if count[0] > segment:
                raise _Segment
            state["x"] = y
            return 0.5 * float(y @ a @ y), a @ y

        state = {"x": x}
        if not keep:
            opt.reset()
        try:
            opt.minimize(fg, x)
        except _Segment:
            count[0] -= 1
        total += count[0]
        x = state["x"]
        if 0.5 * float(x @ a @ x) < tol or total > 2000:
            return total


def test_memory_kept_between_segments_saves_evaluations():
    kept, restarted = _run_in_segments(True), _run_in_segments(False)
    assert kept < 0.7 * restarted, (kept, restarted)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_trial_is_backtracked(bad):
    def fg(x):
        if x[0] > 0.5:
            return bad, np.full(1, bad)
        return float((x[0] - 0.4) ** 2), np.array([2 * (x[0] - 0.4)])

    res = Lbfgs().minimize(fg, np.array([-3.0]), gtol=1e-10)
    assert abs(res.x[0] - 0.4) < 1e-6
