"""FSC and its threshold resolutions against `servalcat fsc` on the same files; the
map files' round trip and the checks of READ MAP ... HALF1 ... HALF2 (bad input: a clear
error naming the file, the session unchanged)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mainpy import Session
from mainpy.em import fsc as F
from mainpy.em.data import EmData, validation
from mainpy.em.mapfile import EmMap, read_em_map, write_em_map
from mainpy.em.simulate import simulate_maps
from mainpy.errors import MainpyError

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_true.pdb"


def _servalcat():
    exe = Path(sys.executable).with_name("servalcat")
    return str(exe) if exe.exists() else shutil.which("servalcat")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The demo model without waters and its simulated maps, written as MRC."""
    d = tmp_path_factory.mktemp("em")
    model = d / "model.pdb"
    model.write_text("".join(line for line in DEMO.read_text().splitlines(True)
                             if not (line.startswith("HETATM") and "HOH" in line)))
    s = Session()
    s.run(f"read coor file {model}")
    maps = simulate_maps(s.atoms, resolution=3.0, pixel=1.1, b_blur=30.0, seed=7)
    for m, name in zip(maps, ("full", "h1", "h2")):
        write_em_map(d / f"{name}.mrc", m)
    return d, s.atoms, maps


def test_map_round_trip(files):
    d, _, (full, _, _) = files
    back = read_em_map(d / "full.mrc")
    assert back.shape == full.shape
    np.testing.assert_allclose(back.pixel, full.pixel, atol=1e-5)
    np.testing.assert_allclose(back.origin, full.origin, atol=1e-4)
    np.testing.assert_array_equal(back.array, full.array)


def _read_table(path):
    rows = [line.split() for line in Path(path).read_text().splitlines()
            if line and not line.startswith(("#", "$"))]
    head = rows[0]
    cols = {k: np.array([float(r[i]) for r in rows[1:]]) for i, k in enumerate(head)}
    return cols


def test_fsc_against_servalcat(files):
    exe = _servalcat()
    if exe is None:
        pytest.skip("servalcat is not installed")
    d, atoms, _ = files
    out = d / "fsc.dat"
    subprocess.run([exe, "fsc", "--halfmaps", "h1.mrc", "h2.mrc", "-d", "3.0",
                    "--model", "model.pdb", "-s", "xray", "--mask_radius", "0",
                    "-o", out.name], cwd=d, check=True, capture_output=True)
    ref = _read_table(out)
    data = EmData(read_em_map(d / "full.mrc"), read_em_map(d / "h1.mrc"),
                  read_em_map(d / "h2.mrc"), d_min=3.0)
    fig = validation(data, atoms)
    sh = fig["shells"]
    # the same shells (a coefficient on a shell's edge may fall either side: float32
    # against float64 d-spacings: a shell edge moves by up to 1 %)
    np.testing.assert_allclose(sh.d_min, ref["d_min"], rtol=1e-2)
    np.testing.assert_allclose(sh.d_max, ref["d_max"], rtol=1e-2)
    n = np.array([len(m) for m in sh.members()])
    assert np.abs(n - ref["ncoeffs"]).max() <= 0.01 * ref["ncoeffs"].max()
    np.testing.assert_allclose(fig["fsc_half"], ref["fsc_half"], atol=1e-2)  # edges
    # model FSCs: two engines (servalcat's and mainpy's) with the same form factors
    for mine, theirs in (("fsc_model", "fsc_FC_full"), ("fsc_work", "fsc_FC_half1"),
                         ("fsc_free", "fsc_FC_half2")):
        np.testing.assert_allclose(fig[mine], ref[theirs], atol=1e-2)

    class RefShells:       # servalcat's shells, to place its curve's crossings
        d_min, d_max = ref["d_min"], ref["d_max"]
        d_mid = 1 / (0.5 * (1 / ref["d_min"] + 1 / ref["d_max"]))
    d143 = F.crossing(ref["fsc_half"], RefShells, 0.143)
    assert abs(fig["d_half_0.143"] - d143) < 0.05
    assert abs(fig["d_half_0.143"] - 3.0) < 0.15          # what the noise was made for
    for mine, theirs in (("fsc_work", "fsc_FC_half1"), ("fsc_free", "fsc_FC_half2")):
        d5 = F.crossing(ref[theirs], RefShells, 0.5)
        assert np.isfinite(d5) and d5 > 3.0                 # it does cross above 3 A
        assert abs(F.crossing(fig[mine], sh, 0.5) - d5) < 0.05


def _session(model):
    s = Session()
    s.run(f"read coor file {model}")
    return s


def test_read_em_checks(files, tmp_path):
    d, _, (full, h1, _) = files
    s = _session(d / "model.pdb")
    s.run(f"read map 1 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'}")
    assert 1 in s.em and s.em[1].has_halves
    before = dict(s.em)
    # half maps of different boxes
    small = EmMap(h1.array[:-2].copy(), h1.pixel, h1.origin, "x", h1.sampling,
                  h1.header_cell)
    write_em_map(tmp_path / "small.mrc", small)
    with pytest.raises(MainpyError, match="small.mrc.*share one box"):
        s.run(f"read map 2 file {d / 'full.mrc'} half1 {tmp_path / 'small.mrc'} "
              f"half2 {d / 'h2.mrc'}")
    # NaN in a map
    bad = full.with_array(full.array.copy())
    bad.array[3, 4, 5] = np.nan
    write_em_map(tmp_path / "nan.mrc", bad)
    with pytest.raises(MainpyError, match="nan.mrc: 1 voxels are NaN"):
        s.run(f"read map 2 file {tmp_path / 'nan.mrc'} em")
    # a box that does not hold the model
    away = EmMap(full.array.copy(), full.pixel, full.origin + 100.0, "y")
    write_em_map(tmp_path / "away.mrc", away)
    with pytest.raises(MainpyError, match="away.mrc.*does not hold the model"):
        s.run(f"read map 2 file {tmp_path / 'away.mrc'} em")
    assert s.em == before
    # a model moved out of the box after the map was read: ENER EM's run refuses it
    s.run("define bond angle dihe impr by topo")
    s.run("ener em on map 1")
    xyz = s.atoms.xyz.copy()
    s.model.atoms = s.atoms.replace(xyz=xyz + 200.0)
    with pytest.raises(MainpyError, match="full.mrc.*does not hold the model"):
        s.run("refine position step 2")
    np.testing.assert_array_equal(s.atoms.xyz, xyz + 200.0)


def test_write_keeps_the_box_of_a_trimmed_map(files, tmp_path):
    """A trimmed box is written with its start: read back, it sits where it was cut."""
    d, _, _ = files
    s = _session(d / "model.pdb")
    s.run(f"read map 1 file {d / 'full.mrc'} em")
    s.run(f"write map 1 file {tmp_path / 'out.mrc'}")
    back = read_em_map(tmp_path / "out.mrc")
    m = s.em[1].full
    np.testing.assert_allclose(back.origin, m.origin, atol=1e-4)
    np.testing.assert_array_equal(back.array, m.array)
    assert os.path.getsize(tmp_path / "out.mrc") > 1024
