"""The session's state is declared once (mainpy.session.STATE): for every declared field,
each change its kind allows changes the fingerprint, and a sentence that fails after
making it leaves the field as it was; no attribute escapes the declaration."""

import dataclasses
import io

import numpy as np
import pytest

from mainpy.errors import MainpyError
from mainpy.lang.errors import LangError
from mainpy.lang.registry import Command, registry
from mainpy.model import selection as S
from mainpy.model.atoms import MUTABLE
from mainpy.session import KINDS, NOT_STATE, STATE, Key, Session, default_terms

CHANGE_WORD = "zz_state_change"


class Changed:
    """A new object: equal to nothing that was there before."""


def _bumped(arr):
    a = np.array(arr, dtype=float, copy=True)
    a.flat[0] += 1.25
    return a


# -------------------------------------------------------- what each kind of state allows

def _value(s, name):
    setattr(s, name, ("changed", getattr(s, name)))


def _object(s, name):
    setattr(s, name, Changed())


def _dict_add(s, name):
    getattr(s, name)["zz_new"] = "value"


def _dict_set(s, name):
    d = getattr(s, name)
    k = next(iter(d))
    d[k] = ("changed", d[k])


def _dict_del(s, name):
    d = getattr(s, name)
    del d[next(iter(d))]


def _replace_container(s, name):
    setattr(s, name, type(getattr(s, name))())


def _objects_add(s, name):
    getattr(s, name)[99] = Changed()


def _objects_set(s, name):
    d = getattr(s, name)
    d[next(iter(d))] = Changed()


def _list_add(s, name):
    getattr(s, name).append("zz_new")


def _list_pop(s, name):
    getattr(s, name).pop()


def _object_append(s, name):
    getattr(s, name).append(Changed())


def _object_replace(s, name):
    getattr(s, name)[0] = Changed()


def _table_set(s, name):
    inner = next(iter(getattr(s, name).values()))
    inner[next(iter(inner))] = ("changed",)


def _table_add_inner(s, name):
    next(iter(getattr(s, name).values()))["zz_new"] = 1


def _keys_add(s, name):
    getattr(s, name)["zz_new"] = Key(S.All(), None)


def _keys_mask(s, name):
    key = next(iter(getattr(s, name).values()))
    key.mask = ~key.mask                          # as set_model does: a new mask


def _keys_expr(s, name):
    next(iter(getattr(s, name).values())).expr = S.Nothing()


def _model_array(array):
    def change(s, name):
        m = getattr(s, name)
        m.atoms = m.atoms.replace(**{array: _bumped(getattr(m.atoms, array))})
    change.__name__ = f"_model_{array}"
    return change


def _model_replace(s, name):
    setattr(s, name, dataclasses.replace(getattr(s, name)))   # another Model, same arrays


def _model_none(s, name):
    setattr(s, name, None)


#: kind -> the changes a command may make to a field of that kind (each is applied
#: only where it applies: an entry is changed only in a container that has one)
CHANGES = {
    "value": (_value,),
    "object": (_object,),
    "dict": (_dict_add, _dict_set, _dict_del, _replace_container),
    "dict of objects": (_objects_add, _objects_set, _dict_del, _replace_container),
    "list": (_list_add, _list_pop, _replace_container),
    "list of objects": (_object_append, _object_replace, _list_pop, _replace_container),
    "table": (_table_set, _table_add_inner, _dict_del, _replace_container),
    "keys": (_keys_add, _keys_mask, _keys_expr, _dict_del, _replace_container),
    "model": tuple(_model_array(a) for a in MUTABLE) + (_model_replace, _model_none),
}


def _applies(change, value) -> bool:
    if change in (_dict_set, _dict_del, _objects_set, _list_pop, _table_set,
                  _table_add_inner, _keys_mask, _keys_expr, _object_replace):
        return bool(value)
    if change.__name__.startswith("_model"):
        return value is not None
    return True


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def full(data, tmp_path):
    """A session with something in every container: a model, a key, a variable, a save
    point, a map, a TLS group, an extra dictionary name."""
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run("key five sele resi numb 5 end; set vari X = 1; save coor a; make map 1 zero")
    s.run("tls chains")
    s.extra_cifs = ["extra.cif"]
    return s


@pytest.fixture
def change_command(monkeypatch):
    """A sentence (zz_state_change) that makes `plan["change"]` to `plan["field"]`, then
    fails if `plan["fail"]`: put in the registry for one test only."""
    plan = {}

    def action(session, args):
        plan["change"](session, plan["field"])
        if plan["fail"]:
            raise MainpyError("failing after the change, on purpose")

    cmd = Command((CHANGE_WORD,), help="test: change one field of the state", action=action)
    monkeypatch.setitem(registry().tree, CHANGE_WORD, cmd)
    return plan


# ------------------------------------------------------------------ tests

def test_every_attribute_is_declared(full):
    names = [f.name for f in STATE]
    assert len(names) == len(set(names)), "a field is declared twice"
    assert not set(names) & set(NOT_STATE)
    declared = set(names) | set(NOT_STATE)
    assert set(vars(Session())) == declared
    full.run("refl shel 12; ener bond off; set vari Y = 2; key init")
    assert set(vars(full)) == declared, "the session has an attribute declared nowhere"


def test_every_kind_is_exercised_here():
    assert {f.kind.name for f in STATE} <= set(CHANGES)
    assert {k.name for k in KINDS} == set(CHANGES)


def test_new_sessions_share_nothing():
    a, b = Session(), Session()
    assert a.ener == default_terms() and a.xtal == b.xtal and a.verbose == 1
    for f in STATE:
        v = getattr(a, f.name)
        if isinstance(v, (dict, list)):
            assert v is not getattr(b, f.name), f.name
    a.ener["bond"]["on"] = False
    assert b.ener["bond"]["on"] is True


@pytest.mark.parametrize("field", STATE, ids=lambda f: f.name)
def test_each_change_of_each_field_is_seen_and_undone(full, change_command, field):
    s = full
    changes = [c for c in CHANGES[field.kind.name] if _applies(c, getattr(s, field.name))]
    assert changes, f"no change applies to {field.name}"
    for change in changes:
        what = f"{field.name}: {change.__name__}"
        before = s.fingerprint()
        part = field.kind.print(getattr(s, field.name))
        kept = s.state()
        change(s, field.name)
        assert s.fingerprint() != before, f"the fingerprint misses {what}"
        s.restore_state(kept)
        assert s.fingerprint() == before, f"restore_state does not undo {what}"

        change_command.update(change=change, field=field.name, fail=True)
        with pytest.raises(LangError, match="on purpose"):
            s.run(CHANGE_WORD)
        assert field.kind.print(getattr(s, field.name)) == part, f"{what} stayed"
        assert s.fingerprint() == before, f"a failed sentence left {what}"

        change_command["fail"] = False              # the same sentence, succeeding
        s.run(CHANGE_WORD)
        assert s.fingerprint() != before, f"{what}: the sentence changed nothing"
        s.restore_state(kept)


def test_the_fingerprint_sees_anisotropic_u(full):
    """The fingerprint once compared xyz, B, occupancy, charge and weight only."""
    before = full.fingerprint()
    a = full.model.atoms
    u = a.aniso.copy()
    u[3] = (0.02, 0.03, 0.04, 0.001, 0.0, 0.0)
    full.model.atoms = a.replace(aniso=u)
    assert full.fingerprint() != before


def test_a_failed_sentence_keeps_the_model_object_and_its_arrays(full):
    """Each sentence is a transaction of its own: the one before a failure stays."""
    model = full.model
    with pytest.raises(LangError):
        full.run("set temp sele all end = 30\nread coor file no_such_file.pdb")
    assert full.model is model and (full.atoms.b == 30).all()
    atoms = full.model.atoms
    with pytest.raises(LangError):
        full.run("set temp sele resi numb 5 end = 40; set temp sele resi numb 999 : 1 end = x")
    assert full.model is model and full.model.atoms is not atoms
    assert (full.atoms.b[full.atoms.resseq == 5] == 40).all()
