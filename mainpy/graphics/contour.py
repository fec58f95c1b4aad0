"""Chicken-wire contours of a map in a box: marching squares on the three grid planes.

The map is a gemmi.FloatGrid over the unit cell. The box is the block of grid points
that covers a cube of half-width `half` around a centre (wrapped through the cell, so
any centre works); the contour is drawn, as O and MAIN draw it, on every grid plane of
the three families: each square of four grid points gives 0, 1 or 2 segments between
the points where the level crosses its edges (a saddle is resolved by the mean of the
four corners). A vertex lies on a grid edge and is shared by the four squares around
that edge, so inside the box every vertex joins exactly four segments: the mesh of a
closed surface is closed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mainpy.graphics.scene import orthogonalization

#: half-width (A) of the box that is contoured: a 20 A box
DEFAULT_HALF = 10.0


def map_statistics(grid) -> tuple[float, float]:
    """(mean, sigma) of a map, over the whole unit cell; cached per grid object."""
    key = id(grid)
    hit = _stats.get(key)
    if hit is not None and hit[0] is grid:
        return hit[1]
    a = np.asarray(grid.array)
    st = (float(a.mean()), float(a.std()))
    if len(_stats) >= 2:          # keep few: maps can be large
        _stats.clear()
    _stats[key] = (grid, st)
    return st


_stats: dict = {}


def level_value(grid, sigma_level: float) -> float:
    """The map value of a contour level given in sigma: mean + level * sigma."""
    mean, sd = map_statistics(grid)
    return mean + sigma_level * sd


def box_indices(grid, center, half: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid indices (unwrapped, may be negative or past the cell) along u, v, w of the
    block that covers the cube center +- half (A)."""
    orth = orthogonalization(grid.unit_cell)
    frac = np.linalg.inv(orth)
    c = np.asarray(center, float)
    corners = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
    f = (c + half * corners) @ frac.T
    n = np.array([grid.nu, grid.nv, grid.nw])
    lo = np.floor(f.min(axis=0) * n).astype(int)
    hi = np.ceil(f.max(axis=0) * n).astype(int)
    # never more than the whole cell plus one point along an axis
    hi = np.minimum(hi, lo + n)
    return tuple(np.arange(lo[k], hi[k] + 1) for k in range(3))


def box_values(grid, idx) -> np.ndarray:
    """The map values at the (unwrapped) indices of `box_indices`, wrapped through the cell."""
    a = np.asarray(grid.array)
    iu, iv, iw = (idx[0] % grid.nu, idx[1] % grid.nv, idx[2] % grid.nw)
    return np.ascontiguousarray(a[np.ix_(iu, iv, iw)], dtype=np.float32)


@njit(cache=True, inline="always")
def _emit(segs, m, a, b):
    segs[m, 0] = a
    segs[m, 1] = b
    return m + 1


@njit(cache=True)
def _square(v0, v1, v2, v3, e0, e1, e2, e3, level, segs, m):
    """One square: corners v0..v3 counter-clockwise, edge e0 = v0-v1, e1 = v1-v2,
    e2 = v2-v3 (top, v3-v2 stored), e3 = v3-v0; edge vertex ids (-1 when not crossed)."""
    n = (e0 >= 0) + (e1 >= 0) + (e2 >= 0) + (e3 >= 0)
    if n == 0:
        return m
    if n == 2:
        a = -1
        b = -1
        for e in (e0, e1, e2, e3):
            if e >= 0:
                if a < 0:
                    a = e
                else:
                    b = e
        return _emit(segs, m, a, b)
    if n == 4:
        centre = 0.25 * (v0 + v1 + v2 + v3) >= level
        # cut off each corner whose side differs from the centre's
        if (v0 >= level) != centre:
            m = _emit(segs, m, e3, e0)
        if (v1 >= level) != centre:
            m = _emit(segs, m, e0, e1)
        if (v2 >= level) != centre:
            m = _emit(segs, m, e1, e2)
        if (v3 >= level) != centre:
            m = _emit(segs, m, e2, e3)
    return m


@njit(cache=True)
def _edge_vertices(values, level, axis, ids, verts, nv):
    """Vertices where the level crosses the grid edges along `axis`; ids[i,j,k] = vertex id."""
    a, b, c = values.shape
    for i in range(a):
        for j in range(b):
            for k in range(c):
                ids[i, j, k] = -1
    da = 1 if axis == 0 else 0
    db = 1 if axis == 1 else 0
    dc = 1 if axis == 2 else 0
    for i in range(a - da):
        for j in range(b - db):
            for k in range(c - dc):
                p = values[i, j, k]
                q = values[i + da, j + db, k + dc]
                if (p >= level) != (q >= level):
                    t = (level - p) / (q - p)
                    verts[nv, 0] = i + t * da
                    verts[nv, 1] = j + t * db
                    verts[nv, 2] = k + t * dc
                    ids[i, j, k] = nv
                    nv += 1
    return nv


@njit(cache=True)
def chicken_wire(values, level):
    """Marching squares on every grid plane of a 3-D block.

    Returns (vertices (n, 3) in grid units of the block, segments (m, 2) vertex ids).
    """
    a, b, c = values.shape
    cap = 3 * a * b * c
    verts = np.empty((cap, 3), np.float64)
    e0 = np.empty((a, b, c), np.int64)   # edges along u
    e1 = np.empty((a, b, c), np.int64)   # along v
    e2 = np.empty((a, b, c), np.int64)   # along w
    nv = 0
    nv = _edge_vertices(values, level, 0, e0, verts, nv)
    nv = _edge_vertices(values, level, 1, e1, verts, nv)
    nv = _edge_vertices(values, level, 2, e2, verts, nv)
    segs = np.empty((2 * nv + 2, 2), np.int64)
    m = 0
    # planes of constant w: squares in (u, v)
    for k in range(c):
        for i in range(a - 1):
            for j in range(b - 1):
                m = _square(values[i, j, k], values[i + 1, j, k], values[i + 1, j + 1, k],
                            values[i, j + 1, k], e0[i, j, k], e1[i + 1, j, k],
                            e0[i, j + 1, k], e1[i, j, k], level, segs, m)
    # planes of constant v: squares in (u, w)
    for j in range(b):
        for i in range(a - 1):
            for k in range(c - 1):
                m = _square(values[i, j, k], values[i + 1, j, k], values[i + 1, j, k + 1],
                            values[i, j, k + 1], e0[i, j, k], e2[i + 1, j, k],
                            e0[i, j, k + 1], e2[i, j, k], level, segs, m)
    # planes of constant u: squares in (v, w)
    for i in range(a):
        for j in range(b - 1):
            for k in range(c - 1):
                m = _square(values[i, j, k], values[i, j + 1, k], values[i, j + 1, k + 1],
                            values[i, j, k + 1], e1[i, j, k], e2[i, j + 1, k],
                            e1[i, j, k + 1], e2[i, j, k], level, segs, m)
    return verts[:nv].copy(), segs[:m].copy()


def contour_box(grid, center, sigma_level: float, half: float = DEFAULT_HALF,
                absolute: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The chicken-wire of a map around `center` (A): (vertices (n, 3) Cartesian A,
    float32; segments (m, 2) int). The level is mean + sigma_level * sigma of the map,
    or `absolute` when given."""
    level = level_value(grid, sigma_level) if absolute is None else float(absolute)
    idx = box_indices(grid, center, half)
    values = box_values(grid, idx)
    if min(values.shape) < 2:
        return np.zeros((0, 3), np.float32), np.zeros((0, 2), np.int64)
    gv, segs = chicken_wire(values, np.float32(level))
    origin = np.array([idx[0][0], idx[1][0], idx[2][0]], float)
    n = np.array([grid.nu, grid.nv, grid.nw], float)
    frac = (gv + origin) / n
    xyz = frac @ orthogonalization(grid.unit_cell).T
    return xyz.astype(np.float32), segs
