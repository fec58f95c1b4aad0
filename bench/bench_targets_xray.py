"""One value + gradient (xyz and B) step of the ML X-ray target, warm, for 1aba and 1d7m,
against one gemmi FFT Fcalc in the same run. The parts are those of the structure-factor
engine (`mainpy.sf`): Fcalc (spread + pruned FFT + gather), the gradient map (scatter +
inverse FFT) and the atom-map overlap kernel. The machine's other load shows up directly
in these times: compare the ratio, and run it on a quiet machine.

Run: python bench/bench_targets_xray.py   (data from MAINPY_TEST_DATA, default
../shared/data relative to the project root). Goal: under 0.05 s for 1aba.
"""

import os
import sys
import time
from pathlib import Path

import gemmi
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mainpy.model.atoms import from_structure
from mainpy.targets.xray import MlTarget
from mainpy.xtal.fmodel import Fmodel
from mainpy.xtal.reflections import read_reflections


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def best_time(fn, repeat=7):
    fn()                                   # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    for name in ("1aba", "1d7m"):
        pdb = data_root() / f"xtal/{name}/{name}.pdb"
        mtz = data_root() / f"xtal/{name}/{name}.mtz"
        if not pdb.exists():
            sys.exit(f"test data not found under {data_root()} (set MAINPY_TEST_DATA)")
        st = gemmi.read_structure(str(pdb))
        atoms = from_structure(st)
        refl = read_reflections(mtz)
        fm = Fmodel(refl, atoms)
        target = MlTarget(fm)
        res = target.evaluate(atoms, ("xyz", "b"))
        eng = target.engine

        t_step = best_time(lambda: target.evaluate(atoms, ("xyz", "b")))
        t_xyz = best_time(lambda: target.evaluate(atoms, ("xyz",)))
        t_value = best_time(lambda: target.evaluate(atoms, ()))
        t_fcalc = best_time(lambda: eng.fcalc(atoms))
        g = np.ones(len(refl.hkl), complex)
        t_gmap = best_time(lambda: eng.gradient_map(g))
        m = eng.gradient_map(g)
        t_kern = best_time(lambda: eng.kernel.overlap(m, atoms.xyz, atoms.b, atoms.occ,
                                                      eng.blur, grad=True,
                                                      aniso=atoms.aniso))

        def gemmi_fft():
            dc = gemmi.DensityCalculatorX()
            dc.d_min = refl.d_min
            dc.rate = 1.5
            dc.set_refmac_compatible_blur(st[0])
            dc.grid.setup_from(st)
            dc.put_model_density_on_grid(st[0])
            gr = gemmi.transform_map_to_f_phi(dc.grid, half_l=True)
            return gr.get_value_by_hkl(refl.hkl, unblur=dc.blur)

        t_gemmi = best_time(gemmi_fft)
        print(f"{name}: {len(atoms)} atoms, {len(refl)} reflections to {refl.d_min:.2f} A, "
              f"grid {eng.shape}; ML = {res.value:.1f}, R-work {res.info['r_work']:.4f}; "
              f"{eng.threads()} threads")
        print(f"  ML value + gradient (xyz, B) : {t_step * 1e3:8.1f} ms")
        print(f"  ML value + gradient (xyz)    : {t_xyz * 1e3:8.1f} ms")
        print(f"  ML value only                : {t_value * 1e3:8.1f} ms")
        print(f"    Fcalc (numba spread + FFT) : {t_fcalc * 1e3:8.1f} ms")
        print(f"    gradient map (scatter+FFT) : {t_gmap * 1e3:8.1f} ms")
        print(f"    overlap kernel (all atoms) : {t_kern * 1e3:8.1f} ms")
        print(f"  gemmi FFT Fcalc alone        : {t_gemmi * 1e3:8.1f} ms")
        print(f"  ratio step / gemmi Fcalc     : {t_step / t_gemmi:8.2f}")


if __name__ == "__main__":
    main()
