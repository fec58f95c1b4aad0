"""The B preconditioner (its curvature against real data: tests/targets/test_xray_targets.py)."""

import numpy as np

from mainpy.refine.precondition import inverse_scales


def test_inverse_scales_floor_the_weakest_atoms():
    c = np.array([1000.0, 100.0, 10.0, 1.0, 0.0])
    p = inverse_scales(c)
    assert abs(p.mean() - 1) < 1e-12
    assert np.all(np.diff(p) > 0)                  # weaker curvature, longer steps
    # the floor (the median, 10) holds them: at most twice the median atom's step
    assert p[-1] / p[2] <= 2 + 1e-12 and p[-2] / p[2] < 2
    assert p[0] / p[2] < 0.02
