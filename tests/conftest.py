"""Shared test fixtures: where the real data are, and what to do when they are missing.

The data live outside the project (`MAINPY_TEST_DATA`, default ../shared/data relative to
the project root). Missing data skip the test with the reason, except under
MAINPY_REQUIRE_DATA=1 (set by .ci/run), where they fail.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    return Path(os.environ.get("MAINPY_TEST_DATA", ROOT.parent / "shared" / "data"))


def tools_dir() -> Path:
    """The independent rulers (`MAINPY_TOOLS`, default ../shared/tools beside the data)."""
    return Path(os.environ.get("MAINPY_TOOLS", data_root().parent / "tools"))


def need(relpath: str) -> Path:
    """Path to a data file; skip (or fail under MAINPY_REQUIRE_DATA=1) if it is missing."""
    p = data_root() / relpath
    if not p.exists():
        msg = (f"test data {relpath} not found under {data_root()} "
               "(set MAINPY_TEST_DATA to the shared data folder)")
        if os.environ.get("MAINPY_REQUIRE_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return p


@pytest.fixture(scope="session")
def data():
    """Call data('xtal/1aba/1aba.pdb') to get the path of a real data file."""
    return need


@pytest.fixture(scope="session")
def monlib_dir():
    return need("monomers")
