"""Files are written whole or not at all, with the permissions the umask gives."""

import os
import stat

import pytest

from mainpy.fileio import atomic_write


def _write(text):
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    return write


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        p = tmp_path / "model.pdb"
        atomic_write(p, _write("ATOM\n"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(p).st_mode) == mode
    assert p.read_text() == "ATOM\n"


def test_a_rewritten_file_keeps_its_mode(tmp_path):
    p = tmp_path / "data.mtz"
    p.write_text("old")
    os.chmod(p, 0o640)
    atomic_write(p, _write("new"))
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640 and p.read_text() == "new"


def test_a_failed_write_leaves_the_old_file(tmp_path):
    p = tmp_path / "out.pdb"
    p.write_text("old")

    def fail(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(p, fail)
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["out.pdb"]
