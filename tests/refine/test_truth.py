"""The truth benchmark's quick form (issue 16): the shipped `<refine` from a shaken start
against data simulated from the deposited model, judged by the distance to the truth.

The case is bench/bench_truth.py's first start of 1aba (data seed 1, shake 0.3 A with
seed 101, every B 30), so the figures printed here are that bench's `mainpy` row. The
bounds are today's measurement plus a margin: an improvement passes, a regression fails.
"""

import io
import re

import gemmi
import numpy as np
import pytest

from mainpy.xtal.simulate import shake, simulate

pytestmark = pytest.mark.slow

SEED, SHAKE, SHAKE_SEED, START_B = 1, 0.3, 101, 30.0


def protein_atoms(st: gemmi.Structure) -> dict:
    """(chain, resnum, icode, name, altloc) -> (xyz, B) of non-water heavy atoms, matched
    as the ruler rms.py matches them."""
    out = {}
    for ch in st[0]:
        for r in ch:
            if r.name == "HOH":
                continue
            for a in r:
                if not a.is_hydrogen():
                    out[(ch.name, r.seqid.num, r.seqid.icode, a.name, a.altloc)] = \
                        (np.array(a.pos.tolist()), a.b_iso)
    return out


def distances(model: dict, truth: dict) -> tuple[float, float]:
    """(rmsd of xyz, rmsd of B after removing the mean offset) over matching atoms."""
    keys = [k for k in model if k in truth]
    dx = np.array([model[k][0] - truth[k][0] for k in keys])
    b = np.array([model[k][1] for k in keys])
    bt = np.array([truth[k][1] for k in keys])
    db = (b - b.mean()) - (bt - bt.mean())
    return float(np.sqrt(np.mean(np.sum(dx ** 2, axis=1)))), float(np.sqrt(np.mean(db ** 2)))


def test_shipped_refine_from_a_shaken_start_towards_the_truth(data, monlib_dir, tmp_path):
    from mainpy.app.refinement import report_figures
    from mainpy.session import Session

    truth = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    truth.remove_hydrogens()
    d_max = gemmi.read_mtz_file(str(data("xtal/1aba/1aba.mtz"))).resolution_low()
    simulate(truth, 1.45, d_max, seed=SEED).mtz.write_to_file(str(tmp_path / "data.mtz"))
    shake(truth, SHAKE, seed=SHAKE_SEED, b=START_B).write_pdb(str(tmp_path / "start.pdb"))
    truth_atoms = protein_atoms(truth)
    start_rms, _ = distances(protein_atoms(gemmi.read_structure(str(tmp_path / "start.pdb"))),
                             truth_atoms)

    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    # the data were made without hydrogens (as the truth has none): none are added
    s.run("set vari REF_HYDROGENS = keep")
    s.run(f"<refine {tmp_path / 'start.pdb'} {tmp_path / 'data.mtz'} {tmp_path / 'out.pdb'}")
    f = report_figures(s, s.atoms)
    rms, b_rms = distances(protein_atoms(gemmi.read_structure(str(tmp_path / "out.pdb"))),
                           truth_atoms)
    print(f"\n1aba from {start_rms:.3f} A: rmsd to the truth {rms:.4f} A, B rmsd (offset "
          f"removed) {b_rms:.2f} A^2, mean B (all atoms) {f['mean B']:.1f}, R-work/R-free "
          f"(RE_PHASE) {f['R-work']:.4f}/{f['R-free']:.4f}, bonds {f['rmsd bonds']:.4f}")
    # measured with the protocol that ends by convergence (B first, then xyz + B;
    # this test, 2 cores): rmsd 0.0572 A from 0.303, B rmsd 1.50 A^2, R-work/R-free by
    # RE_PHASE 0.0741/0.0942, bonds 0.0099. The protocol before (10 + 20 steps) ended at
    # 0.0831 A and R-free 0.1421; servalcat (python bench/bench_truth.py --only 1aba)
    # reaches 0.068 A, and the truth's own R-free is 0.0831 (RE_PHASE).
    assert abs(start_rms - SHAKE) < 0.03 * SHAKE
    assert rms < 0.0572 + 0.01 and rms < 0.068           # as close as servalcat or closer
    assert f["R-free"] < 0.0942 + 0.01
    assert f["rmsd bonds"] < 0.02


def test_converged_is_not_overfitted_1d7m(data, monlib_dir, tmp_path):
    """1d7m (2.4 A) from bench_truth.py's 0.6 A start: the shipped macro ends where
    R-free stops improving, and running on twice as long (REF_CONVERGE -1) neither brings
    the model closer to the truth nor moves R-free by 0.002: past that point R-work still
    falls but the model only fits the work set's noise (the rmsd to the truth grows)."""
    from mainpy.session import Session

    truth = gemmi.read_structure(str(data("xtal/1d7m/1d7m.pdb")))
    truth.remove_hydrogens()
    d_max = gemmi.read_mtz_file(str(data("xtal/1d7m/1d7m.mtz"))).resolution_low()
    simulate(truth, 2.4, d_max, seed=SEED).mtz.write_to_file(str(tmp_path / "data.mtz"))
    shake(truth, 0.6, seed=SEED + 200, b=START_B).write_pdb(str(tmp_path / "start.pdb"))
    truth_atoms = protein_atoms(truth)

    def run(extra: str, out: str):
        s = Session(out=io.StringIO())
        s.run(f"read mono {monlib_dir}")
        if extra:
            s.run(extra)
        s.run(f"<refine {tmp_path / 'start.pdb'} {tmp_path / 'data.mtz'} {tmp_path / out}")
        rms, _ = distances(protein_atoms(gemmi.read_structure(str(tmp_path / out))),
                           truth_atoms)
        return rms, float(s.variables.get("R_FREE")), s.out.getvalue()

    rms, r_free, log = run("", "converged.pdb")
    ended = re.search(r"(\d+) steps, ended by convergence: R-free improved by less than "
                      r"0\.001", log)
    assert ended, log[-2000:]
    n = int(ended.group(1))
    rms2, r_free2, _ = run(f"set vari REF_STEPS = {2 * n}; set vari REF_CONVERGE = -1",
                           "longer.pdb")
    print(f"\n1d7m 0.6 A: converged after 10 + {n} steps: rmsd {rms:.4f} A, R-free "
          f"{r_free:.4f}; 10 + {2 * n} steps: {rms2:.4f} A, {r_free2:.4f}")
    # measured (2 cores): 10 + 80 steps, 0.181 A and R-free (RE_PHASE) 0.1203; 10 + 160
    # steps, 0.198 A and 0.1206 (servalcat, bench_truth.py: 0.245 A). While R-work had to
    # stop falling too, the run took 10 + 120 steps to 0.189 A (the steps bound below)
    assert rms < 0.245                                  # closer than servalcat
    assert rms2 > rms - 0.003                           # running on gains nothing
    assert abs(r_free2 - r_free) < 0.002
    assert n <= 110


def test_riding_hydrogens_from_a_far_start(data, monlib_dir, tmp_path):
    """1aba with its hydrogens as the truth (data made with them scattering, as a real
    crystal's do), the start shaken 0.6 A without H: the shipped macro adds riding H to
    that start and must still reach the truth. Placed only by their restraints from
    where they were, H left on the wrong side of their parent (an HA when a CA's
    chirality was set right, aromatic H off their ring) held the heavy atoms at angle
    rms Z 1.58; the data weight, halved at every re-phasing for it, left the run at
    0.123 A with R-free rising. Held by their own B in the B similarity (B_H = 1.2
    B_P), the H pushed their parents' B down: B 3.1-3.9 A^2 rms from the truth."""
    from mainpy.app.refinement import report_figures
    from mainpy.session import Session

    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}; hydrogen add; "
          f"write coor file {tmp_path / 'truth.pdb'}")
    truth = gemmi.read_structure(str(tmp_path / "truth.pdb"))
    d_max = gemmi.read_mtz_file(str(data("xtal/1aba/1aba.mtz"))).resolution_low()
    simulate(truth, 1.45, d_max, seed=SEED, hydrogens=True).mtz.write_to_file(
        str(tmp_path / "data.mtz"))
    shake(truth, 0.6, seed=SEED + 200, b=START_B).write_pdb(str(tmp_path / "start.pdb"))
    truth_atoms = protein_atoms(truth)

    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    s.run(f"<refine {tmp_path / 'start.pdb'} {tmp_path / 'data.mtz'} {tmp_path / 'out.pdb'}")
    log = s.out.getvalue()
    assert re.search(r"\d+ hydrogens added", log)
    f = report_figures(s, s.atoms)
    rms, b_rms = distances(protein_atoms(gemmi.read_structure(str(tmp_path / "out.pdb"))),
                           truth_atoms)
    angle_z = float(re.findall(r"^ angle +\d+ +[\d.]+ +([\d.]+)", log, re.M)[-1])
    print(f"\n1aba with H from 0.6 A: rmsd to the truth {rms:.4f} A, B rmsd {b_rms:.2f} "
          f"A^2, angle rms Z {angle_z:.3f}, R-free (RE_PHASE) {f['R-free']:.4f}")
    # measured (2 cores): 0.0996 A, B rmsd 1.78 A^2, angle rms Z 1.054, R-free 0.0954;
    # before: 0.123 A, 3.14 A^2, 1.58, 0.1211 (10 + 70 steps)
    assert angle_z < 1.2
    assert rms < 0.0996 + 0.01
    assert b_rms < 1.78 + 0.5
    assert f["R-free"] < 0.0954 + 0.01
