"""Cached loading of the three test structures (read once per test session)."""

import functools
from dataclasses import dataclass

import gemmi
import pytest

from mainpy.model.atoms import from_structure
from mainpy.xtal.reflections import read_reflections

CASES = {
    "1aba": ("xtal/1aba/1aba.pdb", "xtal/1aba/1aba.mtz"),
    "1d7m": ("xtal/1d7m/1d7m.pdb", "xtal/1d7m/1d7m.mtz"),
    "1l2h": ("xtal/1l2h/1l2h.cif", "xtal/1l2h/1l2h.mtz"),
}


@dataclass
class Case:
    name: str
    pdb: str
    mtz: str
    structure: gemmi.Structure
    atoms: object
    refl: object


@functools.lru_cache(maxsize=None)
def _load(name, pdb, mtz):
    st = gemmi.read_structure(pdb)
    return Case(name, pdb, mtz, st, from_structure(st), read_reflections(mtz))


@functools.lru_cache(maxsize=None)
def _fmodel(name, pdb, mtz):
    from mainpy.xtal.fmodel import Fmodel
    c = _load(name, pdb, mtz)
    return Fmodel(c.refl, c.atoms, model_cell=c.structure.cell,
                  model_spacegroup=c.structure.find_spacegroup(), model_source=pdb)


@pytest.fixture
def case(data):
    """case('1aba') -> Case with the structure, its atom arrays and its reflections.
    Shared between tests: copy before changing anything."""
    def get(name):
        p, m = CASES[name]
        return _load(name, str(data(p)), str(data(m)))
    return get


@pytest.fixture
def fmodel(data):
    """fmodel('1aba') -> a scaled Fmodel of the deposited model (shared; do not update)."""
    def get(name):
        p, m = CASES[name]
        return _fmodel(name, str(data(p)), str(data(m)))
    return get
