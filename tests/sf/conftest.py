"""Cached loading of the test structures for the structure-factor engine (read once per
test session)."""

import functools

import gemmi
import pytest

from mainpy.model.atoms import from_structure
from mainpy.xtal.reflections import read_reflections

CASES = {
    "1aba": ("xtal/1aba/1aba.pdb", "xtal/1aba/1aba.mtz"),
    "1d7m": ("xtal/1d7m/1d7m.pdb", "xtal/1d7m/1d7m.mtz"),
    "1l2h": ("xtal/1l2h/1l2h.cif", "xtal/1l2h/1l2h.mtz"),
    "5e5z": ("xtal/5e5z/5e5z.pdb", "xtal/5e5z/5e5z.mtz"),     # P21, ANISOU
    "1byz": ("xtal/1byz/1byz.pdb", "xtal/1byz/1byz.mtz"),     # P1, 0.90 A, ANISOU
}


@functools.cache
def _load(pdb, mtz):
    st = gemmi.read_structure(pdb)
    return st, from_structure(st), read_reflections(mtz)


@pytest.fixture
def case(data):
    """case('1aba') -> (structure, atoms, reflections); shared: copy before changing."""
    def get(name):
        p, m = CASES[name]
        return _load(str(data(p)), str(data(m)))
    return get
