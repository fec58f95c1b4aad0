"""Fixtures for the graphics tests: a display (Xvfb started here when there is none),
OpenGL for pictures, a GUI toolkit for windows, and a 1aba session with a map.

Missing OpenGL or display skips the tests that need them, with the reason, except under
MAINPY_REQUIRE_DATA=1 (CI), where it fails them. A missing GUI toolkit (a Python
package, `pip install 'mainpy[gui]'`) always skips the window-only tests: the same
code paths are then run on a hidden canvas drawn through EGL/OSMesa.
"""

import os
import shutil
import subprocess
import time

import pytest

REQUIRE = os.environ.get("MAINPY_REQUIRE_DATA") == "1"


def unavailable(msg):
    if REQUIRE:
        pytest.fail(f"{msg} (required under MAINPY_REQUIRE_DATA=1)")
    pytest.skip(msg)


def _free_display():
    for n in range(91, 160):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return n
    return None


@pytest.fixture(scope="session")
def xdisplay():
    """A display for windows: the one there is, else Xvfb started for the tests; None if
    neither (then only EGL/OSMesa pictures can be made)."""
    from mainpy.graphics.backend import have_display
    if have_display():
        yield os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        return
    xvfb = shutil.which("Xvfb")
    n = _free_display()
    if xvfb is None or n is None:
        yield None
        return
    proc = subprocess.Popen([xvfb, f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not os.path.exists(f"/tmp/.X11-unix/X{n}") and time.time() - t0 < 10:
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is not None or not os.path.exists(f"/tmp/.X11-unix/X{n}"):
        proc.kill()
        yield None
        return
    # Xvfb must outlive this process's X connections (a toolkit whose server goes away
    # first ends the process): a watcher stops it once the test process has exited
    watch = (f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 0.5; done; "
             f"kill {proc.pid}")
    subprocess.Popen(["sh", "-c", watch],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    os.environ["DISPLAY"] = f":{n}"
    yield f":{n}"


@pytest.fixture(scope="session")
def offscreen_app(xdisplay):
    """A vispy Application that can draw pictures (GUI toolkit on the display, else EGL,
    else OSMesa)."""
    from mainpy.graphics.backend import GraphicsUnavailable, offscreen_application
    try:
        return offscreen_application()
    except GraphicsUnavailable as e:
        unavailable(f"no OpenGL for pictures: {e}")


@pytest.fixture(scope="session")
def window_app(xdisplay):
    """A vispy Application that opens windows (needs a GUI toolkit and a display)."""
    from mainpy.graphics.backend import (
        GraphicsUnavailable,
        installed_gui,
        window_application,
    )
    if installed_gui() is None:
        pytest.skip("no GUI toolkit for windows: pip install 'mainpy[gui]' (the same code "
                    "runs on a hidden canvas in the offscreen tests)")
    try:
        return window_application()
    except GraphicsUnavailable as e:
        unavailable(f"no window: {e}")


@pytest.fixture(scope="module")
def aba(data):
    """Paths of 1aba."""
    return str(data("xtal/1aba/1aba.pdb")), str(data("xtal/1aba/1aba.mtz"))


@pytest.fixture(scope="module")
def make_session(aba):
    """make_session(with_map=False): a new session with 1aba read (and map 1, 2mFo-DFc;
    the map is computed once per module and shared)."""
    import io

    from mainpy.session import Session
    cache = {}

    def make(with_map=False):
        s = Session(out=io.StringIO())
        s.run(f"read coor file {aba[0]}")
        if with_map:
            if "map" not in cache:
                s.run(f"read refl file {aba[1]}")
                s.run("make map 1 2mfodfc")
                cache["map"] = (s.reflections, s.maps[1])
            else:
                s.reflections = cache["map"][0]
                s.maps[1] = cache["map"][1]
        return s

    return make
