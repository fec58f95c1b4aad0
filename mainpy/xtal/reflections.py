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
                       flags=sub(self.flags), anom=sub(self.anom))

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

def _no_cell(cell: gemmi.UnitCell) -> bool:
    """gemmi's stand-in for a file without a cell (1 1 1 90 90 90) or none at all."""
    return cell.volume <= 1.0 + 1e-6


def _read_mtz(path: str, crystal=None) -> tuple[gemmi.Mtz, list]:
    """An MTZ object from an MTZ file or from the first merged block of an mmCIF SF file,
    and what of ``crystal`` (cell, space group) filled in what the file lacks."""
    if not os.path.exists(path):
        raise InputError(f"reflection file {path} does not exist; check the file name")
    low = path.lower()
    try:
        if low.endswith((".cif", ".mmcif", ".ent", ".cif.gz", ".mmcif.gz", ".ent.gz")):
            doc = gemmi.cif.read(path)
            blocks = [rb for rb in gemmi.as_refln_blocks(doc) if rb.is_merged()]
            if not blocks:
                raise InputError(f"{path} has no merged reflection block (_refln loop); "
                                 "give a structure-factor mmCIF or an MTZ file")
            mtz = gemmi.CifToMtz().convert_block_to_mtz(blocks[0])
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
        if _no_cell(mtz.cell):
            mtz.set_cell_for_all(cell)
            taken.append("cell")
    if mtz.spacegroup is None:
        raise InputError(f"{path} has no space group; read the model first (its crystal is "
                         "then used), or add one (e.g. with gemmi or CCP4)")
    if _no_cell(mtz.cell):
        raise InputError(f"{path} has no unit cell; read the model first (its crystal is "
                         "then used), or add one")
    return mtz, taken


def _cell_text(cell: gemmi.UnitCell) -> str:
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


def _pick(mtz: gemmi.Mtz, ctype: str, preferred) -> str | None:
    """The first column of the type that has a sigma partner, preferred labels first."""
    cands = [c.label for c in mtz.columns if c.type == ctype]
    if not cands:
        return None
    labels = mtz.column_labels()

    def has_sigma(lab):
        i = labels.index(lab)
        return (mtz.column_with_label("SIG" + lab) is not None
                or (i + 1 < len(labels) and mtz.columns[i + 1].type == "Q"))

    cands = [c for c in cands if has_sigma(c)]
    if not cands:
        return None
    for p in preferred:
        for c in cands:
            if c.upper() == p.upper():
                return c
    return cands[0]


def _auto_free(mtz: gemmi.Mtz) -> str | None:
    for c in mtz.columns:
        if c.type == "I" and _FREE_RE.search(c.label):
            return c.label
    return None


#: a test set outside these fractions of the observed reflections is refused unless the
#: flag value is given (FREE_VALUE): it is almost surely a convention read the wrong way
FREE_FRACTION = (0.005, 0.5)


def free_set(flags: np.ndarray, observed: np.ndarray, free_value: int | None = None,
             label: str = "FREE") -> tuple[np.ndarray, int | None, str]:
    """(test-set mask, the flag value taken as free, a line saying what was assumed).

    Without ``free_value`` the convention is read from the values: two values (0 and 1,
    as Phenix and some CCP4 files write) make the rarer one the test set; more values
    (CCP4's FREERFLAG, 0..19) make 0 the test set. A test set above 50 % or below 0.5 %
    of the observed reflections is refused then, with what to do; a ``free_value`` given
    is taken as it is (the line says when its fraction is unusual)."""
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
                     free_value: int | None = None, crystal=None) -> Reflections:
    """Read an MTZ or mmCIF structure-factor file.

    ``crystal`` (cell, space group), from the model, stands in for what the file lacks
    (structure-factor mmCIF files may have neither); ``Reflections.crystal_note`` says
    what was taken.
    Columns are found automatically (amplitudes F/Q first, else intensities J/Q) unless
    given, and their MTZ types are checked. Intensities are converted to amplitudes by
    French & Wilson. ``free_value`` is the flag value of the test set; without it the
    convention is read from the flags (`free_set`).
    """
    path = os.fspath(path)
    mtz, taken = _read_mtz(path, crystal)
    if fobs and iobs:
        raise InputError(f"{path}: give either amplitudes or intensities, not both")
    anom = _anomalous_columns(mtz, fobs or iobs, sigma, path)
    if anom is not None:
        return _assemble(mtz, path, anom[1], anom[0], free, free_value, taken)
    if fobs:
        _col(mtz, fobs, path, "amplitudes")
    if iobs:
        _col(mtz, iobs, path, "intensities")
    if not fobs and not iobs:
        fobs = _pick(mtz, "F", _F_PREFERRED)
        if fobs is None:
            iobs = _pick(mtz, "J", _I_PREFERRED)
        if fobs is None and iobs is None:
            raise InputError(
                f"{path} has no amplitude (type F) or intensity (type J) column with a "
                f"sigma (type Q); the columns are: {_columns_text(mtz)}. Name the data "
                "columns explicitly, or convert anomalous data to mean values first")
    data_label = fobs or iobs
    sig_col = _col(mtz, sigma, path, "sigmas") if sigma else _sigma_for(mtz, data_label, path)
    return _assemble(mtz, path, [data_label, sig_col.label], "F" if fobs else "I", free,
                     free_value, taken)


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


def _assemble(mtz, path, cols, kind, free, free_value, taken) -> Reflections:
    """Reflections from the data columns: [X, SIGX], or a Bijvoet pair [X(+), SIGX(+),
    X(-), SIGX(-)] merged to the mean (the anomalous difference kept as ``anom``)."""
    from mainpy.xtal import anomalous as A
    free_label = free if free else _auto_free(mtz)
    if free:
        _col(mtz, free, path, "free-R flags")
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
    cell = mtz.cell
    d = cell.calculate_d_array(hkl)
    centric = ops.centric_flag_array(hkl).astype(bool)
    eps = ops.epsilon_factor_without_centering_array(hkl).astype(np.float64)
    role = {"sigma": sig_label}
    if free_label:
        role["free"] = free_label

    if fobs:
        unobs = ~np.isfinite(val) | ~np.isfinite(sig) | (val <= 0)
        f = np.where(unobs, np.nan, val)
        s = np.where(unobs, np.nan, sig)
        role["fobs"] = fobs
        iarr = siga = None
        fw = False
    else:
        from mainpy.xtal.french_wilson import french_wilson
        unobs = ~np.isfinite(val) | ~np.isfinite(sig) | (sig <= 0)
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
        free_arr, value, note = free_set(flags, observed, free_value, free_label)
    else:
        free_arr, value = np.zeros(len(hkl), bool), None
        note = "no free-R flags: no test set (R-free cannot be given)"
    return Reflections(hkl=hkl, d=d, fobs=f, sigf=s, free=free_arr, centric=centric,
                       epsilon=eps, cell=cell, spacegroup=sg, iobs=iarr, sigi=siga,
                       source=path, labels=role, free_value=value, french_wilson=fw,
                       flags=flags, free_note=note, anom=anom,
                       crystal_note=(f"{' and '.join(taken)} not in the file: the model's "
                                     f"({sg.xhm()}, cell {_cell_text(cell)})" if taken else ""))
