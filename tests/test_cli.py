"""The mainpy command: -c, batch files, exit codes, no tracebacks."""

import subprocess
import sys


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
