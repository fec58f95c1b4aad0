"""End to end: a long minimization with the window open; key e, sent through the event
system, ends it at a step boundary with the model of that step, and the window followed
the model all along."""

import re

import numpy as np
import pytest
from vispy.util import keys as vkeys

from mainpy.graphics.control import graphics
from mainpy.lang.errors import LangError

KEY_AT = 5


def _minimize_until_key(s, g, inject):
    s.run("define bond angle by topo")
    s.run("set coor kick 0.3 seed 1")
    steps = {}
    seen = {}

    def record(session, step, atoms, shown):
        steps[step] = atoms.xyz.copy()
        seen[step] = g.window._xyz is atoms.xyz       # the window was given this step
        if step == KEY_AT:
            inject()

    s.step_hooks.append(record)            # after the window's hook
    frames0 = g.frames
    s.run("minimize step 1000 writ 1")
    s.step_hooks.remove(record)
    out = s.out.getvalue()
    m = re.search(r"(\d+) steps, ended by a stop request \(key e\)", out)
    assert m, out[-2000:]
    last = int(m.group(1))
    assert last == max(steps) < 1000
    # the model is the model of the step where it stopped
    np.testing.assert_array_equal(s.atoms.xyz, steps[last])
    assert not np.array_equal(steps[1], steps[last])
    # writ 1: every step is shown; the window drew step 1 at once and later steps as
    # often as drawing allows (all of them when drawing is fast), and has the final
    # model now
    assert seen[1] and g.frames - frames0 == sum(seen.values()) >= 1
    assert np.array_equal(g.window._xyz, s.atoms.xyz)
    assert not s.stop               # cleared after the run
    return last


def test_key_e_on_the_canvas_stops_minimization(make_session, offscreen_app):
    """The window's code on a hidden canvas (runs wherever pictures can be drawn, CI too);
    the key arrives as a vispy canvas event."""
    s = make_session()
    g = graphics(s)
    g.open(app=offscreen_app, show=False)
    try:
        canvas = g.window.canvas
        last = _minimize_until_key(
            s, g, lambda: canvas.events.key_press(key=vkeys.Key("E"), text="e", modifiers=()))
        assert last == KEY_AT
        assert g.is_open
    finally:
        s.run("image off")
    assert s.step_hooks == []


def _post_native_key(app, canvas, key="e"):
    """Queue a real key press in the toolkit; it is delivered when the window's step hook
    pumps the event loop (the next step)."""
    if "qt" in app.backend_name.lower() or "pyside" in app.backend_name.lower():
        from vispy.app.backends import _qt
        qt = _qt.QtCore.Qt
        code, text = (qt.Key.Key_E, "e") if key == "e" else (qt.Key.Key_Escape, "\x1b")
        ev = _qt.QtGui.QKeyEvent(_qt.QtCore.QEvent.Type.KeyPress, code,
                                 qt.KeyboardModifier.NoModifier, text)
        _qt.QtWidgets.QApplication.postEvent(canvas.native, ev)
    else:
        vk = vkeys.Key("E") if key == "e" else vkeys.ESCAPE
        canvas.events.key_press(key=vk, text=key if key == "e" else "", modifiers=())


def test_key_e_in_the_window_stops_minimization(make_session, window_app, tmp_path):
    s = make_session()
    s.run("image on")
    g = graphics(s)
    try:
        assert g.is_open and g.window.app is window_app
        _post_native_key(window_app, g.window.canvas, "escape")
        for _ in range(3):
            g.window.process_events()
        assert g.is_open and not s.stop
        assert getattr(g.window.canvas.native, "isVisible", lambda: True)()
        last = _minimize_until_key(s, g, lambda: _post_native_key(window_app, g.window.canvas))
        assert last in (KEY_AT, KEY_AT + 1)
        # what the window shows can be saved
        s.run(f"image save {tmp_path / 'w.png'}")
        from vispy.io import read_png
        img = read_png(str(tmp_path / "w.png"))
        assert (img[..., :3].max(-1) > 25).mean() > 0.02
    finally:
        s.run("image off")
    assert not g.is_open and s.step_hooks == [] and s.observers == []


def test_closing_the_window_removes_the_hooks(make_session, window_app):
    s = make_session()
    s.run("image on")
    g = graphics(s)
    g.window.canvas.close()           # as the window manager's close button does
    g.window and g.window.process_events()
    assert not g.is_open and s.step_hooks == [] and s.observers == []
    s.run("image off")
    assert "not open" in s.out.getvalue()
    with pytest.raises(LangError):
        s.run("image on off")           # exclusive clauses
