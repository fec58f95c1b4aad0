"""SHOW: keys, variables, the crystal, selections (energies, R-values, geometry later)."""

from mainpy.lang.registry import Clause, Int, Name, Sele, command
from mainpy.lang.selection_words import BUILTIN_KEYS

MAX_LISTED = 50


def _show_keys(session):
    masks = session.key_masks()
    names = set(masks) | set(session.keys)
    if not names:
        session.result(" no keys (ACTIVE and IMAGE are all atoms once a model is read)")
        return
    session.result(f" {'key':<16} {'atoms':>8}")
    for name in sorted(names, key=lambda k: (k not in BUILTIN_KEYS, k)):
        note = "" if name in session.keys else "  (built in: all atoms)"
        count = f"{int(masks[name].sum()):>8}" if name in masks else f"{'-':>8}  (no model yet)"
        session.result(f" {name:<16} {count}{note}")


def _show_vari(session):
    from mainpy.lang.registry import refresh_derived
    refresh_derived(session, list(session.variables))   # R_WORK ... of the model in hand
    if not session.variables:
        session.result(" no variables")
        return
    w = max(len(k) for k in session.variables)
    for k in sorted(session.variables):
        v = session.variables[k]
        session.result(f" {k:<{w}} = {v:.6g}" if isinstance(v, float) else f" {k:<{w}} = {v}")


def _show_crystal(session):
    m = session.need_model()
    p = m.cell.parameters
    sg = m.spacegroup
    a = m.atoms
    session.result(f" cell        {p[0]:.3f} {p[1]:.3f} {p[2]:.3f}  {p[3]:.2f} {p[4]:.2f} {p[5]:.2f}")
    session.result(f" space group {sg.xhm() if sg else 'unknown'}"
                 + (f"  ({len(sg.operations())} symmetry operators)" if sg else ""))
    session.result(f" atoms       {len(a)} in {a.n_residues} residues, "
                 f"{len(set(a.chain.tolist()))} chains, {len(set(a.segment.tolist()))} segments")
    if m.structure.resolution:
        session.result(f" resolution  {m.structure.resolution:.2f} A (from the file)")
    if m.path:
        session.result(f" file        {m.path}")


def _show_sele(session, node):
    import numpy as np
    atoms = session.atoms
    mask = session.select(node)
    idx = np.flatnonzero(mask)
    session.result(f" {len(idx)} atoms selected")
    for i in idx[:MAX_LISTED]:
        session.result(f"  {atoms.serial[i]:>6} {atoms.label(i):<22} B {atoms.b[i]:6.2f} "
                     f"occ {atoms.occ[i]:4.2f}")
    if len(idx) > MAX_LISTED:
        session.result(f"  ... and {len(idx) - MAX_LISTED} more")


def _show_maps(session):
    import numpy as np
    if not session.maps:
        session.result(" no maps")
        return
    for n in sorted(session.maps):
        g = session.maps[n]
        a = np.asarray(g.array)
        session.result(f" map {n}: grid {g.nu}x{g.nv}x{g.nw}, mean {a.mean():.4g}, "
                     f"sigma {a.std():.4g}, min {a.min():.4g}, max {a.max():.4g}")


def _show_r_value(session, sub):
    from mainpy.app.phasing import need_fmodel
    from mainpy.app.reports import r_value_lines
    fm = need_fmodel(session)
    for line in r_value_lines(fm, session.xtal["shel"]):
        session.result(line)
    name = sub.get("vari") if hasattr(sub, "get") else None
    if name:
        session.variables[name] = round(fm.r_free, 6)


def _show(session, args):
    shown = False
    for name in args.names():
        shown = True
        if name == "key":
            _show_keys(session)
        elif name == "vari":
            _show_vari(session)
        elif name == "crystal":
            _show_crystal(session)
        elif name == "sele":
            _show_sele(session, args["sele"])
        elif name == "maps":
            _show_maps(session)
        elif name == "fsc":
            from mainpy.app.em import fsc_lines
            lines, fig = fsc_lines(session, args["fsc"])
            for line in lines:
                session.result(line)
            for var, key in (("FSC_WORK", "fsc_work_avg"), ("FSC_FREE", "fsc_free_avg"),
                             ("CC_MASK", "cc_mask")):
                if key in fig:
                    session.variables[var] = round(fig[key], 6)
        elif name == "r_value":
            _show_r_value(session, args[name])
        elif name == "ener":
            from mainpy.app.reports import energy_lines
            for line in energy_lines(session):
                session.result(line)
        elif name == "adp":
            from mainpy.app.reports import adp_lines
            for line in adp_lines(session, args["adp"]):
                session.result(line)
        elif name == "history":
            from mainpy.commands.write import _last_run
            h = _last_run(session)
            session.result(f" {h.what.strip()}")
            for line in h.lines(every=max(1, len(h) // 20)):
                session.result(line)
        elif name == "geometry":
            from mainpy.app.reports import geometry
            lines, figures = geometry(session)
            for line in lines:
                session.result(line)
            if figures["inverted"]:
                session.warn(f"{figures['inverted']} chiral centres are inverted")
    if not shown:
        _show_crystal(session) if session.model is not None else _show_vari(session)


command("show", help="print keys, variables, the crystal, a selection, energies, R-values",
        clauses=(Clause("key", help="keys and their atom counts"),
                 Clause("vari", help="variables and their values"),
                 Clause("crystal", help="cell, space group, atom count"),
                 Clause("maps", help="the maps in memory"),
                 Clause("fsc", (Int("n", help="the EM map"),),
                        help="EM validation against map n: FSC half/half (0.143), "
                             "model/map (0.5), FSC_work/FSC_free, CC_mask"),
                 Clause("ener", help="each energy term and its restraint count"),
                 Clause("geometry", help="rmsd bonds/angles, Ramachandran"),
                 Clause("history", help="the last refinement run: R, rmsd, weight by step "
                                        "(WRITE HISTORY writes all of it as CSV)"),
                 Clause("adp", sub=(Sele(help="the atoms to describe (all by default)"),),
                        help="the ADP model: mean B, anisotropic atoms and their "
                             "anisotropy, TLS groups and their amplitudes"),
                 Clause("r-value", (), sub=(Clause("vari", (Name("name"),),
                                                   help="also store R-free in a variable"),),
                        help="R-work, R-free overall and per shell"),
                 Sele(help="list the selected atoms")),
        action=_show, journal=False,
        examples=("show key", "show sele resi name HOH end", "show crystal"))
