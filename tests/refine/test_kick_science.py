"""MAIN's kicking methods and density combination on real data, with numbers (issue 7).

Each test prints what it measured (run with -s to see them); bench/bench_kick.py prints
the same table. Seeds are fixed; the numbers repeat to about 0.003 (threaded sums differ
in their last bits, and long refinements carry that along).
"""


import pytest

from tests.refine import kick_scenarios as K

pytestmark = pytest.mark.slow


def test_kick_ensemble_against_plain_minimization(data, monlib_dir):
    # 1aba shaken by 0.8 A rms (four shakes); kick 0.3 A falling linearly to 0 in rounds
    # of 20 steps, 200 steps, run with kick seeds 1-4 and the best by R-free kept; plain
    # minimization after 200 steps and after 800 (as many gradient evaluations as the
    # four kick runs together)
    shakes = (1, 2, 3, 4)
    runs = [K.convergence(data, monlib_dir, shake_seed=seed) for seed in shakes]
    for seed, r in zip(shakes, runs):
        print(f"\nshake seed {seed}: start rms {r['start']['rms']:.3f} A, "
              f"R-free {r['start']['r_free']:.4f}")
        print("\n".join(K.convergence_lines(r)))

    def mean(key, what):
        return sum(r[key][what] for r in runs) / len(runs)
    print("mean over the shakes: " + ", ".join(
        f"{k} {mean(k, 'rms'):.4f} A / R-free {mean(k, 'r_free'):.4f}"
        for k in ("plain", "plain_same", "best")))
    # measured (issue 7 notes), best of four kick runs against plain 800 and plain 200:
    # rms closer than plain 800 on all four shakes (by 0.008-0.07 A), R-free lower on
    # three (shake 4: 0.1872 against 0.1857 / 0.1858); means 0.2417 A / 0.1831 against
    # 0.2733 / 0.1912 (plain 800) and 0.2473 / 0.1907 (plain 200). A single kick run is
    # NOT better than plain minimization on average (its rms is worse on three shakes of
    # four); the gain is in the spread, which selection by R-free exploits. Plain
    # minimization gains nothing from more steps: 1aba refined from the deposited model
    # itself moves 0.20 A (servalcat: 0.21 A) and keeps drifting (0.23 A after 800).
    for r in runs:
        assert r["best"]["rms"] < 0.35 * r["start"]["rms"]
        assert r["best"]["rms"] < r["plain_same"]["rms"] - 0.005
    assert mean("best", "rms") < mean("plain_same", "rms") - 0.015
    assert mean("best", "r_free") < mean("plain_same", "r_free") - 0.004
    assert mean("best", "rms") <= mean("plain", "rms") + 0.002
    assert mean("best", "r_free") < mean("plain", "r_free") - 0.004


def test_averaged_kick_maps_at_omitted_side_chains(data):
    # ten side chains omitted, the rest shaken by 0.4 A (R-free 0.39); CC with the
    # deposited model's map at the omitted side chains, plain map and kick map (10
    # models kicked by up to 0.5 A), for each map type
    r = K.kick_maps_omitted(data, shake=0.4)
    print(f"\n{len(r['residues'])} side chains ({r['atoms']} atoms) omitted, R-free "
          f"{r['r_free']:.4f}")
    for kind in K.KICK_MAP_KINDS:
        print(f"  {kind:>8}: plain {r[kind]['plain']:.4f}  kick {r[kind]['kick']:.4f}")
    # measured: unweighted kick maps gain on their plain maps (2Fo-Fc 0.7445 -> 0.7694,
    # Fo-Fc 0.6821 -> 0.7081; over shake seeds 1-3 and shakes 0.25-0.6 A, +0.003 to
    # +0.032), closing about half the gap to the sigmaA-weighted maps: the kicks act as
    # a numerical maximum-likelihood weighting (Praznikar et al. 2009). sigmaA-weighted
    # kick maps equal their plain maps (2mFo-DFc 0.7920 both; within 0.006 on every
    # shake tried, lower with larger kicks): the claim that they show the omitted atoms
    # better is NOT borne out on these data.
    for kind in ("2fofc", "fofc"):
        assert r[kind]["kick"] > r[kind]["plain"] + 0.01
    for kind in ("2mfodfc", "mfodfc"):
        assert abs(r[kind]["kick"] - r[kind]["plain"]) < 0.01
    assert r["2fofc"]["kick"] < r["2mfodfc"]["plain"]
    assert r["fofc"]["kick"] < r["mfodfc"]["plain"]


def test_free_kick_target_without_the_free_set(data, monlib_dir):
    ml = K.free_kick_1d7m(data, monlib_dir, "ml")
    kick = K.free_kick_1d7m(data, monlib_dir, "kick")
    print(f"\n1d7m from R-free {ml['start_r_free']:.4f}: ML (sigmaA from the test set) "
          f"R-work {ml['r_work']:.4f} R-free {ml['r_free']:.4f}; free kick (work set only) "
          f"R-work {kick['r_work']:.4f} R-free {kick['r_free']:.4f}")
    assert kick["r_free"] <= ml["r_free"] + 0.005
    assert kick["r_free"] < kick["start_r_free"]


def test_density_combination_section_7(data, monlib_dir, tmp_path):
    dc = K.dens_comb(data, monlib_dir, tmp_path, "section7")
    alone = K.dens_comb(data, monlib_dir, tmp_path, "dens")
    print(f"\nmissing region CC with the deposited model's map: experimental map "
          f"{dc['cc_orig']:.3f}, MAP_FO after density combination {dc['cc_map_fo']:.3f}")
    print(f"partial model R-work/R-free: density combination {dc['r_work']:.4f}/"
          f"{dc['r_free']:.4f}, refined against the experimental map alone "
          f"{alone['r_work']:.4f}/{alone['r_free']:.4f}")
    print(f"2mFo-DFc CC in the missing region: {dc['cc_2mfodfc']:.3f} vs "
          f"{alone['cc_2mfodfc']:.3f}")
    assert dc["log"].count("RE_PHASE") >= 7            # the phase macro ran every 15 steps
    assert dc["cc_map_fo"] > dc["cc_orig"] + 0.03
    assert dc["r_free"] < alone["r_free"] - 0.005
