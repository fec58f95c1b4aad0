"""HELP, QUIT, RETURN: the commands about the language itself."""

from mainpy.lang.interpreter import QuitSignal, ReturnSignal
from mainpy.lang.registry import Rest, command, registry

SELECTION_HELP = """\
SELE ... END: a selection (one boolean per atom)

  operators  .AND. .OR. .XOR. (infix, left to right)  .NOT. (prefix, binds tighter)
             abbreviated as MAIN writes them: .a .o .x .n ; parentheses group
  ALL, NONE
  ATOM NAME n...   ATOM NUMB i [: j] ...   ATOM ELEM e...
  RESI NAME r...   RESI NUMB i [: j] ...
  SEGM NAME s...   (segment = segid where the file has one, else the chain)
  ALTL a...        TEMP lo hi      OCCU lo hi
  AROUND KEY k DIST r   (through crystal symmetry)
  BY RESI term | BY SEGM term   (widen to whole residues / segments)
  KEY name, or the key name alone (a key wins over a built-in word of the same name)
  names are case-sensitive; wildcards: * any run of characters, % one character

  example: set charge sele resi name ARG LYS ASP GLU .a .not atom name C N CA O end 0.0"""


def _help(session, args):
    words = args.get("command") or []
    reg = registry()
    if not words:
        session.echo("Commands (help COMMAND for details; any unambiguous abbreviation works):")
        for cmd in sorted(reg.commands, key=lambda c: c.name):
            flag = "  (not built yet)" if cmd.action is None else ""
            session.echo(f"  {cmd.name:<16} {cmd.help}{flag}")
        session.echo("  <file [args]     run a macro file (.cmds)")
        session.echo("  help selection   the selection language (sele ... end)")
        return
    if words[0].lower() in ("sele", "select", "selection"):
        session.echo(SELECTION_HELP)
        return
    node = reg.find(words)
    if node is None:
        from mainpy.lang.registry import suggest
        from mainpy.errors import MainpyError
        hint = suggest(words[0], reg.tree)
        raise MainpyError(f"no command {' '.join(words)!r}"
                          + (f"; did you mean {', '.join(hint)}?" if hint else ""))
    if isinstance(node, dict):
        cmds = [c for c in reg.commands if reg.find(list(c.words[:len(words)])) is node]
        for c in cmds:
            session.echo(c.usage())
            session.echo(f"    {c.help}")
        return
    session.echo(node.help_text())


def _quit(session, args):
    raise QuitSignal()


def _return(session, args):
    raise ReturnSignal()


command("help", help="list the commands, or show one command's usage",
        trail=(Rest("command"),), action=_help,
        examples=("help", "help minimize", "help read coor", "help selection"))
command("quit", help="leave mainpy", action=_quit)
command("exit", help="leave mainpy (same as QUIT)", action=_quit)
command("return", help="end the current macro (at the prompt: nothing)", action=_return)
