"""Maps: coefficients, FFT both ways, MAIN's map operations, CCP4 map and MTZ files.

Map coefficients use the phases of Fmodel (model + bulk solvent, scaled). The
sigmaA-weighted ones (Read 1986) use D and the figure of merit m: 2mFo-DFc (mFo for
centric reflections) and mFo-DFc. Maps are gemmi.FloatGrid objects covering the unit
cell. Files are written atomically: to a temporary file in the same directory, then
renamed over the target.
"""

from __future__ import annotations

import os

import gemmi
import numpy as np

from mainpy.errors import InputError
from mainpy.fileio import atomic_write

KINDS = ("2fofc", "fofc", "3fo2fc", "2mfodfc", "mfodfc", "fcalc", "anom")


# ----------------------------------------------------------------------------- coefficients

def map_coefficients(kind: str, fobs: np.ndarray, fmodel: np.ndarray,
                     centric: np.ndarray | None = None, fom: np.ndarray | None = None,
                     D: np.ndarray | None = None, fill_missing: bool = True,
                     anom: np.ndarray | None = None) -> np.ndarray:
    """Complex coefficients of a map ``kind`` (one of KINDS), phases from Fmodel.

    Unobserved reflections (NaN Fobs) get D*Fmodel in 2mFo-DFc (when ``fill_missing``)
    and Fmodel in 2Fo-Fc / 3Fo-2Fc, and zero in difference maps. "anom" is the anomalous
    difference map: (F(+) - F(-)) exp(i(phi_model - 90 deg)), peaks at anomalous
    scatterers; ``anom`` holds F(+) - F(-) (NaN where a mate is missing).
    """
    kind = kind.lower().replace("-", "").replace("_", "")
    if kind not in KINDS:
        raise ValueError(f"unknown map kind {kind!r}; use one of {', '.join(KINDS)}")
    fc_abs = np.abs(fmodel)
    phase = np.where(fc_abs > 0, fmodel / np.where(fc_abs > 0, fc_abs, 1), 1.0)
    obs = np.isfinite(fobs) & (fobs > 0)
    fo = np.where(obs, fobs, 0.0)
    if kind == "fcalc":
        return fmodel.astype(np.complex128)
    if kind == "anom":
        if anom is None:
            raise InputError("an anomalous difference map needs Bijvoet pairs (I(+)/I(-) or "
                             "F(+)/F(-)) in the data file")
        return np.where(np.isfinite(anom), anom, 0.0) * phase * -1j   # phase - 90 degrees
    if kind in ("2fofc", "3fo2fc"):
        n = 2 if kind == "2fofc" else 3
        amp = np.where(obs, n * fo - (n - 1) * fc_abs, fc_abs if fill_missing else 0.0)
        return amp * phase
    if kind == "fofc":
        return np.where(obs, fo - fc_abs, 0.0) * phase
    if fom is None or D is None or centric is None:
        raise ValueError(f"{kind} needs the figure of merit, D and centric flags (sigmaA)")
    m = np.nan_to_num(fom, nan=0.0)
    if kind == "2mfodfc":
        amp = np.where(centric, m * fo, 2 * m * fo - D * fc_abs)
        amp = np.where(obs, amp, D * fc_abs if fill_missing else 0.0)
        return amp * phase
    return np.where(obs, m * fo - D * fc_abs, 0.0) * phase   # mfodfc


# ----------------------------------------------------------------------------- FFT

def grid_shape(cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup, d_min: float,
               rate: float = 3.0, spacing: float | None = None) -> tuple[int, int, int]:
    """FFT-friendly grid dimensions compatible with the symmetry, spacing d_min/rate."""
    g = gemmi.FloatGrid()
    g.unit_cell = cell
    g.spacegroup = spacegroup
    g.set_size_from_spacing(spacing or d_min / rate, gemmi.GridSizeRounding.Up)
    return (g.nu, g.nv, g.nw)


def coefficients_to_map(hkl: np.ndarray, coeffs: np.ndarray, cell: gemmi.UnitCell,
                        spacegroup: gemmi.SpaceGroup, d_min: float | None = None,
                        rate: float = 3.0, shape=None) -> gemmi.FloatGrid:
    """The map (a FloatGrid over the unit cell) of coefficients at unique hkl."""
    ok = np.isfinite(coeffs)
    hkl = np.ascontiguousarray(hkl[ok], dtype=np.int32)
    c = np.ascontiguousarray(coeffs[ok], dtype=np.complex64)
    if shape is None:
        if d_min is None:
            d_min = float(cell.calculate_d_array(hkl).min())
        shape = grid_shape(cell, spacegroup, d_min, rate)
    asu = gemmi.ComplexAsuData(cell, spacegroup, hkl, c)
    grid = asu.transform_f_phi_to_map(exact_size=list(shape))
    grid.unit_cell = cell
    grid.spacegroup = spacegroup
    return grid


def map_to_coefficients(grid: gemmi.FloatGrid, hkl: np.ndarray) -> np.ndarray:
    """Structure factors of a map at the given Miller indices (inverse of the above)."""
    rg = gemmi.transform_map_to_f_phi(grid, half_l=True)
    return rg.get_value_by_hkl(np.ascontiguousarray(hkl, dtype=np.int32)).astype(np.complex128)


# ----------------------------------------------------------------------------- map operations

def _arr(grid: gemmi.FloatGrid) -> np.ndarray:
    return np.asarray(grid.array)   # a writable view of the grid values


def new_like(grid: gemmi.FloatGrid, value: float = 0.0) -> gemmi.FloatGrid:
    """A grid with the same size, cell and symmetry, filled with ``value``."""
    g = gemmi.FloatGrid(np.full(grid.shape, value, dtype=np.float32), grid.unit_cell,
                        grid.spacegroup)
    return g


def copy_map(grid: gemmi.FloatGrid, scale: float = 1.0) -> gemmi.FloatGrid:
    g = grid.clone()
    if scale != 1.0:
        _arr(g)[...] *= scale
    return g


def zero_map(grid: gemmi.FloatGrid) -> None:
    grid.fill(0.0)


def set_range(grid: gemmi.FloatGrid, lo: float, hi: float, value: float) -> int:
    """Set every point with lo <= value <= hi to ``value``; returns how many changed."""
    a = _arr(grid)
    m = (a >= lo) & (a <= hi)
    a[m] = value
    return int(m.sum())


def _same_grid(a: gemmi.FloatGrid, b: gemmi.FloatGrid) -> None:
    if a.shape != b.shape:
        raise ValueError(f"maps on different grids: {a.shape} and {b.shape}")


def add_map(target: gemmi.FloatGrid, other: gemmi.FloatGrid, scale: float = 1.0) -> None:
    """target += scale * other (subtract with a negative scale)."""
    _same_grid(target, other)
    _arr(target)[...] += np.float32(scale) * _arr(other)


def multiply_map(target: gemmi.FloatGrid, other: gemmi.FloatGrid | None = None,
                 scale: float = 1.0) -> None:
    """target *= scale (* other, point by point, when given)."""
    a = _arr(target)
    if other is not None:
        _same_grid(target, other)
        a *= _arr(other)
    a *= np.float32(scale)


def normalize_map(grid: gemmi.FloatGrid) -> tuple[float, float]:
    """Shift to mean 0 and scale to rms 1 (sigma units); returns the old (mean, sigma)."""
    a = _arr(grid)
    mean, sd = float(a.mean()), float(a.std())
    a -= np.float32(mean)
    if sd > 0:
        a /= np.float32(sd)
    return mean, sd


def atom_mask(grid: gemmi.FloatGrid, xyz: np.ndarray, radius: float) -> gemmi.FloatGrid:
    """A 0/1 grid like ``grid``: 1 within ``radius`` of any of the atoms or their
    symmetry mates."""
    m = new_like(grid, 0.0)
    for x, y, z in np.asarray(xyz, float):
        m.set_points_around(gemmi.Position(x, y, z), radius, 1.0, use_pbc=True)
    m.symmetrize_max()
    return m


def flatten_outside(grid: gemmi.FloatGrid, mask: gemmi.FloatGrid,
                    value: float | None = None) -> float:
    """Set the map outside the mask to ``value`` (default: the mean outside)."""
    _same_grid(grid, mask)
    a = _arr(grid)
    out = _arr(mask) < 0.5
    if value is None:
        value = float(a[out].mean()) if out.any() else 0.0
    a[out] = value
    return value


def map_values_at(grid: gemmi.FloatGrid, xyz: np.ndarray, order: int = 3) -> np.ndarray:
    """Map values at Cartesian positions (tricubic interpolation by default)."""
    return grid.interpolate_position_array(np.ascontiguousarray(xyz, float),
                                           order=order).astype(float)


def map_correlation(a: gemmi.FloatGrid, b: gemmi.FloatGrid,
                    mask: gemmi.FloatGrid | None = None) -> float:
    """Pearson correlation of two maps on the same grid, within a 0/1 mask if given."""
    _same_grid(a, b)
    x, y = _arr(a).ravel(), _arr(b).ravel()
    if mask is not None:
        sel = _arr(mask).ravel() > 0.5
        x, y = x[sel], y[sel]
    return float(np.corrcoef(x, y)[0, 1])


# ----------------------------------------------------------------------------- files

def write_map(path, grid: gemmi.FloatGrid) -> None:
    """Write a CCP4/MRC map (mode 2) covering the unit cell."""
    ccp4 = gemmi.Ccp4Map()
    ccp4.grid = grid
    ccp4.update_ccp4_header()
    atomic_write(path, ccp4.write_ccp4_map)


def open_ccp4(path, setup: bool):
    """gemmi's Ccp4Map of a CCP4/MRC file (``setup``: expanded to the unit cell), or an
    InputError naming the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"map file {path} does not exist; check the file name")
    try:
        return gemmi.read_ccp4_map(path, setup=setup)
    except (RuntimeError, ValueError, OSError) as e:
        raise InputError(f"cannot read map file {path}: {e}; give a complete CCP4/MRC map "
                         "(mode 2), e.g. write it again") from None


def read_map(path) -> gemmi.FloatGrid:
    """Read a CCP4/MRC map, expanded to the whole unit cell when symmetry allows."""
    return open_ccp4(path, setup=True).grid


def write_mtz(path, refl, fmodel: np.ndarray | None = None,
              coefficients: dict | None = None, fom: np.ndarray | None = None,
              fcalc_label: str = "FC") -> None:
    """Write FP, SIGFP, FREE (the free-R flag values as the data had them; else 0 = free,
    1 = work; no column without a test set) and, if given, FC/PHIC (``fmodel``),
    map coefficients (dict label -> complex: 'FWT' gives FWT/PHWT, 'DELFWT' gives
    DELFWT/PHDELWT, ...) and FOM. Unobserved values are written as missing (NaN)."""
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = refl.spacegroup
    mtz.set_cell_for_all(refl.cell)
    mtz.add_dataset("mainpy")
    cols = [refl.hkl[:, 0], refl.hkl[:, 1], refl.hkl[:, 2]]
    mtz.add_column("FP", "F")
    cols.append(refl.fobs)
    mtz.add_column("SIGFP", "Q")
    cols.append(refl.sigf)
    if refl.flags is not None:          # the file's own flag values (0-19 stay 0-19)
        mtz.add_column("FREE", "I")
        cols.append(refl.flags)
    elif refl.free.any():               # a test set without file values: 0 = free (CCP4)
        mtz.add_column("FREE", "I")
        cols.append(np.where(refl.free, 0, 1))

    def phase_col(label):
        return "PH" + label[1:] if label.startswith("F") else "PH" + label

    if fmodel is not None:
        mtz.add_column(fcalc_label, "F")
        cols.append(np.abs(fmodel))
        mtz.add_column("PHIC" if fcalc_label == "FC" else phase_col(fcalc_label), "P")
        cols.append(np.degrees(np.angle(fmodel)))
    for label, c in (coefficients or {}).items():
        mtz.add_column(label, "F")
        cols.append(np.abs(c))
        mtz.add_column({"FWT": "PHWT", "DELFWT": "PHDELWT"}.get(label, phase_col(label)), "P")
        cols.append(np.degrees(np.angle(c)))
    if fom is not None:
        mtz.add_column("FOM", "W")
        cols.append(fom)
    data = np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1).astype(np.float32)
    mtz.set_data(data)
    mtz.history = ["mainpy write refl"]
    atomic_write(path, mtz.write_to_file)
