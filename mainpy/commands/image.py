"""IMAGE: the graphics window."""

from mainpy.lang.registry import Clause, File, Int, Real, Sele, command

ISSUE6 = "the graphics window (issue 6)"

command("image", help="the graphics window: on/off, what it shows, its centre, pictures",
        clauses=(Clause("on", help="open the window"), Clause("off", help="close it"),
                 Clause("show", sub=(Sele(),), help="show these atoms (key IMAGE)"),
                 Clause("map", (Int("n"),), help="show map n as a mesh"),
                 Clause("level", (Real("s"),), help="contour level in sigma"),
                 Clause("center", sub=(Sele(),), help="centre on these atoms"),
                 Clause("save", (File(),), help="write what the window shows to a PNG")),
        exclusive=(("on", "off"),), pending=ISSUE6)
