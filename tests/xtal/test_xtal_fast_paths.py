"""The numba paths (solvent mask, isotropic Fcalc, Fmodel reuse) against gemmi's."""

import numpy as np
import pytest

from mainpy.xtal.fcalc import FcalcCalculator
from mainpy.sf.gemmi_model import FlatModel
from mainpy.xtal.solvent import SolventMask, fmask_from_grid, mask_grid


@pytest.mark.parametrize("name", ["1aba", "1d7m", "1l2h"])
def test_solvent_mask_identical_to_gemmi(case, name):
    """Same grid, same rules: the mask is identical point by point, Fmask to float32."""
    c = case(name)
    refl = c.refl
    flat = FlatModel(c.atoms, refl.cell, refl.spacegroup)
    ref_grid = mask_grid(flat.model, refl.cell, refl.spacegroup)
    ref = np.array(ref_grid, copy=False)                   # [u, v, w]
    sm = SolventMask(refl.cell, refl.spacegroup)
    mine = sm.grid(c.atoms)                                # [a, b, c], the same order
    assert mine.shape == ref.shape
    assert int((mine != ref).sum()) == 0
    f_ref = fmask_from_grid(ref_grid, refl.hkl)
    f_me = sm.fmask(mine, refl.hkl)
    assert np.abs(f_me - f_ref).max() < 1e-5 * np.abs(f_ref).max()


def test_solvent_mask_selection_and_hydrogens(case):
    """Unselected and zero-occupancy atoms leave solvent; so would hydrogens."""
    c = case("1aba")
    refl = c.refl
    sm = SolventMask(refl.cell, refl.spacegroup)
    full = sm.grid(c.atoms)
    sel = np.ones(len(c.atoms), bool)
    sel[: len(sel) // 2] = False
    part = sm.grid(c.atoms, sel)
    assert part.mean() > full.mean()
    flat = FlatModel(c.atoms, refl.cell, refl.spacegroup)
    ref = np.array(mask_grid(flat.update(c.atoms, sel), refl.cell, refl.spacegroup),
                   copy=False)
    assert int((part != ref).sum()) == 0


@pytest.mark.parametrize("name", ["1aba", "1d7m", "1l2h"])
def test_fcalc_matches_gemmi_fft(case, name):
    """RE_PHASE's Fcalc (the engine, symmetry in reciprocal space) against gemmi's
    DensityCalculator (symmetry on the grid)."""
    from mainpy.sf.reference import fcalc_gemmi_fft
    c = case(name)
    calc = FcalcCalculator(c.refl.cell, c.refl.spacegroup, c.refl.hkl)
    a = calc(c.atoms)
    b = fcalc_gemmi_fft(c.atoms, c.refl.hkl, c.refl.cell, c.refl.spacegroup)
    r = np.abs(np.abs(a) - np.abs(b)).sum() / np.abs(b).sum()
    assert r < 2e-4
    assert np.abs(a - b).max() < 5e-4 * np.abs(b).max()


def test_fmodel_update_without_scaling_keeps_scales(case):
    """update(scale=False): new Fcalc and Fmask, old scales. A full update starts the
    scale fit from the old scales (warm): about the R of a fresh Fmodel; a cold one
    (warm=False) gives exactly that R."""
    from mainpy.xtal.fmodel import Fmodel
    c = case("1d7m")
    fm = Fmodel(c.refl, c.atoms)
    r0 = fm.r_factors()
    k_iso = fm.k_iso.copy()
    atoms = c.atoms.copy()
    atoms.xyz = atoms.xyz + np.random.default_rng(0).normal(0, 0.05, atoms.xyz.shape)
    fm.update(atoms, scale=False)
    np.testing.assert_array_equal(fm.k_iso, k_iso)
    r1 = fm.r_factors()
    assert r1[0] != r0[0] and abs(r1[0] - r0[0]) < 0.02
    fm.update(atoms)
    warm = fm.r_factors()
    fresh = Fmodel(c.refl, atoms).r_factors()
    assert warm[0] == pytest.approx(fresh[0], abs=5e-4)
    assert warm[1] == pytest.approx(fresh[1], abs=2e-3)
    fm.update(atoms, warm=False)
    assert fm.r_factors() == pytest.approx(fresh, abs=1e-12)


@pytest.mark.parametrize("hm, cell", [("P 61", (50, 50, 70, 90, 90, 120)),
                                      ("P 1 21 1", (40, 50, 60, 90, 107, 90)),
                                      ("R 3:R", (60, 60, 60, 80, 80, 80)),
                                      ("I 21 3", (80, 80, 80, 90, 90, 90)),
                                      ("F 2 2 2", (70, 80, 90, 90, 90, 90))])
def test_fcalc_and_mask_other_space_groups(case, hm, cell):
    """The reciprocal-space symmetry of the Fcalc path and the mask kernels in
    non-orthogonal cells and centred groups: 1aba's first 60 atoms put in other cells."""
    import gemmi
    from mainpy.xtal.fcalc import fcalc_direct
    c = case("1aba")
    atoms = c.atoms.copy()
    atoms.occ = np.where(np.arange(len(atoms)) < 60, atoms.occ, 0.0)
    cell, sg = gemmi.UnitCell(*cell), gemmi.SpaceGroup(hm)
    hkl = gemmi.make_miller_array(cell, sg, 3.0, 50.0)
    hkl = hkl[~sg.operations().systematic_absences(hkl)]
    hkl = hkl[np.random.default_rng(0).choice(len(hkl), 150, replace=False)]
    f = FcalcCalculator(cell, sg, hkl)(atoms)
    ref = fcalc_direct(atoms, hkl, cell=cell, spacegroup=sg)
    r = np.abs(np.abs(f) - np.abs(ref)).sum() / np.abs(ref).sum()
    assert r < 2e-4
    flat = FlatModel(atoms, cell, sg)
    ref_mask = np.array(mask_grid(flat.model, cell, sg), copy=False)
    mine = SolventMask(cell, sg).grid(atoms)
    assert int((mine != ref_mask).sum()) == 0
