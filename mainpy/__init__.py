"""mainpy: a Python re-creation of MAIN's command language for macromolecular refinement.

Importing this package is cheap: the heavy science (numba, vispy, the FFT code) is
imported by the commands that need it, when they first run.
"""

import os as _os

from mainpy._version import __version__  # noqa: E402

# mainpy's BLAS calls are small (3x3 transforms, scale fits): OpenBLAS's worker threads
# gain nothing there, and their spinning after each call takes the cores from the numba
# kernels and FFTs (refinement steps measured 1.5-2x slower on 2 cores). Set before numpy
# loads OpenBLAS; a value the user has set wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__all__ = ["Session", "__version__"]


def _declare_commands() -> None:
    """Import the command families: each declares its commands in the registry."""
    from mainpy.commands import load_all
    load_all()


# the language knows no command: it asks this loader for them on first use
from mainpy.lang.registry import add_loader as _add_loader  # noqa: E402 - after the env

_add_loader(_declare_commands)


def __getattr__(name):
    if name == "Session":
        from mainpy.session import Session
        return Session
    raise AttributeError(f"module 'mainpy' has no attribute {name!r}")
