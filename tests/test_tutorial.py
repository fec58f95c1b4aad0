"""docs/tutorial.md runs as written on the shared data's 1aba (every ```main block, but
the window's IMAGE sentences), and the figures it states are the ones mainpy prints."""

import io
import re
from pathlib import Path

import pytest

from mainpy.session import Session

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"


def _blocks(text):
    return re.findall(r"```main\n(.*?)```", text, re.S)


def _stated(text, pattern):
    m = re.search(pattern.replace(" ", r"\s+"), text)
    assert m, f"the tutorial no longer says {pattern!r}"
    return [float(g) for g in m.groups()]


def test_the_tutorial_runs_and_its_figures_hold(data, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "xtal" / "1aba"
    folder.mkdir(parents=True)
    for name in ("1aba.pdb", "1aba.mtz"):
        (folder / name).symlink_to(data(f"xtal/1aba/{name}"))
    (tmp_path / "monomers").symlink_to(data("monomers"), target_is_directory=True)
    monkeypatch.chdir(folder)
    text = TUTORIAL.read_text()
    blocks = _blocks(text)
    assert len(blocks) == 7
    s = Session(out=io.StringIO())
    after = []
    for block in blocks:
        lines = [ln for ln in block.splitlines() if not ln.lstrip().startswith("image")]
        r = s.run("\n".join(lines), "tutorial.md")
        after.append((r, dict(s.variables)))

    assert "880 in" in after[0][0].text                       # show crystal: 880 atoms
    rw0, rf0 = _stated(text, r"R-work about ([0-9.]+) and R-free about ([0-9.]+) here")
    assert after[1][1]["R_WORK"] == pytest.approx(rw0, abs=0.01)
    assert after[1][1]["R_FREE"] == pytest.approx(rf0, abs=0.01)
    rw, rf = _stated(text, r"R-work falls to about ([0-9.]+) and R-free to about ([0-9.]+)")
    bonds, angles = _stated(text, r"rmsd near ([0-9.]+) Å and ([0-9.]+)°")
    run = after[3][0]
    assert run.r_work == pytest.approx(rw, abs=0.01) and run.r_free == pytest.approx(rf, abs=0.01)
    assert run.figures["rmsd bonds"] == pytest.approx(bonds, abs=0.002)
    assert run.figures["rmsd angles"] == pytest.approx(angles, abs=0.3)
    assert len(run.runs) == 2 and "re-phased" in run.text      # show history printed
    written = [Path(f).name for r, _ in after for f in r.files]
    assert written == ["1aba_2mfodfc.ccp4", "1aba_refined.pdb", "1aba_refined.mtz",
                       "1aba_run.csv", "1aba_run.png", "1aba_shells.png", "1aba_rama.png",
                       "1aba_b.png"]
    assert all((folder / f).stat().st_size > 1000 for f in written)
