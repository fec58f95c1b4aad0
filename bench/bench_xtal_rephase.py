"""RE_PHASE on 1d7m, warm: Fcalc + bulk-solvent mask + scaling + R, against gemmi's
FFT structure factors alone and (if cctbx-base is installed) cctbx's FFT structure factors.

"RE_PHASE" is `Fmodel.update(atoms)` on an Fmodel that has been updated before (the
scale fit starts from the previous scales). Also timed: the same with the atoms moved
between calls (as in a minimizer), with a cold scale fit (`warm=False`), and without
scaling (`scale=False`: new Fcalc and Fmask, old scales).

Run: python bench/bench_xtal_rephase.py   (data from MAINPY_TEST_DATA, default
../shared/data relative to the project root). Prints seconds per call and the ratios.

With cctbx in the process, numba runs its parallel loops on its own "workqueue" threads:
cctbx's OpenMP stubs (libomptbx) break numba's OpenMP layer (every thread would run
every iteration; mainpy refuses to run then).
"""

import importlib.util
import os
import sys
import time
from pathlib import Path

if importlib.util.find_spec("cctbx") is not None:
    os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

try:                      # cctbx must be imported before gemmi in one process
    import cctbx.xray     # noqa: F401
    import iotbx.pdb
    from cctbx import miller
    HAVE_CCTBX = True
except ImportError:
    HAVE_CCTBX = False

import gemmi  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mainpy.model.atoms import from_structure  # noqa: E402
from mainpy.xtal.fmodel import Fmodel  # noqa: E402
from mainpy.xtal.reflections import read_reflections  # noqa: E402


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def best_times(fns: dict, repeat: int = 7) -> dict:
    """Best wall time of each function; the functions take turns in every round, so
    that a change of machine load affects them alike."""
    for fn in fns.values():
        fn()                                   # warm
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: min(ts) for name, ts in times.items()}


def main():
    pdb = data_root() / "xtal/1d7m/1d7m.pdb"
    mtz = data_root() / "xtal/1d7m/1d7m.mtz"
    if not pdb.exists():
        sys.exit(f"test data not found under {data_root()} (set MAINPY_TEST_DATA)")
    st = gemmi.read_structure(str(pdb))
    atoms = from_structure(st)
    refl = read_reflections(mtz)
    fm = Fmodel(refl, atoms)
    import numba
    print(f"1d7m: {len(atoms)} atoms, {refl.observed.sum()} reflections to "
          f"{refl.d_min:.2f} A; R-work {fm.r_work:.4f} R-free {fm.r_free:.4f}; "
          f"{numba.get_num_threads()} threads ({numba.threading_layer()})")

    moved = [atoms.copy() for _ in range(2)]
    rng = np.random.default_rng(0)
    for a in moved:
        a.xyz = a.xyz + rng.normal(0, 0.02, a.xyz.shape)
    turn = [0]

    def update_moved():
        turn[0] ^= 1
        fm.update(moved[turn[0]])

    def gemmi_fft():
        dc = gemmi.DensityCalculatorX()
        dc.d_min = refl.d_min
        dc.rate = 1.5
        dc.set_refmac_compatible_blur(st[0])
        dc.grid.setup_from(st)
        dc.put_model_density_on_grid(st[0])
        g = gemmi.transform_map_to_f_phi(dc.grid, half_l=True)
        return g.get_value_by_hkl(refl.hkl, unblur=dc.blur)

    fns = {"rephase": lambda: fm.update(atoms),
           "fcalc": lambda: fm.calc(atoms),
           "moved": update_moved,
           "cold": lambda: fm.update(atoms, warm=False),
           "noscale": lambda: fm.update(atoms, scale=False),
           "gemmi": gemmi_fft}
    if HAVE_CCTBX:
        xrs = iotbx.pdb.input(file_name=str(pdb)).xray_structure_simple()
        from cctbx.array_family import flex
        ms = miller.set(xrs.crystal_symmetry(),
                        flex.miller_index([tuple(int(x) for x in h) for h in refl.hkl]),
                        anomalous_flag=False)
        fns["cctbx"] = lambda: ms.structure_factors_from_scatterers(
            xray_structure=xrs, algorithm="fft").f_calc()
    t = best_times(fns)
    fm.update(atoms, warm=False)
    print(f"R-work {fm.r_work:.4f} R-free {fm.r_free:.4f} after the runs")
    print(f"mainpy RE_PHASE (Fcalc+mask+scale+R): {t['rephase'] * 1e3:8.1f} ms")
    print(f"  the same, atoms moved between calls: {t['moved'] * 1e3:8.1f} ms")
    print(f"  the same, cold scale fit            : {t['cold'] * 1e3:8.1f} ms")
    print(f"  update(scale=False)                 : {t['noscale'] * 1e3:8.1f} ms")
    print(f"mainpy Fcalc only                    : {t['fcalc'] * 1e3:8.1f} ms")
    print(f"gemmi FFT Fcalc alone                : {t['gemmi'] * 1e3:8.1f} ms")
    print(f"ratio RE_PHASE / gemmi FFT           : {t['rephase'] / t['gemmi']:8.2f}")
    print(f"ratio mainpy Fcalc / gemmi FFT       : {t['fcalc'] / t['gemmi']:8.2f}")
    if HAVE_CCTBX:
        tc = t["cctbx"]
        print(f"cctbx FFT Fcalc alone                : {tc * 1e3:8.1f} ms")
        print(f"ratio RE_PHASE / cctbx FFT           : {t['rephase'] / tc:8.2f}")
        print(f"ratio moved-atoms RE_PHASE / cctbx   : {t['moved'] / tc:8.2f}")
        print(f"ratio cold RE_PHASE / cctbx FFT      : {t['cold'] / tc:8.2f}")
        print(f"ratio update(scale=False) / cctbx    : {t['noscale'] / tc:8.2f}")
        print(f"ratio mainpy Fcalc / cctbx FFT       : {t['fcalc'] / tc:8.2f}")
    else:
        print("cctbx not installed: no cctbx comparison")


if __name__ == "__main__":
    main()
