"""The real-space density fit against an EM map (ENER DENS ON MAP n with an EM map): the
box as a periodic map puts every voxel at its own place, and a shaken model refined
against it comes back towards the truth."""

import io
from pathlib import Path

import gemmi
import numpy as np

from mainpy import Session
from mainpy.em.mapfile import periodic_grid, write_em_map
from mainpy.em.simulate import simulate_maps
from mainpy.xtal.simulate import shake

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_true.pdb"


def test_periodic_grid_keeps_every_voxel_in_place():
    s = Session(out=io.StringIO())
    s.run(f"read coor file {DEMO}")
    full, _, _ = simulate_maps(s.atoms, resolution=3.0, pixel=1.1, b_blur=20.0, seed=2)
    g = periodic_grid(full)
    rng = np.random.default_rng(0)
    for ijk in rng.integers(0, full.shape, (20, 3)):
        p = full.origin + ijk * full.pixel
        assert abs(g.interpolate_value(gemmi.Position(*p)) - full.array[tuple(ijk)]) < 1e-5


def test_real_space_refinement_against_an_em_map(tmp_path):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {DEMO}")
    truth = s.atoms.xyz.copy()
    for m, name in zip(simulate_maps(s.atoms, resolution=3.0, pixel=1.1, b_blur=20.0,
                                     seed=2), ("full", "h1", "h2")):
        write_em_map(tmp_path / f"{name}.mrc", m)
    shake(s.model.synced_structure(), 0.4, seed=3).write_pdb(str(tmp_path / "start.pdb"))
    s = Session(out=io.StringIO())
    s.run(f"read coor file {tmp_path / 'start.pdb'}")
    s.run(f"read map 1 file {tmp_path / 'full.mrc'} half1 {tmp_path / 'h1.mrc'} "
          f"half2 {tmp_path / 'h2.mrc'}")
    s.run("define bond angle dihe impr by topo; ener dens on map 1")
    assert "does not exist" not in s.out.getvalue()

    def rmsd():
        return float(np.sqrt(np.mean(np.sum((s.atoms.xyz - truth) ** 2, axis=1))))
    r0 = rmsd()
    # re-weighted every 5 steps: the start's weight balances gradients at a shaken
    # geometry, far too high for this map (every 20 steps: rmsd 0.40 -> 0.49 A)
    s.run("refine position step 60 phase steps 5 adjust bond 0.01")
    assert r0 > 0.3 and rmsd() < 0.6 * r0, (r0, rmsd())
