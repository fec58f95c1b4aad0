"""An EM map (MRC/CCP4) as a box of voxels: array, pixel size, origin.

The box is not a crystal cell: it is taken as a P1 cell of its own size (n_i times the
pixel), the grid point (i, j, k) at origin + (i px, j py, k pz) in the model's frame.
The origin is the header's start (NXSTART... times the pixel), as servalcat and RELION
read it (the ORIGIN words 50-52 are ignored unless the start is zero, then used).
`trim` cuts a smaller box around the model (padding kept) so that the work of a
refinement scales with the model, not with the particle's box; `write_em_map` keeps
the header's sampling and cell so that the written box sits where it was read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import gemmi
import numpy as np

from mainpy.errors import InputError


@dataclass
class EmMap:
    """A box of density: ``array`` (nu, nv, nw) float32, ``pixel`` (3,) A, ``origin``
    (3,) A of grid point 0, ``path`` it came from, and the header's full sampling and
    cell (``sampling``, ``header_cell``) to write it back."""

    array: np.ndarray
    pixel: np.ndarray
    origin: np.ndarray
    path: str = ""
    sampling: tuple | None = None
    header_cell: tuple | None = None

    @property
    def shape(self) -> tuple:
        return tuple(self.array.shape)

    @property
    def cell(self) -> gemmi.UnitCell:
        """The box as a P1 cell."""
        a, b, c = (np.asarray(self.shape) * self.pixel).tolist()
        return gemmi.UnitCell(a, b, c, 90, 90, 90)

    @property
    def extent(self) -> np.ndarray:
        return np.asarray(self.shape) * self.pixel

    def with_array(self, array: np.ndarray) -> "EmMap":
        return EmMap(np.ascontiguousarray(array, np.float32), self.pixel.copy(),
                     self.origin.copy(), self.path, self.sampling, self.header_cell)

    def same_box(self, other: "EmMap") -> bool:
        return (self.shape == other.shape and np.allclose(self.pixel, other.pixel, atol=1e-4)
                and np.allclose(self.origin, other.origin, atol=1e-3))

    def describe(self) -> str:
        p = self.pixel
        o = self.origin
        return (f"box {self.shape[0]}x{self.shape[1]}x{self.shape[2]}, pixel "
                f"{p[0]:.4g} {p[1]:.4g} {p[2]:.4g} A, origin {o[0]:.2f} {o[1]:.2f} "
                f"{o[2]:.2f} A")


def read_em_map(path) -> EmMap:
    """Read an MRC/CCP4 map as an EM box; refuses non-orthogonal boxes and NaN."""
    from mainpy.xtal.maps import open_ccp4
    path = os.fspath(path)
    m = open_ccp4(path, setup=False)
    n = [m.header_i32(i) for i in (1, 2, 3)]
    start = np.array([m.header_i32(i) for i in (5, 6, 7)], float)
    sampling = tuple(m.header_i32(i) for i in (8, 9, 10))
    cellp = tuple(m.header_float(i) for i in range(11, 17))
    if any(abs(x - 90) > 1e-3 for x in cellp[3:]):
        raise InputError(f"map file {path}: the box is not orthogonal (angles "
                         f"{cellp[3]:g} {cellp[4]:g} {cellp[5]:g}); an EM map has 90 90 90")
    if min(sampling) <= 0 or min(cellp[:3]) <= 0:
        raise InputError(f"map file {path}: no pixel size in the header (cell "
                         f"{cellp[0]:g} {cellp[1]:g} {cellp[2]:g}, sampling {sampling})")
    pixel = np.array([cellp[i] / sampling[i] for i in range(3)])
    axes = m.axis_positions()           # where X, Y, Z are among the file's axes
    arr = np.array(m.grid, copy=True)   # file order: (col, row, sec)
    order = [int(x) for x in axes]      # file axis holding X, Y, Z
    arr = np.transpose(arr, order)
    start = start[order]
    origin = start * pixel
    if not start.any():
        org = np.array([m.header_float(i) for i in (50, 51, 52)])
        if np.isfinite(org).all():
            origin = org
    if not np.isfinite(arr).all():
        k = int((~np.isfinite(arr)).sum())
        raise InputError(f"map file {path}: {k} voxels are NaN or infinite; fix the map "
                         "(e.g. set them to 0) before using it")
    del n
    return EmMap(np.ascontiguousarray(arr, np.float32), pixel, origin, path,
                 tuple(np.asarray(sampling)[order].tolist()),
                 tuple(np.asarray(cellp[:3])[order].tolist()) + cellp[3:])


def check_same_box(a: EmMap, b: EmMap) -> None:
    """Half maps (and the full map) must share one box."""
    if not a.same_box(b):
        raise InputError(f"map file {b.path} has {b.describe()} but {a.path} has "
                         f"{a.describe()}; half maps must share one box")


def check_holds(m: EmMap, xyz: np.ndarray, margin: float = 0.0) -> None:
    """The box must hold every atom (``margin`` A inside its faces)."""
    if not len(xyz):
        return
    lo = xyz.min(axis=0) - m.origin
    hi = xyz.max(axis=0) - m.origin
    if (lo < margin).any() or (hi > m.extent - margin).any():
        raise InputError(
            f"map file {m.path}: the box ({m.origin[0]:.1f} {m.origin[1]:.1f} "
            f"{m.origin[2]:.1f} to {(m.origin + m.extent)[0]:.1f} "
            f"{(m.origin + m.extent)[1]:.1f} {(m.origin + m.extent)[2]:.1f} A) does not "
            f"hold the model (atoms from {xyz.min(0)[0]:.1f} {xyz.min(0)[1]:.1f} "
            f"{xyz.min(0)[2]:.1f} to {xyz.max(0)[0]:.1f} {xyz.max(0)[1]:.1f} "
            f"{xyz.max(0)[2]:.1f} A); is this the model of this map?")


def _good_size(n: int) -> int:
    """The smallest size >= n with prime factors 2, 3, 5 only (fast FFTs)."""
    while True:
        k = n
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return n
        n += 1


def trim_bounds(m: EmMap, xyz: np.ndarray, padding: float) -> tuple[np.ndarray, np.ndarray]:
    """Voxel range [lo, hi) of the box around the atoms with ``padding`` A (clipped to the
    map, even sizes with small prime factors)."""
    lo = np.floor((xyz.min(0) - padding - m.origin) / m.pixel).astype(int)
    hi = np.ceil((xyz.max(0) + padding - m.origin) / m.pixel).astype(int) + 1
    lo = np.maximum(lo, 0)
    shape = np.asarray(m.shape)
    for i in range(3):
        size = min(_good_size(int(hi[i] - lo[i]) + (int(hi[i] - lo[i]) % 2)), int(shape[i]))
        lo[i] = max(0, min(lo[i], shape[i] - size))
        hi[i] = lo[i] + size
    return lo, hi


def trim(m: EmMap, lo: np.ndarray, hi: np.ndarray) -> EmMap:
    """The sub-box [lo, hi) of a map (its origin moved accordingly)."""
    a = m.array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    return EmMap(np.ascontiguousarray(a), m.pixel.copy(), m.origin + lo * m.pixel, m.path,
                 m.sampling, m.header_cell)


def periodic_grid(m: EmMap) -> gemmi.FloatGrid:
    """The box as a periodic P1 map whose cell is the box and whose grid point 0 is at
    absolute position 0: the voxel at origin + i * pixel goes to index (i + origin /
    pixel) mod n, so atoms at their own coordinates meet their density (the real-space
    targets of mainpy.targets.density take it as they take a crystal map). The origin
    must be a whole number of pixels, as MRC's start indices make it."""
    shift = np.asarray(m.origin, float) / np.asarray(m.pixel, float)
    if np.abs(shift - np.round(shift)).max() > 1e-3:
        raise ValueError(f"the map's origin {m.origin} is not a whole number of pixels")
    arr = np.roll(np.asarray(m.array, np.float32), tuple(np.round(shift).astype(int)),
                  axis=(0, 1, 2))
    g = gemmi.FloatGrid(np.ascontiguousarray(arr), m.cell, gemmi.SpaceGroup("P1"))
    return g


def write_em_map(path, m: EmMap) -> None:
    """Write the box as MRC/CCP4 (mode 2) with its start, sampling and cell, so that it is
    read back (by mainpy, servalcat, RELION) where it was."""
    from mainpy.fileio import atomic_write
    g = gemmi.FloatGrid(np.ascontiguousarray(m.array, np.float32))
    sampling = m.sampling or m.shape
    cellp = m.header_cell or tuple((np.asarray(m.shape) * m.pixel).tolist()) + (90, 90, 90)
    # gemmi writes the grid's cell; the header words are then set to the box's
    g.set_unit_cell(gemmi.UnitCell(*(np.asarray(m.shape) * m.pixel), 90, 90, 90))
    g.spacegroup = gemmi.SpaceGroup("P1")
    ccp4 = gemmi.Ccp4Map()
    ccp4.grid = g
    ccp4.update_ccp4_header(2, True)
    start = np.rint(m.origin / m.pixel).astype(int)
    exact = np.allclose(start * m.pixel, m.origin, atol=1e-3)
    for i in range(3):
        ccp4.set_header_i32(5 + i, int(start[i]) if exact else 0)
        ccp4.set_header_i32(8 + i, int(sampling[i]))
        ccp4.set_header_float(11 + i, float(cellp[i]))
        ccp4.set_header_float(50 + i, 0.0 if exact else float(m.origin[i]))
    atomic_write(os.fspath(path), ccp4.write_ccp4_map)
