"""Progress of a long operation (kick maps, ensembles, the first kernel compilation):
one line that updates in place at an interactive prompt, plain lines when the output is
piped or captured, each with the time left. Nothing is shown for an operation that ends
within `AFTER` seconds, so quick ones stay quiet.

    with Progress(session, "kick maps", count) as p:
        for i in range(count):
            ...
            p.update(i + 1)
"""

from __future__ import annotations

import time

#: seconds before anything is shown
AFTER = 2.0
#: seconds between plain lines when the output is not a terminal
EVERY = 10.0
#: seconds between rewrites of the updating line
REDRAW = 0.2


def _seconds(t: float) -> str:
    t = max(0.0, t)
    if t < 60:
        return f"{t:.0f} s"
    m, s = divmod(int(round(t)), 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


class Progress:
    """Progress of `total` units of work named `what`, printed on the session's stream
    (at verbosity 1 and above). `update(done)` after each unit; `close()` (or leaving the
    `with` block) ends the line. `clock` is replaceable for tests."""

    def __init__(self, session, what: str, total: int, after: float | None = None,
                 every: float | None = None, clock=time.monotonic):
        self.session, self.what, self.total = session, what, max(1, int(total))
        self.after = AFTER if after is None else after
        self.every = EVERY if every is None else every
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.shown = False          # anything printed yet
        self._last = -float("inf")  # when the last line was printed
        self._width = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(failed=exc[0] is not None)
        return False

    def _stream(self):
        return self.session.stream() if self.session.verbose >= 1 else None

    def _tty(self, stream) -> bool:
        try:
            return bool(stream.isatty())
        except (AttributeError, ValueError):
            return False

    def line(self) -> str:
        """The progress line now: done of total, percent, elapsed, time left."""
        el = self.clock() - self.start
        pct = 100.0 * self.done / self.total
        left = el / self.done * (self.total - self.done) if self.done else None
        tail = f", about {_seconds(left)} left" if left is not None and \
            self.done < self.total else ""
        return (f" {self.what}: {self.done}/{self.total} ({pct:.0f}%), "
                f"{_seconds(el)}{tail}")

    def update(self, done: int) -> None:
        self.done = min(int(done), self.total)
        now = self.clock()
        stream = self._stream()
        if stream is None or now - self.start < self.after:
            return
        tty = self._tty(stream)
        if now - self._last < (REDRAW if tty else self.every):
            return
        self._write(stream, tty)
        self._last = now

    def _write(self, stream, tty: bool) -> None:
        text = self.line()
        if tty:
            pad = max(0, self._width - len(text))
            stream.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            stream.write(text + "\n")
        stream.flush()
        self.shown = True

    def close(self, failed: bool = False) -> None:
        """End the report: the updating line is finished (with the time taken), a plain
        report gets a last line, if anything was shown at all."""
        if not self.shown:
            return
        stream = self._stream()
        if stream is None:
            return
        el = _seconds(self.clock() - self.start)
        end = "stopped" if failed else "done"
        text = f" {self.what}: {self.done}/{self.total} {end} in {el}"
        if self._tty(stream):
            stream.write("\r" + text + " " * max(0, self._width - len(text)) + "\n")
        else:
            stream.write(text + "\n")
        stream.flush()
        self.shown = False


#: modules of numba kernels compiled on their first use (cached on disk afterwards)
KERNEL_MODULES = ("mainpy.sf._kernels", "mainpy.restraints.terms", "mainpy.restraints._cells",
                  "mainpy.targets._likelihood_kernels", "mainpy.xtal._mask_kernels",
                  "mainpy.xtal._scaling_kernels")
_TOLD: list = []


def uncompiled(modules=KERNEL_MODULES) -> list[str]:
    """The kernel modules with no numba cache index beside them: their first use compiles
    them. Empty when NUMBA_CACHE_DIR puts the cache elsewhere (nothing to tell)."""
    import importlib.util
    import os
    from pathlib import Path
    if os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("NUMBA_DISABLE_JIT"):
        return []
    out = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        src = Path(spec.origin)
        if not any((src.parent / "__pycache__").glob(f"{src.stem}.*.nbi")):
            out.append(name)
    return out


class FirstCompile:
    """Around the first heavy operation of a process: when mainpy's kernels have never
    been compiled here, say so before (it takes a minute, once) and how long it took."""

    def __init__(self, session, clock=time.monotonic):
        self.session, self.clock = session, clock
        self.todo = [] if _TOLD else uncompiled()

    def __enter__(self):
        if self.todo:
            _TOLD.append(True)
            self.start = self.clock()
            self.session.echo(f" compiling mainpy's numerical kernels for this machine "
                              f"({len(self.todo)} modules; first run only, about a minute; "
                              "later runs start at once)")
        return self

    def __exit__(self, *exc):
        if self.todo and exc[0] is None:
            self.session.echo(f" re-phasing kernels compiled and cached in "
                              f"{_seconds(self.clock() - self.start)} (the refinement's "
                              "compile at their first use)")
        return False
