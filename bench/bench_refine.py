"""The shipped refinement (`<refine`, macros/refine.cmds) on deposited data, timed against
servalcat `refine_xtal_norefmac --ncycle 10` in the same run (`--hydrogen all` where the
shipped macro adds riding hydrogens, data at HYDROGEN AUTO's resolution or better, else
`--hydrogen no`), or judged
(--judge) by rulers that are not mainpy's own.

Run: python bench/bench_refine.py [--only 1d7m ...] [--extra] [--judge] [--no-servalcat]
         [--keep DIR]
(data from MAINPY_TEST_DATA, default ../shared/data relative to the project root; the
rulers from MAINPY_TOOLS, default the `tools` folder beside the data folder).

Cases: 1aba, 1d7m, 1l2h; --extra adds 2r4r (3.4 A, free flag 1 = free), 3dcy (mmCIF
model), 5e5z and 1byz (ANISOU on their atoms: both programs start from the model after
mainpy's `set temp iso`, so that both refine isotropic B as servalcat's default does;
1byz also has hydrogens and residues without a dictionary). 2uui and 1ehz are skipped:
no free-R flags (the macro makes a set of its own; tests/commands/test_shared_cases.py
runs them). mainpy reads each case's data file with its own column choice; servalcat and
the rulers read the amplitudes named in CASES (1l2h: mainpy the measured
intensities, the others the French-Wilson amplitudes of 1l2h_fw.mtz).

Timing (default): wall time, R-work, R-free, rmsd bonds of each program as it reports
them, each in a fresh process timed from its start; mainpy's time in a running session
(the same refinement again in that process: imports and numba's cache already loaded, as
at MAIN's prompt) is printed beside it. Goal: the same R-free (at most 0.005 above
servalcat's) in a quarter of servalcat's time.

Judge (issue 16's acceptance on deposited data), per case: the shipped macro to
convergence; the same with REF_STEPS twice the stage-2 steps the converged run took and
REF_CONVERGE -1 ("twice as long": REF_CONVERGE 0 would still end it once R-work stops
improving; stage 1, REF_B, unchanged); servalcat. Every output
model is judged by `rfree.py` (gemmi) and by cctbx (`mmtbx.model_vs_data`, in a
subprocess: cctbx must not share a process with numba) against the same data file. Checks,
by each ruler: R-free(mainpy) <= R-free(servalcat) + 0.005; R-free - R-work of mainpy <=
servalcat's + 0.01; |R-free(twice as long) - R-free(converged)| < 0.002. Without
servalcat or cctbx their columns and checks are skipped, with a message. A case whose
test set has fewer than CV_BELOW observed reflections (5e5z: 18, R-free known to +-0.05)
is judged again by complete cross-validation (Brunger 1993): ten test sets of a tenth of
the reflections each, both programs refine the same start once per test set, rfree.py
judges each model on its own test set, and the R-free of all ten (every reflection free
once) is checked as above ("cv" lines; by fold: the mean paired difference and its
standard error).
"""

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    """A deposited model and its data. ``mtz`` is what the macro reads (its own column
    choice); ``judge_mtz`` with ``labels`` (F, SIGF, FREE) and ``free`` (the test set's
    flag value) is what servalcat and the rulers read. ``iso``: the model has ANISOU."""
    model: str
    mtz: str
    judge_mtz: str
    labels: tuple
    free: int = 0
    iso: bool = False


def _case(name, model_ext="pdb", labels=("FP", "SIGFP", "FREE"), free=0, iso=False):
    x = f"xtal/{name}/{name}"
    return Case(f"{x}.{model_ext}", f"{x}.mtz", f"{x}.mtz", labels, free, iso)


CASES = {"1aba": _case("1aba", labels=("FP", "SIGFP", "FreeR_flag")),
         "1d7m": _case("1d7m"),
         "1l2h": Case("xtal/1l2h/1l2h.cif", "xtal/1l2h/1l2h.mtz", "xtal/1l2h/1l2h_fw.mtz",
                      ("F", "SIGF", "FREE")),
         "2r4r": _case("2r4r", labels=("FOBS", "SIGFOBS", "R-free-flags"), free=1),
         "3dcy": _case("3dcy", model_ext="cif"),
         "5e5z": _case("5e5z", iso=True),
         "1byz": _case("1byz", iso=True)}
DEFAULT = ("1aba", "1d7m", "1l2h")
SKIPPED = {"2uui": "no free-R flags (a sigmaA output file): the macro makes a test set of "
                   "its own, which servalcat and the rulers would not share",
           "1ehz": "no free-R flags in the MTZ: the macro makes a test set of its own, which "
                   "servalcat and the rulers would not share"}
GOALS = {"r_free": 0.005, "gap": 0.01, "longer": 0.002}
#: a test set of fewer observed reflections than this is judged again by complete
#: cross-validation (`cross_validate`): 5e5z's 18 give R-free a standard error of several
#: hundredths, its test set alone cannot tell two models 0.005 apart
CV_BELOW = 100
CV_FOLDS = 10
CV_SEED = 1
#: REF_CONVERGE of the run twice as long: CONVERGE 0 still ends the run once R-work has
#: not improved over 3 re-phasings (a gain below 0), so a gain below -1: never
NO_STOP = -1


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def tools_root() -> Path:
    return Path(os.environ.get("MAINPY_TOOLS", data_root().parent / "tools"))


# ---------------------------------------------------------------------------- programs

_MAINPY_RUN = """
import io, json, re, sys, time
from mainpy.app.refinement import report_figures
from mainpy.session import Session
mono, model, mtz, out, warm, pre = sys.argv[1:7]
for run in ("cold", "warm") if warm == "1" else ("cold",):
    t = time.perf_counter()
    s = Session(out=io.StringIO())
    s.run(f"read mono {mono}")
    if pre:
        s.run(pre)
    s.run(f"<refine {model} {mtz} {out}")
    seconds = time.perf_counter() - t
    if run == "cold":
        f = report_figures(s, s.atoms)
        f["stages"] = [[int(n), e.strip()] for n, e in
                       re.findall(r"(\\d+) steps, ended by ([^\\n(]*)", s.out.getvalue())]
print(json.dumps(dict(f, warm=seconds)))
"""


def run_mainpy(start, mtz, out, pre="", warm=True) -> dict:
    """`<refine start mtz out` in a fresh Python process, timed from the process's start
    like servalcat (interpreter, imports, numba's cache and the first RE_PHASE included);
    ``pre``: sentences run before the macro (its settings). With ``warm`` the same
    refinement runs again in that process (a running session), timed as "warm". Returns
    mainpy's report (R-work, R-free, rmsd bonds, ...), "seconds" and "stages" (steps and
    how each minimization ended)."""
    cmd = [sys.executable, "-c", _MAINPY_RUN, str(data_root() / "monomers"), str(start),
           str(mtz), str(out), "1" if warm else "0", pre]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"mainpy failed on {start}:\n{p.stderr[-3000:]}")
    f = json.loads(p.stdout.strip().splitlines()[-1])
    f["seconds"] = seconds - (f["warm"] if warm else 0.0)   # the process without its 2nd run
    return f


def isotropic_start(name, workdir) -> Path:
    """The case's model after mainpy's `set temp iso` (ANISOU made isotropic), written
    for both programs (servalcat refines isotropic B by default)."""
    out = Path(workdir) / f"{name}_iso.pdb"
    text = (f"read coor file {data_root() / CASES[name].model}; set temp iso; "
            f"write coor file {out}")
    p = subprocess.run([sys.executable, "-m", "mainpy", "-q", "--journal", "none", "-c", text],
                       capture_output=True, text=True, cwd=ROOT, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"set temp iso failed on {name}:\n{p.stdout[-1500:]}"
                           f"{p.stderr[-1500:]}")
    return out


def start_model(name, workdir) -> Path:
    """What both programs refine: the deposited model, or its isotropic copy."""
    return isotropic_start(name, workdir) if CASES[name].iso else data_root() / CASES[name].model


def servalcat_hydrogens(name, start) -> str:
    """`all` (riding H added) where mainpy's HYDROGEN AUTO adds them, else `no`: both
    programs then refine the same kind of model."""
    import gemmi

    from mainpy.app.hydrogens import AUTO_H_D
    st = gemmi.read_structure(str(start))
    if st[0].has_hydrogen():
        return "yes"
    mtz = gemmi.read_mtz_file(str(data_root() / CASES[name].judge_mtz))
    return "all" if mtz.resolution_high() <= AUTO_H_D else "no"


def run_servalcat(name, start, workdir, extra=(), tag="servalcat", hklin=None) -> dict:
    """servalcat in a subprocess (`python -m servalcat` of this Python) on the judge data
    (or ``hklin``, with the same columns; ``extra``: more of its options, e.g.
    ("--adp", "aniso")); its figures from its last (10th) cycle, its model in "model"."""
    c, d = CASES[name], data_root()
    out = Path(workdir) / f"{name}_{tag}"
    hyd = servalcat_hydrogens(name, start)
    # its riding H written out (--hout), as mainpy writes them: the rulers then judge
    # the model it refined (without them its R by rfree.py / cctbx was 0.010-0.014 above
    # its own on 1aba, mainpy's 0.003-0.004)
    cmd = [sys.executable, "-m", "servalcat", "refine_xtal_norefmac", "--model", str(start),
           "--hklin", str(hklin or d / c.judge_mtz), "--labin", ",".join(c.labels), "--free",
           str(c.free), "--hydrogen", hyd, *(("--hout",) if hyd != "no" else ()),
           "--ncycle", "10", "--monlib", str(d / "monomers"), "-s", "xray", "-o", str(out),
           *extra]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, check=False)
    seconds = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"servalcat failed on {name}:\n{p.stdout[-300:]}{p.stderr[-1000:]}")
    rows = re.findall(r"^\s+10\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+(\S+)", p.stdout,
                      re.MULTILINE)
    if not rows:
        raise RuntimeError(f"no cycle-10 line in servalcat's output for {name}")
    _, _, rw, rf, bond = rows[-1]
    return {"seconds": seconds, "R-work": float(rw), "R-free": float(rf),
            "rmsd bonds": float(bond), "model": out.with_suffix(".pdb")}


# ---------------------------------------------------------------------------- rulers

def cctbx_command() -> str | None:
    """mmtbx.model_vs_data beside this Python, else on PATH (None: not installed)."""
    here = Path(sys.executable).parent / "mmtbx.model_vs_data"
    return str(here) if here.exists() else shutil.which("mmtbx.model_vs_data")


def rfree_py(model, name, mtz=None) -> tuple[float, float]:
    """(R-work, R-free) of a model by ../shared/tools/rfree.py (gemmi only), on the judge
    data or on ``mtz`` (the same columns)."""
    c = CASES[name]
    p = subprocess.run([sys.executable, str(tools_root() / "rfree.py"), str(model),
                        str(mtz or data_root() / c.judge_mtz), *c.labels, str(c.free)],
                       capture_output=True, text=True, check=False)
    m = re.search(r"R_work=(\S+) R_free=(\S+)", p.stdout)
    if not m:
        raise RuntimeError(f"rfree.py failed on {model}:\n{p.stderr[-1500:]}")
    return float(m.group(1)), float(m.group(2))


def cctbx_r(model, name) -> tuple[float, float]:
    """(R-work, R-free) of a model by mmtbx.model_vs_data, on the amplitudes and flags of
    CASES; refused if cctbx takes another flag value for the test set."""
    c = CASES[name]
    p = subprocess.run([cctbx_command(), str(model), str(data_root() / c.judge_mtz),
                        f"f_obs_label={c.labels[0]}", f"r_free_flags_label={c.labels[2]}"],
                       capture_output=True, text=True, check=False)
    rw = re.search(r"^\s+r_work: (\S+)", p.stdout, re.MULTILINE)
    rf = re.search(r"^\s+r_free: (\S+)", p.stdout, re.MULTILINE)
    flag = re.search(r"flag value: (\S+)", p.stdout)
    if not (rw and rf):
        raise RuntimeError(f"model_vs_data failed on {model}:\n{p.stdout[-1000:]}"
                           f"{p.stderr[-1000:]}")
    if flag and int(flag.group(1)) != c.free:
        raise RuntimeError(f"model_vs_data took flag {flag.group(1)} as free, not {c.free}")
    return float(rw.group(1)), float(rf.group(1))


# ---------------------------------------------------------------------------- timing

def timing(names, workdir, have_sv):
    """The default mode: time and figures of each program as it reports them."""
    print(f"{'case':6} {'program':10} {'time s':>7} {'R-work':>7} {'R-free':>7} "
          f"{'bonds':>7}")
    summary = []
    for name in names:
        start, d = start_model(name, workdir), data_root()
        m = run_mainpy(start, d / CASES[name].mtz, Path(workdir) / f"{name}_mainpy.pdb")
        print(f"{name:6} {'mainpy':10} {m['seconds']:7.1f} {m['R-work']:7.4f} "
              f"{m['R-free']:7.4f} {m['rmsd bonds']:7.4f}   (in a running session: "
              f"{m['warm']:.1f} s)", flush=True)
        if have_sv:
            sv = run_servalcat(name, start, workdir)
            print(f"{name:6} {'servalcat':10} {sv['seconds']:7.1f} {sv['R-work']:7.4f} "
                  f"{sv['R-free']:7.4f} {sv['rmsd bonds']:7.4f}", flush=True)
            summary.append((name, m, sv))
    for name, m, sv in summary:
        dr = m["R-free"] - sv["R-free"]
        print(f"{name}: time mainpy/servalcat {m['seconds'] / sv['seconds']:.2f} (goal <= "
              f"0.25; in a running session {m['warm'] / sv['seconds']:.2f}), R-free "
              f"{m['R-free']:.4f} vs {sv['R-free']:.4f} ({dr:+.4f}, goal <= +0.005: "
              f"{'met' if dr <= GOALS['r_free'] else 'NOT met'})")


# ---------------------------------------------------------------------------- judge

def judge_case(name, workdir, rulers, have_sv) -> list[str]:
    """Run the three refinements of a case, print its table and checks; the check lines."""
    c, d = CASES[name], data_root()
    start = start_model(name, workdir)
    print(f"\n== {name}: start {start.name}{' (set temp iso)' if c.iso else ''}; mainpy "
          f"reads {Path(c.mtz).name}; servalcat and rulers {Path(c.judge_mtz).name} "
          f"{','.join(c.labels)} (free = {c.free})", flush=True)
    rows = {}
    conv = run_mainpy(start, d / c.mtz, Path(workdir) / f"{name}_mainpy.pdb", warm=False)
    conv["model"] = Path(workdir) / f"{name}_mainpy.pdb"
    rows["mainpy"] = conv
    if len(conv["stages"]) < 2:
        raise RuntimeError(f"no stage-2 step count in mainpy's output: {conv['stages']}")
    n2 = conv["stages"][-1][0]
    print(f"   mainpy: {' + '.join(str(n) for n, _ in conv['stages'])} steps, stage 2 ended "
          f"by {conv['stages'][-1][1]}; twice as long: REF_STEPS {2 * n2}", flush=True)
    out2 = Path(workdir) / f"{name}_mainpy_x2.pdb"
    x2 = run_mainpy(start, d / c.mtz, out2, warm=False, pre=(
        f"set vari REF_CONVERGE = {NO_STOP}; set vari REF_STEPS = {2 * n2}"))
    x2["model"] = out2
    rows["mainpy x2"] = x2
    print(f"   mainpy x2: stage 2 {x2['stages'][-1][0]} steps, ended by "
          f"{x2['stages'][-1][1]}", flush=True)
    if have_sv:
        try:
            rows["servalcat"] = run_servalcat(name, start, workdir)
            rows["servalcat"]["stages"] = [[10, "cycles"]]
        except RuntimeError as e:
            print(f"   {e}")
    for r in rows.values():
        for ruler, fn in rulers.items():
            r[ruler] = fn(r["model"], name)
    print(f"   {'program':10} {'steps':>8} {'time s':>7} |{'own Rw  Rf   gap':^23}|"
          + "".join(f"{k + ' Rw  Rf   gap':^23}|" for k in rulers))
    for prog, r in rows.items():
        own = (r["R-work"], r["R-free"])
        figs = "|".join(f" {w:.4f} {f:.4f} {f - w:.4f} " for w, f in
                        [own] + [r[k] for k in rulers])
        steps = "+".join(str(n) for n, _ in r["stages"])
        print(f"   {prog:10} {steps:>8} {r['seconds']:7.1f} |{figs}|")
    return checks(name, rows, rulers)


def checks(name, rows, rulers) -> list[str]:
    """Issue 16's acceptance lines of a case, by each ruler."""
    out = []
    m, x2, sv = rows["mainpy"], rows["mainpy x2"], rows.get("servalcat")
    for k in rulers:
        tests = []
        if sv:
            gm, gs = m[k][1] - m[k][0], sv[k][1] - sv[k][0]
            tests += [(f"R-free mainpy {m[k][1]:.4f} servalcat {sv[k][1]:.4f}: "
                       f"{m[k][1] - sv[k][1]:+.4f} (<= +{GOALS['r_free']})",
                       m[k][1] - sv[k][1] <= GOALS["r_free"]),
                      (f"R-free - R-work mainpy {gm:.4f} servalcat {gs:.4f}: {gm - gs:+.4f} "
                       f"(<= +{GOALS['gap']})", gm - gs <= GOALS["gap"])]
        dl = x2[k][1] - m[k][1]
        tests.append((f"R-free twice as long {x2[k][1]:.4f} converged {m[k][1]:.4f}: "
                      f"{dl:+.4f} (|.| < {GOALS['longer']})", abs(dl) < GOALS["longer"]))
        out += [f"{name} {k:8} {'met    ' if ok else 'NOT met'}  {t}" for t, ok in tests]
    for line in out:
        print("   " + line)
    return out


def fold_files(name, workdir, folds=CV_FOLDS, seed=CV_SEED) -> list:
    """The judge data again, ``folds`` times, each with a different tenth of the observed
    reflections as its test set (random, seeded; the flag value of the case's test set
    on them, another on the rest): [(path, sum of F over its test set)]."""
    import numpy as np
    c = CASES[name]
    mtz, a, (f, _, flag), ok = _judge_data(name)
    obs = np.flatnonzero(ok)
    part = np.empty(len(a), int)
    part[obs] = np.random.default_rng(seed).permutation(len(obs)) % folds
    out = []
    for k in range(folds):
        test = ok & (part == k)
        a[:, flag] = np.where(test, c.free, c.free + 1)
        mtz.set_data(a)
        path = Path(workdir) / f"{name}_fold{k}.mtz"
        mtz.write_to_file(str(path))
        out.append((path, float(a[test, f].sum())))
    return out


def cross_validate(name, workdir, have_sv) -> list[str]:
    """Complete cross-validation (Brunger 1993) of a case whose test set is too small to
    judge by: each program refines the same start once per fold (the shipped macro;
    servalcat's 10 cycles), rfree.py judges each model on its fold's test set, and the
    R-free of all folds together (every observed reflection free once) is compared."""
    import numpy as np
    start = start_model(name, workdir)
    files = fold_files(name, workdir)
    progs = ["mainpy"] + (["servalcat"] if have_sv else [])
    r = {p: [] for p in progs}
    for k, (mtz, _) in enumerate(files):
        out = Path(workdir) / f"{name}_mainpy_fold{k}.pdb"
        run_mainpy(start, mtz, out, warm=False)
        r["mainpy"].append(rfree_py(out, name, mtz))
        if have_sv:
            sv = run_servalcat(name, start, workdir, tag=f"servalcat_fold{k}", hklin=mtz)
            r["servalcat"].append(rfree_py(sv["model"], name, mtz))
    weight = np.array([w for _, w in files])
    print(f"   complete cross-validation, {len(files)} folds (rfree.py on each fold's test "
          "set):")
    pooled = {}
    for p in progs:
        w, f = np.array(r[p]).T
        pooled[p] = (float(np.mean(w)), float((f * weight).sum() / weight.sum()))
        print(f"   {p:10} R-free by fold " + " ".join(f"{x:.3f}" for x in f)
              + f" | all folds R-work {pooled[p][0]:.4f} R-free {pooled[p][1]:.4f}")
    if not have_sv:
        return []
    d = np.array(r["mainpy"])[:, 1] - np.array(r["servalcat"])[:, 1]
    (mw, mf), (sw, sf) = pooled["mainpy"], pooled["servalcat"]
    tests = [(f"R-free mainpy {mf:.4f} servalcat {sf:.4f}: {mf - sf:+.4f} (<= "
              f"+{GOALS['r_free']}; by fold {d.mean():+.4f} +- "
              f"{d.std(ddof=1) / np.sqrt(len(d)):.4f})", mf - sf <= GOALS["r_free"]),
             (f"R-free - R-work mainpy {mf - mw:.4f} servalcat {sf - sw:.4f}: "
              f"{(mf - mw) - (sf - sw):+.4f} (<= +{GOALS['gap']})",
              (mf - mw) - (sf - sw) <= GOALS["gap"])]
    out = [f"{name} {'cv':8} {'met    ' if ok else 'NOT met'}  {t}" for t, ok in tests]
    for line in out:
        print("   " + line)
    return out


def _judge_data(name):
    """The judge MTZ of a case, its data as an array, the columns of CASES' labels and
    the observed reflections (F and sigma positive, as rfree.py takes them)."""
    import gemmi
    import numpy as np
    c = CASES[name]
    mtz = gemmi.read_mtz_file(str(data_root() / c.judge_mtz))
    a = np.array(mtz, copy=True)
    lab = [col.label for col in mtz.columns]
    cols = tuple(lab.index(x) for x in c.labels)
    f, sig = a[:, cols[0]], a[:, cols[1]]
    return mtz, a, cols, np.isfinite(f) & np.isfinite(sig) & (f > 0) & (sig > 0)


def small_test_set(name) -> bool:
    """Whether the case's test set has fewer than CV_BELOW observed reflections."""
    _, a, (_, _, flag), ok = _judge_data(name)
    return int((ok & (a[:, flag] == CASES[name].free)).sum()) < CV_BELOW


def judge(names, workdir, have_sv):
    """The judge mode: every case, then every check line again at the end."""
    rulers = {}
    if (tools_root() / "rfree.py").exists():
        rulers["rfree.py"] = rfree_py
    else:
        print(f"no {tools_root() / 'rfree.py'} (set MAINPY_TOOLS): its columns skipped")
    if cctbx_command():
        rulers["cctbx"] = cctbx_r
    else:
        print("mmtbx.model_vs_data not found (pip install cctbx-base): cctbx columns skipped")
    lines = []
    for name in names:
        try:
            lines += judge_case(name, workdir, rulers, have_sv)
            if "rfree.py" in rulers and small_test_set(name):
                lines += cross_validate(name, workdir, have_sv)
        except RuntimeError as e:
            print(f"   {name}: {e}")
            lines.append(f"{name} FAILED (see above)")
    print("\nsummary\n" + "\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(CASES), action="append")
    ap.add_argument("--extra", action="store_true", help="add " + ", ".join(
        n for n in CASES if n not in DEFAULT))
    ap.add_argument("--judge", action="store_true", help="issue 16's acceptance checks")
    ap.add_argument("--no-servalcat", action="store_true")
    ap.add_argument("--keep", help="write the models to this folder (else a temporary one)")
    a = ap.parse_args()
    have_sv = importlib.util.find_spec("servalcat") is not None and not a.no_servalcat
    if not have_sv:
        print("servalcat is not installed (pip install servalcat) or --no-servalcat: "
              "mainpy only")
    names = a.only or [n for n in CASES if a.extra or n in DEFAULT]
    if a.extra:
        for name, why in SKIPPED.items():
            print(f"{name}: skipped, {why}")
    run = judge if a.judge else timing
    if a.keep:
        Path(a.keep).mkdir(parents=True, exist_ok=True)
        run(names, Path(a.keep).resolve(), have_sv)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(names, Path(tmp), have_sv)


if __name__ == "__main__":
    main()
