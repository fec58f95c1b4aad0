"""Reading and writing the session's model and data (READ COOR / REFL, WRITE COOR)."""

from __future__ import annotations


def read_model(session, path: str, fmt: str | None = None, append: bool = False):
    """Read a model (PDB or mmCIF) and install it (or append its chains to the current
    one); it must fit the data already read. Returns the session's new model."""
    from mainpy.model import model as M
    if append and session.model is not None:
        new = M.append(session.model, M.read_structure(path, fmt))
    else:
        new = M.load(path, fmt)
    if session.reflections is not None:
        from mainpy.xtal.fmodel import check_compatible
        check_compatible(new.cell, new.spacegroup, session.reflections, path)
    session.set_model(new)
    return session.model


def read_data(session, path: str, fobs=None, sigma=None, iobs=None, free=None,
              free_value: int = 0, reso=None):
    """Read reflections (MTZ or mmCIF) and make them the session's data; they must fit
    the model already read. ``reso`` (lo, hi) sets the REFL RESO limits."""
    from mainpy.xtal.reflections import read_reflections
    refl = read_reflections(path, fobs=fobs, sigma=sigma, iobs=iobs, free=free,
                            free_value=free_value)
    if session.model is not None:
        from mainpy.xtal.fmodel import check_compatible
        m = session.model
        check_compatible(m.cell, m.spacegroup, refl, m.path or "the model")
    if reso is not None:
        session.xtal["reso"] = (max(reso), min(reso))
    session.reflections = refl
    session.fmodel = None
    session.map_coefficients = None
    return refl


def write_model(session, path: str, fmt: str | None = None, mask=None) -> int:
    """Write the model (or the atoms of ``mask``); returns the number of atoms written."""
    from mainpy.model import model as M
    return M.write_structure(session.need_model(), path, fmt, mask)
