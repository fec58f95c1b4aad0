"""Density combination (MAIN's partial-model refinement): maps from combined phases.

The combined map (experimental map with the partial model's Fcalc density inside the
model, solvent flattened) is Fourier transformed to structure factors F_comb. Two maps
are made from them (MAIN's MAP_FO and MAP_FOFC):

* ``fobs``: Fobs amplitudes with the combined phases (unobserved reflections: the scaled
  |F_comb|), the map the density target refines against;
* ``fofc``: (Fobs - k|F_comb|) with the combined phases, the difference map.

k is a least-squares scale of |F_comb| to Fobs per resolution bin (equal counts in
1/d^2), fitted on the observed reflections and interpolated for the others.
"""

from __future__ import annotations

import numpy as np

KINDS = ("fobs", "fofc")


def binned_scale(fobs: np.ndarray, f_abs: np.ndarray, s2: np.ndarray, use: np.ndarray,
                 n_bins: int = 20) -> np.ndarray:
    """Per-reflection k minimizing sum (Fobs - k|F|)^2 in resolution bins."""
    idx = np.flatnonzero(use & (f_abs > 0))
    if len(idx) == 0:
        return np.ones(len(fobs))
    order = idx[np.argsort(s2[idx])]
    nb = int(np.clip(len(order) // 200, 1, n_bins))
    edges = np.linspace(0, len(order), nb + 1).astype(int)
    xc, kb = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        j = order[a:b]
        xc.append(s2[j].mean())
        kb.append((fobs[j] * f_abs[j]).sum() / max((f_abs[j] ** 2).sum(), 1e-30))
    return np.interp(s2, np.array(xc), np.array(kb))


def combined_coefficients(refl, f_comb: np.ndarray, kind: str = "fobs") -> np.ndarray:
    """Coefficients of the Fobs map or the difference map with the phases of ``f_comb``
    (structure factors of a map, aligned with refl.hkl); see the module docstring."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    f_comb = np.nan_to_num(np.asarray(f_comb, complex))
    f_abs = np.abs(f_comb)
    phase = np.where(f_abs > 0, f_comb / np.where(f_abs > 0, f_abs, 1.0), 0.0)
    fo = refl.fobs
    obs = np.isfinite(fo) & (fo > 0)
    k = binned_scale(np.where(obs, fo, 0.0), f_abs, refl.s2, obs)
    fc = k * f_abs
    if kind == "fobs":
        amp = np.where(obs, np.where(obs, fo, 0.0), fc)
    else:
        amp = np.where(obs, np.where(obs, fo, 0.0) - fc, 0.0)
    return amp * phase
