"""docs/api.md documents every piece of session state and every field of Session.run's
result: a field added without a line there fails here."""

import dataclasses
from pathlib import Path

from mainpy.app.history import FIXED_COLUMNS
from mainpy.session import NOT_STATE, STATE, Result

DOC = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()


def test_every_state_field_is_documented():
    missing = [f.name for f in STATE if f"`{f.name}`" not in DOC]
    missing += [k for k in NOT_STATE if f"`{k}`" not in DOC]
    assert not missing, f"docs/api.md does not describe {missing}"


def test_every_result_field_and_history_column_is_documented():
    names = [f.name for f in dataclasses.fields(Result)] + ["history", "r_work", "r_free"]
    names += list(FIXED_COLUMNS)
    assert not [n for n in names if f"`{n}`" not in DOC]


def test_readme_links_the_api_page():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "(docs/api.md)" in readme
