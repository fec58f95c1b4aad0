"""The graphics state of a session: settings, the window, the hidden canvas for
pictures, the step hook and the observer; and the prompt's input hook. The IMAGE
command (mainpy.commands.image) drives it; it changes no session state itself.

Nothing here imports vispy at import time: the viewer module is imported when a window
is opened or a picture is made.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import numpy as np

from mainpy.errors import MainpyError
from mainpy.graphics.backend import GraphicsUnavailable  # noqa: F401 - re-exported

#: during a minimization, frames are drawn at most this often (s) ...
MIN_FRAME_INTERVAL = 1 / 60
#: ... and take at most this share of the time (a slow, software OpenGL draws fewer
#: frames instead of slowing the minimizer down); a shown step whose frame must wait is
#: drawn on a later step with that step's coordinates
FRAME_SHARE = 0.5


@dataclass
class ImageSettings:
    map: int | None = None        # map number shown as mesh
    level: float = 1.0            # contour level in sigma
    center: tuple | None = None   # centre (A); None: centre of the shown atoms
    radius: float | None = None   # half-width (A) of the contoured box; None: contour's default
    difference: bool = False      # a difference map: +level green, -level red
    symmetry: bool = False        # draw the symmetry mates within the radius


class Graphics:
    """A session's graphics: settings, and the window when it is open."""

    def __init__(self, session):
        self._session = weakref.ref(session)
        self.settings = ImageSettings()
        self.window = None            # Viewer shown on screen
        self.hidden = None            # Viewer for pictures without a window
        self.frames = 0               # redraws during minimizations (for benchmarks)
        self._next_frame = 0.0        # perf_counter time when the next frame may be drawn
        self._pending = False         # a shown step waits for its frame

    @property
    def session(self):
        return self._session()

    # ------------------------------------------------------------------ window
    def open(self, app=None, show: bool = True) -> bool:
        """Open the window (False if it was open). `app`/`show` let tests use a hidden
        canvas of any backend with the same code."""
        if self.window is not None and not self.window.closed:
            return False
        from mainpy.graphics.backend import window_application
        if app is None:
            app = window_application()
        from mainpy.graphics.viewer import Viewer
        session = self.session
        self.window = Viewer(session, self.settings, app, show=show)
        self.window.on_close = self._window_closed
        if self._step_hook not in session.step_hooks:
            session.step_hooks.append(self._step_hook)
        if self._observer not in session.observers:
            session.observers.append(self._observer)
        _open.add(self)
        self.window.process_events()
        return True

    def close(self) -> bool:
        if self.window is None:
            return False
        w = self.window
        w.close()            # calls _window_closed
        return True

    def _window_closed(self, viewer):
        session = self.session
        if session is not None:
            if self._step_hook in session.step_hooks:
                session.step_hooks.remove(self._step_hook)
            if self._observer in session.observers:
                session.observers.remove(self._observer)
        if self.window is viewer:
            self.window = None
        _open.discard(self)

    @property
    def is_open(self) -> bool:
        return self.window is not None and not self.window.closed

    # ------------------------------------------------------------------ hooks
    def _step_hook(self, session, step, atoms, shown):
        """During a minimization: the window's events are handled after every step (so
        it answers the mouse and key e); the coordinates of shown steps are drawn, at
        most as often as FRAME_SHARE of the time allows."""
        w = self.window
        if w is None or w.closed:
            return
        now = time.perf_counter()
        if (shown or self._pending) and now >= self._next_frame:
            self._pending = False
            w.update_xyz(atoms.xyz)
            w.process_events()          # draws the frame
            self.frames += 1
            end = time.perf_counter()
            cost = end - now
            self._next_frame = end + max(MIN_FRAME_INTERVAL,
                                         cost * (1 - FRAME_SHARE) / FRAME_SHARE)
            return
        self._pending = self._pending or shown
        w.process_events()

    def _observer(self, session):
        if self.is_open:
            self.window.sync()
            self.window.process_events()

    def refresh(self):
        if self.is_open:
            self.window.settings = self.settings
            self.window.sync()
            self.window.process_events()

    def apply(self, settings: ImageSettings, on=False, off=False, save=None) -> list[str]:
        """Put new settings in place, then open the window, redraw, save a picture, close
        the window, as asked; what was done, in words. If any of it fails, the settings
        and the window are as they were before (the error is raised)."""
        old = self.settings
        said = []
        opened = False
        try:
            self.settings = settings
            if on:
                opened = self.open()
                if not opened:
                    said.append("the window is already open")
            self.refresh()
            if save is not None:
                w, h = self.save(save)
                said.append(f"picture {save} written ({w}x{h})")
            if off and not self.close():
                said.append("the window is not open")
        except BaseException:
            self.settings = old
            if opened:
                self.close()
            else:
                self.refresh()
            raise
        if opened:
            said.insert(0, f"window open ({self.window.app.backend_name}): left drag "
                           "rotates, middle drag moves, right drag zooms, wheel changes the "
                           "level, click names an atom, key e stops a minimization")
        if off and not self.is_open and "the window is not open" not in said:
            said.append("window closed")
        return said

    # ------------------------------------------------------------------ pictures
    def picture(self) -> np.ndarray:
        """What the window shows (h, w, 4 uint8); drawn on a hidden canvas without one."""
        if self.is_open:
            return self.window.render()
        if self.hidden is None or self.hidden.closed:
            from mainpy.graphics.backend import offscreen_application
            from mainpy.graphics.viewer import Viewer
            app = offscreen_application()
            self.hidden = Viewer(self.session, self.settings, app, show=False)
        self.hidden.settings = self.settings
        return self.hidden.render()

    def save(self, path: str) -> tuple[int, int]:
        from pathlib import Path
        p = Path(path)
        if p.suffix.lower() != ".png":
            raise MainpyError(f"image save writes PNG files: {path} should end in .png")
        if not p.parent.is_dir():
            raise MainpyError(f"cannot write {path}: no folder {p.parent}")
        img = self.picture()
        from vispy.io import write_png

        from mainpy.fileio import atomic_write
        try:   # whole or not at all
            atomic_write(str(p), lambda tmp: write_png(tmp, np.ascontiguousarray(img[..., :3])))
        except OSError as e:
            raise MainpyError(f"cannot write {path}: {e.strerror or e}") from None
        return img.shape[1], img.shape[0]


_graphics: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_open: weakref.WeakSet = weakref.WeakSet()


def graphics(session) -> Graphics:
    """The graphics state of a session (made on first use; never opens a window)."""
    g = _graphics.get(session)
    if g is None:
        g = _graphics[session] = Graphics(session)
    return g


def open_windows() -> list[Graphics]:
    return [g for g in list(_open) if g.is_open]


# ---------------------------------------------------------------------- what it shows

def describe(session, g: Graphics) -> str:
    st = g.settings
    key = session.keys.get("image")
    shown = "all atoms" if key is None or key.mask is None else f"{int(key.mask.sum())} atoms"
    where = "centre of the shown atoms" if st.center is None else \
        "centre ({:.2f} {:.2f} {:.2f})".format(*st.center)
    mp = "no map" if st.map is None else f"map {st.map} at {st.level:g} sigma" + \
        ("" if st.radius is None else f" within {st.radius:g} A") + \
        (" (+/- as a difference map)" if st.difference else "") + \
        ("; symmetry mates shown" if st.symmetry else "")
    return f"window {'open' if g.is_open else 'closed'}; {shown}; {mp}; {where}"


# ---------------------------------------------------------------------- the prompt

def inputhook(context) -> None:
    """prompt_toolkit input hook: while the prompt waits for a key, keep the windows
    drawing and answering the mouse; return as soon as input is ready.

    Use: PromptSession.prompt(..., inputhook=mainpy.graphics.inputhook). Without an
    open window it returns at once (and costs nothing)."""
    if not _open:
        return
    import select
    fd = None
    try:
        fd = context.fileno()
    except Exception:  # noqa: BLE001 - not every context has a file descriptor
        fd = None
    while not context.input_is_ready():
        wins = open_windows()
        if not wins:
            return
        for g in wins:
            try:
                g.window.sync()
                g.window.process_events()
            except Exception as e:  # noqa: BLE001 - a drawing error must not kill the prompt
                g.session.warn(f"the window failed and was closed: {e}")
                g.close()
        if fd is not None:
            try:
                select.select([fd], [], [], 0.02)
                continue
            except (OSError, ValueError, TypeError):
                fd = None
        time.sleep(0.02)
