"""BATCH: the jobs of a list (one macro and its arguments a line) run in parallel, here
or on Dask; a table of R-work and R-free before and after at the end (`mainpy.app.batch`)."""

from mainpy.errors import MainpyError
from mainpy.lang.registry import Clause, File, Int, command

DEFAULT_DIR = "batch"


def _batch(session, args):
    from mainpy.app.batch import plan, read_jobs, run_batch
    from mainpy.app.cluster import choose_engine
    workers = args.get("workers")
    if workers is not None and workers < 1:
        raise MainpyError(f"BATCH needs WORKERS of at least 1 (got {workers})")
    path = session.input_path(args["file"])
    out = args.get("dir", DEFAULT_DIR)
    jobs = read_jobs(path)
    engine = choose_engine(args.get("scheduler"), workers)
    if "check" in args:
        session.echo(f" batch check of {path} (nothing runs):")
        session.echo(plan(jobs, engine, out))
        return
    session.echo(f" batch: {len(jobs)} jobs from {path}, run "
                 f"{engine.describe(len(jobs))}; results in {out}")
    res = run_batch(path, out, engine, session.monlib_path, say=session.echo)
    session.echo(res.table())
    session.variables["BATCH_FAILED"] = str(len(res.failed))


def _check_batch(static, parsed):
    """mainpy --check: the list must exist, its macros be found, and each job's macro
    check with its arguments."""
    from pathlib import Path

    from mainpy.app.batch import read_jobs
    from mainpy.lang.check import check_file
    from mainpy.lang.errors import LangError
    val = parsed.top.values.get("file")
    for use in parsed.top.subs:
        if use.decl.key == "file":
            val = use.values.get("file")
    if val is None or val.text in static.variables:
        return
    where = val.token.where
    try:
        jobs = read_jobs(Path(val.text))
    except MainpyError as e:
        raise LangError(str(e), where) from None
    for j in jobs:
        if j.problem is not None:
            static.errors.append(LangError(j.problem, where))
            continue
        words = [str(j.inputs.get(k, w)) for k, w in enumerate(j.words)]
        for e in check_file(j.macro, words).errors:
            static.errors.append(LangError(f"{j.label()}: {e.format()}", where))


command("batch", help="run the jobs of a list (macro ARG1 ARG2 ... a line) in parallel; "
                      "R before and after in a table",
        clauses=(Clause("file", (File(),), help="the job list"),
                 Clause("dir", (File("folder"),), help="where each job's files come back, "
                        f"as job_<n>/ (default {DEFAULT_DIR})"),
                 Clause("workers", (Int("w"),), help="parallel processes (default: one per "
                                                     "core, at most one per job)"),
                 Clause("scheduler", (File("address"),), help="run on Dask: LOCAL for a "
                        "LocalCluster here, or a scheduler's address in quotes; default "
                        "$MAINPY_SCHEDULER, else this machine's process pool"),
                 Clause("check", help="say what would run where, and run nothing")),
        needs=(("file",),),
        action=_batch, check=_check_batch,
        details="A line of the list is a job as `mainpy macro.cmds -- ARG1 ARG2 ...` would\n"
                "run it: the macro, then its arguments (# or ! starts a comment line). Words\n"
                "naming files (beside the list, then in the working folder) travel with the\n"
                "job; what it writes comes back into DIR/job_<n>/ with its log. When ARG1 is\n"
                "a model and ARG2 data, the table shows R-work and R-free before (the input)\n"
                "and after (the session's model at the end). A job that fails is reported;\n"
                "the others finish. BATCH_FAILED holds how many failed.",
        examples=("batch file jobs.txt", "batch file jobs.txt scheduler local workers 4",
                  'batch file jobs.txt scheduler "tcp://10.0.0.5:8786" check'))
