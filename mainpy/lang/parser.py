"""Sentences of tokens to resolved commands, guided by the registry.

`resolve(sentence)` finds the command (abbreviations allowed), reads its arguments and
clauses in any order, and parses selections into trees (mainpy.model.selection) with the
words declared in mainpy.lang.selection_words. Values
that may be variables stay `Val`s until the sentence runs (see `bind`), because a macro
may set a variable on one line and use it on the next.

`completions(text)` runs the same resolution on an unfinished sentence and returns the
words that may come next: the REPL's tab completion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mainpy.lang.errors import LangError, Where
from mainpy.lang.lexer import Sentence, Token
from mainpy.lang.registry import (CHOICE, FILE, INT, REAL, REST, SELE, VALUE, WORD,
                                  Ambiguous, Arg, Clause, Command, match, registry, suggest)
from mainpy.lang import selection_words as W
from mainpy.model import selection as S

VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


@dataclass(frozen=True)
class Val:
    """A value as written: its kind, its text, and its token (for error places)."""

    kind: str
    text: str
    token: Token
    choices: tuple = ()      # for a CHOICE given as a variable: what it may hold


@dataclass
class Use:
    """One occurrence of a clause (or the command itself): its args and sub-clauses."""

    decl: Clause | Command
    token: Token
    values: dict = field(default_factory=dict)       # arg name -> Val | Node | list
    subs: list["Use"] = field(default_factory=list)


@dataclass
class Parsed:
    """A resolved sentence: the command and what was given for it."""

    command: Command
    top: Use
    sentence: Sentence

    @property
    def where(self) -> Where:
        return self.sentence.where


@dataclass
class MacroCall:
    """`<file args`: run a macro."""

    file: Val
    args: list[Val]
    sentence: Sentence

    @property
    def where(self) -> Where:
        return self.sentence.where


class _Complete(Exception):
    """Raised in completion mode when the tokens run out: what could come next."""

    def __init__(self, words):
        super().__init__()
        self.words = words


# ---------------------------------------------------------------------------- selections

_TAGS = tuple(W.TAGS)       # the words, in the order declared (suggestions list them so)
_OPS = W.OPERATORS
_END = W.END


def _is_op(tok: Token) -> bool:
    return tok.kind == "WORD" and tok.text.startswith(".") and len(tok.text.strip(".")) > 0


class _SelParser:
    """Recursive descent over the tokens of `sele ... end`; left to right, .not. binds tighter."""

    def __init__(self, r: "_Resolver", keys):
        self.r = r
        self.keys = keys

    def parse(self) -> S.Node:
        node = self.expr(depth=0)
        tok = self.r.peek()
        if tok is None:
            self.r.need(["end"], "the selection is not closed: END expected")
        if tok.kind == "RPAR":
            raise LangError("unbalanced ')' in selection", tok.where)
        if not (tok.kind == "WORD" and tok.text.lower() == _END):
            raise LangError(f"expected an operator (.and. .or. .xor.) or END, found {tok.text!r}",
                            tok.where)
        self.r.next()
        return node

    def expr(self, depth) -> S.Node:
        node = self.unary(depth)
        while True:
            tok = self.r.peek()
            if tok is None:
                self.r.need(["end", ".and.", ".or.", ".xor."] + ([")"] if depth else []),
                            "the selection is not closed: END expected")
            if not _is_op(tok):
                return node
            op = self.op(tok)
            if op == "not":
                raise LangError(".not. needs an operator before it here (.and. .not. ...)",
                                tok.where)
            self.r.next()
            node = S.BinOp(op, node, self.unary(depth))

    def op(self, tok: Token) -> str:
        word = tok.text.strip(".").lower()
        try:
            m = match(word, _OPS)
        except Ambiguous as e:
            raise LangError(f"ambiguous operator {tok.text!r}", tok.where,
                            ["." + c.upper() + "." for c in e.candidates]) from None
        if m is None:
            raise LangError(f"unknown operator {tok.text!r}", tok.where,
                            [".AND.", ".OR.", ".XOR.", ".NOT."])
        return m

    def unary(self, depth) -> S.Node:
        tok = self.r.peek()
        if tok is None:
            self.r.need(list(_TAGS) + [".not.", "("] + sorted(self.keys or ()),
                        "a selection term expected")
        if _is_op(tok):
            if self.op(tok) != "not":
                raise LangError(f"{tok.text} needs a selection term before it", tok.where)
            self.r.next()
            return S.Not(self.unary(depth))
        if tok.kind == "LPAR":
            self.r.next()
            node = self.expr(depth + 1)
            close = self.r.peek()
            if close is None or close.kind != "RPAR":
                if close is None:
                    self.r.need([")"], "')' expected")
                raise LangError("')' expected", close.where)
            self.r.next()
            return node
        return self.term(depth)

    def term(self, depth) -> S.Node:
        tok = self.r.next()
        if tok.kind != "WORD":
            raise LangError(f"a selection term expected, found {tok.text!r}", tok.where,
                            [t.upper() for t in _TAGS])
        if self.keys is not None and tok.text in self.keys:
            return S.KeyRef(tok.text)
        try:
            tag = match(tok.text, _TAGS)
        except Ambiguous as e:
            raise LangError(f"ambiguous selection word {tok.text!r}", tok.where,
                            [c.upper() for c in e.candidates]) from None
        if tag is None:
            if self.keys is None and VAR_NAME.match(tok.text):
                return S.KeyRef(tok.text)  # no key table yet (resolving ahead): run time decides
            raise LangError(f"{tok.text!r} is neither a selection word nor a key", tok.where,
                            suggest(tok.text, list(_TAGS) + sorted(self.keys or ())))
        return self.word(W.TAGS[tag], (tag.upper(),), depth)

    def word(self, decl: W.Word, said: tuple[str, ...], depth) -> S.Node:
        """What follows a declared word: one of its sub-words, or its parts in order."""
        if decl.subs:
            names = tuple(s.word for s in decl.subs)
            need = " needs one of" if len(names) > 1 else " needs"
            sub = self.r.keyword(names, " ".join(said) + need)
            return self.word(next(s for s in decl.subs if s.word == sub),
                             said + (sub.upper(),), depth)
        vals = []
        for part in decl.parts:
            if part.kind == W.FIXED:
                self.r.keyword((part.name,), " ".join(said) + " needs")
                said += (part.name.upper(),)
                continue
            said += (part.name,)
            if part.kind == W.NAMES:
                vals.append(self.names())
            elif part.kind == W.RANGES:
                vals.append(self.ranges())
            elif part.kind == W.NUMBER:
                vals.append(self.r.value(Arg(part.name, REAL)))
            elif part.kind == W.KEY:
                name = self.r.next_value_token("a key name", sorted(self.keys or ()))
                if part.checked and self.keys is not None and name.text not in self.keys:
                    raise LangError(f"no key named {name.text!r}", name.where,
                                    suggest(name.text, sorted(self.keys)))
                vals.append(name.text)
            elif part.kind == W.TERM:
                vals.append(self.unary(depth))
            else:
                raise AssertionError(part.kind)
        return decl.build(*vals)

    def names(self) -> tuple[str, ...]:
        out = []
        while True:
            tok = self.r.peek()
            if tok is None:
                if out:
                    self.r.need(["end"], "the selection is not closed: END expected")
                self.r.need([], "a name expected")
            if tok.kind in ("LPAR", "RPAR") or _is_op(tok) or (
                    tok.kind == "WORD" and tok.text.lower() == _END):
                break
            if tok.kind not in ("WORD", "NUMBER", "STRING"):
                raise LangError(f"a name expected, found {tok.text!r}", tok.where)
            out.append(tok.value)
            self.r.next()
        if not out:
            raise LangError("a name expected", (tok or self.r.last).where)
        return tuple(out)

    def ranges(self) -> tuple:
        out = []
        while True:
            tok = self.r.peek()
            if tok is None or tok.kind in ("LPAR", "RPAR") or _is_op(tok) or (
                    tok.kind == "WORD" and tok.text.lower() == _END):
                break
            lo = self.r.value(Arg("i", INT))
            hi = lo
            nxt = self.r.peek()
            if nxt is not None and nxt.kind == "COLON":
                self.r.next()
                hi = self.r.value(Arg("j", INT))
            out.append((lo, hi))
        if not out:
            tok = self.r.peek()
            if tok is None:
                self.r.need([], "a number expected")
            raise LangError("a number or range (i : j) expected", tok.where)
        return tuple(out)


# ---------------------------------------------------------------------------- resolver

class _Resolver:
    def __init__(self, sentence: Sentence, keys, completing=False):
        self.sentence = sentence
        self.toks = sentence.tokens
        self.i = 0
        self.keys = keys
        self.completing = completing
        self.last = self.toks[0] if self.toks else None

    # token access
    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            self.need([], "the sentence ends too early")
        self.i += 1
        self.last = tok
        return tok

    def need(self, words, message):
        """Out of tokens: in completion mode offer words, else a located error."""
        if self.completing:
            raise _Complete(words)
        end = self.last.where if self.last else None
        if end is not None:
            end = Where(end.source, end.line, end.col + end.length, 1)
        raise LangError(message, end, [w.upper() for w in words][:8])

    def skip_eq(self):
        while (t := self.peek()) is not None and t.kind == "EQ":
            self.next()

    def keyword(self, names, what) -> str:
        tok = self.peek()
        if tok is None:
            self.need(list(names), f"{what} {' '.join(n.upper() for n in names)}")
        try:
            m = match(tok.text, names) if tok.kind == "WORD" else None
        except Ambiguous as e:
            raise LangError(f"ambiguous {tok.text!r}", tok.where,
                            [c.upper() for c in e.candidates]) from None
        if m is None:
            raise LangError(f"{what} {' | '.join(n.upper() for n in names)}, found {tok.text!r}",
                            tok.where, suggest(tok.text, names))
        self.next()
        return m

    def next_value_token(self, what, offer=()) -> Token:
        tok = self.peek()
        if tok is None:
            self.need(list(offer), f"{what} expected")
        if tok.kind not in ("WORD", "NUMBER", "STRING"):
            raise LangError(f"{what} expected, found {tok.text!r}", tok.where)
        return self.next()

    def value(self, arg: Arg) -> Val:
        """One value of a given kind; numbers may be variable names (bound at run time)."""
        self.skip_eq()
        tok = self.peek()
        if tok is None:
            words = list(arg.choices) if arg.kind == CHOICE else []
            self.need(words, f"{arg.usage()} expected")
        if arg.kind in (INT, REAL):
            if tok.kind == "NUMBER":
                self.next()
                _number(tok, arg.kind)  # reject 1.5 for an integer now
                return Val(arg.kind, tok.text, tok)
            if tok.kind == "WORD" and VAR_NAME.match(tok.text):
                self.next()
                return Val(arg.kind, tok.text, tok)
            raise LangError(f"{'an integer' if arg.kind == INT else 'a number'} "
                            f"({arg.name}) expected, found {tok.text!r}", tok.where)
        if arg.kind == CHOICE:
            try:
                m = match(tok.text, arg.choices) if tok.kind == "WORD" else None
            except Ambiguous as e:
                raise LangError(f"ambiguous {tok.text!r}", tok.where,
                                [c.upper() for c in e.candidates]) from None
            if m is None:
                if tok.kind == "WORD" and VAR_NAME.match(tok.text) \
                        and tok.text.upper() == tok.text and any(c.isalpha() for c in tok.text):
                    self.next()      # an upper-case name: a variable holding the choice
                    return Val(CHOICE, tok.text, tok, arg.choices)
                raise LangError(f"one of {' | '.join(c.upper() for c in arg.choices)} "
                                f"expected, found {tok.text!r}", tok.where,
                                suggest(tok.text, arg.choices))
            self.next()
            return Val(CHOICE, m, tok)
        if tok.kind not in ("WORD", "NUMBER", "STRING", "MACRO"):
            raise LangError(f"{arg.name} expected, found {tok.text!r}", tok.where)
        self.next()
        if arg.kind == WORD and tok.kind == "WORD":
            return Val(arg.kind, self.glued(tok), tok)
        return Val(arg.kind, tok.value, tok)

    def glued(self, tok: Token) -> str:
        """A word with parentheses written against it, as column labels have them
        (I(+), SIGF(-)): `I ( + )` written without spaces is one word."""
        text = tok.text
        end = (tok.where.line, tok.where.col + len(tok.text))
        t = self.toks[self.i:self.i + 3]
        while (len(t) == 3 and [x.kind for x in t] == ["LPAR", "WORD", "RPAR"]
               and all(x.where.line == end[0] for x in t)
               and t[0].where.col == end[1] and t[1].where.col == end[1] + 1
               and t[2].where.col == end[1] + 1 + len(t[1].text)):
            text += f"({t[1].text})"
            self.i += 3
            self.last = t[2]
            end = (end[0], t[2].where.col + 1)
            t = self.toks[self.i:self.i + 3]
        return text

    # clauses
    def context(self, stack) -> list[Clause]:
        out = []
        for use in reversed(stack):
            decl = use.decl
            out += list(decl.sub if isinstance(decl, Clause) else decl.clauses)
        return out

    def find_clause(self, tok: Token, stack) -> tuple[Clause, int] | None:
        """The clause a word names, innermost group first; (clause, depth in stack)."""
        if tok.kind != "WORD":
            return None
        for depth in range(len(stack) - 1, -1, -1):
            decl = stack[depth].decl
            clauses = decl.sub if isinstance(decl, Clause) else decl.clauses
            names = {c.keyword.lower(): c for c in clauses}
            try:
                m = match(tok.text, names)
            except Ambiguous as e:
                raise LangError(f"ambiguous keyword {tok.text!r}", tok.where,
                                [c.upper() for c in e.candidates]) from None
            if m is not None:
                return names[m], depth
        return None

    def choice_variable(self, tok: Token, stack) -> bool:
        """An optional choice given as a variable: an upper-case name, not a keyword."""
        return (VAR_NAME.match(tok.text) is not None and tok.text.upper() == tok.text
                and any(c.isalpha() for c in tok.text) and not self.is_keyword(tok, stack))

    def is_keyword(self, tok: Token, stack) -> bool:
        try:
            return self.find_clause(tok, stack) is not None
        except LangError:
            return True

    def args_into(self, use: Use, args, stack):
        for arg in args:
            tok = self.peek()
            while tok is not None and tok.kind == "EQ":
                self.next()
                tok = self.peek()
            if arg.optional:
                if tok is None:
                    if self.completing:
                        continue
                    continue
                if arg.kind == CHOICE:
                    try:
                        if tok.kind != "WORD" or (match(tok.text, arg.choices) is None
                                                  and not self.choice_variable(tok, stack)):
                            continue
                    except Ambiguous:
                        pass
                elif self.is_keyword(tok, stack) or tok.kind not in ("WORD", "NUMBER", "STRING"):
                    continue
            if arg.kind == SELE:
                use.values[arg.name] = _SelParser(self, self.keys).parse()
            elif arg.kind == REST:
                rest = []
                while self.peek() is not None:
                    t = self.next()
                    rest.append(Val(WORD, t.value, t))
                use.values[arg.name] = rest
            else:
                use.values[arg.name] = self.value(arg)

    def command(self) -> Parsed | MacroCall:
        reg = registry()
        first = self.peek()
        if first is None:
            self.need(sorted(reg.tree), "a command expected")
        if first.kind == "MACRO":
            self.next()
            args = []
            while (t := self.peek()) is not None:
                self.next()
                args.append(Val(WORD, t.value, t))
            return MacroCall(Val(FILE, first.value, first), args, self.sentence)
        node = reg.tree
        path = []
        while isinstance(node, dict):
            tok = self.peek()
            if tok is None:
                what = " ".join(p.upper() for p in path)
                self.need(sorted(node), f"{what} needs one of: "
                          + " ".join(sorted(k.upper() for k in node)))
            if tok.kind != "WORD":
                raise LangError(f"a command word expected, found {tok.text!r}", tok.where)
            try:
                k = match(tok.text, node)
            except Ambiguous as e:
                raise LangError(f"ambiguous {'command' if not path else 'word'} {tok.text!r}",
                                tok.where, [c.upper() for c in e.candidates]) from None
            if k is None:
                if path:
                    msg = f"{' '.join(p.upper() for p in path)} has no {tok.text!r}; one of: " \
                          + " ".join(sorted(c.upper() for c in node))
                else:
                    msg = f"unknown command {tok.text!r} (help lists the commands)"
                raise LangError(msg, tok.where, suggest(tok.text, node))
            self.next()
            path.append(k)
            node = node[k]
        cmd: Command = node
        top = Use(cmd, first)
        stack = [top]
        self.args_into(top, cmd.lead, stack)
        trail = list(cmd.trail)
        counts: dict[str, int] = {}
        while True:
            tok = self.peek()
            if tok is None:
                if self.completing:
                    words = [c.keyword.lower() for c in self.context(stack)]
                    if trail and trail[0].kind == CHOICE:
                        words += list(trail[0].choices)
                    raise _Complete(words)
                break
            if tok.kind == "EQ":
                self.next()
                continue
            found = self.find_clause(tok, stack)
            if found is not None:
                clause, depth = found
                del stack[depth + 1:]
                self.next()
                owner = stack[-1]
                ckey = f"{id(owner)}:{clause.key}"
                counts[ckey] = counts.get(ckey, 0) + 1
                if clause.repeat and counts[ckey] > clause.repeat:
                    raise LangError(f"{clause.keyword.upper()} given too many times"
                                    f" (at most {clause.repeat})", tok.where)
                use = Use(clause, tok)
                owner.subs.append(use)
                self.args_into(use, clause.args, stack + [use])
                if clause.sub:
                    stack.append(use)
                continue
            if trail:
                arg = trail.pop(0)
                self.args_into(top, (arg,), stack)
                if arg.name not in top.values and not arg.optional:
                    raise LangError(f"{arg.usage()} expected", tok.where)
                continue
            names = [c.keyword.lower() for c in self.context(stack)]
            if tok.kind == "WORD":
                raise LangError(f"unknown keyword {tok.text!r} for {cmd.name}", tok.where,
                                suggest(tok.text, names))
            raise LangError(f"unexpected {tok.text!r} for {cmd.name}", tok.where)
        for arg in trail:
            if not arg.optional:
                self.need([], f"{cmd.name} needs {arg.usage()}")
        _check_needs(cmd, top, self)
        return Parsed(cmd, top, self.sentence)


def _check_needs(cmd: Command, top: Use, r: _Resolver):
    given = {u.decl.key for u in top.subs} | set(top.values)
    for group in cmd.needs:
        if not given & set(group):
            shown = " | ".join(_shown(cmd, g) for g in group)
            r.need([], f"{cmd.name} needs {shown}")
    for group in cmd.exclusive:
        both = [g for g in group if g in given]
        if len(both) > 1:
            tok = next(u.token for u in top.subs if u.decl.key == both[1])
            raise LangError(f"{' and '.join(_shown(cmd, b) for b in both)} cannot be used "
                            f"together{_as_option(cmd, both)}", tok.where)


def _as_option(cmd: Command, keys) -> str:
    """'; did you mean KICK ... TYPE 2FOFC?' when one clause takes the other as a choice."""
    for c in cmd.clauses:
        if c.key not in keys:
            continue
        for s in c.sub:
            for a in s.args:
                hit = next((k for k in keys if k != c.key and k in a.choices), None)
                if a.kind == CHOICE and hit:
                    return f"; did you mean {c.keyword.upper()} ... {s.keyword.upper()} " \
                           f"{hit.upper()}?"
    return ""


def _shown(cmd: Command, key: str) -> str:
    for c in cmd.clauses:
        if c.key == key:
            return c.usage()
    for a in cmd.lead + cmd.trail:
        if a.name == key:
            return a.usage()
    return key.upper()


def _number(tok: Token, kind: str):
    text = tok.text if isinstance(tok, Token) else str(tok)
    try:
        x = float(text)
    except ValueError:
        raise LangError(f"a number expected, found {text!r}", tok.where) from None
    if kind == INT:
        if x != int(x):
            raise LangError(f"an integer expected, found {text!r}", tok.where)
        return int(x)
    return x


def resolve(sentence: Sentence, keys=None) -> Parsed | MacroCall:
    """Resolve a sentence against the registry; keys (a set of key names) or None."""
    return _Resolver(sentence, keys).command()


def completions(text: str, keys=None) -> list[str]:
    """Words that may follow `text` (the last, unfinished word filters them)."""
    from mainpy.lang.lexer import split

    partial = ""
    if text and not text[-1].isspace() and text[-1] not in "()=":
        cut = max(text.rfind(c) for c in " \t\n;()=")
        partial, text = text[cut + 1:], text[: cut + 1]
    try:
        sentences = split(text) if text.strip() else []
    except LangError:
        return []
    tail = text.rstrip(" \t")
    ended = tail.endswith(";") or (tail.endswith("\n") and not re.search(
        r"(?:(?:^|[ \t])-|\\)[ \t]*(?:[!#][^\n]*)?\n\Z", tail))
    sent = sentences[-1] if sentences and not ended else Sentence(())
    words: list[str] = []
    try:
        if not sent.tokens:
            raise _Complete(sorted(registry().tree))
        _Resolver(sent, keys, completing=True).command()
    except _Complete as c:
        words = c.words
    except LangError:
        return []
    p = partial.lower()
    if partial.startswith("."):
        words = ["." + w + "." for w in _OPS]
    return sorted({w for w in words if w.lower().startswith(p)})


# ---------------------------------------------------------------------------- binding

def convert(val: Val, variables: dict):
    """The Python value of a Val, with variables substituted."""
    if val.kind in (INT, REAL):
        text = val.text
        if val.token.kind != "NUMBER":
            if text not in variables:
                raise LangError(f"{text!r} is not a number nor a defined variable "
                                "(set vari NAME = value defines one)", val.token.where)
            text = str(variables[text])
        try:
            x = float(text)
        except ValueError:
            raise LangError(f"variable {val.text} = {text!r} is not a number",
                            val.token.where) from None
        if val.kind == INT:
            if x != int(x):
                raise LangError(f"an integer expected, {val.text} is {text}", val.token.where)
            return int(x)
        return x
    if val.kind == CHOICE and val.choices:
        if val.text not in variables:
            raise LangError(f"one of {' | '.join(c.upper() for c in val.choices)} expected, "
                            f"found {val.text!r} (not a defined variable either)",
                            val.token.where, suggest(val.text, val.choices))
        text = str(variables[val.text])
        try:
            m = match(text, val.choices)
        except Ambiguous as e:
            m = None
            text = f"{text} (ambiguous: {', '.join(e.candidates)})"
        if m is None:
            raise LangError(f"variable {val.text} = {text!r} is not one of "
                            f"{' | '.join(c.upper() for c in val.choices)}", val.token.where)
        return m
    if val.kind in (WORD, FILE, VALUE) and val.token.kind == "WORD" and val.text in variables:
        return str(variables[val.text])
    return val.text


class Args:
    """What an action receives: values by name, clauses by keyword, with variables bound.

    args["step"] is the value of the STEP clause (True for a flag, a tuple for several
    values, an Args for a group like ENER DENS); args.all("sele") lists every occurrence.
    """

    def __init__(self, use: Use, variables: dict):
        self.token = use.token
        self._items: list[tuple[str, object]] = []
        for name, v in use.values.items():
            self._items.append((name, _bind_value(v, variables)))
        for sub in use.subs:
            self._items.append((sub.decl.key, _bind_use(sub, variables)))
        self._where = {sub.decl.key: sub.token.where for sub in use.subs}
        for name, v in use.values.items():          # a value's own place
            if isinstance(v, Val):
                self._where.setdefault(name, v.token.where)

    def __contains__(self, name):
        return any(k == name for k, _ in self._items)

    def __getitem__(self, name):
        for k, v in self._items:
            if k == name:
                return v
        raise KeyError(name)

    def get(self, name, default=None):
        return self[name] if name in self else default

    def all(self, name) -> list:
        return [v for k, v in self._items if k == name]

    def names(self) -> list[str]:
        return [k for k, _ in self._items]

    def items(self) -> list[tuple[str, object]]:
        """(name, value) of every argument and clause, in the order given."""
        return list(self._items)

    def where(self, name) -> Where | None:
        """Where a clause (its keyword) or a value was given in the sentence."""
        return self._where.get(name)

    def __repr__(self):
        return f"Args({self._items!r})"


def _bind_value(v, variables):
    if isinstance(v, Val):
        return convert(v, variables)
    if isinstance(v, list):
        return [_bind_value(x, variables) for x in v]
    if isinstance(v, S.Node):
        return S.map_values(v, lambda x: convert(x, variables) if isinstance(x, Val) else x)
    return v


def _bind_use(use: Use, variables):
    decl = use.decl
    if isinstance(decl, Clause) and not decl.sub:
        vals = [_bind_value(use.values[a.name], variables) for a in decl.args
                if a.name in use.values]
        if not decl.args:
            return True
        if len(decl.args) == 1:
            return vals[0] if vals else None
        return tuple(vals)
    return Args(use, variables)


def bind(parsed: Parsed, variables: dict) -> Args:
    """Substitute variables and convert values: the action's arguments."""
    return Args(parsed.top, variables)


def value_vals(parsed) -> list[Val]:
    """Every Val in a parsed sentence (for static checks of variable names)."""
    out = []

    def walk_node(n):
        if isinstance(n, S.Numbers):
            for a, b in n.ranges:
                out.extend(x for x in (a, b) if isinstance(x, Val))
        elif isinstance(n, S.Range):
            out.extend(x for x in (n.lo, n.hi) if isinstance(x, Val))
        elif isinstance(n, S.Around):
            if isinstance(n.dist, Val):
                out.append(n.dist)
        elif isinstance(n, (S.Not, S.By)):
            walk_node(n.arg)
        elif isinstance(n, S.BinOp):
            walk_node(n.left)
            walk_node(n.right)

    def walk(use):
        for v in use.values.values():
            if isinstance(v, Val):
                out.append(v)
            elif isinstance(v, list):
                out.extend(x for x in v if isinstance(x, Val))
            elif isinstance(v, S.Node):
                walk_node(v)
        for s in use.subs:
            walk(s)

    if isinstance(parsed, MacroCall):
        return [parsed.file, *parsed.args]
    walk(parsed.top)
    return out


def selections(parsed) -> list[S.Node]:
    """Every selection tree in a parsed sentence."""
    out = []

    def walk(use):
        out.extend(v for v in use.values.values() if isinstance(v, S.Node))
        for s in use.subs:
            walk(s)

    if isinstance(parsed, Parsed):
        walk(parsed.top)
    return out
