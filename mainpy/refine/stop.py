"""The stop flag: Ctrl-C at the terminal or key `e` in the window ends a minimization
after the current step (the model stays consistent), and with it everything that was
to run after it: the interpreter unwinds every macro level back to the prompt.

Who does what:
  - `request(source)`: Ctrl-C (through `ctrl_c_stops`) or key e asks for the stop;
  - the minimizer reads the flag after every step and ends there; the run then tells
    the flag how many steps it made (`ran`) and leaves it set;
  - the interpreter, after the sentence has ended (its transaction kept: the model is
    the minimizer's), sees the flag, clears it and runs nothing more of that text and
    of the macros it was called from. It also clears the flag when a text typed or
    given to mainpy starts, so a key e pressed while nothing ran is not kept.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class StopFlag:
    """Set by whoever wants the running minimization to end; read by the minimizer."""

    def __init__(self):
        self._event = threading.Event()
        self.source = ""
        self.steps: int | None = None   # steps of the run the request stopped

    def request(self, source: str = "") -> None:
        self.source = source
        self._event.set()

    def clear(self) -> None:
        self.source = ""
        self.steps = None
        self._event.clear()

    def ran(self, result) -> None:
        """A run has ended (`result`: the driver's RunResult): if this flag stopped it,
        remember how many steps it made (the journal records those). The flag stays set
        so that what follows the run does not run."""
        if self and getattr(result, "reason", None) == "stopped":
            self.steps = int(result.steps)

    def __bool__(self) -> bool:
        return self._event.is_set()


@contextmanager
def ctrl_c_stops(flag: StopFlag):
    """While inside, the first Ctrl-C sets the flag (a second one interrupts at once).
    Only the main thread can take signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if flag:
            raise KeyboardInterrupt
        flag.request("Ctrl-C")

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
