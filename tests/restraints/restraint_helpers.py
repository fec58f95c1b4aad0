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
