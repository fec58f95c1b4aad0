"""Helpers for the target tests: atoms to check, finite differences."""

import numpy as np


def pick_atoms(atoms, n=30):
    """About n atom indices spread over the model: protein atoms evenly, plus the first
    and last water and two atoms of every other ligand (e.g. MES in 1aba)."""
    het = atoms.het
    water = np.flatnonzero(atoms.resname == "HOH")
    lig = np.flatnonzero(het & (atoms.resname != "HOH"))
    prot = np.flatnonzero(~het)
    extra = list(water[[0, -1]]) if len(water) else []
    if len(lig):
        extra += list(lig[[0, len(lig) // 2]])
    k = max(n - len(extra), 1)
    base = prot[np.linspace(0, len(prot) - 1, k).astype(int)]
    return np.unique(np.concatenate([base, np.array(extra, int)]))


def fd_check(target, atoms, idx, params=("xyz", "b", "occ"),
             steps=None):
    """Central finite differences of target.value against its analytic gradient at the
    atoms ``idx``. Returns {param: (max |fd - analytic| / max |analytic|, max |analytic|)}."""
    steps = steps or {"xyz": 1e-4, "b": 1e-3, "occ": 1e-4}
    res = target.evaluate(atoms, params)
    out = {}
    for p in params:
        an, fd = [], []
        for j in idx:
            for c in (range(3) if p == "xyz" else [None]):
                vals = []
                for sgn in (1, -1):
                    a = atoms.copy()
                    arr = getattr(a, p)
                    if c is None:
                        arr[j] += sgn * steps[p]
                    else:
                        arr[j, c] += sgn * steps[p]
                    vals.append(target.value(a))
                fd.append((vals[0] - vals[1]) / (2 * steps[p]))
                g = res.grad[p][j] if c is None else res.grad[p][j, c]
                an.append(g)
        an, fd = np.array(an), np.array(fd)
        scale = np.abs(an).max()
        out[p] = (float(np.abs(an - fd).max() / scale), float(scale))
    return out
