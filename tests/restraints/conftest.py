"""Fixtures for the restraint tests: the three real structures with their topology."""

import gemmi
import pytest

from mainpy.model.atoms import from_structure
from mainpy.restraints.monlib import load_monlib

STRUCTURES = {"1aba": "xtal/1aba/1aba.pdb", "1d7m": "xtal/1d7m/1d7m.pdb",
              "1l2h": "xtal/1l2h/1l2h.cif"}


class Case:
    """A structure, its atom arrays, monomer library, and (lazily) restraints/energy."""

    def __init__(self, key, need):
        self.key = key
        self.st = gemmi.read_structure(str(need(STRUCTURES[key])))
        self.atoms = from_structure(self.st)
        self.lib = load_monlib(self.st[0].get_all_residue_names(), need("monomers"))
        self._r = None

    @property
    def restraints(self):
        if self._r is None:
            from mainpy.restraints.topology import build_restraints
            self._r = build_restraints(self.st, self.lib)
        return self._r

    def energy(self):
        """A fresh Energy (terms all on) sharing this case's restraints."""
        from mainpy.restraints.energy import Energy
        return Energy(self.restraints, self.atoms, self.st.cell, self.st.find_spacegroup())

    def gemmi_topology(self):
        """gemmi's own topology of a fresh copy of the structure (hydrogens unchanged)."""
        import io
        st = self.st.clone()
        st.setup_entities()
        topo = gemmi.prepare_topology(st, self.lib.monlib, warnings=io.StringIO(),
                                      ignore_unknown_links=True)
        return st, topo


_cache = {}


def case(key, need):
    if key not in _cache:
        _cache[key] = Case(key, need)
    return _cache[key]


@pytest.fixture
def aba(data):
    return case("1aba", data)


@pytest.fixture(params=sorted(STRUCTURES))
def any_case(request, data):
    return case(request.param, data)


@pytest.fixture
def d7m(data):
    return case("1d7m", data)
