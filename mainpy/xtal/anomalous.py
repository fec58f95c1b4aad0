"""Anomalous pairs: I(+)/I(-) or F(+)/F(-) merged to the mean that refinement uses, and the
anomalous difference kept for an anomalous difference map."""

from __future__ import annotations

import numpy as np


def observed(v: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Measured values: finite, with a positive sigma."""
    return np.isfinite(v) & np.isfinite(s) & (s > 0)


def merge_pairs(vp, sp, vm, sm) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sigma) of Bijvoet mates: the inverse-variance weighted mean where both were
    measured (the Bijvoet difference is small against the errors for refinement), the one
    measured where only one was, NaN where neither."""
    op, om = observed(vp, sp), observed(vm, sm)
    both = op & om
    wp = np.where(both, 1.0 / np.where(both, sp, 1.0) ** 2, 0.0)
    wm = np.where(both, 1.0 / np.where(both, sm, 1.0) ** 2, 0.0)
    w = np.where(both, wp + wm, 1.0)
    mean = np.where(both, (wp * np.nan_to_num(vp) + wm * np.nan_to_num(vm)) / w,
                    np.where(op, vp, np.where(om, vm, np.nan)))
    sig = np.where(both, 1.0 / np.sqrt(w), np.where(op, sp, np.where(om, sm, np.nan)))
    return mean, sig


def difference(fp, fm) -> np.ndarray:
    """F(+) - F(-) where both are known, NaN elsewhere."""
    d = np.asarray(fp, float) - np.asarray(fm, float)
    return np.where(np.isfinite(d), d, np.nan)


def partner(label: str) -> str | None:
    """The Bijvoet mate's label: '+' and '-' (or 'plus' and 'minus') swapped."""
    for a, b in (("(+)", "(-)"), ("+", "-"), ("PLUS", "MINUS"), ("plus", "minus")):
        if a in label:
            return label.replace(a, b)
    return None
