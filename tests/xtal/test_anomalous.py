"""Bijvoet pairs: I(+)/I(-) and F(+)/F(-) read, merged to the mean, and the anomalous
difference map, on data simulated from 1aba with an anomalous signal at its sulfurs."""

import io

import gemmi
import numpy as np
import pytest

from mainpy.session import Session
from mainpy.xtal.anomalous import merge_pairs


def test_merge_pairs_weights_and_gaps():
    vp = np.array([10.0, 4.0, np.nan, 5.0])
    sp = np.array([1.0, 1.0, np.nan, 1.0])
    vm = np.array([12.0, np.nan, np.nan, 7.0])
    sm = np.array([1.0, np.nan, np.nan, 2.0])
    m, s = merge_pairs(vp, sp, vm, sm)
    assert m[0] == pytest.approx(11.0) and s[0] == pytest.approx(np.sqrt(0.5))
    assert m[1] == 4.0 and s[1] == 1.0 and np.isnan(m[2])
    assert m[3] == pytest.approx((5 / 1 + 7 / 4) / (1 + 1 / 4))


def _simulate(data, tmp_path, kind):
    """1aba's Fmodel phases with a Bijvoet difference from its sulfurs: F(+-) =
    |Fmodel +- i B| (B: the sulfurs' imaginary scattering, 4 % of |Fmodel| rms), written as
    F(+)/F(-) (kind "F") or as their squares I(+)/I(-) (kind "I"), with 1aba's free flags."""
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}; refl phase")
    fm, refl, atoms = s.fmodel, s.reflections, s.atoms
    hkl = fm.refl.hkl
    sites = atoms.xyz[atoms.element == "S"]
    cell, sg = refl.cell, refl.spacegroup
    frac = np.array([cell.fractionalize(gemmi.Position(*x)).tolist() for x in sites])
    b = np.zeros(len(hkl), complex)
    s2 = 1.0 / fm.refl.d ** 2
    for op in sg.operations():
        rot = np.array(op.rot, float) / op.DEN
        tran = np.array(op.tran, float) / op.DEN
        x = frac @ rot.T + tran
        b += np.exp(2j * np.pi * hkl @ x.T).sum(axis=1) * np.exp(-20.0 * s2 / 4)
    fmod = fm.f_model
    b *= 0.04 * np.sqrt(np.mean(np.abs(fmod) ** 2) / np.mean(np.abs(b) ** 2))
    fp, fmn = np.abs(fmod + 1j * b), np.abs(fmod - 1j * b)
    cen = fm.refl.centric
    fmn[cen] = fp[cen]
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = sg
    mtz.set_cell_for_all(cell)
    mtz.add_dataset("sim")
    labels = [("F(+)", "G"), ("SIGF(+)", "L"), ("F(-)", "G"), ("SIGF(-)", "L")] if kind == "F" \
        else [("I(+)", "K"), ("SIGI(+)", "M"), ("I(-)", "K"), ("SIGI(-)", "M")]
    vals = [fp, 0.01 * fp + 0.1, fmn, 0.01 * fmn + 0.1] if kind == "F" else \
        [fp ** 2, 0.02 * fp ** 2 + 1, fmn ** 2, 0.02 * fmn ** 2 + 1]
    for lab, t in labels + [("FreeR_flag", "I")]:
        mtz.add_column(lab, t)
    flags = np.where(fm.refl.free, 0, 1)
    mtz.set_data(np.column_stack([hkl, *vals, flags]).astype(np.float32))
    path = tmp_path / f"anom_{kind}.mtz"
    mtz.write_to_file(str(path))
    return path, sites, fp, fmn


@pytest.mark.parametrize("kind", ["F", "I"])
def test_bijvoet_pairs_merge_and_anomalous_map(data, tmp_path, kind):
    path, sites, fp, fmn = _simulate(data, tmp_path, kind)
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    label = "fobs F(+)" if kind == "F" else ""                # named unquoted, or found
    s.run(f"read refl file {path} {label}")
    r = s.reflections
    assert ("F(+)/F(-) merged" if kind == "F" else "I(+)/I(-) merged") in str(r.labels)
    acen = ~r.centric & r.observed
    if kind == "F":            # equal sigmas where F(+) = F(-): the plain mean
        w_p, w_m = 1 / (0.01 * fp + 0.1) ** 2, 1 / (0.01 * fmn + 0.1) ** 2
        np.testing.assert_allclose(r.fobs, (w_p * fp + w_m * fmn) / (w_p + w_m), rtol=1e-5)
    # the Bijvoet difference kept (French-Wilson amplitudes of the intensities)
    d = fp - fmn
    big = acen & (np.abs(d) > 0.02 * fp)
    np.testing.assert_allclose(r.anom[big], d[big], rtol=0.05, atol=0.02 * np.median(fp))
    assert np.isnan(r.anom[r.centric]).all()
    s.run("refl phase")
    assert s.variables["R_WORK"] < 0.05                   # the mean is the model's |F|
    s.run("make map 2 anom")
    g = s.maps[2]
    sigma = float(np.asarray(g.array).std())
    at_s = [g.interpolate_value(gemmi.Position(*x)) / sigma for x in sites]
    others = s.atoms.xyz[s.atoms.element == "C"][::10]
    at_c = [g.interpolate_value(gemmi.Position(*x)) / sigma for x in others]
    print(f"anomalous map ({kind}): sulfurs {np.round(at_s, 1)} sigma, carbons mean "
          f"{np.mean(at_c):.2f}")
    assert min(at_s) > 5.0 and abs(np.mean(at_c)) < 1.0


def test_anomalous_map_refused_without_pairs(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    with pytest.raises(Exception, match="needs Bijvoet pairs"):
        s.run("make map 2 anom")
    assert 2 not in s.maps
