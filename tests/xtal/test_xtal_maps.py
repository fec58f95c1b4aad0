"""Maps: sigmaA-weighted coefficients, FFT both ways, map operations, map and MTZ files."""

import gemmi
import numpy as np
import pytest

from mainpy.xtal import maps
from mainpy.xtal.fmodel import Fmodel
from mainpy.xtal.reflections import read_reflections
from mainpy.xtal.sigmaa import figure_of_merit, sigmaa_for


def _weighted(fm):
    r = fm.refl
    sa = sigmaa_for(r, fm.f_model)
    fom = figure_of_merit(r.fobs, fm.f_model, r.sigf, r.centric, r.epsilon, sa.D, sa.S)
    return sa, fom


def test_2mfodfc_map_correlates_with_model_map(case, fmodel):
    fm = fmodel("1aba")
    r = fm.refl
    sa, fom = _weighted(fm)
    c = maps.map_coefficients("2mfodfc", r.fobs, fm.f_model, r.centric, fom, sa.D)
    g = maps.coefficients_to_map(r.hkl, c, r.cell, r.spacegroup)
    # grid spacing about d_min/3
    spacing = [r.cell.a / g.nu, r.cell.b / g.nv, r.cell.c / g.nw]
    assert max(spacing) <= r.d_min / 3 + 1e-9 and min(spacing) > r.d_min / 4
    gc = maps.coefficients_to_map(r.hkl, fm.fcalc, r.cell, r.spacegroup, shape=g.shape)
    mask = maps.atom_mask(g, case("1aba").atoms.xyz, 2.0)
    cc = maps.map_correlation(g, gc, mask)
    print(f"1aba: CC(2mFo-DFc, Fcalc map) within 2 A of the model = {cc:.3f}")
    assert cc > 0.9


def test_omitted_side_chain_shows_in_difference_map(case):
    """Tyr 5 of 1aba left out of the model: mFo-DFc > 3 sigma at each of its atoms."""
    c = case("1aba")
    atoms = c.atoms
    omit = (atoms.resseq == 5) & ~np.isin(atoms.name, ["N", "CA", "C", "O", "CB"])
    assert atoms.resname[omit][0] == "TYR" and omit.sum() == 7
    fm = Fmodel(c.refl, atoms)
    fm.update(atoms, select=~omit)
    r = fm.refl
    sa, fom = _weighted(fm)
    cd = maps.map_coefficients("mfodfc", r.fobs, fm.f_model, r.centric, fom, sa.D)
    g = maps.coefficients_to_map(r.hkl, cd, r.cell, r.spacegroup)
    maps.normalize_map(g)
    v = maps.map_values_at(g, atoms.xyz[omit])
    print("mFo-DFc at the omitted Tyr 5 atoms (sigma):", np.round(v, 1))
    assert (v > 3).all()
    # and the kept main chain of the residue is not in the difference map
    kept = (atoms.resseq == 5) & np.isin(atoms.name, ["N", "CA", "C", "O"])
    assert (np.abs(maps.map_values_at(g, atoms.xyz[kept])) < 3).all()


def test_fft_round_trip(fmodel):
    """Structure factors of the map of Fcalc are Fcalc again."""
    fm = fmodel("1d7m")
    r = fm.refl
    g = maps.coefficients_to_map(r.hkl, fm.fcalc, r.cell, r.spacegroup)
    back = maps.map_to_coefficients(g, r.hkl)
    rel = np.abs(back - fm.fcalc).sum() / np.abs(fm.fcalc).sum()
    assert rel < 1e-5


def test_map_kinds_are_consistent(fmodel):
    fm = fmodel("1aba")
    r = fm.refl
    obs = r.observed
    sa, fom = _weighted(fm)
    k = {kind: maps.map_coefficients(kind, r.fobs, fm.f_model, r.centric, fom, sa.D)
         for kind in maps.KINDS if kind != "anom"}      # anom: tests/xtal/test_anomalous.py
    # nFo-(n-1)Fc = n(Fo-Fc) + Fc
    np.testing.assert_allclose(k["2fofc"][obs], (2 * k["fofc"] + k["fcalc"])[obs],
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(k["3fo2fc"][obs], (3 * k["fofc"] + k["fcalc"])[obs],
                               rtol=1e-9, atol=1e-9)
    acen = obs & ~r.centric
    np.testing.assert_allclose(k["2mfodfc"][acen],
                               (2 * k["mfodfc"] + sa.D * k["fcalc"])[acen], rtol=1e-9,
                               atol=1e-9)
    # unobserved reflections: D*Fc fills 2mFo-DFc, nothing in the difference map
    assert np.allclose(k["2mfodfc"][~obs], (sa.D * fm.f_model)[~obs])
    assert np.all(k["mfodfc"][~obs] == 0)
    with pytest.raises(ValueError):
        maps.map_coefficients("2mfodfc", r.fobs, fm.f_model)


def test_map_operations():
    cell = gemmi.UnitCell(20, 30, 40, 90, 90, 90)
    sg = gemmi.SpaceGroup("P 21 21 21")
    rng = np.random.default_rng(2)
    a = gemmi.FloatGrid(rng.normal(2, 3, (20, 30, 40)).astype(np.float32), cell, sg)
    b = maps.copy_map(a, 2.0)
    np.testing.assert_allclose(np.array(b.array), 2 * np.array(a.array), rtol=1e-6)
    maps.add_map(b, a, -2.0)
    assert np.abs(np.array(b.array)).max() < 1e-5
    c = maps.copy_map(a)
    mean, sd = maps.normalize_map(c)
    assert mean == pytest.approx(2, abs=0.05) and sd == pytest.approx(3, abs=0.05)
    assert abs(np.array(c.array).mean()) < 1e-5 and np.array(c.array).std() == pytest.approx(1, 1e-5)
    n = maps.set_range(c, -1.0, 1.0, 0.0)
    assert n == pytest.approx(0.683 * c.point_count, rel=0.02)
    maps.multiply_map(c, scale=2.0)
    maps.zero_map(b)
    assert not np.array(b.array).any()
    # mask around one atom and its symmetry mates: 4 spheres of radius 2 A
    m = maps.atom_mask(a, np.array([[5.0, 7.0, 9.0]]), 2.0)
    frac = np.array(m.array).mean()
    assert frac == pytest.approx(4 * 4 / 3 * np.pi * 8 / cell.volume, rel=0.1)
    d = maps.copy_map(a)
    v = maps.flatten_outside(d, m)
    arr, marr = np.array(d.array), np.array(m.array)
    assert np.all(arr[marr < 0.5] == np.float32(v))
    np.testing.assert_array_equal(arr[marr > 0.5], np.array(a.array)[marr > 0.5])


def test_map_file_round_trip_and_atomic_write(tmp_path):
    cell = gemmi.UnitCell(20, 30, 40, 90, 90, 90)
    sg = gemmi.SpaceGroup("P 21 21 21")
    a = gemmi.FloatGrid(np.random.default_rng(1).normal(size=(20, 30, 40)).astype(np.float32),
                        cell, sg)
    path = tmp_path / "x.map"
    maps.write_map(path, a)
    assert [p.name for p in tmp_path.iterdir()] == ["x.map"]      # no temporary left
    b = maps.read_map(path)
    assert b.shape == a.shape and b.spacegroup.hm == "P 21 21 21"
    np.testing.assert_array_equal(np.array(b.array), np.array(a.array))
    assert b.unit_cell.parameters == pytest.approx(cell.parameters)


def test_write_mtz_round_trip(fmodel, tmp_path):
    fm = fmodel("1aba")
    r = fm.refl
    sa, fom = _weighted(fm)
    fwt = maps.map_coefficients("2mfodfc", r.fobs, fm.f_model, r.centric, fom, sa.D)
    dfwt = maps.map_coefficients("mfodfc", r.fobs, fm.f_model, r.centric, fom, sa.D)
    path = tmp_path / "out.mtz"
    maps.write_mtz(path, r, fmodel=fm.f_model, coefficients={"FWT": fwt, "DELFWT": dfwt},
                   fom=fom)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mtz"]
    mtz = gemmi.read_mtz_file(str(path))
    assert mtz.column_labels() == ["H", "K", "L", "FP", "SIGFP", "FREE", "FC", "PHIC",
                                   "FWT", "PHWT", "DELFWT", "PHDELWT", "FOM"]
    back = read_reflections(path)
    assert back.labels["fobs"] == "FP" and back.labels["free"] == "FREE"
    np.testing.assert_array_equal(back.hkl, r.hkl)
    np.testing.assert_array_equal(back.observed, r.observed)
    np.testing.assert_array_equal(back.free, r.free)
    np.testing.assert_allclose(back.fobs[r.observed], r.fobs[r.observed], rtol=1e-6)
    f, phi = (np.array(mtz.column_with_label(x), float) for x in ("FWT", "PHWT"))
    back_c = f * np.exp(1j * np.radians(phi))
    assert np.abs(back_c - fwt).max() < 1e-3 * np.abs(fwt).max()
    # gemmi makes the same map from the file as mainpy from the arrays
    g1 = mtz.transform_f_phi_to_map("FWT", "PHWT", exact_size=[60, 96, 120])
    g2 = maps.coefficients_to_map(r.hkl, fwt, r.cell, r.spacegroup, shape=(60, 96, 120))
    assert maps.map_correlation(g1, g2) > 0.99999


def test_fmodel_convenience_matches_the_parts(fmodel, tmp_path):
    """Fmodel.map_coefficients / write_mtz give what the separate functions give."""
    fm = fmodel("1aba")
    r = fm.refl
    sa, fom = _weighted(fm)
    direct = maps.map_coefficients("2mfodfc", r.fobs, fm.f_model, r.centric, fom, sa.D)
    np.testing.assert_allclose(fm.map_coefficients("2mFo-DFc"), direct, rtol=1e-12)
    np.testing.assert_allclose(fm.map_coefficients("fofc"),
                               maps.map_coefficients("fofc", r.fobs, fm.f_model), rtol=1e-12)
    path = tmp_path / "fm.mtz"
    fm.write_mtz(path)
    mtz = gemmi.read_mtz_file(str(path))
    fom_file = np.array(mtz.column_with_label("FOM"), float)
    obs = r.observed
    np.testing.assert_allclose(fom_file[obs], fom[obs], rtol=1e-6)
    assert np.isnan(fom_file[~obs]).all()
