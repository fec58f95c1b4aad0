"""The mainpy command: -c, batch files, exit codes, no tracebacks."""

import re
import subprocess
import sys
from pathlib import Path


def mainpy(*args, cwd=None, input=None):
    return subprocess.run([sys.executable, "-m", "mainpy", *args], capture_output=True,
                          text=True, cwd=cwd, input=input, timeout=120)


def test_dash_c_runs_sentences(tmp_path):
    r = mainpy("-c", "set vari A = 1; set vari B = A\nshow vari", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "B = 1" in r.stdout


def test_batch_files_in_order_and_first_error_stops(tmp_path):
    (tmp_path / "a.cmds").write_text("set vari A = 1\nshow vari\n")
    (tmp_path / "b.cmds").write_text("set vari B = 2\n\nshow kye\n")
    (tmp_path / "c.cmds").write_text("show vari\n")
    r = mainpy("a.cmds", "b.cmds", "c.cmds", cwd=tmp_path)
    assert r.returncode == 1
    assert "b.cmds:3:6" in r.stderr and "KEY" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stdout.count("NARG") == 1         # c.cmds never ran


def test_quit_and_return_exit_cleanly(tmp_path):
    r = mainpy("-c", "quit; set vari X = 1; show vari", cwd=tmp_path)
    assert r.returncode == 0 and "X" not in r.stdout
    # a text is resolved whole before it runs: a misspelling after QUIT is still reported
    assert mainpy("-c", "quit; show kye", cwd=tmp_path).returncode == 1
    r = mainpy("-c", "return\nset vari X = 1\nshow vari", cwd=tmp_path)
    assert r.returncode == 0 and "X" not in r.stdout


def test_quiet_verbose_and_version(tmp_path):
    r = mainpy("--version")
    assert r.returncode == 0 and "mainpy" in r.stdout
    (tmp_path / "m.cmds").write_text("set vari A = 1\n")
    r = mainpy("-vv", "-c", "<m", cwd=tmp_path)
    assert "> set vari A = 1" in r.stdout


def test_debug_shows_tracebacks_only_when_asked(tmp_path):
    r = mainpy("-c", "show crystal", cwd=tmp_path)
    assert r.returncode == 1 and "no model" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------ issue 15

MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo_start.pdb"
DATA = MODEL.with_name("demo.mtz")


def test_quiet_keeps_the_results_asked_for(tmp_path):
    r = mainpy("-q", "-c", f"read coor file {MODEL}; read refl file {DATA}; "
               "define bond angle by topo; refl phase r-value; minimize step 2 writ 1; "
               "show crystal; help quit", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "space group P 21 21 21" in out                       # SHOW
    assert "RE_PHASE: R-work" in out and " all" in out           # REFL PHASE, R-VALUE
    assert "leave mainpy" in out                                 # HELP
    assert "atoms in" not in out and "step " not in out          # no progress chatter
    assert "warning:" in out                                     # warnings stay
    assert mainpy("-q", "-c", "show crystal", cwd=tmp_path).stderr.count("no model") == 1


def test_arguments_after_a_double_dash_go_to_the_macro(tmp_path):
    (tmp_path / "run.cmds").write_text("read coor file ARG1\nset vari N = NARG\n"
                                       "show vari\nshow crystal\n")
    r = mainpy("run.cmds", "--", str(MODEL), "out.pdb", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^ ARG2 += out.pdb$", r.stdout, re.M)
    assert re.search(r"^ N += 2$", r.stdout, re.M)
    assert "P 21 21 21" in r.stdout
    r = mainpy("run.cmds", "run.cmds", "--", "x", cwd=tmp_path)     # to which one?
    assert r.returncode == 2 and "one macro file" in r.stderr


def test_a_data_file_given_as_a_macro_is_refused_with_the_hint(tmp_path):
    (tmp_path / "run.cmds").write_text("read coor file ARG1\nwrite coor file ARG2\n")
    r = mainpy("run.cmds", str(MODEL), "out.pdb", cwd=tmp_path)
    assert r.returncode == 2
    assert f"{MODEL} is a data file, not a macro" in r.stderr
    assert f"mainpy run.cmds -- {MODEL} out.pdb" in r.stderr
    assert not (tmp_path / "out.pdb").exists() and "Traceback" not in r.stderr
    # text whose first sentence is no command: not a macro either (the PDB renamed)
    (tmp_path / "model.txt").write_text(MODEL.read_text())
    r = mainpy("run.cmds", "model.txt", cwd=tmp_path)
    assert r.returncode == 2
    assert "model.txt:1:1: error: unknown command" in r.stderr
    assert "model.txt does not read as a macro" in r.stderr and "-- model.txt" in r.stderr
    # the same before --check
    r = mainpy("--check", "run.cmds", str(MODEL), cwd=tmp_path)
    assert r.returncode == 2 and "not a macro" in r.stderr
    # a macro misspelled further on is still a macro: the run reports where
    (tmp_path / "typo.cmds").write_text("show vari\nshow kye\n")
    r = mainpy("typo.cmds", cwd=tmp_path)
    assert r.returncode == 1 and "typo.cmds:2:6" in r.stderr and "not a macro" not in r.stderr
