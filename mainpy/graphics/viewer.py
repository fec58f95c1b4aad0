"""The vispy scene: sticks coloured by element, atoms as small balls, the unit-cell box
and a map as chicken-wire in a box around the centre.

Imported only when a window is opened or a picture is made (it imports vispy). The
viewer reads the session and changes it only through sentences (a click adds the atom
to key PICKED); besides, it sets the stop flag (key `e`).

Mouse as in Coot: left drag rotates, middle drag (or shift + left) moves the centre,
right drag zooms, the wheel changes the contour level by 0.1 sigma (zooms without a
map); a click on an atom prints which atom it is and adds it to key PICKED. Keys: `e`
ends a running minimization after its current step (as Ctrl-C does); Escape does nothing.
"""

from __future__ import annotations

import numpy as np
from vispy import scene
from vispy.scene.cameras import ArcballCamera
from vispy.util import keys as vkeys
from vispy.visuals.filters import Filter

from mainpy.graphics import scene as drawn
from mainpy.graphics.contour import DEFAULT_HALF, contour_box, level_value

BACKGROUND = (0.0, 0.0, 0.0, 1.0)
SIZE = (800, 600)
FOV = 30.0
BALL_SIZE = 5.0          # px
STICK_WIDTH = 2.0        # px
PICK_RADIUS = 8.0        # px
LEVEL_STEP = 0.1         # sigma per wheel notch
RECONTOUR_SHIFT = 1.0    # A the centre moves before the map is contoured again
ZOOM = 1.4               # field of view at the centre, in units of the map box
#: the depth slab: near = distance / SLAB, far = distance * SLAB (scales with the zoom)
SLAB = 1.4
FOG = 0.85               # how far the back of the slab fades into the background


#: the key that remembers the atoms clicked in the window, and the name its sentences
#: run under
PICKED = "picked"
PICKS = "<window>"


def pick_sentence(atoms, i: int, add: bool) -> str:
    """The sentence that puts atom i into key PICKED (added to the key when `add`)."""
    from mainpy.lang.lexer import quote
    this = (f"segm name {quote(str(atoms.segment[i]))} .and. resi numb {int(atoms.resseq[i])}"
            f" .and. atom name {quote(str(atoms.name[i]))}")
    if atoms.altloc[i]:
        this += f" .and. altl {quote(str(atoms.altloc[i]))}"
    return f"key {PICKED} sele " + (f"key {PICKED} .or. ({this})" if add else this) + " end"


def _depth_of_centre(slab: float) -> float:
    """Window depth (0 near .. 1 far) of the centre plane for near = d/slab, far = d*slab."""
    z_ndc = (slab ** 2 + 1) / (slab ** 2 - 1) - 2.0 / (slab - 1.0 / slab)
    return 0.5 * (z_ndc + 1.0)


class DepthCue(Filter):
    """Fog as in Coot: what lies behind the centre fades into the background."""

    FRAG = """
        void depth_cue() {
            float f = clamp((gl_FragCoord.z - $z0) / (1.0 - $z0), 0.0, 1.0) * $strength;
            gl_FragColor.rgb = mix(gl_FragColor.rgb, $bg, f);
        }
    """

    def __init__(self, z0, strength=FOG, bg=BACKGROUND[:3]):
        super().__init__(fcode=self.FRAG, fpos=9)
        self.fshader["z0"] = float(z0)
        self.fshader["strength"] = float(strength)
        self.fshader["bg"] = tuple(float(x) for x in bg)


def _show(visual, flag: bool) -> None:
    """Show or hide a visual (a redraw only when that changes)."""
    if visual.visible != flag:
        visual.visible = flag


class CootCamera(ArcballCamera):
    """Arcball rotation; middle drag moves the centre; the wheel is left to the viewer
    when it changes the contour level."""

    wheel_zooms = True

    def viewbox_mouse_event(self, event):
        if event.handled or not self.interactive:
            return
        if event.type == "mouse_wheel" and not self.wheel_zooms:
            return
        if event.type == "mouse_move" and event.press_event is not None \
                and 3 in event.buttons:
            p1 = np.array(event.last_event.pos)[:2]
            p2 = np.array(event.pos)[:2]
            norm = np.mean(self._viewbox.size)
            dist = (p1 - p2) / norm * self._scale_factor
            dist[1] *= -1
            dx, dy, dz = self._dist_to_trans(dist)
            ff = self._flip_factors
            up, forward, right = self._get_dim_vectors()
            dx, dy, dz = right * dx + forward * dy + up * dz
            c = self.center
            self.center = (c[0] + ff[0] * dx, c[1] + ff[1] * dy, c[2] + ff[2] * dz)
            event.handled = True
            return
        super().viewbox_mouse_event(event)


class Viewer:
    """One canvas (a window, or hidden for pictures) showing a session.

    `settings` is the session's image settings (map, level, centre; see
    mainpy.graphics.control); `sync()` brings the scene up to date with the session,
    `update_xyz()` moves the atoms only (during a minimization).
    """

    def __init__(self, session, settings, app, show: bool, size=SIZE, title="mainpy"):
        self.session = session
        self.settings = settings
        self.app = app
        self.closed = False
        self.on_close = None          # called once when the window goes away
        self.canvas = scene.SceneCanvas(title=title, size=size, show=show, app=app,
                                        bgcolor=BACKGROUND, keys=None,
                                        dpi=None if show else 96)
        self.view = self.canvas.central_widget.add_view()
        self.camera = CootCamera(fov=FOV)
        self.camera.depth_value = SLAB
        self.view.camera = self.camera
        self.cell = scene.visuals.Line(pos=np.zeros((2, 3), np.float32), connect="segments",
                                       color=drawn.CELL_COLOR + (1.0,), width=1.0, method="gl",
                                       parent=self.view.scene)
        self.mesh = scene.visuals.Line(pos=np.zeros((2, 3), np.float32),
                                       connect=np.zeros((1, 2), np.uint32),
                                       color=drawn.MAP_COLOR + (1.0,), width=1.0, method="gl",
                                       parent=self.view.scene)
        self.mesh_minus = scene.visuals.Line(pos=np.zeros((2, 3), np.float32),
                                             connect=np.zeros((1, 2), np.uint32),
                                             color=drawn.DIFF_MINUS_COLOR + (1.0,), width=1.0,
                                             method="gl", parent=self.view.scene)
        self.mates = scene.visuals.Line(pos=np.zeros((2, 3), np.float32), connect="segments",
                                        color=drawn.MATE_COLOR + (1.0,), width=1.0,
                                        method="gl", parent=self.view.scene)
        self.sticks = scene.visuals.Line(pos=np.zeros((2, 3), np.float32), connect="segments",
                                         width=STICK_WIDTH, method="gl",
                                         parent=self.view.scene)
        self.balls = scene.visuals.Markers(parent=self.view.scene)
        self.balls.set_gl_state("translucent", depth_test=True)
        for v in (self.cell, self.mesh, self.mesh_minus, self.mates, self.sticks,
                  self.balls):
            v.visible = False
            v.attach(DepthCue(_depth_of_centre(SLAB) - 0.05))
        # what the scene was made from (identities), to know what must be redone
        self._model = None
        self._xyz = None
        self._mask_src = None
        self._bonds_all = np.zeros((0, 2), np.int64)
        self._bonds = np.zeros((0, 2), np.int64)
        self._shown = np.zeros(0, np.int64)
        self._colors = np.zeros((0, 4), np.float32)
        self._center_src = object()
        self._contoured = None        # (grid, level, centre) of the mesh
        self._mated = None            # what the symmetry mates were made from
        self.n_mate_atoms = 0
        self.center = np.zeros(3)
        self.n_segments = 0
        self._press = None
        ev = self.canvas.events
        ev.key_press.connect(self._on_key)
        ev.mouse_press.connect(self._on_mouse_press)
        ev.mouse_release.connect(self._on_mouse_release)
        ev.mouse_wheel.connect(self._on_wheel)
        ev.close.connect(self._on_close)
        self.sync()

    # ------------------------------------------------------------------ session -> scene
    def _image_mask(self, n):
        key = self.session.keys.get("image")
        if key is not None and key.mask is not None and len(key.mask) == n:
            return key.mask, key.mask
        return None, np.ones(n, bool)

    def sync(self, force: bool = False) -> None:
        """Bring the scene up to date with the session (cheap when nothing changed)."""
        if self.closed:
            return
        s = self.session
        model = s.model
        if model is None:
            for v in (self.cell, self.sticks, self.balls):
                _show(v, False)
            self._model = None
            self._update_map(force)
            return
        atoms = model.atoms
        n = len(atoms)
        new_model = force or model is not self._model or len(self._colors) != n
        if new_model:
            self._model = model
            self._bonds_all = drawn.find_bonds(atoms)
            self._colors = drawn.element_colors(atoms.element)
            self.cell.set_data(pos=drawn.cell_edges(model.cell))
            _show(self.cell, True)
            self._mask_src = object()      # force the mask below
        src, mask = self._image_mask(n)
        if new_model or src is not self._mask_src:
            self._mask_src = src
            self._shown = np.flatnonzero(mask)
            self._bonds = drawn.shown_bonds(self._bonds_all, mask)
            self.sticks.set_data(color=drawn.stick_colors(self._colors, self._bonds)
                                 if len(self._bonds) else np.ones((2, 4), np.float32))
            self._xyz = None
        if new_model or self.settings.center is not self._center_src:
            self._center_src = self.settings.center
            self.set_center(self.default_center(atoms.xyz), recontour=False)
        if self._xyz is not atoms.xyz:
            self.update_xyz(atoms.xyz)
        self._update_map(force)

    def _update_mates(self, model) -> None:
        """The symmetry mates within the radius of the centre, when asked for."""
        st = self.settings
        if not st.symmetry:
            _show(self.mates, False)
            self._mated = None
            self.n_mate_atoms = 0
            return
        half = st.radius or DEFAULT_HALF
        key = (model.atoms.xyz, self._bonds_all, tuple(self.center), half)
        m = self._mated
        if m is not None and m[0] is key[0] and m[1] is key[1] and m[2:] == key[2:]:
            return
        self._mated = key
        segs, atoms = drawn.symmetry_mates(model.atoms.xyz, self._bonds_all, model.cell,
                                           model.spacegroup, self.center, half)
        self.n_mate_atoms = len(atoms)
        if len(segs):
            self.mates.set_data(pos=segs)
        _show(self.mates, len(segs) > 0)

    def default_center(self, xyz) -> np.ndarray:
        if self.settings.center is not None:
            return np.asarray(self.settings.center, float)
        if len(self._shown):
            return xyz[self._shown].mean(axis=0)
        return self.center

    def update_xyz(self, xyz) -> None:
        """Move the shown atoms to new coordinates (same model)."""
        self._xyz = xyz
        if len(self._bonds):
            self.sticks.set_data(pos=drawn.stick_vertices(xyz, self._bonds))
            _show(self.sticks, True)
        else:
            _show(self.sticks, False)
        if len(self._shown):
            self.balls.set_data(pos=np.asarray(xyz[self._shown], np.float32),
                                face_color=self._colors[self._shown], size=BALL_SIZE,
                                edge_width=0.0, symbol="disc")
            _show(self.balls, True)
        else:
            _show(self.balls, False)

    def set_center(self, c, recontour: bool = True, zoom: bool = True) -> None:
        self.center = np.asarray(c, float)
        self.camera.center = tuple(self.center)
        if zoom:
            self.camera.scale_factor = 2.0 * DEFAULT_HALF * ZOOM
        if recontour:
            self._update_map()

    def _update_map(self, force: bool = False) -> None:
        """The mesh (and the symmetry mates) around the centre as it is now."""
        if self.session.model is not None:
            self._update_mates(self.session.model)
        else:
            _show(self.mates, False)
        st = self.settings
        grid = self.session.maps.get(st.map) if st.map is not None else None
        self.camera.wheel_zooms = grid is None      # with a map the wheel sets the level
        if grid is None:
            _show(self.mesh, False)
            _show(self.mesh_minus, False)
            self._contoured = None
            self.n_segments = 0
            return
        level = level_value(grid, st.level)
        half = st.radius or DEFAULT_HALF
        key = (grid, level, tuple(self.center), half, st.difference)
        if not force and self._contoured is not None and self._contoured[0] is grid \
                and self._contoured[1:] == key[1:]:
            return
        self._contoured = key
        verts, segs = contour_box(grid, self.center, st.level, half)
        self.n_segments = len(segs)
        colour = drawn.DIFF_PLUS_COLOR if st.difference else drawn.MAP_COLOR
        self._set_mesh(self.mesh, verts, segs, colour)
        if st.difference:      # the same box at -level: where the model has too much
            verts, segs = contour_box(grid, self.center, -st.level, half)
            self.n_segments += len(segs)
            self._set_mesh(self.mesh_minus, verts, segs, drawn.DIFF_MINUS_COLOR)
        else:
            _show(self.mesh_minus, False)

    @staticmethod
    def _set_mesh(visual, verts, segs, colour) -> None:
        if len(segs) == 0:
            _show(visual, False)
            return
        visual.set_data(pos=verts, connect=segs.astype(np.uint32), color=colour + (1.0,))
        _show(visual, True)

    # ------------------------------------------------------------------ events
    def _on_key(self, event):
        text = (event.text or "").lower()
        name = event.key.name if event.key is not None else ""
        if text == "e" or name == "E":
            self.session.stop.request("key e")
            event.handled = True
        elif name == "Escape":
            event.handled = True      # never closes the window

    def _on_wheel(self, event):
        st = self.settings
        if st.map is None or st.map not in self.session.maps:
            return                      # the camera zooms
        st.level = round(st.level + LEVEL_STEP * np.sign(event.delta[1]), 3)
        self._update_map()
        self._say(f" map {st.map} contoured at {st.level:g} sigma")

    def _on_mouse_press(self, event):
        self._press = np.array(event.pos[:2], float)

    def _on_mouse_release(self, event):
        if self._press is not None and event.button == 1 and \
                np.hypot(*(np.array(event.pos[:2]) - self._press)) < 3 and \
                vkeys.SHIFT not in event.modifiers:
            i = self.pick(event.pos[:2])
            if i is not None:
                a = self.session.atoms
                x = a.xyz[i]
                self._say(f" atom {a.label(i)}  ({x[0]:.3f} {x[1]:.3f} {x[2]:.3f})  "
                          f"B {a.b[i]:.2f}  occ {a.occ[i]:.2f}")
                self._remember_pick(i)
        self._press = None
        # the centre was moved with the mouse: contour around the new centre
        c = np.asarray(self.camera.center, float)
        if np.linalg.norm(c - self.center) > RECONTOUR_SHIFT:
            self.center = c
            self._update_map()

    def _remember_pick(self, i):
        """Add the picked atom to key PICKED (the history of clicks; `key picked drop`
        forgets it) by the sentence that does it, so the transaction and the journal
        see it; during a minimization it runs when the minimization has ended."""
        s = self.session
        # a pick still waiting for the end of a minimization makes the key too
        add = PICKED in s.keys or any(n == PICKS for _, n in s.interpreter.deferred)
        try:
            text = pick_sentence(s.atoms, i, add)
        except ValueError as e:
            self._say(f" the atom is not added to key {PICKED}: {e}")
            return
        s.run_soon(text, PICKS)

    def _say(self, text):
        print(text, file=self.session.stream(), flush=True)

    def _on_close(self, event=None):
        if self.closed:
            return
        self.closed = True
        if self.on_close is not None:
            self.on_close(self)

    # ------------------------------------------------------------------ queries
    def project(self, xyz) -> np.ndarray:
        """Canvas pixel positions (x right, y down; logical pixels) and depth of points."""
        tr = self.balls.get_transform("visual", "canvas")
        p = tr.map(np.asarray(xyz, float).reshape(-1, 3))
        return p[:, :3] / p[:, 3:4]

    def pick(self, pos) -> int | None:
        """The shown atom nearest to a canvas position (within PICK_RADIUS px), nearest
        the viewer when several are that close."""
        if self.session.model is None or len(self._shown) == 0 or self._xyz is None:
            return None
        p = self.project(self._xyz[self._shown])
        d = np.hypot(p[:, 0] - pos[0], p[:, 1] - pos[1])
        near = np.flatnonzero(d < PICK_RADIUS)
        if len(near) == 0:
            return None
        best = near[np.argmin(p[near, 2] + 1e-3 * d[near])]
        return int(self._shown[best])

    def render(self) -> np.ndarray:
        """The picture (h, w, 4) uint8 of what the canvas shows."""
        self.sync()
        return self.canvas.render(alpha=False)

    def process_events(self) -> None:
        if not self.closed:
            self.app.process_events()

    def close(self) -> None:
        if not self.closed:
            self.canvas.close()
            self._on_close()
