"""CONVERGE's window of R-free (R-work without a test set) values: convergence over
CONVERGE_CYCLES re-phasings when it no longer improves, the count started again when
ADJUST cuts the data weight below half (a rise of R while the geometry takes over is not
convergence)."""

from mainpy.app.refinement import CONVERGE_CYCLES, CONVERGE_RESTART_BELOW, ConvergeWindow


def test_converges_when_r_work_stops_improving():
    w = ConvergeWindow(0.001)
    r = [0.30, 0.20, 0.15, 0.14, 0.1395, 0.1392, 0.1391]
    said = [w.add(x) for x in r]
    first = next(i for i, s in enumerate(said) if s)
    assert first == 6 and "R-work 0.1400 -> 0.1391" in said[first]
    assert not any(said[:first])
    assert CONVERGE_CYCLES == 3


def test_a_deep_reweighting_starts_the_count_again():
    w = ConvergeWindow(0.001)
    for x in (0.16, 0.13):
        assert not w.add(x)
    w.reweighted(0.1)                     # the weight still finding its level
    for x in (0.14, 0.145, 0.146):        # R-work rises while the geometry takes over
        assert not w.add(x)
    assert w.add(0.146)                   # three re-phasings later, no gain: converged
    w2 = ConvergeWindow(0.001)
    for x in (0.140, 0.141, 0.142):
        assert not w2.add(x)
    w2.reweighted(CONVERGE_RESTART_BELOW * 1.5)      # an ordinary re-adjustment ...
    assert w2.add(0.143)                  # ... keeps the count: converged


def test_no_converge_setting_never_ends():
    w = ConvergeWindow(None)
    assert not any(w.add(0.2) for _ in range(10))


def test_r_free_still_falling_is_not_convergence():
    """R-work flat but R-free still falling: the model still improves; once R-free is
    flat, converged (and said so with both)."""
    w = ConvergeWindow(0.001)
    pairs = [(0.150, 0.200), (0.1498, 0.197), (0.1496, 0.194), (0.1495, 0.191),
             (0.1494, 0.1905), (0.1494, 0.1903), (0.1494, 0.1902)]
    said = [w.add(*p) for p in pairs]
    assert not any(said[:6]) and said[6].startswith("R-free improved by less")
    assert "R-free 0.1910 -> 0.1902" in said[6]
    assert not ConvergeWindow(0.001).add(0.2, float("nan"))      # no test set: R-work only
    w2 = ConvergeWindow(0.001)
    assert [bool(w2.add(0.15, float("nan"))) for _ in range(4)] == [False] * 3 + [True]


def test_r_work_falling_under_a_flat_r_free_is_convergence():
    """R-work still falling while R-free stays: the work set's noise being fitted (on
    simulated data the model then moves away from the truth); converged all the same."""
    w = ConvergeWindow(0.001)
    pairs = [(0.1016, 0.1228), (0.0984, 0.1224), (0.0969, 0.1224), (0.0957, 0.1224)]
    said = [w.add(*p) for p in pairs]
    assert not any(said[:3]) and said[3].startswith("R-free improved by less")
    assert "R-work 0.1016 -> 0.0957" in said[3]
    w2 = ConvergeWindow(0.001)                # without a test set R-work decides
    said = [w2.add(p[0], float("nan")) for p in pairs]
    assert not any(said)
