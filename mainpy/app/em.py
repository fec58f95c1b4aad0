"""EM maps of the session (READ MAP n FILE ... HALF1 ... HALF2 ...): reading with the
checks, trimming around the model, the SPA target ENER EM uses, SHOW FSC's figures.

EM maps live in `session.em` (map number -> mainpy.em.data.EmData), apart from the
crystal maps of `session.maps`, which share one grid over a unit cell; an EM box is a
P1 cell of its own. Every step builds new objects and stores them at the end, so a
failed sentence leaves the session as it was.
"""

from __future__ import annotations

from mainpy.errors import InputError, ScienceError

#: padding (A) kept around the model when a box is trimmed
TRIM_PADDING = 8.0


def read_em(session, n: int, path, half1=None, half2=None, reso: float | None = None,
            trim: bool = True, blur: float | None = None,
            sharpen: bool = False, group: str | None = None, centre=None) -> list[str]:
    """Read map n (and its half maps): checks, trimming, an overall B applied to every
    map alike (``blur`` given, or ``sharpen``: the B that flattens the full map's
    falloff, mainpy.em.sharpen); ``group`` (Cn, Dn) about ``centre`` (default: the
    box's centre) makes the model one copy of a point-group assembly
    (mainpy.em.symmetry); returns the lines to echo."""
    import numpy as np

    from mainpy.em import mapfile
    from mainpy.em.data import EmData
    if (half1 is None) != (half2 is None):
        raise InputError("give both half maps (HALF1 file HALF2 file) or none")
    full = mapfile.read_em_map(path)
    halves = [mapfile.read_em_map(p) for p in (half1, half2) if p is not None]
    for h in halves:
        mapfile.check_same_box(full, h)
    lines = [f" map {n}: {full.describe()} from {path}"]
    ops = None
    if group is not None:
        from mainpy.em import symmetry
        import os
        c = np.asarray(centre if centre is not None else full.origin + full.extent / 2, float)
        try:
            if os.path.isfile(group):
                ops = symmetry.read_operators(group)
                lines.append(f" {len(ops)} symmetry operators from {group}: the model is "
                             f"one of {len(ops)} copies")
            else:
                ops = symmetry.operators(group, c)
                lines.append(f" point group {group.upper()} about ({c[0]:.2f}, "
                             f"{c[1]:.2f}, {c[2]:.2f}) A: the model is one of {len(ops)} "
                             "copies")
        except ValueError as e:
            raise InputError(str(e)) from None
    if session.model is not None:
        xyz = session.atoms.xyz
        if ops is not None:
            xyz = np.concatenate([xyz @ r.T + t for r, t in ops])
        mapfile.check_holds(full, xyz)
        if trim:
            lo, hi = mapfile.trim_bounds(full, xyz, TRIM_PADDING)
            if tuple(hi - lo) != full.shape:
                full = mapfile.trim(full, lo, hi)
                halves = [mapfile.trim(h, lo, hi) for h in halves]
                lines.append(f" trimmed to {full.describe()} ({TRIM_PADDING:g} A around "
                             "the model)")
    if reso is not None and reso < 2 * float(np.max(full.pixel)) * 0.999:
        raise InputError(f"RESO {reso:g} A is finer than the map's Nyquist limit "
                         f"{2 * float(np.max(full.pixel)):.2f} A (2 pixels)")
    data = EmData(full, *(halves or (None, None)), d_min=reso, ops=ops)
    if data.has_halves:
        _, _, d143 = data.half_fsc()
        lines.append(f" half maps {half1} {half2}: FSC falls to 0.143 at {d143:.2f} A")
        if reso is None:
            data.d_min = max(d143, data.grid_d_min())
    if data.d_min is None:
        data.d_min = data.grid_d_min()
    lines.append(f" resolution used: {data.d_min:.2f} A")
    if blur is not None or sharpen:
        from mainpy.em import sharpen as S
        b0 = S.falloff_b(data.full.array, data.full.pixel, data.d_min)
        b = float(blur) if blur is not None else -b0
        for k in ("full", "half1", "half2"):
            m = getattr(data, k)
            if m is not None:
                setattr(data, k, m.with_array(S.blur(m.array, m.pixel, b)))
        what = "sharpened" if b < 0 else "blurred"
        lines.append(f" {what} by B {b:+.1f} A^2 (the full map's falloff was B {b0:.1f} A^2 "
                     f"between {S.FIT_D_MAX:g} and {data.d_min:.2f} A, now "
                     f"{S.falloff_b(data.full.array, data.full.pixel, data.d_min):.1f})")
    em = dict(session.em)
    em[n] = data
    session.em = em
    return lines


def get_em(session, n: int):
    if n not in session.em:
        have = ", ".join(str(k) for k in sorted(session.em)) or "none"
        raise ScienceError(f"no EM map {n} (EM maps in memory: {have}; read map n file "
                           "x.mrc half1 a.mrc half2 b.mrc reads one)")
    return session.em[n]


def em_target(session):
    """The SPA target of ENER EM on its map (work: full map, or half 1)."""
    import numpy as np

    from mainpy.em.mapfile import check_holds
    from mainpy.em.target import EmTarget
    st = session.ener["em"]
    data = get_em(session, st["map"])
    xyz = session.atoms.xyz
    if data.ops:
        xyz = np.concatenate([xyz @ r.T + t for r, t in data.ops])
    check_holds(data.full, xyz)   # a model read after the map, or moved
    work = st.get("work", "full")
    if work == "half1" and not data.has_halves:
        raise ScienceError(f"ENER EM WORK HALF1 needs half maps; map {st['map']} has none")
    return EmTarget(data.full, data.d_min, data.half1, data.half2, work=work,
                    atoms=session.atoms, ops=data.ops)


def fsc_lines(session, n: int) -> tuple[list[str], dict]:
    """SHOW FSC: the validation table of the model against EM map n, and its figures."""
    from mainpy.em.data import validation, validation_lines
    data = get_em(session, n)
    atoms = session.need_model().atoms
    fig = validation(data, atoms)
    return validation_lines(fig, residue_labels(atoms)), fig


def residue_labels(atoms) -> dict:
    """Residue index -> "chain number name" (for per-residue tables)."""
    import numpy as np
    first = np.unique(atoms.residue_index, return_index=True)[1]
    return {int(atoms.residue_index[i]): f"{atoms.chain[i]} {int(atoms.resseq[i])}"
                                         f"{str(atoms.icode[i]).strip()} {atoms.resname[i]}"
            for i in first}


def write_em(session, n: int, path) -> None:
    from mainpy.em.mapfile import write_em_map
    write_em_map(path, get_em(session, n).full)
