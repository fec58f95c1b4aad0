"""TLS: the groups that B-VALUES TLS refines (one T, L, S per group, a residual B per atom)."""

from mainpy.errors import MainpyError
from mainpy.lang.registry import Clause, Name, Sele, command


def _tls(session, args):
    from mainpy.app import tls as T
    if "clear" in args:
        n = len(session.tls)
        session.tls = []
        session.echo(f" TLS groups removed ({n})")
        return
    atoms = session.need_model().atoms
    if "chains" in args:
        session.tls = T.chain_groups(atoms)
        session.echo(f" {len(session.tls)} TLS groups, one per chain: "
                     + ", ".join(g.name for g in session.tls))
        return
    name = args.get("name")
    if name is None or "sele" not in args:
        raise MainpyError("TLS needs a group name and a selection (tls NAME sele ... end), "
                          "CHAINS or CLEAR")
    group = T.group_from_mask(atoms, name, session.select(args["sele"]))
    others = [g for g in session.tls if g.name != name]
    taken = T.membership(atoms, others)[T.membership(atoms, [group]) == 0]
    if (taken >= 0).any():
        used = sorted({others[j].name for j in taken[taken >= 0]})
        raise MainpyError(f"TLS group {name} overlaps group(s) {', '.join(used)} "
                          "(an atom is in one group only: TLS CLEAR, then define them again)")
    replaced = len(others) < len(session.tls)
    session.tls = others + [group]
    n = int((T.membership(atoms, session.tls) == len(session.tls) - 1).sum())
    session.echo(f" TLS group {name}{' redefined' if replaced else ''}: {group.text}, "
                 f"{n} atoms")


command("tls", help="define TLS groups for B-VALUES TLS: a named group of residues, one "
                    "per chain (CHAINS), or none (CLEAR)",
        lead=(Name("name", optional=True),),
        clauses=(Sele(help="the group's residues (waters are left out)"),
                 Clause("chains", help="one group per chain"),
                 Clause("clear", help="remove every group")),
        exclusive=(("sele", "chains", "clear"),), needs=(("sele", "chains", "clear"),),
        action=_tls,
        details="A group takes whole residues: the runs of consecutive residues with a\n"
                "selected atom. Without groups, B-VALUES TLS makes one per chain. Groups\n"
                "are read with a model (REMARK 3, mmCIF) and written with it; SHOW ADP\n"
                "lists them with their rms translation and libration.",
        examples=("tls dom1 sele resi numb 1 : 120 .and. segm name A end", "tls chains",
                  "tls clear"))
