"""A click in the window changes the session only through a sentence: the one that adds
the atom to key PICKED, run through the session (transaction, journal); a click during
a minimization waits until the minimization has ended. On a hidden canvas of the
window's code."""

import io

import numpy as np

from mainpy.graphics.control import graphics
from mainpy.graphics.viewer import pick_sentence
from mainpy.session import Session


def click(viewer, xyz):
    """Press and release the left button where the viewer draws xyz."""
    pos = viewer.project(xyz)[0][:2]
    viewer.canvas.events.mouse_press(pos=pos, button=1, modifiers=())
    viewer.canvas.events.mouse_release(pos=pos, button=1, modifiers=())


def atom(s, resseq, name):
    a = s.atoms
    return int(np.flatnonzero((a.resseq == resseq) & (a.name == name))[0])


def journal(s):
    return s.journal.read_text().splitlines() if s.journal.exists() else []


def test_a_click_runs_the_sentence_that_adds_the_atom(make_session, offscreen_app,
                                                      tmp_path, aba):
    s = make_session()
    s.journal = tmp_path / "journal.cmds"
    g = graphics(s)
    g.open(app=offscreen_app, show=False)
    try:
        s.run("image show sele resi numb 5 end center sele resi numb 5 end")
        v = g.window
        v.render()
        oh, cz = atom(s, 5, "OH"), atom(s, 5, "CZ")
        click(v, s.atoms.xyz[oh])
        assert "A/TYR 5/OH" in s.out.getvalue()
        first = "key picked sele segm name A .and. resi numb 5 .and. atom name OH end"
        assert journal(s)[-1] == first
        assert np.flatnonzero(s.keys["picked"].mask).tolist() == [oh]
        click(v, s.atoms.xyz[cz])
        # (the journal writes a sentence's words with single spaces between them)
        assert journal(s)[-1] == ("key picked sele key picked .or. ( segm name A .and. resi "
                                  "numb 5 .and. atom name CZ ) end")
        assert np.flatnonzero(s.keys["picked"].mask).tolist() == sorted([oh, cz])
        n = len(journal(s))
        click(v, s.atoms.xyz[oh] + 50.0)            # nothing there: no sentence
        assert len(journal(s)) == n
    finally:
        s.run("image off")
    # the journal replays the picks in a new session
    t = Session(out=io.StringIO())
    t.run(f"read coor file {aba[0]}")
    t.run_file(s.journal)
    assert (t.keys["picked"].mask == s.keys["picked"].mask).all()
    # the key is an expression: a new model evaluates it again (it is not dropped)
    s.run(f"read coor file {aba[0]}")
    assert np.flatnonzero(s.keys["picked"].mask).tolist() == sorted([oh, cz])


def test_a_click_during_a_minimization_runs_when_it_has_ended(make_session, offscreen_app,
                                                              tmp_path):
    s = make_session()
    s.journal = tmp_path / "journal.cmds"
    g = graphics(s)
    g.open(app=offscreen_app, show=False)
    try:
        s.run("image show sele resi numb 5 end center sele resi numb 5 end")
        s.run("define bond angle by topo")
        v = g.window
        v.render()
        oh, cb = atom(s, 5, "OH"), atom(s, 5, "CB")
        during = {}

        def click_at_step_2(session, step, atoms, shown):
            if step == 2:
                click(v, v._xyz[oh])               # where the window draws it now
            if step == 3:
                click(v, v._xyz[cb])               # a second click: both are kept
            during[step] = "picked" in session.keys

        s.step_hooks.append(click_at_step_2)       # after the window's own hook
        try:
            s.run("minimize step 5 writ 1")
        finally:
            s.step_hooks.remove(click_at_step_2)
        assert "A/TYR 5/OH" in s.out.getvalue()    # named at the click
        assert len(during) >= 4 and not any(during.values())   # not changed mid-run
        assert np.flatnonzero(s.keys["picked"].mask).tolist() == sorted([oh, cb])
        assert journal(s)[-3:-1] == ["minimize step 5 writ 1",
                                     pick_sentence(s.atoms, oh, False)]
        assert journal(s)[-2].startswith("key picked sele segm name A .and. resi numb 5 ")
        assert journal(s)[-1].startswith("key picked sele key picked .or. ")
        assert not s.interpreter.deferred
    finally:
        s.run("image off")


def test_pick_sentences_quote_what_must_be(make_session):
    """A segment named like END is quoted, an altloc is named, and the sentence selects
    exactly the atom."""
    from dataclasses import replace
    s = make_session()
    a = s.atoms
    i = atom(s, 5, "OH")
    alt = a.altloc.copy()
    alt[i] = "A"
    odd = replace(a, segment=np.full(len(a), "end"), altloc=alt, _codes={})
    text = pick_sentence(odd, i, False)
    assert text == ('key picked sele segm name "end" .and. resi numb 5 .and. atom name OH '
                    '.and. altl A end')
    s.model.atoms = odd
    s.run(text)
    assert np.flatnonzero(s.keys["picked"].mask).tolist() == [i]
