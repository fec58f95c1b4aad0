"""The session: everything a user's commands read and change, in one object.

Model (atoms as arrays), keys, variables, save points, maps, reflections, settings and
the journal live here and nowhere else; commands change them, the graphics window and
the Python API only read them. `Session.run` is the entry for command text.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mainpy.errors import ScienceError

#: keys that always exist: what MINIMIZE moves and what the window shows (all atoms
#: unless the user defines them)
BUILTIN_KEYS = ("active", "image")


@dataclass
class Key:
    """A named selection: its expression (re-evaluated for a new model) and its mask."""

    expr: object
    mask: object


class Session:
    """State of one mainpy session.

    >>> s = Session()
    >>> s.run("set vari STEP = 20")
    >>> s.variables["STEP"]
    '20'
    """

    def __init__(self, out=None, journal: str | Path | None = None, verbose: int = 1,
                 debug: bool = False):
        self.variables: dict[str, object] = {}
        self.keys: dict[str, Key] = {}
        self.model = None                 # mainpy.model.model.Model
        self.saved: dict[str, dict] = {}  # save points: name -> arrays
        self.maps: dict[int, object] = {}       # map number -> gemmi.FloatGrid
        self.reflections = None                 # mainpy.xtal.reflections.Reflections
        self.fmodel = None                      # the last RE_PHASE (mainpy.xtal.fmodel.Fmodel)
        self.map_coefficients = None            # from FOURIER ... FORWARD
        self.xtal = {"shel": 10, "reso": (None, None), "solv_flat": True, "aniso": True,
                     "weights": "sigma"}
        self.monlib_path = None                 # READ MONO: a library folder
        self.extra_cifs: list[str] = []         # READ MONO FILE.cif: extra dictionaries
        self.library = None                     # mainpy.restraints.monlib.MonomerLibrary
        self.restraints = None                  # DEFINE ... BY TOPO: restraint arrays
        self.energy = None                      # the restraint energy of those restraints
        from mainpy.commands.ener import default_terms
        self.ener = default_terms()             # ENER: each term's on/off, scale, map, target
        self.data_weight = None                 # (data terms, weight) of the last run
        self.out = out if out is not None else sys.stdout
        self.verbose = verbose
        self.debug = debug
        self.journal = Path(journal) if journal else None
        from mainpy.refine.stop import StopFlag
        self.stop = StopFlag()                  # set to end a minimization after its step
        self.observers: list = []               # called with the session after model changes
        # called during a minimization after every step: hook(session, step, atoms, shown)
        # where shown is True on WRITE_STEP steps (the window redraws then)
        self.step_hooks: list = []
        from mainpy.lang.interpreter import Interpreter
        self.interpreter = Interpreter(self)

    # ------------------------------------------------------------------ running text
    def run(self, text: str, name: str = "<input>") -> None:
        """Run command text (sentences separated by new lines or ';')."""
        self.interpreter.run_text(text, name)

    def run_file(self, path: str | Path, args=()) -> None:
        """Run a macro file as `<path args` would."""
        self.interpreter.run_file(Path(path), [str(a) for a in args])

    # ------------------------------------------------------------------ output
    def echo(self, text: str = "", level: int = 1) -> None:
        if self.verbose >= level:
            print(text, file=self.out)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=self.out)

    def notify(self) -> None:
        """Tell observers (the graphics window) that the model changed."""
        for fn in list(self.observers):
            fn(self)

    def input_path(self, name: str) -> str:
        """A file to read: as given (relative to the working folder), else beside one of
        the macros that are running (innermost first), so a macro and its data can
        travel together."""
        p = Path(name).expanduser()
        if p.is_absolute() or p.exists():
            return str(p)
        for frame in reversed(self.interpreter.frames):   # innermost macro first
            if frame.path is not None and (frame.path.parent / p).exists():
                return str(frame.path.parent / p)
        return str(p)

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

    # ------------------------------------------------------------------ transactions
    def state(self) -> dict:
        """What a failed sentence must leave as it was (shallow: commands replace arrays)."""
        return {
            "variables": dict(self.variables),
            "keys": {k: Key(v.expr, v.mask) for k, v in self.keys.items()},  # masks are replaced, never changed
            "model": self.model,
            "atoms": self.model.atoms if self.model is not None else None,
            "saved": dict(self.saved),
            "maps": dict(self.maps),
            "reflections": self.reflections,
            "fmodel": self.fmodel,
            "map_coefficients": self.map_coefficients,
            "xtal": dict(self.xtal),
            "monlib_path": self.monlib_path,
            "extra_cifs": list(self.extra_cifs),
            "library": self.library,
            "restraints": self.restraints,
            "energy": self.energy,
            "ener": {k: dict(v) for k, v in self.ener.items()},
            "data_weight": self.data_weight,
            "verbose": self.verbose,
            "debug": self.debug,
        }

    def restore_state(self, st: dict) -> None:
        self.variables = st["variables"]
        self.keys = st["keys"]
        self.model = st["model"]
        if self.model is not None:
            self.model.atoms = st["atoms"]
        self.saved = st["saved"]
        self.maps = st["maps"]
        self.reflections = st["reflections"]
        self.fmodel = st["fmodel"]
        self.map_coefficients = st["map_coefficients"]
        self.xtal = st["xtal"]
        self.monlib_path = st["monlib_path"]
        self.extra_cifs = st["extra_cifs"]
        self.library = st["library"]
        self.restraints = st["restraints"]
        self.energy = st["energy"]
        self.ener = st["ener"]
        self.data_weight = st["data_weight"]
        self.verbose = st["verbose"]
        self.debug = st["debug"]

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
        """A value that changes whenever the user-visible state changes (for tests)."""
        import hashlib
        h = hashlib.sha1()
        if self.model is not None:
            a = self.model.atoms
            for arr in (a.xyz, a.b, a.occ, a.charge, a.weight):
                h.update(arr.tobytes())
        keys = tuple(sorted((k, v.mask.tobytes() if v.mask is not None else b"")
                            for k, v in self.keys.items()))
        return (h.hexdigest(), tuple(sorted(self.variables.items(), key=str)), keys,
                id(self.model), tuple(sorted(self.saved)),
                tuple((k, id(v)) for k, v in sorted(self.maps.items())),
                id(self.reflections), id(self.fmodel), id(self.map_coefficients),
                tuple(sorted(self.xtal.items())), self.verbose, self.debug,
                id(self.library), id(self.restraints), id(self.energy), self.monlib_path,
                tuple(self.extra_cifs), self.data_weight,
                tuple((k, tuple(sorted(v.items()))) for k, v in sorted(self.ener.items())))
