"""docs/commands.md is the reference the declarations generate (python -m
mainpy.lang.reference docs/commands.md writes it again)."""

from pathlib import Path

from mainpy.lang.reference import command_reference
from mainpy.lang.registry import registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "commands.md"


def test_reference_file_is_what_the_declarations_say():
    text = command_reference()
    assert DOC.read_text(encoding="utf-8") == text, (
        "docs/commands.md is stale: run python -m mainpy.lang.reference docs/commands.md")


def test_every_command_has_its_section_with_its_help():
    text = command_reference()
    for c in registry().commands:
        assert f"\n## {c.name}\n" in text
        assert c.usage() in text
    assert "## Selections" in text
