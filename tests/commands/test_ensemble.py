"""ENSEMBLE at the prompt: members in parallel processes, the best by R-work kept."""

import io

import gemmi
import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.session import Session


def _session(data, monlib_dir):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    s.run(f"read mono {monlib_dir}")
    s.run("set vari KICK_RUN = 4; set vari KICK_STEPS = 2")     # short members
    return s


def _r_of(path, mtz):
    """(R-work, R-free) of a written model against the written data, in a fresh session."""
    t = Session(out=io.StringIO())
    t.run(f"read coor file {path}; read refl file {mtz}; refl phase")
    return t.variables["R_WORK"], t.variables["R_FREE"]


def test_ensemble_keeps_the_best_member(data, monlib_dir, tmp_path):
    s = _session(data, monlib_dir)
    out, best = tmp_path / "ens", tmp_path / "best.pdb"
    s.run(f"ensemble runs 2 seed 3 workers 2 dir {out} file {best}")
    # every member judged again, independently, from the files it wrote
    r = {seed: _r_of(out / f"member_{seed}.pdb", out / "data.mtz") for seed in (3, 4)}
    chosen = int(s.variables["ENS_BEST_SEED"])
    # chosen on the work set (the test set stays out of the choice); R-free is the check
    assert chosen == min(r, key=lambda k: r[k][0])
    assert abs(s.variables["R_WORK"] - r[chosen][0]) < 0.001
    assert abs(s.variables["R_FREE"] - r[chosen][1]) < 0.001
    written = gemmi.read_structure(str(best))
    xyz = np.array([a.pos.tolist() for r in written[0][0] for a in r])
    assert np.abs(xyz - s.atoms.xyz).max() < 1e-3         # the session holds the best model
    log = s.out.getvalue()
    assert "<- best" in log and "the model is now member" in log


def test_ensemble_members_start_from_the_session(data, monlib_dir, tmp_path):
    # no kick: the seeds make no difference, so the members end alike; REFL RESO limits
    # reach the members through the data they are given
    s = _session(data, monlib_dir)
    s.run(f"set vari KICK_AMPL = 0; refl reso 40 2.5; ensemble runs 2 dir {tmp_path}")
    a, b = (gemmi.read_structure(str(tmp_path / f"member_{i}.pdb")) for i in (1, 2))
    xa = np.array([x.pos.tolist() for r in a[0][0] for x in r])
    xb = np.array([x.pos.tolist() for r in b[0][0] for x in r])
    assert np.abs(xa - xb).max() < 0.002
    mtz = gemmi.read_mtz_file(str(tmp_path / "data.mtz"))
    assert mtz.resolution_high() >= 2.5 - 1e-3


def test_ensemble_errors_change_nothing(data, monlib_dir, tmp_path):
    s = _session(data, monlib_dir)
    before = s.fingerprint()
    for bad, says in ((f"ensemble runs 0 dir {tmp_path}", "RUNS of at least 1"),
                      (f"ensemble workers 0 dir {tmp_path}", "WORKERS of at least 1"),
                      (f"ensemble macro no_such_macro dir {tmp_path}", "no macro")):
        with pytest.raises(LangError, match=says):
            s.run(bad)
        assert s.fingerprint() == before
    empty = Session(out=io.StringIO())
    with pytest.raises(LangError, match="no model"):
        empty.run("ensemble runs 2")


def test_ensemble_check_says_what_would_run_where(data, monlib_dir, tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason="dask[distributed] not installed")
    monkeypatch.delenv("MAINPY_SCHEDULER", raising=False)
    s = _session(data, monlib_dir)
    before = s.fingerprint()
    s.run(f"ensemble runs 3 seed 5 workers 2 scheduler local dir {tmp_path / 'e'} check")
    s.run(f'ensemble runs 2 scheduler "tcp://10.9.8.7:8786" dir {tmp_path / "e"} check')
    log = s.out.getvalue()
    assert "would run 3 members (seeds 5, 6, 7) on a Dask LocalCluster of 2" in log
    assert "on the Dask scheduler tcp://10.9.8.7:8786" in log
    assert f"{len(s.atoms)} atoms" in log and "KICK_RUN" not in log and "run=4" in log
    assert not (tmp_path / "e").exists() and s.fingerprint() == before
