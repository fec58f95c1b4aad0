"""Reflection data: read MTZ or mmCIF structure factors into flat numpy arrays.

`read_reflections` picks the amplitude (or intensity) and free-flag columns, converts
intensities to amplitudes by French & Wilson (1978), and keeps unobserved reflections
(NaN or F == 0) in the arrays with `observed` False, so that every array is aligned with
`hkl`. Systematically absent reflections are dropped (they carry no information).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace

import gemmi
import numpy as np

from mainpy.errors import InputError

#: labels that look like free-R flag columns (case-insensitive)
_FREE_RE = re.compile(r"free|r[-_]?free|test", re.IGNORECASE)
#: preferred amplitude / intensity labels, in order, when several columns qualify
_F_PREFERRED = ("FP", "F", "FOBS", "F-obs", "F_meas_au", "FMEAN", "F-obs-filtered")
_I_PREFERRED = ("IMEAN", "I", "IOBS", "I-obs", "intensity_meas", "I-obs-filtered")


@dataclass
class Reflections:
    """Per-reflection arrays aligned with ``hkl`` plus the crystal they belong to.

    ``fobs``/``sigf`` are NaN where a reflection is unobserved. ``free`` is True for the
    test (free) set. ``epsilon`` is the multiplicity factor without lattice centring, as
    used for Wilson statistics.
    """

    hkl: np.ndarray            # (n, 3) int32
    d: np.ndarray              # (n,) d-spacing, Angstrom
    fobs: np.ndarray           # (n,) amplitudes, NaN = unobserved
    sigf: np.ndarray           # (n,) NaN = unobserved
    free: np.ndarray           # (n,) bool, True = test set
    centric: np.ndarray        # (n,) bool
    epsilon: np.ndarray        # (n,) float
    cell: gemmi.UnitCell
    spacegroup: gemmi.SpaceGroup
    iobs: np.ndarray | None = None
    sigi: np.ndarray | None = None
    source: str = ""
    labels: dict = field(default_factory=dict)   # role -> column label
    free_value: int | None = 0                   # flag value meaning "free" (None: no flags)
    french_wilson: bool = False                  # amplitudes came from intensities
    flags: np.ndarray | None = None              # the file's free-R flag values (NaN: none)
    free_note: str = ""                          # how the test set was read, for the user
    crystal_note: str = ""                       # what of the crystal came from the model
    anom: np.ndarray | None = None               # F(+) - F(-) of Bijvoet pairs (NaN: not both)
    notes: list = field(default_factory=list)    # what reading left out or assumed
    #: reflections rejected as outliers against a model (`mainpy.xtal.outliers`), in
    #: these rows; None: not screened. `without_outliers` gives the data in use.
    outliers: np.ndarray | None = None
    outlier_note: str = ""

    def __len__(self) -> int:
        return len(self.hkl)

    @property
    def observed(self) -> np.ndarray:
        """Reflections with a usable amplitude."""
        return np.isfinite(self.fobs) & np.isfinite(self.sigf) & (self.fobs > 0)

    @property
    def work(self) -> np.ndarray:
        return self.observed & ~self.free

    @property
    def test(self) -> np.ndarray:
        return self.observed & self.free

    @property
    def s2(self) -> np.ndarray:
        """1/d^2 for every reflection."""
        return 1.0 / self.d ** 2

    @property
    def d_min(self) -> float:
        return float(self.d[self.observed].min())

    @property
    def d_max(self) -> float:
        return float(self.d[self.observed].max())

    def select(self, mask: np.ndarray) -> "Reflections":
        """A new Reflections holding only the selected rows (bool mask or indices)."""
        def sub(a):
            return None if a is None else a[mask]
        return replace(self, hkl=self.hkl[mask], d=self.d[mask], fobs=self.fobs[mask],
                       sigf=self.sigf[mask], free=self.free[mask],
                       centric=self.centric[mask], epsilon=self.epsilon[mask],
                       iobs=sub(self.iobs), sigi=sub(self.sigi), labels=dict(self.labels),
                       flags=sub(self.flags), anom=sub(self.anom),
                       outliers=sub(self.outliers))

    def without_outliers(self) -> "Reflections":
        """The same rows with the rejected outliers unobserved (NaN), as every target, R
        and map then sees them; itself when none were rejected."""
        o = self.outliers
        if o is None or not o.any():
            return self

        def cut(a):
            return None if a is None else np.where(o, np.nan, a)
        return replace(self, fobs=cut(self.fobs), sigf=cut(self.sigf), iobs=cut(self.iobs),
                       sigi=cut(self.sigi), anom=cut(self.anom))

    def summary(self) -> dict:
        """Counts MAIN's `refl` reports: total, observed, work, free and free fraction."""
        obs = self.observed
        n_free = int(self.test.sum())
        return {"n": len(self), "observed": int(obs.sum()), "work": int(self.work.sum()),
                "free": n_free, "free_fraction": n_free / max(1, int(obs.sum())),
                "d_min": self.d_min, "d_max": self.d_max}


#: REFL FREE GENERATE: the field's usual test-set fraction, and at least this many test
#: reflections (up to 10 %) where the data have ten times as many
GENERATED_FREE_FRACTION, FREE_MIN_COUNT = 0.05, 500


def generate_free(refl: Reflections, fraction: float = GENERATED_FREE_FRACTION,
                  seed: int = 0) -> Reflections:
    """The reflections with a test set made now: a random ``fraction`` of the unique
    reflections (seeded, so the same data give the same set), at least FREE_MIN_COUNT of
    the observed ones where there are ten times as many. Written out as FREE, 0 = free."""
    if not 0.0 < fraction <= 0.5:
        raise InputError(f"a test-set fraction is between 0 and 0.5 (got {fraction:g})")
    obs = refl.observed
    n_obs = int(obs.sum())
    want = max(fraction, min(FREE_MIN_COUNT / max(n_obs, 1), 0.1)) \
        if n_obs >= 10 * FREE_MIN_COUNT else fraction
    rng = np.random.default_rng(seed)
    free = rng.random(len(refl)) < want
    n = int((free & obs).sum())
    note = (f"test set made now (refl free generate, seed {seed}): {n} observed "
            f"reflections ({100 * n / max(n_obs, 1):.1f} %); R-free is from this set, not "
            "one kept aside when the model was built")
    return replace(refl, free=free, flags=None, free_value=0, free_note=note)


def resolution_mask(d: np.ndarray, d_min: float | None = None,
                    d_max: float | None = None) -> np.ndarray:
    """True where d_min <= d <= d_max (a missing limit is open)."""
    m = np.ones(len(d), bool)
    if d_min is not None and d_min > 0:
        m &= d >= d_min * (1 - 1e-9)
    if d_max is not None and d_max > 0:
        m &= d <= d_max * (1 + 1e-9)
    return m


def select_resolution(refl: Reflections, d_min: float | None = None,
                      d_max: float | None = None) -> Reflections:
    """The reflections between d_max (low resolution) and d_min (high resolution)."""
    if d_min is not None and d_max is not None and d_min > d_max:
        d_min, d_max = d_max, d_min
    return refl.select(resolution_mask(refl.d, d_min, d_max))


# ----------------------------------------------------------------------------- reading

def no_cell(cell: gemmi.UnitCell) -> bool:
    """gemmi's stand-in for a file without a cell (1 1 1 90 90 90) or none at all."""
    return cell.volume <= 1.0 + 1e-6


def _read_mtz(path: str, crystal=None, block: str | None = None
              ) -> tuple[gemmi.Mtz, list, list]:
    """An MTZ object from an MTZ file or from a merged block of an mmCIF SF file
    (`_choose_block`), what of ``crystal`` (cell, space group) filled in what the file
    lacks, and the lines that say which block was taken."""
    if not os.path.exists(path):
        raise InputError(f"reflection file {path} does not exist; check the file name")
    low = path.lower()
    notes = []
    if block and not low.endswith((".cif", ".mmcif", ".ent", ".cif.gz", ".mmcif.gz",
                                   ".ent.gz")):
        raise InputError(f"{path}: BLOCK chooses a data block of an mmCIF file; an MTZ has "
                         "none (name its columns with fobs/iobs)")
    try:
        if low.endswith((".cif", ".mmcif", ".ent", ".cif.gz", ".mmcif.gz", ".ent.gz")):
            doc = gemmi.cif.read(path)
            blocks = [rb for rb in gemmi.as_refln_blocks(doc) if rb.is_merged()]
            if not blocks:
                raise InputError(f"{path} has no merged reflection block (_refln loop); "
                                 "give a structure-factor mmCIF or an MTZ file")
            rb, note = _choose_block(blocks, path, crystal, block)
            if note:
                notes.append(note)
            mtz = gemmi.CifToMtz().convert_block_to_mtz(rb)
        else:
            mtz = gemmi.read_mtz_file(path)
    except InputError:
        raise
    except (RuntimeError, ValueError, OSError) as e:
        raise InputError(f"cannot read reflection file {path}: {e}; "
                         "give an MTZ or structure-factor mmCIF file") from None
    taken = []
    if crystal is not None and crystal[1] is not None:
        cell, sg = crystal
        if mtz.spacegroup is None:
            mtz.spacegroup = sg
            taken.append("space group")
        if no_cell(mtz.cell):
            mtz.set_cell_for_all(cell)
            taken.append("cell")
    if mtz.spacegroup is None:
        raise InputError(f"{path} has no space group; read the model first (its crystal is "
                         "then used), or add one (e.g. with gemmi or CCP4)")
    if no_cell(mtz.cell):
        raise InputError(f"{path} has no unit cell; read the model first (its crystal is "
                         "then used), or add one")
    return mtz, taken, notes


#: largest relative difference of cell lengths (and angles, as a fraction of 90 degrees)
#: for a data block to count as the model's crystal
BLOCK_CELL_MATCH = 0.02


def cell_offset(cell: gemmi.UnitCell, ref: gemmi.UnitCell) -> float:
    """The largest relative difference of the six cell parameters from ``ref``'s."""
    a, b = np.array(cell.parameters), np.array(ref.parameters)
    return float((np.abs(a - b) / b).max())


def _block_fits(rb, crystal) -> bool | None:
    """Whether a reflection block's crystal is the model's (None: it has no cell or
    space group to compare)."""
    cell, sg = crystal
    if no_cell(rb.cell) or rb.spacegroup is None or sg is None:
        return None
    if rb.spacegroup.number != sg.number:
        return False
    a, b = np.array(rb.cell.parameters), np.array(cell.parameters)
    rel = np.abs(a - b) / np.r_[b[:3], [90.0] * 3]
    return bool(rel.max() <= BLOCK_CELL_MATCH)


def _choose_block(blocks, path, crystal, name):
    """The merged reflection block to read, and a line saying which when there are
    several: the one named; else the first whose cell and space group are the model's
    (or that has none to compare); else the first. A structure-factor file of the PDB
    may hold several data sets (other crystals, derivatives, wavelengths)."""
    names = [rb.block.name for rb in blocks]
    if name:
        for rb in blocks:
            if rb.block.name == name:
                return rb, (f"data block {name!r} of {len(blocks)} as named"
                            if len(blocks) > 1 else "")
        raise InputError(f"{path} has no reflection block {name!r}; its merged blocks are: "
                         + ", ".join(names))
    if len(blocks) == 1:
        return blocks[0], ""
    listing = ", ".join(names)
    if crystal is not None and crystal[1] is not None:
        fits = [_block_fits(rb, crystal) for rb in blocks]
        ok = [k for k, f in enumerate(fits) if f]
        bare = [k for k, f in enumerate(fits) if f is None]
        if ok or bare:
            k = min(ok, key=lambda j: cell_offset(blocks[j].cell, crystal[0])) \
                if ok else bare[0]
            why = ("its cell and space group are the model's"
                   + (" (the closest cell)" if len(ok) > 1 else "")) if ok else \
                "it has no crystal of its own (the model's is used)"
            return blocks[k], (f"data block {names[k]!r} ({k + 1} of {len(blocks)}: "
                               f"{listing}): {why}; BLOCK name takes another")
        return blocks[0], (f"data block {names[0]!r} (1 of {len(blocks)}: {listing}); none "
                           "has the model's cell and space group; BLOCK name takes another")
    return blocks[0], (f"data block {names[0]!r} (1 of {len(blocks)}: {listing}): the first; "
                       "read the model first to choose by its crystal, or BLOCK name")


def cell_text(cell: gemmi.UnitCell) -> str:
    return " ".join(f"{v:.3f}" if k < 3 else f"{v:.2f}" for k, v in enumerate(cell.parameters))


def _columns_text(mtz: gemmi.Mtz) -> str:
    return ", ".join(f"{c.label} ({c.type})" for c in mtz.columns if c.type != "H")


#: MTZ column types each role accepts, and what a type holds (for the messages)
_TYPES = {"amplitudes": "F", "intensities": "J", "sigmas": "QLM", "free-R flags": "I"}
_TYPE_NAMES = {"F": "amplitudes", "J": "intensities", "Q": "sigmas", "I": "integers (flags)",
               "K": "anomalous intensities I(+)/I(-)", "G": "anomalous amplitudes F(+)/F(-)",
               "L": "sigmas of F(+)/F(-)", "M": "sigmas of I(+)/I(-)", "D": "anomalous "
               "differences", "P": "phases", "W": "weights", "A": "phase probabilities",
               "R": "real numbers", "H": "Miller indices", "B": "batch numbers",
               "Y": "M/ISYM", "E": "normalized amplitudes"}


def _col(mtz: gemmi.Mtz, label: str, path: str, role: str):
    """The column ``label``, checked to be of a type that holds ``role``."""
    col = mtz.column_with_label(label)
    if col is None:
        raise InputError(f"{path} has no column {label!r} for {role}; "
                         f"the columns are: {_columns_text(mtz)}")
    allowed = _TYPES.get(role, "")
    if allowed and col.type not in allowed:
        what = _TYPE_NAMES.get(col.type, f"type {col.type}")
        want = " or ".join(f"{_TYPE_NAMES[t]} (type {t})" for t in allowed)
        raise InputError(f"{path}: column {label!r} is of type {col.type} ({what}), not "
                         f"{want}: it cannot be the {role}; the columns are: "
                         f"{_columns_text(mtz)}")
    return col


def _sigma_for(mtz: gemmi.Mtz, label: str, path: str):
    """The Q column paired with a data column: SIG<label>, or the next column of type Q."""
    for name in ("SIG" + label, "SIG_" + label, "SIGMA" + label, label + "_sigma"):
        c = mtz.column_with_label(name)
        if c is not None:
            return c
    labels = mtz.column_labels()
    i = labels.index(label)
    if i + 1 < len(labels) and mtz.columns[i + 1].type == "Q":
        return mtz.columns[i + 1]
    raise InputError(f"{path}: no sigma column found for {label!r}; name it with the "
                     f"sigma option. The columns are: {_columns_text(mtz)}")


def _pick(mtz: gemmi.Mtz, ctype: str, preferred, crystal=None) -> str | None:
    """The first column of the type that has a sigma partner, preferred labels first;
    with the model's ``crystal`` (cell, space group), only those of the datasets whose
    cell is closest to the model's (an MTZ may hold a native and derivatives)."""
    cands = [c.label for c in mtz.columns if c.type == ctype]
    cands = [c for c in cands if _sigma_partner(mtz, c)]
    if not cands:
        return None
    if crystal is not None and len({mtz.column_with_label(c).dataset_id
                                    for c in cands}) > 1:
        off = {c: cell_offset(_dataset_cell(mtz, c)[0], crystal[0]) for c in cands}
        best = min(off.values())
        cands = [c for c in cands if off[c] <= best + 1e-4]
    for p in preferred:
        for c in cands:
            if c.upper() == p.upper():
                return c
    return cands[0]


def _auto_free(mtz: gemmi.Mtz) -> str | None:
    """The free-R flag column: one of type I named like one, else one of type R so named
    whose values are all whole numbers (some programs write flags as reals)."""
    for c in mtz.columns:
        if c.type == "I" and _FREE_RE.search(c.label):
            return c.label
    for c in mtz.columns:
        if c.type == "R" and _FREE_RE.search(c.label) and _whole_numbers(c):
            return c.label
    return None


def _whole_numbers(col) -> bool:
    """A column whose finite values are all small whole numbers (flags stored as R)."""
    v = np.asarray(col, dtype=np.float64)
    v = v[np.isfinite(v)]
    return len(v) > 0 and bool(np.all(v == np.rint(v))) and bool(np.all(np.abs(v) < 1000))


#: a test set outside these fractions of the observed reflections is refused unless the
#: flag value is given (FREE_VALUE): it is almost surely a convention read the wrong way
FREE_FRACTION = (0.005, 0.5)


def free_set(flags: np.ndarray, observed: np.ndarray, free_value: int | None = None,
             label: str = "FREE", d: np.ndarray | None = None
             ) -> tuple[np.ndarray, int | None, str]:
    """(test-set mask, the flag value taken as free, a line saying what was assumed).

    Without ``free_value`` the convention is read from the values: two values (0 and 1,
    as Phenix and some CCP4 files write) make the rarer one the test set; more values
    (CCP4's FREERFLAG, 0..19) make 0 the test set. A test set above 50 % or below 0.5 %
    of the observed reflections is refused then, with what to do; a ``free_value`` given
    is taken as it is (the line says when its fraction is unusual). Reflections without
    a flag (NaN: data extended after the set was made) get one in ``flags`` (in place),
    test at the set's own fraction (`extend_flags`), and the line says how many and,
    given ``d``, at what resolution."""
    free, value, note = _free_set(flags, observed, free_value, label)
    missing = ~np.isfinite(flags)
    if value is not None and missing.any():
        free, extra = extend_flags(flags, free, observed, value, d)
        if (missing & observed).any():
            note += "; " + extra
    return free, value, note


#: seed of the flags given to reflections that have none (the same data, the same set)
EXTEND_SEED = 0


def extend_flags(flags: np.ndarray, free: np.ndarray, observed: np.ndarray, value: int,
                 d: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Flags for the reflections that have none (NaN in ``flags``, filled in place), as
    CCP4's freerflag COMPLETE does: each is test with the probability of the flagged
    observed reflections' test fraction (seeded), else takes one of the set's other
    values. Returns the new test mask and a clause saying what was done."""
    missing = ~np.isfinite(flags)
    have = ~missing
    v = np.rint(np.where(have, flags, value)).astype(np.int64)
    flagged_obs = have & observed
    frac = int((free & flagged_obs).sum()) / max(int(flagged_obs.sum()), 1)
    others = np.unique(v[have & (v != value)])
    if len(others) == 0:
        others = np.array([1 if value == 0 else 0])
    rng = np.random.default_rng(EXTEND_SEED)
    new_free = rng.random(int(missing.sum())) < frac
    new_v = np.where(new_free, value, rng.choice(others, int(missing.sum())))
    flags[missing] = new_v
    free = free.copy()
    free[missing] = new_free
    n_obs = int((missing & observed).sum())
    n_test = int((missing & observed & free).sum())
    where = ""
    if d is not None and n_obs:
        dm = d[missing & observed]
        where = f" ({dm.max():.2f}-{dm.min():.2f} A)"
    return free, (f"{n_obs} observed reflections{where} had no flag: {n_test} of them made "
                  f"test reflections at the set's fraction ({100 * frac:.1f} %), the "
                  "rest work (as CCP4's freerflag COMPLETE extends a set); their R-free "
                  "is fair only if the model was never refined against them")


def _free_set(flags, observed, free_value, label):
    """free_set without the extension of missing flags."""
    have = np.isfinite(flags)
    v = np.rint(np.where(have, flags, -1e9)).astype(np.int64)
    uniq, counts = np.unique(v[have & observed], return_counts=True)
    n_obs = int(observed.sum())
    if free_value is not None:
        free = have & (v == free_value)
        frac = int((free & observed).sum()) / max(n_obs, 1)
        note = (f"free flags {label}: {free_value} = free as given, "
                f"{int((free & observed).sum())} observed reflections ({100 * frac:.1f} %)")
        if not FREE_FRACTION[0] <= frac <= FREE_FRACTION[1]:
            note += " -- an unusual test set; check FREE_VALUE"
        return free, free_value, note
    if len(uniq) == 0:
        return np.zeros(len(v), bool), None, f"free flags {label}: no values, no test set"
    if len(uniq) == 1:
        return (np.zeros(len(v), bool), None,
                f"free flags {label}: every value is {uniq[0]}, so there is no test set")
    if len(uniq) == 2:
        value = int(uniq[np.argmin(counts)])
        how = (f"two values ({uniq[0]}, {uniq[1]}): the rarer one, {value}, is the test set"
               + (" (Phenix's convention)" if value == 1 else ""))
    elif 0 in uniq:
        value = 0
        how = f"values {uniq.min()}..{uniq.max()}: 0 is the test set (CCP4's convention)"
    else:
        raise InputError(f"free flags {label}: values {uniq.min()}..{uniq.max()} and no 0; "
                         "say which value marks the test set (read refl ... free_value v)")
    free = have & (v == value)
    n_free = int((free & observed).sum())
    frac = n_free / max(n_obs, 1)
    if not FREE_FRACTION[0] <= frac <= FREE_FRACTION[1]:
        raise InputError(
            f"free flags {label}: {how}, but that makes {n_free} of {n_obs} observed "
            f"reflections ({100 * frac:.1f} %) the test set, outside "
            f"{100 * FREE_FRACTION[0]:g}-{100 * FREE_FRACTION[1]:g} %; give the value that "
            "marks the test set (read refl ... free_value v) if this is really meant")
    return free, value, (f"free flags {label}: {how}; {n_free} observed reflections "
                         f"({100 * frac:.1f} %)")


def read_reflections(path, fobs: str | None = None, sigma: str | None = None,
                     iobs: str | None = None, free: str | None = None,
                     free_value: int | None = None, crystal=None,
                     block: str | None = None) -> Reflections:
    """Read an MTZ or mmCIF structure-factor file.

    ``crystal`` (cell, space group), from the model, stands in for what the file lacks
    (structure-factor mmCIF files may have neither), and chooses among the data blocks
    of an mmCIF file (`_choose_block`; ``block`` names one); ``Reflections.crystal_note``
    says what was taken, ``Reflections.notes`` what else reading assumed or left out.
    Columns are found automatically (amplitudes F/Q first, else intensities J/Q) unless
    given, and their MTZ types are checked. Intensities are converted to amplitudes by
    French & Wilson. ``free_value`` is the flag value of the test set; without it the
    convention is read from the flags (`free_set`).
    """
    path = os.fspath(path)
    mtz, taken, notes = _read_mtz(path, crystal, block)
    if fobs and iobs:
        raise InputError(f"{path}: give either amplitudes or intensities, not both")
    anom = _anomalous_columns(mtz, fobs or iobs, sigma, path)
    if anom is not None:
        return _assemble(mtz, path, anom[1], anom[0], free, free_value, taken, notes)
    if fobs:
        _col(mtz, fobs, path, "amplitudes")
    if iobs:
        _col(mtz, iobs, path, "intensities")
    if not fobs and not iobs:
        model = crystal if crystal is not None and crystal[1] is not None else None
        fobs = _pick(mtz, "F", _F_PREFERRED, model)
        if fobs is None:
            iobs = _pick(mtz, "J", _I_PREFERRED, model)
        if fobs is None and iobs is None:
            raise InputError(
                f"{path} has no amplitude (type F) or intensity (type J) column with a "
                f"sigma (type Q); the columns are: {_columns_text(mtz)}. Name the data "
                "columns explicitly, or convert anomalous data to mean values first")
        notes += _unused_data(mtz, fobs or iobs, model is not None)
    data_label = fobs or iobs
    sig_col = _col(mtz, sigma, path, "sigmas") if sigma else _sigma_for(mtz, data_label, path)
    return _assemble(mtz, path, [data_label, sig_col.label], "F" if fobs else "I", free,
                     free_value, taken, notes)


def _unused_data(mtz: gemmi.Mtz, taken: str, by_crystal: bool = False) -> list[str]:
    """A line naming the other amplitude and intensity columns of the file, when the
    data columns were chosen without being named (``by_crystal``: the model's crystal
    chose among datasets)."""
    other = [c for c in mtz.columns if c.type in "FJ" and c.label != taken
             and _sigma_partner(mtz, c.label)]
    if not other:
        return []
    kinds = {"F": "fobs", "J": "iobs"}
    datasets = {c.dataset_id for c in other} | {mtz.column_with_label(taken).dataset_id}
    why = " (its dataset's cell is the closest to the model's)" \
        if by_crystal and len(datasets) > 1 else ""
    return [f"{taken} taken as the data{why}; also in the file: "
            + ", ".join(f"{c.label} ({_TYPE_NAMES[c.type]})" for c in other)
            + f" (read refl ... {kinds[other[0].type]} {other[0].label} takes one)"]


def _sigma_partner(mtz: gemmi.Mtz, label: str) -> bool:
    """Whether a data column has a sigma column (SIG<label> or the next, of type Q)."""
    labels = mtz.column_labels()
    i = labels.index(label)
    return (mtz.column_with_label("SIG" + label) is not None
            or (i + 1 < len(labels) and mtz.columns[i + 1].type == "Q"))


def _anomalous_columns(mtz, label, sigma, path):
    """(kind "F" or "I", [X(+), SIGX(+), X(-), SIGX(-)]) when the data are Bijvoet pairs:
    the named column is of type G or K, or no mean column exists and a pair does."""
    from mainpy.xtal.anomalous import partner
    if label:
        col = mtz.column_with_label(label)
        if col is None or col.type not in "GK":
            return None
        plus = label
    else:
        if any(c.type in "FJ" for c in mtz.columns):
            return None
        cands = [c.label for c in mtz.columns if c.type in "GK" and partner(c.label)]
        cands = [c for c in cands if "+" in c or "plus" in c.lower()]
        if not cands:
            return None
        plus = next((c for c in cands if mtz.column_with_label(c).type == "G"), cands[0])
    ctype = mtz.column_with_label(plus).type
    minus = partner(plus)
    if minus is None or mtz.column_with_label(minus) is None:
        raise InputError(f"{path}: {plus} is one of a Bijvoet pair; its mate ({minus or '-'}) "
                         f"is not in the file. The columns are: {_columns_text(mtz)}")
    sig_type = "L" if ctype == "G" else "M"
    out = [plus, None, minus, None]
    labels = mtz.column_labels()
    for k, lab in ((1, plus), (3, minus)):
        for name in ("SIG" + lab, "SIG_" + lab):
            if mtz.column_with_label(name) is not None:
                out[k] = name
                break
        else:
            i = labels.index(lab)
            if i + 1 < len(labels) and mtz.columns[i + 1].type == sig_type:
                out[k] = labels[i + 1]
        if out[k] is None:
            raise InputError(f"{path}: no sigma column (type {sig_type}) found for {lab}; "
                             f"the columns are: {_columns_text(mtz)}")
    if sigma and sigma != out[1]:
        raise InputError(f"{path}: the sigmas of {plus} are {out[1]}, not {sigma}")
    return ("F" if ctype == "G" else "I"), out


def _assemble(mtz, path, cols, kind, free, free_value, taken, notes=()) -> Reflections:
    """Reflections from the data columns: [X, SIGX], or a Bijvoet pair [X(+), SIGX(+),
    X(-), SIGX(-)] merged to the mean (the anomalous difference kept as ``anom``);
    ``notes``: lines already due (the block or columns chosen)."""
    from mainpy.xtal import anomalous as A
    notes = list(notes)
    free_label = free if free else _auto_free(mtz)
    if free:
        col = mtz.column_with_label(free)
        if not (col is not None and col.type == "R" and _whole_numbers(col)):
            _col(mtz, free, path, "free-R flags")
    if free_label and mtz.column_with_label(free_label).type != "I":
        notes.append(f"free flags {free_label} are stored as reals (type "
                     f"{mtz.column_with_label(free_label).type}); their whole-number values "
                     "read as flags")
    fobs, iobs = (cols[0], None) if kind == "F" else (None, cols[0])
    data_label = cols[0]
    mtz.ensure_asu()
    hkl = mtz.make_miller_array().astype(np.int32)
    arr = np.array(mtz, copy=False)
    labels = mtz.column_labels()
    raw = [arr[:, labels.index(c)].astype(np.float64) for c in cols]
    flags = arr[:, labels.index(free_label)].astype(np.float64) if free_label else None
    if len(cols) == 4:
        val, sig = A.merge_pairs(*raw)
        pair = raw
    else:
        val, sig = raw
        pair = None
    sig_label = cols[1]

    sg = mtz.spacegroup
    ops = sg.operations()
    keep = ~ops.systematic_absences(hkl)
    hkl, val, sig = hkl[keep], val[keep], sig[keep]
    flags = None if flags is None else flags[keep]
    pair = None if pair is None else [p[keep] for p in pair]
    hkl, val, sig, flags, pair, n_dup = _merge_duplicates(hkl, val, sig, flags, pair)
    if n_dup:
        notes.append(f"{n_dup} reflections occur more than once (the same hkl in the "
                     "asymmetric unit): merged, weighted by 1/sigma^2, the first one's "
                     "free flag kept")
    cell, ds_note = _dataset_cell(mtz, data_label)
    if ds_note:
        notes.append(ds_note)
    d = cell.calculate_d_array(hkl)
    centric = ops.centric_flag_array(hkl).astype(bool)
    eps = ops.epsilon_factor_without_centering_array(hkl).astype(np.float64)
    role = {"sigma": sig_label}
    if free_label:
        role["free"] = free_label

    given = np.isfinite(val) & np.isfinite(sig)
    if fobs:
        bad_sig = given & (sig <= 0)
        neg = given & (val < 0)
        unobs = ~given | (val <= 0) | bad_sig
        for n, what in ((int(neg.sum()), f"{data_label} < 0"),     # (F = 0: unobserved)
                        (int((bad_sig & (val > 0)).sum()), f"{sig_label} <= 0")):
            if n:
                notes.append(f"{n} reflections with {what} left out (unobserved)")
        f = np.where(unobs, np.nan, val)
        s = np.where(unobs, np.nan, sig)
        role["fobs"] = fobs
        iarr = siga = None
        fw = False
    else:
        from mainpy.xtal.french_wilson import french_wilson
        unobs = ~given | (sig <= 0)
        if (given & (sig <= 0)).any():
            notes.append(f"{int((given & (sig <= 0)).sum())} reflections with {sig_label} "
                         "<= 0 left out (unobserved)")
        iarr = np.where(unobs, np.nan, val)
        siga = np.where(unobs, np.nan, sig)
        f, s = french_wilson(iarr, siga, d, centric, eps)
        role["iobs"] = iobs
        fw = True
    if not (~unobs).any():
        raise InputError(f"{path}: column {data_label} has no observed values")
    anom = None
    if pair is not None:
        role.update({"fobs" if fobs else "iobs": f"{cols[0]}/{cols[2]} merged",
                     "sigma": f"{cols[1]}/{cols[3]}"})
        fp, fm = pair[0], pair[2]
        if not fobs:                       # each mate's amplitude by French & Wilson
            ok_p, ok_m = A.observed(pair[0], pair[1]), A.observed(pair[2], pair[3])
            fp = french_wilson(np.where(ok_p, pair[0], np.nan), np.where(ok_p, pair[1], np.nan),
                               d, centric, eps)[0]
            fm = french_wilson(np.where(ok_m, pair[2], np.nan), np.where(ok_m, pair[3], np.nan),
                               d, centric, eps)[0]
        anom = np.where(centric, np.nan, A.difference(fp, fm))
    observed = np.isfinite(f) & np.isfinite(s) & (f > 0)
    if flags is not None:
        free_arr, value, note = free_set(flags, observed, free_value, free_label, d)
    else:
        free_arr, value = np.zeros(len(hkl), bool), None
        note = "no free-R flags: no test set (R-free cannot be given)"
    return Reflections(hkl=hkl, d=d, fobs=f, sigf=s, free=free_arr, centric=centric,
                       epsilon=eps, cell=cell, spacegroup=sg, iobs=iarr, sigi=siga,
                       source=path, labels=role, free_value=value, french_wilson=fw,
                       flags=flags, free_note=note, anom=anom, notes=notes,
                       crystal_note=(f"{' and '.join(taken)} not in the file: the model's "
                                     f"({sg.xhm()}, cell {cell_text(cell)})" if taken else ""))


def _dataset_cell(mtz: gemmi.Mtz, label: str) -> tuple[gemmi.UnitCell, str]:
    """The cell of the dataset that holds the data column (an MTZ with several crystals
    has one cell each; the file's global cell is the first's), and a line naming that
    dataset when the file holds data of more than one."""
    col = mtz.column_with_label(label)
    with_data = sorted({c.dataset_id for c in mtz.columns if c.type in "FJGK"})
    ds = mtz.dataset(col.dataset_id) if col is not None else None
    cell = ds.cell if ds is not None and not no_cell(ds.cell) else mtz.cell
    if ds is None or len(with_data) < 2:
        return cell, ""
    others = [mtz.dataset(i) for i in with_data if i != col.dataset_id]
    return cell, (f"dataset {ds.dataset_name!r} (crystal {ds.crystal_name!r}, cell "
                  f"{cell_text(cell)}), one of {len(with_data)} with data; not used: "
                  + ", ".join(f"{o.dataset_name!r}" for o in others)
                  + " (name its columns with fobs/iobs to take another)")


def _merge_duplicates(hkl, val, sig, flags, pair):
    """Reflections that occur more than once merged: the mean weighted by 1/sigma^2 (the
    plain mean where a sigma is missing), the first occurrence's flag and Bijvoet
    values. Returns the arrays and how many rows were merged away."""
    key = (hkl[:, 0].astype(np.int64) * 4096 + hkl[:, 1]) * 4096 + hkl[:, 2]
    uniq, first, inv, counts = np.unique(key, return_index=True, return_inverse=True,
                                         return_counts=True)
    n_dup = len(key) - len(uniq)
    if n_dup == 0:
        return hkl, val, sig, flags, pair, 0
    ok = np.isfinite(val) & np.isfinite(sig) & (sig > 0)
    w = np.where(ok, 1.0 / np.where(ok, sig, 1.0) ** 2, 0.0)
    wsum = np.bincount(inv, w, len(uniq))
    vsum = np.bincount(inv, np.where(ok, val, 0.0) * w, len(uniq))
    order = np.sort(first)                 # keep the file's order of first occurrences
    pos = np.argsort(np.argsort(first))    # unique index -> position in ``order``
    new_val, new_sig = val[order].copy(), sig[order].copy()
    merged = (counts > 1) & (wsum > 0)
    new_val[pos[merged]] = vsum[merged] / wsum[merged]
    new_sig[pos[merged]] = 1.0 / np.sqrt(wsum[merged])
    return (hkl[order], new_val, new_sig, None if flags is None else flags[order],
            None if pair is None else [p[order] for p in pair], n_dup)
