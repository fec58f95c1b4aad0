"""How fast are selections (`sele ... end`) on a ~50k-atom model?

The model is a real structure (1d7m, 1715 atoms, C 2 2 21) tiled over a super-cell: its
asymmetric unit is copied to the lattice points of a 3 x 3 x 3 block of unit cells
(odd counts keep the space group's operators consistent in the super-cell), so the atom
density and the symmetry are those of a real crystal. Copy k of chain A is named A<k>.

Each selection is timed
  * through `session.select(node)` (the evaluation alone, the selection tree parsed once),
    cold (first call on the model: name columns are indexed then) and warm;
  * through `session.run("key k sele ... end")`: parsing, resolution, evaluation, the
    transaction and the output, everything a user waits for at the prompt;
and one selection also with gemmi alone (gemmi.Selection, and a plain Python loop over
the gemmi hierarchy) as a reference.

Goal: a typical selection (everything but AROUND) under 20 ms at the prompt.

    python bench/bench_selection.py [--grid 3,3,3] [--repeat 15]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 20.0

SELECTIONS = [
    "resi name ARG LYS ASP GLU .a .not atom name C N CA O",
    "atom name CA",
    "segm name A* .and. resi numb 250 : 300",
    "by resi (atom name OH)",            # 1d7m has no TYR: an empty inner selection
    "by resi (atom name NZ)",            # the same with 1000+ hits (LYS)
    "temp 20 40 .or. occu 0 0.5",
    "around key k dist 5",
]
#: the small key AROUND starts from (one residue range of one chain)
SMALL_KEY = "segm name A0 .and. resi numb 250 : 252"

GEMMI_CID = "//*/(ARG,LYS,ASP,GLU)/!C,N,CA,O"     # the same as SELECTIONS[0]


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def tiled_structure(path: Path, grid: tuple[int, int, int]):
    """The structure's asymmetric unit copied to grid[0] x grid[1] x grid[2] unit cells."""
    import gemmi

    src = gemmi.read_structure(str(path))
    src.setup_entities()
    while len(src) > 1:
        del src[1]
    c = src.cell
    st = gemmi.Structure()
    st.name = f"{src.name}_x{grid[0]}{grid[1]}{grid[2]}"
    st.cell = gemmi.UnitCell(c.a * grid[0], c.b * grid[1], c.c * grid[2],
                             c.alpha, c.beta, c.gamma)
    st.spacegroup_hm = src.spacegroup_hm
    model = gemmi.Model("1")
    k = 0
    for i in range(grid[0]):
        for j in range(grid[1]):
            for m in range(grid[2]):
                shift = c.orthogonalize(gemmi.Fractional(i, j, m))
                for ch in src[0]:
                    new = model.add_chain(ch)
                    new.name = f"{ch.name}{k}"
                    for res in new:
                        for at in res:
                            at.pos = at.pos + shift
                k += 1
    st.add_model(model)
    st.setup_entities()
    st.assign_serial_numbers()
    return st


def best_median(fn, repeat: int) -> tuple[float, float, object]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), result


def ms(t: float) -> str:
    return f"{t * 1e3:8.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", default="3,3,3",
                    help="unit cells along a,b,c (odd numbers keep the symmetry; default 3,3,3)")
    ap.add_argument("--repeat", type=int, default=15, help="timed runs per selection")
    args = ap.parse_args(argv)
    grid = tuple(int(x) for x in args.grid.split(","))

    pdb = data_root() / "xtal" / "1d7m" / "1d7m.pdb"
    if not pdb.is_file():
        print(f"no {pdb}: set MAINPY_TEST_DATA to the shared data folder", file=sys.stderr)
        return 2

    import numpy as np

    from mainpy.lang.lexer import split
    from mainpy.lang.parser import bind, resolve
    from mainpy.session import Session

    st = tiled_structure(pdb, grid)
    session = Session(out=io.StringIO())
    with tempfile.TemporaryDirectory() as tmp:
        cif = Path(tmp) / "tiled.cif"
        st.make_mmcif_document().write_file(str(cif))
        t0 = time.perf_counter()
        session.run(f'read coor file "{cif}"')
        t_read = time.perf_counter() - t0
    atoms = session.atoms
    print(f"model: 1d7m tiled {grid[0]}x{grid[1]}x{grid[2]} -> {len(atoms)} atoms, "
          f"{atoms.n_residues} residues, {len(st[0])} chains, "
          f"space group {session.model.spacegroup.xhm()}")
    print(f"read coor file (mmCIF): {t_read * 1e3:.0f} ms")
    session.run(f"key k sele {SMALL_KEY} end")
    print(f"small key k = {SMALL_KEY}: {int(session.keys['k'].mask.sum())} atoms")
    print()

    def node_of(sel: str):
        parsed = resolve(split(f"show sele {sel} end")[0], keys=session.key_names())
        return bind(parsed, session.variables)["sele"]

    print(f"{'selection':<54} {'atoms':>6} {'cold':>8} {'select':>8} {'median':>8} "
          f"{'run':>8} {'median':>8}   (ms; select = session.select, run = key k2 sele ...)")
    typical_worst = 0.0
    results = {}
    for sel in SELECTIONS:
        node = node_of(sel)
        session.model.atoms._codes.clear()           # cold: name columns not yet indexed
        t0 = time.perf_counter()
        mask = session.select(node)
        cold = time.perf_counter() - t0
        best, med, mask = best_median(lambda node=node: session.select(node), args.repeat)
        text = f"key k2 sele {sel} end"
        rbest, rmed, _ = best_median(lambda text=text: session.run(text), args.repeat)
        assert np.array_equal(session.keys["k2"].mask, mask)
        results[sel] = (best, rbest)
        if not sel.startswith("around"):
            typical_worst = max(typical_worst, rmed)
        print(f"{sel:<54} {int(mask.sum()):>6} {ms(cold)} {ms(best)} {ms(med)} "
              f"{ms(rbest)} {ms(rmed)}")
    session.out = io.StringIO()

    # gemmi alone, for the first selection
    import gemmi
    gst = session.model.structure
    sel = gemmi.Selection(GEMMI_CID)

    def with_gemmi_selection():
        n = 0
        for m in sel.models(gst):
            for ch in sel.chains(m):
                for res in sel.residues(ch):
                    for _ in sel.atoms(res):
                        n += 1
        return n

    charged = {"ARG", "LYS", "ASP", "GLU"}
    backbone = {"C", "N", "CA", "O"}

    def with_python_loop():
        mask = np.zeros(len(atoms), bool)
        i = 0
        for ch in gst[0]:
            for res in ch:
                hit = res.name in charged
                for at in res:
                    if hit and at.name not in backbone:
                        mask[i] = True
                    i += 1
        return mask

    gbest, gmed, gn = best_median(with_gemmi_selection, args.repeat)
    pbest, pmed, pmask = best_median(with_python_loop, max(3, args.repeat // 3))
    first = SELECTIONS[0]
    n_main = int(session.select(node_of(first)).sum())
    assert gn == n_main == int(pmask.sum()), (gn, n_main, int(pmask.sum()))
    print()
    print(f"reference for '{first}' ({n_main} atoms):")
    print(f"  gemmi.Selection('{GEMMI_CID}') counting atoms: best {ms(gbest)} ms, "
          f"median {ms(gmed)} ms")
    print(f"  Python loop over the gemmi hierarchy -> mask:         best {ms(pbest)} ms, "
          f"median {ms(pmed)} ms")
    sbest, rbest = results[first]
    print(f"  mainpy session.select: {ms(sbest)} ms, key k2 sele ... end: {ms(rbest)} ms")
    print(f"  ratio gemmi.Selection / session.select = {gbest / sbest:.0f} x, "
          f"Python loop / session.select = {pbest / sbest:.0f} x, "
          f"gemmi.Selection / the whole sentence = {gbest / rbest:.0f} x")
    print()
    verdict = "met" if typical_worst < GOAL_MS / 1e3 else "NOT MET"
    print(f"goal: a typical selection under {GOAL_MS:.0f} ms at the prompt (key ... sele ... "
          f"end); slowest typical (median): {typical_worst * 1e3:.1f} ms -> {verdict}")
    t_around = results[SELECTIONS[-1]][1]
    print(f"AROUND (symmetry neighbour search, not in the goal): {t_around * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
