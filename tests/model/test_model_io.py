"""Reading and writing coordinates: PDB and mmCIF, selections, atomic writes."""

import io
import os

import gemmi
import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.fileio import atomic_write
from mainpy.session import Session


def session(path):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {path}")
    return s


@pytest.mark.parametrize("rel", ["xtal/1aba/1aba.pdb", "xtal/1l2h/1l2h.cif"])
def test_read_matches_gemmi(data, rel):
    s = session(data(rel))
    st = gemmi.read_structure(str(data(rel)))
    ref = np.array([a.pos.tolist() for ch in st[0] for r in ch for a in r])
    assert len(s.atoms) == st[0].count_atom_sites()
    assert np.allclose(s.atoms.xyz, ref)
    assert s.model.spacegroup.xhm() == st.find_spacegroup().xhm()


@pytest.mark.parametrize("fmt", ["pdb", "cif"])
def test_write_read_round_trip(data, tmp_path, fmt):
    s = session(data("xtal/1aba/1aba.pdb"))
    s.run("set coor kick 0.3 seed 2; set temp sele resi name HOH end = 33.5")
    out = tmp_path / f"out.{fmt}"
    s.run(f"write coor file {out}")
    t = session(out)
    assert len(t.atoms) == len(s.atoms)
    assert np.abs(t.atoms.xyz - s.atoms.xyz).max() < 1e-3 + 1e-9   # PDB keeps 3 decimals
    assert np.allclose(t.atoms.b, s.atoms.b, atol=0.006)
    assert (t.atoms.name == s.atoms.name).all() and (t.atoms.altloc == s.atoms.altloc).all()
    assert t.model.cell.parameters == pytest.approx(s.model.cell.parameters)


def test_explicit_format_overrides_extension(data, tmp_path):
    s = session(data("xtal/1aba/1aba.pdb"))
    out = tmp_path / "model.txt"
    s.run(f"write coor file {out} cif")
    assert out.read_text().startswith("data_")
    t = Session(out=io.StringIO())
    t.run(f"read coor file {out} cif")
    assert len(t.atoms) == len(s.atoms)


def test_write_a_selection(data, tmp_path):
    s = session(data("xtal/1d7m/1d7m.pdb"))
    out = tmp_path / "b.pdb"
    s.run(f"write coor file {out} sele segm name B .and. .not. resi name HOH end")
    st = gemmi.read_structure(str(out))
    n = int(((s.atoms.chain == "B") & (s.atoms.resname != "HOH")).sum())
    assert st[0].count_atom_sites() == n and [ch.name for ch in st[0]] == ["B"]


def test_atomic_write_leaves_old_file_whole_on_failure(tmp_path):
    target = tmp_path / "x.pdb"
    target.write_text("OLD\n")

    def failing(tmp):
        with open(tmp, "w") as f:
            f.write("half a fi")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(str(target), failing)
    assert target.read_text() == "OLD\n"
    assert os.listdir(tmp_path) == ["x.pdb"]     # no temporary file left behind


def test_append_adds_chains(data):
    s = session(data("xtal/1aba/1aba.pdb"))
    n = len(s.atoms)
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')} append")
    assert len(s.atoms) == 2 * n
    assert len(set(s.atoms.chain.tolist())) == 2


def test_bad_files_are_clear_errors(tmp_path):
    s = Session(out=io.StringIO())
    bad = tmp_path / "junk.pdb"
    bad.write_text("this is not a structure\n")
    with pytest.raises(LangError) as e:
        s.run(f"read coor file {bad}")
    assert "junk.pdb" in e.value.message
    with pytest.raises(LangError) as e:
        s.run(f"read coor file {tmp_path / 'missing.pdb'}")
    assert "missing.pdb" in e.value.message
    assert s.model is None
    with pytest.raises(LangError) as e:
        s.run("show crystal")
    assert "read coor" in e.value.message
