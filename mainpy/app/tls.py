"""The session's TLS groups: defining them (TLS name SELE ... END, TLS CHAINS), the factory of a
B-VALUES TLS run, and what SHOW ADP says of them.

The groups live in ``session.tls`` (mainpy.model.tls.TlsGroup: residue ranges, origin,
T, L, S); they are read from a model's REMARK 3 / mmCIF TLS records and written back with
the refined tensors. Waters are never in a group.
"""

from __future__ import annotations

import numpy as np

from mainpy.errors import MainpyError

#: a group of fewer atoms is refused: 20 TLS parameters need many more atoms to rest on
MIN_GROUP_ATOMS = 30


def _not_water(atoms) -> np.ndarray:
    from mainpy.refine.adp_params import waters
    return ~waters(atoms)


def ranges_of(atoms, mask) -> list:
    """(chain, first, last) residue-number ranges covering the masked atoms' residues:
    runs of consecutive residues of a chain (in file order) with a selected atom."""
    mask = np.asarray(mask, bool)
    out = []
    for ch in dict.fromkeys(atoms.chain.tolist()):
        in_chain = atoms.chain == ch
        res = atoms.residue_index[in_chain]
        seq = atoms.resseq[in_chain]
        sel = mask[in_chain]
        order = np.unique(res, return_index=True)[1]
        first_rows = np.sort(order)
        picked = np.array([sel[res == res[i]].any() for i in first_rows])
        nums = seq[first_rows]
        k = 0
        while k < len(first_rows):
            if not picked[k]:
                k += 1
                continue
            j = k
            while j + 1 < len(first_rows) and picked[j + 1]:
                j += 1
            out.append((str(ch), int(nums[k]), int(nums[j])))
            k = j + 1
    return out


def group_from_mask(atoms, name: str, mask):
    """A new TLS group (zero tensors) of the residues of the masked non-water atoms."""
    from mainpy.model.tls import TlsGroup, selection_text
    mask = np.asarray(mask, bool) & _not_water(atoms)
    if not mask.any():
        raise MainpyError(f"TLS group {name}: the selection has no atoms other than waters")
    ranges = ranges_of(atoms, mask)
    return TlsGroup(name=name, ranges=ranges, origin=atoms.xyz[mask].mean(axis=0),
                    text=selection_text(ranges))


def chain_groups(atoms) -> list:
    """One TLS group per chain (its non-water residues), named after the chain."""
    keep = _not_water(atoms)
    out = []
    for ch in dict.fromkeys(atoms.chain[keep].tolist()):
        out.append(group_from_mask(atoms, str(ch), keep & (atoms.chain == ch)))
    return out


def membership(atoms, groups) -> np.ndarray:
    """(n,) each atom's group (-1: none; waters never)."""
    from mainpy.model.tls import atom_groups
    own = atom_groups(atoms.chain, atoms.resseq, groups)
    own[~_not_water(atoms)] = -1
    return own


def usable_chain_groups(atoms, moving) -> list:
    """The default groups (one per chain) with enough moving atoms to refine TLS."""
    groups = chain_groups(atoms)
    own = membership(atoms, groups)
    own[~np.asarray(moving, bool)] = -1
    counts = np.bincount(own[own >= 0], minlength=len(groups))
    return [g for g, c in zip(groups, counts) if c >= MIN_GROUP_ATOMS]


def tls_factory(session, moving):
    """(factory of the driver's ADP block, the line that says what it is) for B-VALUES TLS:
    the session's groups (one per chain when none are defined) with each group's atoms'
    residual B; the moving atoms of no group refine their own B or U."""
    groups = list(session.tls)
    made = not groups
    return _factory(session, moving, groups or chain_groups(session.atoms), made)


def _factory(session, moving, groups, made, dropped=()):
    import dataclasses

    from mainpy.app.adp import data_per_parameter
    from mainpy.refine.adp_params import TlsModel
    atoms = session.atoms
    groups = list(groups)
    own = membership(atoms, groups)
    own[~np.asarray(moving, bool)] = -1
    counts = np.bincount(own[own >= 0], minlength=len(groups))
    small = [g.name for g, c in zip(groups, counts) if 0 < c < MIN_GROUP_ATOMS]
    if small and made:       # a short chain (a peptide, a ligand chain): its atoms' own B
        groups = [g for g, c in zip(groups, counts) if c >= MIN_GROUP_ATOMS]
        return _factory(session, moving, groups, made, dropped=small)
    if small:
        raise MainpyError(f"TLS group(s) {', '.join(small)} have fewer than "
                          f"{MIN_GROUP_ATOMS} moving atoms: too few for 20 TLS parameters "
                          "(join them to a neighbour: TLS name SELE ... END)")
    if not counts.any():
        raise MainpyError("no moving atom is in a TLS group (TLS name SELE ... END "
                          "defines one; TLS CHAINS one per chain)")
    for j, g in enumerate(groups):      # a new group's origin: its atoms' centre
        rows = own == j
        if rows.any() and not (np.any(g.T) or np.any(g.L) or np.any(g.S)):
            groups[j] = dataclasses.replace(g, origin=atoms.xyz[rows].mean(axis=0))
    session.tls = groups
    used = int((counts > 0).sum())
    n_par = 4 * int(np.asarray(moving, bool).sum()) + 20 * used   # xyz, B or B_res, TLS
    r = data_per_parameter(session, n_par)
    line = (f" ADP: {used} TLS group{'s' if used != 1 else ''}"
            + (" (one per chain; TLS name SELE ... END defines others)" if made else "")
            + (f" (chain{'s' if len(dropped) > 1 else ''} {', '.join(dropped)}: fewer than "
               f"{MIN_GROUP_ATOMS} atoms, no group)" if dropped else "")
            + f" + residual B of {int((own >= 0).sum())} atoms; "
            f"{int((moving & (own < 0)).sum())} atoms (waters, atoms of no group) their own B"
            + (f"; {r:.1f} reflections per parameter" if r is not None else ""))
    return TlsModel(groups, own), line


def reset_tensors(session, moving) -> int:
    """Zero T, L, S of the groups with moving atoms (their atoms' ADPs refined without
    them, so the tensors no longer describe them); the group definitions stay. Returns
    how many were reset."""
    import dataclasses
    if not session.tls:
        return 0
    own = membership(session.atoms, session.tls)
    hit = set(own[np.asarray(moving, bool) & (own >= 0)].tolist())
    out, k = [], 0
    for j, g in enumerate(session.tls):
        if j in hit and (np.any(g.T) or np.any(g.L) or np.any(g.S)):
            g = dataclasses.replace(g, T=np.zeros(6), L=np.zeros(6), S=np.zeros(9))
            k += 1
        out.append(g)
    session.tls = out
    return k


def written_groups(session) -> list:
    """The groups a written model carries: those with refined (non-zero) tensors."""
    return [g for g in session.tls if np.any(g.T) or np.any(g.L) or np.any(g.S)]


def shift_t(session, du: float) -> None:
    """Add du (A^2) to the diagonal of every group's T (an overall B moved into the
    atoms), as far as T stays positive semidefinite: of a negative du, what T's smallest
    eigenvalue cannot give stays with the residual B (the atoms' U are the same)."""
    import dataclasses

    from mainpy.model.tls import sym_matrix
    out = []
    for g in session.tls:
        t = np.array(g.T, float)
        take = du
        if du < 0:
            take = max(du, -max(float(np.linalg.eigvalsh(sym_matrix(t))[0]), 0.0))
        t[:3] += take
        out.append(dataclasses.replace(g, T=t))
    session.tls = out


def tls_lines(session) -> list:
    """One line per TLS group: its residues, atoms, rms translation and libration."""
    from mainpy.model.tls import amplitudes, selection_text
    atoms = session.atoms
    own = membership(atoms, session.tls) if session.atoms is not None else None
    lines = [f" TLS groups: {len(session.tls)}"]
    for j, g in enumerate(session.tls):
        a = amplitudes(g.T, g.L)
        n = int((own == j).sum()) if own is not None else 0
        t = " ".join(f"{v:.2f}" for v in a.t_rms)
        lib = " ".join(f"{v:.1f}" for v in a.l_rms_deg)
        flag = "" if a.positive_semidefinite else "  (T or L not positive semidefinite)"
        lines.append(f"  {g.name:<6} {g.text or selection_text(g.ranges)}: {n} atoms; "
                     f"rms translation {t} A, libration {lib} deg{flag}")
    return lines
