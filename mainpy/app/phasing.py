"""Re-phasing (MAIN's RE_PHASE): the data in use and the Fmodel of the current model.

`rephase` makes the session's Fmodel (Fcalc, bulk-solvent mask, scales) of the model as it
is and sets R_WORK / R_FREE; `run_fmodel` gives a minimization an Fmodel of its own to
re-phase in place as it goes.
"""

from __future__ import annotations

import copy

from mainpy.errors import ScienceError


def data_in_use(session):
    """The reflections within the REFL RESO limits (all of them without limits)."""
    from mainpy.xtal.reflections import select_resolution
    refl = session.reflections
    if refl is None:
        raise ScienceError("no reflections: read them first (read refl file data.mtz)")
    lo, hi = session.xtal.get("reso", (None, None))
    return refl if lo is None and hi is None else select_resolution(refl, hi, lo)


def new_fmodel(session, atoms=None):
    """A fresh Fmodel (Fcalc, bulk-solvent mask, scales) of the current model (or of
    ``atoms`` of it) and the data in use."""
    from mainpy.xtal.fmodel import Fmodel
    model = session.need_model()
    refl = data_in_use(session)
    return Fmodel(refl, model.atoms if atoms is None else atoms, model_cell=model.cell,
                  model_spacegroup=model.spacegroup, model_source=model.path or "the model",
                  bulk_solvent=session.xtal["solv_flat"], aniso=session.xtal["aniso"])


def set_r_variables(session, fm) -> None:
    """R_WORK and R_FREE of an Fmodel, as macro variables."""
    rw, rf = fm.r_factors()
    session.variables["R_WORK"] = round(rw, 6)
    session.variables["R_FREE"] = round(rf, 6)


def _fmodel_key(session):
    x = session.xtal
    return (id(session.reflections), id(session.model), x["reso"], x["solv_flat"], x["aniso"])


def rephase(session, cold: bool = False):
    """RE_PHASE: Fcalc of the current model, bulk-solvent mask, scales; sets R_WORK/R_FREE.

    With the same data, model and settings as the last RE_PHASE, the scale fit starts
    from the last scales (a warm start) on a shallow copy of the last Fmodel: update()
    replaces its arrays, so the one a failed sentence leaves behind is never touched.
    ``cold`` fits the scales from scratch (the same figures as any fresh fit of this
    model: a warm start may end up to ~5e-4 in R away after a large change)."""
    key = _fmodel_key(session)
    old = session.fmodel
    if not cold and old is not None and getattr(old, "session_key", None) == key:
        fm = copy.copy(old).update(session.atoms)
    else:
        fm = new_fmodel(session)
    fm.session_key = key
    session.fmodel = fm
    set_r_variables(session, fm)
    return fm


def run_fmodel(session):
    """An Fmodel of the current model for a minimization to re-phase in place: a shallow
    copy of the last RE_PHASE's when data, model and settings are the same (updated
    warm if the atoms moved since), else a new one."""
    from mainpy.xtal.fmodel import atoms_key
    old = session.fmodel
    if old is None or getattr(old, "session_key", None) != _fmodel_key(session):
        fm = new_fmodel(session)
        fm.session_key = _fmodel_key(session)
        return fm
    fm = copy.copy(old)
    if getattr(old, "atoms_key", None) != atoms_key(session.atoms):
        fm.update(session.atoms)
    return fm


def need_fmodel(session):
    """The Fmodel of the last RE_PHASE (made now if there is none yet)."""
    if session.fmodel is None:
        rephase(session)
    return session.fmodel
