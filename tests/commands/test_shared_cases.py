"""Every crystal structure of the shared data through the shipped `<refine`, as deposited
and without options (issue 18): it finishes, says what it decided, inverts no chirality,
and ends with an R-free no higher than the deposited model's after re-phasing.

Exceptions, measured: 1byz's deposited model was refined against all the data (R-free
0.0876 at R-work 0.0856 before any step), so any refinement raises its R-free towards its
true value: allowed up to +0.015 (0.0993 measured). 2uui and 1ehz have no test set: the
macro makes one (said so) and R-free may not rise by more than 0.005 on it.
"""

import io

import pytest

from mainpy.app.refinement import report_figures
from mainpy.session import Session

CASES = {"5e5z": ("xtal/5e5z/5e5z.pdb", "xtal/5e5z/5e5z.mtz", 0.0, "46 anisotropic atoms"),
         "3dcy": ("xtal/3dcy/3dcy.cif", "xtal/3dcy/3dcy.mtz", 0.0, "TLS groups"),
         "2r4r": ("xtal/2r4r/2r4r.pdb", "xtal/2r4r/2r4r.mtz", 0.0, "1, is the test set"),
         "2uui": ("xtal/2uui/2uui.pdb", "xtal/2uui/2uui.mtz", 0.005, "test set made now"),
         "1ehz": ("xtal/1ehz/1ehz.pdb", "xtal/1ehz/1ehz.mtz", 0.005, "test set made now"),
         "1byz": ("xtal/1byz/1byz.pdb", "xtal/1byz/1byz.mtz", 0.015,
                  "622 hydrogens ride on their parents")}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_shipped_refine_on_every_shared_case(name, data, monlib_dir, tmp_path):
    model, mtz, allowed, said = CASES[name]
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    s.run(f"read coor file {data(model)}; read refl file {data(mtz)}")
    s.run("refl free generate missing seed 0; refl phase")
    start = report_figures(s, s.atoms)
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    s.run(f"<refine {data(model)} {data(mtz)} {tmp_path / 'out.pdb'}")
    end = report_figures(s, s.atoms)
    text = s.out.getvalue()
    print(f"{name}: R-work {start['R-work']:.4f} -> {end['R-work']:.4f}, R-free "
          f"{start['R-free']:.4f} -> {end['R-free']:.4f}")
    assert said in text
    assert (tmp_path / "out.pdb").exists()
    assert end["chirals inverted"] == 0
    assert end["R-free"] <= start["R-free"] + allowed
    assert end["R-work"] < start["R-work"]
