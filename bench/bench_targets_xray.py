"""One value + gradient (xyz and B) step of the ML X-ray target, warm, for 1aba and 1d7m,
against one gemmi FFT Fcalc in the same run. The parts are those of the structure-factor
engine (`mainpy.sf`): Fcalc (spread + pruned FFT + gather), the gradient map (scatter +
inverse FFT) and the atom-map overlap kernel. The machine's other load shows up directly
in these times: compare the ratio, and run it on a quiet machine.

Run: python bench/bench_targets_xray.py   (data from MAINPY_TEST_DATA, default
../shared/data relative to the project root). Goal: under 0.05 s for 1aba.

--hydrogens: the cost of riding hydrogens instead (issue 18: within 20 %). For 1aba,
1l2h and 1d7m with H placed by HYDROGEN ADD, one value + gradient (xyz, B) with H at
the refinement engine's level (H_CUTOFF), with H at the other atoms' level, and without
H; the three interleaved 40 times, medians compared. Then the same with the heavy atoms
anisotropic (U = B/8pi^2, slightly anisotropic), as the shipped macro's TLS model makes
them at the resolutions where it adds riding H (the H stay isotropic: 1.2 B_eq of the
parent), with gradients of U too.
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


def hydrogens():
    """Median ML value + gradient with and without riding hydrogens (see the docstring)."""
    import io

    from mainpy.session import Session
    from mainpy.targets.xray import H_CUTOFF
    mono = data_root() / "monomers"
    for name, ext in (("1aba", "pdb"), ("1l2h", "cif"), ("1d7m", "pdb")):
        s = Session(out=io.StringIO())
        s.run(f"read mono {mono}; read coor file {data_root()}/xtal/{name}/{name}.{ext}; "
              f"read refl file {data_root()}/xtal/{name}/{name}.mtz; refl phase r-value")
        bare = s.model.atoms
        s.run("hydrogen add; refl phase r-value")
        with_h = s.model.atoms
        runs = {"without H": (MlTarget(s.fmodel), bare),
                f"H at {H_CUTOFF:g}": (MlTarget(s.fmodel), with_h),
                "H at the common level": (MlTarget(s.fmodel, h_cutoff=None), with_h)}
        n_h = len(with_h) - len(bare)
        print(f"{name}: {len(bare)} atoms + {n_h} riding H; ML value + gradient (xyz, B), "
              "median of 40: " + _against_none(_medians(runs, ("xyz", "b"))))
        runs = {"without H": (MlTarget(s.fmodel), _tls_like(bare)),
                f"H at {H_CUTOFF:g}": (MlTarget(s.fmodel), _tls_like(with_h))}
        print(f"{name} with the heavy atoms anisotropic (as TLS): ML value + gradient (xyz, "
              "B, U), median of 40: "
              + _against_none(_medians(runs, ("xyz", "b", "aniso"))))


def _against_none(med: dict) -> str:
    """Each run's median in ms, and how much more than "without H" it took."""
    base = med["without H"]
    return ", ".join(f"{k} {v * 1e3:.1f} ms" + ("" if k == "without H" else
                                               f" ({(v / base - 1) * 100:+.0f} %)")
                     for k, v in med.items())


def _tls_like(atoms):
    """The atoms with every non-hydrogen anisotropic (`make_anisotropic`: U = B/8pi^2 I),
    and a small U12 (0.05 U11) so that they are not spheres."""
    from mainpy.refine.adp_params import hydrogens, make_anisotropic
    heavy = ~hydrogens(atoms)
    atoms, _ = make_anisotropic(atoms, heavy)
    u = atoms.aniso.copy()
    u[heavy, 3] = 0.05 * u[heavy, 0]
    return atoms.replace(aniso=u)


def _medians(runs, params, rounds=40) -> dict:
    """Median time of target.evaluate(atoms, params) per run, the runs interleaved."""
    times = {k: [] for k in runs}
    for t, a in runs.values():
        t.evaluate(a, params)
    for _ in range(rounds):
        for k, (t, a) in runs.items():
            t0 = time.perf_counter()
            t.evaluate(a, params)
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


if __name__ == "__main__":
    if "--hydrogens" in sys.argv:
        hydrogens()
    else:
        main()
