"""The Dask engine: ENSEMBLE on a LocalCluster of 2 worker processes gives what the local
process pool gives; failures come back per task; the engine is chosen as documented."""

import numpy as np
import pytest

from mainpy.app import cluster
from mainpy.app.ensemble import run_ensemble

distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed "
                                  "(pip install mainpy[cluster])")


@pytest.fixture
def local_cluster():
    """A LocalCluster this test starts and closes (nothing needs a running service)."""
    import logging
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR)
    try:
        yield lc
    finally:
        lc.close()


def _fail_on_odd(x):
    if x % 2:
        raise ValueError(f"odd {x}")
    return x * x


@pytest.mark.slow
def test_ensemble_on_a_local_cluster_matches_the_local_pool(data, monlib_dir, tmp_path,
                                                            local_cluster):
    kw = dict(seeds=(1, 2), monlib=monlib_dir,
              variables={"KICK_RUN": 4, "KICK_STEPS": 2, "KICK_AMPL": 0.3})
    model, mtz = data("xtal/1aba/1aba.pdb"), data("xtal/1aba/1aba.mtz")
    said = []
    on_dask = run_ensemble(model, mtz, tmp_path / "dask", **kw, say=said.append,
                           engine=cluster.DaskEngine(local_cluster.scheduler_address))
    pooled = run_ensemble(model, mtz, tmp_path / "pool", **kw, workers=2)
    print("\n" + on_dask.report())
    assert any("dashboard" in s for s in said)
    assert on_dask.best.seed == pooled.best.seed
    # the same best model to PDB precision (coordinates written to 0.001 A)
    assert np.abs(on_dask.best.xyz - pooled.best.xyz).max() < 1e-3
    assert abs(on_dask.best.r_work - pooled.best.r_work) < 1e-5
    # the members' models and logs came back into the session's folder
    for sd in (1, 2):
        assert (tmp_path / "dask" / f"member_{sd}.pdb").stat().st_size > 10000
        assert "R" in (tmp_path / "dask" / f"member_{sd}.log").read_text()
    a = (tmp_path / "dask" / "best.pdb").read_text().splitlines()
    b = (tmp_path / "pool" / "best.pdb").read_text().splitlines()
    ra = [ln for ln in a if ln.startswith(("ATOM", "HETATM"))]
    rb = [ln for ln in b if ln.startswith(("ATOM", "HETATM"))]
    assert [ln[:30] for ln in ra] == [ln[:30] for ln in rb]       # the same atoms
    # the same numbers to the last written digit: Dask's workers and the pool's processes
    # may run numba on different thread counts, whose parallel sums round differently
    # (1e-4 A here), so a coordinate can fall on either side of a rounding step (CI saw
    # -2.479 against -2.480)
    na = np.array([[float(ln[k:k + 8]) for k in (30, 38, 46)] + [float(ln[54:60]),
                   float(ln[60:66])] for ln in ra])
    nb = np.array([[float(ln[k:k + 8]) for k in (30, 38, 46)] + [float(ln[54:60]),
                   float(ln[60:66])] for ln in rb])
    assert np.abs(na[:, :3] - nb[:, :3]).max() <= 0.0011        # x y z to 0.001 A
    assert np.abs(na[:, 3:] - nb[:, 3:]).max() <= 0.011         # occupancy, B to 0.01


def test_a_failing_task_is_reported_and_the_others_finish(local_cluster):
    out = cluster.DaskEngine(local_cluster.scheduler_address).run(
        _fail_on_odd, [(i,) for i in range(4)], say=lambda s: None)
    assert [o.value for o in out if o.ok] == [0, 4]
    assert [o.index for o in out if not o.ok] == [1, 3]
    assert "ValueError: odd 3" in out[3].error
    pool = cluster.LocalPool(workers=1).run(_fail_on_odd, [(i,) for i in range(3)])
    assert [o.ok for o in pool] == [True, False, True] and "odd 1" in pool[1].error


def _sleep(t):
    import time
    time.sleep(t)
    return t


def test_interrupt_cancels_the_tasks_left(local_cluster):
    import time
    said = []

    def stop(outcome):
        raise KeyboardInterrupt

    engine = cluster.DaskEngine(local_cluster.scheduler_address)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        engine.run(_sleep, [(0.05,), (60,), (60,), (60,)], say=said.append, on_done=stop)
    assert time.perf_counter() - t0 < 30 and any("cancelled" in s for s in said)


def test_the_engine_is_chosen_from_scheduler_then_the_environment(monkeypatch):
    monkeypatch.delenv(cluster.SCHEDULER_ENV, raising=False)
    assert isinstance(cluster.choose_engine(None, 2), cluster.LocalPool)
    e = cluster.choose_engine("local", 2)
    assert isinstance(e, cluster.DaskEngine) and e.address is None
    assert "LocalCluster of 2" in e.describe(5)
    monkeypatch.setenv(cluster.SCHEDULER_ENV, "tcp://10.1.2.3:8786")
    e = cluster.choose_engine(None, None)
    assert e.address == "tcp://10.1.2.3:8786" and "10.1.2.3" in e.describe(3)
    monkeypatch.setattr(cluster, "dask_available", lambda: False)
    pool = cluster.choose_engine("local", 2)
    assert isinstance(pool, cluster.LocalPool) and "not installed" in pool.describe(2)
    with pytest.raises(cluster.MainpyError, match="dask is not installed"):
        cluster.choose_engine(None, 2)
