"""Bad input gives an InputError that names the file and says what to do."""

import gemmi
import numpy as np
import pytest

from mainpy.errors import InputError
from mainpy.xtal.fmodel import Fmodel, check_compatible
from mainpy.xtal.maps import read_map, write_map
from mainpy.xtal.reflections import read_reflections


def _mtz_with(tmp_path, cols):
    """A small MTZ with H K L and the given (label, type) columns."""
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = gemmi.SpaceGroup("P 21 21 21")
    mtz.set_cell_for_all(gemmi.UnitCell(30, 40, 50, 90, 90, 90))
    mtz.add_dataset("x")
    for lab, typ in cols:
        mtz.add_column(lab, typ)
    hkl = np.array([(1, 2, 3), (2, 2, 2), (3, 1, 4)], float)
    data = np.c_[hkl, np.ones((3, len(cols)))].astype(np.float32)
    mtz.set_data(data)
    path = tmp_path / "bad.mtz"
    mtz.write_to_file(str(path))
    return path


def test_mtz_without_amplitudes_or_intensities(tmp_path):
    path = _mtz_with(tmp_path, [("FreeR_flag", "I"), ("PHIB", "P"), ("FOM", "W")])
    with pytest.raises(InputError) as e:
        read_reflections(path)
    msg = str(e.value)
    assert str(path) in msg and "FreeR_flag (I)" in msg and "PHIB (P)" in msg
    assert "no amplitude" in msg


def test_labels_that_do_not_exist(data):
    path = data("xtal/1aba/1aba.mtz")
    for kw, lab in [({"fobs": "FOBS"}, "FOBS"), ({"free": "R-free-flags"}, "R-free-flags"),
                    ({"fobs": "FP", "sigma": "SIGF"}, "SIGF"), ({"iobs": "IMEAN"}, "IMEAN")]:
        with pytest.raises(InputError) as e:
            read_reflections(path, **kw)
        msg = str(e.value)
        assert str(path) in msg and repr(lab) in msg
        assert "FP (F)" in msg and "SIGFP (Q)" in msg and "FreeR_flag (I)" in msg


def test_missing_and_unreadable_reflection_files(data, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_reflections(tmp_path / "nothing.mtz")
    junk = tmp_path / "junk.mtz"
    junk.write_text("this is not an MTZ file\n" * 20)
    with pytest.raises(InputError, match="junk.mtz"):
        read_reflections(junk)
    cut = tmp_path / "cut.mtz"
    cut.write_bytes(data("xtal/1aba/1aba.mtz").read_bytes()[:5000])
    with pytest.raises(InputError, match="cut.mtz"):
        read_reflections(cut)


def test_truncated_map_file(tmp_path):
    cell = gemmi.UnitCell(20, 30, 40, 90, 90, 90)
    g = gemmi.FloatGrid(np.ones((20, 30, 40), np.float32), cell, gemmi.SpaceGroup("P 1"))
    path = tmp_path / "full.map"
    write_map(path, g)
    cut = tmp_path / "cut.map"
    cut.write_bytes(path.read_bytes()[: 1024 + 20 * 30 * 4 * 7])
    with pytest.raises(InputError) as e:
        read_map(cut)
    assert str(cut) in str(e.value) and "complete" in str(e.value)
    with pytest.raises(InputError, match="does not exist"):
        read_map(tmp_path / "none.map")


def test_model_and_data_in_different_space_groups(case, data):
    c = case("1aba")
    other = read_reflections(data("xtal/1l2h/1l2h.mtz"))
    with pytest.raises(InputError) as e:
        Fmodel(other, c.atoms, model_cell=c.structure.cell,
               model_spacegroup=c.structure.find_spacegroup(), model_source=c.pdb)
    msg = str(e.value)
    assert c.pdb in msg and other.source in msg
    assert "P 21 21 21" in msg and "P 43" in msg
    # same space group, different cell
    cell = gemmi.UnitCell(33.0, 47.8, 61.3, 90, 90, 90)
    with pytest.raises(InputError, match="cell"):
        check_compatible(cell, c.structure.find_spacegroup(), c.refl, "model.pdb")
    # within the tolerance: accepted, the difference returned (0.4 % here) and said
    near = gemmi.UnitCell(30.2 * 1.004, 47.8, 61.3, 90, 90, 90)
    assert check_compatible(near, c.structure.find_spacegroup(), c.refl) == \
        pytest.approx(0.004, rel=1e-6)
    assert check_compatible(c.structure.cell, c.structure.find_spacegroup(), c.refl) == 0


def test_cell_difference_said_on_reading(data, tmp_path):
    import io

    from mainpy.session import Session
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    st.cell = gemmi.UnitCell(30.2, 47.8 * 1.004, 61.3, 90, 90, 90)
    st.write_pdb(str(tmp_path / "near.pdb"))
    s = Session(out=io.StringIO())
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}; read coor file {tmp_path / 'near.pdb'}")
    assert "differs from that of" in s.out.getvalue() and "by up to 0.4 %" in s.out.getvalue()
    assert "rigid-body" not in s.out.getvalue()
    s.out = io.StringIO()
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    assert "differs" not in s.out.getvalue()
    # 1.5 % off: R at the first RE_PHASE is that of another crystal; a rigid-body fit is
    # advised (atoms 60 A from the origin are 0.9 A away from where the data put them)
    st.cell = gemmi.UnitCell(30.2, 47.8 * 1.015, 61.3, 90, 90, 90)
    st.write_pdb(str(tmp_path / "far.pdb"))
    s.out = io.StringIO()
    s.run(f"read coor file {tmp_path / 'far.pdb'}")
    assert "by up to 1.5 %" in s.out.getvalue() and "REFINE BY BODY" in s.out.getvalue()
