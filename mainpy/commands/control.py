"""HELP, QUIT, RETURN: the commands about the language itself."""

from mainpy.lang.interpreter import QuitSignal, ReturnSignal
from mainpy.lang.registry import Rest, command, registry


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
        from mainpy.lang.selection_words import help_text
        session.echo(help_text())
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
