"""Exceptions that carry a message for the user (no traceback is shown for these).

Science modules raise `InputError` for bad files or data (the message says which file and
what to do) and `ScienceError` when a computation cannot proceed; the language layer adds
the place in the command text (see mainpy.lang.errors).
"""


class MainpyError(Exception):
    """Base of every error whose message is meant for the user."""


class InputError(MainpyError):
    """A file or data set that cannot be used as given."""


class ScienceError(MainpyError):
    """A computation that cannot proceed (no data, no model, diverged)."""


class NotBuiltError(MainpyError):
    """A declared command whose action has not been built yet."""
