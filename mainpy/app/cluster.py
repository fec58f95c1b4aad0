"""Where parallel work runs: this machine's process pool, or Dask.

ENSEMBLE and BATCH hand a list of independent tasks (a module-level function and its
arguments) to an engine and get back, for each task in order, its value or why it failed:

* `LocalPool`: the process pool of this machine (spawned processes, one per task up to
  WORKERS; one worker runs the tasks in this process). The default.
* `DaskEngine`: dask.distributed, either a `LocalCluster` it starts (and closes) on this
  machine, or an existing scheduler given by address (``tcp://host:8786``), so the same
  command runs on many machines. The dashboard's address is printed.

A task that fails is reported and the others finish; Ctrl-C cancels what has not run.
Tasks take and return plain data (file contents as bytes, not paths), so a worker needs
no file system in common with the session; only the monomer library is named by path.

`choose_engine` picks one from the SCHEDULER a command gives, else the environment
variable MAINPY_SCHEDULER ("local" for a LocalCluster, else an address), else the pool.
Without dask installed (``pip install mainpy[cluster]``), asking for a LocalCluster runs
on the pool and says so; asking for a scheduler address is an error.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from typing import Callable

from mainpy.errors import MainpyError

SCHEDULER_ENV = "MAINPY_SCHEDULER"
#: the SCHEDULER word that asks for a LocalCluster on this machine
LOCAL = "local"


@dataclass
class Outcome:
    """One task's result: its value, or the error that stopped it (and where it ran)."""

    index: int
    value: object = None
    error: str | None = None
    where: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def _describe_error(e: BaseException) -> str:
    fmt = getattr(e, "format", None)        # a LangError says where in the macro
    if callable(fmt):
        return fmt()
    if isinstance(e, MainpyError):
        return str(e)
    tb = traceback.extract_tb(e.__traceback__)
    last = f" ({tb[-1].filename.rsplit(os.sep, 1)[-1]}:{tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {e}{last}"


def _call(fn, args):
    """Run a task where it lands; errors come back as text (a worker's exception types
    need not unpickle in the session)."""
    import socket
    where = f"{socket.gethostname()} pid {os.getpid()}"
    try:
        return fn(*args), None, where
    except Exception as e:                     # noqa: BLE001 - reported per task
        return None, _describe_error(e), where


class LocalPool:
    """This machine's processes (spawned: a forked copy of a process whose numba or FFT
    thread pools run can die at once)."""

    def __init__(self, workers: int | None = None, note: str = ""):
        self.workers = workers
        self.note = note

    def n_workers(self, n_tasks: int) -> int:
        return max(1, min(n_tasks, self.workers or os.cpu_count() or 1))

    def describe(self, n_tasks: int) -> str:
        w = self.n_workers(n_tasks)
        where = "in this process, one after another" if w == 1 else \
            f"in a local pool of {w} processes"
        return where + (f" ({self.note})" if self.note else "")

    def run(self, fn, args_list, say: Callable[[str], None] = print,
            on_done: Callable[[Outcome], None] | None = None, names=None) -> list:
        args_list = list(args_list)
        out = [None] * len(args_list)

        def done(i, res):
            value, error, where = res
            out[i] = Outcome(i, value, error, where)
            if on_done is not None:
                on_done(out[i])

        if self.n_workers(len(args_list)) == 1:
            for i, a in enumerate(args_list):
                done(i, _call(fn, a))
            return out
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=self.n_workers(len(args_list)), mp_context=ctx)
        try:
            futures = {pool.submit(_call, fn, a): i for i, a in enumerate(args_list)}
            for f in as_completed(futures):
                try:
                    done(futures[f], f.result())
                except Exception as e:         # noqa: BLE001 - a worker that died
                    done(futures[f], (None, _describe_error(e), "a local process"))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            say(" interrupted: the tasks not started are cancelled")
            raise
        pool.shutdown(wait=True)
        return out


class DaskEngine:
    """dask.distributed: a LocalCluster of WORKERS processes (one thread each) started here
    and closed at the end, or the scheduler at ``address``."""

    def __init__(self, address: str | None = None, workers: int | None = None):
        self.address = address
        self.workers = workers

    def n_workers(self, n_tasks: int) -> int:
        return max(1, min(n_tasks, self.workers or os.cpu_count() or 1))

    def describe(self, n_tasks: int) -> str:
        if self.address:
            return f"on the Dask scheduler {self.address} (its workers)"
        return (f"on a Dask LocalCluster of {self.n_workers(n_tasks)} worker processes "
                "(one thread each), started for the run")

    def _client(self, n_tasks: int):
        import logging

        from distributed import Client, LocalCluster
        if self.address:
            try:
                return Client(self.address, timeout="20s"), None
            except (OSError, TimeoutError) as e:
                raise MainpyError(f"no Dask scheduler answers at {self.address}: {e}") from None
        cluster = LocalCluster(n_workers=self.n_workers(n_tasks), threads_per_worker=1,
                               processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        return Client(cluster), cluster

    def run(self, fn, args_list, say: Callable[[str], None] = print,
            on_done: Callable[[Outcome], None] | None = None, names=None) -> list:
        from distributed import as_completed
        args_list = list(args_list)
        out = [None] * len(args_list)
        client, cluster = self._client(len(args_list))
        try:
            say(f" dask: {self.describe(len(args_list))}; dashboard {client.dashboard_link}")
            futures = {}
            for i, a in enumerate(args_list):
                key = f"mainpy-{names[i] if names else i}-{os.urandom(4).hex()}"
                futures[client.submit(_call, fn, a, key=key, pure=False)] = i
            try:
                for f in as_completed(list(futures)):
                    i = futures[f]
                    try:
                        value, error, where = f.result()
                    except Exception as e:     # noqa: BLE001 - a worker lost, a pickling error
                        value, error, where = None, _describe_error(e), "a Dask worker"
                    out[i] = Outcome(i, value, error, where)
                    if on_done is not None:
                        on_done(out[i])
            except KeyboardInterrupt:
                client.cancel(list(futures))
                say(" interrupted: the Dask tasks are cancelled")
                raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return out


#: the folder of a task's private working folder that holds the inputs it carried
INPUTS = "in"


def write_inputs(folder, inputs: dict) -> None:
    """A task's inputs (name -> bytes) written under ``folder``/INPUTS on the worker."""
    from pathlib import Path
    for name, content in inputs.items():
        p = Path(folder) / INPUTS / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)


def dask_available() -> bool:
    import importlib.util
    return importlib.util.find_spec("distributed") is not None


def choose_engine(scheduler: str | None = None, workers: int | None = None):
    """The engine for SCHEDULER (or $MAINPY_SCHEDULER): "local" a Dask LocalCluster, an
    address that scheduler, none this machine's pool."""
    given = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV) or None
    if given is None:
        return LocalPool(workers)
    source = "SCHEDULER" if scheduler is not None else SCHEDULER_ENV
    if not dask_available():
        if given.lower() == LOCAL:
            return LocalPool(workers, note=f"{source} asks for a Dask LocalCluster but dask "
                             "is not installed (pip install mainpy[cluster])")
        raise MainpyError(f"{source} names the Dask scheduler {given} but dask is not "
                          "installed (pip install mainpy[cluster])")
    if given.lower() == LOCAL:
        return DaskEngine(None, workers)
    return DaskEngine(given, workers)
