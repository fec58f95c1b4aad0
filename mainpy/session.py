"""The session: everything a user's commands read and change, in one object.

Model (atoms as arrays), keys, variables, save points, maps, reflections, settings and
the journal live here and nowhere else; commands change them, the graphics window and
the Python API only read them (the window changes them through sentences). `Session.run`
is the entry for command text.

The state is declared once, in `STATE`: each field with its value in a new session and
how it is kept for rollback and compared in the fingerprint, so `state()`,
`restore_state()` and `fingerprint()` cannot forget a field. What a session holds that
is not state (where it prints, the interpreter, hooks) is listed in `NOT_STATE`.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from mainpy.errors import ScienceError
from mainpy.lang.selection_words import BUILTIN_KEYS

__all__ = ["BUILTIN_KEYS", "Key", "Session", "STATE", "NOT_STATE", "KINDS", "Field", "Kind",
           "default_terms"]


@dataclass
class Key:
    """A named selection: its expression (re-evaluated for a new model) and its mask."""

    expr: object
    mask: object


def default_terms() -> dict:
    """ENER's settings in a new session: every restraint term but local NCS on with scale
    1; the data terms off until switched on."""
    out = {t: {"on": True, "scale": 1.0} for t in ("bond", "angle", "torsion", "chiral",
                                                   "plane", "nonbonded", "adp",
                                                   "rigidbond", "sphericity", "ncs")}
    # local NCS waits to be asked for: on 1d7m it lowered R-free 0.0017 on the deposited
    # model but held a start shaken by 0.6 A far from the truth (rmsd 0.224 against 0.195)
    out["ncs"]["on"] = False
    out["xray"] = {"on": False, "scale": 1.0, "target": "ml"}
    out["dens"] = {"on": False, "scale": 1.0, "map": None}
    out["diff"] = {"on": False, "scale": 1.0, "map": None}
    out["em"] = {"on": False, "scale": 1.0, "map": None, "work": "full"}
    return out


# ---------------------------------------------------------------------------- kinds of state

class Same:
    """Equal only to the same object: how an object that commands replace (and never
    change) enters the fingerprint. It holds the object, so no other can take its id."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, Same) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)

    def __repr__(self):
        return f"Same({type(self.obj).__name__} at {id(self.obj):#x})"


def _digest(arr) -> tuple:
    """An array's shape, type and the SHA-1 of its bytes (None stays None)."""
    if arr is None:
        return None
    import hashlib

    import numpy as np
    a = np.ascontiguousarray(arr)
    return a.shape, a.dtype.str, hashlib.sha1(a.tobytes()).hexdigest()


def _sorted(items):
    return sorted(items, key=lambda kv: str(kv[0]))


def _save_model(model):
    return model, (model.atoms if model is not None else None)


def _restore_model(kept):
    model, atoms = kept
    if model is not None:
        model.atoms = atoms
    return model


def _print_model(model):
    if model is None:
        return None
    from mainpy.model.atoms import MUTABLE
    a = model.atoms
    return Same(model), tuple((k, _digest(getattr(a, k))) for k in MUTABLE)


def _same(x):
    return x


@dataclass(frozen=True)
class Kind:
    """How a kind of state is kept before a sentence (and put back if it fails), and
    what of it the fingerprint compares. `changes` says what a command may do to it."""

    name: str
    changes: str
    save: Callable[[Any], Any]
    print: Callable[[Any], Any]
    restore: Callable[[Any], Any] = _same


VALUE = Kind("value", "replaced (numbers, strings, tuples, None)", _same, _same)
OBJECT = Kind("object", "replaced by another object, never changed in place", _same,
              lambda x: None if x is None else Same(x))
DICT = Kind("dict", "entries added, replaced or removed; the values are plain values",
            dict, lambda d: tuple(_sorted(d.items())))
DICT_OF_OBJECTS = Kind("dict of objects", "entries added, replaced or removed; the "
                       "objects themselves never changed in place", dict,
                       lambda d: tuple((k, Same(v)) for k, v in _sorted(d.items())))
LIST = Kind("list", "items added or removed; the items are plain values", list, tuple)
LIST_OF_OBJECTS = Kind("list of objects", "items added, replaced or removed; the objects "
                       "themselves never changed in place", list,
                       lambda x: tuple(Same(v) for v in x))
TABLE = Kind("table", "a dict of dicts of plain values, changed at any level",
             lambda d: {k: dict(v) for k, v in d.items()},
             lambda d: tuple((k, tuple(_sorted(v.items()))) for k, v in _sorted(d.items())))
KEYS = Kind("keys", "keys added, removed or replaced; a key's expression or mask "
            "replaced (a mask is never changed in place)",
            lambda d: {k: Key(v.expr, v.mask) for k, v in d.items()},
            lambda d: tuple((k, v.expr, _digest(v.mask)) for k, v in _sorted(d.items())))
MODEL = Kind("model", "replaced, or its atoms replaced (atom arrays are replaced, never "
             "changed in place; every one of mainpy.model.atoms.MUTABLE is compared)",
             _save_model, _print_model, _restore_model)

KINDS = (VALUE, OBJECT, DICT, DICT_OF_OBJECTS, LIST, LIST_OF_OBJECTS, TABLE, KEYS, MODEL)


@dataclass(frozen=True)
class Field:
    """One piece of session state: its attribute, its value in a new session, its kind."""

    name: str
    new: Callable[[], Any]
    kind: Kind
    help: str


#: every piece of state a command may change; a failed sentence puts all of it back
STATE: tuple[Field, ...] = (
    Field("variables", dict, DICT, "SET VARI: name -> value"),
    Field("keys", dict, KEYS, "KEY: name -> Key (ACTIVE and IMAGE are all atoms until set)"),
    Field("model", lambda: None, MODEL, "the model (mainpy.model.model.Model)"),
    Field("tls", list, LIST_OF_OBJECTS, "TLS groups (mainpy.model.tls.TlsGroup): the TLS command, read "
          "with the model, refined by B-VALUES TLS"),
    Field("saved", dict, DICT_OF_OBJECTS, "SAVE COOR points: name -> arrays"),
    Field("maps", dict, DICT_OF_OBJECTS, "map number -> gemmi.FloatGrid"),
    Field("em", dict, DICT_OF_OBJECTS, "READ MAP n ... HALF1 ... HALF2 ...: EM map "
          "number -> mainpy.em.data.EmData (a box of its own, apart from MAPS)"),
    Field("reflections", lambda: None, OBJECT,
          "READ REFL (mainpy.xtal.reflections.Reflections)"),
    Field("fmodel", lambda: None, OBJECT, "the last re-phasing (mainpy.xtal.fmodel.Fmodel)"),
    Field("map_coefficients", lambda: None, OBJECT, "from FOURIER ... FORWARD"),
    Field("xtal", lambda: {"shel": 10, "reso": (None, None), "solv_flat": True,
                           "aniso": True, "weights": "sigma", "outliers": True}, DICT,
          "REFL's settings"),
    Field("monlib_path", lambda: None, VALUE, "READ MONO: a library folder"),
    Field("extra_cifs", list, LIST, "READ MONO FILE.cif: extra dictionaries"),
    Field("library", lambda: None, OBJECT, "mainpy.restraints.monlib.MonomerLibrary"),
    Field("restraints", lambda: None, OBJECT, "DEFINE ... BY TOPO: restraint arrays"),
    Field("energy", lambda: None, OBJECT, "the restraint energy of those restraints"),
    Field("ener", default_terms, TABLE, "ENER: each term's on/off, scale, map, target"),
    Field("hydrogens", lambda: "riding", VALUE,
          "HYDROGEN RIDING|FREE: hydrogens ride on their parents in refinement, or are atoms"),
    Field("data_weight", lambda: None, VALUE, "(data terms, weight) of the last run"),
    Field("model_mark", lambda: None, VALUE,
          "the model's print (as the fingerprint sees it) when it was last read or "
          "written whole: the model changed since if it differs (None: never)"),
    Field("runs", list, LIST_OF_OBJECTS, "the refinement runs' histories "
          "(mainpy.app.history.RunHistory), oldest first; the last MAX_RUNS are kept"),
    Field("verbose", lambda: 1, VALUE, "SET VERBOSE: how much is printed"),
    Field("debug", lambda: False, VALUE, "SET DEBUG: show tracebacks of internal errors"),
)

#: what a session holds that is not state: never put back after a failed sentence
NOT_STATE: dict[str, str] = {
    "out": "where the session prints",
    "journal": "the file the prompt's sentences are written to",
    "stop": "the stop flag: set to end a minimization after its step, and with it every "
            "macro level (the interpreter clears it when it has unwound them)",
    "observers": "called with the session after model changes (the window)",
    "step_hooks": "called during a minimization after every step: hook(session, step, "
                  "atoms, shown), shown on WRITE_STEP steps (the window redraws then)",
    "interpreter": "runs the sentences (macros, the include chain, deferred sentences)",
    "captures": "the buffers that collect what is printed while Session.run runs (for "
                "its result)",
}

#: refinement runs whose history a session keeps
MAX_RUNS = 100


class _Tee:
    """A stream that writes to the printing stream and to the capture buffers."""

    def __init__(self, base, buffers):
        self.base, self.buffers = base, buffers

    def write(self, text):
        for b in self.buffers:
            b.write(text)
        return self.base.write(text)

    def flush(self):
        self.base.flush()

    def isatty(self):
        return bool(getattr(self.base, "isatty", lambda: False)())


@dataclass
class Result:
    """What `Session.run` did: the text it printed, the figures it produced (R-work and
    R-free of the model in hand if it re-phased; a refinement's rmsd bonds/angles, mean
    B, ...), the refinement runs' histories (`mainpy.app.history.RunHistory`) and the
    files it wrote (that still exist at its end)."""

    text: str
    figures: dict
    runs: list
    files: list

    @property
    def history(self):
        """The last refinement run's history (None if the text refined nothing)."""
        return self.runs[-1] if self.runs else None

    @property
    def r_work(self):
        return self.figures.get("R-work")

    @property
    def r_free(self):
        return self.figures.get("R-free")

    def __repr__(self) -> str:
        figs = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in self.figures.items())
        parts = [figs] if figs else []
        if self.runs:
            parts.append(f"{len(self.runs)} run{'s' if len(self.runs) > 1 else ''}")
        if self.files:
            parts.append("files: " + " ".join(str(f) for f in self.files))
        return f"Result({'; '.join(parts)})"


class Session:
    """State of one mainpy session.

    >>> s = Session()
    >>> _ = s.run("set vari STEP = 20")
    >>> s.variables["STEP"]
    '20'
    """

    def __init__(self, out=None, journal: str | Path | None = None, verbose: int = 1,
                 debug: bool = False):
        for f in STATE:
            setattr(self, f.name, f.new())
        self.verbose = verbose
        self.debug = debug
        self.out = out if out is not None else sys.stdout
        self.journal = Path(journal) if journal else None
        from mainpy.refine.stop import StopFlag
        self.stop = StopFlag()
        self.observers: list = []
        self.step_hooks: list = []
        self.captures: list = []
        from mainpy.lang.interpreter import Interpreter
        self.interpreter = Interpreter(self)

    # ------------------------------------------------------------------ running text
    def run(self, text: str, name: str = "<input>") -> Result:
        """Run command text (sentences separated by new lines or ';') and return what it
        did (`Result`: printed text, figures, run histories, files written). A stop
        request (Ctrl-C, key e) that leaves sentences unrun raises `Stopped`; one that
        ends the last sentence is in `interpreter.last_stop`."""
        with self._collecting() as collect:
            with self.interpreter.top():
                self.interpreter.run_text(text, name)
        return collect()

    @contextmanager
    def _collecting(self):
        """Around a text: capture what is printed, note the runs, the Fmodel and the
        files; yields a function that makes the `Result`."""
        import io
        import os

        from mainpy.fileio import recording
        buf = io.StringIO()
        runs_before = {id(r) for r in self.runs}
        fmodel_before = self.fmodel
        self.captures.append(buf)
        try:
            with recording() as paths:
                yield lambda: result
        finally:
            self.captures.remove(buf)
        runs = [r for r in self.runs if id(r) not in runs_before]
        figures = dict(getattr(runs[-1], "after", None) or {}) if runs else {}
        fm = self.fmodel
        if fm is not None and fm is not fmodel_before and hasattr(fm, "r_factors"):
            figures["R-work"], figures["R-free"] = fm.r_factors()   # a new re-phasing's
        files = list(dict.fromkeys(p for p in paths if os.path.exists(p)))
        # an updating progress line (\r) is kept as it ended
        text = "\n".join(line.rsplit("\r", 1)[-1] for line in buf.getvalue().split("\n"))
        result = Result(text, figures, runs, files)

    def run_soon(self, text: str, name: str = "<window>") -> bool:
        """Run text now or, while a sentence runs (a click in the window during a
        minimization), once it has ended. Errors are printed, not raised: nobody waits
        for this text. True if it ran now."""
        return self.interpreter.run_soon(text, name)

    def run_file(self, path: str | Path, args=()) -> None:
        """Run a macro file as `<path args` would."""
        with self.interpreter.top():
            self.interpreter.run_file(Path(path), [str(a) for a in args])

    # ------------------------------------------------------------------ output
    def stream(self):
        """Where printing goes now: `out`, except that the terminal's stdout is looked up
        when printing (the prompt patches it while it waits, so that what a click in the
        window prints appears above the prompt line)."""
        base = sys.stdout if self.out is sys.__stdout__ else self.out
        return _Tee(base, self.captures) if self.captures else base

    def echo(self, text: str = "", level: int = 1) -> None:
        """Progress and chatter: printed at verbosity `level` and above (-q is 0)."""
        if self.verbose >= level:
            print(text, file=self.stream(), flush=True)

    def result(self, text: str = "") -> None:
        """A line of what a sentence was asked to show (SHOW, REFL R-VALUE, HELP):
        printed whatever the verbosity, -q too."""
        print(text, file=self.stream(), flush=True)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=self.stream(), flush=True)

    @property
    def history(self):
        """The last refinement run's history (mainpy.app.history.RunHistory), or None."""
        return self.runs[-1] if self.runs else None

    def keep_run(self, history) -> None:
        """Keep a refinement run's history (the last MAX_RUNS are kept)."""
        self.runs = (self.runs + [history])[-MAX_RUNS:]

    def notify(self) -> None:
        """Tell observers (the graphics window) that the model changed."""
        for fn in list(self.observers):
            fn(self)

    def input_path(self, name: str) -> str:
        """A file to read: as given (relative to the working folder), else beside one of
        the macros that are running (innermost first), so a macro and its data can
        travel together. (`--check` looks for files the same way.)"""
        from mainpy.lang.interpreter import input_file
        return input_file(name, [f.path for f in self.interpreter.frames])

    # ------------------------------------------------------------------ model & selections
    def need_model(self):
        if self.model is None:
            raise ScienceError("no model: read one first (read coor file model.pdb)")
        return self.model

    @property
    def atoms(self):
        return self.need_model().atoms

    def key_names(self) -> set[str]:
        return set(self.keys) | set(BUILTIN_KEYS)

    def key_masks(self) -> dict:
        import numpy as np
        masks = {k: v.mask for k, v in self.keys.items() if v.mask is not None}
        if self.model is not None:
            for k in BUILTIN_KEYS:
                masks.setdefault(k, np.ones(len(self.model.atoms), bool))
        return masks

    def select(self, node):
        """Boolean mask of the atoms a selection tree picks (all atoms for None)."""
        import numpy as np

        from mainpy.model import selection as S
        atoms = self.atoms
        if node is None:
            return np.ones(len(atoms), bool)

        def neighbours(mask, dist):
            from mainpy.model.neighbors import within
            return within(atoms, self.model.synced_structure(), mask, dist, synced=True)

        try:
            return S.evaluate(node, atoms, self.key_masks(), neighbours)
        except S.SelectionError as e:
            raise ScienceError(str(e)) from None

    def set_model(self, model) -> None:
        """Install a new model; keys are evaluated again on it (dropped with a warning if
        they no longer evaluate), save points of another atom count are dropped."""
        old = self.model
        self.model = model
        self.fmodel = None
        self.restraints = self.energy = None   # the topology belongs to the old model
        self.data_weight = None
        for name, key in list(self.keys.items()):
            try:
                key.mask = self.select(key.expr)
            except Exception as e:  # noqa: BLE001 - report and drop, the model is still read
                self.warn(f"key {name} dropped: {e}")
                del self.keys[name]
        if old is not None and len(old.atoms) != len(model.atoms):
            self.saved.clear()
        self.model_mark = _print_model(model)     # as read: nothing to lose yet

    def model_written(self, mask=None) -> None:
        """WRITE COOR calls this once the model is written (`mask`: the atoms written,
        None for all): a model written whole counts as kept until it changes again."""
        if self.model is not None and (mask is None or bool(mask.all())):
            self.model_mark = _print_model(self.model)

    def model_changed(self) -> bool:
        """Has the model changed since it was last read or written whole? (Leaving the
        prompt then asks first.)"""
        return self.model is not None and _print_model(self.model) != self.model_mark

    # ------------------------------------------------------------------ transactions
    def state(self) -> dict:
        """What a failed sentence must put back: every field of STATE, kept as its kind
        says (shallow: commands replace arrays and objects, they do not change them)."""
        return {f.name: f.kind.save(getattr(self, f.name)) for f in STATE}

    def restore_state(self, st: dict) -> None:
        for f in STATE:
            setattr(self, f.name, f.kind.restore(st[f.name]))

    @contextmanager
    def transaction(self, keep=()):
        """Run a block; if it raises (other than the `keep` signals), the session is put
        back as it was."""
        st = self.state()
        try:
            yield
        except keep:
            raise
        except BaseException:
            self.restore_state(st)
            raise

    def fingerprint(self) -> tuple:
        """A value that changes whenever the state changes (for tests): every field of
        STATE as its kind compares it."""
        return tuple((f.name, f.kind.print(getattr(self, f.name))) for f in STATE)
