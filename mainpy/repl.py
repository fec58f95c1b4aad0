"""The interactive prompt (prompt_toolkit): history, completion, colours, continuation.

Without a terminal (piped input) sentences are read plainly, line by line.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from mainpy.lang.errors import LangError
from mainpy.lang.interpreter import QuitSignal

PROMPT = "MAIN> "
MORE = "  ... "
_CONT = re.compile(r"(?:(?:^|[ \t])-|\\)[ \t]*(?:![^\n]*)?$")


def continues(line: str) -> bool:
    """Does this line end in a continuation mark (a lone '-' or a '\\')?"""
    return bool(_CONT.search(line))


def history_path() -> Path:
    return Path(os.environ.get("MAINPY_HISTORY", Path.home() / ".mainpy_history"))


def run_and_report(session, text: str) -> bool:
    """Run text; print an error if it fails. False when the user asked to quit."""
    try:
        session.run(text)
    except QuitSignal:
        return False
    except LangError as e:
        print(e.format(), file=session.out)
    except KeyboardInterrupt:
        print("interrupted", file=session.out)
    return True


def _keywords() -> list[str]:
    from mainpy.lang.parser import _ATOM_SUB, _RESI_SUB, _TAGS
    from mainpy.lang.registry import registry

    words = set(_TAGS) | set(_ATOM_SUB) | set(_RESI_SUB) | {"end", "key", "distance"}

    def walk_clauses(clauses):
        for c in clauses:
            words.add(c.keyword.lower())
            for a in c.args:
                words.update(a.choices)
            walk_clauses(c.sub)

    for cmd in registry().commands:
        words.update(w.lower() for w in cmd.words)
        walk_clauses(cmd.clauses)
        for a in cmd.lead + cmd.trail:
            words.update(a.choices)
    return sorted(words)


def make_lexer(session):
    """Colours: keywords, numbers, variables, selection operators, comments."""
    import bisect

    from prompt_toolkit.lexers import Lexer

    keywords = _keywords()
    token_rx = re.compile(r'(\s+|![^\n]*|"[^"\n]*"?|[()=:;]|[^\s()=:;!"]+)')
    number_rx = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")

    def is_keyword(w):
        w = w.lower()
        i = bisect.bisect_left(keywords, w)
        return i < len(keywords) and keywords[i].startswith(w)

    class MainLexer(Lexer):
        def lex_document(self, document):
            lines = document.lines

            def get_line(n):
                out = []
                line = lines[n]
                if line.lstrip().startswith("#"):
                    return [("class:comment", line)]
                for tok in token_rx.findall(line):
                    if tok.isspace():
                        style = ""
                    elif tok.startswith("!"):
                        style = "class:comment"
                    elif tok.startswith('"'):
                        style = "class:string"
                    elif tok.startswith("<"):
                        style = "class:macro"
                    elif number_rx.match(tok):
                        style = "class:number"
                    elif tok.startswith(".") and len(tok) > 1:
                        style = "class:operator"
                    elif tok in session.variables:
                        style = "class:variable"
                    elif tok in session.keys:
                        style = "class:key"
                    elif is_keyword(tok):
                        style = "class:keyword"
                    else:
                        style = ""
                    out.append((style, tok))
                return out

            return get_line

    return MainLexer()


def make_completer(session):
    from prompt_toolkit.completion import Completer, Completion

    from mainpy.lang.parser import completions

    class MainCompleter(Completer):
        def get_completions(self, document, complete_event):
            text = document.text_before_cursor
            # complete within the current sentence (continuation lines joined)
            text = re.sub(r"(?:(?<=[ \t])-|\\)[ \t]*\n", " ", text)
            partial = re.search(r"[^\s()=;]*\Z", text).group(0)
            for w in completions(text, session.key_names()):
                shown = w.upper() if not w.startswith(".") else w
                yield Completion(shown.lower() if partial.islower() else shown,
                                 start_position=-len(partial))

    return MainCompleter()


STYLE = {
    "keyword": "#5f87d7 bold", "number": "#d78700", "variable": "#00af87",
    "key": "#00af87 italic", "operator": "#af5fd7", "comment": "#808080 italic",
    "string": "#87af5f", "macro": "#d75f5f bold", "prompt": "bold",
}


def repl(session, input=None, output=None) -> int:
    """The prompt. input/output: prompt_toolkit objects (tests pass a pipe input)."""
    if input is None and not sys.stdin.isatty():
        return _plain(session, sys.stdin)
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.styles import Style

    try:
        history = FileHistory(str(history_path()))
    except OSError:
        history = InMemoryHistory()
    ps = PromptSession(history=history, completer=make_completer(session),
                       lexer=make_lexer(session), style=Style.from_dict(STYLE),
                       enable_history_search=True, auto_suggest=AutoSuggestFromHistory(),
                       complete_while_typing=False, input=input, output=output)
    if input is None:
        session.echo("mainpy: MAIN's command language. help lists the commands; "
                     "Ctrl-D or quit leaves.")
    while True:
        lines = []
        try:
            line = ps.prompt(PROMPT if not lines else MORE)
            lines.append(line)
            while continues(line):
                line = ps.prompt(MORE)
                lines.append(line)
        except KeyboardInterrupt:
            continue            # Ctrl-C clears the line
        except EOFError:
            return 0            # Ctrl-D leaves
        text = "\n".join(lines)
        if text.strip() and not run_and_report(session, text):
            return 0


def _plain(session, stream) -> int:
    """Sentences from a pipe: no prompt, no colours; errors reported, reading goes on."""
    buf = []
    status = 0
    for line in stream:
        buf.append(line.rstrip("\n"))
        if continues(buf[-1]):
            continue
        text = "\n".join(buf)
        buf = []
        if not text.strip():
            continue
        try:
            session.run(text)
        except QuitSignal:
            return status
        except LangError as e:
            print(e.format(), file=session.out)
            status = 1
    if buf and "\n".join(buf).strip():
        run_and_report(session, "\n".join(buf))
    return status
