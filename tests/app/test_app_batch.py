"""BATCH: jobs of a list run on a LocalCluster; all results come back, a broken job is
reported, the R-values in the table are those of the files written."""

import io
import logging

import pytest

from mainpy.app import cluster
from mainpy.app.batch import plan, read_jobs, run_batch
from mainpy.errors import MainpyError
from mainpy.session import Session

MACRO = """! a short refinement: the shipped refine macro with few steps
set vari REF_B = 2
set vari REF_STEPS = 4
set vari REF_PHASE = 2
<refine ARG1 ARG2 ARG3
"""


def _jobs(tmp_path, data, broken=True):
    (tmp_path / "short.cmds").write_text(MACRO)
    (tmp_path / "bad.mtz").write_bytes(b"not an mtz file at all" * 100)
    aba, mtz = data("xtal/1aba/1aba.pdb"), data("xtal/1aba/1aba.mtz")
    l2h, l2hmtz = data("xtal/1l2h/1l2h.cif"), data("xtal/1l2h/1l2h.mtz")
    lines = ["# model data out", f"short.cmds {aba} {mtz} a1.pdb",
             f"short.cmds {l2h} {l2hmtz} l1.pdb", f"short.cmds {aba} {mtz} a2.pdb",
             f"short.cmds {l2h} {l2hmtz} l2.pdb"]
    if broken:
        lines.insert(3, f"short.cmds {aba} bad.mtz broken.pdb")
    (tmp_path / "jobs.txt").write_text("\n".join(lines) + "\n")
    return tmp_path / "jobs.txt"


def _r_of(path, mtz):
    t = Session(out=io.StringIO())
    t.run(f"read coor file {path}; read refl file {mtz}; refl phase")
    return t.variables["R_WORK"], t.variables["R_FREE"]


@pytest.mark.slow
def test_batch_on_a_local_cluster(data, monlib_dir, tmp_path):
    pytest.importorskip("distributed", reason="dask[distributed] not installed")
    import distributed
    jobs = _jobs(tmp_path, data)
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR)
    try:
        res = run_batch(jobs, tmp_path / "out", cluster.DaskEngine(lc.scheduler_address),
                        monlib=monlib_dir, say=lambda s: None)
    finally:
        lc.close()
    table = res.table()
    print("\n" + table)
    assert sorted(res.results) == [1, 2, 4, 5] and list(res.failed) == [3]
    assert "bad.mtz" in res.failed[3] and "in/2/" not in res.failed[3] and "4 of 5 jobs finished, 1 failed" in table
    mtz = {1: data("xtal/1aba/1aba.mtz"), 2: data("xtal/1l2h/1l2h.mtz"),
           4: data("xtal/1aba/1aba.mtz"), 5: data("xtal/1l2h/1l2h.mtz")}
    out = {1: "a1.pdb", 2: "l1.pdb", 4: "a2.pdb", 5: "l2.pdb"}
    for n, r in res.results.items():
        written = tmp_path / "out" / f"job_{n}" / out[n]
        assert out[n] in r.files and written.exists()
        assert (tmp_path / "out" / f"job_{n}" / "job.log").read_text()
        # the table's figures, checked from the files in a fresh session
        rw, rf = _r_of(written, mtz[n])
        assert abs(r.after[0] - rw) < 1e-3 and abs(r.after[1] - rf) < 1e-3
        assert r.after[0] < r.before[0] + 0.002       # a refinement, not a wreck
    before = _r_of(data("xtal/1aba/1aba.pdb"), mtz[1])
    assert abs(res.results[1].before[0] - before[0]) < 1e-4


def test_batch_plan_and_list_errors(data, tmp_path):
    jobs_file = _jobs(tmp_path, data)
    with open(jobs_file, "a") as f:
        f.write("no_such_macro.cmds x y\n")
    jobs = read_jobs(jobs_file)
    assert len(jobs) == 6 and jobs[5].problem and "no_such_macro" in jobs[5].problem
    assert jobs[0].macro.name == "short.cmds" and sorted(jobs[0].inputs) == [0, 1]
    text = plan(jobs, cluster.LocalPool(2), tmp_path / "out")
    assert "would run 5 of 6 jobs in a local pool of 2 processes" in text
    assert "ARG3=a1.pdb as written" in text and "job 6 (line 7): cannot run" in text
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(MainpyError, match="holds no job"):
        read_jobs(tmp_path / "empty.txt")
    with pytest.raises(MainpyError, match="cannot read the job list"):
        read_jobs(tmp_path / "missing.txt")
