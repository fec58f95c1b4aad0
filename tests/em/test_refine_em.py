"""The EM benchmark's mainpy row (issue 20): 1d7m (both chains) shaken by 0.5 A, refined
by the shipped `<refine_em` against a simulated 3.0 A map with half maps
(bench/bench_em.py: data seed 1, shake seed 2, every B 30).

servalcat on the same files, measured once with bench/bench_em.py in the same run as
mainpy (the command inside that bench:
  servalcat refine_spa_norefmac --halfmaps half1.mrc half2.mrc --model start.pdb
      --resolution 3.0 --ncycle 10 -s xray --monlib MONOMERS -o servalcat
servalcat 0.4.x from the project's venv) ended at rmsd 0.162 A to the truth, bond rmsd
0.025 A by mainpy's ruler; mainpy at 0.138-0.146 A (0.0095-0.0102 A bonds) in the same
runs. The test asserts mainpy at or below servalcat's figure and bonds at most 0.01 A,
and reports the FSC_work - FSC_free gap.
"""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVALCAT_RMSD = 0.162       # measured as the module docstring says


def _bench():
    spec = importlib.util.spec_from_file_location("bench_em", ROOT / "bench" / "bench_em.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_shipped_refine_em_against_servalcat_figure(data, monlib_dir, tmp_path):
    model = data("xtal/1d7m/1d7m.pdb")
    bench = _bench()
    bench.MODEL = model
    bench.DATA = model.parents[2]
    res = bench.bench(tmp_path, servalcat=False)
    m, start = res["mainpy"], res["start"]
    print(f"mainpy: rmsd {m['rmsd']:.3f} A (start {start['rmsd']:.3f}), bonds "
          f"{m['bonds']:.4f}, FSC_work {m['work']:.4f} FSC_free {m['free']:.4f} gap "
          f"{m['work'] - m['free']:+.4f}, CC_mask {m['cc_mask']:.4f}, {m['time']:.1f} s")
    assert start["rmsd"] > 0.45
    assert m["rmsd"] <= SERVALCAT_RMSD
    assert m["bonds"] <= 0.01
    assert abs(m["work"] - m["free"]) < 0.01      # no overfitting to the full map
    assert m["cc_mask"] > start["cc_mask"]
