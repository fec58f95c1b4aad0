"""The interactive prompt (prompt_toolkit): history, completion, colours, continuation.

A sentence continued over several lines (a line ending in a lone `-` or in `\\`) is
edited in one buffer: Enter on a continued line opens the next line, the sentence is
one history entry, and completion sees the whole sentence.

Without a terminal (piped input) sentences are read plainly, line by line.

Leaving (Ctrl-D, QUIT typed at the prompt) with a model that changed since it was last
read or written asks first, as editors do; a macro's QUIT and piped input ask nothing.
A stop request (Ctrl-C during a minimization, key e) that cut a macro short says where
it stopped, and the prompt comes back with the model as the minimizer left it.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from mainpy.lang.errors import LangError
from mainpy.lang.interpreter import QuitSignal, Stopped

PROMPT = "MAIN> "
LEAVE = ("the model was changed since it was last read or written; leave without "
         "writing? [y/N] ")
MORE = "  ... "
#: where a word may start: '#' there begins a comment (as in grammar/main.lark)
_WORD_BREAK = ' \t\f()=;:"'
_MACRO = re.compile(r'<[ \t]*[^\s;!()=:"<]+')


def _scan(line: str) -> tuple[int, int]:
    """Where the line's comment starts ('!' outside a string, or '#' where a word starts;
    len(line) without one) and where its last macro call (`<name`) ends (0 without one)."""
    start = True
    macro_end = 0
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == '"':
            j = line.find('"', i + 1)
            if j < 0:
                return n, macro_end      # unclosed quote: the lexer reports it
            i, start = j + 1, True
            continue
        if c == "!" or (c == "#" and start):
            return i, macro_end
        if c == "<" and start:           # a macro call: '<', blanks, then the name
            m = _MACRO.match(line, i)
            if m:
                i = macro_end = m.end()
                continue
        start = c in _WORD_BREAK
        i += 1
    return n, macro_end


def _code(line: str) -> str:
    """The line without its comment."""
    return line[:_scan(line)[0]]


def continues(line: str) -> bool:
    """Does this line end in a continuation mark (a lone '-' or a '\\', a comment may
    follow)? Asked of the grammar itself, so the prompt and macro files always agree."""
    import lark

    from mainpy.lang.lexer import _lark
    try:
        last = None
        for last in _lark().lex(line + "\n", dont_ignore=True):
            pass
    except lark.exceptions.LarkError:
        return False
    return last is not None and last.type == "CONTINUATION"


def _unmark(line: str) -> str:
    """A continued line without its comment and continuation mark."""
    return re.sub(r"(?:-|\\)[ \t]*\Z", "", _code(line))


def current_sentence(text: str) -> str:
    """The text of the sentence being typed at the end of text, continuation lines joined."""
    lines = text.split("\n")
    parts = [lines[-1]]
    for line in reversed(lines[:-1]):
        if not continues(line):
            break
        parts.insert(0, _unmark(line))
    return " ".join(parts)


def history_path() -> Path:
    return Path(os.environ.get("MAINPY_HISTORY", Path.home() / ".mainpy_history"))


def run_and_report(session, text: str, may_leave=lambda: True) -> bool:
    """Run text; print an error if it fails (a stop request that cut it short, in one
    line). False when the user asked to quit: QUIT typed here asks `may_leave()` first,
    a macro's QUIT does not."""
    try:
        session.run(text)
    except QuitSignal as e:
        return not (e.from_macro or may_leave())
    except LangError as e:
        print(e.format(), file=session.out)
    except KeyboardInterrupt:
        print("interrupted", file=session.out)
    except Exception:  # only with `set debug on`: show the traceback, keep the prompt
        import traceback
        traceback.print_exc(file=session.out)
    return True


def _keywords() -> list[str]:
    from mainpy.lang.registry import registry
    from mainpy.lang.selection_words import all_words

    words = all_words()

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
    token_rx = re.compile(r'(\s+|![^\n]*|(?<![^\s()=:;"])#[^\n]*|"[^"\n]*"?|[()=:;]'
                          r'|[^\s()=:;!"]+)')
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
                for tok in token_rx.findall(line):
                    if tok.isspace():
                        style = ""
                    elif tok[0] in "!#":
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
                    elif tok in session.key_names():
                        style = "class:key"
                    elif is_keyword(tok):
                        style = "class:keyword"
                    else:
                        style = ""
                    out.append((style, tok))
                return out

            return get_line

    return MainLexer()


#: a file name being typed: after FILE, or after '<' (a macro)
_FILE_RX = re.compile(r"(?:(?<![^\s;])file\s+|(?<![^\s;])<\s*)(\S*)\Z", re.IGNORECASE)


def file_completions(text: str, cwd: str | None = None) -> list[str] | None:
    """The file names that complete the word being typed after FILE or '<' (folders with
    their '/'; after '<' folders, .cmds files and the shipped macros by name); None when
    no file name is being typed."""
    m = _FILE_RX.search(text)
    if m is None:
        return None
    partial = m.group(1)
    base = Path(cwd or os.getcwd())
    folder, _, stem = partial.rpartition("/")
    where = Path(os.path.expanduser(folder)) if folder else Path(".")
    look = where if where.is_absolute() else base / where
    macro = text[m.start():].lstrip().startswith("<")
    out = []
    try:
        entries = sorted(look.iterdir(), key=lambda p: p.name)
    except OSError:
        entries = []
    for p in entries:
        if p.name.startswith(stem) and (stem.startswith(".") or not p.name.startswith(".")):
            if macro and not p.is_dir() and p.suffix != ".cmds":
                continue                  # after '<': folders and macro files
            name = (folder + "/" if folder else "") + p.name
            out.append(name + "/" if p.is_dir() else name)
    if macro and not folder:
        from mainpy.lang.lexer import package_dir
        try:
            shipped = sorted(package_dir("macros").glob("*.cmds"))
        except FileNotFoundError:
            shipped = []
        out += [p.stem for p in shipped if p.stem.startswith(stem) and p.stem not in out]
    return out


def make_completer(session):
    """Tab completion: the words that may come next, from the parser's own resolution.

    Keywords follow the case of what was typed (lower case unless the word was typed in
    capitals); key names are case-sensitive and are offered exactly as defined. After
    FILE and '<' file names are offered (`file_completions`).
    """
    from prompt_toolkit.completion import Completer, Completion

    from mainpy.lang.parser import completions

    class MainCompleter(Completer):
        def get_completions(self, document, complete_event):
            text = current_sentence(document.text_before_cursor)
            files = file_completions(text)
            if files is not None:
                typed = _FILE_RX.search(text).group(1)
                for f in files:
                    yield Completion(f, start_position=-len(typed))
                return
            partial = re.search(r"[^\s()=;]*\Z", text).group(0)
            keys = session.key_names()
            for w in completions(text, keys):
                if w in keys or w.startswith(".") or not w[:1].isalpha():
                    shown = w
                elif partial.islower():
                    shown = w.lower()
                else:
                    shown = w.upper()
                yield Completion(shown, start_position=-len(partial))

    return MainCompleter()


STYLE = {
    "keyword": "#5f87d7 bold", "number": "#d78700", "variable": "#00af87",
    "key": "#00af87 italic", "operator": "#af5fd7", "comment": "#808080 italic",
    "string": "#87af5f", "macro": "#d75f5f bold", "prompt": "bold",
}


def _history(path: Path, session):
    """A file history that never stops the prompt: an unwritable file is warned about once
    and the history is kept in memory."""
    from prompt_toolkit.history import FileHistory

    class SafeFileHistory(FileHistory):
        warned = False

        def _warn(self, e):
            if not self.warned:
                self.warned = True
                session.warn(f"history not saved to {path}: {e.strerror or e}")

        def load_history_strings(self):
            try:
                yield from super().load_history_strings()
            except OSError as e:
                if not isinstance(e, FileNotFoundError):
                    self._warn(e)

        def store_string(self, string):
            try:
                super().store_string(string)
            except OSError as e:
                self._warn(e)

    return SafeFileHistory(str(path))


def _key_bindings(ps):
    """Enter on a line that ends in a continuation mark opens the next line."""
    from prompt_toolkit.enums import DEFAULT_BUFFER
    from prompt_toolkit.filters import Condition, has_focus
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()

    @Condition
    def continued():
        return continues(ps.default_buffer.document.lines[-1])

    @kb.add("enter", filter=has_focus(DEFAULT_BUFFER) & continued)
    def _(event):
        buf = event.current_buffer
        buf.cursor_position = len(buf.text)
        buf.insert_text("\n")

    return kb


def repl(session, input=None, output=None) -> int:
    """The prompt. input/output: prompt_toolkit objects (tests pass a pipe input)."""
    if input is None and not sys.stdin.isatty():
        return _plain(session, sys.stdin)
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.styles import Style

    from prompt_toolkit.patch_stdout import patch_stdout

    from mainpy.graphics import inputhook     # keeps an open window alive; imports nothing heavy
    ps = PromptSession(history=_history(history_path(), session),
                       completer=make_completer(session),
                       lexer=make_lexer(session), style=Style.from_dict(STYLE),
                       enable_history_search=True, auto_suggest=AutoSuggestFromHistory(),
                       complete_while_typing=False, prompt_continuation=MORE,
                       input=input, output=output)
    ps.key_bindings = _key_bindings(ps)
    if input is None:
        session.echo("mainpy: MAIN's command language. help lists the commands; "
                     "Ctrl-D or quit leaves.")
    asker = []

    def ask(question: str) -> str:
        if not asker:                    # no history: the answer is not a sentence
            asker.append(PromptSession(input=input, output=output))
        with patch_stdout(raw=True):
            return asker[0].prompt(question)

    def may_leave() -> bool:
        return _may_leave(session, ask)

    while True:
        try:
            with patch_stdout(raw=True):     # atom picks in the window print above the prompt
                text = ps.prompt(PROMPT, inputhook=inputhook)
        except KeyboardInterrupt:
            continue            # Ctrl-C clears the sentence
        except EOFError:
            if may_leave():     # Ctrl-D leaves (asking first if the model changed)
                return 0
            continue
        if text.strip() and not run_and_report(session, text, may_leave):
            return 0


def _may_leave(session, ask) -> bool:
    """May the prompt end? Yes if the model is as last read or written; else the user
    is asked (Enter, n: no). An input that has ended cannot answer: yes."""
    if not session.model_changed():
        return True
    try:
        answer = ask(LEAVE)
    except EOFError:
        return True
    except KeyboardInterrupt:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print(" not leaving: write coor file NAME writes the model", file=session.stream())
    return False


def _renumber(e: LangError, name: str, offset: int) -> LangError:
    """Move the places in `name` of an error down by `offset` lines (sentences from a pipe
    are run one by one; their errors name the line of the whole stream)."""
    from dataclasses import replace

    from mainpy.lang.errors import Source

    def fix(w):
        if w is None or w.source.name != name or offset == 0:
            return w
        return replace(w, source=Source(name, "\n" * offset + w.source.text),
                       line=w.line + offset)

    e.where = fix(e.where)
    e.chain = [fix(w) for w in e.chain]
    return e


def _plain(session, stream) -> int:
    """Sentences from a pipe: no prompt, no colours; errors reported, reading goes on.

    Errors name the line of the stream (`<stdin>:12:5`). The exit status is 1 if any
    sentence failed, 130 if interrupted or stopped (Ctrl-C during a minimization,
    which ends the reading too), else 0.
    """
    name = getattr(stream, "name", None)
    name = name if isinstance(name, str) else "<stdin>"
    buf: list[str] = []
    first = 1          # line number of buf[0]
    status = 0

    def run(lines, at) -> bool:
        nonlocal status
        text = "\n".join(lines)
        if not text.strip():
            return True
        try:
            session.run(text, name)
        except QuitSignal:
            return False
        except Stopped as e:            # a stop request ends the reading too
            print(_renumber(e, name, at - 1).format(), file=session.out)
            status = 130
            return False
        except LangError as e:
            print(_renumber(e, name, at - 1).format(), file=session.out)
            status = 1
        stop = session.interpreter.last_stop
        if stop is not None:
            print(_renumber(stop, name, at - 1).format(), file=session.out)
            status = 130
            return False
        return True

    try:
        for lineno, line in enumerate(stream, 1):
            if not buf:
                first = lineno
            buf.append(line.rstrip("\r\n"))
            if continues(buf[-1]):
                continue
            lines, buf = buf, []
            if not run(lines, first):
                return status
        if buf:
            run(buf, first)
    except KeyboardInterrupt:
        print("interrupted", file=session.out)
        return 130
    return status
