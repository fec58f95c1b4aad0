"""The EM demo: simulated cryo-EM data from the demo's ideal model, a shaken start, and
the shipped staged EM refinement (macros/refine_em.cmds) run on them.

    python examples/make_em_demo.py [folder]      (default: em_demo in the current folder)

It writes full.mrc, half1.mrc and half2.mrc (1.1 A pixels, the model's density blurred
by B 40, half-map FSC falling to 0.143 at 3.0 A), start.pdb (the truth shaken by 0.5 A,
all B 30) and refined.pdb, and prints the rmsd to the truth before and after.
"""

import sys
from pathlib import Path

import numpy as np

from mainpy import Session
from mainpy.em.mapfile import write_em_map
from mainpy.em.simulate import simulate_maps
from mainpy.xtal.simulate import shake

HERE = Path(__file__).resolve().parent


def main(folder="em_demo"):
    out = Path(folder)
    out.mkdir(exist_ok=True)
    s = Session()
    s.run(f"read coor file {HERE / 'demo_true.pdb'}")
    truth = s.atoms
    for m, name in zip(simulate_maps(truth, resolution=3.0, pixel=1.1, b_blur=40.0,
                                     seed=1), ("full", "half1", "half2")):
        write_em_map(out / f"{name}.mrc", m)
    shake(s.model.synced_structure(), 0.5, seed=2).write_pdb(str(out / "start.pdb"))
    s.run(f"<refine_em {out / 'start.pdb'} {out / 'full.mrc'} {out / 'half1.mrc'} "
          f"{out / 'half2.mrc'} {out / 'refined.pdb'}")
    start = Session()
    start.run(f"read coor file {out / 'start.pdb'}")
    for label, xyz in (("start", start.atoms.xyz), ("refined", s.atoms.xyz)):
        rmsd = np.sqrt(np.mean(np.sum((xyz - truth.xyz) ** 2, axis=1)))
        print(f" rmsd to the truth, {label}: {rmsd:.3f} A")


if __name__ == "__main__":
    main(*sys.argv[1:2])
