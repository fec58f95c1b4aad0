"""One module per command family: each holds its declarations and thin actions.

Importing a family declares its commands in the registry; the science behind an action
is imported when the action first runs, so start-up stays fast.
"""

FAMILIES = ("control", "read", "write", "set", "key", "show", "coor", "refl", "maps",
            "ener", "minimize", "tls", "hydrogen", "water", "ensemble", "batch", "multimodel",
            "image")


def load_all() -> None:
    import importlib
    for name in FAMILIES:
        importlib.import_module(f"mainpy.commands.{name}")
