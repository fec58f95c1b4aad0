"""Reading and writing the session's model and data (READ COOR / REFL, WRITE COOR)."""

from __future__ import annotations


def read_model(session, path: str, fmt: str | None = None, append: bool = False):
    """Read a model (PDB or mmCIF) and install it (or append its chains to the current
    one); it must fit the data already read. Returns the session's new model."""
    from mainpy.model import model as M
    notes: list = []
    if append and session.model is not None:
        new = M.append(session.model, M.read_structure(path, fmt, notes))
    else:
        new = M.load(path, fmt)
        notes = list(new.notes)
    if session.reflections is not None:
        from mainpy.xtal.fmodel import check_compatible
        diff = check_compatible(new.cell, new.spacegroup, session.reflections, path)
        _say_cell_difference(session, diff, path, session.reflections.source)
    session.set_model(new)
    for n in notes:
        session.warn(n)
    if not append:          # appended chains come without their file's TLS groups
        _read_tls(session, new.structure)
    return session.model


#: relative difference of the model's and the data's cells worth a line (0.1 %), and
#: worth the advice of a rigid-body fit (1 %: an atom 50 A from the origin is 0.5 A off)
CELL_NOTE, CELL_ADVICE = 1e-3, 1e-2


def _say_cell_difference(session, diff: float, model: str, data: str) -> None:
    """One line when the cells differ (within what check_compatible accepts): which cell
    the structure factors use."""
    if diff > CELL_NOTE:
        session.echo(f" the cell of {model} differs from that of {data} by up to "
                     f"{100 * diff:.1f} %: structure factors use the data's cell, the "
                     "model's Cartesian coordinates as they are"
                     + ("; a model of another crystal wants a rigid-body fit first (REFINE "
                        "BY BODY), as atoms far from the origin are off by as much"
                        if diff > CELL_ADVICE else ""))


def _read_tls(session, st) -> None:
    """The TLS groups of the file's REMARK 3 / mmCIF records become the session's."""
    from mainpy.model.tls import groups_from_structure
    groups = groups_from_structure(st) if st is not None else []
    bad = [g.name for g in groups if not g.ranges]
    if bad:
        session.warn(f"TLS group(s) {', '.join(bad)}: selection not read as residue ranges, "
                     "dropped (TLS name SELE ... END defines them again)")
    session.tls = [g for g in groups if g.ranges]
    if session.tls:
        session.echo(f" {len(session.tls)} TLS groups read (SHOW ADP lists them)")


def read_data(session, path: str, fobs=None, sigma=None, iobs=None, free=None,
              free_value: int | None = None, reso=None, block: str | None = None):
    """Read reflections (MTZ or mmCIF) and make them the session's data; they must fit
    the model already read (a model without a cell or space group takes the data's).
    ``reso`` (lo, hi) sets the REFL RESO limits; ``block`` names the data block of an
    mmCIF file."""
    from mainpy.xtal.reflections import no_cell, read_reflections
    m = session.model
    known = m is not None and m.spacegroup is not None and not no_cell(m.cell)
    refl = read_reflections(path, fobs=fobs, sigma=sigma, iobs=iobs, free=free,
                            free_value=free_value, block=block,
                            crystal=(m.cell, m.spacegroup) if known else None)
    if m is not None:
        from mainpy.xtal.fmodel import check_compatible
        if not known:
            _crystal_from_data(session, refl)
            m = session.model
        diff = check_compatible(m.cell, m.spacegroup, refl, m.path or "the model")
        _say_cell_difference(session, diff, m.path or "the model", refl.source)
    if reso is not None:
        session.xtal["reso"] = (max(reso), min(reso))
    session.reflections = refl
    session.fmodel = None
    session.map_coefficients = None
    return refl


def _crystal_from_data(session, refl) -> None:
    """A model read without a cell or space group (no CRYST1) takes the data's, as other
    programs do; said in one line. Restraints defined before knew no symmetry: dropped,
    with what to do."""
    from dataclasses import replace

    from mainpy.xtal.reflections import cell_text, no_cell
    m = session.model
    st = m.structure.clone()          # a new model: a failed sentence leaves the old one
    took = []
    if no_cell(st.cell):
        st.cell = refl.cell
        took.append("cell")
    if m.spacegroup is None:
        st.spacegroup_hm = refl.spacegroup.hm
        took.append("space group")
    st.setup_cell_images()
    session.model = replace(m, structure=st)
    session.fmodel = None
    session.echo(f" {m.path or 'the model'} has no {' or '.join(took)}: the data's taken "
                 f"({refl.spacegroup.xhm()}, cell {cell_text(refl.cell)})")
    if session.restraints is not None:
        session.restraints = session.energy = None
        session.warn("the restraints defined before knew no symmetry: dropped; DEFINE them "
                     "again")


def make_free_set(session, fraction: float, seed: int):
    """REFL FREE GENERATE: a test set for data that have none (refused where they have
    one: a set the model was refined against keeps nothing aside any more)."""
    from mainpy.errors import MainpyError
    from mainpy.xtal.reflections import generate_free
    refl = session.reflections
    if refl is None:
        raise MainpyError("no reflections: read refl file ... first")
    if refl.test.any():
        raise MainpyError(f"the data have a test set ({int(refl.test.sum())} reflections, "
                          f"{refl.labels.get('free', 'free flags')}): a new one would not be "
                          "free of the model; read the data without it to make one")
    session.reflections = generate_free(refl, fraction, seed)
    session.fmodel = None
    session.map_coefficients = None
    return session.reflections


def refinement_stats(session, mask=None):
    """mainpy's figures for the model in hand, for the header of a written model: the
    data in use and R-work / R-free of the model's current Fmodel (re-phased if the
    model changed; never REFL KICK's kicked copy), the restraint rmsd, mean B.

    ``mask``: the atoms written. Mean B and the geometry are those of the atoms written
    (restraints with an atom left out are not counted); R-values describe the whole
    model, so a file that leaves out other atoms than hydrogens (riding H are part of the
    refined model as REFMAC and phenix headers count them) gets none."""
    import math

    import numpy as np

    from mainpy._version import __version__
    from mainpy.model.header import RefinementStats
    from mainpy.refine.riding import is_hydrogen
    atoms = session.atoms
    written = np.ones(len(atoms), bool) if mask is None else np.asarray(mask, bool)
    from mainpy.app.tls import written_groups
    stats = RefinementStats(version=__version__,
                            mean_b=float(np.mean(atoms.b[written])) if written.any() else None,
                            tls=written_groups(session))
    whole = bool((written | is_hydrogen(atoms)).all())
    if session.reflections is not None and whole:
        from mainpy.app.phasing import need_fmodel, new_fmodel
        fm = need_fmodel(session)
        if getattr(fm, "kicked", False):
            fm = new_fmodel(session)
        r = fm.refl
        obs = r.observed
        rw, rf = fm.r_factors()
        stats.d_high, stats.d_low = float(r.d[obs].min()), float(r.d[obs].max())
        stats.n_work, stats.n_free = int(r.work.sum()), int(r.test.sum())
        stats.r_work = float(rw)
        stats.r_free = float(rf) if stats.n_free else None
        se = fm.r_free_error()[0] if stats.n_free else None
        stats.r_free_error = se if se is not None and math.isfinite(se) else None
    if session.restraints is not None:
        from mainpy.app.refinement import geometry_summary
        summ = geometry_summary(session, atoms, written)
        stats.rmsd_bond, stats.n_bond = summ["bond"]["rmsd"], summ["bond"]["count"]
        stats.rmsd_angle, stats.n_angle = summ["angle"]["rmsd"], summ["angle"]["count"]
    return stats


def write_model(session, path: str, fmt: str | None = None, mask=None,
                aniso: bool = True) -> int:
    """Write the model (or the atoms of ``mask``) with mainpy's own refinement header
    (`refinement_stats`); without ``aniso`` no ANISOU records (B_eq alone). Returns the
    number of atoms written."""
    from mainpy.model import model as M
    model = session.need_model()
    return M.write_structure(model, path, fmt, mask, stats=refinement_stats(session, mask),
                             aniso=aniso)
