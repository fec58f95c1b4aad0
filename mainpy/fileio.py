"""Writing files whole or not at all."""

from __future__ import annotations

import os
import tempfile


def atomic_write(path, write) -> None:
    """Call write(tmp_path) on a temporary file beside `path`, then rename it over `path`:
    the file is either the complete new one or untouched. The temporary name keeps the
    extension, for writers that look at it."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=os.path.splitext(path)[1],
                               dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
