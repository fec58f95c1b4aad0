"""`help macro`: it lists every shipped macro, is in the reference, and what it states
about arguments, defaults, RETURN and continuation is what the interpreter does."""

import io

from mainpy.lang.lexer import package_dir
from mainpy.lang.macro_help import help_text
from mainpy.lang.reference import command_reference
from mainpy.session import Session


def test_help_macro_lists_the_shipped_macros_and_is_in_the_reference():
    text = help_text()
    for p in package_dir("macros").glob("*.cmds"):
        assert f"<{p.stem} " in text
    s = Session(out=io.StringIO())
    r = s.run("help macro")
    assert r.text.strip() == text.strip()
    assert "help macro" in s.run("help").text
    assert text.strip() in command_reference()


def test_what_help_macro_states_holds(tmp_path):
    (tmp_path / "m.cmds").write_text(
        "set vari D = 1 default\n"
        "set vari GOT = ARG2\n"
        "set vari N = NARG\n"
        "set vari LONG = -\n"
        "  7 ! continued\n"
        "return\n"
        "set vari AFTER = 1\n")
    s = Session(out=io.StringIO())
    s.run("set vari D = 5; set vari ARG1 = outer")
    s.run(f"<{tmp_path / 'm'} a b")
    v = s.variables
    assert v["GOT"] == "b" and v["N"] == "2" and v["D"] == "5" and v["LONG"] == "7"
    assert "AFTER" not in v and v["ARG1"] == "outer"      # the caller's ARG1 put back
