"""Finding and reading the CCP4 monomer library (restraint dictionaries).

Where the library is looked for, in order:
1. an explicit path (``read mono PATH``),
2. the environment variable ``MAINPY_MONLIB``,
3. ``CLIBD_MON`` (set by a CCP4 installation),
4. the dictionary folder shipped with mainpy (``mainpy/restraints/dictionary``).

A library folder may have the CCP4 layout (``a/ALA.cif``, ``list/mon_lib_list.cif``,
``ener_lib.cif``) or be flat (``ALA.cif``, ``mon_lib_list.cif``, ``ener_lib.cif`` side by
side); a flat folder is presented to gemmi through a temporary folder of links. A single
``.cif`` file given as the path is an extra monomer dictionary read on top of the library.

A residue with no dictionary in any of these gets one made from the model
(`with_generated`): by AceDRG where it is installed (mainpy.restraints.acedrg), else from
the input geometry (mainpy.restraints.from_coordinates). A dictionary read with
``read mono FILE.cif`` is a dictionary like the library's, so it wins over a generated one.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import gemmi
import numpy as np

from mainpy.errors import InputError

ENV_VARS = ("MAINPY_MONLIB", "CLIBD_MON")

#: how to supply a library, for error messages
HOW_TO_SUPPLY = ("give a CCP4 monomer library folder with `read mono PATH`, or set the "
                 "environment variable MAINPY_MONLIB (or CLIBD_MON of a CCP4 installation) "
                 "to that folder, or install mainpy's built-in dictionary "
                 "(mainpy/restraints/dictionary)")

_LINK_FILES = ("links_and_mods.cif", "list/mon_lib_list.cif", "mon_lib_list.cif")


def builtin_dir() -> Path:
    """The dictionary folder shipped with mainpy (it may be absent or empty)."""
    return Path(__file__).resolve().parent / "dictionary"


def _is_library(folder: Path) -> bool:
    """True if the folder looks like a monomer library (any monomer or ener_lib file)."""
    if not folder.is_dir():
        return False
    if (folder / "ener_lib.cif").is_file():
        return True
    return any(folder.glob("*.cif")) or any(folder.glob("?/*.cif"))


def find_monlib_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder of the monomer library to use; InputError if there is none.

    An explicit `path` must exist; otherwise the environment variables and then the
    built-in folder are tried in turn.
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_dir():
            raise InputError(f"monomer library folder {p} not found: {HOW_TO_SUPPLY}")
        return p
    for var in ENV_VARS:
        value = os.environ.get(var)
        if value:
            p = Path(value).expanduser()
            if not p.is_dir():
                raise InputError(f"{var} is set to {p}, which is not a folder: "
                                 f"correct it or unset it ({HOW_TO_SUPPLY})")
            return p
    p = builtin_dir()
    if _is_library(p):
        return p
    raise InputError(f"no monomer library found: {HOW_TO_SUPPLY}")


def _monomer_file(root: Path, name: str) -> Path | None:
    """Path of a monomer's CIF in either layout, or None."""
    for cand in (root / name[0].lower() / f"{name}.cif", root / f"{name}.cif",
                 root / name[0].lower() / f"{name.upper()}.cif"):
        if cand.is_file():
            return cand
    return None


_EMPTY_ENER_LIB = "data_energy\nloop_\n_lib_atom.type\n_lib_atom.weight\n"


def _staged_copy(root: Path, names: list[str], tmp: Path) -> Path:
    """A CCP4-layout folder of links to the files of a flat (or incomplete) library."""
    for name in names:
        src = _monomer_file(root, name)
        if src is not None:
            dst = tmp / name[0].lower() / f"{name}.cif"
            dst.parent.mkdir(exist_ok=True)
            _link(src, dst)
    ener = root / "ener_lib.cif"
    if ener.is_file():
        _link(ener, tmp / "ener_lib.cif")
    else:
        (tmp / "ener_lib.cif").write_text(_EMPTY_ENER_LIB)
    (tmp / "list").mkdir(exist_ok=True)
    for rel in _LINK_FILES:
        if (root / rel).is_file():
            _link(root / rel, tmp / "list" / "mon_lib_list.cif")
            break
    else:
        (tmp / "list" / "mon_lib_list.cif").write_text("data_empty\n")
    return tmp


def _link(src: Path, dst: Path) -> None:
    try:
        os.symlink(src.resolve(), dst)
    except OSError:
        shutil.copyfile(src, dst)


@dataclass
class MonomerLibrary:
    """A read monomer library: the gemmi MonLib plus what was not found."""

    monlib: gemmi.MonLib
    path: Path
    missing: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    #: name -> (CIF text, "AceDRG" or "input geometry") of dictionaries made from the model
    generated: dict = field(default_factory=dict)
    #: the model the generated dictionaries were made from (they belong to it)
    source: object = None
    #: (atom keys, (n, 3) coordinates) of that model then: the input geometry that
    #: generated residues are restrained to, each instance to its own
    reference: tuple | None = None

    @property
    def own_geometry(self) -> set:
        """Names of the residues restrained to their input geometry."""
        return {n for n, (_, how) in self.generated.items() if how == "input geometry"}

    def reference_xyz(self, structure: gemmi.Structure):
        """The reference coordinates of model 0's atoms in row order (an atom added since
        has its present position), or None without a reference."""
        if self.reference is None:
            return None
        keys, xyz = self.reference
        where = {k: i for i, k in enumerate(keys)}
        now = atom_keys(structure)
        out = np.array([a.pos.tolist() for ch in structure[0] for r in ch for a in r], float)
        for row, k in enumerate(now):
            i = where.get(k)
            if i is not None:
                out[row] = xyz[i]
        return out.reshape(-1, 3)

    @property
    def has_ener_lib(self) -> bool:
        return len(self.monlib.ener_lib.atoms) > 0


def atom_keys(structure: gemmi.Structure) -> list:
    """(chain, number, icode, residue, atom, altloc) of model 0's atoms in row order."""
    return [(ch.name, r.seqid.num, r.seqid.icode, r.name, a.name, a.altloc)
            for ch in structure[0] for r in ch for a in r]


def missing_message(names: list[str]) -> str:
    """The user message for residue names that have no dictionary entry."""
    return (f"no restraint dictionary for residue type(s) {', '.join(names)}: these residues "
            "get no restraints (the rest of the model is restrained); supply a CCP4 monomer "
            "CIF for them with `read mono FILE.cif`")


def load_monlib(resnames, path: str | os.PathLike | None = None,
                extra_cifs=()) -> MonomerLibrary:
    """Read the dictionaries of `resnames` (plus links, mods and ener_lib).

    `path` is a library folder or a single monomer CIF (then the library itself is found
    as without a path and the CIF is read on top). `extra_cifs` are more monomer CIFs.
    Residue names with no entry are listed in `.missing` with a message, not raised.
    """
    names = sorted({str(n).strip() for n in resnames if str(n).strip()})
    extra = [Path(p) for p in extra_cifs]
    if path is not None and Path(path).is_file():
        extra.insert(0, Path(path))
        path = None
    for f in extra:
        if not f.is_file():
            raise InputError(f"monomer dictionary file {f} not found")
    root = find_monlib_dir(path)
    standard = ((root / "ener_lib.cif").is_file()
                and any((root / rel).is_file() for rel in _LINK_FILES[:2]))
    log = io.StringIO()
    try:
        if standard:
            present = [n for n in names if _monomer_file(root, n) is not None]
            monlib = gemmi.read_monomer_lib(str(root), present, ignore_missing=True)
            flat = [n for n in present if n not in monlib.monomers]
            for n in flat:  # a flat file next to a CCP4 layout
                monlib.read_monomer_cif(str(_monomer_file(root, n)))
        else:
            with tempfile.TemporaryDirectory(prefix="mainpy_monlib_") as tmp:
                staged = _staged_copy(root, names, Path(tmp))
                monlib = gemmi.MonLib()
                monlib.read_monomer_lib(str(staged), [n for n in names
                                                      if _monomer_file(root, n)], log)
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(f"cannot read the monomer library in {root}: {exc}") from exc
    for f in extra:
        try:
            monlib.read_monomer_cif(str(f))
        except (RuntimeError, OSError, ValueError) as exc:
            raise InputError(f"cannot read monomer dictionary {f}: {exc}") from exc
    missing = [n for n in names if n not in monlib.monomers]
    lib = MonomerLibrary(monlib=monlib, path=root, missing=missing)
    if missing:
        lib.messages.append(missing_message(missing))
    if not lib.has_ener_lib:
        lib.messages.append(f"the monomer library in {root} has no ener_lib.cif: non-bonded "
                            "radii are taken from element defaults")
    return lib


def ligands_hint() -> str:
    """How to get AceDRG's dictionaries instead of the input geometry's."""
    from mainpy.restraints import acedrg
    if acedrg.switched_off():
        return f"AceDRG switched off by {acedrg.ENV}"
    return "pip install 'mainpy[ligands]' for AceDRG"


def with_generated(lib: MonomerLibrary, structure: gemmi.Structure, source=None,
                   use_acedrg: bool = True) -> MonomerLibrary:
    """A copy of `lib` with a dictionary for each residue it is missing, made from model 0
    of `structure`: by AceDRG where it is installed (and `use_acedrg`), else (or where it
    fails) from the input geometry. Single atoms (ions) get an atom and no restraints.
    The messages say what was made, one line per kind; `lib` is left as it was."""
    if not lib.missing:
        return lib
    from mainpy.restraints import acedrg
    from mainpy.restraints.from_coordinates import dictionaries_for, read_into
    dicts = dictionaries_for(structure, lib.missing)
    several = {n: d for n, d in dicts.items() if len(d.atoms) > 1}
    exe = acedrg.executable() if use_acedrg and several else None
    made = acedrg.dictionaries(several, exe) if exe else {}
    monlib = lib.monlib.clone()
    generated = dict(lib.generated)
    by_acedrg, failed, own = [], {}, []
    for name, d in dicts.items():
        text = made.get(name)
        if isinstance(text, str):
            by_acedrg.append(name)
            generated[name] = (text, "AceDRG")
        else:
            if text is not None:
                failed[name] = str(text)
            if len(d.atoms) > 1:
                own.append(name)
            text = d.cif()
            generated[name] = (text, "input geometry")
        try:
            read_into(monlib, text, name, d.group)
        except (RuntimeError, ValueError) as exc:
            raise InputError(f"cannot read the dictionary made for {name}: {exc}") from exc
    messages = [m for m in lib.messages if m != missing_message(lib.missing)]
    if by_acedrg:
        messages.append(f"dictionaries made by AceDRG for {', '.join(by_acedrg)} "
                        "(no dictionary in the library)")
    if failed:
        messages.append("AceDRG failed for " + ", ".join(f"{n} ({why})"
                                                       for n, why in failed.items()))
    if own:
        why = "AceDRG failed" if exe else "no dictionary; " + ligands_hint()
        messages.append(f"restraints from the input geometry for {', '.join(own)} ({why}; "
                        "read mono FILE.cif to give one)")
    still = [n for n in lib.missing if n not in monlib.monomers]
    if still:
        messages.append(missing_message(still))
    xyz = np.array([a.pos.tolist() for ch in structure[0] for r in ch for a in r], float)
    return replace(lib, monlib=monlib, missing=still, messages=messages,
                   generated=generated, source=source,
                   reference=(atom_keys(structure), xyz.reshape(-1, 3)))
