"""Thread scaling of a refinement step on a ~55k-atom model, with 1 and with 2 threads:
ten steps of the minimizer (ML target + restraints, xyz and B: what `refine` runs between
re-phasings, contact-list rebuilds included), then one ML value + gradient and its parts.

The model is 1d7m's unit cell (all eight C2221 copies, 13,720 atoms, in P1) doubled
along a and b (54,880 atoms, a real packing); the data are the Miller indices of that
cell to 2.4 A with amplitudes |Fcalc| of the model times (1 + 5 % noise), 5 % free. The
step and its parts are timed with numba.set_num_threads(1) and (2), interleaved, best of
3 rounds; the FFTs follow numba's thread count. Goal (issue 14): the whole refinement step
1.6x faster with 2 threads.

The "steal" and "user" ticks of /proc/stat are printed before and after (see
bench/README.md): a busy machine (another process on the second core) makes the 2-thread
times meaningless.
Run:  python bench/bench_sf_threads.py   (data from MAINPY_TEST_DATA, default
../shared/data relative to the project root)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import gemmi
import numba
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mainpy.model.atoms import from_structure  # noqa: E402
from mainpy.targets.xray import MlTarget  # noqa: E402
from mainpy.xtal.fmodel import Fmodel  # noqa: E402
from mainpy.xtal.reflections import Reflections  # noqa: E402

DATA = Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))
D_MIN = 2.4


def tiled(st: gemmi.Structure, na: int, nb: int, nc: int) -> gemmi.Structure:
    """The full unit cell (every symmetry copy) repeated na x nb x nc, in P1."""
    cell = st.cell
    out = gemmi.Structure()
    out.cell = gemmi.UnitCell(cell.a * na, cell.b * nb, cell.c * nc,
                              cell.alpha, cell.beta, cell.gamma)
    out.spacegroup_hm = "P 1"
    model = gemmi.Model("1")
    k = 0
    for op in st.find_spacegroup().operations():
        for sa in range(na):
            for sb in range(nb):
                for sc in range(nc):
                    for ch in st[0]:
                        new = ch.clone()
                        new.name = f"{ch.name}{k}"
                        for res in new:
                            for at in res:
                                f = cell.fractionalize(at.pos)
                                g = op.apply_to_xyz([f.x, f.y, f.z])
                                at.pos = cell.orthogonalize(
                                    gemmi.Fractional(g[0] + sa, g[1] + sb, g[2] + sc))
                        model.add_chain(new)
                    k += 1
    out.add_model(model)
    return out


def simulated_data(st: gemmi.Structure, atoms) -> Reflections:
    """The Miller indices of the cell to D_MIN, |Fcalc| with 5 % noise, 5 % free."""
    from mainpy.xtal.fcalc import FcalcCalculator
    cell, sg = st.cell, gemmi.SpaceGroup("P 1")
    hkl = gemmi.make_miller_array(cell, sg, D_MIN).astype(np.int32)
    f = np.abs(FcalcCalculator(cell, sg, hkl)(atoms))
    rng = np.random.default_rng(0)
    sigf = 0.05 * f + 0.01 * f.mean()
    fobs = np.abs(f + rng.normal(size=len(f)) * sigf)
    n = len(hkl)
    return Reflections(hkl=hkl, d=cell.calculate_d_array(hkl), fobs=fobs, sigf=sigf,
                       free=rng.random(n) < 0.05, centric=np.zeros(n, bool),
                       epsilon=np.ones(n), cell=cell, spacegroup=sg, source="simulated")


def best_threads(fn, threads=(1, 2), rounds=3, repeat=2) -> list[float]:
    """Best time per call with each thread count, interleaved."""
    best = [float("inf")] * len(threads)
    for _ in range(rounds):
        for k, n in enumerate(threads):
            numba.set_num_threads(n)
            fn()
            t = time.perf_counter()
            for _ in range(repeat):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t) / repeat)
    numba.set_num_threads(max(threads))
    return best


def cpu_ticks() -> tuple[int, int]:
    """(user, steal) clock ticks of the whole machine (first line of /proc/stat)."""
    try:
        f = open("/proc/stat").readline().split()
        return int(f[1]), int(f[8])
    except (OSError, IndexError, ValueError):
        return 0, 0


def refinement_objective(st, atoms, target):
    """Restraints (weight 1) and the ML target (weight balancing the gradients), as
    `refine` builds them; the restraints from mainpy's built-in dictionary."""
    from mainpy.refine.objective import Objective, Part, RestraintTarget
    from mainpy.refine.weighting import DataWeight
    from mainpy.restraints.energy import Energy
    from mainpy.restraints.monlib import load_monlib
    from mainpy.restraints.topology import build_restraints
    st.setup_entities()
    lib = load_monlib(sorted(set(atoms.resname.tolist())))
    r = build_restraints(st, lib, torsions="refmac")
    energy = Energy(r, atoms, st.cell, st.find_spacegroup())
    obj = Objective([Part("restraints", 1.0, RestraintTarget(energy)),
                     Part("xray", 1.0, target)])
    DataWeight(obj).balance(atoms, None)
    return obj


def ten_steps(objective, atoms) -> None:
    """Ten minimizer steps (xyz and B) from the same start, contacts found afresh."""
    from mainpy.refine.driver import minimize
    objective.part("restraints").target.energy.restart()
    minimize(atoms, objective, ("xyz", "b"), None, 10, segment=10)


def main() -> None:
    if numba.config.NUMBA_NUM_THREADS < 2:
        sys.exit("needs at least 2 numba threads")
    pdb = DATA / "xtal/1d7m/1d7m.pdb"
    if not pdb.exists():
        sys.exit(f"test data not found under {DATA} (set MAINPY_TEST_DATA)")
    st = tiled(gemmi.read_structure(str(pdb)), 2, 2, 1)
    atoms = from_structure(st)
    refl = simulated_data(st, atoms)
    fm = Fmodel(refl, atoms)
    target = MlTarget(fm)
    res = target.evaluate(atoms, ("xyz", "b"))
    eng = target.engine
    print(f"{len(atoms)} atoms, {len(refl)} reflections to {D_MIN} A (P1), engine grid "
          f"{eng.shape}; ML {res.value:.6g}, R-work {res.info['r_work']:.4f}; threading "
          f"layer {numba.threading_layer()}")
    rng = np.random.default_rng(1)
    g = rng.normal(size=len(refl)) + 1j * rng.normal(size=len(refl))
    m = eng.gradient_map(g)
    rho = np.empty(eng.shape, np.float32 if eng.single else np.float64)
    box = eng.fft.forward(eng.density(atoms, out=rho), 2)
    ker = eng.kernel
    parts = {
        "ML value + gradient (xyz, B)": lambda: target.evaluate(atoms, ("xyz", "b")),
        "  Fcalc": lambda: eng.fcalc(atoms),
        "    spread (density)": lambda: eng.density(atoms, out=rho),
        "    forward FFT": lambda: eng.fft.forward(rho, numba.get_num_threads()),
        "    gather": lambda: eng.fft.gather(box, eng.unblur),
        "  gradient map": lambda: eng.gradient_map(g),
        "    scatter (serial)": lambda: eng.fft.scatter(g, eng.single),
        "  overlap kernel (xyz, B)": lambda: ker.overlap(m, atoms.xyz, atoms.b, atoms.occ,
                                                       eng.blur, aniso=atoms.aniso),
        "  likelihood terms": lambda: target.terms(np.abs(target.f_model(target.fcalc))
                                                   [target.sel]),
        "RE_PHASE (Fmodel.update)": lambda: fm.update(atoms),
    }
    objective = refinement_objective(st, atoms, target)
    u0, s0 = cpu_ticks()
    print(f"{'':34s}{'1 thread':>10s}{'2 threads':>11s}  speed-up")
    t1, t2 = best_threads(lambda: ten_steps(objective, atoms), rounds=2, repeat=1)
    print(f"{'refinement step (10-step run / 10)':34s}{t1 * 1e2:8.1f} ms{t2 * 1e2:8.1f} ms"
          f"  {t1 / t2:5.2f}x   (goal >= 1.6x)", flush=True)
    for label, fn in parts.items():
        t1, t2 = best_threads(fn, rounds=2 if label.startswith("RE_PHASE") else 3,
                              repeat=1 if label.startswith("RE_PHASE") else 2)
        print(f"{label:34s}{t1 * 1e3:8.1f} ms{t2 * 1e3:8.1f} ms  {t1 / t2:5.2f}x",
              flush=True)
    u1, s1 = cpu_ticks()
    print(f"/proc/stat during the runs: user +{u1 - u0} ticks, steal +{s1 - s0} ticks")


if __name__ == "__main__":
    main()
