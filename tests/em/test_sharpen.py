"""Blurring and sharpening an EM box: blur then unblur gives the box back, the fitted
falloff B moves by exactly the B applied, and READ MAP ... SHARPEN flattens the map."""

import io
from pathlib import Path

import numpy as np
import pytest

from mainpy import Session
from mainpy.em import sharpen as S
from mainpy.em.mapfile import write_em_map
from mainpy.em.simulate import simulate_maps

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_true.pdb"


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    d = tmp_path_factory.mktemp("sharpen")
    s = Session(out=io.StringIO())
    s.run(f"read coor file {DEMO}")
    full, h1, h2 = simulate_maps(s.atoms, resolution=3.0, pixel=1.1, b_blur=40.0, seed=3)
    for m, name in ((full, "full"), (h1, "h1"), (h2, "h2")):
        write_em_map(d / f"{name}.mrc", m)
    return d, full


def test_blur_round_trip_and_falloff_shift(maps):
    _, full = maps
    a = np.asarray(full.array, np.float64)
    back = S.blur(S.blur(a, full.pixel, 30.0), full.pixel, -30.0)
    assert np.abs(back - a).max() < 1e-6 * np.abs(a).max()
    b0 = S.falloff_b(a, full.pixel, 3.0)
    b1 = S.falloff_b(S.blur(a, full.pixel, 30.0), full.pixel, 3.0)
    assert b1 - b0 == pytest.approx(30.0, abs=0.05)
    assert b0 > 20                           # the 40 A^2 blur of the simulation shows
    with pytest.raises(ValueError, match="nothing to fit"):
        S.falloff_b(a, full.pixel, 12.0)


def test_read_map_sharpen_flattens(maps):
    d, full = maps
    s = Session(out=io.StringIO())
    s.run(f"read coor file {DEMO}")
    s.run(f"read map 1 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'} "
          "reso 3.0 sharpen")
    out = s.out.getvalue()
    assert "sharpened by B -" in out
    data = s.em[1]
    assert abs(S.falloff_b(data.full.array, data.full.pixel, 3.0)) < 0.5
    s.run(f"read map 3 file {d / 'full.mrc'} half1 {d / 'h1.mrc'} half2 {d / 'h2.mrc'} "
          "reso 3.0")
    plain = s.em[3]
    b0 = S.falloff_b(plain.full.array, plain.full.pixel, 3.0)
    for k in ("half1", "half2"):        # the half maps sharpened by the full map's B
        shift = (S.falloff_b(getattr(data, k).array, full.pixel, 3.0)
                 - S.falloff_b(getattr(plain, k).array, full.pixel, 3.0))
        assert shift == pytest.approx(-b0, abs=0.1)
    s.run(f"read map 2 file {d / 'full.mrc'} blur 20")
    b2 = S.falloff_b(s.em[2].full.array, s.em[2].full.pixel, 3.0)
    b0 = S.falloff_b(np.asarray(full.array, float), full.pixel, 3.0)
    assert b2 - b0 == pytest.approx(20.0, abs=1.0)     # trimmed box: same falloff
