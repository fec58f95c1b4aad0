"""The Energy object: per-term switches and scales, counts, report."""

import numpy as np
import pytest

from mainpy.errors import InputError
from mainpy.restraints.energy import TERMS


def test_terms_sum_and_switches(aba):
    en = aba.energy()
    xyz, b = aba.atoms.xyz, aba.atoms.b
    full = en.evaluate(xyz, b)
    assert set(full.terms) == set(TERMS)
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
