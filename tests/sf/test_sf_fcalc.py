"""The engine's Fcalc against gemmi's direct summation, isotropic and anisotropic atoms.

RE_PHASE's configuration (hard truncation, rate 1.5, float32 grid) must agree to
R < 1e-4 (complex, a few thousand reflections); the refinement configuration (smooth
truncation, rate 1.25) is printed (run with -s).
"""

import numpy as np
import pytest
from sf_helpers import complex_r, random_aniso, sample

from mainpy.sf.engine import StructureFactorEngine
from mainpy.sf.reference import fcalc_direct
from mainpy.xtal.fcalc import FcalcCalculator

R_TOL = 1e-4
N_REFL = 3000


def _models(case, which):
    """(label, atoms, reflections) of a test model."""
    st, atoms, refl = case(which.split(":")[0])
    if which == "1l2h:aniso":          # every atom anisotropic, random U
        atoms = random_aniso(atoms, np.arange(len(atoms)), seed=1)
    elif which == "1l2h:mixed":        # half of them
        atoms = random_aniso(atoms, np.arange(0, len(atoms), 2), seed=2)
    return atoms, refl


@pytest.mark.parametrize("which", ["1aba", "1d7m", "1l2h", "1l2h:aniso", "1l2h:mixed",
                                   "5e5z", "1byz"])
def test_fcalc_matches_direct_summation(case, which):
    atoms, refl = _models(case, which)
    n_aniso = int(atoms.aniso.any(axis=1).sum())
    if which in ("5e5z", "1byz", "1l2h:aniso"):
        assert n_aniso >= 0.95 * len(atoms)
    elif which == "1l2h:mixed":
        assert 0.4 * len(atoms) < n_aniso < 0.6 * len(atoms)
    idx = sample(refl, N_REFL)
    ref = fcalc_direct(atoms, refl.hkl[idx], refl.cell, refl.spacegroup)
    rephase = FcalcCalculator(refl.cell, refl.spacegroup, refl.hkl)
    r_hard = complex_r(rephase(atoms)[idx], ref)
    refine = StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl, rate=1.25,
                                   truncation="smooth")
    r_smooth = complex_r(refine.fcalc(atoms)[idx], ref)
    print(f"\n{which}: {len(atoms)} atoms ({n_aniso} anisotropic), {len(idx)} reflections;"
          f" R vs direct summation: RE_PHASE (hard, rate 1.5, float32) {r_hard:.2e}, "
          f"refinement (smooth, rate 1.25) {r_smooth:.2e}")
    assert r_hard < R_TOL
    # the anisotropic model is not the isotropic one: the test can tell them apart
    if which.startswith("1l2h:"):
        iso = fcalc_direct(case("1l2h")[1], refl.hkl[idx[:300]], refl.cell, refl.spacegroup)
        assert complex_r(iso, ref[:300]) > 100 * R_TOL


def test_selection_and_zero_occupancy(case):
    """A selection leaves atoms out exactly as zero occupancy does, anisotropic or not."""
    st, atoms, refl = case("5e5z")
    eng = FcalcCalculator(refl.cell, refl.spacegroup, refl.hkl)
    sel = np.ones(len(atoms), bool)
    sel[::3] = False
    a = eng(atoms, sel)
    b = eng(atoms.replace(occ=np.where(sel, atoms.occ, 0.0)))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6 * np.abs(b).max())
    idx = sample(refl, 300)
    ref = fcalc_direct(atoms.replace(occ=np.where(sel, atoms.occ, 0.0)), refl.hkl[idx],
                       refl.cell, refl.spacegroup)
    assert complex_r(a[idx], ref) < R_TOL
    assert complex_r(eng(atoms)[idx], ref) > 0.1


def test_threads_give_the_same_fcalc(case):
    """Spreading in per-thread grids and threaded FFTs: the same numbers with 1 and 2
    threads (to round-off: the order of additions differs)."""
    import numba
    st, atoms, refl = case("1l2h")
    atoms = random_aniso(atoms, np.arange(0, len(atoms), 2), seed=2)
    eng = StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl)
    n = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = eng.fcalc(atoms)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = eng.fcalc(atoms)
    finally:
        numba.set_num_threads(n)
    assert np.abs(one - two).max() < 1e-9 * np.abs(one).max()


def test_hydrogen_cutoff_against_direct_summation(case):
    """The refinement engine truncates hydrogens at H_CUTOFF (ten times the other atoms'
    level, for speed): on 1byz (622 H among 1,000 atoms, 0.9 A) the hydrogens' own
    Fcalc stays within 5 % of direct summation and the whole model's within 1e-3,
    while the other atoms are unchanged."""
    from mainpy.targets.xray import H_CUTOFF
    st, atoms, refl = case("1byz")
    is_h = np.isin(atoms.element, ("H", "D"))
    idx = sample(refl, N_REFL)
    eng = {c: StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl, rate=1.25,
                                    truncation="smooth", h_cutoff=c)
           for c in (None, H_CUTOFF)}
    ref_h = fcalc_direct(atoms.replace(occ=np.where(is_h, atoms.occ, 0.0)),
                         refl.hkl[idx], refl.cell, refl.spacegroup)
    ref = fcalc_direct(atoms, refl.hkl[idx], refl.cell, refl.spacegroup)
    r_h = {c: complex_r(e.fcalc(atoms, select=is_h)[idx], ref_h) for c, e in eng.items()}
    r_all = {c: complex_r(e.fcalc(atoms)[idx], ref) for c, e in eng.items()}
    print(f"\n1byz hydrogens' Fcalc R vs direct summation: common level {r_h[None]:.2e}, "
          f"H_CUTOFF {r_h[H_CUTOFF]:.2e}; whole model {r_all[None]:.2e} -> "
          f"{r_all[H_CUTOFF]:.2e}")
    assert r_h[H_CUTOFF] < 0.05 and r_all[H_CUTOFF] < 1e-3
    assert r_h[H_CUTOFF] > r_h[None]            # the level is applied to H
    heavy = eng[H_CUTOFF].fcalc(atoms, select=~is_h)
    np.testing.assert_allclose(heavy, eng[None].fcalc(atoms, select=~is_h), rtol=0,
                               atol=1e-9 * np.abs(heavy).max())
