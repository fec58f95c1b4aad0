"""Sharpening and blurring of an EM box by an overall B, and the B that flattens it.

Blurring by B multiplies every Fourier coefficient by exp(-B s^2 / 4) (s = 1/d); a
negative B sharpens. The map's own falloff is a Wilson-type fit of ln <|F|^2> against
s^2 between `FIT_D_MAX` and the resolution used (<|F|^2> ~ exp(-B s^2 / 2)): sharpening
by that B leaves the amplitudes flat on average (global B-sharpening).
"""

from __future__ import annotations

import numpy as np

#: the Wilson-type fit of the map's falloff starts at this d (A): lower resolution is
#: shaped by the molecule, not by its B
FIT_D_MAX = 10.0
#: shells of the fit
FIT_SHELLS = 20


def _s2(shape, pixel) -> np.ndarray:
    """s^2 (1/A^2) of each coefficient of numpy's rfftn of a box."""
    f = [np.fft.fftfreq(n, d=p) for n, p in zip(shape[:2], pixel[:2])]
    f.append(np.fft.rfftfreq(shape[2], d=pixel[2]))
    g = np.meshgrid(*f, indexing="ij")
    return g[0] ** 2 + g[1] ** 2 + g[2] ** 2


def blur(array: np.ndarray, pixel, b: float) -> np.ndarray:
    """The box blurred by B (A^2; negative sharpens)."""
    a = np.asarray(array, np.float64)
    f = np.fft.rfftn(a)
    f *= np.exp(-float(b) * _s2(a.shape, np.asarray(pixel, float)) / 4.0)
    return np.fft.irfftn(f, s=a.shape, axes=(0, 1, 2))


def falloff_b(array: np.ndarray, pixel, d_min: float, d_max: float = FIT_D_MAX) -> float:
    """The overall B of the box's amplitudes between d_max and d_min (module docstring)."""
    a = np.asarray(array, np.float64)
    s2 = _s2(a.shape, np.asarray(pixel, float))
    p = np.abs(np.fft.rfftn(a)) ** 2
    lo, hi = 1.0 / d_max ** 2, 1.0 / d_min ** 2
    if not lo < hi:
        raise ValueError(f"the resolution used ({d_min:.2f} A) leaves nothing to fit below "
                         f"{d_max:g} A")
    edges = np.linspace(lo, hi, FIT_SHELLS + 1)
    which = np.digitize(s2.ravel(), edges) - 1
    ok = (which >= 0) & (which < FIT_SHELLS)
    n = np.bincount(which[ok], minlength=FIT_SHELLS)
    mean = np.bincount(which[ok], p.ravel()[ok], FIT_SHELLS) / np.maximum(n, 1)
    mid = 0.5 * (edges[:-1] + edges[1:])
    use = (n > 0) & (mean > 0)
    slope = np.polyfit(mid[use], np.log(mean[use]), 1)[0]
    return float(-2.0 * slope)
