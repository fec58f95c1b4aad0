"""Data simulated from a true model, as real data look: the ground truth for benchmarks.

A refinement program is judged best by how close it brings a start to the known truth.
`simulate` makes a data set from a model; `shake` makes the starts. The choices, each
meant to be fair to every program (none of them models the data exactly):

- Fcalc by gemmi's DensityCalculatorX at grid rate 3 and cut level 1e-7 (R 5e-7 from
  gemmi's direct summation on 1d7m; RE_PHASE's own setting is at 5e-5): accurate, and
  computed by neither mainpy's engine nor at the settings servalcat or the rulers use.
- Bulk solvent: a soft-edged mask, the mean of three binary masks by gemmi's
  SolventMasker (values 0, 1/3, 2/3, 1): van der Waals radii, cctbx's radii and Refmac's
  radii, each with its program's probe and shrink (vdW 1.0/0.8, cctbx 1.1/0.9, Refmac
  1.0/0.8 A), no island removal, on a 0.4 A grid. mainpy uses the cctbx mask on a 0.6 A
  grid, gemmi and servalcat the Refmac one: each program's own mask is a third of the
  truth, the same share for both. It is scaled by a k_mask that is the sum of two
  exponentials in s^2 = 1/d^2 (0.30 exp(-40 s^2/4) + 0.07 exp(-250 s^2/4): 0.37 at
  s = 0, 0.33 at 10 A, 0.16 at 4 A), which one flat k_sol, B_sol cannot match and a
  per-bin k_mask can only follow. On 1d7m the noise alone puts the truth's R at 0.080
  (Fobs against the noise-free F); with the scales fitted, the truth's R-work is 0.092
  by mainpy's RE_PHASE and 0.116 by gemmi's flat model (the ruler rfree.py). A single van der Waals
  mask (probe 1.0, shrink 1.1) was tried first: 0.126 and 0.159, further from both than
  real solvent is likely to be.
- Overall scale: k_overall times exp(-s^T B_cart s / 4), B_cart (A^2) made to obey the
  lattice symmetry by averaging over the space group's rotations.
- Noise on intensities (`sigma_i`): counting statistics on a background as strong as the
  mean spot of the resolution, with a gain falling with resolution, plus a 2 %
  proportional error; I_obs = I + sigI * N(0, 1). The two ends of the gain are set so
  that the mean F/sigF is 40 in the lowest and 2.5 in the highest of ten equal-volume
  shells (the deposited 1d7m data: 40.6 and 4.6, median 2.5 at the top). Amplitudes by
  French & Wilson (`mainpy.xtal.french_wilson`), so they stay positive without a cut.
- 3 % of the reflections missing at random (written as NaN, as CCP4's uniqueify
  leaves them); FreeR_flag 0..19 drawn uniformly for every reflection (CCP4's
  FREERFLAG: 0 = free, 5 %).

- Starts (`shake`): every atom moved by a Gaussian displacement scaled to the asked rms
  exactly, every B set to one flat 30 A^2 (the issue's start; not the truth's mean, so
  that both the level and the spread of B are to be found, as after molecular
  replacement: the truths' mean B range from 18 to 93 A^2 here).

Every random draw comes from its own stream of one seed, so changing one part (say the
missing fraction) leaves the others as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gemmi
import numpy as np

from mainpy.xtal.french_wilson import french_wilson, wilson_mean_intensity
from mainpy.xtal.rfactors import equal_volume_bins

#: Fcalc grid rate and cut level (module docstring)
FC_RATE = 3.0
FC_CUTOFF = 1e-7
#: the solvent mask: the mean of masks by these (radii, probe, shrink); grid step (A)
MASK_RULES = ((gemmi.AtomicRadiiSet.VanDerWaals, 1.0, 0.8),
              (gemmi.AtomicRadiiSet.Cctbx, 1.1, 0.9),
              (gemmi.AtomicRadiiSet.Refmac, 1.0, 0.8))
MASK_STEP = 0.4
#: k_mask(s) = sum k exp(-B s^2 / 4) over these (k, B) terms
K_MASK_TERMS = ((0.30, 40.0), (0.07, 250.0))
#: anisotropic overall scale before symmetrization (B11 B22 B33 B12 B13 B23, A^2)
B_CART = (3.0, -1.0, -2.0, 0.8, 1.2, -0.6)
K_OVERALL = 2.5
#: mean F/sigF aimed at in the lowest and the highest of N_SHELLS equal-volume shells
F_OVER_SIG = (40.0, 2.5)
N_SHELLS = 10
MISSING = 0.03
#: the proportional error of the sigma model (a scaling program's "SdB" term)
PROPORTIONAL = 0.02
FREE_FLAGS = 20          # flags 0..19, 0 = free


@dataclass
class Simulated:
    """A simulated data set: the MTZ and every array behind it (aligned with hkl)."""

    mtz: gemmi.Mtz
    hkl: np.ndarray
    d: np.ndarray
    f_true: np.ndarray          # |k_ov k_aniso (Fcalc + k_mask Fmask)|, noise-free
    iobs: np.ndarray
    sigi: np.ndarray
    fobs: np.ndarray            # French-Wilson; NaN where missing
    sigf: np.ndarray
    flags: np.ndarray           # 0..19, 0 = free
    k_mask: np.ndarray
    k_aniso: np.ndarray
    b_cart: np.ndarray          # the symmetrized B_cart (B11 B22 B33 B12 B13 B23)
    noise: dict = field(default_factory=dict)   # t_low, t_high, e of `sigma_i`

    @property
    def observed(self) -> np.ndarray:
        return np.isfinite(self.fobs)

    def shells(self, n: int = N_SHELLS) -> list[dict]:
        """Per equal-volume shell: d range, count, mean F/sigF, mean I/sigI."""
        obs = self.observed
        idx, edges = equal_volume_bins(self.d[obs], n)
        fs = (self.fobs / self.sigf)[obs]
        is_ = (self.iobs / self.sigi)[obs]
        return [{"d_max": float(edges[i]), "d_min": float(edges[i + 1]),
                 "n": int((idx == i).sum()), "f_over_sig": float(fs[idx == i].mean()),
                 "i_over_sig": float(is_[idx == i].mean())} for i in range(n)]


def as_structure(model, cell: gemmi.UnitCell | None = None,
                 spacegroup: gemmi.SpaceGroup | None = None,
                 hydrogens: bool = False) -> gemmi.Structure:
    """A gemmi.Structure of the model (a copy of a Structure, or mainpy Atoms with the
    cell and space group given), its hydrogens removed unless ``hydrogens``."""
    if isinstance(model, gemmi.Structure):
        st = model.clone()
    else:
        from mainpy.sf.gemmi_model import FlatModel
        st = FlatModel(model, cell, spacegroup).structure.clone()
    if cell is not None:
        st.cell = cell
    if spacegroup is not None:
        st.spacegroup_hm = spacegroup.xhm()
    st.setup_cell_images()
    if not hydrogens:
        st.remove_hydrogens()
    return st


def true_fcalc(st: gemmi.Structure, hkl: np.ndarray, d_min: float) -> np.ndarray:
    """Fcalc of the model at hkl by gemmi's FFT at FC_RATE / FC_CUTOFF."""
    dc = gemmi.DensityCalculatorX()
    dc.d_min = d_min
    dc.rate = FC_RATE
    dc.cutoff = FC_CUTOFF
    dc.set_refmac_compatible_blur(st[0])
    dc.grid.setup_from(st)
    dc.put_model_density_on_grid(st[0])
    grid = gemmi.transform_map_to_f_phi(dc.grid, half_l=True)
    return grid.get_value_by_hkl(hkl, unblur=dc.blur).astype(np.complex128)


def solvent_fmask(st: gemmi.Structure, hkl: np.ndarray, rules=None) -> np.ndarray:
    """Structure factors of the solvent mask (1 = solvent): the mean of the binary masks
    made by each (radii set, probe, shrink) of ``rules``."""
    rules = MASK_RULES if rules is None else rules
    d_min = float(st.cell.calculate_d_array(hkl).min())
    total = None
    for radii, probe, shrink in rules:
        masker = gemmi.SolventMasker(radii)
        masker.rprobe = probe
        masker.rshrink = shrink
        masker.island_min_volume = 0.0
        grid = gemmi.FloatGrid()
        grid.setup_from(st, min(MASK_STEP, d_min / 4))
        masker.put_mask_on_float_grid(grid, st[0])
        f = gemmi.transform_map_to_f_phi(grid, half_l=True).get_value_by_hkl(hkl)
        total = f if total is None else total + f
    return total.astype(np.complex128) / len(rules)


def k_mask(d: np.ndarray, terms=K_MASK_TERMS) -> np.ndarray:
    """The bulk-solvent scale at each resolution (a sum of exponentials in 1/d^2)."""
    s2 = 1.0 / np.asarray(d) ** 2
    return sum(k * np.exp(-b * s2 / 4.0) for k, b in terms)


def _b_matrix(b):
    b11, b22, b33, b12, b13, b23 = b
    return np.array([[b11, b12, b13], [b12, b22, b23], [b13, b23, b33]], float)


def aniso_scale(hkl: np.ndarray, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup,
                b_cart=B_CART) -> tuple[np.ndarray, np.ndarray]:
    """(exp(-s^T B s / 4) per reflection, the B_cart used) with B_cart averaged over the
    point group of the space group, so that equivalent reflections get equal scales."""
    frac = np.array(cell.frac.mat.tolist())          # x_frac = frac @ x_cart
    b = _b_matrix(b_cart)
    rots = [np.array(op.rot, float) / gemmi.Op.DEN for op in spacegroup.operations()]
    # s_cart = frac^T h, so s^T B s = h^T B* h with B* = frac B frac^T; the reflection
    # equivalent to h under rotation R is R^T h, so the average over the group of the
    # form is the form of mean(R B* R^T), brought back to Cartesian for the record
    bstar = frac @ b @ frac.T
    bstar = sum(r @ bstar @ r.T for r in rots) / len(rots)
    orth = np.linalg.inv(frac)
    b_sym = orth @ bstar @ orth.T
    h = np.asarray(hkl, float)
    q = np.einsum("ni,ij,nj->n", h, bstar, h)
    sym = np.array([b_sym[0, 0], b_sym[1, 1], b_sym[2, 2], b_sym[0, 1], b_sym[0, 2],
                    b_sym[1, 2]])
    return np.exp(-q / 4.0), sym


def _volume_fraction(d: np.ndarray) -> np.ndarray:
    """Where each reflection lies between the lowest (0) and highest (1) resolution, in
    reciprocal-space volume (1/d^3): the axis of equal-volume shells."""
    v = 1.0 / d ** 3
    return (v - v.min()) / max(v.max() - v.min(), 1e-30)


def shell_mean_intensity(i_true: np.ndarray, d: np.ndarray, n: int = 20) -> np.ndarray:
    """<I> at each reflection's resolution: means in n equal-volume bins, interpolated
    (log-linearly) along the volume fraction."""
    u = _volume_fraction(d)
    idx = np.minimum((u * n).astype(int), n - 1)
    centres = np.array([u[idx == k].mean() for k in range(n)])
    means = np.array([i_true[idx == k].mean() for k in range(n)])
    return np.exp(np.interp(u, centres, np.log(means)))


def sigma_i(i_true, i_shell, u, t_low, t_high, e=PROPORTIONAL):
    """sigI^2 = b(u) (I + <I>) + (e I)^2 with b(u) = <I> / (2 t(u)^2) and
    t(u) = t_low (t_high / t_low)^u: counting statistics on a background as strong as the
    shell's mean spot, with a gain that falls with resolution so that a reflection of
    mean intensity has I/sigI about t(u); plus a proportional error e."""
    t = t_low * (t_high / t_low) ** u
    b = i_shell / (2.0 * t ** 2)
    return np.sqrt(b * (i_true + i_shell) + (e * i_true) ** 2)


def calibrate_noise(i_true, z, d, centric, eps, target=F_OVER_SIG, n_shells=N_SHELLS,
                    iterations=16):
    """(t_low, t_high) of `sigma_i` such that the mean F/sigF (after French & Wilson) in
    the lowest and the highest of n_shells equal-volume shells are the targets, for these
    noise draws z (alternating bisections in log space: each end governs its shell)."""
    idx, _ = equal_volume_bins(d, n_shells)
    top = n_shells - 1
    sel = (idx == 0) | (idx == top)
    low = idx[sel] == 0
    u = _volume_fraction(d)
    i_shell = shell_mean_intensity(i_true, d)

    def ratios(t_low, t_high):
        s = sigma_i(i_true, i_shell, u, t_low, t_high)
        iobs = i_true + s * z
        wilson = wilson_mean_intensity(iobs, d, eps)
        f, sf = french_wilson(iobs[sel], s[sel], d[sel], centric[sel], eps[sel],
                              mean_intensity=wilson[sel])
        r = f / sf
        return float(r[low].mean()), float(r[~low].mean())

    def bisect(fun, lo, hi, want):
        # fun grows with its argument
        for _ in range(iterations):
            mid = np.sqrt(lo * hi)
            lo, hi = (lo, mid) if fun(mid) > want else (mid, hi)
        return np.sqrt(lo * hi)

    t_low, t_high = target[0] / 2, target[1] / 2
    for _ in range(3):
        t_low = bisect(lambda x: ratios(x, t_high)[0], 0.1, 1000.0, target[0])
        t_high = bisect(lambda x: ratios(t_low, x)[1], 0.01, 100.0, target[1])
    return t_low, t_high


def simulate(model, d_min: float, d_max: float | None = None, seed: int = 0, *,
             cell: gemmi.UnitCell | None = None, spacegroup: gemmi.SpaceGroup | None = None,
             k_overall: float = K_OVERALL, b_cart=B_CART, k_mask_terms=K_MASK_TERMS,
             mask_rules=None, f_over_sig=F_OVER_SIG,
             missing: float = MISSING, hydrogens: bool = False) -> Simulated:
    """A data set from the model (module docstring), between d_max and d_min (A).
    ``hydrogens``: the model's hydrogens scatter, as a real crystal's do (the solvent
    mask is the heavy atoms' either way); by default they are removed first."""
    st = as_structure(model, cell, spacegroup, hydrogens)
    sg = st.find_spacegroup()
    hkl = gemmi.make_miller_array(st.cell, sg, d_min, d_max or 0.0)
    d = st.cell.calculate_d_array(hkl)
    ops = sg.operations()
    centric = ops.centric_flag_array(hkl).astype(bool)
    eps = ops.epsilon_factor_without_centering_array(hkl).astype(float)
    rng_noise, rng_missing, rng_free = (np.random.default_rng(s) for s in
                                        np.random.SeedSequence(seed).spawn(3))

    fc = true_fcalc(st, hkl, d_min)
    heavy = st
    if hydrogens:
        heavy = st.clone()
        heavy.remove_hydrogens()
    fmask = solvent_fmask(heavy, hkl, mask_rules)
    km = k_mask(d, k_mask_terms)
    ka, b_sym = aniso_scale(hkl, st.cell, sg, b_cart)
    f_true = np.abs(k_overall * ka * (fc + km * fmask))
    i_true = f_true ** 2

    z = rng_noise.normal(size=len(hkl))
    t_low, t_high = calibrate_noise(i_true, z, d, centric, eps, f_over_sig)
    sigi = sigma_i(i_true, shell_mean_intensity(i_true, d), _volume_fraction(d), t_low,
                   t_high)
    iobs = i_true + sigi * z
    gone = rng_missing.random(len(hkl)) < missing
    iobs[gone] = np.nan
    sigi = np.where(gone, np.nan, sigi)
    fobs, sigf = french_wilson(iobs, sigi, d, centric, eps)
    flags = rng_free.integers(0, FREE_FLAGS, size=len(hkl))

    mtz = to_mtz(st.cell, sg, hkl, fobs, sigf, iobs, sigi, flags)
    return Simulated(mtz=mtz, hkl=hkl, d=d, f_true=f_true, iobs=iobs, sigi=sigi, fobs=fobs,
                     sigf=sigf, flags=flags, k_mask=km, k_aniso=ka, b_cart=b_sym,
                     noise={"t_low": t_low, "t_high": t_high, "e": PROPORTIONAL})


def to_mtz(cell, spacegroup, hkl, fobs, sigf, iobs, sigi, flags) -> gemmi.Mtz:
    """An MTZ with FP SIGFP IMEAN SIGIMEAN FreeR_flag (missing data as NaN)."""
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = spacegroup
    mtz.set_cell_for_all(cell)
    mtz.add_dataset("simulated")
    for label, kind in (("FP", "F"), ("SIGFP", "Q"), ("IMEAN", "J"), ("SIGIMEAN", "Q"),
                        ("FreeR_flag", "I")):
        mtz.add_column(label, kind)
    data = np.column_stack([hkl, fobs, sigf, iobs, sigi, flags]).astype(np.float32)
    mtz.set_data(data)
    mtz.update_reso()
    return mtz


def shake(model, rms: float, seed: int = 0, b: float | None = 30.0,
          cell: gemmi.UnitCell | None = None,
          spacegroup: gemmi.SpaceGroup | None = None) -> gemmi.Structure:
    """A start: every atom moved by a Gaussian displacement, scaled so that the rms
    displacement over all atoms is exactly ``rms`` (A); every B set to ``b`` (None keeps
    the model's B) and anisotropic U removed."""
    st = as_structure(model, cell, spacegroup)
    atoms = [a for ch in st[0] for r in ch for a in r]
    dx = np.random.default_rng(seed).normal(size=(len(atoms), 3))
    if rms > 0 and len(atoms):
        dx *= rms / np.sqrt(np.mean(np.sum(dx ** 2, axis=1)))
    else:
        dx[:] = 0.0
    for a, v in zip(atoms, dx):
        a.pos = gemmi.Position(a.pos.x + v[0], a.pos.y + v[1], a.pos.z + v[2])
        if b is not None:
            a.b_iso = b
        a.aniso = gemmi.SMat33f(0, 0, 0, 0, 0, 0)
    return st
