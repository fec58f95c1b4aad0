"""Ordered solvent: peak positions on a periodic grid, and the deposited waters of 1aba
found again after they are taken out (WATER UPDATE's rules, phenix's defaults)."""

import io

import gemmi
import numpy as np

from mainpy.session import Session
from mainpy.xtal import waters as W


def test_peaks_at_known_positions():
    """Gaussian blobs off the grid points, one across the cell edge: each maximum found
    within 0.05 A of where it was put, nothing else above the level."""
    cell = gemmi.UnitCell(30, 34, 40, 90, 90, 90)
    n = (60, 68, 80)
    frac = np.array([[0.2031, 0.5117, 0.7303], [0.9952, 0.1011, 0.4987],
                     [0.6, 0.7, 0.1521]])
    grid = np.stack(np.meshgrid(*[np.arange(k) / k for k in n], indexing="ij"), axis=-1)
    values = np.zeros(n)
    abc = np.array([30.0, 34.0, 40.0])
    for f in frac:
        d = (grid - f + 0.5) % 1.0 - 0.5
        r2 = ((d * abc) ** 2).sum(axis=-1)
        values += np.exp(-r2 / (2 * 0.6 ** 2))
    xyz, h = W.peaks(values, cell, 0.5)
    assert len(xyz) == 3
    want = frac * abc
    for p in want:
        dd = (xyz - p) / abc
        dd = (dd + 0.5) % 1.0 - 0.5
        assert np.linalg.norm(dd * abc, axis=1).min() < 0.05


def _nearest(p, xyz, cell, sg):
    """Distance from p to the nearest of xyz's symmetry copies."""
    cop = W._copies(xyz, cell, sg).reshape(-1, 3)
    return float(np.linalg.norm(cop - p, axis=1).min())


def test_removed_waters_found_again(data, monlib_dir):
    """1aba without its 25 best-ordered waters: WATER UPDATE (adding only) puts waters
    back at most of their places (within 0.5 A, symmetry considered), none clashing with
    the model, and R-free falls."""
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}; read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    a = s.atoms
    wat = np.flatnonzero(a.resname == "HOH")
    best = wat[np.argsort(a.b[wat])[:25]]
    taken = a.xyz[best].copy()
    from mainpy.model.model import Model, subset_structure
    from mainpy.model.atoms import from_structure
    keep = np.ones(len(a), bool)
    keep[best] = False
    st = subset_structure(s.model, keep)
    s.set_model(Model(from_structure(st), st, s.model.path))
    s.run("define bond angle dihe impr by topo; refl phase")
    r_before = float(s.variables["R_FREE"])
    s.run("water update remove off")
    out = s.out.getvalue()
    assert "added at mFo-DFc peaks" in out
    b = s.atoms
    last = a.resseq[np.setdiff1d(wat, best)].max()
    is_new = (b.resname == "HOH") & (b.resseq > last)
    new = b.xyz[is_new]
    assert len(b) == len(a) - 25 + is_new.sum() and is_new.sum() >= 18
    cell, sg = s.model.cell, s.model.spacegroup
    found = sum(_nearest(p, new, cell, sg) < 0.5 for p in taken)
    print(f"\n1aba: {found} of 25 removed waters found again, {int(is_new.sum())} added")
    assert found >= 18, f"{found} of 25 found"
    # no new water within 1.8 A of a model atom (any symmetry copy)
    old = b.xyz[~is_new & ~np.isin(b.element, ("H", "D"))]
    for p in new:
        assert _nearest(p, old, cell, sg) >= W.CLASH - 1e-6
    assert float(s.variables["R_FREE"]) < r_before


def test_water_update_needs_data_and_keeps_the_session(data, monlib_dir):
    import pytest

    from mainpy.errors import MainpyError
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}; read coor file {data('xtal/1aba/1aba.pdb')}")
    before = s.fingerprint()
    with pytest.raises(MainpyError, match="needs reflections"):
        s.run("water update")
    assert s.fingerprint() == before
    s.run("water keep")
    assert s.fingerprint() == before
