"""The map store: numbered maps of the session, all on one grid over the unit cell.

Every map operation makes a new grid and stores it only when it has succeeded (`put_map`),
so a failed sentence leaves the maps as they were.
"""

from __future__ import annotations

from mainpy.errors import ScienceError

#: grid spacing used when there are no reflections to choose it from
DEFAULT_SPACING = 0.7


def grid_shape_for(session):
    """The grid every map of the session uses: d_min/3 of the data, else 0.7 A."""
    from mainpy.xtal.maps import grid_shape
    if session.maps:
        g = next(iter(session.maps.values()))
        return (g.nu, g.nv, g.nw)
    if session.reflections is not None:
        from mainpy.app.phasing import data_in_use
        refl = data_in_use(session)
        return grid_shape(refl.cell, refl.spacegroup, refl.d_min, rate=3.0)
    model = session.need_model()
    return grid_shape(model.cell, model.spacegroup, 3 * DEFAULT_SPACING, rate=3.0,
                      spacing=DEFAULT_SPACING)


def crystal(session):
    """(cell, space group) of the maps: the data's, else the model's."""
    if session.reflections is not None:
        return session.reflections.cell, session.reflections.spacegroup
    m = session.need_model()
    return m.cell, m.spacegroup


def new_map(session, value=0.0):
    """A new grid of the session's map grid, filled with ``value``."""
    import gemmi
    cell, sg = crystal(session)
    g = gemmi.FloatGrid(*grid_shape_for(session))
    g.unit_cell = cell
    g.spacegroup = sg
    g.fill(value)
    return g


def get_map(session, n):
    """Map n, or a ScienceError that lists the maps there are."""
    if n not in session.maps:
        have = ", ".join(str(k) for k in sorted(session.maps)) or "none"
        raise ScienceError(f"no map {n} (maps in memory: {have})")
    return session.maps[n]


def put_map(session, n, grid):
    """Store grid as map n; all maps must share one grid."""
    for k, g in session.maps.items():
        if k != n and (g.nu, g.nv, g.nw) != (grid.nu, grid.nv, grid.nw):
            raise ScienceError(f"map {n} would have grid {grid.nu}x{grid.nv}x{grid.nw} but "
                               f"map {k} has {g.nu}x{g.nv}x{g.nw}; maps must share one grid")
    maps = dict(session.maps)
    maps[n] = grid
    session.maps = maps


def working_copy(session, n):
    """A copy of map n to change (a new map if there is none)."""
    from mainpy.xtal.maps import copy_map
    return copy_map(session.maps[n]) if n in session.maps else new_map(session)
