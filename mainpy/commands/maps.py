"""MAKE MAP: map arithmetic, Fourier maps, masks, averaged kick maps.

Maps are numbered grids over the unit cell. Every operation makes a new grid and puts it
in place only when it has succeeded, so a failed sentence leaves the maps as they were.
"""

from mainpy.app.maps import get_map, grid_shape_for, put_map, working_copy
from mainpy.errors import MainpyError, ScienceError
from mainpy.lang.registry import Choice, Clause, Int, Real, Sele, command

_KINDS = ("zero", "set", "from", "2fofc", "fofc", "3fo2fc", "mfodfc", "2mfodfc", "fcalc", "anom",
          "mask", "flatten", "sigma", "kick")
_COEFFICIENTS = ("2fofc", "fofc", "3fo2fc", "mfodfc", "2mfodfc", "fcalc", "anom")
#: the maps an averaged kick map can average (sigmaA-weighted or unweighted), as echoed
_KICK_KINDS = {"2mfodfc": "2mFo-DFc", "mfodfc": "mFo-DFc", "2fofc": "2Fo-Fc", "fofc": "Fo-Fc"}


def _make_map(session, args):
    import numpy as np

    from mainpy.xtal import maps as X
    n = args["n"]
    kind = next(k for k in _KINDS if k in args)
    if kind == "kick":
        _kick_map(session, n, args)
        return
    if kind in _COEFFICIENTS:
        from mainpy.app.phasing import need_fmodel
        fm = need_fmodel(session)
        refl = fm.refl
        coef = fm.map_coefficients(kind)
        grid = X.coefficients_to_map(refl.hkl, coef, refl.cell, refl.spacegroup,
                                     shape=grid_shape_for(session))
        put_map(session, n, grid)
        a = np.asarray(grid.array)
        session.echo(f" map {n}: {kind.upper()}, grid {grid.nu}x{grid.nv}x{grid.nw}, "
                     f"sigma {a.std():.4g}")
        return
    g = working_copy(session, n)
    if kind == "zero":
        X.zero_map(g)
        msg = "all points 0"
    elif kind == "set":
        lo, hi, value = args["set"]
        k = X.set_range(g, min(lo, hi), max(lo, hi), value)
        msg = f"{k} points set to {value:g}"
    elif kind == "from":
        m = args["from"]["m"]
        op = args["from"]["operation"]
        scale = args["from"].get("scale", 1.0)
        src = get_map(session, m)
        if (src.nu, src.nv, src.nw) != (g.nu, g.nv, g.nw):
            raise ScienceError(f"maps {m} and {n} have different grids")
        if op == "copy":
            g = X.copy_map(src, scale)
        elif op == "add":
            X.add_map(g, src, scale)
        elif op == "subtract":
            X.add_map(g, src, -scale)
        else:
            X.multiply_map(g, src, scale)
        msg = f"{op} map {m}" + (f" scaled by {scale:g}" if scale != 1.0 else "")
    elif kind == "mask":
        if "radius" not in args:
            raise MainpyError("MAKE MAP n MASK needs RADIUS r")
        if args["radius"] <= 0:
            raise MainpyError(f"a mask radius is a positive distance in A "
                              f"(got {args['radius']:g})")
        mask = session.select(args.get("sele"))
        xyz = session.atoms.xyz[mask]
        g = X.atom_mask(g, xyz, args["radius"])
        msg = f"mask of {int(mask.sum())} atoms, radius {args['radius']:g} A"
    elif kind == "flatten":
        fl = args["flatten"]
        if "mask" not in fl:
            raise MainpyError("MAKE MAP n FLATTEN needs MASK m")
        v = X.flatten_outside(g, get_map(session, fl["mask"]), fl.get("value"))
        msg = f"flattened to {v:.4g} outside mask map {fl['mask']}"
    else:  # sigma
        mean, sd = X.normalize_map(g)
        msg = f"normalized (mean was {mean:.4g}, sigma {sd:.4g})"
    put_map(session, n, g)
    session.echo(f" map {n}: {msg}")


def _kick_map(session, n, args):
    """MAKE MAP n KICK [= r] [COUNT k] [SEED s] [TYPE kind]: the averaged kick map of the
    selected atoms' kicked copies (all atoms without a selection)."""
    import numpy as np

    from mainpy.app.phasing import data_in_use
    from mainpy.xtal.kickmaps import DEFAULT_AMPLITUDE, DEFAULT_COUNT, kick_map
    kick = args["kick"]
    r = kick.get("r", DEFAULT_AMPLITUDE)
    count = kick.get("count", DEFAULT_COUNT)
    kind = kick.get("type", "2mfodfc")
    if r < 0:
        raise MainpyError(f"a kick amplitude cannot be negative ({r:g})")
    if count < 1:
        raise MainpyError("MAKE MAP KICK needs COUNT of at least 1")
    model = session.need_model()
    refl = data_in_use(session)
    from mainpy.xtal.fmodel import check_compatible
    check_compatible(model.cell, model.spacegroup, refl, model.path or "the model")
    moving = session.select(args.get("sele"))
    from mainpy.app.progress import Progress
    with Progress(session, "kicked models", count) as p:
        grid = kick_map(refl, session.atoms, shape=grid_shape_for(session), r=r,
                        count=count, seed=kick.get("seed"), kind=kind,
                        bulk_solvent=session.xtal["solv_flat"],
                        aniso=session.xtal["aniso"], moving=moving, progress=p.update)
    put_map(session, n, grid)
    a = np.asarray(grid.array)
    session.echo(f" map {n}: averaged {_KICK_KINDS[kind]} kick map of {count} models kicked "
                 f"by up to {r:g} A "
                 f"({int(moving.sum())} atoms kicked), grid {grid.nu}x{grid.nv}x{grid.nw}, "
                 f"sigma {a.std():.4g}")


command("make", "map", help="make map n: arithmetic, Fourier maps, masks, kick maps",
        lead=(Int("n", help="map number (or a variable such as MAP_FO)"),),
        clauses=(Clause("zero", help="all grid points 0"),
                 Clause("set", (Real("lo"), Real("hi"), Real("value")),
                        help="points with lo <= rho <= hi become value"),
                 Clause("from", (Int("m"), Choice("copy", "add", "subtract", "multiply",
                                                  name="operation")),
                        sub=(Clause("scale", (Real("s"),), help="scale map m first"),),
                        help="combine map m into map n"),
                 Clause("2fofc", help="2Fo-Fc map"), Clause("fofc", help="Fo-Fc map"),
                 Clause("3fo2fc", help="3Fo-2Fc map"),
                 Clause("mfodfc", help="sigmaA-weighted mFo-DFc map"),
                 Clause("2mfodfc", help="sigmaA-weighted 2mFo-DFc map"),
                 Clause("fcalc", help="the model's Fcalc map (scaled Fmodel)"),
                 Clause("anom", help="anomalous difference map (F(+) - F(-), model phases "
                                     "- 90 deg): needs Bijvoet pairs in the data"),
                 Clause("mask", help="1 within RADIUS of the selected atoms, else 0"),
                 Sele(help="atoms for MASK; the atoms KICK kicks"),
                 Clause("radius", (Real("r"),), help="mask radius in A"),
                 Clause("flatten", sub=(Clause("mask", (Int("m"),), help="the mask map"),
                                        Clause("value", (Real("v"),),
                                               help="value outside (default: mean outside)")),
                        help="flatten map n outside mask map m"),
                 Clause("sigma", help="normalize to mean 0, sigma 1"),
                 Clause("kick", (Real("r", optional=True),),
                        sub=(Clause("count", (Int("k"),), help="number of kicked models"),
                             Clause("seed", (Int("s"),), help="random seed"),
                             Clause("type", (Choice(*_KICK_KINDS, name="kind"),),
                                    help="the map each kicked model makes: 2MFODFC (default), "
                                         "MFODFC, or unweighted 2FOFC, FOFC")),
                        help="averaged kick map (Praznikar et al. 2009)")),
        needs=(_KINDS,), exclusive=(_KINDS,), action=_make_map,
        details="Fourier maps use the Fmodel of the last REFL PHASE (made now if none).",
        examples=("make map MAP_FO zero", "make map MAP_FO set -1 1 9999.",
                  "make map MAP_FO from MAP_ORIG copy", "make map 5 2mfodfc",
                  "make map 6 mask sele segm name A end radius 2.8",
                  "make map MAP_KICK kick = 0.5 count 10 seed 1",
                  "make map 7 kick = 0.5 count 20 type fofc"))
