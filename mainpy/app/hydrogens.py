"""Hydrogens of the session's model: added from the monomer library, removed, and riding on
their parents in refinement (HYDROGEN ADD | REMOVE | RIDING | FREE)."""

from __future__ import annotations

import numpy as np

from mainpy.errors import ScienceError


def count(session) -> int:
    from mainpy.refine.riding import is_hydrogen
    return int(is_hydrogen(session.atoms).sum()) if session.model is not None else 0


#: HYDROGEN AUTO adds riding H to a model without any when the data reach this (A). The
#: shipped refinement of deposited 1aba (1.45 A) ended at R-free 0.1638 with them against
#: 0.1754 without, 1l2h (1.54 A) 0.2668 against 0.2675; 1d7m (2.4 A) 0.2728 against 0.2676
AUTO_H_D = 2.0


def auto(session) -> tuple[bool, str]:
    """(whether HYDROGEN AUTO adds hydrogens, why)."""
    from mainpy.app.adp import used_reflections
    n = count(session)
    if n:
        return False, f"the model has {n} hydrogens: kept (riding)"
    _, d = used_reflections(session)
    if d is None:
        return False, "no reflections: none added"
    if d <= AUTO_H_D:
        return True, f"{d:.2f} A data (<= {AUTO_H_D:g} A): riding hydrogens wanted"
    return False, f"{d:.2f} A data (> {AUTO_H_D:g} A): no hydrogens added"


def _key(ch, res, at) -> tuple:
    return (ch.name, res.seqid.num, res.seqid.icode, res.name, at.name, at.altloc)


def _parent(res, h):
    """The heavy atom of ``res`` nearest to hydrogen ``h`` (its conformer or none)."""
    from mainpy.restraints.from_coordinates import same_conformer
    best, dist = None, 1.4
    for a in res:
        if a.is_hydrogen() or not same_conformer(a, h):
            continue
        d = a.pos.dist(h.pos)
        if d < dist:
            best, dist = a, d
    return best


def _on_metal_ligand(ch, res, h, ligands) -> bool:
    """Whether a new hydrogen sits on an atom that coordinates a metal ion and loses its
    proton to it (His N, Cys S, ...: `from_coordinates.deprotonated_by_metal`)."""
    if not ligands:
        return False
    from mainpy.restraints.from_coordinates import deprotonated_by_metal
    parent = _parent(res, h)
    if parent is None:
        return False
    ion = ligands.get((ch.name, str(res.seqid), parent.name, parent.altloc))
    return ion is not None and deprotonated_by_metal(parent, ion)


def _listed(names, most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def add(session, mask=None) -> str:
    """Hydrogens at their ideal places (the monomer library's X-H distances to the
    electron cloud, as X-ray refinement wants) on every residue with a dictionary but
    waters; those already in the model keep their coordinates, B and occupancy. The new
    ones take their parent's B times the riding factor. ``mask``: only residues with a
    selected atom get new hydrogens. Returns what was done."""
    import gemmi

    from mainpy.app.topology import load_library
    from mainpy.model.atoms import from_structure
    from mainpy.model.model import Model
    from mainpy.refine.riding import H_B_FACTOR
    from mainpy.restraints import from_coordinates, stretched_links
    model = session.need_model()
    lib = session.library = load_library(session)     # kept: DEFINE reads it again
    old = model.synced_structure()
    keep = {}
    for ch in old[0]:
        for res in ch:
            for at in res:
                if at.is_hydrogen():
                    keep[_key(ch, res, at)] = (at.pos, at.b_iso, at.occ, at.aniso)
    chosen = None
    if mask is not None:
        atoms = session.atoms
        chosen = {(str(atoms.chain[i]), int(atoms.resseq[i]), str(atoms.icode[i]).strip())
                  for i in np.flatnonzero(mask)}
    st = old.clone()
    st.setup_entities()
    try:
        # stretched peptide links: the hydrogens of a linked N, not of an N-terminus
        _, bridged, _ = stretched_links.prepare(
            st, lib.monlib, h_change=gemmi.HydrogenChange.ReAddButWater, reorder=True)
        stretched_links.remove(st, len(bridged))
    except (RuntimeError, ValueError) as exc:
        raise ScienceError(f"cannot add hydrogens: {exc}") from None
    ligands = from_coordinates.metal_ligands(st)
    added, on_metal = 0, []
    for ch in st[0]:
        for res in ch:
            rkey = (ch.name, res.seqid.num, res.seqid.icode.strip())
            for k in range(len(res) - 1, -1, -1):
                at = res[k]
                if not at.is_hydrogen():
                    continue
                was = keep.get(_key(ch, res, at))
                if was is not None:
                    at.pos, at.b_iso, at.occ, at.aniso = was
                elif chosen is not None and rkey not in chosen:
                    del res[k]
                elif _on_metal_ligand(ch, res, at, ligands):
                    on_metal.append(f"{ch.name}/{res.name} {res.seqid}/{at.name}")
                    del res[k]
                else:
                    at.b_iso *= H_B_FACTOR
                    added += 1
    kept = sum(1 for ch in st[0] for r in ch for a in r if a.is_hydrogen()) - added
    gone = len(keep) - kept
    atoms = from_structure(st)
    again = install_edited(session, Model(atoms, st, model.path))
    if added:
        out = f" {added} hydrogens added (riding on their parents in refinement)"
    elif kept:
        out = " no hydrogens added: those the dictionaries name are all there"
    else:
        out = " no hydrogens added: the dictionaries in use name none for these residues"
    if keep:
        out += f"; {kept} present kept"
    if gone > 0:
        out += f"; {gone} present hydrogens the dictionaries do not name were removed"
    if on_metal:
        out += (f"; {len(on_metal)} left off where their parent atom coordinates a metal "
                f"ion ({_listed(on_metal)})")
    return out + ("\n" + again if again else "")


def remove(session, mask=None) -> str:
    """Remove hydrogens (the selected ones, or all); returns what was done."""
    from mainpy.model.model import Model, subset_structure
    from mainpy.model.atoms import from_structure
    from mainpy.refine.riding import is_hydrogen
    model = session.need_model()
    hyd = is_hydrogen(model.atoms)
    if mask is not None:
        hyd &= mask
    n = int(hyd.sum())
    if n == 0:
        return " no hydrogens to remove"
    st = subset_structure(model, ~hyd)
    again = install_edited(session, Model(from_structure(st), st, model.path))
    return f" {n} hydrogens removed" + ("\n" + again if again else "")


def install_edited(session, new) -> str:
    """The edited model (atoms added or removed) with the session's keys, TLS groups and
    data; its restraints made again if the old model had them. It counts as changed
    until written. Returns DEFINE's line, or ""."""
    from mainpy.app.topology import define_topology
    tls, had = session.tls, session.energy is not None
    session.set_model(new)
    session.tls = tls
    session.model_mark = None
    if not had:
        return ""
    what, _ = define_topology(session)
    return what.replace(" topology", " topology made again", 1)


def riding(session, moving):
    """The run's riding hydrogens (mainpy.refine.riding.Riding) and the line that says
    so, or (None, "") when there are none or HYDROGEN FREE refines them as atoms."""
    from mainpy.refine.riding import (Placement, Riding, is_hydrogen, parents,
                                      place_by_restraints)
    atoms = session.atoms
    hyd = is_hydrogen(atoms)
    if session.energy is None:
        return None, ""
    session.energy.set_riding(None)
    if not hyd.any():
        return None, ""
    if session.hydrogens == "free":
        return None, f" {int(hyd.sum())} hydrogens refined as free atoms (HYDROGEN FREE)"
    parent = parents(atoms, session.restraints.bond_idx)
    placement = Placement(atoms, session.restraints, parent)
    r = Riding(parent, place_by_restraints(session.energy, placement=placement))
    n = len(r.riders(moving))
    if n == 0:
        return None, ""
    session.energy.set_riding(r.riding_mask(), r.b_factor)
    orphans = int((hyd & (parent < 0)).sum())
    return r, (f" {n} hydrogens ride on their parents (placed anew every segment)"
               + (f"; {orphans} bonded to no heavy atom refine as atoms" if orphans else ""))
