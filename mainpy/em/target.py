"""The Fourier-space SPA target, built as servalcat's `LL_SPA` builds it.

The box of the map is a P1 cell; Fo are the coefficients of the full map (or of half map
1 alone for the cross-validation of Brown et al. 2015: refine against half 1, FSC_free
against half 2), Fc those of the model by the one structure-factor engine at the same
indices to d_min. Per shell s (RELION shells, `mainpy.em.fsc`):

    D_s = sum Re(Fo conj Fc) / sum |Fc|^2,
    S_s = max(<|Fo - D_s Fc|^2>, sigma_N^2),  sigma_N^2 = <|F1 - F2|^2> / 4 (or / 1
          against a half map): the noise of Fo from the half-map difference,

    T = 2 sum_s sum_{h in s} |Fo_h - D_s Fc_h|^2 / S_s         (the 2: Friedel mates)

D_s and S_s stay fixed during a minimization segment and are refreshed by `refresh()`
(servalcat's per-cycle `update_ml_params`), so T is a smooth function of the atoms and
dT/dFc_h = -2 (2 D_s / S_s)(Fo_h - D_s Fc_h) (as A + iB) goes through the engine's
gradient to xyz, B, U and occupancy. D_s absorbs the overall scale and B between the
map and the model, shell by shell. Atoms are placed in the box by the map's origin.
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.em import fsc as F
from mainpy.em.mapfile import EmMap
from mainpy.targets.base import Result, Target

#: the engine's rate (grid spacing d_min / (2 rate)) for the EM target
RATE = 1.5


class EmTarget(Target):
    """The SPA target of the module docstring against ``full`` (EmMap) with optional
    half maps; ``work``: "full" or "half1" (cross-validation)."""

    name = "em"

    def __init__(self, full: EmMap, d_min: float, half1: EmMap | None = None,
                 half2: EmMap | None = None, work: str = "full", atoms=None, ops=None):
        if work not in ("full", "half1"):
            raise ValueError(f"work is 'full' or 'half1', not {work!r}")
        if work == "half1" and half1 is None:
            raise ValueError("cross-validation needs half maps")
        from mainpy.sf.engine import StructureFactorEngine
        self.box = full
        #: point-group operators (mainpy.em.symmetry): the copies the model makes
        self.ops = list(ops) if ops else []
        self.d_min = float(d_min)
        self.work = work
        ext = full.extent
        self.hkl = F.box_hkl(full.shape, ext, self.d_min)
        self.shells = F.shells(self.hkl, ext)
        self._members = self.shells.members()
        self.f_full = F.coefficients(full.array, ext, self.hkl)
        self.f1 = self.f2 = None
        if half1 is not None and half2 is not None:
            self.f1 = F.coefficients(half1.array, ext, self.hkl)
            self.f2 = F.coefficients(half2.array, ext, self.hkl)
        self.fo = self.f1 if work == "half1" else self.f_full
        self.engine = StructureFactorEngine(full.cell, gemmi.SpaceGroup("P1"), self.hkl,
                                            d_min=self.d_min, rate=RATE)
        self.D = np.ones(len(self.shells))
        self.S = np.ones(len(self.shells))
        self._d = np.ones(len(self.hkl))
        self._w = np.ones(len(self.hkl))
        self._atoms = None
        if atoms is not None:
            self.update(atoms)

    # -- the model in the box ----------------------------------------------------------
    def boxed(self, atoms):
        """The atoms (with their symmetry copies) relative to the box's origin."""
        from mainpy.em.symmetry import expand
        atoms = expand(atoms, self.ops)
        return atoms.replace(xyz=atoms.xyz - self.box.origin)

    def fcalc(self, atoms) -> np.ndarray:
        return self.engine.fcalc(self.boxed(atoms))

    def noise(self) -> np.ndarray:
        """sigma_N^2 of Fo per shell from the half-map difference (zeros without halves)."""
        if self.f1 is None:
            return np.zeros(len(self.shells))
        k = 1.0 if self.work == "half1" else 4.0
        return np.array([np.mean(np.abs(self.f1[m] - self.f2[m]) ** 2) / k
                         for m in self._members])

    def update(self, atoms) -> None:
        """D_s and S_s for these atoms (the per-cycle parameters); the blur of the engine
        set for them."""
        b = self.boxed(atoms)
        self.engine.set_blur(b)
        fc = self.engine.fcalc(b)
        noise = self.noise()
        for i, m in enumerate(self._members):
            fo, c = self.fo[m], fc[m]
            den = float(np.sum(np.abs(c) ** 2))
            self.D[i] = float(np.sum(np.real(fo * np.conj(c)))) / den if den > 0 else 0.0
            self.S[i] = max(float(np.mean(np.abs(fo - self.D[i] * c) ** 2)), noise[i],
                            1e-30)
        inside = self.shells.index >= 0
        self._d = np.where(inside, self.D[np.maximum(self.shells.index, 0)], 0.0)
        self._w = np.where(inside, 1.0 / self.S[np.maximum(self.shells.index, 0)], 0.0)
        self._atoms = atoms

    def overall_b(self) -> float:
        """The B the map has beyond the model: ln D_s = ln k - B s^2/4 fitted over the
        shells with D_s > 0 (weights: coefficients times D_s); servalcat's overall scale
        moves it into the model's B, and so does the refinement run after a B run."""
        d = self.D
        ok = d > 0
        if ok.sum() < 3:
            return 0.0
        s2 = 1.0 / self.shells.d_mid[ok] ** 2
        w = np.array([len(m) for m in self._members], float)[ok] * d[ok]
        a = np.vstack([np.ones(ok.sum()), -s2 / 4]).T * np.sqrt(w)[:, None]
        coef, *_ = np.linalg.lstsq(a, np.log(d[ok]) * np.sqrt(w), rcond=None)
        return float(coef[1])

    def set_atoms(self, atoms) -> None:
        """The model the next `refresh()` fits D and S to (the run's accepted model)."""
        self._atoms = atoms

    def refresh(self) -> None:
        if self._atoms is not None:
            self.update(self._atoms)

    # -- value and gradient ------------------------------------------------------------
    def evaluate(self, atoms, params=("xyz",)) -> Result:
        if self._atoms is None:
            self.update(atoms)
        b = self.boxed(atoms)
        fc = self.engine.fcalc(b)
        diff = self.fo - self._d * fc
        value = 2.0 * float(np.sum(self._w * np.abs(diff) ** 2))
        grad = {}
        if params:
            g = -4.0 * self._w * self._d * diff
            grad = self.engine.gradient(b, g, tuple(params))
            if self.ops:
                from mainpy.em.symmetry import fold
                grad = fold(grad, self.ops, len(atoms))
        return Result(value, grad, {"n": len(self.hkl)})
