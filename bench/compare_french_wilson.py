"""French-Wilson amplitudes: mainpy against cctbx on 1l2h (IMEAN/SIGIMEAN).

cctbx's `miller_array.french_wilson()` runs in a subprocess (cctbx must not share a
process with gemmi, which mainpy imports). Prints the median relative differences of F
and SIGF on the reflections both keep; the goal is < 1% median. Exits 0 with a message
when cctbx is not installed.

Run: python bench/compare_french_wilson.py   (data from MAINPY_TEST_DATA, default
../shared/data relative to the project root).
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

CCTBX_SCRIPT = r"""
import io
import sys
import numpy as np
import iotbx.mtz
from cctbx.array_family import flex  # noqa: F401
arrays = iotbx.mtz.object(sys.argv[1]).as_miller_arrays()
obs = [a for a in arrays if a.info().labels[:1] == ["IMEAN"]][0]
obs = obs.map_to_asu()
fw = obs.french_wilson(log=io.StringIO())
hkl = np.array(list(fw.indices()), dtype=np.int32)
np.savez(sys.argv[2], hkl=hkl, f=np.array(fw.data()), sigf=np.array(fw.sigmas()),
         n_in=obs.size())
"""


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def run_cctbx(mtz: Path, out: Path) -> bool:
    try:
        r = subprocess.run([sys.executable, "-c", "import cctbx.french_wilson, iotbx.mtz"],
                           capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        return False
    if r.returncode != 0:
        return False
    r = subprocess.run([sys.executable, "-c", CCTBX_SCRIPT, str(mtz), str(out)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"cctbx French-Wilson failed:\n{r.stderr}")
    return True


def main():
    mtz = data_root() / "xtal/1l2h/1l2h.mtz"
    if not mtz.exists():
        sys.exit(f"test data not found under {data_root()} (set MAINPY_TEST_DATA)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fw.npz"
        if not run_cctbx(mtz, out):
            print("cctbx is not importable: no French-Wilson comparison")
            return 0
        ref = dict(np.load(out))

    sys.path.insert(0, str(ROOT))
    from mainpy.xtal.reflections import read_reflections
    mine = read_reflections(mtz)          # IMEAN/SIGIMEAN -> French-Wilson
    where = {tuple(h): i for i, h in enumerate(mine.hkl.tolist())}
    idx = np.array([where.get(tuple(h), -1) for h in ref["hkl"].tolist()])
    ok = idx >= 0
    ok[ok] &= mine.observed[idx[ok]]
    f_ref, s_ref = ref["f"][ok], ref["sigf"][ok]
    f_me, s_me = mine.fobs[idx[ok]], mine.sigf[idx[ok]]
    i_me = mine.iobs[idx[ok]]
    f_rel = np.abs(f_me - f_ref) / f_ref
    s_rel = np.abs(s_me - s_ref) / s_ref
    neg = i_me < 0
    print(f"1l2h: {int(ref['n_in'])} intensities in; cctbx keeps {len(ref['f'])}, "
          f"mainpy {int(mine.observed.sum())}; {int(ok.sum())} in common "
          f"({int(neg.sum())} with I < 0)")
    print(f"median relative difference   F {np.median(f_rel):.4%}   SIGF {np.median(s_rel):.4%}")
    print(f"90th percentile              F {np.percentile(f_rel, 90):.4%}   "
          f"SIGF {np.percentile(s_rel, 90):.4%}")
    if neg.any():
        print(f"I < 0 only, median           F {np.median(f_rel[neg]):.4%}   "
              f"SIGF {np.median(s_rel[neg]):.4%}")
    good = np.median(f_rel) < 0.01 and np.median(s_rel) < 0.01
    print("goal (median < 1% for F and SIGF):", "met" if good else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
