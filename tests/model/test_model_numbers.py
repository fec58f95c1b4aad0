"""A number field that is not a number stops the read at its place (gemmi reads it as 0)."""

import gemmi
import pytest

from mainpy.errors import InputError
from mainpy.model.model import load


def _corrupt(src, dst, first, last, text):
    lines = src.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("ATOM"))
    line = lines[i]
    lines[i] = line[:first - 1] + text.rjust(last - first + 1) + line[last:]
    dst.write_text("\n".join(lines) + "\n")
    return i + 1


@pytest.mark.parametrize("what, first, last", [("x coordinate", 31, 38),
                                               ("z coordinate", 47, 54),
                                               ("B-factor", 61, 66)])
def test_pdb_field_not_a_number(data, tmp_path, what, first, last):
    bad = tmp_path / "bad.pdb"
    lineno = _corrupt(data("xtal/1aba/1aba.pdb"), bad, first, last, "abc")
    with pytest.raises(InputError) as e:
        load(str(bad))
    msg = str(e.value)
    assert f"bad.pdb:{lineno}:{first}: the {what} 'abc' is not a number" in msg
    assert msg.splitlines()[-1].strip() == "^" * (last - first + 1)


def test_mmcif_value_not_a_number(data, tmp_path):
    doc = gemmi.cif.read(str(data("xtal/3dcy/3dcy.cif")))
    col = doc.sole_block().find_values("_atom_site.Cartn_y")
    col[3] = "abcdef"
    doc.write_file(str(tmp_path / "bad.cif"))
    with pytest.raises(InputError, match="not a number"):
        load(str(tmp_path / "bad.cif"))


def test_blank_occupancy_and_b_are_accepted(data, tmp_path):
    ok = tmp_path / "blank.pdb"
    _corrupt(data("xtal/1aba/1aba.pdb"), ok, 55, 66, "")
    assert len(load(str(ok)).atoms) > 0
