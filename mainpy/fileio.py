"""Writing files whole or not at all, readable as the umask allows."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager

#: lists that collect the paths written while `recording()` is open (Session.run's result)
_recorders: list[list] = []


@contextmanager
def recording():
    """Collect the paths `atomic_write` writes inside the block (a list, in order)."""
    paths: list = []
    _recorders.append(paths)
    try:
        yield paths
    finally:
        _recorders.remove(paths)


def atomic_write(path, write) -> None:
    """Call write(tmp_path) on a temporary file beside `path`, then rename it over `path`:
    the file is either the complete new one or untouched. The temporary name keeps the
    extension, for writers that look at it. The file gets the permissions a plain
    open() would give it (0666 less the umask; an existing file keeps its own), not
    mkstemp's private 0600, so that colleagues' programs can read it."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=os.path.splitext(path)[1],
                               dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    for paths in _recorders:
        paths.append(path)


def _mode_for(path: str) -> int:
    """The mode of an existing file, else 0666 less the process's umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
