"""Runs sentences against a Session: macros, arguments, RETURN, the include chain.

Every sentence of a text is resolved before any runs (so a misspelling on line 40 stops
a macro before line 1 changes anything); each is resolved again just before it runs,
with the keys that exist then. A sentence that fails leaves the session as it was.
Text that arrives while a sentence runs (a click in the window during a minimization)
waits until that sentence has ended (`run_soon`).

A stop request (Ctrl-C, key e in the window: `session.stop`) ends the minimization that
runs after its step; once that sentence has ended (its change kept), nothing more runs:
every macro level unwinds (`Stopped`) back to the prompt.

Sentences typed at the prompt are journaled as they ran (a stopped minimization with
the steps it made), each session's entries after a header line; commands declared with
`journal=False` (HELP, SHOW) only read and are not journaled.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mainpy.errors import MainpyError, NotBuiltError
from mainpy.lang.errors import LangError, Where, wrap
from mainpy.lang.lexer import package_dir, split
from mainpy.lang.parser import MacroCall, Parsed, bind, resolve, value_vals
from mainpy.lang.registry import DERIVED, refresh_derived

MAX_DEPTH = 50


class ReturnSignal(Exception):
    """RETURN: leave the current macro (or the text being run)."""


class QuitSignal(Exception):
    """QUIT: leave mainpy. `from_macro`: a macro asked (the prompt asks nothing then)."""

    def __init__(self, from_macro: bool = False):
        super().__init__()
        self.from_macro = from_macro


class Stopped(LangError):
    """A stop request (Ctrl-C, key e) ended the sentence at `where`; what was to follow
    it (later sentences, the rest of every calling macro) did not run. Its message is
    one line: where it stopped and what that means."""

    def __init__(self, where: Where | None, source: str = "", steps: int | None = None,
                 command: str = "", skipped: bool = True):
        self.source, self.steps, self.command, self.skipped = source, steps, command, skipped
        by = source or "a stop request"
        if steps is not None:
            what = (f"in {command} after {steps} step{'s' if steps != 1 else ''}; "
                    "the model is as the minimizer left it")
        else:
            what = f"after {command}" if command else "here"
        super().__init__(f"stopped by {by} {what}"
                         + ("; nothing after it ran" if skipped else ""), where)

    def place(self) -> str:
        w = self.where
        return f"{w.source.name}:{w.line}" if w is not None else "mainpy"

    def format(self) -> str:
        return f"{self.place()}: {self.message}"


@dataclass
class Frame:
    """One level of the include chain: the macro file and where it was called from."""

    path: Path | None
    called_at: Where | None


def macro_search_path(caller_dir: Path | None) -> list[Path]:
    """Where `<name` looks: the caller's folder, the working folder, $MAINPY_MACROS, shipped."""
    dirs = []
    if caller_dir is not None:
        dirs.append(caller_dir)
    dirs.append(Path.cwd())
    for d in os.environ.get("MAINPY_MACROS", "").split(os.pathsep):
        if d:
            dirs.append(Path(d))
    try:
        dirs.append(package_dir("macros"))
    except FileNotFoundError:
        pass
    return dirs


def input_file(name: str, macros=()) -> str:
    """A file to read: as given (relative to the working folder), else beside one of
    the `macros` (paths of the macro files running, outermost first), innermost first,
    so a macro and its data can travel together. As given if found nowhere."""
    p = Path(name).expanduser()
    if p.is_absolute() or p.exists():
        return str(p)
    for m in reversed(list(macros)):
        if m is not None and (Path(m).parent / p).exists():
            return str(Path(m).parent / p)
    return str(p)


def find_macro(name: str, caller_dir: Path | None) -> Path | None:
    """The macro file `name` (`.cmds` may be left out) on the search path, or None."""
    p = Path(name).expanduser()
    if p.name in ("", ".", ".."):
        return None
    names = [p] if p.suffix else [p.with_name(p.name + ".cmds"), p]
    if p.is_absolute():
        return next((n for n in names if n.is_file()), None)
    for d in macro_search_path(caller_dir):
        for n in names:
            if (d / n).is_file():
                return d / n
    return None


class Interpreter:
    def __init__(self, session):
        self.session = session
        self.frames: list[Frame] = []
        self.running = 0           # sentences running now (macros and phase hooks nest)
        self.acting = 0            # command actions running (a phase macro runs in one)
        self.deferred: list[tuple[str, str]] = []   # (text, name) to run when they end
        self._deferring = False
        self._levels: list[list[int]] = []   # [sentence running, count] of each text
        self.last_stop: Stopped | None = None   # the stop honoured in the last text
        self._journal_head: Path | None = None  # the journal this session's header is in

    @property
    def depth(self) -> int:
        return len(self.frames)

    def current_dir(self) -> Path | None:
        for f in reversed(self.frames):
            if f.path is not None:
                return f.path.parent
        return None

    # ------------------------------------------------------------------ text and files
    @contextmanager
    def top(self):
        """Around a text given to the session (typed, -c, a macro file run by mainpy):
        a stop asked for while nothing ran is forgotten when it starts, and none
        outlives it. `last_stop` tells what a stop ended in it (None: nothing)."""
        outer = not self.running and not self._levels
        if outer:
            self.session.stop.clear()
            self.last_stop = None
        try:
            yield
        finally:
            if outer:
                self.session.stop.clear()

    def run_text(self, text: str, name: str = "<input>") -> None:
        sentences = split(text, name)
        for s in sentences:        # resolve everything first: errors before any change
            resolve(s, keys=None)
        level = [0, len(sentences)]
        self._levels.append(level)
        try:
            for i, s in enumerate(sentences):
                level[0] = i
                self.run_sentence(s)
        except ReturnSignal:
            pass
        finally:
            self._levels.pop()

    def run_file(self, path: Path, args: list[str], called_at: Where | None = None) -> None:
        if len(self.frames) >= MAX_DEPTH:
            raise LangError(f"macros nested more than {MAX_DEPTH} deep (runaway recursion?)",
                            called_at)
        try:
            text = path.read_text()
        except OSError as e:
            raise LangError(f"cannot read macro {path}: {e.strerror}", called_at) from None
        v = self.session.variables
        names = [f"ARG{i}" for i in range(1, max(len(args), self._nargs()) + 1)] + ["NARG"]
        saved = {k: v[k] for k in names if k in v}
        for k in names:
            v.pop(k, None)
        for i, a in enumerate(args, 1):
            v[f"ARG{i}"] = a
        v["NARG"] = str(len(args))
        self.frames.append(Frame(path, called_at))
        try:
            self.run_text(text, str(path))
        finally:
            self.frames.pop()
            v = self.session.variables
            for k in names:
                v.pop(k, None)
            v.update(saved)

    def _nargs(self) -> int:
        try:
            return int(self.session.variables.get("NARG", 0))
        except ValueError:
            return 0

    def run_soon(self, text: str, name: str) -> bool:
        """Run text now or, while a sentence runs (a click in the window arrives during
        a minimization), once the outermost sentence has ended, so it is journaled after
        it and its own transaction stands alone. A failure is printed, not raised:
        nobody waits for this text. True if it ran now."""
        if self.running:
            self.deferred.append((text, name))
            return False
        self._run_reported(text, name)
        return True

    def _run_reported(self, text: str, name: str) -> None:
        try:
            self.run_text(text, name)
        except LangError as e:
            print(e.format(), file=self.session.stream(), flush=True)

    def _run_deferred(self) -> None:
        self._deferring = True         # a stop request is not this text's to honour
        try:
            while self.deferred and not self.running:
                self._run_reported(*self.deferred.pop(0))
        finally:
            self._deferring = False

    # ------------------------------------------------------------------ one sentence
    def run_sentence(self, sentence) -> None:
        self.running += 1
        try:
            parsed = self._run_sentence(sentence)
            if self.session.stop and not self.acting and not self._deferring:
                self._honour_stop(sentence, parsed)
        finally:
            self.running -= 1
            if not self.running and self.deferred:
                self._run_deferred()

    def _run_sentence(self, sentence):
        session = self.session
        parsed = resolve(sentence, keys=session.key_names())
        if isinstance(parsed, MacroCall):
            self.call_macro(parsed)
            return parsed
        if session.verbose >= 2 and self.depth:
            session.echo(f"> {sentence.text}", level=2)
        self.execute(parsed)
        if self.depth == 0 and session.journal is not None and parsed.command.journal:
            self.journal(*self._as_ran(sentence, parsed))
        return parsed

    def _honour_stop(self, sentence, parsed) -> None:
        """A stop request was made while `sentence` ran (which has ended, its change
        kept): nothing more runs. Raises `Stopped` if anything was left to run (later
        sentences here or in the texts and macros this one was called from)."""
        flag = self.session.stop
        command = parsed.command.name if isinstance(parsed, Parsed) else \
            f"<{parsed.file.text}"
        skipped = any(i < n - 1 for i, n in self._levels)
        stop = Stopped(sentence.where, flag.source, flag.steps, command, skipped)
        flag.clear()
        self.last_stop = stop
        if skipped:
            raise stop

    def call_macro(self, call: MacroCall) -> None:
        from mainpy.lang.parser import convert
        variables = self.session.variables
        name = convert(call.file, variables)
        path = find_macro(name, self.current_dir())
        if path is None:
            dirs = ", ".join(str(d) for d in macro_search_path(self.current_dir()))
            raise LangError(f"no macro {name!r} (looked for {name}.cmds in: {dirs})",
                            call.file.token.where)
        args = [convert(a, variables) for a in call.args]
        journal = self.depth == 0 and self.session.journal is not None
        before = self.last_stop
        try:
            self.run_file(path, args, call.where)
        except LangError as e:
            raise e.called_from(call.where) from None
        finally:
            # journaled once it has run, as it ran: a call a stop request cut short
            # cannot be replayed as it ran (a replay would run the whole macro)
            if journal:
                stop = self.last_stop if self.last_stop is not before else None
                if stop is not None:
                    self.journal(f"! not replayed: {stop.place()}: {stop.message}:",
                                 "! " + call.sentence.text)
                else:
                    self.journal(call.sentence.text)

    def run_macro(self, name: str, args=(), called_at: Where | None = None) -> None:
        """Run a macro found on the search path (the minimizer's phase hook uses this)."""
        path = find_macro(name, self.current_dir())
        if path is None:
            raise LangError(f"no macro {name!r} on the macro path", called_at)
        self.run_file(path, [str(a) for a in args], called_at)

    def execute(self, parsed: Parsed) -> None:
        session = self.session
        cmd = parsed.command
        if cmd.action is None:
            raise LangError(f"{cmd.name} is not built yet: {cmd.pending}; nothing was "
                            "changed", parsed.where)
        try:
            with session.transaction(keep=(ReturnSignal, QuitSignal)):
                if DERIVED:
                    refresh_derived(session, {v.text for v in value_vals(parsed)})
                args = bind(parsed, session.variables)
                self.acting += 1
                try:
                    cmd.action(session, args)
                finally:
                    self.acting -= 1
        except (ReturnSignal, QuitSignal):
            raise
        except LangError:
            raise
        except MainpyError as e:
            raise wrap(e, parsed.where) from None
        except KeyboardInterrupt:
            raise LangError("interrupted; nothing was changed", parsed.where) from None
        except Exception as e:  # a bug: say so plainly, keep the session
            if session.debug:
                raise
            raise LangError(f"internal error in {cmd.name}: {type(e).__name__}: {e} "
                            "(set debug on shows the traceback)", parsed.where) from None

    # ------------------------------------------------------------------ the journal
    def _as_ran(self, sentence, parsed: Parsed) -> list[str]:
        """The journal's lines for a sentence typed at the prompt: the sentence, or, if a
        stop request cut its minimization short, the sentence with the steps that ran
        (after a comment with the sentence as typed), so that a replay makes the same
        model. A command without STEP that was cut short is commented out."""
        flag = self.session.stop
        if not flag or flag.steps is None:
            return [sentence.text]
        head = f"! stopped by {flag.source or 'a stop request'} after {flag.steps} " \
               f"step{'s' if flag.steps != 1 else ''}"
        step = _step_clause(parsed.command)
        if step is None:
            return [f"{head}, not replayed:", "! " + sentence.text]
        given = next((u for u in parsed.top.subs if u.decl is step), None)
        if given is not None:
            tok = given.values[step.args[0].name].token
            text = " ".join(str(flag.steps) if t is tok else t.text for t in sentence.tokens)
        else:
            text = f"{sentence.text} {step.keyword} {flag.steps}"
        if _has_clause(parsed.top, "kick"):
            head += " (its kicks are replayed as those of a run of that length)"
        return [f"{head}: {sentence.text}", text]

    def journal(self, *lines: str) -> None:
        """Append lines to the journal; the first of a session follows a header line
        (the date and mainpy's version), so sessions appended to one file stay apart."""
        path = self.session.journal
        try:
            with open(path, "a") as f:
                if self._journal_head != path:
                    from datetime import datetime

                    from mainpy._version import __version__
                    now = datetime.now().isoformat(sep=" ", timespec="seconds")
                    f.write(f"! ---- mainpy {__version__}, session of {now}\n")
                    self._journal_head = path
                for line in lines:
                    f.write(line + "\n")
        except OSError as e:
            self.session.warn(f"cannot write the journal {path}: {e.strerror}")


def _step_clause(cmd):
    """The command's STEP n clause (a run's step count), if it has one."""
    from mainpy.lang.registry import INT
    return next((c for c in cmd.clauses if c.key == "step" and len(c.args) == 1
                 and c.args[0].kind == INT), None)


def _has_clause(use, key: str) -> bool:
    return any(u.decl.key == key or _has_clause(u, key) for u in use.subs)


__all__ = ["Interpreter", "ReturnSignal", "QuitSignal", "Stopped", "NotBuiltError",
           "find_macro", "input_file"]
