"""`EmData`: an EM map with its half maps, in one (trimmed) box, and the validation
figures of a model against them (FSC half/half, model/full, Brown's work/free, CC_mask)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mainpy.em import fsc as F
from mainpy.em.mapfile import EmMap

#: FSC thresholds: half maps (gold standard) and model against the full map
HALF_THRESHOLD = 0.143
MODEL_THRESHOLD = 0.5
#: mask radius (A) of the map-model CC
MASK_RADIUS = 3.0
#: voxels within this (A) of a residue's atoms (nearest atom's residue) make its CC
RESIDUE_RADIUS = 2.0
#: SHOW FSC lists this many residues of lowest CC
WORST_SHOWN = 10


@dataclass
class EmData:
    """A full map, optional half maps (one box), and the resolution used for them."""

    full: EmMap
    half1: EmMap | None = None
    half2: EmMap | None = None
    d_min: float | None = None
    #: point-group operators (mainpy.em.symmetry): the model is one copy of these
    ops: list | None = None

    @property
    def has_halves(self) -> bool:
        return self.half1 is not None and self.half2 is not None

    def grid_d_min(self) -> float:
        """The finest d the box holds (Nyquist: 2 pixels)."""
        return float(2.0 * self.full.pixel.max()) * 1.0001

    def coefficients(self, d_min: float):
        """(hkl, shells, F_full, F_half1, F_half2) of the box to d_min."""
        ext = self.full.extent
        hkl = F.box_hkl(self.full.shape, ext, d_min)
        sh = F.shells(hkl, ext)
        fo = F.coefficients(self.full.array, ext, hkl)
        f1 = F.coefficients(self.half1.array, ext, hkl) if self.has_halves else None
        f2 = F.coefficients(self.half2.array, ext, hkl) if self.has_halves else None
        return hkl, sh, fo, f1, f2

    def half_fsc(self, d_min: float | None = None):
        """(shells, FSC of the half maps, resolution at 0.143) to d_min (Nyquist)."""
        if not self.has_halves:
            raise ValueError("no half maps")
        _, sh, _, f1, f2 = self.coefficients(d_min or self.grid_d_min())
        v = F.fsc(f1, f2, sh)
        return sh, v, F.crossing(v, sh, HALF_THRESHOLD)


def validation(data: EmData, atoms, fcalc_engine_d: float | None = None) -> dict:
    """The figures of a model against the maps (arrays per shell and summary numbers).

    Model coefficients from the one engine (X-ray form factors) at the box's indices to
    d (the data's d_min, else Nyquist)."""
    import gemmi

    from mainpy.sf.engine import StructureFactorEngine
    d = fcalc_engine_d or data.d_min or data.grid_d_min()
    hkl, sh, fo, f1, f2 = data.coefficients(d)
    box = data.full
    eng = StructureFactorEngine(box.cell, gemmi.SpaceGroup("P1"), hkl, d_min=d, rate=1.5)
    from mainpy.em.symmetry import expand
    atoms = expand(atoms, data.ops or [])
    fc = eng.fcalc(atoms.replace(xyz=atoms.xyz - box.origin))
    out = {"shells": sh, "d_min": d}
    out["fsc_model"] = F.fsc(fc, fo, sh)
    out["d_model_0.5"] = F.crossing(out["fsc_model"], sh, MODEL_THRESHOLD)
    out["fsc_model_avg"] = F.fsc_average(out["fsc_model"], sh)
    if data.has_halves:
        out["fsc_half"] = F.fsc(f1, f2, sh)
        out["d_half_0.143"] = F.crossing(out["fsc_half"], sh, HALF_THRESHOLD)
        out["fsc_work"] = F.fsc(fc, f1, sh)
        out["fsc_free"] = F.fsc(fc, f2, sh)
        out["fsc_work_avg"] = F.fsc_average(out["fsc_work"], sh)
        out["fsc_free_avg"] = F.fsc_average(out["fsc_free"], sh)
    model_map = F.to_map(hkl, fc, box.shape, box.extent)
    obs_map = F.to_map(hkl, fo, box.shape, box.extent)
    mask = F.model_mask(box.shape, box.pixel, box.origin, atoms.xyz, MASK_RADIUS)
    out["cc_mask"] = F.masked_cc(obs_map, model_map, mask)
    out["mask_voxels"] = int(mask.sum())
    out["residues"], out["cc_residue"] = F.residue_cc(
        obs_map, model_map, box.shape, box.pixel, box.origin, atoms.xyz,
        atoms.residue_index, RESIDUE_RADIUS)
    return out


def validation_lines(fig: dict, labels=None) -> list[str]:
    """The table SHOW FSC prints; ``labels`` (residue index -> "A 45 LYS") adds the
    residues of lowest CC."""
    sh = fig["shells"]
    lines = []
    if "fsc_half" in fig:
        lines.append(f" FSC half1/half2 falls to 0.143 at {fig['d_half_0.143']:.2f} A")
    above = fig["fsc_model"].min() >= MODEL_THRESHOLD
    where = (f"stays above 0.5 to {fig['d_min']:.2f} A" if above else
             f"falls to 0.5 at {fig['d_model_0.5']:.2f} A")
    lines.append(f" FSC model/full map {where}; "
                 f"FSCaverage {fig['fsc_model_avg']:.4f} (to {fig['d_min']:.2f} A)")
    if "fsc_work" in fig:
        lines.append(f" FSC_work (model/half1) {fig['fsc_work_avg']:.4f}  FSC_free "
                     f"(model/half2) {fig['fsc_free_avg']:.4f}  gap "
                     f"{fig['fsc_work_avg'] - fig['fsc_free_avg']:+.4f}")
    lines.append(f" CC_mask {fig['cc_mask']:.4f} ({fig['mask_voxels']} voxels within "
                 f"{MASK_RADIUS:g} A of an atom)")
    if labels is not None and len(fig.get("cc_residue", ())):
        cc = fig["cc_residue"]
        order = np.argsort(np.nan_to_num(cc, nan=-2.0))[:WORST_SHOWN]
        lines.append(f" per-residue CC (voxels within {RESIDUE_RADIUS:g} A): median "
                     f"{np.nanmedian(cc):.3f}; lowest: " + ", ".join(
                         f"{labels[fig['residues'][i]]} {cc[i]:.2f}" for i in order))
    head = f" {'d_max':>7} {'d_min':>7} {'n':>6} {'model':>7}"
    if "fsc_half" in fig:
        head += f" {'half':>7} {'work':>7} {'free':>7}"
    lines.append(head)
    n = [len(m) for m in sh.members()]
    for i in range(len(sh)):
        row = f" {sh.d_max[i]:7.2f} {sh.d_min[i]:7.2f} {n[i]:6d} {fig['fsc_model'][i]:7.4f}"
        if "fsc_half" in fig:
            row += (f" {fig['fsc_half'][i]:7.4f} {fig['fsc_work'][i]:7.4f} "
                    f"{fig['fsc_free'][i]:7.4f}")
        lines.append(row)
    return lines


def gap(fig: dict) -> float:
    return float(fig["fsc_work_avg"] - fig["fsc_free_avg"])

