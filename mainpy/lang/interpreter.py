"""Runs sentences against a Session: macros, arguments, RETURN, the include chain.

Every sentence of a text is resolved before any runs (so a misspelling on line 40 stops
a macro before line 1 changes anything); each is resolved again just before it runs,
with the keys that exist then. A sentence that fails leaves the session as it was.
Text that arrives while a sentence runs (a click in the window during a minimization)
waits until that sentence has ended (`run_soon`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mainpy.errors import MainpyError, NotBuiltError
from mainpy.lang.errors import LangError, Where, wrap
from mainpy.lang.lexer import package_dir, split
from mainpy.lang.parser import MacroCall, Parsed, bind, resolve

MAX_DEPTH = 50


class ReturnSignal(Exception):
    """RETURN: leave the current macro (or the text being run)."""


class QuitSignal(Exception):
    """QUIT: leave mainpy."""


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
        self.deferred: list[tuple[str, str]] = []   # (text, name) to run when they end

    @property
    def depth(self) -> int:
        return len(self.frames)

    def current_dir(self) -> Path | None:
        for f in reversed(self.frames):
            if f.path is not None:
                return f.path.parent
        return None

    # ------------------------------------------------------------------ text and files
    def run_text(self, text: str, name: str = "<input>") -> None:
        sentences = split(text, name)
        for s in sentences:        # resolve everything first: errors before any change
            resolve(s, keys=None)
        try:
            for s in sentences:
                self.run_sentence(s)
        except ReturnSignal:
            pass

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
        while self.deferred and not self.running:
            self._run_reported(*self.deferred.pop(0))

    # ------------------------------------------------------------------ one sentence
    def run_sentence(self, sentence) -> None:
        self.running += 1
        try:
            self._run_sentence(sentence)
        finally:
            self.running -= 1
            if not self.running and self.deferred:
                self._run_deferred()

    def _run_sentence(self, sentence) -> None:
        session = self.session
        parsed = resolve(sentence, keys=session.key_names())
        if isinstance(parsed, MacroCall):
            self.call_macro(parsed)
            return
        if session.verbose >= 2 and self.depth:
            session.echo(f"> {sentence.text}", level=2)
        self.execute(parsed)
        if self.depth == 0 and session.journal is not None:
            self.journal(sentence.text)

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
        if self.depth == 0 and self.session.journal is not None:
            self.journal(call.sentence.text)
        try:
            self.run_file(path, args, call.where)
        except LangError as e:
            raise e.called_from(call.where) from None

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
            raise LangError(f"{cmd.name} is not built yet (it comes with {cmd.pending}); "
                            "nothing was changed", parsed.where)
        try:
            with session.transaction(keep=(ReturnSignal, QuitSignal)):
                args = bind(parsed, session.variables)
                cmd.action(session, args)
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

    def journal(self, text: str) -> None:
        try:
            with open(self.session.journal, "a") as f:
                f.write(text + "\n")
        except OSError as e:
            self.session.warn(f"cannot write the journal {self.session.journal}: {e.strerror}")


__all__ = ["Interpreter", "ReturnSignal", "QuitSignal", "NotBuiltError", "find_macro"]
