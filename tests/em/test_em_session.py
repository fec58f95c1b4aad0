"""The EM path through the language on the demo model: simulated maps read with their
half maps, a shaken start refined by ENER EM (coordinates, then coordinates and B) with
MAIN's weighting, SHOW FSC's variables, and the cross-validation of Brown et al.
(refined against half map 1 only, FSC_work exceeds FSC_free)."""

from pathlib import Path

import numpy as np
import pytest

from mainpy import Session
from mainpy.em.mapfile import write_em_map
from mainpy.em.simulate import simulate_maps
from mainpy.xtal.simulate import shake

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_true.pdb"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("emsession")
    s = Session()
    s.run(f"read coor file {DEMO}")
    for m, name in zip(simulate_maps(s.atoms, resolution=3.0, pixel=1.1, b_blur=40.0,
                                     seed=1), ("full", "h1", "h2")):
        write_em_map(d / f"{name}.mrc", m)
    shake(s.model.synced_structure(), 0.5, seed=2).write_pdb(str(d / "start.pdb"))
    return d, s.atoms.xyz.copy()


def _rmsd(a, b):
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))))


def _start(d, work="full"):
    s = Session()
    s.run(f"read coor file {d / 'start.pdb'}")
    s.run(f"read map 1 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'}")
    s.run("define bond angle dihe impr by topo")
    s.run(f"ener em on map 1 work {work}")
    return s


def test_refine_against_the_em_map(files):
    from mainpy.app.refinement import bond_rmsd
    d, truth = files
    s = _start(d)
    r0 = _rmsd(s.atoms.xyz, truth)
    s.run("show fsc 1")
    cc0 = s.variables["CC_MASK"]
    s.run("refine position step 40 phase steps 20 adjust bond 0.01")
    s.run("refine position b-values step 40 phase steps 20 adjust bond 0.01")
    r1 = _rmsd(s.atoms.xyz, truth)
    assert r0 > 0.45 and r1 < 0.25, (r0, r1)
    assert bond_rmsd(s, s.atoms) < 0.015
    s.run("show fsc 1")
    assert s.variables["CC_MASK"] > cc0 + 0.02
    # the map's blur (B 40) beyond the truth's B went into the atoms (start B 30)
    assert abs(float(np.mean(s.atoms.b)) - (21.0 + 40.0)) < 8.0


def test_cross_validation_against_half_map_2(files):
    """Refined against half 1 alone: the model agrees better with the half it saw (here
    FSC_work 0.711, FSC_free 0.686; refined against the full map the two are within
    0.01 of each other)."""
    d, _ = files
    s = _start(d, work="half1")
    s.run("refine position b-values step 60 adjust bond 0.01")
    s.run("show fsc 1")
    assert s.variables["FSC_WORK"] > s.variables["FSC_FREE"] + 0.01


def test_fsc_plot_draws_the_validation_curves(files, tmp_path):
    """WRITE PLOT FSC: the curves drawn are SHOW FSC's (model vs map, half vs half, work,
    free), and the PNG is a picture."""
    from PIL import Image

    from mainpy.app.em import fsc_lines
    from mainpy.app.plots import fsc_series
    d, _ = files
    s = _start(d)
    s.run(f"write plot fsc 1 file {tmp_path / 'fsc.png'}")
    _, fig = fsc_lines(s, 1)
    series = fsc_series(fig)
    assert len(series["curves"]) == 4
    assert np.allclose(series["curves"]["half 1 vs half 2"], fig["fsc_half"])
    assert np.allclose(series["curves"]["model vs half 2 (free)"], fig["fsc_free"])
    assert np.allclose(1 / np.sqrt(series["s2"]), fig["shells"].d_mid)
    img = np.asarray(Image.open(tmp_path / "fsc.png").convert("L"), float)
    assert img.shape[0] > 300 and img.std() > 10
