"""Real pictures of 1aba drawn offscreen (`image save`), checked by their pixels; picking
and keys on a canvas of the same code. No picture is kept as a reference."""

import numpy as np
from vispy.util import keys as vkeys

from mainpy.graphics.control import graphics


def read(path):
    from vispy.io import read_png
    return read_png(str(path))[..., :3].astype(int)


def coloured(img):
    """Pixels of a saturated colour (atoms, sticks, mesh; not the grey cell, not black)."""
    return (img.max(-1) - img.min(-1) > 40) & (img.max(-1) > 60)


def mesh_pixels(img):
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return (b > 80) & (b > r + 30) & (g > r + 10)     # the light blue of the map


def centroid(mask):
    y, x = np.nonzero(mask)
    return np.array([x.mean(), y.mean()])


def test_1aba_map_picture(make_session, offscreen_app, tmp_path):
    s = make_session(with_map=True)
    s.run("image map 1 level 1.0")
    s.run("image center sele resi numb 5 end")
    out = tmp_path / "aba.png"
    s.run(f"image save {out}")
    assert "picture" in s.out.getvalue()
    img = read(out)
    h, w = img.shape[:2]
    assert (w, h) == (800, 600)
    lit = img.max(-1) > 25
    assert lit.mean() > 0.05, "the picture is (nearly) blank"
    mesh = mesh_pixels(img)
    assert mesh.mean() > 0.02, "no map mesh"
    carbon = (img[..., 0] > 60) & (img[..., 1] > 60) & (img[..., 2] < 0.6 * img[..., 0])
    assert carbon.sum() > 200, "no yellow carbon sticks"
    # the camera is on residue 5: its centre projects onto the middle of the picture
    v = graphics(s).hidden
    c5 = s.atoms.xyz[s.atoms.resseq == 5].mean(axis=0)
    p = v.project(c5)[0]
    assert abs(p[0] - w / 2) < 2 and abs(p[1] - h / 2) < 2
    # the mesh is a box around that centre: its pixels are centred on the picture
    cm = centroid(mesh)
    assert abs(cm[0] - w / 2) < 0.1 * w and abs(cm[1] - h / 2) < 0.1 * h
    # and it fills the middle more than the border
    mid = mesh[h // 4: 3 * h // 4, w // 4: 3 * w // 4].mean()
    border = (mesh.sum() - mesh[h // 4: 3 * h // 4, w // 4: 3 * w // 4].sum()) / (0.75 * w * h)
    assert mid > 1.5 * border
    assert graphics(s).hidden.n_segments > 1000


def test_model_is_where_the_camera_is_centred(make_session, offscreen_app, tmp_path):
    s = make_session()
    s.run("image show sele resi numb 5 end center sele resi numb 5 end")
    s.run(f"image save {tmp_path / 'a.png'}")
    img = read(tmp_path / "a.png")
    h, w = img.shape[:2]
    atoms = coloured(img)
    assert atoms.sum() > 300
    c = centroid(atoms)
    assert np.hypot(c[0] - w / 2, c[1] - h / 2) < 25
    y, x = np.nonzero(atoms)
    assert np.hypot(x - w / 2, y - h / 2).max() < 0.4 * h    # one residue, in the middle
    # centre on residue 30 (far away): residue 5 moves to where the camera projects it
    xyz = s.atoms.xyz
    d = np.linalg.norm(xyz[s.atoms.resseq == 30].mean(0) - xyz[s.atoms.resseq == 5].mean(0))
    assert d > 6
    s.run(f"image center sele resi numb 30 end save {tmp_path / 'b.png'}")
    img = read(tmp_path / "b.png")
    atoms = coloured(img)
    assert atoms.sum() > 100
    c = centroid(atoms)
    p = graphics(s).hidden.project(xyz[s.atoms.resseq == 5].mean(axis=0))[0]
    assert np.hypot(c[0] - p[0], c[1] - p[1]) < 25
    assert np.hypot(c[0] - w / 2, c[1] - h / 2) > 80


def test_pick_and_keys_on_the_canvas(make_session, offscreen_app):
    s = make_session()
    g = graphics(s)
    g.open(app=offscreen_app, show=False)      # the window's code on a hidden canvas
    try:
        v = g.window
        assert g._step_hook in s.step_hooks and g._observer in s.observers
        s.run("image show sele resi numb 5 end center sele resi numb 5 end")
        v.render()
        i = int(np.flatnonzero((s.atoms.resseq == 5) & (s.atoms.name == "OH"))[0])
        pos = v.project(s.atoms.xyz[i])[0][:2]
        assert v.pick(pos) == i
        # a click (press and release at one place) names the atom on the terminal
        v.canvas.events.mouse_press(pos=pos, button=1, modifiers=())
        v.canvas.events.mouse_release(pos=pos, button=1, modifiers=())
        assert "A/TYR 5/OH" in s.out.getvalue()
        # and the atom is remembered in key PICKED
        assert np.flatnonzero(s.keys["picked"].mask).tolist() == [i]
        assert v.pick((5, 5)) is None
        # the projected depth grows away from the eye: pick prefers the nearest atom
        xyz = s.atoms.xyz
        eye = v.camera.transform.map([0, 0, 0])[:3]
        depth = v.project(xyz)[:, 2]
        assert np.corrcoef(np.linalg.norm(xyz - eye, axis=1), depth)[0, 1] > 0.9
        # Escape does nothing; e asks the minimizer to stop
        v.canvas.events.key_press(key=vkeys.ESCAPE, text="", modifiers=())
        assert g.is_open and not s.stop
        v.canvas.events.key_press(key=vkeys.Key("E"), text="e", modifiers=())
        assert s.stop and s.stop.source == "key e"
        s.stop.clear()
    finally:
        s.run("image off")
    assert not g.is_open and s.step_hooks == [] and s.observers == []


def test_inputhook_pumps_until_input(make_session, offscreen_app):
    import mainpy.graphics as mg
    s = make_session()
    g = graphics(s)
    calls = {"n": 0}

    class Ctx:
        def fileno(self):
            return None

        def input_is_ready(self):
            calls["n"] += 1
            return calls["n"] > 3

    mg.inputhook(Ctx())
    assert calls["n"] == 0          # no window: returns at once
    g.open(app=offscreen_app, show=False)
    try:
        s.run("image show sele resi numb 5 end")
        mg.inputhook(Ctx())
        assert calls["n"] == 4
        assert len(g.window._shown) == int(s.keys["image"].mask.sum())
        # at the idle prompt nothing is redrawn unless something changed
        redraws = {"n": 0}
        real_update = g.window.canvas.update

        def counting_update(*a, **kw):
            redraws["n"] += 1
            real_update(*a, **kw)

        g.window.canvas.update = counting_update
        for _ in range(5):
            g.window.sync()
        assert redraws["n"] == 0
        s.model.atoms = s.model.atoms.replace(xyz=s.model.atoms.xyz + 1.0)
        g.window.sync()
        assert redraws["n"] > 0
        np.testing.assert_array_equal(g.window._xyz, s.atoms.xyz)
    finally:
        g.close()


def test_prompt_keeps_the_window_alive(make_session, offscreen_app):
    """prompt_toolkit's prompt with mainpy.graphics.inputhook: the window is pumped while
    the prompt waits, and the prompt still gets its line."""
    import threading
    import time

    from prompt_toolkit import PromptSession
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    import mainpy.graphics as mg
    s = make_session()
    g = graphics(s)
    g.open(app=offscreen_app, show=False)
    pumps = {"n": 0}
    real = g.window.process_events

    def counting():
        pumps["n"] += 1
        real()

    g.window.process_events = counting
    try:
        with create_pipe_input() as inp:
            def typist():
                time.sleep(0.5)
                inp.send_text("image off\r")

            t = threading.Thread(target=typist)
            t.start()
            text = PromptSession(input=inp, output=DummyOutput()).prompt(
                "MAIN> ", inputhook=mg.inputhook)
            t.join()
        assert text == "image off"
        assert pumps["n"] >= 5          # about every 20 ms for 0.5 s
    finally:
        g.close()
