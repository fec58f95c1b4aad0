"""MAIN's data weight (ADJUST BOND): re-adjusted towards the bond-rmsd target, and
settling instead of swinging. The bond rmsd of a refined model grows about linearly with
the data weight; a model of that response stands in for the refinement between two
re-adjustments."""

import math

import pytest

from mainpy.refine.objective import Objective, Part
from mainpy.refine.weighting import MAX_DOWN, MAX_UP, DataWeight


def _weight(start=1.0, target=0.01):
    objective = Objective([Part("restraints", 1.0, None), Part("xray", 0.5, None)])
    return DataWeight(objective, target, start=start), objective


def _run(weight, rmsd_of, rounds):
    """The weights after each of ``rounds`` re-adjustments, the bond rmsd following the
    weight as ``rmsd_of(w)``."""
    out = []
    for _ in range(rounds):
        weight.readjust(rmsd_of(weight.w))
        out.append(weight.w)
    return out


def test_the_weight_settles_where_the_bond_rmsd_meets_its_target():
    # rmsd = 0.01 at w = 10: a fixed exponent 2 would answer w -> 100 / w for ever
    # (from 7: 7, 14.3, 7, 14.3, ...), the swing seen at every re-phasing of real runs
    weight, objective = _weight(start=7.0)
    ws = _run(weight, lambda w: 0.001 * w, 12)
    assert abs(ws[-1] - 10.0) < 0.05
    assert abs(ws[-1] / ws[-2] - 1) < 0.01            # no longer swinging
    # the data part carries the weight times its own scale; the restraints stay
    assert objective.part("xray").weight == pytest.approx(0.5 * weight.w)
    assert objective.part("restraints").weight == 1.0


def test_a_weight_far_off_approaches_at_full_speed():
    # rmsd = 0.01 at w = 10 000, from w = 1 with a weak response (rmsd ~ sqrt(w)):
    # every step goes up, so the exponent stays 2 and each step is the clamp, x2
    weight, _ = _weight(start=1.0)
    ws = _run(weight, lambda w: 1e-4 * math.sqrt(w), 6)
    assert ws == pytest.approx([MAX_UP ** k for k in range(1, 7)])
    assert weight.exponent == 2.0


def test_the_factor_is_clamped_on_target_it_stays_and_nothing_gives_none():
    weight, _ = _weight(start=1.0)
    adj = weight.readjust(1.0)                  # 100 times the target: x0.1 at most
    assert adj.factor == MAX_DOWN and weight.w == pytest.approx(MAX_DOWN)
    assert "target 0.01" in adj.describe()
    assert weight.readjust(None) is None and weight.readjust(0.0) is None
    assert weight.w == pytest.approx(MAX_DOWN)
    # on target the weight stays; up, on target, then down is still a turn
    weight, _ = _weight(start=1.0)
    weight.readjust(0.005)
    assert weight.readjust(0.01).factor == 1.0 and weight.exponent == 2.0
    weight.readjust(0.02)
    assert weight.exponent == 1.0


def test_an_angle_limit_takes_over_where_the_angles_are_further_off():
    # ADJUST ANGLE 1.2: the bonds on target but the angles at rms Z 2.4 (twice the
    # limit): the weight falls as the bond rule would for a bond rmsd twice its target
    objective = Objective([Part("restraints", 1.0, None), Part("xray", 0.5, None)])
    weight = DataWeight(objective, 0.01, start=1.0, angle_max=1.2)
    adj = weight.readjust(0.01, angle_z=2.4)
    assert adj.factor == pytest.approx(0.25) and weight.w == pytest.approx(0.25)
    assert "angle rms Z 2.40, at most 1.2" in adj.describe()
    # the bonds further off than the angles: the bond rule as without the limit
    adj = weight.readjust(0.04, angle_z=1.2)
    assert adj.angle_z is None and "bond rmsd 0.0400" in adj.describe()
    # both on their targets: no change; without a limit the angles are not looked at
    weight, _ = _weight(start=1.0)
    assert weight.readjust(0.01, angle_z=5.0).factor == 1.0
    # settling on the angles: the bond rmsd and the angles' rms Z both follow the weight
    # (bonds 0.008 and rms Z 1.2 at w = 10): it ends where the angles hold
    weight = DataWeight(objective, 0.01, start=40.0, angle_max=1.2)
    for _ in range(14):
        weight.readjust(0.0008 * weight.w, angle_z=0.12 * weight.w)
    assert weight.w == pytest.approx(10.0, rel=0.01)
