"""Simulated EM data from a model: a full map and two half maps in a box around it.

The model's density (IT92 X-ray form factors by the structure-factor engine, P1 box of
``pixel`` A voxels around the model with ``padding``) is blurred by an extra B and given
independent complex Gaussian noise per half map, shell by shell, of the power that
makes the half-map FSC follow FSC(s) = 1 / (1 + exp(k (s - s0))), s = 1/d, with s0 set
so that it falls to 0.143 at ``resolution`` (k = ``sharpness`` A: how fast it falls;
25 A gives 0.5 near d = resolution + 0.8 A, as real half maps do). Signal and noise
are kept to Nyquist (2 pixels); the full map is the mean of the halves.
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.em import fsc as F
from mainpy.em.mapfile import EmMap


def fsc_curve(s: np.ndarray, resolution: float, sharpness: float = 25.0) -> np.ndarray:
    """The half-map FSC the noise is made for (module docstring)."""
    s0 = 1.0 / resolution - np.log(1 / 0.143 - 1) / sharpness
    from scipy.special import expit
    return expit(-sharpness * (s - s0))


def simulate_maps(atoms, resolution: float = 3.0, pixel: float = 1.1, b_blur: float = 40.0,
                  padding: float = 10.0, seed: int = 0, sharpness: float = 25.0):
    """(full, half1, half2) EmMaps of the atoms (mainpy Atoms) (module docstring)."""
    from mainpy.sf.engine import StructureFactorEngine
    xyz = atoms.xyz
    origin = np.floor((xyz.min(0) - padding) / pixel) * pixel
    size = (xyz.max(0) + padding - origin) / pixel
    shape = tuple(int(F._good_size_even(int(np.ceil(n)))) for n in size)
    extent = np.asarray(shape) * pixel
    cell = gemmi.UnitCell(*extent, 90, 90, 90)
    d_nyq = 2.0 * pixel
    hkl = F.box_hkl(shape, extent, d_nyq * 1.0001)
    eng = StructureFactorEngine(cell, gemmi.SpaceGroup("P1"), hkl, d_min=d_nyq, rate=1.5)
    boxed = atoms.replace(xyz=xyz - origin)
    fc = eng.fcalc(boxed)
    s = 1.0 / F.d_spacings(hkl, extent)
    fc = fc * np.exp(-b_blur * s ** 2 / 4)
    sh = F.shells(hkl, extent)
    rng = np.random.default_rng(seed)
    halves = []
    noise_sd = np.zeros(len(hkl))
    for m, dm in zip(sh.members(), sh.d_mid):
        p = float(np.mean(np.abs(fc[m]) ** 2))
        f = max(fsc_curve(1.0 / dm, resolution, sharpness), 1e-6)
        noise_sd[m] = np.sqrt(p * (1 - f) / f)
    out_idx = sh.index < 0
    noise_sd[out_idx] = noise_sd[~out_idx].max() if (~out_idx).any() else 0.0
    for _ in range(2):
        n = (rng.standard_normal(len(hkl)) + 1j * rng.standard_normal(len(hkl))) \
            * noise_sd / np.sqrt(2)
        halves.append(F.to_map(hkl, fc + n, shape, extent).astype(np.float32))
    full = 0.5 * (halves[0] + halves[1])
    px = np.full(3, pixel)
    mk = [EmMap(a, px.copy(), origin.copy(), name, shape, tuple(extent) + (90.0, 90.0, 90.0))
          for a, name in ((full, "full"), (halves[0], "half1"), (halves[1], "half2"))]
    return tuple(mk)
