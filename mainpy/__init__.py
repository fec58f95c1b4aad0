"""mainpy: a Python re-creation of MAIN's command language for macromolecular refinement.

Importing this package is cheap: the heavy science (numba, vispy, the FFT code) is
imported by the commands that need it, when they first run.
"""

__version__ = "0.1.0"

__all__ = ["Session", "__version__"]


def __getattr__(name):
    if name == "Session":
        from mainpy.session import Session
        return Session
    raise AttributeError(f"module 'mainpy' has no attribute {name!r}")
