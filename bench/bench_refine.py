"""The shipped refinement (`<refine`, macros/refine.cmds) on 1aba, 1d7m and 1l2h, timed
against servalcat `refine_xtal_norefmac --hydrogen no --ncycle 10` in the same run.

Run: python bench/bench_refine.py [--only 1d7m] [--no-servalcat]
(data from MAINPY_TEST_DATA, default ../shared/data relative to the project root).
Prints wall time, R-work, R-free, rmsd bonds for each program and the time ratio. Both
programs run in a fresh process each, timed from the process's start; mainpy's time in
a running session (the same refinement again in that process: imports and numba's cache
already loaded, as at MAIN's prompt) is printed beside it.
Goal: the same R-free (at most 0.005 above servalcat's) in a quarter of servalcat's time.

servalcat runs in a subprocess (`python -m servalcat` of this Python) if it
is installed; for 1l2h it gets the French-Wilson amplitudes (1l2h_fw.mtz) while mainpy
reads the measured intensities (1l2h.mtz). Its figures are read from its last cycle.
"""

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = {"1aba": ("xtal/1aba/1aba.pdb", "xtal/1aba/1aba.mtz", "xtal/1aba/1aba.mtz"),
         "1d7m": ("xtal/1d7m/1d7m.pdb", "xtal/1d7m/1d7m.mtz", "xtal/1d7m/1d7m.mtz"),
         "1l2h": ("xtal/1l2h/1l2h.cif", "xtal/1l2h/1l2h.mtz", "xtal/1l2h/1l2h_fw.mtz")}


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


_MAINPY_RUN = """
import io, json, sys, time
from mainpy.app.refinement import report_figures
from mainpy.session import Session
mono, model, mtz, out = sys.argv[1:5]
for run in ("cold", "warm"):
    t = time.perf_counter()
    s = Session(out=io.StringIO())
    s.run(f"read mono {mono}")
    s.run(f"<refine {model} {mtz} {out}")
    seconds = time.perf_counter() - t
    if run == "cold":
        f = report_figures(s, s.atoms)
print(json.dumps(dict(f, warm=seconds)))
"""


def run_mainpy(name, workdir):
    """`<refine` in a fresh Python process, timed from the process's start like servalcat
    (interpreter, imports, numba's cache and the first RE_PHASE included); the same
    refinement run again in that process (a running session) is timed too."""
    import json
    d = data_root()
    model, mtz, _ = CASES[name]
    cmd = [sys.executable, "-c", _MAINPY_RUN, str(d / "monomers"), str(d / model), str(d / mtz),
           str(Path(workdir) / (name + "_mainpy.pdb"))]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"mainpy failed on {name}:\n{p.stderr[-2000:]}")
    f = json.loads(p.stdout.strip().splitlines()[-1])
    seconds -= f["warm"]                   # the process without its second run
    return seconds, f["R-work"], f["R-free"], f["rmsd bonds"], f["warm"]


def run_servalcat(name, workdir):
    d = data_root()
    model, _, mtz = CASES[name]
    out = Path(workdir) / f"{name}_servalcat"
    cmd = [sys.executable, "-m", "servalcat", "refine_xtal_norefmac",
           "--model", str(d / model), "--hklin", str(d / mtz), "--hydrogen", "no",
           "--ncycle", "10", "--monlib", str(d / "monomers"), "-s", "xray", "-o", str(out)]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, check=False)
    seconds = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"servalcat failed on {name}:\n{p.stderr[-2000:]}")
    rows = re.findall(r"^\s+10\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+(\S+)", p.stdout,
                      re.MULTILINE)
    if not rows:
        raise RuntimeError(f"no cycle-10 line in servalcat's output for {name}")
    _, _, rw, rf, bond = rows[-1]
    return seconds, float(rw), float(rf), float(bond)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(CASES), action="append")
    ap.add_argument("--no-servalcat", action="store_true")
    a = ap.parse_args()
    have_sv = importlib.util.find_spec("servalcat") is not None and not a.no_servalcat
    if not have_sv:
        print("servalcat is not installed (pip install servalcat) or --no-servalcat: "
              "mainpy only")
    print(f"{'case':6} {'program':10} {'time s':>7} {'R-work':>7} {'R-free':>7} "
          f"{'bonds':>7}")
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.only or CASES:
            m = run_mainpy(name, tmp)
            print(f"{name:6} {'mainpy':10} {m[0]:7.1f} {m[1]:7.4f} {m[2]:7.4f} {m[3]:7.4f}"
                  f"   (in a running session: {m[4]:.1f} s)", flush=True)
            if have_sv:
                sv = run_servalcat(name, tmp)
                print(f"{name:6} {'servalcat':10} {sv[0]:7.1f} {sv[1]:7.4f} {sv[2]:7.4f} "
                      f"{sv[3]:7.4f}", flush=True)
                summary.append((name, m, sv))
    for name, m, sv in summary:
        ok = m[2] <= sv[2] + 0.005
        print(f"{name}: time mainpy/servalcat {m[0] / sv[0]:.2f} (goal <= 0.25; in a running "
              f"session {m[4] / sv[0]:.2f}), R-free "
              f"{m[2]:.4f} vs {sv[2]:.4f} ({m[2] - sv[2]:+.4f}, goal <= +0.005: "
              f"{'met' if ok else 'NOT met'})")


if __name__ == "__main__":
    main()
