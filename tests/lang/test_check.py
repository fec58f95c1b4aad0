"""`--check`: every line of LANGUAGE.md section 7 passes; misspellings are all reported."""

import re
import subprocess
import sys

import pytest

from mainpy.lang.check import check_file, check_text
from tests.conftest import data_root

# LANGUAGE.md section 7, "The exact lines that must work", as written there.
SECTION_7 = """\
<DEF_ALL
define impr by topo init
set charge sele resi name ARG LYS ASP GLU .a .not -
atom name C N CA O end   0.0
set weigh sele atom name H* end 0.0
set temp sele all end = 28.0
make map MAP_FO zero
make map MAP_FO set -1 1 9999.
make map MAP_FO from MAP_ORIG copy
refl shel 15
set vari DENS_SCAL = 800.
set vari MIN_STEP = 120
set vari RE_PHASE = 15
set vari RAD_SOLV = 4.5
set vari RAD_COMB = 2.8
set vari WEIGHT_FC = 1.1
key model_part select segm name DM_* end
key model_mask select segm name D* end
ener dens map MAP_FO dens scal DENS_SCAL
set vari DONE = 0
minimize sele work_set end step MIN_STEP writ 1 \\
phase steps RE_PHASE gain 90000 \\
phase macro dens_comb.cmds
return
set coor kick 0.2 sele all end
set temp kick 5. sele all end
min adjust bond 0.02
"""


def test_section_7_is_the_spec_text():
    spec = data_root().parent / "spec" / "LANGUAGE.md"
    if not spec.exists():
        pytest.skip("LANGUAGE.md not found beside the test data")
    text = spec.read_text()
    block = re.search(r"## 7\..*?```\n(.*?)```", text, re.S).group(1)
    assert block == SECTION_7


def test_section_7_passes_check_as_a_file(tmp_path):
    f = tmp_path / "dens_setup.cmds"
    f.write_text(SECTION_7)
    result = check_file(f)
    assert result.errors == []
    # the phase macro of issue 7 is reported as a warning until it ships
    assert all("dens_comb" in w.message for w in result.warnings)


def test_section_7_line_by_line_with_definitions_before():
    # each line alone, after the lines before it have defined what it uses
    lines = SECTION_7.replace("-\n", " ").replace("\\\n", " ").splitlines()
    for i in range(1, len(lines) + 1):
        result = check_text("\n".join(lines[:i]), "<lines>")
        assert result.errors == [], (lines[i - 1], [e.format() for e in result.errors])


def test_misspellings_are_all_reported_with_places(tmp_path):
    bad = (SECTION_7.replace("refl shel 15", "refl shle 15")
           .replace("step MIN_STEP", "step MIN_STPE")
           .replace("segm name D*", "segx name D*")
           .replace("make map MAP_FO zero", "make map MAP_FO zeroo"))
    f = tmp_path / "bad.cmds"
    f.write_text(bad)
    errors = [e for e in check_file(f).errors if e.where.source.name == str(f)]
    places = sorted((e.where.line, e.where.col) for e in errors)
    assert places == [(7, 17), (10, 6), (18, 23), (21, 33)]
    texts = "\n".join(e.format() for e in errors)
    assert "SHEL" in texts and "SEGMENT" in texts and "MIN_STPE" in texts


def test_undefined_key_and_errors_inside_called_macros(tmp_path):
    (tmp_path / "inner.cmds").write_text("show sele nokey end\nset temp = ARG1\nset temp = ARG2\n")
    (tmp_path / "outer.cmds").write_text("set vari A = 1\n<inner 5\n")
    errors = check_file(tmp_path / "outer.cmds").errors
    msgs = [e.format() for e in errors]
    assert len(errors) == 2
    assert "nokey" in msgs[0] and "called from" in msgs[0] and "outer.cmds:2:1" in msgs[0]
    assert "ARG2" in msgs[1]


def test_cli_check_exit_codes(tmp_path):
    good = tmp_path / "good.cmds"
    good.write_text(SECTION_7)
    bad = tmp_path / "bad.cmds"
    bad.write_text("minimize stpe 5\nshow kye\n")
    r = subprocess.run([sys.executable, "-m", "mainpy", "--check", str(good)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "mainpy", "--check", str(bad)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1
    assert "bad.cmds:1:10" in r.stderr and "bad.cmds:2:6" in r.stderr and "2 errors" in r.stderr


def _shipped():
    """Shipped macros and examples that run on their own (dens_comb.cmds is a phase macro
    that uses its caller's maps, keys and variables: checked in section 7's context)."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    files = sorted((root / "macros").glob("*.cmds")) + sorted((root / "examples").glob("*.cmds"))
    return [f for f in files if f.name != "dens_comb.cmds"]


@pytest.mark.parametrize("path", _shipped(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_macros_and_examples_pass_check(path, tmp_path):
    # those that take arguments (model, data, output) are checked with the demo's files,
    # as `mainpy --check refine.cmds -- model.pdb data.mtz out.pdb` would
    examples = path.parents[1] / "examples"
    args = [examples / "demo_start.pdb", examples / "demo.mtz", tmp_path / "out.pdb"] \
        if re.search(r"\bARG\d", path.read_text()) else []
    n = max([int(k) for k in re.findall(r"\bARG(\d)", path.read_text())] or [0])
    if n > 3:      # more input files (refine_em: full map and half maps): existing files
        args = args[:2] + [examples / "demo.mtz"] * (n - 3) + args[2:]
    result = check_file(path, args)
    assert result.errors == [], "\n".join(str(e) for e in result.errors)


# ------------------------------------------------------------------ issue 15: ARGn, files

def test_an_argument_never_given_and_a_missing_file_are_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pdb").write_text("")
    (tmp_path / "run.cmds").write_text("read coor file ARG1\nread refl file data.mtz\n"
                                       "write coor file ARG2\n")
    msgs = [e.format() for e in check_file(tmp_path / "run.cmds").errors]
    assert len(msgs) == 3, msgs
    assert "run.cmds:1:16: error: ARG1 is used but not given" in msgs[0]
    assert "after --" in msgs[0]                     # how to give it
    assert "run.cmds:2:16: error: no file 'data.mtz' to read" in msgs[1]
    assert "run.cmds:3:17: error: ARG2 is used but not given" in msgs[2]
    # given on the command line, ARG1 and ARG2 are fine; the data file is still missing
    msgs = [e.format() for e in check_file(tmp_path / "run.cmds", ["model.pdb", "o.pdb"]).errors]
    assert len(msgs) == 1 and "data.mtz" in msgs[0]
    # a file given that does not exist either
    msgs = [e.format() for e in check_file(tmp_path / "run.cmds", ["nothere.pdb", "o"]).errors]
    assert any("no file 'nothere.pdb' to read" in m and "run.cmds:1:16" in m for m in msgs)


def test_arguments_of_calls_defaults_and_files_beside_the_macros(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "beside.pdb").write_text("")
    (lib / "inner.cmds").write_text("read coor file ARG1\nset vari OUT = ARG2 default\n"
                                    "set vari ARG3 = x.pdb default\nset vari Z = ARG3\n")
    (tmp_path / "written.cmds").write_text("write coor file new.pdb\nread coor file new.pdb\n")
    (tmp_path / "outer.cmds").write_text("<lib/inner beside.pdb\n<lib/inner elsewhere.pdb 2\n"
                                         "set vari M = beside.pdb\n<lib/inner M 2\n<written\n")
    errors = check_file(tmp_path / "outer.cmds").errors
    msgs = [e.format() for e in errors]
    # the file found beside the macro is fine, a file found nowhere is not; ARG2 is not
    # given by the first call; ARG3 is set by SET VARI ... DEFAULT; the variable M holds
    # a file that exists; a file written before it is read is fine
    assert len(msgs) == 2, msgs
    assert "ARG2 is used but not given: the call gives 1 argument" in msgs[0]
    assert "called from " in msgs[0] and msgs[0].endswith("/outer.cmds:1:1")
    assert "no file 'elsewhere.pdb' to read" in msgs[1]
    assert msgs[1].endswith("/outer.cmds:2:1")


def test_cli_check_takes_the_arguments_after_a_double_dash(tmp_path):
    (tmp_path / "m.pdb").write_text("")
    (tmp_path / "run.cmds").write_text("read coor file ARG1\n")
    r = subprocess.run([sys.executable, "-m", "mainpy", "--check", "run.cmds"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and "ARG1 is used but not given" in r.stderr
    r = subprocess.run([sys.executable, "-m", "mainpy", "--check", "run.cmds", "--", "m.pdb"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
