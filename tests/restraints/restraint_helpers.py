"""Helpers shared by the restraint tests (independent of the code under test)."""

import numpy as np


def rows_by_position(atoms):
    """Map (atom name, altloc, x, y, z) -> Atoms row: identifies gemmi atoms without
    relying on serial numbers or iteration order."""
    return {(atoms.name[i], atoms.altloc[i], *map(float, atoms.xyz[i])): i
            for i in range(len(atoms))}


def atom_row(rows, atom):
    """Atoms row of a gemmi.Atom of the same (unmoved) structure."""
    alt = atom.altloc if atom.altloc != "\0" else ""
    p = atom.pos
    return rows[(atom.name, alt, p.x, p.y, p.z)]


def shaken(xyz, sigma, seed):
    """Coordinates with seeded Gaussian noise of rms displacement `sigma` per atom."""
    rng = np.random.default_rng(seed)
    return xyz + rng.normal(0.0, sigma / np.sqrt(3.0), xyz.shape)


def central_difference(f, x, rows, h=1e-5):
    """Central finite-difference gradient of scalar f at x for the given atom rows, (k, 3)
    (x is (n, 3) coordinates or (n,) values; for (n,) the result is (k,))."""
    out = np.zeros((len(rows), 3)) if x.ndim == 2 else np.zeros(len(rows))
    for k, i in enumerate(rows):
        for a in range(3 if x.ndim == 2 else 1):
            xp = x.copy()
            xm = x.copy()
            if x.ndim == 2:
                xp[i, a] += h
                xm[i, a] -= h
                out[k, a] = (f(xp) - f(xm)) / (2 * h)
            else:
                xp[i] += h
                xm[i] -= h
                out[k] = (f(xp) - f(xm)) / (2 * h)
    return out


def reference_pair_list(nb, xyz):
    """The non-bonded list of NonbondedList `nb` at `xyz`, by the straightforward numpy
    route (every shift tested by numpy, every pair within the cutoff from cell_pairs, then
    Refmac's rules and the skin applied with numpy): (pairs, img, d0, kind, w) sorted."""
    import itertools

    from mainpy.restraints._cells import cell_pairs
    from mainpy.restraints.nonbonded import (HBOND_INCREMENT, MAX_TARGET,
                                             SPECIAL_POSITION_CUTOFF, _self_weight)

    n = len(xyz)
    cutoff = MAX_TARGET + nb.skin
    ops, members, keys = [], [], []
    if nb.fops:
        orth = np.array(nb.cell.orth.mat.tolist())
        frac = np.array(nb.cell.frac.mat.tolist())
        f = xyz @ frac.T
        margin = cutoff * np.linalg.norm(frac, axis=1)
        lo, hi = f.min(0) - margin, f.max(0) + margin
        for k, (rf, tf) in enumerate(nb.fops):
            fk = f @ rf.T + tf
            lmin = np.ceil(lo - fk.max(0)).astype(int)
            lmax = np.floor(hi - fk.min(0)).astype(int)
            for shift in itertools.product(*(range(a, b + 1) for a, b in zip(lmin, lmax))):
                if k == 0 and shift == (0, 0, 0):
                    continue
                inside = np.flatnonzero(np.all((fk + shift >= lo) & (fk + shift <= hi), 1))
                if len(inside):
                    op = np.empty((3, 4))
                    op[:, :3] = orth @ rf @ frac
                    op[:, 3] = orth @ (tf + np.array(shift))
                    keys.append((k, *shift))
                    ops.append(op)
                    members.append(inside)
    ops = np.array(ops).reshape(-1, 3, 4)
    keep_self = np.array([_self_weight(key, nb.fops) for key in keys])
    pts = [xyz] + [xyz[m] @ ops[s, :, :3].T + ops[s, :, 3] for s, m in enumerate(members)]
    src = np.concatenate([np.arange(n)] + members).astype(np.int64)
    img = np.concatenate([np.full(n, -1)] + [np.full(len(m), s) for s, m in
                                            enumerate(members)]).astype(np.int64)
    i, j, s, pw = cell_pairs(xyz, np.ascontiguousarray(np.concatenate(pts)), src, img,
                             keep_self, cutoff, SPECIAL_POSITION_CUTOFF)
    # the rules (nonbonded.py's module docstring)
    gkey = np.minimum(i, j) * n + np.maximum(i, j)
    pos = np.minimum(np.searchsorted(nb.gkeys, gkey), max(len(nb.gkeys) - 1, 0))
    gd = (np.where(nb.gkeys[pos] == gkey, nb.gdist[pos], 0) if len(nb.gkeys)
          else np.zeros(len(i), int))
    ai, aj = nb.alt_code[i], nb.alt_code[j]
    local = s < 0
    ok = ((ai < 0) | (aj < 0) | (ai == aj)) & (
        (local & (nb.residue[i] == nb.residue[j])) | (nb.occ[i] + nb.occ[j] >= 1.0001))
    ok &= ~(local & (gd > 0) & (gd <= 2))
    ok &= ~np.array([(not lc) and (min(a, b), max(a, b)) in nb.sym_bonded
                     for a, b, lc in zip(i, j, local)], bool)
    i, j, s, pw, gd = i[ok], j[ok], s[ok], pw[ok], gd[ok]
    r = nb.r
    ri, rj = r.vdw_radius[i], r.vdw_radius[j]
    hi_, hj = r.hb_type[i], r.hb_type[j]
    d0 = ri + rj
    kind = np.ones(len(i), np.int8)
    hb = (((hi_ == "A") & np.isin(hj, ["D", "B"])) | ((hi_ == "D") & np.isin(hj, ["A", "B"]))
          | ((hi_ == "B") & np.isin(hj, ["A", "D", "B"])))
    d0 = np.where(hb, ri + rj + HBOND_INCREMENT, d0)
    kind[hb] = 3
    ah = np.isin(hi_, ["A", "B"]) & (hj == "H")
    ha = (hi_ == "H") & np.isin(hj, ["A", "B"])
    d0 = np.where(ah, ri + 0.1, np.where(ha, rj + 0.1, d0))
    kind[ah | ha] = 3
    ion = r.ion_radius[i] + r.ion_radius[j]
    metal = (r.is_metal[i] | r.is_metal[j]) & np.isfinite(ion) & (kind != 3)
    d0 = np.where(metal, ion, d0)
    kind[metal] = 4
    tors = (s < 0) & (gd == 3)
    d0 = np.where(tors, ri + rj + nb.tors_inc[i] + nb.tors_inc[j], d0)
    kind[tors] = 2
    kind[s >= 0] += 6
    xj = xyz[j].copy()
    sym = s >= 0
    xj[sym] = np.einsum("kab,kb->ka", ops[s[sym], :, :3], xj[sym]) + ops[s[sym], :, 3]
    near = np.linalg.norm(xyz[i] - xj, axis=1) < d0 + nb.skin
    pairs = np.stack([i, j], 1)[near]
    return pairs, s[near], d0[near], kind[near], pw[near] / nb.esd ** 2
