"""Scenarios on real data for MAIN's kicking methods and density combination (issue 7).

Shared by tests/refine/test_kick_science.py and bench/bench_kick.py. Each function
takes `data(relpath) -> path` and the monomer library folder, runs through the command
language, and returns the numbers the test asserts and the bench prints. Seeds fixed.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mainpy.session import Session
from tests.lang.test_check import SECTION_7


def _session(data, monlib, code="1aba", ext="pdb"):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data(f'xtal/{code}/{code}.{ext}')}")
    s.run(f"read refl file {data(f'xtal/{code}/{code}.mtz')}")
    s.run(f"read mono {monlib}")
    return s


def protein(atoms):
    return ~atoms.het & (atoms.resname != "HOH")


def rms_to(atoms, ref_xyz, mask):
    return float(np.sqrt(((atoms.xyz[mask] - ref_xyz[mask]) ** 2).sum(axis=1).mean()))


# ---------------------------------------------------------------------------- 1. kicks

def shaken_1aba(data, monlib, shake_seed=1, rms=0.8):
    """1aba shaken by `rms` A (Gaussian, per atom), with the data weight of a short
    refinement of the deposited model (so both protocols start from the same weight)."""
    s = _session(data, monlib)
    ref = s.atoms.xyz.copy()
    deposited = s.atoms
    s.run("define bond angle dihe impr by topo; refl phase; ener xray on target ml")
    s.run("refine position step 20 phase steps 10 adjust bond 0.01")
    d = np.random.default_rng(shake_seed).normal(size=ref.shape) * rms / np.sqrt(3)
    s.model.atoms = deposited.replace(xyz=ref + d)
    s.run("refl phase")
    return s, ref


def _plain_refine(round_steps):
    """The plain protocol of `convergence` and `refinement_floor` (steps to be added)."""
    return f"refine position phase steps {round_steps} adjust bond 0.01"


def convergence(data, monlib, shake_seed=1, steps=200, round_steps=20, amplitude=0.3,
                kick_seeds=(1, 2, 3, 4)):
    """Plain minimization against the kick protocol from one shaken start (same weight,
    re-phased every ``round_steps``). The kick protocol is run once per kick seed
    (``steps`` each) and the run with the lowest R-free is kept (a multi-start ensemble);
    plain minimization is reported after ``steps`` and after as many steps as all the
    kick runs together (the same number of gradient evaluations)."""
    s, ref = shaken_1aba(data, monlib, shake_seed)
    shaken, weight = s.atoms, s.data_weight
    m = protein(shaken)

    def figures():
        return {"rms": rms_to(s.atoms, ref, m), "r_work": s.variables["R_WORK"],
                "r_free": s.variables["R_FREE"]}

    refine = _plain_refine(round_steps)
    out = {"start": figures()}
    s.run(f"{refine} step {steps}")
    out["plain"] = dict(figures(), steps=steps)
    s.run(f"{refine} step {steps * (len(kick_seeds) - 1)}")
    out["plain_same"] = dict(figures(), steps=steps * len(kick_seeds))
    members = []
    for k in kick_seeds:
        s.model.atoms, s.data_weight = shaken, weight
        s.run("refl phase")
        s.run(f"{refine} step {steps} phase kick = {amplitude:g} seed {k}")
        members.append(dict(figures(), seed=k))
    out["members"] = members
    out["best"] = min(members, key=lambda r: r["r_free"])
    return out


def convergence_lines(r, indent="  "):
    """The rows of one `convergence` result, for the test and the bench to print."""
    rows = [(f"plain {r[k]['steps']}", r[k]) for k in ("plain", "plain_same")]
    rows += [(f"kick seed {m['seed']}", m) for m in r["members"]]
    return [f"{indent}{name:>11}: rms to deposited (protein) {f['rms']:.4f} A, "
            f"R-work {f['r_work']:.4f}, R-free {f['r_free']:.4f}"
            + ("  <- best by R-free" if f is r["best"] else "") for name, f in rows]


def refinement_floor(data, monlib, steps=200, round_steps=20):
    """rms to the deposited model over protein atoms after the plain protocol of
    `convergence` started from the deposited model itself: how far the data and
    restraints move 1aba, about where a run from a shaken start can at best end."""
    s, ref = shaken_1aba(data, monlib, rms=0.0)
    s.run(f"{_plain_refine(round_steps)} step {steps}")
    return {"rms": rms_to(s.atoms, ref, protein(s.atoms)), "r_free": s.variables["R_FREE"]}


# ---------------------------------------------------------------------------- 2. kick maps

#: side chains of 1aba without altlocs, their CA atoms at least 10 A apart
OMITTED = (10, 18, 27, 31, 37, 50, 57, 65, 75, 83)
KICK_MAP_KINDS = ("2mfodfc", "2fofc", "mfodfc", "fofc")


def kick_maps_omitted(data, shake=0.4, amplitude=0.5, count=10, omitted=OMITTED,
                      shake_seed=1):
    """Ten side chains of 1aba omitted (occupancy 0 beyond CB), the rest of the model
    shaken by `shake` A rms (an unfinished model): for each map type, the correlation of
    the plain map and of the averaged kick map with the deposited model's Fcalc map
    within 1.5 A of each omitted side chain, averaged over the side chains."""
    from mainpy.xtal.maps import atom_mask, map_correlation
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    full = s.atoms
    s.run("refl phase; make map 9 fcalc")             # the deposited model's map
    side = ~full.het & ~np.isin(full.name, ["N", "CA", "C", "O", "CB"])
    groups = [side & (full.resseq == r) for r in omitted]
    omit = np.logical_or.reduce(groups)
    occ = np.where(omit, 0.0, full.occ)
    d = np.random.default_rng(shake_seed).normal(size=full.xyz.shape) * shake / np.sqrt(3)
    s.model.atoms = full.replace(occ=occ, xyz=full.xyz + d)
    s.run("refl phase")
    masks = [atom_mask(s.maps[9], full.xyz[g], 1.5) for g in groups]
    out = {"residues": [f"{full.resname[g][0]} {r}" for g, r in zip(groups, omitted)],
           "atoms": int(omit.sum()), "r_free": s.variables["R_FREE"]}
    for kind in KICK_MAP_KINDS:
        s.run(f"make map 5 {kind}; make map 8 kick = {amplitude:g} count {count} seed 1 "
              f"type {kind}")
        out[kind] = {m: float(np.mean([map_correlation(s.maps[n], s.maps[9], k)
                                       for k in masks]))
                     for m, n in (("plain", 5), ("kick", 8))}
    return out


# ---------------------------------------------------------------------------- 3. free kick

def free_kick_1d7m(data, monlib, target="kick", steps=60):
    """1d7m refined (coordinates, then coordinates and B) with the given X-ray target."""
    s = _session(data, monlib, "1d7m")
    s.run(f"define bond angle dihe impr by topo; refl phase; ener xray on target {target}")
    start = dict(s.variables)
    s.run(f"refine position step {steps} phase steps 20 adjust bond 0.01")
    s.run(f"refine position b-values step {steps} phase steps 20 adjust bond 0.01")
    return {"start_r_free": start["R_FREE"], "r_work": s.variables["R_WORK"],
            "r_free": s.variables["R_FREE"]}


# ---------------------------------------------------------------------------- 4. dens comb

#: LANGUAGE.md section 7 up to its RETURN (the density-combination setup, as written)
SECTION_7_SETUP = SECTION_7[:SECTION_7.index("return\n") + len("return\n")]


def partial_1aba(data, monlib, folder):
    """Files for partial-model refinement of 1aba, in ``folder``:

    partial.pdb  1aba without waters and ligand, 25 of 87 residues removed (stretches of
                 5 every 17), segment DM_A, shaken 0.4 A and regularized (geometry only);
    orig.ccp4    the "experimental" map: Fobs with the phases of the full model shaken
                 by 0.8 A (with its bulk solvent), on the data's grid.
    Returns (removed atoms' deposited coordinates, the deposited model's Fcalc map).
    """
    import gemmi

    from mainpy.xtal.fmodel import Fmodel
    from mainpy.xtal.maps import coefficients_to_map, grid_shape, write_map
    folder = Path(folder)
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    st.setup_entities()
    st.remove_ligands_and_waters()
    st.remove_hydrogens()
    ch = st[0][0]
    remove = set()
    for first in range(3, len(ch), 17):
        remove.update(range(first, min(first + 5, len(ch))))
    removed = []
    for i in sorted(remove, reverse=True):
        removed += [a.pos.tolist() for a in ch[i]]
        del ch[i]
    rng = np.random.default_rng(3)
    for r in ch:
        r.segment = "DM_A"
        for a in r:
            a.pos = gemmi.Position(*(np.array(a.pos.tolist())
                                     + rng.normal(size=3) * 0.4 / np.sqrt(3)))
    st.write_pdb(str(folder / "partial_raw.pdb"))
    g = Session(out=io.StringIO())
    g.run(f"read coor file {folder / 'partial_raw.pdb'}; read mono {monlib}; "
          f"define bond angle dihe impr by topo; minimize step 100; "
          f"write coor file {folder / 'partial.pdb'}")
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}; "
          f"read refl file {data('xtal/1aba/1aba.mtz')}")
    full, refl = s.atoms, s.reflections
    shaken = full.replace(xyz=full.xyz + np.random.default_rng(5).normal(
        size=full.xyz.shape) * 0.8 / np.sqrt(3))
    f = Fmodel(refl, shaken).f_model
    coef = np.where(refl.observed, np.nan_to_num(refl.fobs) * f / np.abs(f), 0)
    shape = grid_shape(refl.cell, refl.spacegroup, refl.d_min, 3.0)
    write_map(folder / "orig.ccp4", coefficients_to_map(refl.hkl, coef, refl.cell,
                                                        refl.spacegroup, shape=shape))
    ref_map = coefficients_to_map(refl.hkl, Fmodel(refl, full).f_model, refl.cell,
                                  refl.spacegroup, shape=shape)
    return np.array(removed), ref_map


def dens_comb(data, monlib, folder, mode="section7"):
    """Refine the partial model: ``section7`` runs LANGUAGE.md section 7 as written
    (density combination every RE_PHASE steps); ``dens`` refines against the
    experimental map alone (same steps, no combination); ``xray`` with the ML target.
    Returns R-values and map correlations with the deposited model's map in the
    missing region (1.5 A around the removed atoms)."""
    from mainpy.xtal.maps import atom_mask, map_correlation, read_map
    folder = Path(folder)
    removed, ref_map = _partial_reference(data, monlib, folder)
    mask = atom_mask(ref_map, removed, 1.5)
    s = Session(out=io.StringIO())
    s.run(f"read coor file {folder / 'partial.pdb'}; read refl file "
          f"{data('xtal/1aba/1aba.mtz')}; read mono {monlib}; "
          f"read map 1 file {folder / 'orig.ccp4'}")
    out = {"cc_orig": map_correlation(read_map(folder / "orig.ccp4"), ref_map, mask)}
    if mode == "section7":
        s.run(SECTION_7_SETUP, "section7")
        out["cc_map_fo"] = map_correlation(s.maps[2], ref_map, mask)
    else:
        s.run("<DEF_ALL\ndefine impr by topo init\nset temp sele all end = 28.0")
        if mode == "dens":
            s.run("ener dens map MAP_ORIG scal 800.\n"
                  "minimize sele work_set end step 120 phase steps 15")
        else:
            s.run("refl phase\nener xray on target ml\n"
                  "minimize sele work_set end step 120 phase steps 15")
    s.run("refl phase; make map 9 2mfodfc")
    out.update({"r_work": s.variables["R_WORK"], "r_free": s.variables["R_FREE"],
                "cc_2mfodfc": map_correlation(s.maps[9], ref_map, mask),
                "log": s.out.getvalue()})
    return out


_REFERENCE = {}


def _partial_reference(data, monlib, folder):
    key = str(folder)
    if key not in _REFERENCE:
        _REFERENCE[key] = partial_1aba(data, monlib, folder)
    return _REFERENCE[key]
