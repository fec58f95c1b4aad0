"""Numba cell-list search for atom pairs (used by the non-bonded neighbour list)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _grid(pts, cutoff):
    lo = np.empty(3)
    dims = np.empty(3, np.int64)
    for a in range(3):
        lo[a] = pts[:, a].min() - 1e-6
        dims[a] = max(1, math.floor((pts[:, a].max() - lo[a]) / cutoff) + 1)
    return lo, dims


@njit(cache=True)
def _cell_of(x, lo, dims, cutoff):
    c0 = min(dims[0] - 1, max(0, int((x[0] - lo[0]) / cutoff)))
    c1 = min(dims[1] - 1, max(0, int((x[1] - lo[1]) / cutoff)))
    c2 = min(dims[2] - 1, max(0, int((x[2] - lo[2]) / cutoff)))
    return c0, c1, c2


@njit(cache=True)
def _scan(xq, pts, src, img, keep_self, cutoff, special, start, order, lo, dims,
          out_i, out_j, out_s, out_w, fill):
    """Count (fill=False) or write (fill=True) the kept pairs; returns their number."""
    cut2 = cutoff * cutoff
    sp2 = special * special
    m = 0
    for i in range(xq.shape[0]):
        c0, c1, c2 = _cell_of(xq[i], lo, dims, cutoff)
        for a in range(max(0, c0 - 1), min(dims[0], c0 + 2)):
            for b in range(max(0, c1 - 1), min(dims[1], c1 + 2)):
                for c in range(max(0, c2 - 1), min(dims[2], c2 + 2)):
                    cell = (a * dims[1] + b) * dims[2] + c
                    for q in range(start[cell], start[cell + 1]):
                        p = order[q]
                        j = src[p]
                        s = img[p]
                        w = 1.0
                        if s < 0:
                            if j <= i:
                                continue
                        else:
                            if j < i:
                                continue
                            if j == i:
                                w = keep_self[s]
                                if w == 0.0:
                                    continue
                        dx = xq[i, 0] - pts[p, 0]
                        dy = xq[i, 1] - pts[p, 1]
                        dz = xq[i, 2] - pts[p, 2]
                        d2 = dx * dx + dy * dy + dz * dz
                        if d2 >= cut2:
                            continue
                        if j == i and d2 < sp2:
                            continue
                        if fill:
                            out_i[m] = i
                            out_j[m] = j
                            out_s[m] = s
                            out_w[m] = w
                        m += 1
    return m


@njit(cache=True)
def cell_pairs(xq, pts, src, img, keep_self, cutoff, special):
    """Pairs (i, j, image, weight) with query atom i and point (j through image) closer
    than cutoff, each contact once: j > i in the model, j >= i for images (an atom and its
    own image weighted by keep_self of that image)."""
    lo, dims = _grid(pts, cutoff)
    ncell = dims[0] * dims[1] * dims[2]
    counts = np.zeros(ncell + 1, np.int64)
    cells = np.empty(pts.shape[0], np.int64)
    for p in range(pts.shape[0]):
        c0, c1, c2 = _cell_of(pts[p], lo, dims, cutoff)
        cells[p] = (c0 * dims[1] + c1) * dims[2] + c2
        counts[cells[p] + 1] += 1
    start = np.cumsum(counts)
    order = np.empty(pts.shape[0], np.int64)
    pos = start[:-1].copy()
    for p in range(pts.shape[0]):
        order[pos[cells[p]]] = p
        pos[cells[p]] += 1
    e_i = np.empty(0, np.int64)
    e_w = np.empty(0)
    m = _scan(xq, pts, src, img, keep_self, cutoff, special, start, order, lo, dims,
              e_i, e_i, e_i, e_w, False)
    out_i = np.empty(m, np.int64)
    out_j = np.empty(m, np.int64)
    out_s = np.empty(m, np.int64)
    out_w = np.empty(m)
    _scan(xq, pts, src, img, keep_self, cutoff, special, start, order, lo, dims,
          out_i, out_j, out_s, out_w, True)
    return out_i, out_j, out_s, out_w
