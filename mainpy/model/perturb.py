"""Kicks: random displacements of coordinates and B-values (MAIN's "fast cooling").

A kick of size r moves each selected atom in a random direction by a distance in [0, r]
(so no atom moves further than r); B-values change by a random amount in [-r, r]. The
distance distribution is uniform, or weighted towards small kicks (linear, square,
exponential), as MAIN offers. A seed makes the kick reproducible.
"""

from __future__ import annotations

import numpy as np


def _fractions(rng: np.random.Generator, n: int, distribution: str) -> np.ndarray:
    """n numbers in [0, 1]: the kick size as a fraction of the largest."""
    u = rng.random(n)
    if distribution == "uniform":
        return u
    if distribution == "linear":        # density falling linearly to 0 at 1
        return 1.0 - np.sqrt(1.0 - u)
    if distribution == "square":        # u^2: most kicks small
        return u * u
    if distribution == "exponential":   # exp(-5x) truncated to [0, 1]
        lam = 5.0
        return -np.log1p(-u * (1.0 - np.exp(-lam))) / lam
    raise ValueError(f"unknown kick distribution {distribution!r}")


def kick_coordinates(xyz: np.ndarray, mask: np.ndarray, r: float, seed=None,
                     distribution: str = "uniform") -> np.ndarray:
    """New coordinates: masked atoms shifted by at most r in random directions."""
    if r < 0:
        raise ValueError("a kick size cannot be negative")
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(mask)
    d = rng.normal(size=(len(idx), 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    out = xyz.copy()
    out[idx] += d * (r * _fractions(rng, len(idx), distribution))[:, None]
    return out


def kick_values(values: np.ndarray, mask: np.ndarray, r: float, seed=None,
                distribution: str = "uniform", floor: float | None = None) -> np.ndarray:
    """New values: masked entries changed by a random amount in [-r, r] (kept >= floor)."""
    if r < 0:
        raise ValueError("a kick size cannot be negative")
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(mask)
    sign = np.where(rng.random(len(idx)) < 0.5, -1.0, 1.0)
    out = values.copy()
    out[idx] += sign * r * _fractions(rng, len(idx), distribution)
    if floor is not None:
        np.maximum(out, floor, out=out)
    return out
