"""The IMAGE command without OpenGL: settings, errors that say what to install, the
session unchanged after a failure, and vispy never imported before it is needed."""

import os
import subprocess
import sys

import pytest

from mainpy.lang.errors import LangError


def test_image_is_a_real_command():
    from mainpy.lang.registry import registry
    cmd = registry().find(["image"])
    assert cmd.action is not None and not cmd.pending
    assert "not built yet" not in cmd.help_text()
    assert [c.keyword for c in cmd.clauses] == ["on", "off", "show", "map", "level",
                                                "difference", "symmetry", "radius", "center",
                                                "save"]


def test_startup_does_not_import_vispy():
    code = ("import sys, mainpy.graphics\n"
            "from mainpy.lang.registry import registry\n"
            "from mainpy.session import Session\n"
            "registry(); s = Session(); s.run('help image')\n"
            "mainpy.graphics.inputhook(None)\n"
            "print('vispy' in sys.modules, 'mainpy.graphics.viewer' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "False False"


def test_settings_are_checked_and_kept(make_session):
    from mainpy.graphics.control import graphics
    s = make_session(with_map=True)
    s.run("image map 1 level 1.5")
    s.run("image center sele resi numb 5 end")
    st = graphics(s).settings
    assert st.map == 1 and st.level == 1.5
    assert st.center == pytest.approx(tuple(s.atoms.xyz[s.atoms.resseq == 5].mean(axis=0)))
    s.run("image")
    assert "map 1 at 1.5 sigma" in s.out.getvalue()
    before = (graphics(s).settings, s.fingerprint())
    for bad, msg in (("image map 7", "no map 7"),
                     ("image level 2 center sele resi numb 999 end", "no atoms"),
                     ("image map 1 level 3 save picture.jpg", None)):
        with pytest.raises(LangError) as e:
            s.run(bad)
        if msg:
            assert msg in str(e.value)
        assert (graphics(s).settings, s.fingerprint()) == before
        assert graphics(s).settings.level == 1.5


def test_show_sets_key_image(make_session):
    s = make_session()
    s.run("image show sele resi numb 5 end")
    assert int(s.keys["image"].mask.sum()) == 12
    s.run("image show sele all end")
    assert s.keys["image"].mask.all()


def _no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("MAINPY_GRAPHICS", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")


def test_image_on_without_toolkit_says_what_to_install(make_session, monkeypatch):
    from mainpy.graphics import backend
    from mainpy.graphics.control import graphics
    s = make_session(with_map=True)
    monkeypatch.delenv("MAINPY_GRAPHICS", raising=False)
    monkeypatch.setattr(backend, "installed_gui", lambda: None)
    before = s.fingerprint()
    with pytest.raises(LangError) as e:
        s.run("image on show sele resi numb 5 end map 1 level 2")
    assert "pip install 'mainpy[gui]'" in str(e.value)
    assert s.fingerprint() == before and "image" not in s.keys
    assert graphics(s).settings.map is None and not graphics(s).is_open
    assert s.step_hooks == [] and s.observers == []


def test_image_on_without_display_says_so(make_session, monkeypatch):
    from mainpy.graphics import backend
    s = make_session()
    _no_display(monkeypatch)
    monkeypatch.setattr(backend, "installed_gui", lambda: "pyside6")
    before = s.fingerprint()
    with pytest.raises(LangError) as e:
        s.run("image on")
    assert "no display" in str(e.value) and "xvfb-run" in str(e.value)
    assert s.fingerprint() == before and s.step_hooks == []


def test_image_save_without_opengl_says_what_to_install(make_session, monkeypatch, tmp_path):
    from mainpy.graphics import backend
    s = make_session()
    _no_display(monkeypatch)

    def broken(name):
        raise backend.GraphicsUnavailable(f"the {name} graphics backend does not start")

    monkeypatch.setattr(backend, "application", broken)
    before = s.fingerprint()
    out = tmp_path / "p.png"
    with pytest.raises(LangError) as e:
        s.run(f"image center sele resi numb 5 end save {out}")
    msg = str(e.value)
    assert "libegl1 libgl1-mesa-dri" in msg and "pip install 'mainpy[gui]'" in msg
    assert not out.exists() and s.fingerprint() == before


def test_egl_picture_without_display(aba, tmp_path):
    """A fresh process with no display at all draws through EGL (or OSMesa)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                            "MAINPY_GRAPHICS")}
    out = tmp_path / "egl.png"
    code = ("from mainpy.session import Session\n"
            "from mainpy.graphics.control import graphics\n"
            "s = Session()\n"
            f"s.run('read coor file {aba[0]}')\n"
            f"s.run('image center sele resi numb 5 end save {out}')\n"
            "print('BACKEND', graphics(s).hidden.app.backend_name)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       check=False)
    if r.returncode != 0:
        msg = f"no offscreen OpenGL without a display: {r.stdout[-600:]} {r.stderr[-600:]}"
        if os.environ.get("MAINPY_REQUIRE_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    backend = r.stdout.split("BACKEND")[-1].strip()
    assert backend.lower() in ("egl", "osmesa")
    from vispy.io import read_png
    img = read_png(str(out))
    assert img.shape[:2] == (600, 800)
    assert (img[..., :3].max(axis=-1) > 30).mean() > 0.005
