"""KEY: named selections (MAIN's keys)."""

from mainpy.errors import MainpyError
from mainpy.lang.errors import LangError
from mainpy.lang.registry import Clause, Name, Sele, command
from mainpy.lang.selection_words import BUILTIN_KEYS, key_name_problem
from mainpy.session import Key


def _key(session, args):
    if "init" in args:
        n = len(session.keys)
        session.keys.clear()
        session.echo(f" all keys removed ({n}); ACTIVE and IMAGE are all atoms again")
        return
    name = args.get("name")
    if name is None:
        raise MainpyError("KEY needs a name (key NAME sele ... end), DROP or INIT")
    if "drop" in args:
        if name not in session.keys:
            raise MainpyError(f"no key named {name!r}")
        del session.keys[name]
        session.echo(f" key {name} dropped")
        return
    if "sele" not in args:
        raise MainpyError(f"KEY {name} needs a selection (sele ... end) or DROP")
    problem = key_name_problem(name)
    if problem is not None:         # it could not be used in SELE ... END
        raise LangError(problem, args.where("name"))
    expr = args["sele"]
    if name in session.keys:
        expr = _inline(expr, name, session.keys[name].expr)
    if session.model is None:
        from mainpy.model.selection import key_names
        missing = sorted(k for k in key_names(expr) if k not in session.keys)
        if missing:
            raise MainpyError(f"no key named {missing[0]!r} (show key lists them)")
        session.keys[name] = Key(expr, None)
        session.echo(f" key {name} defined (it is evaluated when a model is read)")
        return
    mask = session.select(expr)
    session.keys[name] = Key(expr, mask)
    n = int(mask.sum())
    session.echo(f" key {name}: {n} atoms")
    if n == 0:
        session.warn(f"key {name} selects no atoms")


def _inline(node, name, old):
    """A key defined from itself (`key picked sele key picked .or. ... end`) takes its
    former expression in place of its name, so it is evaluated again for a new model
    as it was meant and not from its own stale mask."""
    from mainpy.model import selection as S
    if isinstance(node, S.KeyRef) and node.name == name:
        return old
    if isinstance(node, S.Not):
        return S.Not(_inline(node.arg, name, old))
    if isinstance(node, S.By):
        return S.By(node.unit, _inline(node.arg, name, old))
    if isinstance(node, S.BinOp):
        return S.BinOp(node.op, _inline(node.left, name, old), _inline(node.right, name, old))
    return node


def _check_key(static, parsed):
    name = parsed.top.values.get("name")
    uses = {u.decl.key for u in parsed.top.subs}
    if "init" in uses:
        static.keys.clear()
        static.keys.update(BUILTIN_KEYS)
    elif name is not None and "drop" in uses:
        static.keys.discard(name.text)
    elif name is not None:
        static.keys.add(name.text)
        problem = key_name_problem(name.text)
        if problem is not None:
            raise LangError(problem, name.token.where)


command("key", help="store a selection under a name; DROP it; INIT removes all keys",
        lead=(Name("name", optional=True),),
        clauses=(Sele(), Clause("drop", help="remove the key"),
                 Clause("init", help="remove every key")),
        exclusive=(("sele", "drop", "init"),), needs=(("sele", "drop", "init"),),
        action=_key, check=_check_key,
        details="ACTIVE (what MINIMIZE moves) and IMAGE (what the window shows) are all "
                "atoms\nuntil you define them. A key is not named like a selection word or an\n"
                "abbreviation of one (K reads as KEY inside SELE ... END): choose a longer name.\n"
                "A key defined from itself (key near sele near .or. ... end) keeps its former\n"
                "expression in place of its name.",
        examples=("key model_part select segm name DM_* end", "key model_part drop",
                  "key init"))
