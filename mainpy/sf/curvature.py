"""How much an atom's share of the structure factors moves with its B: the Fisher
(Gauss-Newton) curvature of a reciprocal-space target in an isotropic atom's B,

    C_j = occ_j^2 sum_h W_h (s_h^2 / 4)^2 f_j(s_h)^2 exp(-B_j s_h^2 / 2),

the expected square of dF_h/dB_j with phases averaged, W_h the target's curvature in
F_h (`mainpy.targets.xray.XrayTarget.fisher_weights`). Common factors (symmetry
multiplicity, the phase average's 1/2) are left out: the figures are relative. Used by
mainpy.refine.precondition.
"""

from __future__ import annotations

import numpy as np

from mainpy.sf.formfactors import form_factor_table

#: resolution bins of the sum over reflections (equal counts): 40 give every atom of
#: 1aba (ML weights) within 10 % of the sum over each reflection, closer than a
#: preconditioner needs, for the cost of a sum over 40 terms per atom
N_BINS = 40


def binned_weights(s2: np.ndarray, w: np.ndarray, n_bins: int = N_BINS):
    """(mean s^2 per bin, sum of w (s^2/4)^2 per bin) over equal-count bins of s^2."""
    s2 = np.asarray(s2, float)
    n_bins = max(1, min(n_bins, len(s2)))
    edges = np.quantile(s2, np.linspace(0.0, 1.0, n_bins + 1))
    b = np.clip(np.searchsorted(edges, s2, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    mean_s2 = np.bincount(b, s2, n_bins) / np.maximum(count, 1)
    wsum = np.bincount(b, np.asarray(w, float) * (s2 / 4.0) ** 2, n_bins)
    return mean_s2, wsum


def b_curvature(element, b, occ, mean_s2, wsum) -> np.ndarray:
    """C_j (module docstring) of atoms of these elements, B-values and occupancies, from
    the binned weights of `binned_weights`."""
    eidx, a, bb = form_factor_table(np.asarray(element))
    f = (a[:, None, :] * np.exp(-bb[:, None, :] * mean_s2[None, :, None] / 4.0)).sum(-1)
    c = f[eidx] ** 2 * np.exp(-np.asarray(b, float)[:, None] * mean_s2[None, :] / 2.0)
    return np.asarray(occ, float) ** 2 * (c @ wsum)
