"""ADP models (issue 17): anisotropic U against isotropic B, mainpy and servalcat on the
same data in one run; TLS groups against isotropic B at medium resolution.

Run: python bench/bench_adp.py [--only 1l2h 1d7m] [--no-servalcat] [--keep DIR]

Per case, from the deposited model, the shipped `<refine` with REF_ADP set to each model
(stage 1, ten steps of isotropic B, then stage 2 with that ADP model to convergence), and
servalcat `refine_xtal_norefmac --hydrogen no --ncycle 10` with `--adp iso` and
`--adp aniso` (1l2h). Every output model is judged by `rfree.py` (gemmi only) against the
same amplitudes, beside each program's own figures; the time per refinement step of
mainpy (its stage-2 steps over its whole time) shows what anisotropic atoms cost.
Cases: 1l2h (1.54 A: iso, aniso; servalcat iso, aniso); 1d7m (2.4 A, two chains: iso,
tls; servalcat iso).
"""

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_refine import CASES, data_root, rfree_py, run_mainpy, run_servalcat  # noqa: E402

PLAN = {"1l2h": (("iso", "aniso"), ("iso", "aniso")),
        "1d7m": (("iso", "tls"), ("iso",))}


def _steps(f) -> int:
    return sum(n for n, _ in f.get("stages", []))


def bench_case(name, workdir, have_sv) -> list:
    c, d = CASES[name], data_root()
    mine, theirs = PLAN[name]
    rows = []
    for adp in mine:
        out = Path(workdir) / f"{name}_mainpy_{adp}.pdb"
        f = run_mainpy(d / c.model, d / c.mtz, out, pre=f"set vari REF_ADP = {adp}",
                       warm=False)
        rows.append(("mainpy", adp, f["seconds"], _steps(f), f["R-work"], f["R-free"],
                     *rfree_py(out, name)))
        _print(name, rows[-1])
    if have_sv:
        for adp in theirs:
            f = run_servalcat(name, d / c.model, workdir, ("--adp", adp),
                              tag=f"servalcat_{adp}")
            rows.append(("servalcat", adp, f["seconds"], 10, f["R-work"], f["R-free"],
                         *rfree_py(f["model"], name)))
            _print(name, rows[-1])
    return rows


def _print(name, r):
    prog, adp, sec, steps, rw, rf, jw, jf = r
    unit = "cycles" if prog == "servalcat" else "steps"
    print(f"{name:5} {prog:9} {adp:6} {sec:7.1f} s {steps:4d} {unit:6} "
          f"{sec / max(steps, 1):6.2f} s/{unit[:-1]:5} own R {rw:.4f}/{rf:.4f}   "
          f"rfree.py R {jw:.4f}/{jf:.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=list(PLAN))
    ap.add_argument("--no-servalcat", action="store_true")
    ap.add_argument("--keep", help="keep the output models in this folder")
    a = ap.parse_args()
    have_sv = importlib.util.find_spec("servalcat") is not None and not a.no_servalcat
    if not have_sv:
        print("servalcat is not installed (pip install servalcat) or --no-servalcat: "
              "its rows are skipped")
    work = a.keep or tempfile.mkdtemp(prefix="bench_adp_")
    Path(work).mkdir(parents=True, exist_ok=True)
    print("case  program   ADP       time      steps   per step        own R-work/R-free"
          "   judged by rfree.py (gemmi)")
    summary = []
    for name in a.only:
        rows = bench_case(name, work, have_sv)
        summary.append((name, {(r[0], r[1]): r for r in rows}))
    for name, by in summary:
        iso, other = by.get(("mainpy", "iso")), [v for (p, adp), v in by.items()
                                                 if p == "mainpy" and adp != "iso"]
        for o in other:
            print(f"{name}: mainpy {o[1]} vs iso: R-free (rfree.py) {o[7]:.4f} vs {iso[7]:.4f} "
                  f"({o[7] - iso[7]:+.4f}); time per step x{(o[2] / max(o[3], 1)) / (iso[2] / max(iso[3], 1)):.2f}")
        sv = by.get(("servalcat", "aniso"))
        ma = by.get(("mainpy", "aniso"))
        if sv and ma:
            print(f"{name}: aniso mainpy vs servalcat: R-free (rfree.py) {ma[7]:.4f} vs "
                  f"{sv[7]:.4f} ({ma[7] - sv[7]:+.4f}, goal <= +0.005); time "
                  f"{ma[2]:.1f} s vs {sv[2]:.1f} s (x{ma[2] / sv[2]:.2f})")


if __name__ == "__main__":
    main()
