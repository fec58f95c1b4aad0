"""ADP models through the language: TLS groups (defined, refined, written and read back),
deposited ANISOU kept through refinement, SET TEMP ANISO, SHOW ADP."""

import io

import gemmi
import numpy as np
import pytest

from mainpy.errors import MainpyError
from mainpy.session import Session


def _session(data, monlib_dir, model, mtz):
    s = Session(out=io.StringIO())
    s.run(f"read mono {monlib_dir}")
    s.run(f"read coor file {data(model)}")
    s.run(f"read refl file {data(mtz)}")
    s.run("define bond angle dihe impr by topo; ener xray on target ml")
    return s


def _eigen_min(u):
    m = np.empty((len(u), 3, 3))
    for k, (i, j) in enumerate(((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))):
        m[:, i, j] = m[:, j, i] = u[:, k]
    return np.linalg.eigvalsh(m)[:, 0]


def test_tls_groups_defined_refined_written_and_read_back(data, monlib_dir, tmp_path):
    s = _session(data, monlib_dir, "xtal/1d7m/1d7m.pdb", "xtal/1d7m/1d7m.mtz")
    s.run("tls chains")
    assert [g.name for g in s.tls] == ["A", "B"]
    assert s.tls[0].ranges == [("A", 243, 343)]
    with pytest.raises(MainpyError, match="overlaps group"):
        s.run("tls part sele resi numb 250 : 260 .and. segm name A end")
    assert [g.name for g in s.tls] == ["A", "B"]           # the session as it was
    s.run("tls clear; tls tiny sele resi numb 250 : 251 .and. segm name A end")
    with pytest.raises(MainpyError, match="fewer than"):
        s.run("refine b-values tls step 2")
    s.run("tls clear")
    s.run("refine b-values tls step 8")
    assert [g.name for g in s.tls] == ["A", "B"]          # one per chain when none defined
    water = s.atoms.resname == "HOH"
    an = (s.atoms.aniso != 0).any(axis=1)
    assert an[~water].all() and not an[water].any()       # waters keep their own B
    assert all(np.any(g.T) for g in s.tls)                # the tensors refined
    # T and L positive semidefinite (their negative eigenvalues filtered, as phenix)
    from mainpy.model.tls import amplitudes
    assert all(amplitudes(g.T, g.L).positive_semidefinite for g in s.tls)
    # the atoms carry U = U_TLS + B_res / 8 pi^2: nowhere less than U_TLS's B_eq
    from mainpy.model.tls import u_from_tls
    g = s.tls[0]
    rows = (s.atoms.chain == "A") & ~water
    u_tls = u_from_tls(s.atoms.xyz[rows], g.origin, g.T, g.L, g.S)
    b_tls = 8 * np.pi ** 2 * u_tls[:, :3].sum(1) / 3
    assert (s.atoms.b[rows] >= b_tls - 1e-3).all()
    out = io.StringIO()
    s.out = out
    s.run("show adp")
    assert "TLS groups: 2" in out.getvalue() and "libration" in out.getvalue()
    for name in ("t.pdb", "t.cif"):
        path = tmp_path / name
        s.run(f"write coor file {path}")
        back = Session(out=io.StringIO())
        back.run(f"read coor file {path}")
        assert [g.name for g in back.tls] == ["A", "B"]
        for a, b in zip(s.tls, back.tls):
            assert a.ranges == b.ranges
            assert np.allclose(a.origin, b.origin, atol=2e-3)
            assert np.allclose(a.T, b.T, atol=2e-4)
            assert np.allclose(a.L, b.L, atol=2e-4 * (np.pi / 180) ** 2 + 1e-12)
    text = (tmp_path / "t.pdb").read_text()
    assert "REMARK   3  TLS DETAILS" in text
    assert "REMARK   3   NUMBER OF TLS GROUPS  :    2" in text
    # refining the atoms' own ADPs afterwards: the tensors no longer describe them
    s.run("refine b-values step 2")
    assert not any(np.any(g.T) for g in s.tls)
    s.run(f"write coor file {tmp_path / 'u.pdb'}")
    assert "TLS DETAILS" not in (tmp_path / "u.pdb").read_text()


def test_deposited_anisou_kept_through_refinement(data, monlib_dir, tmp_path):
    """5e5z: 46 ANISOU atoms (3 not positive definite as deposited) are refined as
    anisotropic atoms, come out positive definite and are written as ANISOU."""
    s = _session(data, monlib_dir, "xtal/5e5z/5e5z.pdb", "xtal/5e5z/5e5z.mtz")
    an = (s.atoms.aniso != 0).any(axis=1)
    assert an.sum() == 46 and (_eigen_min(s.atoms.aniso[an]) <= 0).sum() == 3
    u0 = s.atoms.aniso.copy()
    s.run("refine position b-values step 20")
    a = s.atoms
    assert ((a.aniso != 0).any(axis=1) == an).all() and not np.allclose(a.aniso[an], u0[an])
    assert (_eigen_min(a.aniso[an]) > 0).all()
    s.run(f"write coor file {tmp_path / 'o.pdb'}")
    st = gemmi.read_structure(str(tmp_path / "o.pdb"))
    written = [at for r in st[0][0] for at in r if at.aniso.nonzero()]
    assert len(written) == 46


def test_set_temp_aniso_and_show_adp(data):
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/1aba/1aba.pdb')}")
    b = s.atoms.b.copy()
    s.run("set temp aniso sele .not resi name HOH end")
    water = s.atoms.resname == "HOH"
    an = (s.atoms.aniso != 0).any(axis=1)
    assert an[~water].all() and not an[water].any()
    assert np.allclose(8 * np.pi ** 2 * s.atoms.aniso[~water, :3], b[~water, None])
    out = io.StringIO()
    s.out = out
    s.run("show adp sele resi name HOH end")
    assert f"{int(water.sum())} atoms" in out.getvalue() and "0 anisotropic" in out.getvalue()
    s.run("set temp sele all end = 20")             # a B value makes the atoms isotropic
    assert (s.atoms.aniso == 0).all() and (s.atoms.b == 20).all()


def test_write_without_anisou(data, tmp_path):
    """WRITE COOR ... ANISO OFF: B_eq in the B column, no ANISOU; the model in memory keeps
    its U."""
    s = Session(out=io.StringIO())
    s.run(f"read coor file {data('xtal/5e5z/5e5z.pdb')}")
    u = s.atoms.aniso.copy()
    s.run(f"write coor file {tmp_path / 'b.pdb'} aniso off; write coor file {tmp_path / 'u.pdb'}")
    text_b, text_u = (tmp_path / "b.pdb").read_text(), (tmp_path / "u.pdb").read_text()
    assert "ANISOU" not in text_b and text_u.count("ANISOU") == 46
    assert np.array_equal(s.atoms.aniso, u)
    st = gemmi.read_structure(str(tmp_path / "b.pdb"))
    b = [a.b_iso for r in st[0][0] for a in r]
    assert np.allclose(b, s.atoms.b, atol=0.01)


def test_auto_makes_anisou_isotropic_on_small_data(data, monlib_dir):
    """5e5z (403 reflections, ANISOU on every atom): AUTO refines isotropic B, because
    its U would leave under one reflection per parameter (refined as they were, R-free
    ended 0.2135 with R-work 0.130; isotropic, 0.1960 with 0.160)."""
    s = _session(data, monlib_dir, "xtal/5e5z/5e5z.pdb", "xtal/5e5z/5e5z.mtz")
    assert (s.atoms.aniso != 0).any(axis=1).sum() > 40
    s.run("refl phase; refine position b-values auto step 2")
    out = s.out.getvalue()
    assert "reflections per parameter with them (< 3): isotropic B" in out
    assert not s.atoms.aniso.any()
