"""A refinement run's history as data (session.history, WRITE HISTORY, SHOW HISTORY) and
the result Session.run returns, on the demo data shipped with mainpy."""

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.session import Session

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def refined(tmp_path_factory):
    """The demo refined briefly: 4 steps of B, then 12 of xyz re-phased every 5."""
    s = Session(out=io.StringIO())
    s.run(f"read coor file {EXAMPLES / 'demo_start.pdb'}; read refl file {EXAMPLES / 'demo.mtz'}")
    s.run("define bond angle dihe impr by topo; refl phase; ener xray on")
    s.run("refine b-values step 4 phase steps 2")
    res = s.run("refine step 12 phase steps 5 adjust bond 0.01")
    return s, res


def test_rows_are_the_steps_with_fresh_r_at_the_rephasings(refined):
    s, res = refined
    assert len(s.runs) == 2 and s.history is s.runs[-1] is res.history
    c = s.history.columns()
    # a row per model kept: line-search trials worse than a step before them in their
    # segment (segments end at the re-phasings) are left out, so within a segment the
    # totals fall from row to row (the weight changes only between segments)
    steps = c["step"].tolist()
    assert steps[0] == 0 and steps[-1] == 12 and steps == sorted(set(steps))
    assert {1, 6, 11} <= set(steps)        # a segment's first evaluation is always kept
    rows = s.history.rows
    for a, b in zip(rows[1:], rows[2:]):
        if (a.step - 1) // 5 == (b.step - 1) // 5:
            assert b.total < a.total
    assert c["step"][c["fresh"]].tolist() == [0, 5, 10, 12]
    fresh = c["fresh"]
    assert np.isnan(c["r_free"][~fresh]).all() and not np.isnan(c["r_free"][fresh]).any()
    assert not np.isnan(c["r_work"]).any()
    # R-free fell over the run (the shaken demo model refines towards the truth)
    assert c["r_free"][-1] < c["r_free"][0] - 0.002


def test_rows_agree_with_independent_figures(refined):
    s, _ = refined
    h = s.history
    last = h.rows[-1]
    # the final R-values are those of a fresh Fmodel of the final model
    from mainpy.app.phasing import new_fmodel
    rw, rf = new_fmodel(s).r_factors()
    assert last.r_work == pytest.approx(rw, abs=2e-4)
    assert last.r_free == pytest.approx(rf, abs=2e-4)
    # bond rmsd straight from the coordinates (the demo has no bond through symmetry)
    r = s.restraints
    xyz = s.atoms.xyz
    d = np.linalg.norm(xyz[r.bond_idx[:, 0]] - xyz[r.bond_idx[:, 1]], axis=1)
    assert last.rmsd_bonds == pytest.approx(np.sqrt(np.mean((d - r.bond_ideal) ** 2)), rel=1e-6)
    # each step's total is the sum of its terms, and its R-work the X-ray target's own
    for row in h.rows[1:]:
        assert row.total == pytest.approx(sum(row.terms.values()), rel=1e-9)
    assert set(h.terms()) == {"restraints", "xray"}
    # the data weight is re-adjusted at each RE_PHASE: it changes on the step after one
    w = [row.weight for row in h.rows]
    changed = [h.rows[k].step for k in range(1, len(w)) if w[k] != w[k - 1]]
    assert changed and set(changed) <= {6, 11}


def test_csv_holds_the_columns(refined, tmp_path):
    s, _ = refined
    out = tmp_path / "run.csv"
    res = s.run(f"write history file {out}")
    assert res.files == [str(out)] and list(tmp_path.iterdir()) == [out]
    rows = list(csv.DictReader(out.open()))
    c = s.history.columns()
    assert len(rows) == len(c["step"])
    for name, col in c.items():
        got = [row[name] for row in rows]
        if name == "fresh":
            assert got == ["1" if v else "0" for v in col]
            continue
        want = [None if isinstance(v, float) and math.isnan(v) else v for v in col.tolist()]
        for g, w in zip(got, want):
            assert (g == "") if w is None else float(g) == pytest.approx(w, rel=1e-7)


def test_show_history_prints_the_table(refined):
    s, _ = refined
    res = s.run("show history")
    lines = res.text.splitlines()
    assert "step" in lines[1] and "R-free" in lines[1]
    assert sum("re-phased" in line for line in lines) == 2 and "final" in lines[-1]


def test_no_run_is_a_clear_error(tmp_path):
    s = Session(out=io.StringIO())
    with pytest.raises(LangError, match="no refinement run yet"):
        s.run(f"write history file {tmp_path / 'x.csv'}")
    assert not (tmp_path / "x.csv").exists() and s.history is None


def test_run_returns_what_the_text_did(refined):
    s, res = refined
    assert "12 steps, ended by" in res.text
    assert res.r_free == pytest.approx(s.fmodel.r_factors()[1])
    assert res.r_work == pytest.approx(s.history.rows[-1].r_work)
    assert res.figures["rmsd bonds"] == pytest.approx(s.history.rows[-1].rmsd_bonds)
    assert len(res.runs) == 1 and res.files == []
    plain = s.run("set vari X = 1")
    assert plain.figures == {} and plain.runs == [] and plain.text == ""
    shown = s.run("show vari")
    assert re.search(r"^ X +=\s1$", shown.text, re.M) and "R-work" not in shown.figures


def test_a_trial_not_kept_is_shown_as_the_model_kept():
    """Every printed step line describes a model the run holds: at a line-search trial
    that is worse than a step before it, the line gives the kept step's figures and
    says so (the demo's first segment has such trials)."""
    s = Session(out=io.StringIO())
    s.run(f"read coor file {EXAMPLES / 'demo_start.pdb'}; read refl file {EXAMPLES / 'demo.mtz'}")
    s.run("define bond angle dihe impr by topo; refl phase; ener xray on")
    s.run("refine step 12 phase steps 5 writ 1 adjust bond 0.01")
    lines = re.findall(r"^  step +(\d+)  total (\S+) .*$", s.out.getvalue(), re.M)
    assert [int(n) for n, _ in lines] == list(range(1, 13))
    rows = {row.step: row for row in s.history.rows}
    trials = 0
    for line in re.finditer(r"^  step +(\d+)  total (\S+) .*$", s.out.getvalue(), re.M):
        n, total = int(line[1]), float(line[2])
        m = re.search(r"\(step (\d+)'s model: step (\d+) was a trial not kept\)", line[0])
        if m:
            trials += 1
            assert int(m[2]) == n and n not in rows and int(m[1]) in rows
            kept = rows[int(m[1])]
        else:
            kept = rows[n]
        assert total == pytest.approx(kept.total, rel=1e-5)
        assert f"rmsd bonds {kept.rmsd_bonds:.4f}" in line[0]
    assert trials >= 1 and trials == 12 - (len(rows) - 1)
