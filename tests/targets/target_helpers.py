"""Helpers for the target tests: atoms to check, anisotropic U, finite differences."""

import numpy as np

U_TO_B = 8 * np.pi ** 2

#: components of each parameter per atom
_COMPONENTS = {"xyz": 3, "b": None, "occ": None, "aniso": 6}


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


def random_aniso(atoms, idx, seed=0):
    """A copy of ``atoms`` whose atoms ``idx`` get random anisotropic U of realistic
    size: eigenvalues around B/8pi^2 (each a uniform 0.3-1 of the largest, the largest
    such that the mean is B/8pi^2), a random orientation; positive definite."""
    rng = np.random.default_rng(seed)
    out = atoms.copy()
    for j in np.atleast_1d(idx):
        ratio = np.r_[1.0, rng.uniform(0.3, 1.0, 2)]
        ev = ratio * atoms.b[j] / U_TO_B * 3 / ratio.sum()
        q, r = np.linalg.qr(rng.normal(size=(3, 3)))
        q = q * np.sign(np.diag(r))
        u = q @ np.diag(ev) @ q.T
        out.aniso[j] = (u[0, 0], u[1, 1], u[2, 2], u[0, 1], u[0, 2], u[1, 2])
    return out


def fd_check(target, atoms, idx, params=("xyz", "b", "occ"),
             steps=None):
    """Central finite differences of target.value against its analytic gradient at the
    atoms ``idx`` ("aniso": all six U elements of the anisotropic ones among them, "b":
    the isotropic ones). Returns {param: (max |fd - analytic| / max |analytic|,
    max |analytic|)}."""
    steps = {"xyz": 1e-4, "b": 1e-3, "occ": 1e-4, "aniso": 1e-5, **(steps or {})}
    res = target.evaluate(atoms, params)
    aniso = atoms.aniso.any(axis=1)
    out = {}
    for p in params:
        an, fd = [], []
        for j in idx:
            if (p == "aniso" and not aniso[j]) or (p == "b" and aniso[j]):
                continue
            ncomp = _COMPONENTS[p]
            for c in (range(ncomp) if ncomp else [None]):
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
