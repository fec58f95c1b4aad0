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


def test_per_residue_cc_table_and_plot(files, tmp_path):
    """Per-residue CC: each residue's figure equals numpy's Pearson CC over the voxels
    whose nearest atom (within 2 A) is one of its atoms; SHOW FSC names the lowest; the
    plot draws them along the chain."""
    import gemmi
    from scipy.spatial import cKDTree

    from mainpy.app.em import fsc_lines, get_em
    from mainpy.app.plots import cc_series
    from mainpy.em import fsc as F
    from mainpy.em.data import RESIDUE_RADIUS
    from mainpy.sf.engine import StructureFactorEngine
    d, _ = files
    s = _start(d)
    lines, fig = fsc_lines(s, 1)
    a = s.atoms
    assert len(fig["residues"]) == a.n_residues
    worst = int(fig["residues"][np.nanargmin(fig["cc_residue"])])
    row = np.flatnonzero(a.residue_index == worst)[0]
    said = next(line for line in lines if "per-residue CC" in line)
    assert f"{a.chain[row]} {a.resseq[row]} {a.resname[row]}" in said.split("lowest:")[1][:20]
    # an independent count for three residues: voxels nearest to their atoms
    data = get_em(s, 1)
    box = data.full
    hkl, sh, fo, _, _ = data.coefficients(fig["d_min"])
    pts = np.stack(np.meshgrid(*[np.arange(n) * box.pixel[i] + box.origin[i]
                                 for i, n in enumerate(box.shape)], indexing="ij"), -1)
    dist, near = cKDTree(a.xyz).query(pts.reshape(-1, 3), distance_upper_bound=RESIDUE_RADIUS)
    obs = F.to_map(hkl, fo, box.shape, box.extent).reshape(-1)
    eng = StructureFactorEngine(box.cell, gemmi.SpaceGroup("P1"), hkl, d_min=fig["d_min"],
                                rate=1.5)
    model = F.to_map(hkl, eng.fcalc(a.replace(xyz=a.xyz - box.origin)), box.shape,
                     box.extent).reshape(-1)
    ok = np.isfinite(dist)
    for k in (0, a.n_residues // 2, a.n_residues - 1):
        v = ok.copy()
        v[ok] = a.residue_index[near[ok]] == k
        j = int(np.flatnonzero(fig["residues"] == k)[0])
        assert fig["cc_residue"][j] == pytest.approx(np.corrcoef(obs[v], model[v])[0, 1],
                                                     abs=1e-9)
    s.run(f"write plot cc 1 file {tmp_path / 'cc.png'}")
    series = cc_series(a, fig)
    assert sum(len(v["cc"]) for v in series.values()) == a.n_residues
    assert (tmp_path / "cc.png").stat().st_size > 5000
