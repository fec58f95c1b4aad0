"""RE_PHASE on 1d7m, warm: Fcalc + bulk-solvent mask + scaling + R, against gemmi's
FFT structure factors alone and (if cctbx-base is installed) cctbx's FFT structure factors.

Run: python bench/bench_xtal_rephase.py   (data from MAINPY_TEST_DATA, default
../shared/data relative to the project root). Prints seconds per call and the ratios.
"""

import os
import sys
import time
from pathlib import Path

try:                      # cctbx must be imported before gemmi in one process
    import cctbx.xray     # noqa: F401
    import iotbx.pdb
    from cctbx import miller
    HAVE_CCTBX = True
except ImportError:
    HAVE_CCTBX = False

import gemmi  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mainpy.model.atoms import from_structure  # noqa: E402
from mainpy.xtal.fmodel import Fmodel  # noqa: E402
from mainpy.xtal.reflections import read_reflections  # noqa: E402


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def best_time(fn, repeat=5):
    fn()                                   # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    pdb = data_root() / "xtal/1d7m/1d7m.pdb"
    mtz = data_root() / "xtal/1d7m/1d7m.mtz"
    if not pdb.exists():
        sys.exit(f"test data not found under {data_root()} (set MAINPY_TEST_DATA)")
    st = gemmi.read_structure(str(pdb))
    atoms = from_structure(st)
    refl = read_reflections(mtz)
    fm = Fmodel(refl, atoms)
    print(f"1d7m: {len(atoms)} atoms, {refl.observed.sum()} reflections to "
          f"{refl.d_min:.2f} A; R-work {fm.r_work:.4f} R-free {fm.r_free:.4f}")

    t_rephase = best_time(lambda: fm.update(atoms))
    t_fcalc = best_time(lambda: fm.calc(atoms))

    def gemmi_fft():
        dc = gemmi.DensityCalculatorX()
        dc.d_min = refl.d_min
        dc.rate = 1.5
        dc.set_refmac_compatible_blur(st[0])
        dc.grid.setup_from(st)
        dc.put_model_density_on_grid(st[0])
        g = gemmi.transform_map_to_f_phi(dc.grid, half_l=True)
        return g.get_value_by_hkl(refl.hkl, unblur=dc.blur)

    t_gemmi = best_time(gemmi_fft)
    print(f"mainpy RE_PHASE (Fcalc+mask+scale+R): {t_rephase * 1e3:8.1f} ms")
    print(f"mainpy Fcalc only                    : {t_fcalc * 1e3:8.1f} ms")
    print(f"gemmi FFT Fcalc alone                : {t_gemmi * 1e3:8.1f} ms")
    print(f"ratio RE_PHASE / gemmi FFT           : {t_rephase / t_gemmi:8.2f}")
    print(f"ratio mainpy Fcalc / gemmi FFT       : {t_fcalc / t_gemmi:8.2f}")
    if HAVE_CCTBX:
        xrs = iotbx.pdb.input(file_name=str(pdb)).xray_structure_simple()
        from cctbx.array_family import flex
        ms = miller.set(xrs.crystal_symmetry(),
                        flex.miller_index([tuple(int(x) for x in h) for h in refl.hkl]),
                        anomalous_flag=False)

        def cctbx_fft():
            return ms.structure_factors_from_scatterers(xray_structure=xrs,
                                                        algorithm="fft").f_calc()

        t_cctbx = best_time(cctbx_fft)
        print(f"cctbx FFT Fcalc alone                : {t_cctbx * 1e3:8.1f} ms")
        print(f"ratio RE_PHASE / cctbx FFT           : {t_rephase / t_cctbx:8.2f}")
        print(f"ratio mainpy Fcalc / cctbx FFT       : {t_fcalc / t_cctbx:8.2f}")
    else:
        print("cctbx not installed: no cctbx comparison")


if __name__ == "__main__":
    main()
