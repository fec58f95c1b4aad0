"""The Energy object: per-term switches and scales, counts, report."""

import numpy as np
import pytest

from mainpy.errors import InputError
from mainpy.restraints.energy import ANISO_TERMS, TERMS


def test_terms_sum_and_switches(aba):
    en = aba.energy()
    xyz, b = aba.atoms.xyz, aba.atoms.b
    full = en.evaluate(xyz, b)
    assert set(full.terms) == set(TERMS) - set(ANISO_TERMS) - {"ncs"}   # no ANISOU, no copies
    assert full.total == pytest.approx(sum(full.terms.values()), rel=1e-12)
    parts = [en.evaluate(xyz, b, terms=[t]) for t in TERMS]
    assert np.allclose(sum(p.grad for p in parts), full.grad, rtol=1e-10, atol=1e-8)
    en.set_term("nonbonded", on=False)
    en.set_term("angle", scale=0.5)
    part = en.evaluate(xyz, b)
    assert "nonbonded" not in part.terms
    assert part.terms["angle"] == pytest.approx(0.5 * full.terms["angle"], rel=1e-12)
    expect = full.grad - parts[TERMS.index("nonbonded")].grad \
        - 0.5 * parts[TERMS.index("angle")].grad
    assert np.allclose(part.grad, expect, rtol=1e-10, atol=1e-8)
    rows = en.report(xyz, b)
    angle = next(row for row in rows if row["term"] == "angle")
    assert angle["scale"] == 0.5 and angle["count"] == len(en.r.angle_idx)
    assert next(row for row in rows if row["term"] == "nonbonded")["on"] is False
    with pytest.raises(InputError, match="unknown energy term"):
        en.set_term("bonds", on=True)
    with pytest.raises(InputError, match=">= 0"):
        en.set_term("bond", scale=-1)


def test_counts_match_gemmi(aba):
    _, topo = aba.gemmi_topology()
    c = aba.energy().counts()
    assert c["bond"] == sum(1 for b in topo.bonds if b.restr.esd > 0)
    assert c["angle"] == sum(1 for a in topo.angles if a.restr.esd > 0)
    assert c["chiral"] == len(topo.chirs)
    assert c["plane"] == len(topo.planes)


def test_size_mismatch_is_input_error(aba):
    from mainpy.model.atoms import from_structure
    from mainpy.restraints.energy import Energy
    st = aba.st.clone()
    del st[0][0][0]
    with pytest.raises(InputError, match="rebuild the topology"):
        Energy(aba.restraints, from_structure(st))


def _mixed_aniso(atoms, seed=3):
    """U rows for the main-chain atoms (anisotropic around their B), zero elsewhere."""
    rng = np.random.default_rng(seed)
    mc = np.isin(atoms.name, ["N", "CA", "C", "O"])
    u = np.zeros((len(atoms), 6))
    uiso = atoms.b[mc] / (8 * np.pi ** 2)
    u[mc, :3] = uiso[:, None] * rng.uniform(0.6, 1.4, (mc.sum(), 3))
    u[mc, 3:] = uiso[:, None] * rng.uniform(-0.2, 0.2, (mc.sum(), 3))
    return u, mc


def test_anisotropic_terms_and_their_gradients(aba):
    """Mixed model: the ADP terms of anisotropic atoms, each gradient (xyz, B, U) against
    central differences of the total energy."""
    en = aba.energy()
    xyz, b = aba.atoms.xyz.copy(), aba.atoms.b.copy()
    u, mc = _mixed_aniso(aba.atoms)
    res = en.evaluate(xyz, b, aniso=u)
    assert set(res.terms) == set(TERMS) - {"ncs"}      # 1aba: no copies
    assert res.counts["sphericity"] == mc.sum() and res.counts["rigidbond"] > mc.sum() / 2
    assert res.total == pytest.approx(sum(res.terms.values()), rel=1e-12)
    adp_only = ["adp", "rigidbond", "sphericity"]
    rng = np.random.default_rng(0)

    def energy(x, bb, uu):
        return en.evaluate(x, bb, terms=adp_only, aniso=uu).total

    base = en.evaluate(xyz, b, terms=adp_only, aniso=u)
    for i in rng.choice(np.flatnonzero(mc), 6, replace=False):
        for c in range(6):
            h = 1e-6
            up, um = u.copy(), u.copy()
            up[i, c] += h
            um[i, c] -= h
            fd = (energy(xyz, b, up) - energy(xyz, b, um)) / (2 * h)
            assert base.grad_aniso[i, c] == pytest.approx(fd, rel=1e-4, abs=1e-6)
        for c in range(3):
            h = 1e-6
            xp, xm = xyz.copy(), xyz.copy()
            xp[i, c] += h
            xm[i, c] -= h
            fd = (energy(xp, b, u) - energy(xm, b, u)) / (2 * h)
            assert base.grad[i, c] == pytest.approx(fd, rel=1e-4, abs=1e-6)
    iso_next = np.flatnonzero(~mc & np.isin(aba.atoms.name, ["CB"]))[:4]
    for i in iso_next:            # isotropic atoms bonded to anisotropic ones
        h = 1e-5
        bp, bm = b.copy(), b.copy()
        bp[i] += h
        bm[i] -= h
        fd = (energy(xyz, bp, u) - energy(xyz, bm, u)) / (2 * h)
        assert base.grad_b[i] == pytest.approx(fd, rel=1e-4, abs=1e-8)


def test_isotropic_u_restrained_as_its_b(aba):
    """An anisotropic atom whose U is B/(8 pi^2) I is held by the adp term as the
    isotropic atom of that B: the same energy."""
    en = aba.energy()
    a = aba.atoms
    u = np.zeros((len(a), 6))
    mc = np.isin(a.name, ["N", "CA", "C", "O"])
    u[mc, :3] = (a.b[mc] / (8 * np.pi ** 2))[:, None]
    iso = en.evaluate(a.xyz, a.b, terms=["adp"]).terms["adp"]
    ani = en.evaluate(a.xyz, a.b, terms=["adp"], aniso=u).terms["adp"]
    assert ani == pytest.approx(iso, rel=1e-10)
