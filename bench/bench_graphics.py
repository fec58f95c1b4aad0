"""The graphics window during a minimization of 1d7m, and contouring a 20 A box.

Run: python bench/bench_graphics.py [--steps 200] [--hidden]
(data from MAINPY_TEST_DATA, default ../shared/data relative to the project root).

Window: opened with `image on` (needs a display and `pip install 'mainpy[gui]'`; run
under `xvfb-run` on a machine without one); with --hidden, or when no window can be
opened, the same code runs on a hidden canvas (EGL/OSMesa) and the numbers say so.
Reports frames per second while the model moves (`minimize ... writ 1`: a new frame every
step), the longest time the window went without answering its events (goal: no stall
longer than 0.2 s), and the time to contour a 20 A box of a 2mFo-DFc map (goal: under
50 ms), with the 1d7m map shown during the run.
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mainpy.graphics.backend import GraphicsUnavailable
from mainpy.graphics.contour import contour_box
from mainpy.graphics.control import graphics
from mainpy.session import Session

STALL_GOAL = 0.2
CONTOUR_GOAL = 0.050


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--hidden", action="store_true", help="a hidden canvas, no window")
    opt = ap.parse_args()
    pdb = data_root() / "xtal/1d7m/1d7m.pdb"
    mtz = data_root() / "xtal/1d7m/1d7m.mtz"
    if not pdb.exists():
        sys.exit(f"test data not found under {data_root()} (set MAINPY_TEST_DATA)")
    s = Session(out=io.StringIO())
    s.run(f"read coor file {pdb}")
    s.run(f"read refl file {mtz}")
    s.run("make map 1 2mfodfc")
    grid = s.maps[1]
    n_atoms = len(s.atoms)
    print(f"1d7m: {n_atoms} atoms, map grid {grid.nu}x{grid.nv}x{grid.nw} "
          f"({grid.unit_cell.a / grid.nu:.2f} A along a)")

    # ---- contouring a 20 A box
    rng = np.random.default_rng(1)
    centres = s.atoms.xyz[rng.choice(n_atoms, 30)]
    contour_box(grid, centres[0], 1.0)            # compile / cache statistics
    times, nseg = [], []
    for c in centres:
        t = time.perf_counter()
        _, segs = contour_box(grid, c, 1.0)
        times.append(time.perf_counter() - t)
        nseg.append(len(segs))
    times = np.array(times)
    print(f"contour 20 A box at 1 sigma: median {1e3 * np.median(times):.1f} ms, "
          f"max {1e3 * times.max():.1f} ms, {int(np.median(nseg))} segments "
          f"(goal < {1e3 * CONTOUR_GOAL:.0f} ms: "
          f"{'met' if np.median(times) < CONTOUR_GOAL else 'NOT met'})")

    # ---- the window during a minimization
    s.run("define bond angle by topo")
    s.run("set coor kick 0.3 seed 1")
    start = s.model.atoms
    # reference: the same minimization without graphics
    ref_times = []
    hook = lambda *a: ref_times.append(time.perf_counter())
    s.step_hooks.append(hook)
    t = time.perf_counter()
    s.run(f"minimize step {opt.steps} writ 1")
    ref_total = time.perf_counter() - t
    s.step_hooks.remove(hook)
    ref = np.diff(ref_times)
    print(f"no graphics: {opt.steps} steps in {ref_total:.2f} s; per step median "
          f"{1e3 * np.median(ref):.1f} ms, 95% {1e3 * np.percentile(ref, 95):.0f} ms, "
          f"max {1e3 * ref.max():.0f} ms")
    s.model.atoms = start
    s.run("image map 1 level 1.0 center sele resi numb 20 end")
    g = graphics(s)
    kind = "window"
    try:
        if opt.hidden:
            raise GraphicsUnavailable("--hidden")
        s.run("image on")
    except Exception as e:  # noqa: BLE001 - fall back to the hidden canvas
        from mainpy.graphics.backend import offscreen_application
        print(f"no window ({str(e).splitlines()[0][:120]}): a hidden canvas instead")
        g.open(app=offscreen_application(), show=False)
        kind = "hidden canvas"
    w = g.window
    pumps, frames, paint = [], [], []
    real_pump, real_update = w.process_events, w.update_xyz

    def pump():
        t = time.perf_counter()
        real_pump()
        pumps.append(time.perf_counter())
        paint.append(pumps[-1] - t)

    def update(xyz):
        t = time.perf_counter()
        real_update(xyz)
        frames.append((t, time.perf_counter() - t))

    w.process_events, w.update_xyz = pump, update
    step_times = []
    s.step_hooks.insert(0, lambda *a: step_times.append(time.perf_counter()))
    t0 = time.perf_counter()
    s.run(f"minimize step {opt.steps} writ 1")
    total = time.perf_counter() - t0
    # the cost of drawing: render the scene a few times
    render = []
    for _ in range(5):
        t = time.perf_counter()
        w.canvas.render()
        render.append(time.perf_counter() - t)
    s.run("image off")
    # stalls while the model moves: between the window's event handling of the first
    # and of the last step (the report printed after the run is not part of it)
    last_step = step_times[-1] if step_times else t0
    p = np.array([x for x in pumps if x <= last_step + 1.0])[:len(step_times)]
    print("  slowest event handling at steps", np.argsort(paint[:len(step_times)])[-4:] + 1,
          np.round(np.sort(paint[:len(step_times)])[-4:], 3))
    gaps = np.diff(p) if len(p) > 1 else np.array([0.0])
    steps = np.diff(np.array(step_times)) if len(step_times) > 1 else np.array([0.0])
    upd = np.array([f[1] for f in frames]) if frames else np.array([0.0])
    fps = len(frames) / total
    print(f"{kind} ({w.app.backend_name}), {opt.steps} steps in {total:.2f} s, "
          f"{len(frames)} frames: {fps:.1f} frames/s")
    print(f"  per step: median {1e3 * np.median(steps):.1f} ms, max {1e3 * steps.max():.1f} ms; "
          f"new coordinates to the GPU: median {1e3 * np.median(upd):.2f} ms; "
          f"event handling + drawing per step: median {1e3 * np.median(paint):.1f} ms, "
          f"max {1e3 * max(paint):.1f} ms; render to an image {1e3 * min(render):.1f} ms")
    print(f"  time between event handling, step to step: median {1e3 * np.median(gaps):.0f} ms, "
          f"95% {1e3 * np.percentile(gaps, 95):.0f} ms; "
          f"longest {1e3 * gaps.max():.0f} ms "
          f"(goal < {1e3 * STALL_GOAL:.0f} ms: {'met' if gaps.max() < STALL_GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
