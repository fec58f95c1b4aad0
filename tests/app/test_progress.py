"""Progress of long operations: quiet when short, one updating line at a terminal,
plain lines when piped, the time left estimated from the pace so far."""

import io
from pathlib import Path

from mainpy.app import progress
from mainpy.app.progress import Progress
from mainpy.session import Session

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Tty(io.StringIO):
    def isatty(self):
        return True


def _run(out, steps, dt, verbose=1, **kw):
    clock = Clock()
    s = Session(out=out, verbose=verbose)
    with Progress(s, "models", steps, clock=clock, **kw) as p:
        for k in range(steps):
            clock.t += dt
            p.update(k + 1)
    return out.getvalue()


def test_short_operations_stay_quiet():
    assert _run(io.StringIO(), 10, 0.1) == ""          # 1 s in all
    assert _run(Tty(), 10, 0.1) == ""


def test_piped_plain_lines_with_the_time_left():
    text = _run(io.StringIO(), 10, 3.0, every=10.0)
    lines = text.splitlines()
    assert "\r" not in text
    # shown from 2 s on, then at most every 10 s; 3 s a model: 3 models done at 9 s
    # leave 7 models, 21 s
    assert lines[0] == " models: 1/10 (10%), 3 s, about 27 s left"
    assert " models: 5/10 (50%), 15 s, about 15 s left" in lines
    assert lines[-1] == " models: 10/10 done in 30 s"
    assert len(lines) == 4                               # at 3, 15, 27 s and the end


def test_a_terminal_gets_one_updating_line():
    text = _run(Tty(), 4, 61.0)
    assert text.count("\n") == 1 and text.endswith("\n")
    frames = text.split("\r")[1:]
    assert frames[0].startswith(" models: 1/4 (25%), 1 min 01 s, about 3 min 03 s left")
    assert frames[-1].strip() == "models: 4/4 done in 4 min 04 s"


def test_quiet_sessions_show_no_progress():
    assert _run(io.StringIO(), 10, 3.0, verbose=0) == ""


def test_kick_maps_report_each_model(monkeypatch):
    monkeypatch.setattr(progress, "AFTER", 0.0)
    monkeypatch.setattr(progress, "EVERY", 0.0)
    s = Session(out=io.StringIO())
    s.run(f"read coor file {EXAMPLES / 'demo_start.pdb'}; read refl file {EXAMPLES / 'demo.mtz'}")
    text = s.run("make map 2 kick count 3").text
    assert [line.split("(")[0] for line in text.splitlines() if "kicked models:" in line
                                    and "done" not in line] \
        == [" kicked models: 1/3 ", " kicked models: 2/3 ", " kicked models: 3/3 "]
    assert "kicked models: 3/3 done in" in text


def test_the_result_keeps_the_updating_line_as_it_ended(monkeypatch):
    monkeypatch.setattr(progress, "AFTER", 0.0)
    s = Session(out=Tty())
    s.run(f"read coor file {EXAMPLES / 'demo_start.pdb'}; read refl file {EXAMPLES / 'demo.mtz'}")
    r = s.run("make map 2 kick count 3")
    assert "\r" in s.out.getvalue() and "\r" not in r.text
    assert any(line.startswith(" kicked models: 3/3 done in") for line in r.text.splitlines())


def test_first_compile_is_told_once(tmp_path, monkeypatch):
    """A kernel module without a numba cache index beside it is listed; with one it is
    not; FirstCompile says so before and after, once per process."""
    import io
    import sys

    from mainpy.app import progress as P
    from mainpy.session import Session
    pkg = tmp_path / "kpkg"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "kern.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    sys.modules.pop("kpkg", None)
    assert P.uncompiled(("kpkg.kern",)) == ["kpkg.kern"]
    (pkg / "__pycache__" / "kern.f-3.py311.nbi").write_text("")
    assert P.uncompiled(("kpkg.kern",)) == []
    monkeypatch.setattr(P, "_TOLD", [])
    monkeypatch.setattr(P, "uncompiled", lambda: ["kpkg.kern"])
    s = Session(out=io.StringIO())
    ticks = iter([0.0, 17.0])
    with P.FirstCompile(s, clock=lambda: next(ticks)):
        pass
    out = s.out.getvalue()
    assert "compiling mainpy's numerical kernels" in out and "compiled and cached in 17 s" in out
    with P.FirstCompile(Session(out=io.StringIO())) as again:
        assert again.todo == []
