"""The command reference (docs/commands.md), generated from the declarations: the same
text HELP prints, one section per command, then the selection and the macro language.

Regenerate: python -m mainpy.lang.reference docs/commands.md
"""

from __future__ import annotations

import sys

HEADER = """# mainpy command reference

Generated from the command declarations (`python -m mainpy.lang.reference
docs/commands.md`): each section is what `help COMMAND` prints at the prompt. Words may be
abbreviated wherever the abbreviation is unambiguous; numbers and choices may be given as
variables (`set vari NAME = value`). A test fails when this file and the declarations
differ.
"""


def command_reference() -> str:
    """The whole reference as Markdown."""
    from mainpy.lang.registry import registry
    from mainpy.lang.macro_help import help_text as macro_text
    from mainpy.lang.selection_words import help_text
    reg = registry()
    cmds = sorted(reg.commands, key=lambda c: c.name)
    out = [HEADER, "## Commands", ""]
    for c in cmds:
        flag = " (not built yet)" if c.action is None else ""
        out.append(f"- [{c.name}](#{c.name.lower().replace(' ', '-')}): {c.help}{flag}")
    out.append("- [Selections](#selections): `sele ... end`")
    out.append("- [Macros](#macros): `<file args`, variables")
    for c in cmds:
        out += ["", f"## {c.name}", "", "```", c.help_text().rstrip(), "```"]
    out += ["", "## Selections", "", "```", help_text().rstrip(), "```"]
    out += ["", "## Macros", "", "```", macro_text().rstrip(), "```", ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = command_reference()
    if not argv:
        sys.stdout.write(text)
        return 0
    from mainpy.fileio import atomic_write

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    atomic_write(argv[0], write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
