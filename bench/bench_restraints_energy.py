"""Benchmark: restraint energy + gradient per call, 1d7m and a ~55k-atom crystal.

The large model is 1d7m's unit cell (all eight C2221 copies, in P1) doubled along a and
b: a real, clash-free packing. For comparison gemmi evaluates the same bonded restraints
(bond/angle/torsion/chirality/plane Z values through its Topo objects; it has no
gradients and no non-bonded energy).

Every time is taken with 1 and with 2 numba threads (numba.set_num_threads), the two
interleaved, best of 5 rounds; the speed-up is their ratio. Goal: a whole refinement step
(X-ray + restraints) of the ~55k-atom model at least 1.6x faster with 2 threads, so the
restraints alone should come close to 2x there. The "step" row is the restraints' part of
a step: energy + gradient and a tenth of a contact-list build. The "steal" time of
/proc/stat is printed before and after (see bench/README.md): distrust the run when it
grows like "user", or when another process kept the second core busy.
Run:  python bench/bench_restraints_energy.py [--threads 1,2]
Data from MAINPY_TEST_DATA (default ../shared/data relative to the project root).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import gemmi
import numba

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mainpy.model.atoms import from_structure
from mainpy.restraints.energy import TERMS, Energy
from mainpy.restraints.monlib import load_monlib
from mainpy.restraints.topology import build_restraints

DATA = Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))
#: evaluations per rebuild of the contact list assumed for the per-step figure
#: (regularizing 1d7m, 100 evaluations: 8 builds from the deposited model, 12 shaken 0.3 A)
REBUILD_EVERY = 10


def tiled(st: gemmi.Structure, na: int, nb: int, nc: int) -> gemmi.Structure:
    """The full unit cell (every symmetry copy) repeated na x nb x nc, in P1."""
    cell = st.cell
    sg = st.find_spacegroup()
    out = gemmi.Structure()
    out.cell = gemmi.UnitCell(cell.a * na, cell.b * nb, cell.c * nc,
                              cell.alpha, cell.beta, cell.gamma)
    out.spacegroup_hm = "P 1"
    model = gemmi.Model("1")
    k = 0
    for op in sg.operations():
        for sa in range(na):
            for sb in range(nb):
                for sc in range(nc):
                    for ch in st[0]:
                        new = ch.clone()
                        new.name = f"{ch.name}{k}"
                        for res in new:
                            for at in res:
                                f = cell.fractionalize(at.pos)
                                g = gemmi.Fractional(*op.apply_to_xyz([f.x, f.y, f.z]))
                                g = gemmi.Fractional(g.x + sa, g.y + sb, g.z + sc)
                                at.pos = cell.orthogonalize(g)
                        model.add_chain(new)
                    k += 1
    out.add_model(model)
    out.setup_entities()
    return out


def per_call(fn, repeat: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def per_call_threads(fn, repeat: int, threads, rounds: int = 5) -> list[float]:
    """Time per call with each thread count, interleaved, best of `rounds`."""
    best = [float("inf")] * len(threads)
    for _ in range(rounds):
        for k, n in enumerate(threads):
            numba.set_num_threads(n)
            best[k] = min(best[k], per_call(fn, repeat))
    numba.set_num_threads(max(threads))
    return best


def cpu_ticks() -> tuple[int, int]:
    """(user, steal) clock ticks of the whole machine (first line of /proc/stat)."""
    try:
        f = open("/proc/stat").readline().split()
        return int(f[1]), int(f[8])
    except (OSError, IndexError, ValueError):
        return 0, 0


def row(label: str, times: list[float]) -> str:
    cells = " ".join(f"{t * 1e3:9.3f}" for t in times)
    return f"    {label:18s}{cells}   {times[0] / times[-1]:5.2f}x"
def gemmi_bonded(st, monlib):
    """gemmi's own evaluation of the bonded restraints (sum of Z^2), as a callable."""
    s = st.clone()
    topo = gemmi.prepare_topology(s, monlib, warnings=io.StringIO(),
                                  ignore_unknown_links=True)

    def run():
        e = 0.0
        for b in topo.bonds:
            e += b.calculate_z() ** 2
        for a in topo.angles:
            e += a.calculate_z() ** 2
        for t in topo.torsions:
            if t.restr.esd > 0:
                e += t.calculate_z() ** 2
        for c in topo.chirs:
            c.calculate()
        for p in topo.planes:
            gemmi.find_best_plane(p.atoms)
        return e
    return run, topo


def bench(label: str, st: gemmi.Structure, repeat: int, threads) -> None:
    atoms = from_structure(st)
    lib = load_monlib(st[0].get_all_residue_names(), DATA / "monomers")
    t = time.perf_counter()
    r = build_restraints(st, lib)
    t_topo = time.perf_counter() - t
    en = Energy(r, atoms, st.cell, st.find_spacegroup())
    en.nonbonded.build(atoms.xyz)
    print(f"\n{label}: {len(atoms)} atoms, restraints {en.counts()}")
    print(f"  topology {t_topo * 1e3:.0f} ms")
    head = "".join(f"{f'{n} thr ms':>10s}" for n in threads)
    print(f"    {'':18s}{head}   speed-up")
    t_all = per_call_threads(lambda: en.evaluate(atoms.xyz, atoms.b), repeat, threads)
    print(row("all terms", t_all)
          + f"   ({t_all[0] / len(atoms) * 1e9:.0f} / {t_all[-1] / len(atoms) * 1e9:.0f} "
          "ns per atom)")
    for term in TERMS:
        tt = per_call_threads(lambda t=term: en.evaluate(atoms.xyz, atoms.b, terms=[t]),
                              repeat, threads)
        print(row(term, tt))
    t_nb = per_call_threads(lambda: en.nonbonded.build(atoms.xyz), max(3, repeat // 20),
                            threads)
    print(row("pair list build", t_nb))
    per_step = [t + b / REBUILD_EVERY for t, b in zip(t_all, t_nb)]
    print(row(f"step (+1/{REBUILD_EVERY} build)", per_step)
          + "   restraints' share of a refinement step")
    bonded = ["bond", "angle", "torsion", "chiral", "plane"]
    t_bonded = per_call(lambda: en.evaluate(atoms.xyz, terms=bonded), repeat)
    run, _ = gemmi_bonded(st, lib.monlib)
    t_g = per_call(run, max(1, repeat // 20))
    print(f"  bonded terms ({max(threads)} threads): mainpy {t_bonded * 1e3:.2f} ms "
          f"(energy+gradient) vs gemmi Topo evaluation {t_g * 1e3:.1f} ms (values only): "
          f"ratio gemmi/mainpy {t_g / t_bonded:.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2",
                    help="thread counts to compare, comma-separated (default 1,2)")
    args = ap.parse_args()
    threads = [int(x) for x in args.threads.split(",")]
    if max(threads) > numba.config.NUMBA_NUM_THREADS:
        sys.exit(f"numba has {numba.config.NUMBA_NUM_THREADS} threads here, not {max(threads)}")
    user0, steal0 = cpu_ticks()
    print(f"/proc/stat before: user {user0}, steal {steal0}")
    st = gemmi.read_structure(str(DATA / "xtal" / "1d7m" / "1d7m.pdb"))
    bench("1d7m", st, 200, threads)
    big = tiled(st, 2, 2, 1)
    bench("1d7m unit cell x 2 x 2 (P1)", big, 20, threads)
    user1, steal1 = cpu_ticks()
    print(f"\n/proc/stat after: user {user1} (+{user1 - user0}), steal {steal1} "
          f"(+{steal1 - steal0})")


if __name__ == "__main__":
    main()
