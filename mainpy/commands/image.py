"""IMAGE: the graphics window (vispy; the toolkit comes with `pip install 'mainpy[gui]'`)."""

from mainpy.lang.registry import Clause, File, Int, Real, Sele, command


def _image(session, args):
    from mainpy.graphics.control import image_command
    image_command(session, args)


command("image", help="the graphics window: on/off, what it shows, its centre, pictures",
        clauses=(Clause("on", help="open the window"), Clause("off", help="close it"),
                 Clause("show", sub=(Sele(),), help="show these atoms (key IMAGE)"),
                 Clause("map", (Int("n"),), help="show map n as a mesh"),
                 Clause("level", (Real("s"),), help="contour level in sigma (default 1)"),
                 Clause("center", sub=(Sele(),), help="centre on these atoms"),
                 Clause("save", (File(),), help="write what the window shows to a PNG")),
        exclusive=(("on", "off"),), action=_image,
        details="The window shows the atoms of key IMAGE as sticks coloured by element,\n"
                "the unit cell, and map n as chicken-wire in a 20 A box around the centre.\n"
                "Mouse as in Coot: left drag rotates, middle (or shift + left) drag moves,\n"
                "right drag zooms, the wheel changes the level, a click names an atom and\n"
                "adds it to key PICKED (key picked drop forgets them).\n"
                "Key e in the window ends a running minimization after its step (as Ctrl-C).\n"
                "The window needs a display and pip install 'mainpy[gui]'; IMAGE SAVE also\n"
                "works without a display through EGL or OSMesa (Mesa's software OpenGL).\n"
                "IMAGE alone tells what the window shows.",
        examples=("image on", "image map 1 level 1.0", "image center sele resi numb 5 end",
                  "image show sele segm name A end", "image save picture.png", "image off"))
