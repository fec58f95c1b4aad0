"""Geometry minimization of a shaken model."""

import numpy as np
from restraint_helpers import shaken

from mainpy.restraints import geometry
from mainpy.restraints.minimize import minimize_geometry


def test_shaken_1aba_regularizes(aba):
    """1aba shaken by 0.3 A rms: within 200 steps bond rmsd < 0.01 A, angle rmsd < 1.5
    degrees, no chiral centre inverted."""
    en = aba.energy()
    r = en.r
    start = aba.atoms.replace(xyz=shaken(aba.atoms.xyz, 0.3, seed=2024))
    s0 = geometry.summary(start.xyz, r)
    assert s0["bond"]["rmsd"] > 0.1 and s0["angle"]["rmsd"] > 8
    res = minimize_geometry(start, en, steps=200)
    s1 = geometry.summary(res.atoms.xyz, r)
    assert res.steps <= 200
    assert s1["bond"]["rmsd"] < 0.01
    assert s1["angle"]["rmsd"] < 1.5
    assert len(geometry.chirality_inverted(res.atoms.xyz, r)) == 0
    assert res.energy_end < 0.01 * res.energy_start
    assert res.energy_end == en(res.atoms.xyz)[0]


def test_fixed_atoms_do_not_move(aba):
    en = aba.energy()
    start = aba.atoms.replace(xyz=shaken(aba.atoms.xyz, 0.3, seed=5))
    moving = aba.atoms.residue_index < 40
    res = minimize_geometry(start, en, moving_mask=moving, steps=60)
    assert np.array_equal(res.atoms.xyz[~moving], start.xyz[~moving])
    assert np.abs(res.atoms.xyz[moving] - start.xyz[moving]).max() > 0.05
    assert res.energy_end < res.energy_start
    # callback can stop the run; the coordinates are those of the best step
    seen = []
    res2 = minimize_geometry(start, en, steps=50, callback=lambda k, e, x: seen.append(e)
                             or k >= 5)
    assert res2.steps == 5 and res2.message == "stopped on request"
    assert res2.energy_end == min(seen)
