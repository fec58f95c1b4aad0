"""A diagonal preconditioner for the B-values: each atom's X-ray curvature in its B.

An atom's share of the amplitudes falls as exp(-B s^2/4), so the curvature of the X-ray
target in that atom's B falls with B by orders of magnitude (1.45 A data, 1aba: a carbon of
B 10 against one of B 40, 74 times). L-BFGS restarts every segment with one scale of the
initial inverse Hessian for all B-values: its first steps then move the well-ordered
atoms' B too far or the rest too little, and the slow ones crept for hundreds of steps.
The Fisher (Gauss-Newton) diagonal C_j of an isotropic atom j (mainpy.sf.curvature;
`XrayTarget.b_curvature`) sets the relative step of each B; L-BFGS scales the block by
its own secant pairs through it. The ADP restraints hold the B of atoms the
data barely see; their curvature is not estimated but stands in as a floor equal to the
median atom's C_j, so that the weakest atoms' steps are not unbounded.
"""

from __future__ import annotations

import numpy as np


def inverse_scales(curvature: np.ndarray) -> np.ndarray:
    """Relative inverse curvatures 1 / (C + median C), mean 1 (empty: empty)."""
    c = np.asarray(curvature, float)
    if not len(c):
        return c
    p = 1.0 / (c + max(float(np.median(c)), 1e-300))
    return p / p.mean()
