"""HELP, QUIT, RETURN: the commands about the language itself."""

from mainpy.lang.interpreter import QuitSignal, ReturnSignal
from mainpy.lang.registry import Rest, command, registry


def _help(session, args):
    words = args.get("command") or []
    reg = registry()
    if not words:
        session.result("Commands (help COMMAND for details; any unambiguous abbreviation works):")
        for cmd in sorted(reg.commands, key=lambda c: c.name):
            flag = "  (not built yet)" if cmd.action is None else ""
            session.result(f"  {cmd.name:<16} {cmd.help}{flag}")
        session.result("  <file [args]     run a macro file (.cmds)")
        session.result("  help selection   the selection language (sele ... end)")
        session.result("  help macro       the macro language (<file args, variables, ...)")
        return
    if words[0].lower() in ("sele", "select", "selection"):
        from mainpy.lang.selection_words import help_text
        session.result(help_text())
        return
    if words[0].lower() in ("macro", "macros") and len(words) == 1:
        from mainpy.lang.macro_help import help_text as macro_text
        session.result(macro_text().rstrip())
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
            session.result(c.usage())
            session.result(f"    {c.help}")
        return
    session.result(node.help_text())


def _quit(session, args):
    raise QuitSignal(from_macro=session.interpreter.depth > 0)


def _return(session, args):
    raise ReturnSignal()


command("help", help="list the commands, or show one command's usage",
        trail=(Rest("command"),), action=_help, journal=False,
        examples=("help", "help minimize", "help read coor", "help selection", "help macro"))
command("quit", help="leave mainpy", action=_quit, journal=False)
command("exit", help="leave mainpy (same as QUIT)", action=_quit, journal=False)
command("return", help="end the current macro (at the prompt: nothing)", action=_return,
        journal=False)
