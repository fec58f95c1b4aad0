"""WATER UPDATE: remove weak waters and add new ones at difference-map peaks (the science
is mainpy.xtal.waters); the topology and R-values are made again for the new model."""

from __future__ import annotations

import numpy as np

from mainpy.errors import ScienceError


def update(session, peak_sigma=None, keep_sigma=None, b_max=None, add=True,
           remove=True) -> list[str]:
    """Change the model's waters; returns the lines that say what was done."""
    from mainpy.app.hydrogens import install_edited
    from mainpy.app.phasing import need_fmodel, rephase
    from mainpy.model.atoms import from_structure
    from mainpy.model.model import Model, subset_structure
    from mainpy.xtal import waters as W
    from mainpy.xtal.maps import coefficients_to_map
    model = session.need_model()
    if session.reflections is None:
        raise ScienceError("WATER UPDATE needs reflections (READ REFL) for its maps")
    fm = need_fmodel(session)
    r = fm.refl
    two, diff = (coefficients_to_map(r.hkl, fm.map_coefficients(kind, fill_missing=False),
                                     r.cell, r.spacegroup, float(np.nanmin(r.d)))
                 for kind in ("2mfodfc", "mfodfc"))
    kw = {k: v for k, v in (("peak_sigma", peak_sigma), ("keep_sigma", keep_sigma),
                            ("b_max", b_max)) if v is not None}
    plan = W.plan(session.atoms, model.structure.cell, model.spacegroup, W.normalized(two),
                  W.normalized(diff), two, add=add, remove=remove, **kw)
    n_rm = int(((np.asarray(session.atoms.resname).astype(str) == "HOH")
                & plan.removed & (np.char.upper(session.atoms.element.astype(str)) == "O")).sum())
    if n_rm == 0 and not len(plan.added):
        return [" waters: none to remove, none to add"]
    st = subset_structure(model, ~plan.removed) if plan.removed.any() \
        else model.synced_structure().clone()
    if len(plan.added):
        _add_waters(st, plan.added, _new_b(session.atoms, plan.removed))
    atoms = from_structure(st)
    again = install_edited(session, Model(atoms, st, model.path))
    lines = []
    why = ", ".join(f"{n} {w}" for w, n in plan.why_removed.items() if n)
    lines.append(f" waters: {n_rm} removed" + (f" ({why})" if why else "")
                 + f", {len(plan.added)} added at mFo-DFc peaks"
                 + (f" ({plan.heights.min():.1f}-{plan.heights.max():.1f} sigma)"
                    if len(plan.added) else ""))
    if again:
        lines.append(again)
    fm = rephase(session)
    rw, rf = fm.r_factors()
    lines.append(f" RE_PHASE: R-work {rw:.4f}  R-free {rf:.4f} with the new waters")
    return lines


def _new_b(atoms, removed) -> float:
    """B of a new water: the mean of the waters kept, else of the model."""
    water = (np.asarray(atoms.resname).astype(str) == "HOH") & ~removed
    b = atoms.b[water] if water.any() else atoms.b[~removed]
    return float(np.mean(b)) if len(b) else 20.0


def _add_waters(st, xyz, b: float) -> None:
    """Waters at ``xyz`` appended to the model's water chain (one is made if none)."""
    import gemmi
    chain = None
    for ch in st[0]:
        if len(ch) and all(r.name == "HOH" for r in ch):
            chain = ch
    if chain is None:
        names = {ch.name for ch in st[0]}
        name = next(c for c in "WSXYZABCDEFGHIJKLMNOPQRTUV" if c not in names)
        st[0].add_chain(gemmi.Chain(name))
        chain = st[0][len(st[0]) - 1]
    nums = [r.seqid.num for ch in st[0] for r in ch if r.name == "HOH"]
    start = max(nums) + 1 if nums else 1
    for k, p in enumerate(xyz):
        res = gemmi.Residue()
        res.name = "HOH"
        res.seqid = gemmi.SeqId(start + k, " ")
        res.het_flag = "H"
        res.entity_type = gemmi.EntityType.Water
        at = gemmi.Atom()
        at.name = "O"
        at.element = gemmi.Element("O")
        at.pos = gemmi.Position(*p)
        at.b_iso = b
        at.occ = 1.0
        res.add_atom(at)
        chain.add_residue(res)
