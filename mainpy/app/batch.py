"""BATCH: many model/data pairs re-refined, one macro run each, in parallel.

A job list holds one job a line, as the command line would run it without `mainpy` and
`--`: the macro, then its ARG1 ARG2 ... (blank lines and lines starting with # or ! are
skipped):

    refine.cmds  1aba/1aba.pdb  1aba/1aba.mtz  1aba_refined.pdb
    refine.cmds  1l2h/1l2h.pdb  1l2h/1l2h.mtz  1l2h_refined.pdb

Each job runs in a fresh session on the engine given (`mainpy.app.cluster`: this
machine's process pool, or Dask). The words that name existing files (beside the list
first, then in the working folder) travel with the job; what the job writes comes back
into DIR/job_<n>/, with its log (job.log). When ARG1 is a model and ARG2 data, R-work and
R-free are measured before (the model as given against the data as given) and after (the
session's model at the end against its data, scales fitted afresh); a job that fails is
reported with why, and the others finish.
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mainpy.app.cluster import INPUTS, write_inputs
from mainpy.errors import MainpyError
from mainpy.fileio import atomic_write

MODEL_ENDINGS = (".pdb", ".ent", ".cif", ".mmcif", ".pdb.gz", ".cif.gz")
DATA_ENDINGS = (".mtz", ".hkl", ".sca", ".cif", ".mmcif")
#: a job's inputs in its private folder


@dataclass
class Job:
    number: int                 # 1, 2, ... in the list
    line: int                   # where it is in the list file
    macro: Path | None          # the macro file found (None: not found)
    words: list                 # the macro's arguments as written
    inputs: dict = field(default_factory=dict)   # argument index -> existing file
    problem: str | None = None  # why it cannot run (found before running)

    def label(self) -> str:
        return f"job {self.number} (line {self.line})"


@dataclass
class JobResult:
    before: tuple | None        # (R-work, R-free) of the input, if ARG1/ARG2 are model/data
    after: tuple | None         # of the session's model at the end
    files: dict = field(repr=False, default_factory=dict)   # name -> bytes, then local paths
    log: str = field(default="", repr=False)


@dataclass
class BatchResult:
    jobs: list
    results: dict               # job number -> JobResult
    failed: dict                # job number -> why
    where: dict                 # job number -> where it ran

    def table(self) -> str:
        def r(pair, i):
            return f"{pair[i]:.4f}" if pair else "   -  "
        lines = [f" {'job':>4} {'macro':<16} {'R-work before':>13} {'after':>7} "
                 f"{'R-free before':>13} {'after':>7}  files written / why it failed"]
        for j in self.jobs:
            name = j.macro.name if j.macro is not None else (j.words[0] if j.words else "?")
            res = self.results.get(j.number)
            if res is None:
                lines.append(f" {j.number:4d} {name:<16} {'failed':>13}  "
                             f"{self.failed.get(j.number, '')}")
                continue
            lines.append(f" {j.number:4d} {name:<16} {r(res.before, 0):>13} {r(res.after, 0):>7} "
                         f"{r(res.before, 1):>13} {r(res.after, 1):>7}  "
                         + ", ".join(sorted(res.files)))
        n, bad = len(self.jobs), len(self.failed)
        lines.append(f" {n - bad} of {n} jobs finished" + (f", {bad} failed" if bad else ""))
        return "\n".join(lines)


def read_jobs(path) -> list:
    """The job list: one job a line (macro ARG1 ARG2 ...); problems found now (a macro
    not found) are kept with the job, to be reported without running it."""
    import shlex

    from mainpy.lang.interpreter import find_macro
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "it is not text"
        raise MainpyError(f"cannot read the job list {path}: {why}") from None
    jobs = []
    for i, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s[0] in "#!":
            continue
        try:
            words = shlex.split(s)
        except ValueError as e:
            raise MainpyError(f"{path}:{i}: {e}") from None
        macro_word, args = words[0], words[1:]
        macro = find_macro(str(path.parent / macro_word), path.parent) \
            or find_macro(macro_word, path.parent)
        job = Job(len(jobs) + 1, i, macro.resolve() if macro else None, args)
        if macro is None:
            job.problem = f"{path}:{i}: no macro {macro_word!r} (looked beside the list, in " \
                          "the working folder and mainpy's macros)"
        for k, w in enumerate(args):
            for p in (path.parent / w, Path(w)):
                if p.is_file():
                    job.inputs[k] = p.resolve()
                    break
        jobs.append(job)
    if not jobs:
        raise MainpyError(f"the job list {path} holds no job (one a line: macro ARG1 ARG2 ...)")
    return jobs


def _r_factors(model, data):
    """R-work, R-free of a model against data, in a fresh session."""
    from mainpy.app.files import read_data, read_model
    from mainpy.app.phasing import rephase
    from mainpy.session import Session
    s = Session(out=io.StringIO())
    read_model(s, str(model))
    read_data(s, str(data))
    rw, rf = rephase(s).r_factors()
    return float(rw), float(rf)


def _job_task(inputs: dict, macro_name: str, args: list, monlib, measure: bool) -> JobResult:
    """One job on any worker, in a private folder: its inputs written there, the macro
    run with ARG1.. (input words replaced by the copies' names), every file it wrote
    returned."""
    import tempfile

    from mainpy.app.phasing import rephase
    from mainpy.app.topology import use_monomers
    from mainpy.session import Session
    tmp = Path(tempfile.mkdtemp(prefix="mainpy_job_"))
    out = io.StringIO()
    try:
        write_inputs(tmp, inputs)
        cwd = os.getcwd()
        os.chdir(tmp)       # what the macro writes by a relative name comes back
        try:
            before = _r_factors(args[0], args[1]) if measure else None
            s = Session(out=out)
            if monlib:
                use_monomers(s, monlib)
            s.run_file(tmp / INPUTS / macro_name, args)
            after = None
            if s.model is not None and s.reflections is not None:
                rw, rf = rephase(s).r_factors()
                after = (float(rw), float(rf))
        finally:
            os.chdir(cwd)
        files = {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(tmp.rglob("*"))
                 if p.is_file() and p.relative_to(tmp).parts[0] != INPUTS}
        return JobResult(before, after, files, out.getvalue())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _payload(job: Job, monlib):
    """(inputs as bytes, the macro's name among them, the arguments as the job sees them,
    monlib, whether R before/after can be measured)."""
    files = {}
    for other in sorted(job.macro.parent.glob("*.cmds")):      # macros it may call
        files[f"macros/{other.name}"] = other.read_bytes()
    macro_name = f"macros/{job.macro.name}"
    files[macro_name] = job.macro.read_bytes()
    args = list(job.words)
    for k, p in job.inputs.items():
        name = f"{k + 1}/{p.name}"
        files[name] = p.read_bytes()
        args[k] = f"{INPUTS}/{name}"
    low = [w.lower() for w in job.words[:2]]
    measure = len(low) == 2 and 0 in job.inputs and 1 in job.inputs and \
        low[0].endswith(MODEL_ENDINGS) and low[1].endswith(DATA_ENDINGS)
    return files, macro_name, args, monlib, measure


def plan(jobs, engine, out_dir) -> str:
    """What BATCH would run and where, without running anything."""
    runnable = [j for j in jobs if j.problem is None]
    lines = [f" would run {len(runnable)} of {len(jobs)} jobs {engine.describe(len(runnable))}"]
    for j in jobs:
        if j.problem is not None:
            lines.append(f" {j.label()}: cannot run: {j.problem}")
            continue
        sent = ", ".join(f"ARG{k + 1}={p.name} ({p.stat().st_size} bytes)"
                         for k, p in sorted(j.inputs.items()))
        kept = [f"ARG{k + 1}={w}" for k, w in enumerate(j.words) if k not in j.inputs]
        lines.append(f" {j.label()}: <{j.macro.name} {' '.join(j.words)}")
        lines.append(f"   sends {sent or 'no file'}; " +
                     (f"passes {' '.join(kept)} as written; " if kept else "")
                     + f"what it writes comes back to {Path(out_dir) / f'job_{j.number}'}")
    return "\n".join(lines)


def run_batch(list_path, out_dir, engine=None, monlib=None, say=print) -> BatchResult:
    """Run every job of the list on ``engine`` (default this machine's process pool);
    what each wrote is put under out_dir/job_<n>/."""
    jobs = read_jobs(list_path)
    out_dir = Path(out_dir)
    if engine is None:
        from mainpy.app.cluster import LocalPool
        engine = LocalPool()
    monlib = os.path.abspath(monlib) if monlib else None
    runnable = [j for j in jobs if j.problem is None]
    failed = {j.number: j.problem for j in jobs if j.problem is not None}
    outcomes = engine.run(_job_task, [_payload(j, monlib) for j in runnable], say=say,
                          names=[f"job{j.number}" for j in runnable]) if runnable else []
    results, where = {}, {}
    for j, o in zip(runnable, outcomes):
        where[j.number] = o.where
        if not o.ok:
            why = o.error
            for k, p in j.inputs.items():      # the file as the list names it
                why = why.replace(f"{INPUTS}/{k + 1}/{p.name}", j.words[k])
            failed[j.number] = why
            continue
        res = o.value
        folder = out_dir / f"job_{j.number}"
        folder.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, content in res.files.items():
            dest = folder / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(str(dest), lambda tmp, c=content: Path(tmp).write_bytes(c))
            written[name] = str(dest)
        atomic_write(str(folder / "job.log"), lambda tmp, t=res.log: Path(tmp).write_text(t))
        res.files = written
        results[j.number] = res
    return BatchResult(jobs, results, failed, where)
