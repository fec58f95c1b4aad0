"""Every figure printed is about the model in hand; silent traps say what they do (issue 15)."""

import io

import numpy as np
import pytest

from mainpy.lang.errors import LangError
from mainpy.session import Session


@pytest.fixture
def s(data, monlib_dir):
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    s.run("define bond angle dihe impr by topo; refl phase")
    return s


def _cold_r(s):
    """R-work, R-free of the model in hand by a fresh session (nothing carried over)."""
    t = Session(out=io.StringIO())
    t.reflections = s.reflections
    t.set_model(s.model)
    t.run("refl phase")
    return t.variables["R_WORK"], t.variables["R_FREE"]


def _printed_r(text):
    """The overall R-work, R-free of the last REFL R-VALUE table printed."""
    last = [line for line in text.splitlines() if line.rstrip().endswith("all")][-1]
    rw, rf = last.split()[-3:-1]
    return float(rw), float(rf)


@pytest.mark.parametrize("edit", ["set coor kick 1.0 seed 4 sele all end",
                                  "set temp sele all end = 60",
                                  "set occu sele resi numb 1 : 40 end = 0.5"])
def test_reports_after_an_edit_are_of_the_edited_model(s, edit):
    before = s.variables["R_WORK"]
    s.run(edit)
    s.out = io.StringIO()
    s.run("refl r-value")
    rw, rf = _printed_r(s.out.getvalue())
    cold = _cold_r(s)
    assert abs(rw - before) > 0.002                       # the edit shows
    assert rw == pytest.approx(cold[0], abs=1e-4) and rf == pytest.approx(cold[1], abs=1e-4)


def test_restore_coor_is_seen_too(s):
    s.run("save coor; set coor kick 0.8 seed 2 sele all end; refl r-value")
    kicked = s.variables["R_WORK"]
    s.run("restore coor; refl r-value")
    assert s.variables["R_WORK"] < kicked - 0.05
    assert s.variables["R_WORK"] == pytest.approx(_cold_r(s)[0], abs=1e-4)


def test_minimize_before_column_is_of_the_model_in_hand(s):
    s.run("set coor kick 1.0 seed 4 sele all end; ener xray on")
    s.out = io.StringIO()
    s.run("refine position step 2")
    row = [line for line in s.out.getvalue().splitlines() if line.startswith(" R-work ")][0]
    assert float(row.split()[1]) > 0.35          # not the 0.21 of the last RE_PHASE


def test_refl_kick_maps_use_the_kicked_phases_until_the_model_changes(s):
    s.run("refl kick = 0.5 seed 1")
    kicked = s.fmodel
    s.run("make map 1 2mfodfc")
    assert s.fmodel is kicked                    # the kick was asked for: kept
    s.run("set temp sele all end = 30; make map 1 2mfodfc")
    assert s.fmodel is not kicked                # the model changed: re-phased


def test_refine_takes_no_selection(s):
    with pytest.raises(LangError):
        s.run("refine sele resi numb 1 : 5 end step 2")


def test_reflections_unused_are_said(s):
    s.out = io.StringIO()
    s.run("refine position step 2")
    assert "the X-ray term is off" in s.out.getvalue()


def test_fixed_data_weight_is_kept(s):
    s.run("ener xray on")
    s.out = io.StringIO()
    s.run("refine position step 12 phase steps 4 adjust weight 0.5")
    text = s.out.getvalue()
    assert "xray 0.5" in text and "data weight fixed" in text
    assert "data weight x" not in text           # never re-adjusted
    assert s.data_weight is None                 # nor carried over as MAIN's weight


def test_occupancy_runs_do_not_touch_the_data_weight(s):
    s.run("ener xray on; refine position step 10 phase steps 5")
    kept = s.data_weight
    s.out = io.StringIO()
    s.run("refine occu step 10 phase steps 5")
    assert "data weight x" not in s.out.getvalue()
    assert s.data_weight == kept


def test_inverted_chiral_centres_are_counted(s):
    # mirror two CA atoms through their N-C-CB plane... simpler: swap CB and HA-side by
    # reflecting the CB of two residues through the N-CA-C plane
    a = s.atoms
    xyz = a.xyz.copy()
    flipped = 0
    for resi in (10, 20):
        pick = {n: np.flatnonzero((a.resseq == resi) & (a.name == n) & (a.altloc != "B"))[0]
                for n in ("N", "CA", "C", "CB")}
        n, ca, c, cb = (xyz[pick[k]] for k in ("N", "CA", "C", "CB"))
        normal = np.cross(n - ca, c - ca)
        normal /= np.linalg.norm(normal)
        xyz[pick["CB"]] = cb - 2 * np.dot(cb - ca, normal) * normal
        flipped += 1
    s.model.atoms = a.replace(xyz=xyz)
    s.out = io.StringIO()
    s.run("show geometry")
    assert f"warning: {flipped} chiral centres are inverted" in s.out.getvalue()


@pytest.mark.parametrize("sentence, message", [
    ("refine step -5", "cannot be negative"),
    ("make map 3 mask sele all end radius -2", "positive distance"),
    ("refl reso 2 2 phase", "two different limits"),
    ("refl reso 100 50 phase", "no observed reflections"),
])
def test_bad_values_are_refused_and_change_nothing(s, sentence, message):
    before = s.fingerprint()
    with pytest.raises(LangError, match=message):
        s.run(sentence)
    assert s.fingerprint() == before


def _vari(s, name):
    """A variable as SHOW VARI prints it."""
    s.out = io.StringIO()
    s.run("show vari")
    line = next(x for x in s.out.getvalue().splitlines() if x.split()[:1] == [name])
    return float(line.split("=")[1])


def test_r_variables_are_of_the_model_in_hand(s, tmp_path):
    """R_WORK and R_FREE as SHOW VARI prints them and as a sentence reads them follow the
    model: after a kick, and after RESTORE COOR back to the phased one."""
    r0 = s.variables["R_WORK"], s.variables["R_FREE"]
    s.run("save coor; set coor kick 0.5 seed 1 sele all end")
    kicked = _cold_r(s)
    assert kicked[0] > r0[0] + 0.05
    assert _vari(s, "R_WORK") == pytest.approx(kicked[0], abs=2e-4)
    assert _vari(s, "R_FREE") == pytest.approx(kicked[1], abs=2e-4)
    s.run("restore coor")
    s.run("set vari X = R_FREE")                       # a sentence that reads it
    assert float(s.variables["X"]) == pytest.approx(r0[1], abs=2e-4)
    assert _vari(s, "R_WORK") == pytest.approx(r0[0], abs=2e-4)
    s.run("set coor kick 0.5 seed 2 sele all end; save coor; restore coor")
    s.run(f"write coor file {tmp_path / 'k.pdb'}; read coor file {tmp_path / 'k.pdb'}")
    assert s.fmodel is None                            # a model read anew
    assert _vari(s, "R_FREE") == pytest.approx(_cold_r(s)[1], abs=2e-4)


def test_a_partial_file_carries_figures_of_what_it_holds(s, tmp_path):
    """WRITE COOR ... SELE: mean B and the geometry are those of the atoms written, and no
    R-values (they are of the whole model); HYDROGENS OFF: mean B without the H, the
    R-values of the refined model (riding H are part of it)."""
    import gemmi

    from mainpy.restraints import validation
    s.run(f"write coor file {tmp_path / 'part.pdb'} sele resi numb 1 : 10 end")
    st = gemmi.read_structure(str(tmp_path / "part.pdb"))
    b = [a.b_iso for ch in st[0] for r in ch for a in r]
    text = (tmp_path / "part.pdb").read_text()
    assert f"MEAN B VALUE      (OVERALL, A**2) : {np.mean(b):.2f}" in text
    assert "R VALUE" not in text and not st.meta.refinement      # no data section
    atoms = s.atoms
    written = (atoms.resseq >= 1) & (atoms.resseq <= 10)
    assert written.sum() == len(b)
    summ = validation.summary(atoms.xyz, s.restraints, leave_out=~written)
    assert f"(A):     {summ['bond']['count']} ;  {summ['bond']['rmsd']:.3f}" in text
    assert summ["bond"]["count"] < 100                    # not the whole model's 759
    s.run(f"hydrogen add; write coor file {tmp_path / 'noh.pdb'} hydrogens off")
    st = gemmi.read_structure(str(tmp_path / "noh.pdb"))
    b = [a.b_iso for ch in st[0] for r in ch for a in r]
    assert not st[0].has_hydrogen()
    (ri,) = st.meta.refinement
    assert ri.mean_b == pytest.approx(np.mean(b), abs=0.01)
    assert ri.r_free == pytest.approx(s.variables["R_FREE"], abs=1e-4)
