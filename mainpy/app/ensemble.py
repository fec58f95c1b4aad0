"""Multi-start ensembles: one kick refinement run N times with different seeds, in parallel.

Each member is a fresh session in its own process. By default it runs MAIN's kick
refinement through the refinement layer (`KickRefinement`: the two stages of
`kick_refine.cmds`, coordinates then coordinates and B, with the kick falling to zero,
its settings taken from the KICK_* variables) on the model, data and monomer library it
is given; with ``macro`` it runs that macro instead (`<macro model data out`, KICK_SEED
set to the member's seed). The best member by R-work is kept: the choice uses the work
set only, so the R-free reported for it is still an unbiased check (choosing by R-free
would fit the test set through the choice). The spread of the members is reported: R-work and R-free (mean, sd, min, max) and
the rms coordinate deviation of each member from the best one.

    from mainpy.app.ensemble import run_ensemble
    res = run_ensemble("model.pdb", "data.mtz", "out_dir", seeds=range(1, 5),
                       monlib="monomers", variables={"KICK_AMPL": 0.3})
    print(res.report())

or from a shell:  python -m mainpy.app.ensemble model.pdb data.mtz out_dir -n 4
or at the prompt (the session's model and data):  ensemble runs 4
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mainpy.app.cluster import INPUTS, write_inputs
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
    files: dict = field(default=None, repr=False)     # what the worker wrote (name -> bytes)

    @property
    def score(self) -> float:
        """What the best member is chosen by: R-work (never the test set)."""
        return self.r_work


@dataclass
class EnsembleResult:
    members: list
    best: Member
    best_path: str
    rms_from_best: np.ndarray      # per member, A, over all atoms
    failed: list = field(default_factory=list)    # (seed, why) of the members that failed

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
        for sd, why in self.failed:
            lines.append(f" seed {sd} failed: {why}")
        lines.append(f" best by R-work: seed {self.best.seed}, written to {self.best_path} "
                     "(chosen without the test set: its R-free is a fair check)")
        return "\n".join(lines)


@dataclass
class KickRefinement:
    """MAIN's kick refinement as `kick_refine.cmds` runs it: stage 1 coordinates, stage 2
    coordinates and B, each ``run`` steps in rounds of ``round_steps``, the kick falling
    from ``amplitude`` to 0 by ``law``, the data weight aiming at bond rmsd ``bond``."""

    amplitude: float = 0.3
    run: int = 100
    round_steps: int = 10
    law: str = "linear"
    bond: float = 0.010
    target: str = "ml"

    #: the macro variables that set each field (kick_refine.cmds' names)
    VARIABLES = {"amplitude": ("KICK_AMPL", float), "run": ("KICK_RUN", int),
                 "round_steps": ("KICK_STEPS", int), "law": ("KICK_LAW", str),
                 "bond": ("KICK_BOND", float), "target": ("KICK_TARGET", str)}

    @classmethod
    def from_variables(cls, variables: dict) -> "KickRefinement":
        kw = {}
        for name, (var, kind) in cls.VARIABLES.items():
            if var in variables:
                v = str(variables[var])
                kw[name] = v.lower() if kind is str else kind(float(v))
        return cls(**kw)

    def stages(self, seed: int) -> list:
        from mainpy.app.refinement import KickSettings, RunSettings
        kick = KickSettings(self.amplitude, self.law, int(seed))
        return [RunSettings(params=p, steps=self.run, write_step=self.round_steps,
                            phase_steps=self.round_steps, kick=kick, target_rmsd=self.bond)
                for p in (("xyz",), ("xyz", "b"))]


def _refine_member(s, model, data, path, seed, protocol: KickRefinement) -> None:
    """A member's kick refinement through the refinement layer (no language)."""
    from mainpy.app.files import read_data, read_model, write_model
    from mainpy.app.phasing import rephase
    from mainpy.app.refinement import refine
    from mainpy.app.terms import switch
    from mainpy.app.topology import define_topology
    read_model(s, model)
    read_data(s, data)
    define_topology(s)
    rephase(s)
    switch(s, "xray", on=True, target=protocol.target)
    for stage in protocol.stages(seed):
        refine(s, stage)
    write_model(s, path)


def _run_member(model, data, out_dir, seed, macro, monlib, variables,
                dictionaries=()) -> Member:
    """One member in a fresh session (runs in a worker process)."""
    from mainpy.app.phasing import rephase
    from mainpy.app.topology import use_monomers
    from mainpy.session import Session
    out = io.StringIO()
    s = Session(out=out)
    for path in ([monlib] if monlib else []) + list(dictionaries):
        use_monomers(s, path)
    for k, v in (variables or {}).items():
        s.variables[k] = str(v)
    s.variables["KICK_SEED"] = str(int(seed))
    path = str(Path(out_dir) / f"member_{seed}.pdb")
    if macro is None:
        _refine_member(s, model, data, path, seed, KickRefinement.from_variables(s.variables))
    else:
        s.variables["ENS_MODEL"], s.variables["ENS_DATA"], s.variables["ENS_OUT"] = \
            str(model), str(data), path
        s.run(f"<{macro} ENS_MODEL ENS_DATA ENS_OUT")
    # of the final model, whatever the macro did; scales fitted from scratch, so the
    # session that takes this model over gets the same figures
    rw, rf = rephase(s).r_factors()
    return Member(int(seed), path, float(rw), float(rf), s.atoms.xyz.copy(), s.atoms.b.copy(),
                  out.getvalue())


#: where a member's inputs go in its private folder (what it writes elsewhere comes back)


def _member_task(inputs: dict, model_name, data_name, seed, macro_name, monlib, variables,
                 dict_names=()) -> Member:
    """One member on any worker: its inputs (name -> bytes) written to a private folder,
    run there, and every file it wrote returned in `Member.files` (name -> bytes), so the
    worker needs no file system in common with the session (but the monomer library)."""
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix=f"mainpy_member{int(seed)}_"))
    try:
        write_inputs(tmp, inputs)
        cwd = os.getcwd()
        os.chdir(tmp)          # what a macro writes by a relative name comes back too
        try:
            m = _run_member(tmp / INPUTS / model_name, tmp / INPUTS / data_name, tmp, seed,
                            None if macro_name is None else str(tmp / INPUTS / macro_name),
                            monlib, variables, [str(tmp / INPUTS / d) for d in dict_names])
        finally:
            os.chdir(cwd)
        m.files = {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(tmp.rglob("*"))
                   if p.is_file() and p.relative_to(tmp).parts[0] != INPUTS}
        m.path = Path(m.path).name
        return m
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _inputs(model, data, macro, dictionaries):
    """The files a member needs, as bytes under the names it finds them by: the model,
    the data, the macro with the other macros beside it (it may call them), the extra
    dictionaries."""
    files = {f"model/{Path(model).name}": Path(model).read_bytes(),
             f"data/{Path(data).name}": Path(data).read_bytes()}
    macro_name = None
    if macro is not None:
        mp = Path(macro)
        for other in sorted(mp.parent.glob("*.cmds")):
            files[f"macros/{other.name}"] = other.read_bytes()
        macro_name = f"macros/{mp.name}"
        files[macro_name] = mp.read_bytes()
    dict_names = []
    for i, d in enumerate(dictionaries):
        name = f"dict/{i}/{Path(d).name}"
        files[name] = Path(d).read_bytes()
        dict_names.append(name)
    return files, f"model/{Path(model).name}", f"data/{Path(data).name}", macro_name, dict_names


def _keep(member: Member, out_dir: Path) -> None:
    """Write what a member sent back into out_dir: its model as member_<seed>.pdb, its log
    as member_<seed>.log, anything else it wrote under member_<seed>/."""
    for name, content in (member.files or {}).items():
        dest = out_dir / name if name == member.path else \
            out_dir / f"member_{member.seed}" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(str(dest), lambda tmp, c=content: Path(tmp).write_bytes(c))
    log = out_dir / f"member_{member.seed}.log"
    atomic_write(str(log), lambda tmp: Path(tmp).write_text(member.log))
    member.path = str(out_dir / member.path)
    member.files = None


def ensemble_engine(scheduler=None, workers=None):
    """The engine the members run on (`mainpy.app.cluster.choose_engine`)."""
    from mainpy.app.cluster import choose_engine
    return choose_engine(scheduler, workers)


def run_ensemble(model, data, out_dir, seeds=(1, 2, 3, 4), macro: str | None = None,
                 monlib=None, variables: dict | None = None, workers: int | None = None,
                 best_name: str = "best.pdb", dictionaries=(), engine=None,
                 say=print, progress=None) -> EnsembleResult:
    """Run the kick refinement (or ``macro``) once per seed in parallel; keep the best by
    R-work. ``monlib`` is a monomer library folder, ``dictionaries`` more monomer CIFs,
    ``variables`` the KICK_* settings (and any the macro reads). ``engine`` is where the
    members run (default this machine's process pool of ``workers``; see
    `mainpy.app.cluster`). A member that fails is reported in `EnsembleResult.failed`
    and the others finish; ``progress(done)`` is called as each member ends."""
    from mainpy.errors import MainpyError
    seeds = [int(x) for x in seeds]
    if not seeds:
        raise ValueError("an ensemble needs at least one seed")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    monlib = os.path.abspath(monlib) if monlib else None
    files, model_name, data_name, macro_name, dict_names = _inputs(model, data, macro,
                                                                   dictionaries)
    if engine is None:
        from mainpy.app.cluster import LocalPool
        engine = LocalPool(workers)
    args = [(files, model_name, data_name, sd, macro_name, monlib, variables, dict_names)
            for sd in seeds]
    count = {"done": 0}

    def ended(_outcome):
        count["done"] += 1
        if progress is not None:
            progress(count["done"])

    outcomes = engine.run(_member_task, args, say=say, on_done=ended,
                          names=[f"member{sd}" for sd in seeds])
    members, failed = [], []
    for sd, o in zip(seeds, outcomes):
        if o.ok:
            _keep(o.value, out_dir)
            members.append(o.value)
        else:
            failed.append((sd, o.error))
    if not members:
        raise MainpyError("every member failed:\n" + "\n".join(
            f"  seed {sd}: {e}" for sd, e in failed))
    best = min(members, key=lambda m: m.score)
    rms = np.array([float(np.sqrt(((m.xyz - best.xyz) ** 2).sum(axis=1).mean()))
                    for m in members])
    best_path = str(out_dir / best_name)
    atomic_write(best_path, lambda tmp: shutil.copyfile(best.path, tmp))
    return EnsembleResult(members, best, best_path, rms, failed)


def plan_ensemble(session, seeds, workers: int | None = None, macro=None,
                  folder: str = "ensemble", scheduler: str | None = None) -> str:
    """What ENSEMBLE would run and where, without running or writing anything."""
    from mainpy.app.phasing import data_in_use
    from mainpy.errors import MainpyError
    session.need_model()
    refl = data_in_use(session)
    if workers is not None and workers < 1:
        raise MainpyError(f"ENSEMBLE needs WORKERS of at least 1 (got {workers})")
    seeds = [int(x) for x in seeds]
    engine = ensemble_engine(scheduler, workers)
    what = f"the macro {macro}" if macro is not None else \
        "the kick refinement " + repr(KickRefinement.from_variables(session.variables))
    lines = [f" would run {len(seeds)} member{'s' if len(seeds) != 1 else ''} (seeds "
             f"{', '.join(map(str, seeds))}) {engine.describe(len(seeds))}",
             f" each: {what}",
             f" from the model as it is now ({len(session.atoms)} atoms) and "
             f"{int(refl.observed.sum())} reflections "
             f"({refl.d_max:.2f}-{refl.d_min:.2f} A), written to {folder}/start.* and {folder}/data.mtz",
             f" monomer library: {session.monlib_path or 'the default'}"
             + (" (workers read it by this path)" if scheduler or
                os.environ.get("MAINPY_SCHEDULER") else ""),
             f" results: {folder}/member_<seed>.pdb|.log, the best in {folder}/best.pdb"]
    return "\n".join(lines)


def session_ensemble(session, seeds, workers: int | None = None, macro=None,
                     folder: str = "ensemble", best_file: str | None = None,
                     scheduler: str | None = None):
    """ENSEMBLE at the prompt: the members start from the session's model and data as
    they are now (written to ``folder`` as start.pdb|cif and data.mtz, so edits and REFL
    RESO limits count), with its monomer library and variables; the best member's model
    becomes the session's (re-phased cold, as the member scored it) and ENS_BEST_SEED is
    set. Returns (EnsembleResult, the start file)."""
    import re

    from mainpy.app.files import write_model
    from mainpy.app.phasing import data_in_use, rephase
    from mainpy.errors import MainpyError
    from mainpy.xtal.maps import write_mtz
    model = session.need_model()
    refl = data_in_use(session)
    if workers is not None and workers < 1:
        raise MainpyError(f"ENSEMBLE needs WORKERS of at least 1 (got {workers})")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    cif = str(model.path or "").lower().endswith((".cif", ".mmcif"))
    start = out / ("start.cif" if cif else "start.pdb")
    write_model(session, str(start))
    data = out / "data.mtz"
    write_mtz(str(data), refl)
    variables = {k: v for k, v in session.variables.items()
                 if not re.fullmatch(r"ARG\d+|NARG", k)}
    from mainpy.app.progress import Progress
    seeds = list(seeds)
    engine = ensemble_engine(scheduler, workers)
    session.echo(f" the members run {engine.describe(len(seeds))}")
    with Progress(session, "ensemble members", len(seeds)) as p:
        res = run_ensemble(start, data, out, seeds, None if macro is None else str(macro),
                           session.monlib_path, variables, workers,
                           dictionaries=session.extra_cifs, engine=engine, say=session.echo,
                           progress=p.update)
    atoms = session.atoms
    best = res.best
    if best.xyz.shape != atoms.xyz.shape:
        raise MainpyError(f"the members' models have {len(best.xyz)} atoms, the session's "
                          f"{len(atoms)}; the best one is in {res.best_path} (read coor)")
    if best_file is not None:
        atomic_write(best_file, lambda tmp: shutil.copyfile(res.best_path, tmp))
    session.model.atoms = atoms.replace(xyz=best.xyz.copy(), b=best.b.copy())
    rephase(session)       # scales from scratch, as the member fitted them
    session.variables["ENS_BEST_SEED"] = str(best.seed)
    return res, start


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m mainpy.app.ensemble",
                                description="kick-protocol refinement from several seeds")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("out_dir")
    p.add_argument("-n", "--runs", type=int, default=4, help="number of seeds (1..n)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--macro", default=None, help="a macro each member runs instead of "
                   "the kick refinement")
    p.add_argument("--monlib", default=None, help="monomer library folder")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None, help="run on Dask: 'local' for a "
                   "LocalCluster, or a scheduler address tcp://host:8786 (default "
                   "$MAINPY_SCHEDULER, else local processes)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a macro variable, e.g. --set KICK_AMPL=0.3")
    a = p.parse_args(argv)
    variables = dict(kv.split("=", 1) for kv in a.set)
    res = run_ensemble(a.model, a.data, a.out_dir,
                       range(a.first_seed, a.first_seed + a.runs), a.macro, a.monlib,
                       variables, a.workers, engine=ensemble_engine(a.scheduler, a.workers))
    print(res.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
