"""Resolution against the registry: abbreviations, clauses, values, errors, completion."""

import pytest

from mainpy.lang.errors import LangError
from mainpy.lang.lexer import split
from mainpy.lang.parser import MacroCall, bind, completions, resolve
from mainpy.lang.registry import Ambiguous, match, registry
from mainpy.model import selection as S


def parse(text, keys=None):
    (s,) = split(text)
    return resolve(s, keys)


def args(text, variables=None, keys=None):
    return bind(parse(text, keys), variables or {})


def error(text, keys=None):
    with pytest.raises(LangError) as e:
        parse(text, keys)
    return e.value


def test_match_exact_wins_then_unique_prefix():
    assert match("free", ["free", "free_value"]) == "free"
    assert match("free_", ["free", "free_value"]) == "free_value"
    assert match("MIN", ["minimize", "make"]) == "minimize"
    with pytest.raises(Ambiguous) as e:
        match("m", ["minimize", "make"])
    assert e.value.candidates == ["make", "minimize"]
    assert match("zzz", ["minimize"]) is None


def test_abbreviated_command_and_clauses():
    p = parse("min sele all end step 20 writ 1 phase steps 15 gain 90000 phase macro x.cmds")
    assert p.command.name == "MINIMIZE"
    a = bind(p, {})
    assert a["step"] == 20 and a["write_step"] == 1 and a["gain_r_value"] == 90000.0
    phases = a.all("phase")
    assert phases[0]["steps"] == 15 and phases[1]["macro"] == "x.cmds"
    assert isinstance(a["sele"], S.All)


def test_every_command_word_abbreviation_is_per_context():
    # "sele" is a clause of MINIMIZE, "set" a command: no clash across contexts
    assert parse("set temp sele all end = 28.0").command.name == "SET TEMP"
    assert args("set temp sele all end = 28.0")["value"] == 28.0
    assert args("set temp sele all end 28.0")["value"] == 28.0


def test_variables_are_bound_at_run_time():
    a = args("minimize step MIN_STEP", {"MIN_STEP": "120"})
    assert a["step"] == 120
    with pytest.raises(LangError) as e:
        args("minimize step MIN_STEP", {})
    assert "MIN_STEP" in e.value.message and e.value.where.col == 15


def test_variable_used_as_a_map_number_and_a_file_name():
    a = args("make map MAP_FO from MAP_ORIG copy", {"MAP_FO": "2", "MAP_ORIG": 1})
    assert a["n"] == 2 and a["from"]["m"] == 1 and a["from"]["operation"] == "copy"
    a = args("read coor file MODEL", {"MODEL": "x.pdb"})
    assert a["file"] == "x.pdb"


def test_ener_groups_repeat_as_main_writes_them():
    a = args("ener dens map MAP_FO dens scal DENS_SCAL", {"MAP_FO": "2", "DENS_SCAL": "800."})
    d1, d2 = a.all("dens")
    assert d1["map"] == 2 and d2["scale"] == 800.0


def test_optional_equals_sign():
    assert args("set vari X = 5")["value"] == "5"
    assert args("set vari X 5")["value"] == "5"
    assert args("set coor kick = 0.2 sele all end")["kick"] == 0.2


def test_integer_argument_rejects_a_fraction():
    e = error("minimize step 1.5")
    assert "integer" in e.message and e.where.col == 15


def test_unknown_keyword_suggests_nearest():
    e = error("minimize sele all end stpe 10")
    assert "stpe" in e.message and "STEP" in e.candidates
    assert (e.where.line, e.where.col, e.where.length) == (1, 23, 4)
    text = e.format()
    assert text.splitlines()[2].index("^") == 2 + 22


def test_ambiguous_prefix_lists_candidates():
    e = error("m sele all end")
    assert set(e.candidates) == {"MAKE", "MINIMIZE", "MODELS"}
    e = error("read m 1 file x.map")
    assert set(e.candidates) == {"MAP", "MONO"}


def test_unknown_command_and_incomplete_command():
    e = error("minimise step 5")
    assert "unknown command" in e.message and "MINIMIZE" in e.candidates
    e = error("read")
    assert "COOR" in e.message and "REFL" in e.message


def test_exclusive_and_required_clauses():
    assert "cannot be used together" in error("read coor file x.pdb pdb cif").message
    assert "needs" in error("read coor pdb").message
    assert "too many" in error("minimize step 1 step 2").message


def test_selection_trees():
    a = args("show sele resi name ARG LYS ASP GLU .a .not atom name C N CA O end")
    assert a["sele"] == S.BinOp("and", S.Names("resname", ("ARG", "LYS", "ASP", "GLU")),
                                S.Not(S.Names("name", ("C", "N", "CA", "O"))))


def test_selection_is_left_to_right_with_not_binding_tighter():
    a = args("show sele all .o none .a none end")
    assert a["sele"] == S.BinOp("and", S.BinOp("or", S.All(), S.Nothing()), S.Nothing())
    a = args("show sele all .o (none .a none) end")
    assert a["sele"] == S.BinOp("or", S.All(), S.BinOp("and", S.Nothing(), S.Nothing()))


def test_selection_ranges_numbers_and_around():
    a = args("show sele resi numb 10 : 20 30 .x. atom numb 5:7 .and. around key k dist R end",
             {"R": "4.5"}, keys={"k"})
    t = a["sele"]
    assert t.right == S.Around("k", 4.5)
    assert t.left.left == S.Numbers("resseq", ((10, 20), (30, 30)))
    assert t.left.right == S.Numbers("serial", ((5, 7),))


def test_selection_key_wins_over_tag_and_unknown_words_fail():
    assert args("show sele all end", keys={"all"})["sele"] == S.KeyRef("all")
    e = error("show sele segx name A end", keys=set())
    assert "segx" in e.message and "SEGMENT" in e.candidates


def test_selection_nesting_ten_levels():
    text = "show sele " + "(" * 12 + "all" + ")" * 12 + " end"
    assert isinstance(args(text)["sele"], S.All)
    assert "')'" in error("show sele ((all) end").message


def test_unclosed_selection_points_after_the_last_word():
    e = error("minimize sele resi name ALA")
    assert "END" in e.message and e.where.col == len("minimize sele resi name ALA") + 1


def test_macro_call():
    p = parse("<my_macro 1 two")
    assert isinstance(p, MacroCall) and p.file.text == "my_macro"
    assert [a.text for a in p.args] == ["1", "two"]


@pytest.mark.parametrize("text,expected", [
    ("", "minimize"),
    ("min se", "select"),
    ("read co", "coor"),
    ("show sele resi na", "name"),
    ("ener dens sc", "scale"),
    ("make map 1 fr", "from"),
    ("set temp sele all end ki", "kick"),
])
def test_completions(text, expected):
    assert expected in completions(text, keys=set())


def test_completion_of_choices_and_keys():
    assert completions("refl solv_flat ", keys=set()) == ["off", "on"]
    assert "mykey" in completions("show sele my", keys={"mykey"})


def test_every_declared_command_has_help_and_usage():
    for cmd in registry().commands:
        assert cmd.help and cmd.usage().startswith(cmd.name)
        assert cmd.name in cmd.help_text()


def test_help_lists_each_clause_once():
    """ENER's SCALE, shared by eleven terms, was listed eleven times."""
    from mainpy.lang.registry import registry
    for cmd in registry().commands:
        rows = [line for line in cmd.help_text().splitlines()[1:] if line.strip()]
        assert len(rows) == len(set(rows)), cmd.name
    text = registry().find(["ener"]).help_text()
    assert text.count("SCALE r  ") == 1 and text.count("MAP n  ") == 1
    assert "after BOND ANGLE DIHE" in text and "after DENS DIFF EM:" in text
