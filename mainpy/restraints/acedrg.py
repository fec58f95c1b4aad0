"""AceDRG (the CCP4 dictionary generator) for residues without a dictionary, when installed.

AceDRG (`pip install 'mainpy[ligands]'`, which installs the `acedrg` package from PyPI,
MPL-2.0, with RDKit) is run on the residue as the model has it: the dictionary made from
the input geometry (mainpy.restraints.from_coordinates: atoms, coordinates, bonds with a
Kekule structure) is its input (`acedrg -c IN.cif -r NAME -p`: keep the atom names and
coordinates, so the chirality is the model's), in a temporary folder. Its dictionary has
ideal values from small-molecule statistics instead of the model's own. The residue's
group (RNA, DNA, peptide) is kept, so gemmi links it to its neighbours.

The environment variable MAINPY_ACEDRG names the executable, or switches AceDRG off
(`off`, `no`, `0`); by default `acedrg` is looked for on the PATH and beside Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gemmi

ENV = "MAINPY_ACEDRG"
#: (executable, input CIF) -> output CIF: a residue as the model has it is run once a process
_made: dict = {}
OFF = ("off", "no", "0", "false")
#: seconds one residue may take (AceDRG takes 3-20 s on a ligand of 10-40 atoms)
TIMEOUT = 600


class AcedrgError(RuntimeError):
    """AceDRG did not give a usable dictionary (the message says why, in a few words)."""


def executable() -> str | None:
    """The acedrg program to run, or None (not installed, or switched off)."""
    value = os.environ.get(ENV, "").strip()
    if value.lower() in OFF:
        return None
    if value:
        return value if Path(value).is_file() else shutil.which(value)
    beside = Path(sys.executable).parent / "acedrg"
    return shutil.which("acedrg") or (str(beside) if beside.is_file() else None)


def switched_off() -> bool:
    """True when MAINPY_ACEDRG switches AceDRG off."""
    return os.environ.get(ENV, "").strip().lower() in OFF


def _last_words(log: str) -> str:
    """The line of AceDRG's output that says what went wrong (or its last line)."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()
             and not set(ln.strip()) <= set("#=-|")]
    for ln in lines:
        low = ln.lower()
        if "error" in low or "can not" in low or "cannot" in low or "valence" in low:
            return ln[:160]
    return lines[-1][:160] if lines else "no output"


def dictionary(d, exe: str, timeout: float = TIMEOUT) -> str:
    """The CIF text of AceDRG's dictionary for the generated Dictionary `d`; AcedrgError
    when AceDRG fails, times out, or loses an atom of the model."""
    key = (exe, d.cif())
    if key not in _made:
        try:
            _made[key] = _run(d, exe, timeout)
        except AcedrgError as exc:
            _made[key] = exc
    if isinstance(_made[key], AcedrgError):
        raise _made[key]
    return _made[key]


def _run(d, exe: str, timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="mainpy_acedrg_") as tmp:
        folder = Path(tmp)
        (folder / "in.cif").write_text(d.cif())
        try:
            run = subprocess.run([exe, "-c", "in.cif", "-r", d.name, "-o", "out", "-p"],
                                 cwd=folder, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AcedrgError(f"no dictionary after {timeout:.0f} s") from None
        except OSError as exc:
            raise AcedrgError(f"cannot run {exe}: {exc}") from exc
        out = folder / "out.cif"
        if not out.is_file():
            raise AcedrgError(_last_words(run.stdout + "\n" + run.stderr))
        try:
            doc = gemmi.cif.read(str(out))
        except (RuntimeError, ValueError) as exc:
            raise AcedrgError(f"unreadable dictionary: {exc}") from exc
    block = doc.find_block(f"comp_{d.name}")
    if block is None:
        raise AcedrgError(f"no data_comp_{d.name} in its dictionary")
    names = set(block.find_values("_chem_comp_atom.atom_id"))
    names = {gemmi.cif.as_string(n) for n in names}
    lost = [a[0] for a in d.atoms if a[1] not in ("H", "D") and a[0] not in names]
    if lost:
        raise AcedrgError(f"atoms {', '.join(lost[:4])} of the model are not in its dictionary")
    if d.group != "non-polymer":
        head = doc.find_block("comp_list")
        if head is not None:
            table = head.find("_chem_comp.", ["id", "group"])
            for row in table:
                if gemmi.cif.as_string(row[0]) == d.name:
                    row[1] = d.group
    return doc.as_string()


def dictionaries(dicts: dict, exe: str, workers: int | None = None) -> dict:
    """name -> CIF text or AcedrgError for each generated Dictionary, residues run side by
    side on the cores."""
    workers = workers or max(1, min(len(dicts), os.cpu_count() or 1))

    def one(d):
        try:
            return dictionary(d, exe)
        except AcedrgError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(dicts, pool.map(one, dicts.values())))
