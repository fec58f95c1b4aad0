"""Benchmark: restraint energy + gradient per call, 1d7m and a ~55k-atom crystal.

The large model is 1d7m's unit cell (all eight C2221 copies, in P1) doubled along a and
b: a real, clash-free packing. For comparison gemmi evaluates the same bonded restraints
(bond/angle/torsion/chirality/plane Z values through its Topo objects; it has no
gradients and no non-bonded energy). Run:  python bench/bench_restraints_energy.py
Data from MAINPY_TEST_DATA (default ../shared/data relative to the project root).
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import gemmi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mainpy.model.atoms import from_structure
from mainpy.restraints.energy import TERMS, Energy
from mainpy.restraints.monlib import load_monlib
from mainpy.restraints.topology import build_restraints

DATA = Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


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


def bench(label: str, st: gemmi.Structure, repeat: int) -> None:
    atoms = from_structure(st)
    lib = load_monlib(st[0].get_all_residue_names(), DATA / "monomers")
    t = time.perf_counter()
    r = build_restraints(st, lib)
    t_topo = time.perf_counter() - t
    en = Energy(r, atoms, st.cell, st.find_spacegroup())
    t = time.perf_counter()
    en.nonbonded.build(atoms.xyz)
    t_nb = time.perf_counter() - t
    t_all = per_call(lambda: en.evaluate(atoms.xyz, atoms.b), repeat)
    print(f"\n{label}: {len(atoms)} atoms, restraints {en.counts()}")
    print(f"  topology {t_topo * 1e3:.0f} ms, pair list build {t_nb * 1e3:.1f} ms")
    print(f"  energy + gradient, all terms: {t_all * 1e3:.2f} ms per call "
          f"({t_all / len(atoms) * 1e9:.0f} ns per atom)")
    for term in TERMS:
        tt = per_call(lambda t=term: en.evaluate(atoms.xyz, atoms.b, terms=[t]), repeat)
        print(f"    {term:10s} {tt * 1e3:7.3f} ms")
    bonded = ["bond", "angle", "torsion", "chiral", "plane"]
    t_bonded = per_call(lambda: en.evaluate(atoms.xyz, terms=bonded), repeat)
    run, _ = gemmi_bonded(st, lib.monlib)
    t_g = per_call(run, max(1, repeat // 20))
    print(f"  bonded terms: mainpy {t_bonded * 1e3:.2f} ms (energy+gradient) vs gemmi "
          f"Topo evaluation {t_g * 1e3:.1f} ms (values only): ratio gemmi/mainpy "
          f"{t_g / t_bonded:.0f}x")


def main() -> None:
    st = gemmi.read_structure(str(DATA / "xtal" / "1d7m" / "1d7m.pdb"))
    bench("1d7m", st, repeat=200)
    big = tiled(st, 2, 2, 1)
    bench("1d7m unit cell x 2 x 2 (P1)", big, repeat=20)


if __name__ == "__main__":
    main()
