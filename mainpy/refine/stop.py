"""The stop flag: Ctrl-C at the terminal or key `e` in the window ends a minimization
after the current step (the model stays consistent)."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class StopFlag:
    """Set by whoever wants the running minimization to end; read by the minimizer."""

    def __init__(self):
        self._event = threading.Event()
        self.source = ""

    def request(self, source: str = "") -> None:
        self.source = source
        self._event.set()

    def clear(self) -> None:
        self.source = ""
        self._event.clear()

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
