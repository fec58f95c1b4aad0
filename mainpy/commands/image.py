"""IMAGE: the graphics window (vispy; the toolkit comes with `pip install 'mainpy[gui]'`)."""

from mainpy.errors import MainpyError
from mainpy.lang.registry import ON_OFF, Choice, Clause, File, Int, Real, Sele, command

#: the largest box half-width contoured (A): beyond it a redraw would stall the window
MAX_RADIUS = 30.0


def _image(session, args):
    """IMAGE ON|OFF | SHOW sele | MAP n | LEVEL s | CENTER sele | SAVE file.

    Everything asked for is checked before the window is touched; the graphics put
    their settings back themselves if opening, drawing or saving fails, and the
    transaction puts back key IMAGE.
    """
    from dataclasses import replace

    from mainpy.graphics.control import describe, graphics
    g = graphics(session)
    new = replace(g.settings)
    said = []
    if "map" in args:
        from mainpy.app.maps import get_map
        get_map(session, args["map"])
        new.map = args["map"]
    if "level" in args:
        new.level = float(args["level"])
    if "difference" in args:
        new.difference = args["difference"] == "on"
    if "symmetry" in args:
        new.symmetry = args["symmetry"] == "on"
    if "radius" in args:
        r = float(args["radius"])
        if not 0 < r <= MAX_RADIUS:
            raise MainpyError(f"RADIUS must be above 0 and at most {MAX_RADIUS:g} A "
                              f"(got {r:g})")
        new.radius = r
    if "center" in args:
        mask = session.select(args["center"].get("sele"))
        if not mask.any():
            raise MainpyError("the CENTER selection has no atoms")
        c = session.atoms.xyz[mask].mean(axis=0)
        new.center = tuple(float(x) for x in c)
        said.append(f"centre ({c[0]:.2f} {c[1]:.2f} {c[2]:.2f}), {int(mask.sum())} atoms")
    if "show" in args:
        from mainpy.session import Key
        expr = args["show"].get("sele")
        mask = session.select(expr)
        session.keys["image"] = Key(expr, mask)
        said.append(f"showing {int(mask.sum())} atoms (key IMAGE)")
        if not mask.any():
            session.warn("the IMAGE selection has no atoms")
    said += g.apply(new, on="on" in args, off="off" in args, save=args.get("save"))
    if new.map is not None and ({"map", "level", "radius", "difference"} & set(args.names())):
        grid = session.maps.get(new.map)
        if grid is not None:
            from mainpy.graphics.contour import level_value
            said.append(f"map {new.map} at {new.level:g} sigma "
                        f"(level {level_value(grid, new.level):.4g})"
                        + ("" if new.radius is None else
                           f" in a box of half-width {new.radius:g} A")
                        + (", and at -{:g} sigma (level {:.4g}) in red".format(
                            new.level, level_value(grid, -new.level))
                           if new.difference else ""))
    if not args.names():
        said.append(describe(session, g))
    for line in said:
        session.echo(f" image: {line}")


command("image", help="the graphics window: on/off, what it shows, its centre, pictures",
        clauses=(Clause("on", help="open the window"), Clause("off", help="close it"),
                 Clause("show", sub=(Sele(),), help="show these atoms (key IMAGE)"),
                 Clause("map", (Int("n"),), help="show map n as a mesh"),
                 Clause("level", (Real("s"),), help="contour level in sigma (default 1)"),
                 Clause("difference", (Choice(*ON_OFF, name="state"),),
                        help="draw the map as a difference map: +level green, -level red "
                             "(default off)"),
                 Clause("symmetry", (Choice(*ON_OFF, name="state"),),
                        help="draw the crystal's other copies (symmetry operators and "
                             "lattice translations) within the radius (default off)"),
                 Clause("radius", (Real("r"),),
                        help="the map is contoured in a box of half-width r A around the "
                             "centre (default 10, at most 30)"),
                 Clause("center", sub=(Sele(),), help="centre on these atoms"),
                 Clause("save", (File(),), help="write what the window shows to a PNG")),
        exclusive=(("on", "off"),), action=_image,
        details="The window shows the atoms of key IMAGE as sticks coloured by element,\n"
                "the unit cell, and map n as chicken-wire in a box around the centre (20 A\n"
                "wide; RADIUS sets its half-width), taken from the periodic map so that it\n"
                "covers what is looked at wherever the model lies in the cell.\n"
                "Mouse as in Coot: left drag rotates, middle (or shift + left) drag moves,\n"
                "right drag zooms, the wheel changes the level, a click names an atom and\n"
                "adds it to key PICKED (key picked drop forgets them).\n"
                "Key e in the window ends a running minimization after its step (as Ctrl-C).\n"
                "The window needs a display and pip install 'mainpy[gui]'; IMAGE SAVE also\n"
                "works without a display through EGL or OSMesa (Mesa's software OpenGL).\n"
                "IMAGE alone tells what the window shows.",
        examples=("image on", "image map 1 level 1.0", "image map 1 radius 6",
                  "image symmetry on",
                  "image map 2 level 3 difference on", "image center sele resi numb 5 end",
                  "image show sele segm name A end", "image save picture.png", "image off"))
