"""Fmodel: the model's structure factors scaled to the data (MAIN's RE_PHASE step).

Fmodel = k_iso * k_aniso * (Fcalc + k_mask * Fmask), for every reflection of a data set
(unobserved ones get scales interpolated by resolution, so maps can be filled). The
scales are fitted to the observed work reflections (see `scaling`).
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.errors import InputError
from mainpy.xtal.fcalc import FcalcCalculator
from mainpy.xtal.rfactors import data_statistics, r_work_free, shell_table
from mainpy.xtal.scaling import (BulkSolventScaler, ScaleModel, aniso_basis, aniso_quadratic,
                                 k_aniso_from_ustar, log_bins)
from mainpy.xtal.solvent import MASK_STEP, SolventMask


def check_compatible(cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup, refl,
                     model_source: str = "the model", cell_tol: float = 0.02) -> float:
    """InputError unless model and data have the same space group and similar cells;
    returns the cells' largest relative difference (of a length, or of an angle)."""
    if spacegroup is None:
        raise InputError(f"{model_source} has no space group (CRYST1 record); add one that "
                         f"matches the data in {refl.source}")
    if spacegroup.hm != refl.spacegroup.hm:
        raise InputError(
            f"{model_source} is in space group {spacegroup.hm} but the data in "
            f"{refl.source} are in {refl.spacegroup.hm}; use a model and data of the same "
            "crystal form (reindex or fix the CRYST1 record)")
    a, b = np.array(cell.parameters), np.array(refl.cell.parameters)
    if (np.abs(a[:3] - b[:3]) > cell_tol * b[:3]).any() or (np.abs(a[3:] - b[3:]) > 1.0).any():
        raise InputError(
            f"the cell of {model_source} ({', '.join(f'{x:g}' for x in a)}) differs from "
            f"the cell of {refl.source} ({', '.join(f'{x:g}' for x in b)}); use matching "
            "files")
    from mainpy.xtal.reflections import cell_offset
    return cell_offset(cell, refl.cell)


def atoms_key(atoms, select=None) -> int:
    """A fingerprint of what Fcalc depends on (coordinates, B, anisotropic U, occupancy,
    elements, selection), to tell whether an Fmodel is still that of the atoms."""
    parts = [np.ascontiguousarray(a).tobytes()
             for a in (atoms.xyz, atoms.b, atoms.aniso, atoms.occ)]
    parts.append(np.asarray(atoms.element).astype(str).tobytes())
    parts.append(b"" if select is None else np.asarray(select, bool).tobytes())
    return hash(b"|".join(parts))


class Fmodel:
    """Fcalc, Fmask and scales of one model against one `Reflections`.

    ``update(atoms)`` recomputes Fcalc, the mask and the scales (RE_PHASE); the arrays
    ``fcalc``, ``fmask`` and ``f_model`` are aligned with ``refl.hkl``.
    ``update(atoms, scale=False)`` recomputes Fcalc and Fmask and keeps the scales.

    Everything that depends only on the reflections (the FFT grids, the mask grid and its
    symmetry images, the scaling bins and anisotropy terms) is set up once and reused.
    """

    def __init__(self, refl, atoms, mask_step: float = MASK_STEP,
                 model_cell: gemmi.UnitCell | None = None,
                 model_spacegroup: gemmi.SpaceGroup | None = None,
                 model_source: str = "the model", bulk_solvent: bool = True,
                 aniso: bool = True):
        if model_cell is not None or model_spacegroup is not None:
            check_compatible(model_cell or refl.cell, model_spacegroup, refl, model_source)
        self.refl = refl
        self.mask_step = mask_step
        self.bulk_solvent = bulk_solvent
        self.aniso = aniso
        self.calc = FcalcCalculator(refl.cell, refl.spacegroup, refl.hkl)
        self.masker = SolventMask(refl.cell, refl.spacegroup, mask_step, hkl=refl.hkl) \
            if bulk_solvent else None
        self.fcalc = None
        self.fmask = np.zeros(len(refl), complex)
        self.scales: ScaleModel | None = None
        self.mask_array = None      # float32 [a, b, c], 1 = solvent
        self._mask_grid = None
        self._scaling_setup = None
        self.update(atoms)

    # -- computing ---------------------------------------------------------------
    def update(self, atoms, select: np.ndarray | None = None, mask: bool = True,
               scale: bool = True, warm: bool = True) -> "Fmodel":
        """Recompute Fcalc (atoms, optionally a selection), Fmask and the scales.

        ``scale=False`` keeps the current scales (cheap: Fcalc and Fmask only).
        ``warm`` starts the scale fit from the current scales (skipping the coarse
        search) when there are any; ``warm=False`` fits from scratch."""
        self.fcalc = self.calc(atoms, select)
        self.atoms_key = atoms_key(atoms, select)
        if mask and self.bulk_solvent:
            self.mask_array = self.masker.grid(atoms, select)
            self._mask_grid = None
            self.fmask = self.masker.fmask(self.mask_array, self.refl.hkl)
        elif not self.bulk_solvent:
            self.fmask = np.zeros(len(self.refl), complex)
        if scale:
            self.fit_scales(warm=warm)
        return self

    @property
    def mask(self):
        """The solvent mask as a gemmi FloatGrid (None before the first mask)."""
        if self._mask_grid is None and self.mask_array is not None:
            self._mask_grid = self.masker.gemmi_grid(self.mask_array)
        return self._mask_grid

    def _scaling_inputs(self, obs: np.ndarray) -> dict:
        """Bins and anisotropy terms of the observed reflections, computed once."""
        key = obs.tobytes()
        if self._scaling_setup is None or self._scaling_setup[0] != key:
            r = self.refl
            basis = aniso_basis(r.spacegroup)
            self._scaling_setup = (key, {
                "bins": log_bins(r.d[obs]), "basis": basis,
                "quad": aniso_quadratic(r.hkl[obs]) @ basis})
        return self._scaling_setup[1]

    def fit_scales(self, warm: bool = False) -> ScaleModel:
        """Fit bulk solvent and overall scales to the observed work set (``warm``: start
        from the current scales if they were fitted to the same reflections)."""
        r = self.refl
        obs = r.observed
        scaler = BulkSolventScaler(r.fobs[obs], self.fcalc[obs], self.fmask[obs], r.hkl[obs],
                                   r.d[obs], r.work[obs], r.spacegroup, r.cell,
                                   aniso=self.aniso, **self._scaling_inputs(obs))
        start = None
        if warm and self.scales is not None and self.scales.state is not None \
                and getattr(self, "_scales_key", None) == obs.tobytes():
            start = self.scales.state
        sm = scaler.run(start)
        self.scales = sm
        self._scales_key = obs.tobytes()
        n = len(r)
        s2 = r.s2
        order = np.argsort(s2[obs])
        xs = s2[obs][order]
        self.k_iso = np.empty(n)
        self.k_mask = np.empty(n)
        self.k_iso[obs] = sm.k_iso
        self.k_mask[obs] = sm.k_mask
        # unobserved reflections: scales of their resolution
        self.k_iso[~obs] = np.interp(s2[~obs], xs, sm.k_iso[order])
        self.k_mask[~obs] = np.interp(s2[~obs], xs, sm.k_mask[order])
        self.k_aniso = k_aniso_from_ustar(r.hkl, sm.u_star)
        ka_obs = sm.k_aniso
        # k_aniso was normalized on the observed set; carry the same factor everywhere
        norm = np.median(self.k_aniso[obs] / ka_obs) if obs.any() else 1.0
        self.k_aniso = self.k_aniso / norm
        self.k_aniso[obs] = ka_obs
        return sm

    # -- results -----------------------------------------------------------------
    @property
    def f_model(self) -> np.ndarray:
        """Scaled model structure factors for every reflection."""
        if self.scales is None:
            return self.fcalc + 0.0 * self.fmask
        return self.k_iso * self.k_aniso * (self.fcalc + self.k_mask * self.fmask)

    @property
    def f_model_unscaled(self) -> np.ndarray:
        """Fcalc + k_mask*Fmask, on the scale of the model (no k_iso, k_aniso)."""
        km = self.k_mask if self.scales is not None else 0.0
        return self.fcalc + km * self.fmask

    def r_factors(self) -> tuple[float, float]:
        """(R-work, R-free) of the observed reflections."""
        r = self.refl
        return r_work_free(r.fobs, self.f_model, r.work, r.test)

    def r_free_error(self) -> tuple[float, int]:
        """(standard error of R-free, observed test reflections): `r_factor_error`."""
        from mainpy.xtal.rfactors import r_factor_error
        r = self.refl
        t = r.test
        return r_factor_error(r.fobs[t], self.f_model[t]), int(t.sum())

    @property
    def r_work(self) -> float:
        return self.r_factors()[0]

    @property
    def r_free(self) -> float:
        return self.r_factors()[1]

    def shells(self, n_shells: int = 10) -> list[dict]:
        return shell_table(self.refl, self.f_model, n_shells)

    def sigmaa(self):
        """D, S and sigmaA per bin from the free set (work set if the free set is small)."""
        from mainpy.xtal.sigmaa import sigmaa_for
        return sigmaa_for(self.refl, self.f_model)

    def map_coefficients(self, kind: str, fill_missing: bool = True) -> np.ndarray:
        """Coefficients of a map kind ('2fofc', 'fofc', '3fo2fc', '2mfodfc', 'mfodfc',
        'fcalc', 'anom') for every reflection, sigmaA-weighted where the kind says so."""
        from mainpy.xtal.maps import map_coefficients
        from mainpy.xtal.sigmaa import figure_of_merit
        r = self.refl
        fom = D = None
        if kind.lower().replace("-", "").replace("_", "") in ("2mfodfc", "mfodfc"):
            sa = self.sigmaa()
            fom = figure_of_merit(r.fobs, self.f_model, r.sigf, r.centric, r.epsilon,
                                  sa.D, sa.S)
            D = sa.D
        return map_coefficients(kind, r.fobs, self.f_model, r.centric, fom, D, fill_missing,
                                anom=r.anom)

    def write_mtz(self, path) -> None:
        """MTZ with FP, SIGFP, FREE, FC/PHIC (Fmodel), FWT/PHWT (2mFo-DFc),
        DELFWT/PHDELWT (mFo-DFc) and FOM, written atomically."""
        from mainpy.xtal.maps import map_coefficients, write_mtz
        from mainpy.xtal.sigmaa import figure_of_merit
        r = self.refl
        sa = self.sigmaa()
        fom = figure_of_merit(r.fobs, self.f_model, r.sigf, r.centric, r.epsilon, sa.D, sa.S)
        fwt = map_coefficients("2mfodfc", r.fobs, self.f_model, r.centric, fom, sa.D)
        dfwt = map_coefficients("mfodfc", r.fobs, self.f_model, r.centric, fom, sa.D)
        write_mtz(path, r, fmodel=self.f_model, coefficients={"FWT": fwt, "DELFWT": dfwt},
                  fom=fom)

    def statistics(self) -> dict:
        out = data_statistics(self.refl, self.f_model)
        if self.scales is not None:
            out["k_mask_bins"] = self.scales.k_mask_bin.tolist()
            out["b_cart"] = None if self.scales.b_cart is None else self.scales.b_cart.tolist()
        return out
