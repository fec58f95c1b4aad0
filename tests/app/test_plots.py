"""WRITE PLOT: the arrays each plot draws equal the data they come from (a run's
history, the Fmodel's shells, gemmi's phi/psi and B-values), the figure draws exactly
those arrays, and the PNG written is a whole, non-blank image."""

import io
from pathlib import Path

import gemmi
import numpy as np
import pytest

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402

from mainpy.app import plots  # noqa: E402
from mainpy.session import Session  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def refined():
    s = Session(out=io.StringIO())
    s.run(f"read coor file {EXAMPLES / 'demo_start.pdb'}; read refl file {EXAMPLES / 'demo.mtz'}")
    s.run("define bond angle dihe impr by topo; refl phase; ener xray on")
    s.run("refine step 12 phase steps 4")
    return s


def _png(path, size):
    """The image, checked: a PNG of the figure's size with real content."""
    im = Image.open(path)
    assert im.format == "PNG" and im.size == size
    a = np.asarray(im.convert("RGB")).astype(int)
    assert a.std() > 10 and len(np.unique(a.reshape(-1, 3), axis=0)) > 20   # not blank
    return a


def test_history_plot_draws_the_history(refined, tmp_path):
    h = refined.history
    c = h.columns()
    series = plots.history_series(h)
    np.testing.assert_array_equal(series["r_step"], c["step"])
    np.testing.assert_array_equal(series["r_work"], c["r_work"])
    np.testing.assert_array_equal(series["fresh_step"], [0, 4, 8, 12])
    np.testing.assert_array_equal(series["r_free"], c["r_free"][c["fresh"]])
    np.testing.assert_array_equal(series["rmsd_bonds"], c["rmsd_bonds"])
    np.testing.assert_array_equal(series["rmsd_angles"], c["rmsd_angles"])
    fig = plots.draw_history(series)
    r_ax, b_ax, a_ax = fig.axes
    work, free, fresh = r_ax.lines
    np.testing.assert_array_equal(work.get_xdata(), c["step"])
    np.testing.assert_array_equal(work.get_ydata(), c["r_work"])
    np.testing.assert_array_equal(free.get_ydata(), [row.r_free for row in h.rows if row.fresh])
    assert len(fresh.get_xdata()) == 4
    np.testing.assert_array_equal(b_ax.lines[0].get_ydata(), c["rmsd_bonds"])
    np.testing.assert_array_equal(a_ax.lines[0].get_ydata(), c["rmsd_angles"])

    out = tmp_path / "run.png"
    res = refined.run(f"write plot history file {out}")
    assert res.files == [str(out)] and list(tmp_path.iterdir()) == [out]
    a = _png(out, (700, 600))
    red = (a[..., 0] > 180) & (a[..., 1] < 80) & (a[..., 2] < 80)    # R-free's line
    assert red.sum() > 200


def test_shell_plot_is_the_r_value_table(refined, tmp_path):
    fm = refined.fmodel
    series = plots.shell_series(fm, 6)
    rows = fm.shells(6)
    np.testing.assert_allclose(series["r_free"], [r["r_free"] for r in rows])
    np.testing.assert_allclose(series["r_work"], [r["r_work"] for r in rows])
    for s2, r in zip(series["s2"], rows):         # each point inside its shell
        assert 1 / r["d_max"] ** 2 < s2 < 1 / r["d_min"] ** 2
    fig = plots.draw_shells(series)
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_ydata(), series["r_free"])
    out = tmp_path / "shells.png"
    refined.run(f"refl shel 6; write plot r-value file {out}")
    _png(out, (700, 400))


def test_rama_plot_has_every_residue_with_gemmis_angles(refined, tmp_path):
    st = refined.model.synced_structure()
    series = plots.rama_series(st)
    want = []
    for ch in st[0]:
        poly = ch.get_polymer()
        for k in range(1, len(poly) - 1):
            phi, psi = gemmi.calculate_phi_psi(poly[k - 1], poly[k], poly[k + 1])
            want.append((np.degrees(phi), np.degrees(psi)))
    np.testing.assert_allclose(np.c_[series["phi"], series["psi"]], want, atol=1e-9)
    fig = plots.draw_rama(series)
    drawn = sum(len(line.get_xdata()) for line in fig.axes[0].lines)
    assert drawn == len(want) == 32
    out = tmp_path / "rama.png"
    refined.run(f"write plot rama file {out}")
    _png(out, (600, 600))


def test_b_plot_is_the_mean_b_per_residue(refined, tmp_path):
    st = refined.model.synced_structure()
    series = plots.b_series(refined.atoms)
    assert list(series) == [ch.name for ch in st[0]]
    for ch in st[0]:
        got = series[ch.name]
        np.testing.assert_array_equal(got["resseq"], [r.seqid.num for r in ch])
        np.testing.assert_allclose(got["b"], [np.mean([a.b_iso for a in r]) for r in ch],
                                   rtol=1e-5)
        main = [np.mean([a.b_iso for a in r if a.name in ("N", "CA", "C", "O")]) for r in ch]
        np.testing.assert_allclose(got["b_main"], main, rtol=1e-5)
    out = tmp_path / "b.png"
    refined.run(f"write plot b-values file {out} sele segm name {st[0][0].name} end")
    _png(out, (800, 300))


def test_no_history_no_plot_and_no_file(tmp_path):
    from mainpy.lang.errors import LangError
    s = Session(out=io.StringIO())
    with pytest.raises(LangError, match="no refinement run yet"):
        s.run(f"write plot history file {tmp_path / 'x.png'}")
    assert list(tmp_path.iterdir()) == []
