"""Helpers for the engine tests: the target tests' helpers (random anisotropic U, atoms
to check), complex R against a reference, finite differences of a function of arrays."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "targets"))
from target_helpers import pick_atoms, random_aniso  # noqa: E402,F401


def complex_r(f, ref) -> float:
    """sum |F - F_ref| / sum |F_ref| over complex values."""
    return float(np.abs(f - ref).sum() / np.abs(ref).sum())


def sample(refl, n, seed=3):
    """Indices of n reflections (all if there are fewer)."""
    m = len(refl.hkl)
    return np.sort(np.random.default_rng(seed).choice(m, min(n, m), replace=False))
