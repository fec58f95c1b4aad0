"""Fourier shell correlation and map-model figures of EM boxes (arrays in, arrays out).

Coefficients of a box taken as a P1 cell, F(h) = (V/N) sum_g rho(x_g) exp(2 pi i h.x_g)
(the convention of the structure-factor engine), at the half-space of indices to d_min.
Shells as RELION and servalcat's `fsc` bin them: shell k = int(L/d + 0.5) for the
longest box edge L, the few-coefficient shells at the ends merged into their
neighbours. FSC of a shell = Re sum (a - <a>) conj(b - <b>) / sqrt(sum |a - <a>|^2
sum |b - <b>|^2) (numpy's corrcoef, as servalcat). The resolution where an FSC falls
below a threshold (0.143 for half maps, 0.5 for model vs map) is interpolated linearly
in 1/d between the centres of the last shell above and the first below.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: shells with fewer coefficients than this at the low-resolution end are merged
MIN_SHELL = 10


def box_hkl(shape, extent, d_min: float) -> np.ndarray:
    """Indices (m, 3) of a P1 box of ``extent`` A and ``shape`` voxels to d_min: one of
    each Friedel pair, no 000, inside Nyquist."""
    shape = np.asarray(shape)
    extent = np.asarray(extent, float)
    lim = [min(int(np.floor(extent[i] / d_min)), (int(shape[i]) - 1) // 2) for i in range(3)]
    h, k, l = np.meshgrid(*(np.arange(-m, m + 1) for m in lim), indexing="ij")
    hkl = np.stack([h.ravel(), k.ravel(), l.ravel()], 1)
    s2 = ((hkl / extent) ** 2).sum(1)
    keep = (s2 <= 1.0 / d_min ** 2 + 1e-12) & (
        (hkl[:, 2] > 0) | ((hkl[:, 2] == 0) & (hkl[:, 1] > 0)) |
        ((hkl[:, 2] == 0) & (hkl[:, 1] == 0) & (hkl[:, 0] > 0)))
    return hkl[keep].astype(np.int64)


def d_spacings(hkl: np.ndarray, extent) -> np.ndarray:
    return 1.0 / np.sqrt(((hkl / np.asarray(extent, float)) ** 2).sum(1))


def coefficients(array: np.ndarray, extent, hkl: np.ndarray) -> np.ndarray:
    """F(h) of a box (module docstring) at the indices."""
    f = np.fft.ifftn(np.asarray(array, np.float64))
    n = np.asarray(array.shape)
    idx = tuple((hkl % n).T)
    return f[idx] * float(np.prod(extent))


def to_map(hkl: np.ndarray, f: np.ndarray, shape, extent) -> np.ndarray:
    """The real box of coefficients ``f`` at the half-space ``hkl`` (Friedel mates added)."""
    n = np.asarray(shape)
    grid = np.zeros(tuple(shape), np.complex128)
    idx = tuple((hkl % n).T)
    grid[idx] = f
    grid[tuple((-hkl % n).T)] = np.conj(f)
    return np.real(np.fft.fftn(grid)) / float(np.prod(extent))


@dataclass
class Shells:
    """Shell membership (index into hkl -> shell number, -1 outside) and each shell's
    d range."""

    index: np.ndarray
    d_max: np.ndarray
    d_min: np.ndarray

    def __len__(self):
        return len(self.d_max)

    def members(self):
        order = np.argsort(self.index, kind="stable")
        bounds = np.searchsorted(self.index[order], np.arange(len(self) + 1))
        return [order[bounds[i]:bounds[i + 1]] for i in range(len(self))]

    @property
    def d_mid(self) -> np.ndarray:
        """Shell centre in 1/d, as a d."""
        return 1.0 / (0.5 * (1.0 / self.d_min + 1.0 / self.d_max))


def shells(hkl: np.ndarray, extent) -> Shells:
    """RELION / servalcat shells of the indices (module docstring)."""
    d = d_spacings(hkl, extent)
    raw = (max(extent) / d + 0.5).astype(int)
    labels = [k for k in np.unique(raw) if k != 0]
    groups = [[k] for k in labels]
    counts = [int((raw == k).sum()) for k in labels]
    while len(groups) > 1 and counts[0] < MIN_SHELL:        # merge small inner shells
        groups[1] = groups[0] + groups[1]
        counts[1] += counts[0]
        groups.pop(0)
        counts.pop(0)
    while len(groups) > 1 and counts[-1] / counts[-2] < 0.5:  # and a thin last shell
        groups[-2] += groups[-1]
        counts[-2] += counts[-1]
        groups.pop()
        counts.pop()
    index = np.full(len(hkl), -1)
    for i, g in enumerate(groups):
        index[np.isin(raw, g)] = i
    d_max = np.array([d[index == i].max() for i in range(len(groups))])
    d_min = np.array([d[index == i].min() for i in range(len(groups))])
    return Shells(index, d_max, d_min)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt(np.sum(np.abs(a) ** 2) * np.sum(np.abs(b) ** 2))
    return float(np.real(np.sum(a * np.conj(b))) / den) if den > 0 else 0.0


def fsc(f1: np.ndarray, f2: np.ndarray, sh: Shells) -> np.ndarray:
    """FSC per shell of two sets of coefficients at the same indices."""
    return np.array([_corr(f1[m], f2[m]) for m in sh.members()])


def crossing(values: np.ndarray, sh: Shells, threshold: float) -> float:
    """The resolution (A) where a per-shell curve falls below ``threshold`` (module
    docstring); the last shell's d if it never does, inf if the first is below."""
    x = 1.0 / sh.d_mid
    below = np.flatnonzero(values < threshold)
    if not len(below):
        return float(sh.d_min[-1])
    i = int(below[0])
    if i == 0:
        return float("inf")
    f0, f1 = values[i - 1], values[i]
    t = (f0 - threshold) / (f0 - f1)
    return float(1.0 / (x[i - 1] + t * (x[i] - x[i - 1])))


def fsc_average(values: np.ndarray, sh: Shells) -> float:
    """Coefficient-weighted mean FSC (servalcat's FSCaverage)."""
    n = np.array([len(m) for m in sh.members()], float)
    return float(np.sum(n * values) / n.sum())


def model_mask(shape, pixel, origin, xyz: np.ndarray, radius: float = 3.0) -> np.ndarray:
    """Boolean mask of the voxels within ``radius`` A of an atom."""
    from scipy.spatial import cKDTree
    shape = np.asarray(shape)
    mask = np.zeros(tuple(shape), bool)
    if not len(xyz):
        return mask
    lo = np.maximum(np.floor((xyz.min(0) - radius - origin) / pixel).astype(int), 0)
    hi = np.minimum(np.ceil((xyz.max(0) + radius - origin) / pixel).astype(int) + 1, shape)
    axes = [np.arange(lo[i], hi[i]) * pixel[i] + origin[i] for i in range(3)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    dist, _ = cKDTree(xyz).query(pts, distance_upper_bound=radius)
    mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = np.isfinite(dist).reshape(
        tuple(hi - lo))
    return mask


def masked_cc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Pearson correlation of two boxes over the mask's voxels (CC_mask)."""
    x = np.asarray(a, np.float64)[mask]
    y = np.asarray(b, np.float64)[mask]
    if len(x) < 2:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def residue_cc(a: np.ndarray, b: np.ndarray, shape, pixel, origin, xyz: np.ndarray,
               residue: np.ndarray, radius: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-residue map-model CC: each voxel within ``radius`` A of an atom belongs to the
    residue of its nearest atom; the Pearson CC of the two boxes over each residue's
    voxels. Returns (residue numbers that have voxels, their CC)."""
    from scipy.spatial import cKDTree
    shape, pixel, origin = np.asarray(shape), np.asarray(pixel, float), np.asarray(origin, float)
    residue = np.asarray(residue)
    if not len(xyz):
        return np.zeros(0, residue.dtype), np.zeros(0)
    lo = np.maximum(np.floor((xyz.min(0) - radius - origin) / pixel).astype(int), 0)
    hi = np.minimum(np.ceil((xyz.max(0) + radius - origin) / pixel).astype(int) + 1, shape)
    axes = [np.arange(lo[i], hi[i]) * pixel[i] + origin[i] for i in range(3)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    dist, near = cKDTree(xyz).query(pts, distance_upper_bound=radius)
    inside = np.isfinite(dist)
    box = tuple(slice(lo[i], hi[i]) for i in range(3))
    x = np.asarray(a, np.float64)[box].reshape(-1)[inside]
    y = np.asarray(b, np.float64)[box].reshape(-1)[inside]
    names, which = np.unique(residue[near[inside]], return_inverse=True)
    k = len(names)
    n = np.bincount(which, minlength=k).astype(float)
    sx, sy = np.bincount(which, x, k), np.bincount(which, y, k)
    sxx, syy, sxy = (np.bincount(which, x * x, k), np.bincount(which, y * y, k),
                     np.bincount(which, x * y, k))
    cov = sxy - sx * sy / n
    vx, vy = sxx - sx * sx / n, syy - sy * sy / n
    with np.errstate(invalid="ignore", divide="ignore"):
        cc = np.where((vx > 0) & (vy > 0), cov / np.sqrt(vx * vy), np.nan)
    return names, cc


def _good_size_even(n: int) -> int:
    """The smallest even size >= n with prime factors 2, 3, 5 only."""
    from mainpy.em.mapfile import _good_size
    n = _good_size(n)
    while n % 2:
        n = _good_size(n + 1)
    return n
