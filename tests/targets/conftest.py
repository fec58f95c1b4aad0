"""Shared loading for the target tests: structures, reflections, Fmodels (cached)."""

import functools

import gemmi
import pytest

from mainpy.model.atoms import from_structure
from mainpy.xtal.reflections import read_reflections

CASES = {
    "1aba": ("xtal/1aba/1aba.pdb", "xtal/1aba/1aba.mtz"),
    "1d7m": ("xtal/1d7m/1d7m.pdb", "xtal/1d7m/1d7m.mtz"),
    "1l2h": ("xtal/1l2h/1l2h.cif", "xtal/1l2h/1l2h.mtz"),
}


@functools.cache
def _load(pdb, mtz):
    st = gemmi.read_structure(pdb)
    return st, from_structure(st), read_reflections(mtz)


@functools.cache
def _fmodel(pdb, mtz):
    from mainpy.xtal.fmodel import Fmodel
    st, atoms, refl = _load(pdb, mtz)
    return Fmodel(refl, atoms)


@pytest.fixture
def case(data):
    """case('1aba') -> (structure, atoms, reflections); shared: copy before changing."""
    def get(name):
        p, m = CASES[name]
        return _load(str(data(p)), str(data(m)))
    return get


@pytest.fixture
def fmodel(data):
    """fmodel('1aba') -> a scaled Fmodel of the deposited model (shared; do not update)."""
    def get(name):
        p, m = CASES[name]
        return _fmodel(str(data(p)), str(data(m)))
    return get
