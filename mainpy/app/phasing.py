"""Re-phasing (MAIN's RE_PHASE): the data in use and the Fmodel of the current model.

`rephase` makes the session's Fmodel (Fcalc, bulk-solvent mask, scales) of the model as it
is and sets R_WORK / R_FREE / R_FREE_ERROR; `run_fmodel` gives a minimization an Fmodel of
its own to re-phase in place as it goes.

Every figure is about the model in hand: an Fmodel records the model it describes
(`install`: the fingerprint of the session's atoms when it was made), and `need_fmodel`,
which every command that reports R or uses Fmodel goes through, re-phases when the
coordinates, B, U, occupancies or atoms have changed since (one mechanism, not a check
per command). REFL KICK's Fmodel is of a kicked copy, made on purpose: it stays in use
until the model itself changes.
"""

from __future__ import annotations

import copy

from mainpy.errors import ScienceError


def data_in_use(session):
    """The reflections within the REFL RESO limits (all of them without limits), the
    outliers rejected (`rejected_outliers`) unobserved."""
    refl = session.reflections
    if refl is None:
        raise ScienceError("no reflections: read them first (read refl file data.mtz)")
    if rejected_outliers(session) is not None:
        refl = refl.without_outliers()
    rows = rows_in_use(session)
    if rows is None:
        return refl
    sub = refl.select(rows)
    if not sub.observed.any():
        lo, hi = session.xtal["reso"]
        raise ScienceError(f"no observed reflections between {lo:g} and {hi:g} A (the data "
                           f"go from {refl.d.max():.2f} to {refl.d.min():.2f} A): change "
                           "REFL RESO")
    return sub


def rows_in_use(session):
    """Boolean per row of the session's reflections: within the REFL RESO limits (None
    without limits)."""
    from mainpy.xtal.reflections import resolution_mask
    lo, hi = session.xtal.get("reso", (None, None))
    if lo is None and hi is None:
        return None
    return resolution_mask(session.reflections.d, min(hi, lo), max(hi, lo))


def rejected_outliers(session):
    """Boolean per row of the session's reflections: the outliers left out of the data
    in use (`screen_outliers`); None when none are (not screened yet, or REFL OUTLIERS
    OFF)."""
    refl = session.reflections
    if refl is None or refl.outliers is None or not session.xtal.get("outliers", True):
        return None
    return refl.outliers


def new_fmodel(session, atoms=None):
    """A fresh Fmodel (Fcalc, bulk-solvent mask, scales) of the current model (or of
    ``atoms`` of it) and the data in use."""
    from mainpy.xtal.fmodel import Fmodel
    model = session.need_model()
    refl = data_in_use(session)
    return Fmodel(refl, model.atoms if atoms is None else atoms, model_cell=model.cell,
                  model_spacegroup=model.spacegroup, model_source=model.path or "the model",
                  bulk_solvent=session.xtal["solv_flat"], aniso=session.xtal["aniso"])


def screen_outliers(session, fm):
    """Once per data set (REFL OUTLIERS ON, the default): the observed amplitudes that
    the model ``fm`` (a fresh Fmodel of all the data in use) makes improbable are
    rejected (`mainpy.xtal.outliers`, Read 1999), said in one line, and ``fm`` is
    given the data without them (scales fitted again). Returns ``fm``."""
    import numpy as np

    from mainpy.xtal.outliers import find_outliers
    refl = session.reflections
    if not session.xtal.get("outliers", True) or refl.outliers is not None:
        return fm
    used = fm.refl
    out, strong = find_outliers(used, fm.f_model)
    rows = rows_in_use(session)
    mask = np.zeros(len(refl), bool)
    mask[slice(None) if rows is None else rows] = out
    n, n_free = int(out.sum()), int((out & used.test).sum())
    note = (f"{n} of {int(used.observed.sum())} observed reflections rejected as outliers "
            f"against the model (Read 1999): {int(strong.sum())} too strong, "
            f"{n - int(strong.sum())} too weak, {n_free} of them in the test set; REFL "
            "OUTLIERS OFF keeps them") if n else \
        f"no outliers among {int(used.observed.sum())} observed reflections (Read 1999)"
    from dataclasses import replace
    session.reflections = replace(refl, outliers=mask, outlier_note=note)
    if n:
        session.echo(f" {note}")
        fm.refl = data_in_use(session)
        fm.fit_scales(warm=False)
    return fm


#: the macro variables a RE_PHASE sets (`set_r_variables`)
R_VARIABLES = ("R_WORK", "R_FREE", "R_FREE_ERROR")


def current_r_variables(session) -> None:
    """R_WORK / R_FREE / R_FREE_ERROR made those of the model in hand before a sentence
    or SHOW VARI reads them: a RE_PHASE when the model, data or settings changed since
    the one that set them (a restored, kicked or edited model keeps no figures of
    another, nor does a model read anew). Nothing to do before the first RE_PHASE."""
    if (session.model is None or session.reflections is None
            or not any(k in session.variables for k in R_VARIABLES)):
        return
    if not is_current(session):
        need_fmodel(session)


def set_r_variables(session, fm) -> None:
    """R_WORK, R_FREE and R_FREE_ERROR (its standard error, `r_factor_error`) of an
    Fmodel, as macro variables."""
    rw, rf = fm.r_factors()
    session.variables["R_WORK"] = round(rw, 6)
    session.variables["R_FREE"] = round(rf, 6)
    session.variables["R_FREE_ERROR"] = round(fm.r_free_error()[0], 6)


def _fmodel_key(session):
    x = session.xtal
    return (id(session.reflections), id(session.model), x["reso"], x["solv_flat"], x["aniso"],
            x.get("outliers", True))


def rephase(session):
    """RE_PHASE: Fcalc of the current model, bulk-solvent mask, scales; sets R_WORK/R_FREE.

    The scales are fitted from scratch, so every R-value mainpy reports is that of any
    fresh fit of this model, whatever came before (a fit started from the last scales
    ends up to ~5e-4 in R, and after a large edit 0.04, away: it keeps the old overall
    B). With the same data and settings as the last RE_PHASE, its grids, FFT set-up and
    scaling bins are reused on a shallow copy (update() replaces the arrays, so the
    Fmodel a failed sentence leaves behind is never touched). Warm fits are for the
    re-phasings inside a minimization (`mainpy.app.refinement`)."""
    from mainpy.app.progress import FirstCompile
    key = _fmodel_key(session)
    old = session.fmodel
    if old is not None and getattr(old, "session_key", None) == key:
        fm = copy.copy(old).update(session.atoms, warm=False)
    else:
        with FirstCompile(session):
            fm = screen_outliers(session, new_fmodel(session))
    fm.session_key = _fmodel_key(session)
    install(session, fm)
    return fm


def kicked_rephase(session, r: float, seed=None):
    """REFL KICK: RE_PHASE from a copy of the model kicked by up to r A (the model itself
    does not move); maps and R-values use it until the model changes."""
    from mainpy.model.perturb import kick_coordinates
    atoms = session.atoms
    kicked = atoms.replace(xyz=kick_coordinates(atoms.xyz, session.select(None), r, seed))
    fm = new_fmodel(session, kicked)
    fm.session_key = _fmodel_key(session)
    install(session, fm, kicked=True)
    return fm


def install(session, fm, kicked: bool = False) -> None:
    """Make ``fm`` the session's Fmodel, as the one of the model in hand now (R_WORK and
    R_FREE set from it); ``kicked``: it is of REFL KICK's kicked copy (files written
    never quote it)."""
    from mainpy.xtal.fmodel import atoms_key
    fm.model_key = atoms_key(session.atoms)
    fm.kicked = kicked
    session.fmodel = fm
    set_r_variables(session, fm)


def is_current(session, fm=None) -> bool:
    """Whether the session's Fmodel (or ``fm``) is that of the model in hand, with the
    data and settings in use."""
    from mainpy.xtal.fmodel import atoms_key
    fm = session.fmodel if fm is None else fm
    if fm is None or session.model is None:
        return False
    return (getattr(fm, "session_key", None) == _fmodel_key(session)
            and getattr(fm, "model_key", None) == atoms_key(session.atoms))


def run_fmodel(session):
    """An Fmodel of the current model for a minimization to re-phase in place: a shallow
    copy of the last RE_PHASE's when data, model and settings are the same (updated
    warm if the atoms moved since), else a new one."""
    from mainpy.xtal.fmodel import atoms_key
    old = session.fmodel
    if old is None or getattr(old, "session_key", None) != _fmodel_key(session):
        fm = screen_outliers(session, new_fmodel(session))
        fm.session_key = _fmodel_key(session)
        return fm
    fm = copy.copy(old)
    if getattr(old, "atoms_key", None) != atoms_key(session.atoms):
        fm.update(session.atoms)
    return fm


def need_fmodel(session):
    """The Fmodel of the model in hand: the last RE_PHASE's if nothing changed since,
    else a new RE_PHASE (warm when the data and settings are the same)."""
    if not is_current(session):
        rephase(session)
    return session.fmodel
