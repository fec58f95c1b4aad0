"""MAIN's kicking methods and density combination on real data, with numbers (issue 7).

Each test prints what it measured (run with -s to see them); bench/bench_kick.py prints
the same table. Seeds are fixed, so the numbers repeat on one machine.
"""


import pytest

from tests.refine import kick_scenarios as K

pytestmark = pytest.mark.slow


def test_kick_protocol_against_plain_minimization(data, monlib_dir):
    # 1aba shaken by 0.8 A rms; 200 steps either way (re-phased every 20); kick 0.2 A falling
    # linearly to 0 in rounds of 20 steps
    r = K.convergence(data, monlib_dir, shake_seed=1)
    print(f"\nstart rms {r['start']['rms']:.3f} A, R-free {r['start']['r_free']:.4f}")
    for k in ("plain", "kick"):
        print(f"{k:>6}: rms to deposited (protein) {r[k]['rms']:.4f} A, "
              f"R-work {r[k]['r_work']:.4f}, R-free {r[k]['r_free']:.4f}")
    # measured (issue 7 report): the kick protocol does NOT reliably end closer than plain
    # minimization here. With mainpy's L-BFGS (fresh memory per segment): shake seed 1
    # plain 0.2782-0.2784 A / R-free 0.1978, kick 0.2773-0.2776 / 0.1967; seed 2 plain
    # 0.2358-0.2362 / 0.1970-0.1972, kick 0.2375-0.2379 / 0.1961-0.1962. What holds: it
    # converges as far, to an R-free 0.001 lower.
    assert r["kick"]["rms"] < 0.5 * r["start"]["rms"]
    assert r["kick"]["rms"] <= r["plain"]["rms"] + 0.01
    assert r["kick"]["r_free"] <= r["plain"]["r_free"] + 0.002


def test_averaged_kick_map_at_an_omitted_side_chain(data):
    r = K.kick_map_omit(data, resseq=22)
    print(f"\n{r['residue']} side chain ({r['atoms']} atoms) omitted: CC with the deposited "
          f"model's map, 2mFo-DFc {r['cc_2mfodfc']:.3f}, averaged kick map "
          f"{r['cc_kick']:.3f}")
    # measured: the kick map is NOT better here (ARG 22: 0.849 vs 0.832; LYS 13 0.725 vs
    # 0.734, LEU 63 0.745 vs 0.739): at 1.45 A an omitted side chain leaves little model
    # bias (the omit map's CC with the full model's own 2mFo-DFc is 0.994), and averaging
    # kicked models blurs the map. What holds: it is as good to within 0.03.
    assert r["cc_kick"] > r["cc_2mfodfc"] - 0.03


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


def test_ensemble_keeps_the_best_by_r_free(data, monlib_dir, tmp_path):
    from mainpy.refine.ensemble import run_ensemble
    res = run_ensemble(data("xtal/1aba/1aba.pdb"), data("xtal/1aba/1aba.mtz"), tmp_path,
                       seeds=(1, 2), monlib=monlib_dir, workers=2,
                       variables={"KICK_RUN": 4, "KICK_STEPS": 2, "KICK_AMPL": 0.3})
    print("\n" + res.report())
    assert len(res.members) == 2 and res.best.r_free == min(m.r_free for m in res.members)
    assert (tmp_path / "best.pdb").exists()
    assert res.spread()["rms_from_best"]["max"] > 0        # different seeds, different models
