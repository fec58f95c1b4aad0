"""The layer contract (pyproject.toml, [tool.importlinter]) holds: science imports nothing
from the language, the session, the commands or the window; the language and the window
import no command module."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contract_holds():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports not found: pip install '.[test]' installs import-linter")
    res = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Contracts: 1 kept, 0 broken" in res.stdout
