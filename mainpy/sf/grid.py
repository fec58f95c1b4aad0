"""Cell matrices, symmetry operators, grid sizes and the blur rule of the engine.

Grids are arrays indexed [a, b, c] = (n0, n1, n2), C-contiguous: the order of
``np.asarray(gemmi_grid.array)``. A grid's size comes from gemmi's rule for a spacing
(FFT-friendly, compatible with the space group, rounded up) and is enlarged where the
Miller indices need more: the FFT of an n-point axis holds the indices |k| < n/2, and the
symmetry is applied in reciprocal space, so every image h R of every index must fit.
"""

from __future__ import annotations

import math

import gemmi
import numpy as np

U_TO_B = 8 * math.pi ** 2


def cell_matrices(cell: gemmi.UnitCell) -> tuple[np.ndarray, np.ndarray]:
    """(orthogonalization O, fractionalization F) of a unit cell, with exact zeros for
    right angles (cos 90 = 6e-17), so that orthogonal, monoclinic and hexagonal cells
    take the factorised path of isotropic atoms."""
    orth = np.array(cell.orth.mat, dtype=np.float64)
    frac = np.array(cell.frac.mat, dtype=np.float64)
    off = ~np.eye(3, dtype=bool)
    for m in (orth, frac):
        m[off & (np.abs(m) < 1e-12 * np.abs(m).max())] = 0.0
    return orth, frac


def symmetry_ops(spacegroup: gemmi.SpaceGroup) -> tuple[np.ndarray, np.ndarray]:
    """(R (nops, 3, 3) int64, t (nops, 3) fractional) of every operation x -> R x + t,
    centring included."""
    ops = list(spacegroup.operations()) if spacegroup is not None else [gemmi.Op()]
    rot = np.array([op.rot for op in ops], dtype=np.int64) // gemmi.Op.DEN
    tran = np.array([op.tran for op in ops], dtype=np.float64) / gemmi.Op.DEN
    return rot, tran


def index_limits(hkl: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """max |(h R)_i| over the indices and operations, per axis."""
    return image_limits(images(hkl, rot))


def image_limits(k: np.ndarray) -> np.ndarray:
    """max |k_i| per axis over images k (n, ops, 3) from `images` (zeros for none)."""
    return np.abs(k).max(axis=(0, 1)) if k.size else np.zeros(3, np.int64)


def images(hkl: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """The images h R of the Miller indices under each operation, (n, ops, 3) int64: one
    float product of (n, 3) by (3, 3 ops) (exact for indices this small; an integer
    einsum took 20-40 ms for 30,000 indices and 8 operations, this takes 3-5)."""
    rot = np.asarray(rot).reshape(-1, 3, 3)
    r = np.ascontiguousarray(rot.transpose(1, 0, 2), dtype=np.float64).reshape(3, -1)
    k = np.asarray(hkl, dtype=np.float64).reshape(-1, 3) @ r
    return np.rint(k).astype(np.int64).reshape(-1, len(rot), 3)


def grid_size(cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup, spacing: float,
              hkl: np.ndarray | None = None, rot: np.ndarray | None = None
              ) -> tuple[int, int, int]:
    """gemmi's grid for ``spacing``, enlarged (FFT-friendly, symmetry compatible) where
    needed so that it holds every image h R of the Miller indices ``hkl`` (all
    operations of the space group unless ``rot`` gives others, e.g. the identity)."""
    g = gemmi.FloatGrid()
    g.unit_cell = cell
    g.spacegroup = spacegroup
    g.set_size_from_spacing(spacing, gemmi.GridSizeRounding.Up)
    size = [g.nu, g.nv, g.nw]
    if hkl is None:
        return tuple(size)
    if rot is None:
        rot = symmetry_ops(spacegroup)[0]
    need = [2 * int(m) + 1 for m in index_limits(hkl, rot)]
    if all(n >= m for n, m in zip(size, need)):
        return tuple(size)
    asu = gemmi.ComplexAsuData(cell, spacegroup, np.zeros((1, 3), np.int32),
                               np.zeros(1, np.complex64))
    size = asu.get_size_for_hkl(min_size=[max(n, m) for n, m in zip(size, need)])
    return tuple(int(x) for x in size)


def refmac_blur(spacing: float, b_min: float) -> float:
    """Refmac's blur (gemmi's set_refmac_compatible_blur): the sharpest atom just sampled
    by the grid, max(8 pi^2/1.1 spacing^2 - B_min, 0)."""
    return max(U_TO_B / 1.1 * spacing ** 2 - b_min, 0.0)


def aniso_rows(atoms) -> np.ndarray:
    """Boolean (n,): atoms with anisotropic U (a nonzero row of ``atoms.aniso``)."""
    an = np.asarray(atoms.aniso)
    return an.any(axis=1) if an.size else np.zeros(len(atoms), bool)


def effective_b(atoms, aniso: np.ndarray | None = None) -> np.ndarray:
    """Per atom the B of its sharpest direction: B for isotropic atoms, 8 pi^2 times the
    smallest eigenvalue of U for anisotropic ones (gemmi's rule for the blur)."""
    if aniso is None:
        aniso = aniso_rows(atoms)
    b = np.array(atoms.b, dtype=np.float64)
    if aniso.any():
        from mainpy.sf._kernels import min_eigenvalues
        b[aniso] = U_TO_B * min_eigenvalues(np.ascontiguousarray(atoms.aniso[aniso],
                                                                 dtype=np.float64))
    return b
