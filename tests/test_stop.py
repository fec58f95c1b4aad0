"""Ctrl-C (a real SIGINT) during a minimization inside a macro ends the minimization after
its step and the whole run: the model is the minimizer's, no later sentence of any
macro level runs, the prompt comes back (or mainpy exits 130 saying where it stopped);
the journal records what ran. Issue 15, item 1 and 7a."""

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mainpy.lang.interpreter import Stopped
from mainpy.repl import run_and_report
from mainpy.session import Session

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MODEL = EXAMPLES / "demo_start.pdb"

STAGE_1 = "minimize step 1000 writ 1"


class CtrlC(io.StringIO):
    """Output that presses Ctrl-C (SIGINT to this process) while the minimizer prints
    step `at` (`times` presses in a row)."""

    def __init__(self, at=4, times=1):
        super().__init__()
        self.at, self.times, self.steps = at, times, 0

    def write(self, text):
        if "  step " in text and "total" in text:
            self.steps += 1
            if self.steps == self.at:
                for _ in range(self.times):
                    os.kill(os.getpid(), signal.SIGINT)    # as Ctrl-C at the terminal
        return super().write(text)


def steps_ran(text: str) -> list[int]:
    return [int(part.split()[-1]) for part in text.split(" steps, ended")[:-1]]


@pytest.fixture
def macros(tmp_path, monkeypatch):
    """outer.cmds calls two_stage.cmds (two minimizations, then a write), then writes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two_stage.cmds").write_text(
        f"{STAGE_1}\nminimize step 5 writ 1\nwrite coor file stage.pdb\n")
    (tmp_path / "outer.cmds").write_text("<two_stage\nwrite coor file outer.pdb\n")
    return tmp_path


def session(out=None, journal=None):
    s = Session(out=out or io.StringIO(), journal=journal)
    s.run(f"read coor file {MODEL}")
    s.run("set coor kick 0.3 seed 3; define bond angle by topo")
    return s


def recorder(s):
    seen = {}
    s.step_hooks.append(lambda session, step, atoms, shown: seen.__setitem__(step, atoms))
    return seen


def test_ctrl_c_in_a_macro_ends_every_macro_level(macros):
    s = session()
    seen = recorder(s)
    s.out = CtrlC(at=4)
    with pytest.raises(Stopped) as e:
        s.run("<outer\nset vari AFTER = 1")
    text = s.out.getvalue()
    assert steps_ran(text) == [4]                    # the second stage never started
    assert not (macros / "stage.pdb").exists() and not (macros / "outer.pdb").exists()
    assert "AFTER" not in s.variables
    # the model is the minimizer's, as of the step where it stopped
    np.testing.assert_array_equal(s.atoms.xyz, seen[4].xyz)
    # one line that says where: the sentence of the macro that was stopped
    msg = e.value.format()
    assert "\n" not in msg
    assert msg.startswith(f"{macros / 'two_stage.cmds'}:1: stopped by Ctrl-C in MINIMIZE "
                          "after 4 steps"), msg
    assert "nothing after it ran" in msg
    assert not s.stop and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # the session goes on: the next text runs whole
    s.out = io.StringIO()
    s.run("minimize step 2 writ 1\nset vari NEXT = 1")
    assert steps_ran(s.out.getvalue()) == [2] and s.variables["NEXT"] == "1"


def test_at_the_prompt_the_stop_is_one_line_and_the_prompt_comes_back(macros):
    s = session()
    s.out = CtrlC(at=3)
    assert run_and_report(s, "<two_stage") is True           # the prompt goes on
    lines = [line for line in s.out.getvalue().splitlines() if "stopped by" in line]
    assert lines == [f"{macros / 'two_stage.cmds'}:1: stopped by Ctrl-C in MINIMIZE after "
                     "3 steps; the model is as the minimizer left it; nothing after it ran"]
    assert not (macros / "stage.pdb").exists()


def test_a_second_ctrl_c_still_interrupts_at_once(macros):
    s = session()
    before = s.atoms
    s.out = CtrlC(at=4, times=2)
    with pytest.raises(Exception) as e:
        s.run("<two_stage")
    assert "interrupted; nothing was changed" in e.value.format()
    assert s.atoms is before                       # the interrupted sentence was undone
    assert not (macros / "stage.pdb").exists()


def test_the_journal_replays_a_stopped_minimization_as_it_ran(macros):
    journal = macros / "journal.cmds"
    s = session(journal=journal)
    s.out = CtrlC(at=4)
    s.run(STAGE_1)                 # typed at the prompt: stopped, nothing left to skip
    assert steps_ran(s.out.getvalue()) == [4]
    lines = journal.read_text().splitlines()
    assert lines[-2:] == [f"! stopped by Ctrl-C after 4 steps: {STAGE_1}",
                          "minimize step 4 writ 1"]
    # a macro call a stop cut short is not replayed (a replay would run all of it)
    s.out = CtrlC(at=2)
    with pytest.raises(Stopped):
        s.run("<two_stage")
    assert journal.read_text().splitlines()[-1] == "! <two_stage"
    assert journal.read_text().splitlines()[-2].startswith("! not replayed: ")
    # the replay makes the same model
    t = Session(out=io.StringIO())
    s2 = session(journal=None)                    # the model after the first stop only
    s2.out = CtrlC(at=4)
    s2.run(STAGE_1)
    t.run_file(journal)
    np.testing.assert_allclose(t.atoms.xyz, s2.atoms.xyz, atol=1e-6)


def test_mainpy_exits_130_saying_where_it_stopped(macros):
    """A real Ctrl-C to a real `mainpy run.cmds -- model.pdb`, sent when its fourth step
    is printed."""
    (macros / "run.cmds").write_text("read coor file ARG1\nset coor kick 0.3 seed 3\n"
                                     "define bond angle by topo\n<outer\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mainpy", "run.cmds", "--", str(MODEL)], cwd=macros,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})      # each step line as it is printed
    steps = 0
    out = []
    try:
        for line in proc.stdout:
            out.append(line)
            if "  step " in line and "total" in line:
                steps += 1
                if steps == 4:
                    proc.send_signal(signal.SIGINT)
        err = proc.stderr.read()
        rc = proc.wait(timeout=120)
    finally:
        proc.kill()
    assert rc == 130, "".join(out) + err
    # (the signal comes from another process: the step after the fourth may have begun)
    last = err.strip().splitlines()[-1]
    m = re.match(r"two_stage\.cmds:1: stopped by Ctrl-C in MINIMIZE after (\d+) steps; ", last)
    assert m and 4 <= int(m.group(1)) <= 20, err
    assert steps_ran("".join(out)) == [int(m.group(1))]
    assert not (macros / "stage.pdb").exists() and not (macros / "outer.pdb").exists()
