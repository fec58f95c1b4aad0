"""What deposited data files bring and reading must not pass over in silence: sigmas of
zero, negative amplitudes, repeated reflections, flags stored as reals or missing for
part of the data, several datasets in an MTZ, several blocks in an SF mmCIF, a model
without CRYST1, a model file of several MODELs. Each file is the shared 1aba data with
that one change, made here with gemmi."""

import io

import gemmi
import numpy as np
import pytest

from mainpy.errors import InputError
from mainpy.session import Session
from mainpy.xtal.reflections import read_reflections


@pytest.fixture(scope="module")
def source(data):
    """1aba's columns: hkl, FP, SIGFP, FreeR_flag, and its cell and space group."""
    mtz = gemmi.read_mtz_file(str(data("xtal/1aba/1aba.mtz")))
    a = np.array(mtz, copy=True)
    return {"hkl": a[:, :3], "F": a[:, 3].astype(float), "S": a[:, 4].astype(float),
            "R": a[:, 5].astype(float), "cell": mtz.cell, "sg": mtz.spacegroup}


def write_mtz(path, src, cols, datasets=("1aba",), cells=None, hkl=None):
    """An MTZ of (label, type, values, dataset index) columns on the source's indices."""
    m = gemmi.Mtz(with_base=True)
    m.spacegroup = src["sg"]
    m.set_cell_for_all(src["cell"])
    for i, name in enumerate(datasets):
        ds = m.add_dataset(name)
        ds.crystal_name = name + "_xtal"
        if cells is not None:
            ds.cell = cells[i]
    for label, ctype, _, k in cols:
        m.add_column(label, ctype, dataset_id=k + 1)
    h = src["hkl"] if hkl is None else hkl
    m.set_data(np.column_stack([h] + [c[2] for c in cols]).astype(np.float32))
    m.update_reso()
    m.write_to_file(str(path))
    return str(path)


def plain(src, F=None, S=None, R=None, flag_type="I"):
    return [("FP", "F", src["F"] if F is None else F, 0),
            ("SIGFP", "Q", src["S"] if S is None else S, 0),
            ("FreeR_flag", flag_type, src["R"] if R is None else R, 0)]


def test_zero_sigmas_and_negative_amplitudes_are_left_out_and_said(source, tmp_path, data):
    rng = np.random.default_rng(1)
    obs = np.isfinite(source["F"]) & (source["F"] > 0)
    zero = obs & (rng.random(len(obs)) < 0.02)
    neg = obs & ~zero & (rng.random(len(obs)) < 0.02)
    S = np.where(zero, 0.0, source["S"])
    F = np.where(neg, -source["F"], source["F"])
    r = read_reflections(write_mtz(tmp_path / "q.mtz", source, plain(source, F=F, S=S)))
    assert not r.observed[zero].any() and not r.observed[neg].any()
    assert r.observed.sum() == (obs & ~zero & ~neg).sum()
    text = " ".join(r.notes)
    assert f"{zero.sum()} reflections with SIGFP <= 0 left out" in text
    assert f"{neg.sum()} reflections with FP < 0 left out" in text
    # no infinite weights: the least-squares target and R-values stay numbers
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}; read refl file {tmp_path / 'q.mtz'}")
    s.run("refl phase; ener xray on target lsq; define bond angle by topo; "
          "refine b-values step 2")
    assert np.isfinite(s.variables.get("R_FREE")) and "not a number" not in s.out.getvalue()


def test_repeated_reflections_are_merged_by_their_weights(source, tmp_path):
    obs = np.flatnonzero(np.isfinite(source["F"]))[:50]
    hkl = np.vstack([source["hkl"], source["hkl"][obs]])
    F = np.r_[source["F"], source["F"][obs] * 1.2]
    S = np.r_[source["S"], source["S"][obs] * 2.0]
    R = np.r_[source["R"], np.full(len(obs), 7.0)]
    src = dict(source, hkl=hkl)
    r = read_reflections(write_mtz(tmp_path / "dup.mtz", src, plain(src, F=F, S=S, R=R)))
    one = read_reflections(write_mtz(tmp_path / "one.mtz", source, plain(source)))
    assert len(r) == len(one) and len(np.unique(r.hkl, axis=0)) == len(r)   # one row each
    assert "50 reflections occur more than once" in " ".join(r.notes)
    # weights 1/s^2 and 1/(2s)^2: the mean is (F + 1.2 F / 4) / (1 + 1/4) = 1.04 F
    key = {tuple(h): k for k, h in enumerate(one.hkl)}
    rows = [key[tuple(h)] for h in r.hkl[-5:]]
    j = key[tuple(source["hkl"][obs[0]].astype(int))]
    k = [i for i, h in enumerate(r.hkl) if key[tuple(h)] == j][0]
    assert r.fobs[k] == pytest.approx(1.04 * one.fobs[j], rel=1e-4)
    assert r.sigf[k] == pytest.approx(one.sigf[j] / np.sqrt(1.25), rel=1e-4)
    assert r.flags[k] == one.flags[j]             # the first one's flag, not 7
    assert np.array_equal(r.fobs[-5:], one.fobs[rows], equal_nan=True)


def test_flags_stored_as_reals_are_read_as_flags(source, tmp_path):
    r = read_reflections(write_mtz(tmp_path / "r.mtz", source, plain(source, flag_type="R")))
    ref = read_reflections(write_mtz(tmp_path / "i.mtz", source, plain(source)))
    assert np.array_equal(r.free, ref.free) and r.test.sum() == 808
    assert "stored as reals" in " ".join(r.notes)
    # named explicitly, too
    r = read_reflections(tmp_path / "r.mtz", free="FreeR_flag")
    assert np.array_equal(r.free, ref.free)


def test_reflections_without_a_flag_get_one_at_the_sets_fraction(source, tmp_path):
    d = source["cell"].calculate_d_array(source["hkl"].astype(np.int32))
    R = np.where(d < 1.8, np.nan, source["R"])
    path = write_mtz(tmp_path / "ext.mtz", source, plain(source, R=R))
    r = read_reflections(path)
    kept = d >= 1.8
    assert np.array_equal(r.free[kept], (source["R"] == 0)[kept])   # the file's set as it was
    new = ~kept & r.observed
    frac = r.test[kept].sum() / r.observed[kept].sum()
    assert abs(r.test[new].sum() / new.sum() - frac) < 0.01           # the set's own fraction
    assert np.isfinite(r.flags).all()                                 # written out complete
    assert f"{new.sum()} observed reflections (1.80-1.45 A) had no flag" in r.free_note
    again = read_reflections(path)
    assert np.array_equal(again.free, r.free)                         # seeded: the same set


def test_of_several_datasets_the_models_crystal_is_taken(source, tmp_path, data):
    deriv = gemmi.UnitCell(30.5, 48.1, 61.9, 90, 90, 90)
    rng = np.random.default_rng(2)
    Fd = source["F"] * 1.3 * (1 + 0.15 * rng.standard_normal(len(source["F"])))
    path = write_mtz(tmp_path / "two.mtz", source,
                     [("F_deriv", "F", Fd, 0), ("SIGF_deriv", "Q", source["S"], 0),
                      ("F_nat", "F", source["F"], 1), ("SIGF_nat", "Q", source["S"], 1),
                      ("FreeR_flag", "I", source["R"], 1)],
                     datasets=("deriv", "native"), cells=[deriv, source["cell"]])
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    r = read_reflections(path, crystal=(st.cell, st.find_spacegroup()))
    assert r.labels["fobs"] == "F_nat"
    assert r.cell.parameters == pytest.approx(source["cell"].parameters)
    text = " ".join(r.notes)
    assert "'native'" in text and "not used: 'deriv'" in text and "closest" in text
    # without a model: the first, said so, with its own dataset's cell
    r = read_reflections(path)
    assert r.labels["fobs"] == "F_deriv" and "F_nat" in " ".join(r.notes)
    assert r.cell.parameters[0] == pytest.approx(30.5)
    # intensities beside amplitudes are named too
    r = read_reflections(data("xtal/5e5z/5e5z.mtz"))
    assert any("also in the file: I (intensities)" in n for n in r.notes)


def _two_blocks(data, tmp_path, first_cell):
    """An SF mmCIF of two blocks: another crystal's first, then 1aba's."""
    mtz = gemmi.read_mtz_file(str(data("xtal/1aba/1aba.mtz")))
    doc = gemmi.cif.Document()
    own = gemmi.UnitCell(*mtz.cell.parameters)
    for name, cell in (("rotherf", first_cell), ("r1abasf", own)):
        mtz.set_cell_for_all(cell)
        block = gemmi.MtzToCif().write_cif_to_string(mtz)
        b = gemmi.cif.read_string(block).sole_block()
        b.name = name
        doc.add_copied_block(b)
    path = tmp_path / "two-sf.cif"
    doc.write_file(str(path))
    return str(path)


def test_of_several_mmcif_blocks_the_models_crystal_is_taken(data, tmp_path):
    path = _two_blocks(data, tmp_path, gemmi.UnitCell(40.0, 50.0, 70.0, 90, 90, 90))
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    r = read_reflections(path, crystal=(st.cell, st.find_spacegroup()))
    assert r.cell.parameters == pytest.approx(st.cell.parameters, abs=1e-3)
    assert "'r1abasf' (2 of 2" in " ".join(r.notes)
    r = read_reflections(path, block="rotherf", crystal=(st.cell, st.find_spacegroup()))
    assert r.cell.parameters[0] == pytest.approx(40.0)
    with pytest.raises(InputError, match="no reflection block 'nope'.*rotherf, r1abasf"):
        read_reflections(path, block="nope")
    with pytest.raises(InputError, match="BLOCK chooses a data block of an mmCIF"):
        read_reflections(data("xtal/1aba/1aba.mtz"), block="r1abasf")


def test_a_model_without_cryst1_takes_the_datas_crystal(data, tmp_path):
    lines = [ln for ln in open(data("xtal/1aba/1aba.pdb")) if not ln.startswith("CRYST1")]
    (tmp_path / "nocryst.pdb").write_text("".join(lines))
    s = Session(out=io.StringIO())
    s.run(f"read coor file {tmp_path / 'nocryst.pdb'}; read refl file {data('xtal/1aba/1aba.mtz')}")
    assert "has no cell or space group: the data's taken (P 21 21 21" in s.out.getvalue()
    assert s.model.spacegroup.hm == "P 21 21 21"
    assert s.model.cell.parameters == pytest.approx((30.2, 47.8, 61.3, 90, 90, 90), abs=1e-3)
    s.run("refl phase")
    assert s.variables.get("R_FREE") < 0.22


def test_a_second_model_is_said_to_be_left_out(data, tmp_path):
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    st.add_model(st[0].clone())
    st.renumber_models()
    st.write_pdb(str(tmp_path / "two.pdb"))
    s = Session(out=io.StringIO())
    s.run(f"read coor file {tmp_path / 'two.pdb'}")
    assert "holds 2 models (MODEL records): the first (1) read, the other 1 left out" \
        in s.out.getvalue()
    assert len(s.atoms) == 880


def test_a_crystal_taken_and_then_refused_leaves_the_model_as_it_was(data, tmp_path):
    """A CRYST1 with a cell but no space group: the data's group is taken, then their cell
    is found to differ; the sentence fails and the model keeps what it had."""
    lines = []
    for ln in open(data("xtal/1aba/1aba.pdb")):
        if ln.startswith("CRYST1"):
            ln = f"CRYST1{40.0:9.3f}{50.0:9.3f}{60.0:9.3f}{90:7.2f}{90:7.2f}{90:7.2f}\n"
        lines.append(ln)
    (tmp_path / "nosg.pdb").write_text("".join(lines))
    s = Session(out=io.StringIO())
    s.run(f"read coor file {tmp_path / 'nosg.pdb'}")
    assert s.model.spacegroup is None
    before = s.fingerprint()
    with pytest.raises(Exception, match="differs from the cell"):
        s.run(f"read refl file {data('xtal/1aba/1aba.mtz')}")
    assert s.model.spacegroup is None and s.reflections is None
    assert s.fingerprint() == before
