"""Geometry minimization (restraints alone) through the one minimizer, `refine.driver`."""

import gemmi
import numpy as np
import pytest

from mainpy.model.atoms import from_structure
from mainpy.refine.driver import regularize
from mainpy.restraints import validation
from mainpy.restraints.energy import Energy
from mainpy.restraints.monlib import load_monlib
from mainpy.restraints.topology import build_restraints


@pytest.fixture(scope="module")
def aba(data, monlib_dir):
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    st.setup_entities()
    atoms = from_structure(st)
    lib = load_monlib(sorted(set(atoms.resname.tolist())), str(monlib_dir))
    r = build_restraints(st, lib)
    return atoms, r, st


def _energy(aba):
    atoms, r, st = aba
    return Energy(r, atoms, st.cell, st.find_spacegroup())


def _shaken(xyz, sigma, seed):
    rng = np.random.default_rng(seed)
    return xyz + rng.normal(0.0, sigma / np.sqrt(3.0), xyz.shape)


def test_shaken_1aba_regularizes(aba):
    """1aba shaken by 0.3 A rms: within 200 steps bond rmsd < 0.01 A, angle rmsd < 1.5
    degrees, no chiral centre inverted."""
    atoms, r, _ = aba
    en = _energy(aba)
    start = atoms.replace(xyz=_shaken(atoms.xyz, 0.3, seed=2024))
    s0 = validation.summary(start.xyz, r)
    assert s0["bond"]["rmsd"] > 0.1 and s0["angle"]["rmsd"] > 8
    res = regularize(start, en, steps=200)
    s1 = validation.summary(res.atoms.xyz, r)
    assert res.steps <= 200
    assert s1["bond"]["rmsd"] < 0.01
    assert s1["angle"]["rmsd"] < 1.5
    assert len(validation.chirality_inverted(res.atoms.xyz, r)) == 0
    start_energy = res.history[0][1]
    end_energy = min(h[1] for h in res.history)
    assert start_energy == pytest.approx(en(start.xyz)[0], rel=1e-12)
    assert end_energy < 0.01 * start_energy
    assert end_energy == pytest.approx(en(res.atoms.xyz)[0], rel=1e-12)


def test_fixed_atoms_do_not_move(aba):
    atoms, r, _ = aba
    en = _energy(aba)
    start = atoms.replace(xyz=_shaken(atoms.xyz, 0.3, seed=5))
    moving = atoms.residue_index < 40
    res = regularize(start, en, moving=moving, steps=60)
    assert np.array_equal(res.atoms.xyz[~moving], start.xyz[~moving])
    assert np.abs(res.atoms.xyz[moving] - start.xyz[moving]).max() > 0.05
    assert en(res.atoms.xyz)[0] < en(start.xyz)[0]
    # a step hook can stop the run; the coordinates are those of the best step
    seen = []

    def on_step(p):
        seen.append(p.evaluation.total)
        return p.step >= 5

    res2 = regularize(start, en, steps=50, on_step=on_step)
    assert res2.steps == 5 and res2.reason == "stopped"
    assert en(res2.atoms.xyz)[0] == pytest.approx(min(seen), rel=1e-12)
