"""Every crystal structure of the shared data through the shipped `<refine`, as deposited
and without options (issue 18): it finishes, says what it decided, inverts no chirality,
and ends with an R-free no higher than the deposited model's after re-phasing.

Exceptions, measured: 1byz's deposited model was refined against all the data (R-free
0.0876 at R-work 0.0856 before any step), so any refinement raises its R-free towards its
true value: allowed up to +0.015 (0.0993 measured). 2uui and 1ehz have no test set: the
macro makes one (said so) and R-free may not rise by more than 0.005 on it.

Where servalcat runs on the deposited test set and mainpy is not far ahead of it, the
refined model is also judged by the independent ruler ../shared/tools/rfree.py (gemmi
only, MAINPY_TOOLS) against servalcat's R-free by the same ruler + 0.005 (issue 18).
"""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mainpy.app.refinement import report_figures
from mainpy.session import Session
from tests.conftest import tools_dir

CASES = {"5e5z": ("xtal/5e5z/5e5z.pdb", "xtal/5e5z/5e5z.mtz", 0.0, "46 anisotropic atoms"),
         "3dcy": ("xtal/3dcy/3dcy.cif", "xtal/3dcy/3dcy.mtz", 0.0, "TLS groups"),
         "2r4r": ("xtal/2r4r/2r4r.pdb", "xtal/2r4r/2r4r.mtz", 0.0, "1, is the test set"),
         "2uui": ("xtal/2uui/2uui.pdb", "xtal/2uui/2uui.mtz", 0.005, "test set made now"),
         "1ehz": ("xtal/1ehz/1ehz.pdb", "xtal/1ehz/1ehz.mtz", 0.005, "test set made now"),
         "1byz": ("xtal/1byz/1byz.pdb", "xtal/1byz/1byz.mtz", 0.015,
                  "622 hydrogens ride on their parents")}

#: servalcat's R-free by rfree.py on the deposited test set, and that ruler's arguments:
#: `python bench/bench_refine.py --judge --extra` (servalcat refine_xtal_norefmac
#: --ncycle 10). 2r4r ended at 0.2694 with the 1-2/1-3 B restraint, 0.2620 with
#: servalcat's (mainpy.restraints.adp_similarity)
SERVALCAT_RFREE = {"2r4r": (0.2620, ("FOBS", "SIGFOBS", "R-free-flags", "1"))}


def rfree_by_ruler(model: Path, mtz: Path, labels) -> float | None:
    """R-free of a model by ../shared/tools/rfree.py, None when the ruler is missing
    (a failure under MAINPY_REQUIRE_DATA=1)."""
    tool = tools_dir() / "rfree.py"
    if not tool.exists():
        if os.environ.get("MAINPY_REQUIRE_DATA") == "1":
            pytest.fail(f"the ruler {tool} is missing (set MAINPY_TOOLS)")
        return None
    p = subprocess.run([sys.executable, str(tool), str(model), str(mtz), *labels],
                       capture_output=True, text=True, check=True)
    line = next(x for x in p.stdout.splitlines() if x.startswith("R_work="))
    return float(line.split("R_free=")[1])


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
    if name in SERVALCAT_RFREE:
        theirs, labels = SERVALCAT_RFREE[name]
        ours = rfree_by_ruler(tmp_path / "out.pdb", data(mtz), labels)
        if ours is None:
            pytest.skip("R-free against servalcat's not judged: ../shared/tools/rfree.py "
                        "not found (set MAINPY_TOOLS)")
        print(f"{name}: R-free by rfree.py {ours:.4f}, servalcat's {theirs:.4f}")
        assert ours <= theirs + 0.005
