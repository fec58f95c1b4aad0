"""How long does `mainpy -c quit` take, against a bare `python -c pass`, in the same run?

Each command runs N times (after one warm-up run); best and median wall-clock times are
printed, and the difference. Goal: `mainpy -c quit` within 0.5 s of `python -c pass`.

Then `python -X importtime -m mainpy -c quit` lists what was imported: the heavy science
(numpy, numba, vispy, scipy) and the prompt (prompt_toolkit) must not be imported for
`-c quit`; the slowest imports are listed.

    python bench/bench_startup.py [--runs 15]

Exit status 1 if a heavy module was imported (or, with --strict, if the goal is missed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.5
HEAVY = ("numpy", "numba", "vispy", "scipy", "prompt_toolkit")
#: not forbidden, but worth seeing if they show up
WATCH = ("gemmi", "lark", "llvmlite", "PySide6", "matplotlib")


def timed(cmd: list[str], runs: int, env: dict) -> tuple[float, float]:
    def once() -> float:
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr.decode()}")
        return dt

    once()                                        # warm-up: disk cache, .pyc files
    times = [once() for _ in range(runs)]
    return min(times), statistics.median(times)


def console_script() -> str | None:
    """The `mainpy` console script: on PATH, or next to this Python (an unactivated venv)."""
    found = shutil.which("mainpy")
    if found:
        return found
    here = Path(sys.executable).parent / ("mainpy.exe" if os.name == "nt" else "mainpy")
    return str(here) if here.is_file() else None


def import_tree(env: dict) -> list[tuple[int, str, int, int]]:
    """(depth, module, self us, cumulative us) for each import of `mainpy -c quit`."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "mainpy", "-c", "quit"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:"):].split("|")
        try:
            self_us, cum_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue                               # the header line
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((depth, name.strip(), self_us, cum_us))
    return rows


def chain(rows, i) -> list[str]:
    """Who imported rows[i]: the enclosing imports (importtime prints children first)."""
    depth = rows[i][0]
    out = [rows[i][1]]
    for d, name, _, _ in rows[i + 1:]:
        if d < depth:
            out.append(name)
            depth = d
    return out[::-1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if the time goal is missed")
    args = ap.parse_args(argv)
    env = dict(os.environ, MAINPY_HISTORY=os.devnull)

    commands = [("python -c pass", [sys.executable, "-c", "pass"]),
                ("python -m mainpy -c quit", [sys.executable, "-m", "mainpy", "-c", "quit"])]
    script = console_script()
    if script:
        commands.append(("mainpy -c quit (console script)", [script, "-c", "quit"]))
    else:
        print("(no `mainpy` console script found on PATH or next to this Python)")

    print(f"{args.runs} runs each (after a warm-up run), wall clock:")
    results = {}
    for label, cmd in commands:
        best, med = timed(cmd, args.runs, env)
        results[label] = (best, med)
        print(f"  {label:<34} best {best * 1e3:7.1f} ms   median {med * 1e3:7.1f} ms")
    base_best, base_med = results["python -c pass"]
    ok = True
    print()
    for label, (best, med) in results.items():
        if label == "python -c pass":
            continue
        extra = med - base_med
        verdict = "met" if extra < GOAL_S else "NOT MET"
        ok &= extra < GOAL_S
        print(f"  {label:<34} {(best - base_best) * 1e3:+7.1f} ms (best)  "
              f"{extra * 1e3:+7.1f} ms (median) over python -c pass; "
              f"goal < {GOAL_S * 1e3:.0f} ms: {verdict}")

    rows = import_tree(env)
    print()
    if not rows:
        print("could not read `python -X importtime` output")
        return 1
    top = {name.split(".")[0] for _, name, _, _ in rows}
    heavy = [h for h in HEAVY if h in top]
    if heavy:
        print("HEAVY MODULES IMPORTED by `mainpy -c quit`: " + ", ".join(heavy))
        for h in heavy:
            i = next(i for i, r in enumerate(rows) if r[1].split(".")[0] == h)
            path = chain(rows, i)
            path = path[:next(k for k, m in enumerate(path) if m.split(".")[0] == h) + 1]
            print(f"  {h}: imported via " + " -> ".join(path))
    else:
        print("no heavy modules imported by `mainpy -c quit` "
              f"({', '.join(HEAVY)}: none imported) -- as required")
    seen = [w for w in WATCH if w in top]
    if seen:
        print("also imported: " + ", ".join(seen))
    total = sum(s for _, _, s, _ in rows)
    print(f"{len(rows)} modules imported, {total / 1e3:.0f} ms of import time in all; "
          "slowest top-level imports (cumulative):")
    roots = sorted((r for r in rows if r[0] == 0), key=lambda r: -r[3])[:8]
    for _, name, _, cum in roots:
        print(f"  {cum / 1e3:7.1f} ms  {name}")
    if heavy:
        return 1
    if args.strict and not ok:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
