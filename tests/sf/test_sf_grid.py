"""Grids, the blur rule, the pruned FFT, and the solvent mask at high resolution."""

import gemmi
import numpy as np
import pytest
from sf_helpers import complex_r, sample

from mainpy.sf.engine import StructureFactorEngine
from mainpy.sf.grid import U_TO_B, effective_b, grid_size, images, index_limits, symmetry_ops
from mainpy.sf.pruned_fft import PrunedFFT
from mainpy.sf.reference import fcalc_direct


def test_grid_holds_the_indices():
    """A spacing too coarse for the indices: the grid is enlarged (FFT-friendly and
    compatible with the symmetry) to hold every image h R."""
    cell, sg = gemmi.UnitCell(50, 50, 70, 90, 90, 120), gemmi.SpaceGroup("P 61")
    hkl = gemmi.make_miller_array(cell, sg, 2.0, 50.0)
    rot, tran = symmetry_ops(sg)
    coarse = grid_size(cell, sg, 1.6)
    need = 2 * index_limits(hkl, rot) + 1
    assert any(c < n for c, n in zip(coarse, need))
    size = grid_size(cell, sg, 1.6, hkl, rot)
    assert all(s >= n for s, n in zip(size, need))
    assert size[0] == size[1] and size[2] % 6 == 0          # hexagonal, 6-fold screw
    with pytest.raises(ValueError, match="cannot hold Miller indices"):
        PrunedFFT(coarse, hkl, rot, tran)
    PrunedFFT(size, hkl, rot, tran)


@pytest.mark.parametrize("sg", ["P 61", "F 2 3", "C 1 2 1"])
def test_images_are_the_integer_products(sg):
    """h R of every index and operation by the float product equals the integer one
    (indices to 1 A in a large cell, every operation of the group)."""
    cell = gemmi.UnitCell(120, 120, 150, 90, 90, 120) if sg == "P 61" \
        else gemmi.UnitCell(150, 150, 150, 90, 90, 90) if sg == "F 2 3" \
        else gemmi.UnitCell(338, 48, 89, 90, 104.6, 90)
    group = gemmi.SpaceGroup(sg)
    hkl = gemmi.make_miller_array(cell, group, 1.0, 200.0).astype(np.int64)
    rot, _ = symmetry_ops(group)
    want = np.einsum("ni,oij->noj", hkl, rot.astype(np.int64))
    got = images(hkl, rot)
    assert got.dtype == np.int64 and got.shape == want.shape
    assert np.array_equal(got, want)
    assert np.array_equal(index_limits(hkl, rot), np.abs(want).max(axis=(0, 1)))


def test_coarse_rate_still_works(case):
    """Rate 0.7 (a grid that on its own would not hold the indices): the engine enlarges
    it and Fcalc still follows direct summation, as well as a grid of about Nyquist
    sampling allows (rate 1.25 gives 7e-5)."""
    st, atoms, refl = case("5e5z")
    eng = StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl, rate=0.7,
                                truncation="hard")
    rot = eng.rot
    spacing_grid = grid_size(refl.cell, refl.spacegroup, eng.spacing)
    assert eng.shape != spacing_grid
    assert all(s > 2 * m for s, m in zip(eng.shape, index_limits(refl.hkl, rot)))
    idx = sample(refl, 300)
    ref = fcalc_direct(atoms, refl.hkl[idx], refl.cell, refl.spacegroup)
    assert complex_r(eng.fcalc(atoms)[idx], ref) < 5e-3


def test_blur_uses_the_sharpest_direction(case):
    """Refmac's blur: B_min over the atoms, 8 pi^2 times the smallest eigenvalue of U for
    anisotropic ones (as gemmi's set_refmac_compatible_blur)."""
    st, atoms, refl = case("1byz")
    eb = effective_b(atoms)
    u = atoms.aniso[0]
    m = np.array([[u[0], u[3], u[4]], [u[3], u[1], u[5]], [u[4], u[5], u[2]]])
    assert eb[0] == pytest.approx(U_TO_B * np.linalg.eigvalsh(m)[0], rel=1e-10)
    eng = StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl)
    blur = eng.set_blur(atoms)
    dc = gemmi.DensityCalculatorX()
    dc.d_min = eng.d_min
    dc.rate = eng.rate
    dc.set_refmac_compatible_blur(st[0])
    assert blur == pytest.approx(dc.blur, abs=1e-3)


def test_fmodel_at_0_9_angstrom(case):
    """1byz (P1, 0.90 A, ANISOU on every atom): the mask grid follows the data's
    resolution, Fmodel builds and gives a sensible R."""
    from mainpy.xtal.fmodel import Fmodel
    st, atoms, refl = case("1byz")
    fm = Fmodel(refl, atoms, model_cell=st.cell, model_spacegroup=st.find_spacegroup())
    rw, rf = fm.r_factors()
    step = max(a / n for a, n in zip(refl.cell.parameters[:3], fm.masker.shape))
    print(f"\n1byz: {len(atoms)} atoms, data to {refl.d_min:.2f} A, mask grid "
          f"{fm.masker.shape} (step <= {step:.2f} A); R-work {rw:.4f} R-free {rf:.4f}")
    assert rw < 0.2 and rf < 0.2
    # the mask on that grid is gemmi's (a small solvent fraction: a packed crystal)
    from mainpy.sf.gemmi_model import FlatModel
    grid = gemmi.FloatGrid(np.zeros(fm.masker.shape, np.float32), refl.cell,
                           refl.spacegroup)
    masker = gemmi.SolventMasker(gemmi.AtomicRadiiSet.Cctbx)
    masker.rprobe, masker.rshrink, masker.island_min_volume = 1.1, 0.9, 0.0
    masker.ignore_hydrogen = masker.ignore_zero_occupancy_atoms = True
    masker.put_mask_on_float_grid(grid, FlatModel(atoms, refl.cell, refl.spacegroup).model)
    assert int((np.asarray(grid.array) != fm.mask_array).sum()) == 0
    assert 0.01 < fm.mask_array.mean() < 0.2
