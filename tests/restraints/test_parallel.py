"""The restraint terms on several threads give the serial result.

Energy and gradients of every term, evaluated with 1 and 2 numba threads (and the
kernels cut into any number of chunks), agree with the serial kernels to 1e-10 relative;
the parallel pair search returns the very same pairs in the same order.
"""

import numba
import numpy as np
import pytest
from restraint_helpers import shaken

from mainpy.restraints import energy as energy_module
from mainpy.restraints import terms as k
from mainpy.restraints.energy import ANISO_TERMS
from mainpy.restraints.energy import TERMS as ALL_TERMS

#: the terms of the chunked kernels (the anisotropic-U terms exist only with ANISOU atoms,
#: none here, and are evaluated whole: tests/restraints/test_adp_aniso.py; local NCS is
#: evaluated whole too: tests/restraints/test_ncs.py)
TERMS = tuple(t for t in ALL_TERMS if t not in ANISO_TERMS + ("ncs",))

REL = 1e-10


@pytest.fixture
def threads():
    """set(n): run on n numba threads (skipped where numba has fewer); restored after."""
    before = numba.get_num_threads()

    def set_threads(n):
        if n > numba.config.NUMBA_NUM_THREADS:
            pytest.skip(f"numba has {numba.config.NUMBA_NUM_THREADS} thread(s) here, not {n}")
        numba.set_num_threads(n)

    yield set_threads
    numba.set_num_threads(before)


def _rel(a, b):
    """max |a - b| / max |b| (b nonzero)."""
    scale = np.max(np.abs(b))
    assert scale > 0
    return float(np.max(np.abs(a - b)) / scale)


def _state(case, seed):
    """Shaken coordinates and noisy B values: every term has energy and gradient."""
    xyz = shaken(case.atoms.xyz, 0.25, seed=seed)
    rng = np.random.default_rng(seed)
    b = case.atoms.b + rng.normal(0.0, 4.0, len(xyz))
    return xyz, b


@pytest.mark.parametrize("n_threads", [1, 2])
def test_parallel_energy_matches_serial(any_case, n_threads, threads, monkeypatch):
    """Energy.evaluate on the chunked (parallel) path against the serial kernels, all
    terms and one at a time, with a scaled and a switched-off term."""
    threads(n_threads)
    xyz, b = _state(any_case, seed=21)
    serial = any_case.energy()
    par = any_case.energy()
    for en in (serial, par):
        en.set_term("angle", scale=0.5)
        en.set_term("nonbonded", scale=2.0)
        en.nonbonded.build(xyz)
    monkeypatch.setattr(energy_module, "PARALLEL_MIN_ATOMS", 10 ** 9)
    assert energy_module.parallel_chunks(len(xyz)) == 1
    ref = serial.evaluate(xyz, b)
    ref_dev = serial.plane_dev.copy()
    monkeypatch.setattr(energy_module, "PARALLEL_MIN_ATOMS", 0)
    monkeypatch.setattr(energy_module, "CHUNK_MIN_NS_PER_ATOM", 0.0)
    monkeypatch.setattr(energy_module, "CHUNK_MIN_NS", 0.0)
    assert energy_module.parallel_chunks(len(xyz)) == n_threads
    got = par.evaluate(xyz, b)
    assert set(got.terms) == set(TERMS)
    for t in TERMS:
        assert ref.terms[t] > 0
        assert abs(got.terms[t] - ref.terms[t]) <= REL * ref.terms[t], t
    assert abs(got.total - ref.total) <= REL * ref.total
    assert _rel(got.grad, ref.grad) <= REL
    assert _rel(got.grad_b, ref.grad_b) <= REL
    assert np.allclose(par.plane_dev, ref_dev, rtol=0, atol=1e-14)
    again = par.evaluate(xyz, b)  # the per-chunk arrays kept from the last call are zero
    assert again.total == got.total and np.array_equal(again.grad, got.grad)
    assert np.array_equal(again.grad_b, got.grad_b)
    for t in TERMS:  # each term alone, on its own gradient array
        monkeypatch.setattr(energy_module, "PARALLEL_MIN_ATOMS", 10 ** 9)
        r1 = serial.evaluate(xyz, b, terms=[t])
        monkeypatch.setattr(energy_module, "PARALLEL_MIN_ATOMS", 0)
        r2 = par.evaluate(xyz, b, terms=[t])
        assert abs(r2.total - r1.total) <= REL * r1.total, t
        g1, g2 = (r1.grad_b, r2.grad_b) if t == "adp" else (r1.grad, r2.grad)
        assert _rel(g2, g1) <= REL, t
    par.set_term("bond", on=False)
    off = par.evaluate(xyz, b)
    assert "bond" not in off.terms
    monkeypatch.setattr(energy_module, "PARALLEL_MIN_ATOMS", 10 ** 9)
    no_bond = serial.evaluate(xyz, b, terms=[t for t in TERMS if t != "bond"])
    assert _rel(off.grad, no_bond.grad) <= REL


@pytest.mark.parametrize("n_threads", [1, 2])
def test_chunked_kernels_any_chunk_count(d7m, n_threads, threads):
    """Each chunked kernel, cut into 1, 2, 3 or 7 chunks on 1 or 2 threads, gives the
    serial kernel's energy and gradient (1d7m: contacts through symmetry; a bond to a
    symmetry image added)."""
    threads(n_threads)
    r = d7m.restraints
    en = d7m.energy()
    xyz, b = _state(d7m, seed=5)
    en.nonbonded.build(xyz)
    nb = en.nonbonded
    assert (nb.img >= 0).any()
    # two bonds to a symmetry image, in the middle of the list
    ops = np.concatenate([r.sym_ops, nb.ops[:1]]) if len(nb.ops) else r.sym_ops
    s_new = len(ops) - 1
    bidx = np.concatenate([r.bond_idx[:700], [[10, 20], [30, 30]], r.bond_idx[700:]])
    bsym = np.concatenate([r.bond_sym[:700], [s_new, s_new], r.bond_sym[700:]])
    bideal = np.concatenate([r.bond_ideal[:700], [2.0, 3.0], r.bond_ideal[700:]])
    bw = np.concatenate([en.w_bond[:700], [1.0, 2.0], en.w_bond[700:]])
    n = len(xyz)
    cases = {
        "bond": (lambda g: k.bond_energy(xyz, bidx, bideal, bw, bsym, ops, g),
                 lambda gb, s: k.bond_energy_chunked(xyz, bidx, bideal, bw, bsym, ops, gb, s)),
        "angle": (lambda g: k.angle_energy(xyz, r.angle_idx, r.angle_ideal, en.w_angle, g),
                  lambda gb, s: k.angle_energy_chunked(xyz, r.angle_idx, r.angle_ideal,
                                                       en.w_angle, gb, s)),
        "torsion": (lambda g: k.torsion_energy(xyz, r.tors_idx, r.tors_ideal, en.w_tors,
                                               r.tors_period, g),
                    lambda gb, s: k.torsion_energy_chunked(xyz, r.tors_idx, r.tors_ideal,
                                                           en.w_tors, r.tors_period, gb, s)),
        "chiral": (lambda g: k.chiral_energy(xyz, r.chir_idx, r.chir_ideal, r.chir_sign,
                                             en.w_chir, g),
                   lambda gb, s: k.chiral_energy_chunked(xyz, r.chir_idx, r.chir_ideal,
                                                         r.chir_sign, en.w_chir, gb, s)),
        "plane": (lambda g: k.plane_energy(xyz, r.plane_atoms, r.plane_start, en.w_plane, g,
                                           np.zeros(len(r.plane_atoms))),
                  lambda gb, s: k.plane_energy_chunked(xyz, r.plane_atoms, r.plane_start,
                                                       en.w_plane, np.zeros(len(r.plane_atoms)),
                                                       gb, s)),
        "nonbonded": (lambda g: k.nonbonded_energy(xyz, nb.pairs, nb.img, nb.d0, nb.w, nb.ops,
                                                   g),
                      lambda gb, s: k.nonbonded_energy_chunked(xyz, nb.pairs, nb.img, nb.d0,
                                                               nb.w, nb.ops, gb, s)),
    }
    for name, (serial, chunked) in cases.items():
        g_ref = np.zeros_like(xyz)
        e_ref = serial(g_ref)
        assert e_ref > 0, name
        for nch in (1, 2, 3, 7):
            gbuf = np.zeros((nch, n, 3))
            e = chunked(gbuf, 0.5)
            assert abs(e - e_ref) <= REL * e_ref, (name, nch)
            assert _rel(k.sum_chunks(gbuf, False), 0.5 * g_ref) <= REL, (name, nch)
    gb_ref = np.zeros(n)
    e_ref = k.adp_energy(b, en.adp_pairs, en.w_adp, gb_ref)
    for nch in (1, 2, 3, 7):
        bbuf = np.zeros((nch, n))
        e = k.adp_energy_chunked(b, en.adp_pairs, en.w_adp, bbuf, 1.0)
        assert abs(e - e_ref) <= REL * e_ref
        assert _rel(k.sum_chunks(bbuf, False), gb_ref) <= REL


def test_pair_list_same_on_any_threads(d7m, threads):
    """The parallel cell-list search writes the same pairs, in the same order, on 1 and
    2 threads, and the Verlet check's displacement is numpy's."""
    from mainpy.restraints._cells import max_displacement_sq
    xyz = shaken(d7m.atoms.xyz, 0.1, seed=3)
    lists = []
    for n in (1, 2):
        threads(n)
        en = d7m.energy()
        en.nonbonded.build(xyz)
        nb = en.nonbonded
        lists.append((nb.pairs.copy(), nb.img.copy(), nb.d0.copy(), nb.w.copy()))
    assert len(lists[0][0]) > 5000
    for a, b in zip(*lists):
        assert np.array_equal(a, b)
    moved = shaken(xyz, 0.2, seed=4)
    expect = float(np.max(np.sum((moved - xyz) ** 2, axis=1)))
    assert max_displacement_sq(moved, xyz) == pytest.approx(expect, rel=1e-15)


def test_default_thresholds_1d7m(d7m, threads, monkeypatch):
    """With the shipped thresholds, 1d7m (1715 atoms) on 2 threads runs all terms on
    chunks and a single small term serially; both give the serial result."""
    threads(2)
    xyz, b = _state(d7m, seed=8)
    en = d7m.energy()
    en.nonbonded.build(xyz)
    monkeypatch.setattr(energy_module, "PARALLEL_MIN_ATOMS", 10 ** 9)
    ref = en.evaluate(xyz, b)
    ref_chiral = en.evaluate(xyz, terms=["chiral"])
    monkeypatch.undo()
    assert len(xyz) >= energy_module.PARALLEL_MIN_ATOMS
    got = en.evaluate(xyz, b)
    assert (2, len(xyz), 3) in en._buffers          # the chunked path ran
    assert abs(got.total - ref.total) <= REL * ref.total
    assert _rel(got.grad, ref.grad) <= REL and _rel(got.grad_b, ref.grad_b) <= REL
    en._buffers.clear()
    chiral = en.evaluate(xyz, terms=["chiral"])
    assert not en._buffers                           # too little work: serial
    assert chiral.total == ref_chiral.total and np.array_equal(chiral.grad, ref_chiral.grad)
