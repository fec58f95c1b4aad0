"""Make the demo data set in examples/: a model built by mainpy and data simulated from it.

    python examples/make_demo_data.py

Nothing here comes from a deposited structure. Two antiparallel alpha helices are built
from Engh & Huber geometry (side chains from mainpy's built-in dictionary) in a
P 21 21 21 cell; amplitudes to 2.0 A are computed from that model with a flat bulk
solvent (k_sol 0.35, B_sol 46), an anisotropic overall scale and 4% noise; 5% of the
reflections are flagged free (CCP4 convention, 0 = free). The starting model of the demo
is the true one with its coordinates kicked by up to 0.4 A, then regularized by
geometry-only minimization (good geometry, wrong positions), all B-values set to 25.
Deterministic: running it again writes the same files.

Files: demo_true.pdb (the answer), demo_start.pdb (what the demo refines), demo.mtz.
"""

from pathlib import Path

import gemmi
import numpy as np

from mainpy.model.atoms import from_structure, to_structure
from mainpy.model.build import peptide
from mainpy.model.perturb import kick_coordinates

HERE = Path(__file__).resolve().parent
DICTIONARY = HERE.parent / "mainpy" / "restraints" / "dictionary"

HELIX_1 = "SER PRO GLU GLU LEU LYS LYS LEU LEU GLU GLU ALA LYS ARG LEU LEU GLU GLU".split()
HELIX_2 = "SER PRO LYS GLU ALA LEU ARG LYS ALA ILE GLU LEU ALA LYS LYS PHE LEU GLU".split()
CELL = gemmi.UnitCell(40.0, 44.0, 52.0, 90, 90, 90)
SPACEGROUP = "P 21 21 21"
D_MIN = 2.0
SEED = 2026


def _axis_frame(xyz: np.ndarray):
    """Centre and unit axis (first principal direction) of a helix's atoms."""
    c = xyz.mean(axis=0)
    _, _, vt = np.linalg.svd(xyz - c)
    return c, vt[0]


def _rotation_to(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrix taking unit vector a onto unit vector b."""
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3) if c > 0 else -np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def build_model(monlib) -> gemmi.Structure:
    st = gemmi.Structure()
    st.add_model(gemmi.Model(1))
    for name, seq, x_shift, flip in (("A", HELIX_1, -4.9, False), ("B", HELIX_2, 4.9, True)):
        part = peptide(seq, monlib, chain=name)
        ch = part[0][0]
        xyz = np.array([a.pos.tolist() for r in ch for a in r])
        c, axis = _axis_frame(xyz)
        rot = _rotation_to(axis, np.array([0.0, 0.0, -1.0 if flip else 1.0]))
        centre = np.array([CELL.a / 4 + x_shift, CELL.b / 4, CELL.c / 4])
        for r in ch:
            for a in r:
                p = rot @ (np.array(a.pos.tolist()) - c) + centre
                a.pos = gemmi.Position(*p)
        for k, r in enumerate(ch):       # B-values: higher at the ends of the helices
            for a in r:
                a.b_iso = 14.0 + 10.0 * abs(k - len(ch) / 2) / (len(ch) / 2) + \
                    (4.0 if a.name not in ("N", "CA", "C", "O") else 0.0)
        st[0].add_chain(ch)
    st.cell = CELL
    st.spacegroup_hm = SPACEGROUP
    st.setup_cell_images()
    st.setup_entities()
    return st


def closest_symmetry_contact(st: gemmi.Structure) -> float:
    ns = gemmi.NeighborSearch(st[0], st.cell, 5).populate()
    best = 99.0
    for ch in st[0]:
        for r in ch:
            for a in r:
                for m in ns.find_atoms(a.pos, "\0", radius=4.0):
                    if m.image_idx != 0:
                        best = min(best, m.pos.dist(a.pos))
    return best


def simulate(st: gemmi.Structure, rng) -> gemmi.Mtz:
    from mainpy.xtal.fcalc import FcalcCalculator
    from mainpy.xtal.solvent import fmask_from_grid, mask_grid

    sg = st.find_spacegroup()
    hkl = gemmi.make_miller_array(CELL, sg, D_MIN)
    atoms = from_structure(st)
    calc = FcalcCalculator(CELL, sg, hkl)
    fc = calc(atoms)
    mask = mask_grid(calc.model(atoms), CELL, sg)
    fmask = fmask_from_grid(mask, hkl)
    d = CELL.calculate_d_array(hkl)
    s2 = 1.0 / d ** 2
    f_bulk = 0.35 * np.exp(-46.0 * s2 / 4.0) * fmask
    h, k, l = (hkl[:, i] / np.array([CELL.a, CELL.b, CELL.c])[i] for i in range(3))
    k_aniso = np.exp(-0.25 * (3.0 * h * h - 2.0 * k * k - 1.0 * l * l))
    f_true = 2.5 * k_aniso * np.abs(fc + f_bulk)
    sigma = 0.04 * f_true + 0.02 * f_true.mean()
    fobs = np.abs(f_true + rng.normal(size=len(f_true)) * sigma)
    flags = rng.integers(0, 20, size=len(f_true))     # CCP4: 0 = free (5%)

    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = sg
    mtz.set_cell_for_all(CELL)
    mtz.add_dataset("demo")
    for label, kind in (("FP", "F"), ("SIGFP", "Q"), ("FreeR_flag", "I")):
        mtz.add_column(label, kind)
    data = np.column_stack([hkl, fobs, sigma, flags]).astype(np.float32)
    mtz.set_data(data)
    mtz.history = ["simulated by mainpy examples/make_demo_data.py"]
    return mtz


def regularize(st: gemmi.Structure, monlib):
    """The model after geometry-only minimization with mainpy's own restraints."""
    from mainpy.restraints.energy import Energy
    from mainpy.refine.driver import regularize as minimize_restraints
    from mainpy.restraints.monlib import load_monlib
    lib = load_monlib(sorted(set(HELIX_1 + HELIX_2)), str(DICTIONARY))
    atoms = from_structure(st)
    energy = Energy.from_structure(st, lib, atoms=atoms)
    return minimize_restraints(atoms, energy, steps=40).atoms


def main():
    rng = np.random.default_rng(SEED)
    monlib = gemmi.read_monomer_lib(str(DICTIONARY), sorted(set(HELIX_1 + HELIX_2)))
    st = build_model(monlib)
    contact = closest_symmetry_contact(st)
    if contact < 3.0:
        raise SystemExit(f"the helices clash with their symmetry mates ({contact:.2f} A)")
    st.write_pdb(str(HERE / "demo_true.pdb"))
    simulate(st, rng).write_to_file(str(HERE / "demo.mtz"))
    atoms = from_structure(st)
    start = atoms.replace(xyz=kick_coordinates(atoms.xyz, np.ones(len(atoms), bool), 0.4,
                                               seed=SEED),
                          b=np.full(len(atoms), 25.0))
    to_structure(start, st)
    # a realistic start: good geometry, wrong positions (the kick, regularized)
    start = regularize(st, monlib)
    to_structure(start, st)
    st.write_pdb(str(HERE / "demo_start.pdb"))
    rms = np.sqrt(((start.xyz - atoms.xyz) ** 2).sum(axis=1).mean())
    print(f"{len(atoms)} atoms, closest symmetry contact {contact:.2f} A, start {rms:.2f} A "
          "rms from the true model; wrote "
          "demo_true.pdb, demo_start.pdb, demo.mtz")


if __name__ == "__main__":
    main()
