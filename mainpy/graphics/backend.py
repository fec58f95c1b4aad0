"""Which vispy backend draws: a GUI toolkit for the window, EGL or OSMesa for pictures
without a display. Nothing here imports vispy until a backend is asked for.

The window needs a display and a GUI toolkit (`pip install 'mainpy[gui]'` installs
PySide6). Pictures (`image save`) need only OpenGL: the window's toolkit when there is a
display, else EGL (Mesa's libEGL with a software driver: on Debian/Ubuntu
`apt-get install libegl1 libgl1-mesa-dri`) or OSMesa (`libosmesa6`).
`MAINPY_GRAPHICS=<vispy backend name>` (e.g. `egl`, `osmesa`, `pyside6`) forces one.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from mainpy.errors import MainpyError

#: vispy backend name, the module that must be importable for it
GUI_BACKENDS = (("pyside6", "PySide6"), ("pyqt6", "PyQt6"), ("pyqt5", "PyQt5"),
                ("pyside2", "PySide2"), ("glfw", "glfw"), ("pyglet", "pyglet"))
OFFSCREEN_BACKENDS = ("egl", "osmesa")

INSTALL_GUI = "pip install 'mainpy[gui]'"
INSTALL_OFFSCREEN = ("for pictures without a display mainpy needs OpenGL through EGL or "
                     "OSMesa: on Debian/Ubuntu apt-get install libegl1 libgl1-mesa-dri "
                     "(or libosmesa6); or run under a display (e.g. xvfb-run) with "
                     f"{INSTALL_GUI}")


class GraphicsUnavailable(MainpyError):
    """No display, GUI toolkit or OpenGL for what was asked (the message says what to
    install)."""


def have_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def installed_gui() -> str | None:
    """The first GUI backend whose toolkit is installed (None without one)."""
    forced = os.environ.get("MAINPY_GRAPHICS", "").strip().lower()
    if forced and forced not in OFFSCREEN_BACKENDS:
        return forced
    for name, module in GUI_BACKENDS:
        if _importable(module):
            return name
    return None


def window_backend() -> str:
    """The backend for a window, or GraphicsUnavailable saying what is missing."""
    forced = os.environ.get("MAINPY_GRAPHICS", "").strip().lower()
    if forced in OFFSCREEN_BACKENDS:
        raise GraphicsUnavailable(f"MAINPY_GRAPHICS={forced} draws pictures only, no "
                                  "window (image save works)")
    gui = installed_gui()
    if gui is None:
        raise GraphicsUnavailable(f"no GUI toolkit for the window: {INSTALL_GUI} "
                                  "(image save makes pictures without a window)")
    if not have_display():
        raise GraphicsUnavailable("no display for the window (DISPLAY is not set): run "
                                  "mainpy on a desktop, over ssh -X, or under xvfb-run "
                                  "(image save makes pictures without a window)")
    return gui


_apps: dict = {}
_failed: dict = {}


def application(name: str):
    """A vispy Application for this backend (one per backend per process)."""
    if name in _apps:
        return _apps[name]
    if name in _failed:
        raise GraphicsUnavailable(_failed[name])
    if name == "egl":
        # vispy's EGL backend draws without a window: Mesa then needs the surfaceless
        # platform (vispy hides DISPLAY while it opens the EGL display)
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    try:
        from vispy.app import Application
        app = Application(name)
    except Exception as e:  # noqa: BLE001 - every backend fails in its own way
        why = str(e).strip().splitlines()
        msg = f"the {name} graphics backend does not start ({why[-1] if why else e})"
        _failed[name] = msg
        raise GraphicsUnavailable(msg) from None
    _apps[name] = app
    return app


def window_application():
    return application(window_backend())


def offscreen_application():
    """An Application that can render pictures: EGL, else OSMesa, else the GUI toolkit on
    a display; GraphicsUnavailable (with what to install) when none works."""
    forced = os.environ.get("MAINPY_GRAPHICS", "").strip().lower()
    if forced:
        try:
            return application(forced)
        except GraphicsUnavailable as e:
            raise GraphicsUnavailable(f"{e} (MAINPY_GRAPHICS={forced}); "
                                      f"{INSTALL_OFFSCREEN}") from None
    tried = []
    names = list(OFFSCREEN_BACKENDS)     # EGL/OSMesa first: no window system involved
    gui = installed_gui()
    if gui is not None and have_display():
        names.append(gui)
    for name in names:
        try:
            return application(name)
        except GraphicsUnavailable as e:
            tried.append(str(e))
    raise GraphicsUnavailable("no OpenGL to draw a picture (" + "; ".join(tried) + "): "
                              + INSTALL_OFFSCREEN)


def offscreen_available() -> tuple[bool, str]:
    """(True, backend) if a picture can be drawn, else (False, why) (for tests)."""
    try:
        app = offscreen_application()
    except GraphicsUnavailable as e:
        return False, str(e)
    return True, app.backend_name


def window_available() -> tuple[bool, str]:
    try:
        app = window_application()
    except GraphicsUnavailable as e:
        return False, str(e)
    return True, app.backend_name
