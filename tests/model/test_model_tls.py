"""TLS groups: U from T, L, S; the refinement vector and its gradients; fits; gemmi I/O."""

import gemmi
import numpy as np
import pytest

from mainpy.errors import ScienceError
from mainpy.model import tls


def _random_psd(rng, scale):
    m = rng.normal(size=(3, 3))
    return tls.sym_vector(m @ m.T * scale)


def _random_tls(rng):
    T = _random_psd(rng, 0.05)                      # A^2
    L = _random_psd(rng, 3e-4)                      # rad^2 (~ 1 deg rms)
    S = rng.normal(size=(3, 3)) * 5e-3              # A*rad
    S -= np.eye(3) * np.trace(S) / 3
    return T, L, S.reshape(9)


def _u_loop(xyz, origin, T, L, S):
    """Per-atom loop, written out from U = T + A L A^T + A S + S^T A^T."""
    out = []
    t = np.array([[T[0], T[3], T[4]], [T[3], T[1], T[5]], [T[4], T[5], T[2]]])
    lm = np.array([[L[0], L[3], L[4]], [L[3], L[1], L[5]], [L[4], L[5], L[2]]])
    s = np.asarray(S).reshape(3, 3)
    for p in xyz:
        x, y, z = np.asarray(p) - origin
        a = np.array([[0.0, z, -y], [-z, 0.0, x], [y, -x, 0.0]])
        u = t + a @ lm @ a.T + a @ s + s.T @ a.T
        out.append([u[0, 0], u[1, 1], u[2, 2], u[0, 1], u[0, 2], u[1, 2]])
    return np.array(out)


# ---------------------------------------------------------------- U from TLS

def test_tls_u_matches_per_atom_loop():
    rng = np.random.default_rng(3)
    xyz = rng.uniform(-10, 10, (25, 3))
    origin = rng.normal(size=3)
    T, L, S = _random_tls(rng)
    S = S + rng.normal(size=9) * 1e-3               # also with a trace
    np.testing.assert_allclose(tls.u_from_tls(xyz, origin, T, L, S),
                               _u_loop(xyz, origin, T, L, S), rtol=0, atol=1e-14)


def test_tls_u_matches_gemmi_calculate_u_from_tls():
    """gemmi (used by servalcat for REFMAC output) takes L in deg^2, S in A*deg as in files."""
    rng = np.random.default_rng(4)
    xyz = rng.uniform(-15, 15, (10, 3))
    origin = rng.normal(size=3) * 5
    T, L, S = _random_tls(rng)
    S = S + rng.normal(size=9) * 2e-3
    g = gemmi.TlsGroup()
    g.origin = gemmi.Position(*origin)
    g.T = gemmi.SMat33d(*T)
    g.L = gemmi.SMat33d(*(L / tls.L_SCALE))
    g.S = gemmi.Mat33((S.reshape(3, 3) / tls.S_SCALE).tolist())
    ref = np.array([gemmi.calculate_u_from_tls(g, gemmi.Position(*p)).elements_pdb()
                    for p in xyz])
    np.testing.assert_allclose(tls.u_from_tls(xyz, origin, T, L, S), ref, rtol=0, atol=1e-13)
    # S transposed would be a different model
    assert np.abs(tls.u_from_tls(xyz, origin, T, L, S.reshape(3, 3).T) - ref).max() > 1e-3


def test_tls_pure_libration_about_z():
    r, l33 = 7.5, 2e-3
    u = tls.u_from_tls([[r, 0.0, 0.0]], np.zeros(3), np.zeros(6),
                       [0, 0, l33, 0, 0, 0], np.zeros(9))[0]
    assert u[1] == pytest.approx(l33 * r * r, rel=1e-14)          # tangential
    np.testing.assert_allclose(u[[0, 2, 3, 4, 5]], 0.0, atol=1e-18)  # radial, axial, cross


def test_tls_trace_of_s_and_pack_round_trip():
    rng = np.random.default_rng(5)
    xyz = rng.uniform(-10, 10, (20, 3))
    origin = xyz.mean(axis=0)
    T, L, S = _random_tls(rng)
    S_tr = S + 0.01 * np.eye(3).reshape(9)                         # trace 0.03 A*rad
    u = tls.u_from_tls(xyz, origin, T, L, S_tr)
    np.testing.assert_allclose(tls.u_from_tls(xyz, origin, T, L, S), u, atol=1e-15)
    p = tls.pack(T, L, S_tr)
    assert p.shape == (tls.N_PARAMS,)
    T2, L2, S2 = tls.unpack(p)
    assert np.trace(S2.reshape(3, 3)) == pytest.approx(0.0, abs=1e-18)
    np.testing.assert_allclose(T2, T, atol=1e-15)
    np.testing.assert_allclose(L2, L, atol=1e-18)
    np.testing.assert_allclose(S2, S, atol=1e-16)
    np.testing.assert_allclose(tls.u_from_params(xyz, origin, p), u, atol=1e-15)
    # the packed units are degrees: L ~ 1 deg^2 scale, not 1e-4
    assert np.abs(p[6:12]).max() > 0.05


# ---------------------------------------------------------------- gradients

def _target(u, w):
    return float(np.sum(w * u) + 0.5 * np.sum(u * u))


def _dtarget(u, w):
    return w + u


def test_tls_gradient_by_finite_differences():
    rng = np.random.default_rng(6)
    xyz = rng.uniform(0, 20, (40, 3))
    origin = xyz.mean(axis=0) + 0.3
    p = tls.pack(*_random_tls(rng))
    w = rng.normal(size=(40, 6))
    dp = tls.gradient(xyz, origin, p, _dtarget(tls.u_from_params(xyz, origin, p), w))
    h = 1e-3
    num = np.empty(tls.N_PARAMS)
    for k in range(tls.N_PARAMS):
        e = np.zeros(tls.N_PARAMS)
        e[k] = h
        num[k] = (_target(tls.u_from_params(xyz, origin, p + e), w)
                  - _target(tls.u_from_params(xyz, origin, p - e), w)) / (2 * h)
    rel = np.abs(num - dp) / np.maximum(np.abs(dp), 1e-3 * np.abs(dp).max())
    assert rel.max() <= 1e-6


def test_tls_xyz_gradient_by_finite_differences():
    rng = np.random.default_rng(7)
    xyz = rng.uniform(0, 20, (15, 3))
    origin = xyz.mean(axis=0)
    T, L, S = _random_tls(rng)
    p = tls.pack(T, L, S * 5)                       # a larger screw so that S counts
    w = rng.normal(size=(15, 6))
    g = tls.xyz_gradient(xyz, origin, p, _dtarget(tls.u_from_params(xyz, origin, p), w))
    h = 1e-4
    num = np.empty_like(xyz)
    for i in range(len(xyz)):
        for c in range(3):
            xp, xm = xyz.copy(), xyz.copy()
            xp[i, c] += h
            xm[i, c] -= h
            num[i, c] = (_target(tls.u_from_params(xp, origin, p), w)
                         - _target(tls.u_from_params(xm, origin, p), w)) / (2 * h)
    rel = np.abs(num - g) / np.maximum(np.abs(g), 1e-3 * np.abs(g).max())
    assert rel.max() <= 1e-6


# ---------------------------------------------------------------- fits and origins

def test_tls_fit_recovers_tls():
    rng = np.random.default_rng(8)
    xyz = rng.uniform(0, 20, (30, 3))
    T, L, S = _random_tls(rng)
    origin = xyz.mean(axis=0)
    u = tls.u_from_tls(xyz, origin, T, L, S)
    o2, T2, L2, S2 = tls.fit_tls(xyz, u)
    np.testing.assert_allclose(o2, origin, atol=1e-12)
    np.testing.assert_allclose(T2, T, rtol=0, atol=1e-8)
    np.testing.assert_allclose(L2 / tls.L_SCALE, L / tls.L_SCALE, rtol=0, atol=1e-8)  # deg^2
    np.testing.assert_allclose(S2 / tls.S_SCALE, S / tls.S_SCALE, rtol=0, atol=1e-8)  # A*deg
    np.testing.assert_allclose(tls.u_from_tls(xyz, o2, T2, L2, S2), u, atol=1e-12)


def test_tls_fit_at_another_origin_equals_shift_origin():
    rng = np.random.default_rng(9)
    xyz = rng.uniform(0, 20, (25, 3))
    T, L, S = _random_tls(rng)
    origin = xyz.mean(axis=0)
    u = tls.u_from_tls(xyz, origin, T, L, S)
    other = np.array([3.0, -4.0, 12.0])
    o2, T2, L2, S2 = tls.fit_tls(xyz, u, origin=other)
    T3, L3, S3 = tls.shift_origin(origin, T, L, S, other)
    np.testing.assert_allclose(o2, other)
    np.testing.assert_allclose(T2, T3, atol=1e-9)
    np.testing.assert_allclose(L2, L3, atol=1e-12)
    np.testing.assert_allclose(S2, S3, atol=1e-11)
    np.testing.assert_allclose(tls.u_from_tls(xyz, other, T3, L3, S3), u, atol=1e-12)


def test_tls_centre_of_reaction_makes_s_symmetric():
    rng = np.random.default_rng(10)
    xyz = rng.uniform(0, 20, (20, 3))
    T, L, S = _random_tls(rng)
    origin = xyz.mean(axis=0)
    c = tls.centre_of_reaction(origin, T, L, S)
    Tc, Lc, Sc = tls.shift_origin(origin, T, L, S, c)
    sc = Sc.reshape(3, 3)
    np.testing.assert_allclose(sc, sc.T, atol=1e-14)
    assert np.abs(S.reshape(3, 3) - S.reshape(3, 3).T).max() > 1e-3   # it was not
    np.testing.assert_allclose(tls.u_from_tls(xyz, c, Tc, Lc, Sc),
                               tls.u_from_tls(xyz, origin, T, L, S), atol=1e-12)


def test_tls_from_b_is_isotropic_mean():
    xyz = np.array([[0.0, 0, 0], [2.0, 0, 0], [0, 4.0, 0]])
    origin, T, L, S = tls.tls_from_b(xyz, [10.0, 20.0, 30.0])
    np.testing.assert_allclose(origin, [2 / 3, 4 / 3, 0])
    u = 20.0 / (8 * np.pi ** 2)
    np.testing.assert_allclose(T, [u, u, u, 0, 0, 0])
    assert not L.any() and not S.any()
    np.testing.assert_allclose(tls.u_from_tls(xyz, origin, T, L, S)[:, 0] * tls.U_TO_B, 20.0)


def test_tls_amplitudes_and_psd_fix():
    rot = np.linalg.qr(np.random.default_rng(11).normal(size=(3, 3)))[0]
    T = tls.sym_vector(rot @ np.diag([0.04, 0.01, 0.09]) @ rot.T)
    L = tls.sym_vector(rot @ np.diag([-1.0, 4.0, 9.0]) @ rot.T) * tls.L_SCALE
    a = tls.amplitudes(T, L)
    np.testing.assert_allclose(a.t_rms, [0.1, 0.2, 0.3], atol=1e-12)
    np.testing.assert_allclose(a.l_rms_deg, [0.0, 2.0, 3.0], atol=1e-10)
    assert a.l_eigenvalues[0] == pytest.approx(-tls.L_SCALE)
    assert not a.positive_semidefinite
    np.testing.assert_allclose(np.abs(a.t_axes.T @ rot).max(axis=1), 1.0, atol=1e-12)
    T2, L2 = tls.positive_semidefinite_fix(T, L)
    b = tls.amplitudes(T2, L2)
    assert b.positive_semidefinite
    np.testing.assert_allclose(T2, T, atol=1e-15)
    np.testing.assert_allclose(b.l_eigenvalues / tls.L_SCALE, [0.0, 4.0, 9.0], atol=1e-10)


# ---------------------------------------------------------------- groups and files

def _small_structure():
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(40, 40, 40, 90, 90, 90)
    st.spacegroup_hm = "P 1"
    model = gemmi.Model("1")
    for name, nums in (("A", range(1, 6)), ("B", range(-2, 3))):
        ch = gemmi.Chain(name)
        for i, num in enumerate(nums):
            res = gemmi.Residue()
            res.name = "GLY"
            res.seqid = gemmi.SeqId(num, " ")
            atom = gemmi.Atom()
            atom.name = "CA"
            atom.element = gemmi.Element("C")
            atom.pos = gemmi.Position(3.8 * i, 1.0 + (name == "B") * 8, 0.5 * i)
            atom.b_iso = 20.0
            atom.occ = 1.0
            res.add_atom(atom)
            ch.add_residue(res)
        model.add_chain(ch)
    st.add_model(model)
    st.setup_entities()
    return st


def _groups(rng):
    g1 = tls.TlsGroup("1", [("A", 1, 3), ("A", 5, 5)], np.array([4.1234, -1.5, 10.25]),
                      *_random_tls(rng))
    g2 = tls.TlsGroup("2", [("B", None, None)], np.array([-3.0, 2.0, 1.0]),
                      *_random_tls(rng))
    return [g1, g2]


def _assert_same_groups(got, want, atol_t, atol_deg):
    assert [g.name for g in got] == [g.name for g in want]
    for g, w in zip(got, want):
        assert g.ranges == w.ranges
        np.testing.assert_allclose(g.origin, w.origin, rtol=0, atol=atol_t)
        np.testing.assert_allclose(g.T, w.T, rtol=0, atol=atol_t)
        np.testing.assert_allclose(g.L / tls.L_SCALE, w.L / tls.L_SCALE, rtol=0, atol=atol_deg)
        np.testing.assert_allclose(g.S / tls.S_SCALE, w.S / tls.S_SCALE, rtol=0, atol=atol_deg)


def test_tls_pdb_round_trip(tmp_path):
    st = _small_structure()
    groups = _groups(np.random.default_rng(12))
    tls.groups_to_structure(st, groups)
    path = tmp_path / "tls.pdb"
    st.write_pdb(str(path))
    text = path.read_text()
    assert "REMARK   3    RESIDUE RANGE :   A     1        A     3" in text
    assert "REMARK   3    SELECTION: chain B" in text
    assert all(len(ln) == 80 for ln in text.splitlines() if ln.startswith("REMARK"))
    back = tls.groups_from_structure(gemmi.read_structure(str(path)))
    _assert_same_groups(back, groups, 5.01e-5, 5.01e-5)        # 4 decimals in the file


def test_tls_mmcif_round_trip(tmp_path):
    st = _small_structure()
    groups = _groups(np.random.default_rng(13))
    tls.groups_to_structure(st, groups)
    path = tmp_path / "tls.cif"
    st.make_mmcif_document().write_file(str(path))
    text = path.read_text()
    assert "_pdbx_refine_tls.L[1][1]" in text and "_pdbx_refine_tls_group.beg_auth_seq_id" in text
    back = tls.groups_from_structure(gemmi.read_structure(str(path)))
    _assert_same_groups(back, groups, 1e-7, 1e-7)        # gemmi writes 9 significant digits


def test_tls_reads_refmac_remark3():
    lines = [
        "REMARK   3  DATA USED IN REFINEMENT.",
        "REMARK   3  TLS DETAILS",
        "REMARK   3   NUMBER OF TLS GROUPS  :    1",
        "REMARK   3",
        "REMARK   3   TLS GROUP :     1",
        "REMARK   3    NUMBER OF COMPONENTS GROUP :    1",
        "REMARK   3    COMPONENTS        C SSSEQI   TO  C SSSEQI",
        "REMARK   3    RESIDUE RANGE :   A     2        A     8",
        "REMARK   3    ORIGIN FOR THE GROUP (A):  17.3300  62.7550  29.2560",
        "REMARK   3    T TENSOR",
        "REMARK   3      T11:   0.0798 T22:   0.0357",
        "REMARK   3      T33:   0.0678 T12:   0.0530",
        "REMARK   3      T13:  -0.0070 T23:   0.0011",
        "REMARK   3    L TENSOR",
        "REMARK   3      L11:  13.1074 L22:   7.9735",
        "REMARK   3      L33:   2.5703 L12:  -6.5507",
        "REMARK   3      L13:   1.0000 L23:   2.0000",
        "REMARK   3    S TENSOR",
        "REMARK   3      S11:  -0.0166 S12:   0.0203 S13:  -0.0127",
        "REMARK   3      S21:   0.0345 S22:   0.0135 S23:  -0.0215",
        "REMARK   3      S31:  -0.0011 S32:   0.0159 S33:   0.0031",
        "ATOM      1  CA  GLY A   3       1.000   2.000   0.500  1.00 20.00           C",
        "END"]
    g, = tls.groups_from_structure(gemmi.read_pdb_string("\n".join(lines) + "\n"))
    assert g.name == "1" and g.ranges == [("A", 2, 8)]
    np.testing.assert_allclose(g.origin, [17.33, 62.755, 29.256])
    np.testing.assert_allclose(g.T, [0.0798, 0.0357, 0.0678, 0.0530, -0.0070, 0.0011])
    np.testing.assert_allclose(g.L, np.array([13.1074, 7.9735, 2.5703, -6.5507, 1, 2])
                               * (np.pi / 180) ** 2)
    np.testing.assert_allclose(g.S[[1, 3, 8]], np.array([0.0203, 0.0345, 0.0031]) * np.pi / 180)


def test_tls_remark3_block_replaced_in_real_file(data, tmp_path):
    st = gemmi.read_structure(str(data("xtal/1aba/1aba.pdb")))
    before = [r for r in st.raw_remarks if r.startswith("REMARK   3")]
    chain = st[0][0].name
    nums = [r.seqid.num for r in st[0][0]]
    rng = np.random.default_rng(14)
    for k in range(2):                        # second write replaces the first block
        groups = [tls.TlsGroup(str(k + 1), [(chain, nums[0], nums[len(nums) // 2])],
                               np.array([10.0, 20.0, 30.0]), *_random_tls(rng))]
        tls.groups_to_structure(st, groups)
        path = tmp_path / f"1aba_{k}.pdb"
        st.write_pdb(str(path))
        st = gemmi.read_structure(str(path))
        assert path.read_text().count("TLS DETAILS") == 1
        _assert_same_groups(tls.groups_from_structure(st), groups, 5.01e-5, 5.01e-5)
    after = [r for r in st.raw_remarks if r.startswith("REMARK   3")]
    kept = [r for r in before if "TLS" not in r and r.strip() != "REMARK   3"]
    assert all(r in after for r in kept)      # the other REMARK 3 lines survive


def test_tls_atom_groups():
    chain = np.array(["A", "A", "A", "B", "B", "C"])
    resseq = np.array([1, 4, 9, -1, 7, 3])
    groups = [tls.TlsGroup("1", [("A", 1, 4)]),
              tls.TlsGroup("2", [("B", None, 0), ("A", 9, 9)]),
              tls.TlsGroup("3", [("A", None, None)])]      # A 1..4 already in group 1
    np.testing.assert_array_equal(tls.atom_groups(chain, resseq, groups), [0, 0, 1, 1, -1, -1])
    everything = tls.TlsGroup("all", tls.parse_selection_text("ALL"))
    np.testing.assert_array_equal(tls.atom_groups(chain, resseq, [everything]), 0)
    with pytest.raises(ScienceError, match="name CA"):
        tls.atom_groups(chain, resseq, [tls.TlsGroup("x", [], text="chain A and name CA")])


def test_tls_parse_phenix_selection_text():
    assert tls.parse_selection_text("chain A and resseq 1:50") == [("A", 1, 50)]
    assert tls.parse_selection_text("(chain 'B' and resid -5 through 7) or (chain C)") == \
        [("B", -5, 7), ("C", None, None)]
    assert tls.parse_selection_text("chain A and (resid 1:5 or resid 7:9)") is None
    r = [("A", 1, 5), ("B", None, None)]
    assert tls.parse_selection_text(tls.selection_text(r)) == r
