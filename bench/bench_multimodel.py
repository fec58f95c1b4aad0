"""Multi-model refinement (issue 21): R-work and R-free against the number of copies N.

    python bench/bench_multimodel.py [--structures 1aba,1l2h] [--n 1,2,4] [--steps 60]

For each structure and N: the deposited model (first conformers only) made into N copies
(MODELS N, kicked by 0.3 A, seed 1; N = 1 is the single model, not kicked), then the same
refinement for every N: B-values alone (10 steps), then coordinates and B-values (STEPS
steps, RE_PHASE every 10, data weight aiming at bond rmsd 0.01 A), ML target. The table:
R-work, R-free, their gap, R-free minus that of N = 1, the copies' mean rmsf, seconds.
Data from MAINPY_TEST_DATA (default ../shared/data relative to the project root).
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILES = {"1aba": ("xtal/1aba/1aba.pdb", "xtal/1aba/1aba.mtz"),
         "1l2h": ("xtal/1l2h/1l2h.cif", "xtal/1l2h/1l2h.mtz")}


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def run(name: str, n: int, steps: int, seed: int = 1, kick: float = 0.3) -> dict:
    """One refinement of ``name`` with ``n`` copies; R-values and rmsf at the end."""
    from mainpy.app.multimodel import rmsf_per_residue
    from mainpy.session import Session
    pdb, mtz = (data_root() / f for f in FILES[name])
    s = Session(out=io.StringIO())
    t0 = time.perf_counter()
    s.run(f"read coor file {pdb}; read refl file {mtz}; read mono {data_root() / 'monomers'}")
    s.run("define bond angle dihe impr by topo")
    s.run(f"models {n} kick {kick if n > 1 else 0} seed {seed}")
    s.run("ener xray on target ml")
    s.run("refine b-values step 10 phase steps 10 adjust bond 0.01")
    s.run(f"refine position b-values step {steps} phase steps 10 writ 10 adjust bond 0.01")
    s.run("refl phase")
    rows = rmsf_per_residue(s.atoms)
    rmsf = sum(r[4] for r in rows) / len(rows) if rows else 0.0
    return {"r_work": s.variables["R_WORK"], "r_free": s.variables["R_FREE"], "rmsf": rmsf,
            "seconds": time.perf_counter() - t0, "atoms": len(s.atoms)}


def table(results: dict) -> str:
    lines = [f" {'model':<6} {'N':>2} {'atoms':>6} {'R-work':>8} {'R-free':>8} {'gap':>7} "
             f"{'dR-free':>8} {'rmsf A':>7} {'s':>6}"]
    for (name, n), r in results.items():
        base = results.get((name, 1))
        d = f"{r['r_free'] - base['r_free']:+8.4f}" if base else f"{'-':>8}"
        lines.append(f" {name:<6} {n:2d} {r['atoms']:6d} {r['r_work']:8.4f} {r['r_free']:8.4f} "
                     f"{r['r_free'] - r['r_work']:7.4f} {d} {r['rmsf']:7.3f} "
                     f"{r['seconds']:6.0f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--structures", default="1aba,1l2h")
    p.add_argument("--n", default="1,2,4")
    p.add_argument("--steps", type=int, default=60)
    a = p.parse_args(argv)
    results = {}
    for name in a.structures.split(","):
        for n in (int(x) for x in a.n.split(",")):
            results[(name, n)] = run(name, n, a.steps)
            print(table({(name, n): results[(name, n)]}).splitlines()[1], flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
