"""The vispy window; it observes the session, changes it only through sentences and
may set the stop flag.

Importing this package is free: vispy (and numpy) are imported only when a window is
opened or a picture is made (mainpy.graphics.control, mainpy.graphics.viewer).
"""

import sys


def inputhook(context) -> None:
    """prompt_toolkit input hook (PromptSession.prompt(..., inputhook=inputhook)): keeps
    open windows drawing while the prompt waits; returns at once when none is open."""
    control = sys.modules.get("mainpy.graphics.control")
    if control is None:          # no IMAGE command yet: no window can be open
        return
    control.inputhook(context)
