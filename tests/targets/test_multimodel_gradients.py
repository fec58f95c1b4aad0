"""The X-ray target of a multi-model (N copies as conformers at occupancy 1/N): its
gradient against finite differences at the same atoms of two copies, xyz and occupancy."""

import numpy as np
import pytest
from target_helpers import fd_check

from mainpy.app.multimodel import copies_structure, kick_copies
from mainpy.model.atoms import from_structure
from mainpy.targets.xray import xray_target
from mainpy.xtal.fmodel import Fmodel

GRAD_TOL = 1e-4         # as for the single model (test_xray_targets.py)


@pytest.mark.parametrize("kind", ["ml", "lsq"])
def test_multimodel_xray_gradients_fd(case, kind):
    st, atoms, refl = case("1aba")
    mm = copies_structure(st, np.ones(len(atoms), bool) & ~np.asarray(atoms.het), 2)
    a = from_structure(mm)
    a = a.replace(xyz=kick_copies(a, 0.3, seed=5))
    t = xray_target(kind, Fmodel(refl, a), single=False)
    alt = np.asarray(a.altloc)
    # the same atoms (CA of residues 10, 40, 70; a side-chain O) in copy A and copy B,
    # and two shared waters
    idx = []
    for num, name in ((10, "CA"), (40, "CA"), (70, "CA"), (40, "O")):
        rows = np.flatnonzero((a.resseq == num) & (a.name == name))
        assert sorted(alt[rows]) == ["A", "B"]
        idx.extend(rows)
    idx.extend(np.flatnonzero(a.resname == "HOH")[[0, -1]])
    errs = fd_check(t, a, np.array(idx), params=("xyz", "occ"))
    print(f"\n{kind} multi-model gradient (max rel err, max |g|): "
          + ", ".join(f"{p}: {e:.2e} ({s:.3g})" for p, (e, s) in errs.items()))
    for p, (e, s) in errs.items():
        assert s > 0 and e < GRAD_TOL, (p, e)
    # the copies moved apart, so their gradients differ: each copy is its own parameters
    g = t.evaluate(a, ("xyz",)).grad["xyz"]
    assert np.abs(g[idx[0]] - g[idx[1]]).max() > 1e-3 * np.abs(g[idx[0]]).max()
