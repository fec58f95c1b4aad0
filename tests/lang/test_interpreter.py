"""Macros (search path, arguments, RETURN, nesting), variables, error chains, transactions."""

import io

import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.session import Session


def session():
    return Session(out=io.StringIO())


def run_error(s, text):
    with pytest.raises(LangError) as e:
        s.run(text)
    return e.value


def test_variables_set_and_shown():
    s = session()
    s.run("set vari STEP = 20; set vari NAME = model.pdb")
    assert s.variables == {"STEP": "20", "NAME": "model.pdb"}
    s.run("show vari")
    assert "STEP" in s.out.getvalue() and "model.pdb" in s.out.getvalue()


def test_variable_set_and_used_on_the_next_line_of_a_macro(tmp_path):
    (tmp_path / "m.cmds").write_text("set vari N = 7\nset vari M = N\n")
    s = session()
    s.run_file(tmp_path / "m.cmds")
    assert s.variables["M"] == "7"


def test_macro_arguments_nesting_and_return(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inner.cmds").write_text("set vari GOT = ARG2\nreturn\nset vari NEVER = 1\n")
    (tmp_path / "outer.cmds").write_text("<inner a 42\nset vari AFTER = ARG1\n")
    s = session()
    s.run("<outer first")
    assert s.variables["GOT"] == "42"
    assert s.variables["AFTER"] == "first"      # the caller's ARG1 is back after the call
    assert "NEVER" not in s.variables
    assert "ARG1" not in s.variables           # arguments do not outlive the macro


def test_macro_search_path_order(tmp_path, monkeypatch):
    sub = tmp_path / "lib"
    sub.mkdir()
    (sub / "caller.cmds").write_text("<helper\n")
    (sub / "helper.cmds").write_text("set vari FROM = lib\n")        # caller's folder
    (tmp_path / "helper.cmds").write_text("set vari FROM = cwd\n")   # working folder
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "only_here.cmds").write_text("set vari FROM = env\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAINPY_MACROS", str(extra))
    s = session()
    s.run("<lib/caller")
    assert s.variables["FROM"] == "lib"
    s.run("<helper")
    assert s.variables["FROM"] == "cwd"
    s.run("<only_here")
    assert s.variables["FROM"] == "env"
    s.run("<DEF_ALL")                       # shipped with the package
    assert s.variables["MAP_FO"] == "2"


def test_error_in_nested_macro_reports_every_level(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.cmds").write_text("set vari X = 1\n\n  minimize stpe 3\n")
    (tmp_path / "b.cmds").write_text("! b\n<c\n")
    (tmp_path / "a.cmds").write_text("set vari Y = 2\n <b\n")
    s = session()
    e = run_error(s, "<a")
    text = e.format()
    assert str(e.where).endswith("c.cmds:3:12")
    assert [str(w).rsplit("/", 1)[-1] for w in e.chain] == ["b.cmds:2:1", "a.cmds:2:2",
                                                            "<input>:1:1"]
    assert "called from" in text and "STEP" in text
    # the misspelling is found before the macro runs anything
    assert "X" not in s.variables
    # but the outer macro had run its first line
    assert s.variables["Y"] == "2"


def test_runaway_recursion_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop.cmds").write_text("<loop\n")
    s = session()
    e = run_error(s, "<loop")
    assert "nested more than 50" in e.message
    assert len(e.chain) == 51
    # shown: the first and last few places, and how many are left out
    text = e.format().splitlines()
    called = [line for line in text if line.startswith("  called from")]
    assert len(called) == 6 and called[-1] == "  called from <input>:1:1"
    assert "  ... (45 more)" in text and len(text) < 12


def test_missing_macro_names_the_search_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    e = run_error(session(), "<nowhere")
    assert "nowhere" in e.message and "looked" in e.message


def test_pending_command_changes_nothing():
    s = session()
    before = s.fingerprint()
    e = run_error(s, "refl key x")
    assert "not built yet" in e.message
    # it says what to do instead, and promises nothing
    assert "REFL RESO" in e.message and "later issue" not in e.message
    assert s.fingerprint() == before


def test_failed_sentence_leaves_session_unchanged(data):
    s = session()
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run("key side sele resi name LYS end; set vari A = 1; save coor")
    before = s.fingerprint()
    for bad in ("set temp sele all end = -5", "set occu = 2", "key k sele nokey end",
                "restore coor other", "read coor file /nonexistent.pdb",
                "write coor file /nonexistent/dir/x.pdb", "set vari 1X = 2"):
        run_error(s, bad)
        assert s.fingerprint() == before, bad


def test_journal_replays(tmp_path, data):
    journal = tmp_path / "j.cmds"
    s = Session(out=io.StringIO(), journal=journal)
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run("set coor kick 0.3 seed 5 sele resi numb 1 : 10 end")
    with pytest.raises(LangError):
        s.run("set temp = abc")              # failures are not journalled
    s.run("set temp sele atom name CA end = 30")
    t = Session(out=io.StringIO())
    t.run_file(journal)
    assert (t.atoms.xyz == s.atoms.xyz).all() and (t.atoms.b == s.atoms.b).all()
    lines = journal.read_text().splitlines()
    assert lines[0].startswith("! ---- mainpy ") and len(lines) == 4


def test_set_vari_default_keeps_a_value_given_before():
    s = session()
    s.run("set vari STEPS = 10\nset vari STEPS = 60 default\nset vari OTHER = 5 default")
    assert s.variables["STEPS"] == "10" and s.variables["OTHER"] == "5"


def test_a_choice_may_be_an_upper_case_variable():
    s = session()
    s.run("set vari T = mli; ener xray on target T")
    assert s.ener["xray"]["target"] == "mli"
    e = run_error(s, "set vari T = nonsense; ener xray on target T")
    assert "LSQ" in e.message and s.ener["xray"]["target"] == "mli"
    e = run_error(s, "ener xray on target UNSET")
    assert "UNSET" in e.message


def test_files_are_found_beside_the_calling_macros(tmp_path, monkeypatch, data):
    # a shipped-style macro reads a file named by its caller, found beside the caller
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "reader.cmds").write_text("read coor file ARG1\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "model.pdb").write_text(data("xtal/1aba/1aba.pdb").read_text())
    (proj / "run.cmds").write_text("<reader model.pdb\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAINPY_MACROS", str(lib))
    s = session()
    s.run_file(proj / "run.cmds")
    assert len(s.atoms) == 880


@pytest.fixture
def busy_command(monkeypatch):
    """A sentence (zz_busy) whose action, like a minimization receiving a click in the
    window, asks for other text to run, then fails if `plan["fail"]`."""
    from mainpy.errors import MainpyError
    from mainpy.lang.registry import Command, registry
    plan = {"fail": False, "seen": None}

    def action(session, args):
        session.variables["BUSY"] = "1"
        plan["ran_now"] = session.run_soon(plan["text"])
        plan["seen"] = dict(session.variables)      # what the running sentence sees
        if plan["fail"]:
            raise MainpyError("the running sentence fails")

    monkeypatch.setitem(registry().tree, "zz_busy",
                        Command(("zz_busy",), help="test: asks for text while running",
                                action=action))
    return plan


def test_text_asked_for_while_a_sentence_runs_waits_for_its_end(tmp_path, busy_command):
    journal = tmp_path / "j.cmds"
    s = Session(out=io.StringIO(), journal=journal)
    busy_command["text"] = "set vari PICK = 7"
    s.run("zz_busy")
    assert busy_command["ran_now"] is False and "PICK" not in busy_command["seen"]
    assert s.variables["PICK"] == "7" and s.variables["BUSY"] == "1"
    assert journal.read_text().splitlines()[1:] == ["zz_busy", "set vari PICK = 7"]
    # at rest it runs at once
    assert s.run_soon("set vari NOW = 1") is True and s.variables["NOW"] == "1"
    # inside a macro it waits for the macro's call to end, so the journal replays it
    (tmp_path / "m.cmds").write_text("zz_busy\nset vari AFTER = PICK\n")
    busy_command["text"] = "set vari PICK = 8"
    s.run(f"<{tmp_path / 'm'}")
    assert s.variables["AFTER"] == "7" and s.variables["PICK"] == "8"
    assert journal.read_text().splitlines()[-2:] == [f"<{tmp_path / 'm'}", "set vari PICK = 8"]


def test_text_asked_for_by_a_failing_sentence_still_runs(busy_command):
    s = session()
    busy_command.update(text="set vari PICK = 7", fail=True)
    before = s.fingerprint()
    run_error(s, "zz_busy")
    assert "BUSY" not in s.variables and s.variables["PICK"] == "7"
    s.variables.pop("PICK")
    assert s.fingerprint() == before
    # a failing text asked for is reported, not raised, and changes nothing
    busy_command.update(text="set vari 1X = 2", fail=False)
    s.run("zz_busy")
    assert "error" in s.out.getvalue() and "1X" not in s.variables
    assert not s.interpreter.deferred and not s.interpreter.running


def test_a_key_defined_from_itself_survives_a_new_model(data):
    s = session()
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run("key two sele resi numb 5 end; key two sele key two .or. resi numb 7 end")
    s.run("key ca sele two .and. atom name CA end")    # another key's name stays a name
    assert (s.keys["two"].mask == np.isin(s.atoms.resseq, (5, 7))).all()
    s.run(f"read coor file {data('xtal/1d7m/1d7m.pdb')}")    # keys evaluated again
    assert "dropped" not in s.out.getvalue()
    want = np.isin(s.atoms.resseq, (5, 7))
    assert want.sum() > 0 and len(want) != 880
    assert (s.keys["two"].mask == want).all()
    assert (s.keys["ca"].mask == want & (s.atoms.name == "CA")).all()


# ------------------------------------------------------------------ issue 15: the journal

def test_journal_sessions_are_apart_and_reading_is_not_journaled(tmp_path):
    journal = tmp_path / "j.cmds"
    for value in ("1", "2"):
        s = Session(out=io.StringIO(), journal=journal)
        s.run(f"help minimize; show vari; set vari A = {value}; show key")
        s.run("help")
    lines = journal.read_text().splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("! ---- mainpy 0") and lines[2].startswith("! ---- mainpy 0")
    assert "session of 2" in lines[0]                 # the date
    assert lines[1::2] == ["set vari A = 1", "set vari A = 2"]
    t = session()
    t.run_file(journal)                               # the header lines are comments
    assert t.variables["A"] == "2"


def test_commands_that_only_read_are_declared_so():
    from mainpy.lang.registry import registry
    quiet = {c.name for c in registry().commands if not c.journal}
    assert {"HELP", "SHOW", "QUIT", "EXIT", "RETURN"} <= quiet
    assert "SET VARI" not in quiet and "WRITE COOR" not in quiet


# ------------------------------------------------------------------ issue 15: key names

@pytest.mark.parametrize("name", ["k", "K", "a", "all", "resi", "end", "key", "_x*"])
def test_a_key_name_that_cannot_be_used_in_a_selection_is_refused(data, name):
    s = session()
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    before = s.fingerprint()
    line = f'key {name} sele resi numb 5 end'
    e = run_error(s, line)
    assert "a key cannot be named" in e.message and "e.g." in e.message
    assert e.where.col == 5                              # the caret under the name
    assert s.fingerprint() == before and name not in s.keys
    # --check says the same
    from mainpy.lang.check import check_text
    assert any("a key cannot be named" in x.message for x in check_text(line, "<c>").errors)


def test_a_longer_name_works_and_is_usable_in_a_selection(data):
    s = session()
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run("key k_set sele resi numb 5 end\nshow sele k_set .or. resi numb 6 end")
    assert s.keys["k_set"].mask.sum() > 0
