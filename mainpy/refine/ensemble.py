"""Multi-start ensembles: one kick protocol run N times with different seeds, in parallel.

Each member is a fresh session in its own process running a refinement macro
(`kick_refine.cmds` by default: `<kick_refine model data out` with KICK_SEED set to the
member's seed); the best member by R-free (R-work without a test set) is kept, and the
spread of the members is reported: R-work and R-free (mean, sd, min, max) and the rms
coordinate deviation of each member from the best one.

    from mainpy.refine.ensemble import run_ensemble
    res = run_ensemble("model.pdb", "data.mtz", "out_dir", seeds=range(1, 5),
                       monlib="monomers", variables={"KICK_AMPL": 0.3})
    print(res.report())

or from a shell:  python -m mainpy.refine.ensemble model.pdb data.mtz out_dir -n 4
or at the prompt (the session's model and data):  ensemble runs 4
"""

from __future__ import annotations

import io
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mainpy.fileio import atomic_write


@dataclass
class Member:
    seed: int
    path: str            # the refined model
    r_work: float
    r_free: float
    xyz: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False, default=None)
    log: str = field(default="", repr=False)

    @property
    def score(self) -> float:
        return self.r_free if np.isfinite(self.r_free) else self.r_work


@dataclass
class EnsembleResult:
    members: list
    best: Member
    best_path: str
    rms_from_best: np.ndarray      # per member, A, over all atoms

    def spread(self) -> dict:
        out = {}
        for k in ("r_work", "r_free"):
            v = np.array([getattr(m, k) for m in self.members], float)
            out[k] = {"mean": float(np.mean(v)), "sd": float(np.std(v)),
                      "min": float(np.min(v)), "max": float(np.max(v))}
        out["rms_from_best"] = {"mean": float(np.mean(self.rms_from_best)),
                                "max": float(np.max(self.rms_from_best))}
        return out

    def report(self) -> str:
        lines = [f" {'seed':>6} {'R-work':>8} {'R-free':>8} {'rms to best':>12}"]
        for m, d in zip(self.members, self.rms_from_best):
            mark = "  <- best" if m is self.best else ""
            lines.append(f" {m.seed:6d} {m.r_work:8.4f} {m.r_free:8.4f} {d:12.3f}{mark}")
        sp = self.spread()
        for k in ("r_work", "r_free"):
            s = sp[k]
            lines.append(f" {k.replace('_', '-')}: mean {s['mean']:.4f} sd {s['sd']:.4f} "
                         f"range {s['min']:.4f} - {s['max']:.4f}")
        lines.append(f" best: seed {self.best.seed}, written to {self.best_path}")
        return "\n".join(lines)


def _run_member(model, data, out_dir, seed, macro, monlib, variables,
                dictionaries=()) -> Member:
    """One member in a fresh session (runs in a worker process)."""
    from mainpy.session import Session
    out = io.StringIO()
    s = Session(out=out)
    for path in ([monlib] if monlib else []) + list(dictionaries):
        s.run(f'read mono "{path}"')
    for k, v in (variables or {}).items():
        s.variables[k] = str(v)
    s.variables["KICK_SEED"] = str(int(seed))
    path = str(Path(out_dir) / f"member_{seed}.pdb")
    s.variables["ENS_MODEL"], s.variables["ENS_DATA"], s.variables["ENS_OUT"] = \
        str(model), str(data), path
    s.run(f"<{macro} ENS_MODEL ENS_DATA ENS_OUT")
    from mainpy.commands.refl import rephase
    # of the final model, whatever the macro did; scales fitted from scratch, so the
    # session that takes this model over gets the same figures
    rw, rf = rephase(s, cold=True).r_factors()
    return Member(int(seed), path, float(rw), float(rf), s.atoms.xyz.copy(), s.atoms.b.copy(),
                  out.getvalue())


def run_ensemble(model, data, out_dir, seeds=(1, 2, 3, 4), macro: str = "kick_refine",
                 monlib=None, variables: dict | None = None, workers: int | None = None,
                 best_name: str = "best.pdb", dictionaries=()) -> EnsembleResult:
    """Run ``macro`` once per seed in parallel processes; keep the best by R-free.
    ``monlib`` is a monomer library folder, ``dictionaries`` more monomer CIFs."""
    seeds = [int(x) for x in seeds]
    if not seeds:
        raise ValueError("an ensemble needs at least one seed")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model, data = os.path.abspath(model), os.path.abspath(data)
    monlib = os.path.abspath(monlib) if monlib else None
    dictionaries = tuple(os.path.abspath(p) for p in dictionaries)
    workers = workers or min(len(seeds), os.cpu_count() or 1)
    args = [(model, data, str(out_dir.resolve()), sd, macro, monlib, variables, dictionaries)
            for sd in seeds]
    if workers == 1:
        members = [_run_member(*a) for a in args]
    else:
        # spawn, not fork: a forked copy of a process whose numba / FFT thread pools are
        # running can die at once
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            members = list(pool.map(_run_member, *zip(*args)))
    best = min(members, key=lambda m: m.score)
    rms = np.array([float(np.sqrt(((m.xyz - best.xyz) ** 2).sum(axis=1).mean()))
                    for m in members])
    best_path = str(out_dir / best_name)
    atomic_write(best_path, lambda tmp: shutil.copyfile(best.path, tmp))
    return EnsembleResult(members, best, best_path, rms)


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m mainpy.refine.ensemble",
                                description="kick-protocol refinement from several seeds")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("out_dir")
    p.add_argument("-n", "--runs", type=int, default=4, help="number of seeds (1..n)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--macro", default="kick_refine")
    p.add_argument("--monlib", default=None, help="monomer library folder")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a macro variable, e.g. --set KICK_AMPL=0.3")
    a = p.parse_args(argv)
    variables = dict(kv.split("=", 1) for kv in a.set)
    res = run_ensemble(a.model, a.data, a.out_dir,
                       range(a.first_seed, a.first_seed + a.runs), a.macro, a.monlib,
                       variables, a.workers)
    print(res.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
