"""BATCH at the prompt and under mainpy --check."""

import io

import pytest

from mainpy.lang.check import check_text
from mainpy.lang.errors import LangError
from mainpy.session import Session


def test_batch_check_runs_nothing(data, tmp_path, monkeypatch):
    monkeypatch.delenv("MAINPY_SCHEDULER", raising=False)
    (tmp_path / "m.cmds").write_text("read coor file ARG1\nwrite coor file ARG2\n")
    (tmp_path / "jobs.txt").write_text(f"m.cmds {data('xtal/1aba/1aba.pdb')} out.pdb\n")
    s = Session(out=io.StringIO())
    before = s.fingerprint()
    s.run(f"batch file {tmp_path / 'jobs.txt'} dir {tmp_path / 'out'} workers 1 check")
    log = s.out.getvalue()
    assert "would run 1 of 1 jobs in this process" in log and "ARG2=out.pdb" in log
    assert not (tmp_path / "out").exists() and s.fingerprint() == before
    with pytest.raises(LangError, match="WORKERS of at least 1"):
        s.run(f"batch file {tmp_path / 'jobs.txt'} workers 0")


def test_batch_runs_in_this_process(data, tmp_path, monkeypatch):
    monkeypatch.delenv("MAINPY_SCHEDULER", raising=False)
    (tmp_path / "m.cmds").write_text("read coor file ARG1\nwrite coor file ARG2\n")
    (tmp_path / "jobs.txt").write_text(f"m.cmds {data('xtal/1aba/1aba.pdb')} out.pdb\n"
                                       "m.cmds missing.pdb out2.pdb\n")
    s = Session(out=io.StringIO())
    s.run(f"batch file {tmp_path / 'jobs.txt'} dir {tmp_path / 'out'} workers 1")
    assert (tmp_path / "out" / "job_1" / "out.pdb").stat().st_size > 10000
    assert s.variables["BATCH_FAILED"] == "1"
    assert "missing.pdb" in s.out.getvalue() and "1 of 2 jobs finished" in s.out.getvalue()


def test_mainpy_check_checks_the_jobs_macros(data, tmp_path):
    (tmp_path / "m.cmds").write_text("read coor file ARG1\nwrite coor file ARG2\n")
    (tmp_path / "jobs.txt").write_text(f"m.cmds {data('xtal/1aba/1aba.pdb')} out.pdb\n"
                                       "m.cmds nowhere.pdb out2.pdb\nnope.cmds a\n")
    st = check_text(f"batch file {tmp_path / 'jobs.txt'}", "<-c>")
    msgs = [e.format() for e in st.errors]
    assert len(msgs) == 2, msgs
    assert any("job 2" in m and "nowhere.pdb" in m for m in msgs)
    assert any("nope.cmds" in m for m in msgs)
