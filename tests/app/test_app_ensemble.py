"""Ensembles through the refinement layer: members in parallel processes."""

import pytest

from mainpy.app.ensemble import KickRefinement, run_ensemble


def test_ensemble_keeps_the_best_by_r_work(data, monlib_dir, tmp_path):
    res = run_ensemble(data("xtal/1aba/1aba.pdb"), data("xtal/1aba/1aba.mtz"), tmp_path,
                       seeds=(1, 2), monlib=monlib_dir, workers=2,
                       variables={"KICK_RUN": 4, "KICK_STEPS": 2, "KICK_AMPL": 0.3})
    print("\n" + res.report())
    # the choice uses the work set only, so the R-free reported for it stays a fair check
    assert len(res.members) == 2 and res.best.r_work == min(m.r_work for m in res.members)
    assert (tmp_path / "best.pdb").exists()
    assert res.spread()["rms_from_best"]["max"] > 0        # different seeds, different models
    assert "best by R-work" in res.report()


def test_kick_settings_come_from_the_macro_variables():
    k = KickRefinement.from_variables({"KICK_AMPL": "0.5", "KICK_RUN": "40",
                                       "KICK_LAW": "SQUARE", "KICK_TARGET": "mli"})
    assert (k.amplitude, k.run, k.law, k.target, k.round_steps) == (0.5, 40, "square",
                                                                    "mli", 10)
    stages = k.stages(seed=7)
    assert [s.params for s in stages] == [("xyz",), ("xyz", "b")]
    assert all(s.kick.seed == 7 and s.kick.amplitude == 0.5 and s.steps == 40 for s in stages)
    with pytest.raises(ValueError):
        KickRefinement.from_variables({"KICK_RUN": "many"})
