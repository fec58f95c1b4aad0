"""Bulk solvent, scaling and R-factors against cctbx (mmtbx.model_vs_data) on the same files.

Peer figures: cctbx-base 2025.11, `mmtbx.model_vs_data model data` with default settings
(all data, bulk solvent per-bin k_mask + anisotropic scale, F-obs outliers removed; for
1l2h cctbx's own French-Wilson amplitudes). mainpy must be within +0.003 or lower.
"""

import gemmi
import numpy as np
import pytest

from mainpy.xtal.rfactors import count_possible, equal_volume_bins, r_factor
from mainpy.xtal.scaling import (BulkSolventScaler, aniso_basis, k_aniso_from_ustar,
                                 log_bins)

PEER = {  # name: (R-work, R-free) from mmtbx.model_vs_data
    "1aba": (0.2072, 0.2101),
    "1d7m": (0.2544, 0.2919),
    "1l2h": (0.2532, 0.2751),
}
TOL = 0.003


@pytest.mark.parametrize("name", ["1aba", "1d7m", "1l2h"])
def test_r_factors_match_cctbx(fmodel, name):
    fm = fmodel(name)
    rw, rf = fm.r_factors()
    pw, pf = PEER[name]
    print(f"{name}: mainpy R-work {rw:.4f} R-free {rf:.4f} | "
          f"cctbx R-work {pw:.4f} R-free {pf:.4f}")
    assert rw <= pw + TOL
    assert rf <= pf + TOL
    # and not suspiciously low: the deposited models against all data
    assert rw > pw - 0.02 and rf > pf - 0.02


def test_k_mask_per_bin_like_cctbx(fmodel):
    """1d7m k_mask of the lowest and of a middle bin, cctbx printed 0.360 and 0.220
    (bins 37.3-11.7 A and 6.05-4.87 A); the high-resolution bins have none."""
    fm = fmodel("1d7m")
    refl = fm.refl
    obs = refl.observed
    k = fm.k_mask[obs]
    d = refl.d[obs]
    assert abs(np.mean(k[d > 11.7]) - 0.36) < 0.04
    assert abs(np.mean(k[(d < 6.05) & (d > 4.87)]) - 0.22) < 0.04
    assert np.all(k[d < 2.6] < 0.02)


def test_shell_table_sums_to_overall(fmodel):
    fm = fmodel("1aba")
    rows = fm.shells(8)
    refl = fm.refl
    assert sum(r["n_work"] for r in rows) == refl.work.sum()
    assert sum(r["n_free"] for r in rows) == refl.test.sum()
    # shells of equal reciprocal volume
    vols = [r["d_min"] ** -3 - r["d_max"] ** -3 for r in rows]
    np.testing.assert_allclose(vols, vols[0], rtol=1e-9)
    # R over the shells, weighted by sum Fo, is the overall R
    fo = refl.fobs
    idx, lim = equal_volume_bins(refl.d[refl.observed], 8)
    num = sum(r["r_work"] * fo[refl.observed][(idx == i) & ~refl.free[refl.observed]].sum()
              for i, r in enumerate(rows))
    assert num / fo[refl.work].sum() == pytest.approx(fm.r_work, rel=1e-9)
    assert 0.0 < rows[0]["r_work"] < rows[-1]["r_work"] < 0.5


def test_completeness_against_cctbx(fmodel):
    """cctbx reports completeness 0.956699 (1aba) and 0.97053 (1l2h) for these data."""
    s = fmodel("1aba").statistics()
    assert s["completeness"] == pytest.approx(0.956699, abs=2e-4)
    assert fmodel("1l2h").statistics()["completeness"] == pytest.approx(0.97053, abs=2e-4)


def test_count_possible_by_brute_force():
    """Unique reflection count by brute force over an index box (P 21 21 21): each
    reflection's orbit (symmetry and Friedel mates) is counted once."""
    cell = gemmi.UnitCell(30.2, 47.8, 61.3, 90, 90, 90)
    sg = gemmi.SpaceGroup("P 21 21 21")
    d_min = 3.0
    # the box reaches beyond a/d_min, b/d_min, c/d_min
    hkl = np.array([(h, k, l) for h in range(-11, 12) for k in range(-17, 18)
                    for l in range(-21, 22)], dtype=np.int32)
    hkl = hkl[np.any(hkl != 0, axis=1)]
    d = cell.calculate_d_array(hkl)
    hkl = hkl[d >= d_min]
    hkl = hkl[~sg.operations().systematic_absences(hkl)]
    ops = sg.operations().sym_ops

    def orbit_key(h):
        mates = [tuple(op.apply_to_hkl([int(x) for x in h])) for op in ops]
        mates += [tuple(-x for x in m) for m in mates]
        return min(mates)

    n_unique = len({orbit_key(h) for h in hkl})
    assert count_possible(cell, sg, d_min, 1000.0) == n_unique


@pytest.mark.parametrize("hm, n_par", [("P 1", 6), ("P 21 21 21", 3), ("P 43", 2),
                                        ("C 2 2 21", 3), ("P 1 21 1", 4), ("P 61", 2),
                                        ("I 21 3", 1)])
def test_aniso_basis_respects_symmetry(hm, n_par):
    """Constrained U* has the textbook number of parameters, and k_aniso is the same
    for symmetry-equivalent reflections."""
    sg = gemmi.SpaceGroup(hm)
    basis = aniso_basis(sg)
    assert basis.shape == (6, n_par)
    rng = np.random.default_rng(1)
    u_star = basis @ rng.normal(0, 1e-4, n_par)
    hkl = rng.integers(-8, 9, (50, 3)).astype(np.int32)
    k0 = k_aniso_from_ustar(hkl, u_star)
    for op in sg.operations().sym_ops:
        heq = np.array([op.apply_to_hkl([int(x) for x in h]) for h in hkl], dtype=np.int32)
        np.testing.assert_allclose(k_aniso_from_ustar(heq, u_star), k0, rtol=1e-12)


def test_scaler_recovers_known_scales(case):
    """Fobs made from Fcalc + 0.35 Fmask with a known exponential and anisotropic scale:
    the fit gives R ~ 0 and the right k_mask."""
    from mainpy.xtal.fcalc import FcalcCalculator
    from mainpy.xtal.solvent import fmask
    c = case("1aba")
    refl = c.refl.select(c.refl.observed)
    fc = FcalcCalculator(refl.cell, refl.spacegroup, refl.hkl)(c.atoms)
    fm = fmask(c.atoms, refl.hkl, refl.cell, refl.spacegroup)
    basis = aniso_basis(refl.spacegroup)
    u_star = basis @ np.array([2e-4, -1e-4, 5e-5])
    s2 = 1 / refl.d ** 2
    true = 3.0 * np.exp(-12.0 * s2 / 4) * k_aniso_from_ustar(refl.hkl, u_star) \
        * np.abs(fc + 0.35 * fm)
    sc = BulkSolventScaler(true, fc, fm, refl.hkl, refl.d, ~refl.free, refl.spacegroup,
                           refl.cell)
    model = sc.run()
    f = model.fmodel(fc, fm)
    assert r_factor(true, f) < 0.005
    low = refl.d > 6
    assert np.mean(model.k_mask[low]) == pytest.approx(0.35, abs=0.03)


def test_log_bins_cover_and_order():
    d = 1 / np.sqrt(np.random.default_rng(0).uniform(1 / 40 ** 2, 1 / 1.5 ** 2, 20000))
    b = log_bins(d)
    assert b.min() == 0 and (b >= 0).all()
    nb = b.max() + 1
    assert 5 <= nb <= 30
    # bins are ordered in resolution and the lowest holds ~100 reflections
    dmax = [d[b == i].max() for i in range(nb)]
    assert all(x > y for x, y in zip(dmax, dmax[1:]))
    assert 90 <= (b == 0).sum() <= 110
