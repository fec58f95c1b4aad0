"""Geometry statistics, violation lists and the Ramachandran classification."""

import gemmi
import numpy as np
import pytest
from restraint_helpers import shaken

from mainpy.restraints import validation


def test_violations_sorted_and_labelled(aba):
    r = aba.restraints
    xyz = aba.atoms.xyz
    v = validation.violations(xyz, r, aba.atoms, lo=3.0)
    z = [abs(x.z) for x in v]
    assert z == sorted(z, reverse=True) and min(z) >= 3.0
    # the count is that of all restraints with |Z| >= 3
    dev = validation.deviations(xyz, r)
    n = sum(int(np.sum(np.abs(d[3] / d[4]) >= 3.0)) for d in dev.values())
    assert len(v) == n > 0
    first = v[0]
    assert all("/" in lab for lab in first.labels)
    assert first.delta == pytest.approx(first.value - first.ideal, abs=1e-9)
    # a bond pulled 0.2 A long is listed with its atoms and deviation
    k = 100
    i, j = (int(x) for x in r.bond_idx[k])
    moved = xyz.copy()
    u = (xyz[j] - xyz[i]) / np.linalg.norm(xyz[j] - xyz[i])
    moved[j] += (r.bond_ideal[k] + 0.2 - np.linalg.norm(xyz[j] - xyz[i])) * u
    vb = validation.violations(moved, r, aba.atoms, kinds=["bond"], by="delta", lo=0.19)
    assert [abs(x.delta) for x in vb] == sorted((abs(x.delta) for x in vb), reverse=True)
    hit = [x for x in vb if x.atoms == (i, j)]
    assert len(hit) == 1 and hit[0].delta == pytest.approx(0.2, abs=1e-9)
    assert hit[0].labels == (aba.atoms.label(i), aba.atoms.label(j))
    assert all(x.kind == "bond" for x in vb)


def test_ramachandran_angles_and_classes(any_case):
    rows = validation.ramachandran(any_case.st)
    assert len(rows) > 80
    # phi/psi agree with gemmi's own calculation for the same residues
    st = any_case.st
    for chain, num, _, phi, psi, _ in rows[:20]:
        poly = st[0][chain].get_polymer()
        k = next(i for i, res in enumerate(poly) if res.seqid.num == num)
        g = gemmi.calculate_phi_psi(poly[k - 1], poly[k], poly[k + 1])
        assert phi == pytest.approx(np.degrees(g[0]), abs=1e-9)
        assert psi == pytest.approx(np.degrees(g[1]), abs=1e-9)
    s = validation.rama_summary(st)
    assert s["favored"] + s["allowed"] + s["outlier"] == s["count"] == len(rows)
    # deposited, refined structures: mostly favoured, few outliers
    assert s["favored_pct"] > 85 and s["outlier_pct"] < 2


def test_rama_regions():
    assert validation.rama_class("ALA", -63, -41) == "favored"      # alpha helix
    assert validation.rama_class("ALA", -120, 130) == "favored"     # beta strand
    assert validation.rama_class("ALA", 60, 40) == "allowed"        # left-handed helix
    assert validation.rama_class("ALA", 60, -120) == "outlier"
    assert validation.rama_class("GLY", 80, -170) == "favored"
    assert validation.rama_class("PRO", -65, 140) == "favored"
    assert validation.rama_class("PRO", -150, 150) == "outlier"


def test_summary_rmsd_responds_to_noise(aba):
    r = aba.restraints
    s0 = validation.summary(aba.atoms.xyz, r)
    s1 = validation.summary(shaken(aba.atoms.xyz, 0.3, seed=1), r)
    for kind in ("bond", "angle", "chiral", "plane"):
        assert s1[kind]["rmsd"] > s0[kind]["rmsd"]
    assert s0["plane"]["count"] == len(r.plane_atoms)
