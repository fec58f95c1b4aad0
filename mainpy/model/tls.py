"""TLS (translation/libration/screw) groups: the ADPs of a rigid body from 20 numbers.

A group moves as a rigid body; the U of an atom at x is (Schomaker & Trueblood)

    U = T + A L A^T + A S + S^T A^T,   A = [[0, z, -y], [-z, 0, x], [y, -x, 0]]

with (x, y, z) = x - origin. This is the convention of REFMAC, phenix (cctbx
`uaniso_from_tls`) and gemmi (`calculate_u_from_tls`): S is used as written in
PDB REMARK 3 / mmCIF _pdbx_refine_tls, S[i][j] = "Sij" (row i, column j).

Units. Internally T is in A^2, L in rad^2, S in A*rad, the origin in A. Symmetric
tensors are 6 numbers (11 22 33 12 13 23, the ANISOU order); S is the full 3x3 matrix,
9 numbers row-major. Files (and gemmi's TlsGroup) hold L in deg^2 and S in A*deg; the
I/O functions here convert.

Trace of S. Adding t*I to S leaves every U unchanged, so tr(S) is not determined by
the data. The refinement vector (`pack`) keeps S trace-free: it subtracts tr(S)/3 from
the diagonal (which changes no U) and stores 8 elements, S33 = -(S11 + S22).
`u_from_tls` uses S exactly as given (as REFMAC and gemmi do; phenix, which writes
trace-free S, would recompute S33 = -(S11 + S22) before use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import gemmi
import numpy as np

from mainpy.errors import ScienceError

#: L in the parameter vector is in deg^2: L_rad2 = p * L_SCALE
L_SCALE = (np.pi / 180.0) ** 2
#: S in the parameter vector is in A*deg: S_Arad = p * S_SCALE
S_SCALE = np.pi / 180.0
#: B = U_TO_B * U
U_TO_B = 8.0 * np.pi ** 2
#: number of refined values per group: 6 T, 6 L, 8 trace-free S
N_PARAMS = 20

_SYM_INDEX = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


# ---------------------------------------------------------------- small helpers

def sym_matrix(v) -> np.ndarray:
    """3x3 (or (n,3,3)) symmetric matrix from 6 stored elements 11 22 33 12 13 23."""
    v = np.asarray(v, dtype=np.float64)
    m = np.empty(v.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(_SYM_INDEX):
        m[..., i, j] = v[..., k]
        m[..., j, i] = v[..., k]
    return m


def sym_vector(m) -> np.ndarray:
    """6 stored elements 11 22 33 12 13 23 of a symmetric 3x3 (or (n,3,3)) matrix."""
    m = np.asarray(m, dtype=np.float64)
    return np.stack([m[..., i, j] for i, j in _SYM_INDEX], axis=-1)


def _a_matrices(xyz, origin) -> np.ndarray:
    """(n,3,3) antisymmetric A of r = x - origin, as in the module docstring."""
    r = np.asarray(xyz, dtype=np.float64).reshape(-1, 3) - np.asarray(origin, dtype=np.float64)
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    a = np.zeros((len(r), 3, 3))
    a[:, 0, 1], a[:, 0, 2] = z, -y
    a[:, 1, 0], a[:, 1, 2] = -z, x
    a[:, 2, 0], a[:, 2, 1] = y, -x
    return a


def _g_matrices(du) -> np.ndarray:
    """Matrix form G of d(target)/dU given per stored element: df = tr(G dU).

    u12 is stored once but sits in two matrix entries, so G12 = G21 = df/du12 / 2.
    """
    g = sym_matrix(du)
    g[..., [0, 0, 1], [1, 2, 2]] *= 0.5
    g[..., [1, 2, 2], [0, 0, 1]] *= 0.5
    return g


# ---------------------------------------------------------------- U from TLS

def u_from_tls(xyz, origin, T, L, S) -> np.ndarray:
    """(n,6) U of each atom (A^2) from T (A^2), L (rad^2), S (A*rad, 9 or 3x3)."""
    a = _a_matrices(xyz, origin)
    s = np.asarray(S, dtype=np.float64).reshape(3, 3)
    al = a @ sym_matrix(L)
    a_s = a @ s
    u = al @ a.transpose(0, 2, 1) + a_s + a_s.transpose(0, 2, 1)
    return sym_vector(u) + np.asarray(T, dtype=np.float64)


# ---------------------------------------------------------------- parameter vector

def pack(T, L, S) -> np.ndarray:
    """The 20 refined values: T (A^2), L (deg^2), trace-free S (A*deg, 8 elements).

    Degrees make the magnitudes comparable for L-BFGS: for atoms ~10 A from the origin
    dU/dp is about 1 (T), 0.03 (L), 0.35 (S) instead of 1, 100, 20 in radians.
    Order: T11 T22 T33 T12 T13 T23, L (same), S11 S12 S13 S21 S22 S23 S31 S32
    (S33 = -(S11 + S22)). S loses its trace, which changes no U.
    """
    s = np.asarray(S, dtype=np.float64).reshape(3, 3)
    s = s - np.eye(3) * (np.trace(s) / 3.0)
    return np.concatenate([np.asarray(T, dtype=np.float64).reshape(6),
                           np.asarray(L, dtype=np.float64).reshape(6) / L_SCALE,
                           s.reshape(9)[:8] / S_SCALE])


def unpack(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T (6,) A^2, L (6,) rad^2, S (9,) A*rad with S33 = -(S11 + S22)) from `pack`'s vector."""
    p = np.asarray(p, dtype=np.float64)
    s = np.empty(9)
    s[:8] = p[12:20] * S_SCALE
    s[8] = -(s[0] + s[4])
    return p[0:6].copy(), p[6:12] * L_SCALE, s


def u_from_params(xyz, origin, p) -> np.ndarray:
    """(n,6) U from the parameter vector of `pack`."""
    return u_from_tls(xyz, origin, *unpack(p))


def gradient(xyz, origin, p, dU) -> np.ndarray:
    """d(target)/dp (20,) from d(target)/dU (n,6), per stored U element (u12 once).

    U is linear in p, so the result does not depend on p (taken for a uniform call).
    """
    du = np.asarray(dU, dtype=np.float64).reshape(-1, 6)
    a = _a_matrices(xyz, origin)
    atg = a.transpose(0, 2, 1) @ _g_matrices(du)           # A^T G per atom
    h_l = np.einsum("nij,njk->ik", atg, a)                  # sum A^T G A: df/dL (matrix)
    g_s = 2.0 * atg.sum(axis=0)                             # df/dS (all 9 entries)
    d_l = sym_vector(h_l)
    d_l[3:] *= 2.0                                          # L12 stored once, twice in L
    d_s = g_s.reshape(9)[:8].copy()
    d_s[0] -= g_s[2, 2]                                     # S33 = -(S11 + S22)
    d_s[4] -= g_s[2, 2]
    return np.concatenate([du.sum(axis=0), d_l * L_SCALE, d_s * S_SCALE])


def xyz_gradient(xyz, origin, p, dU) -> np.ndarray:
    """(n,3) d(target)/dx through U(x): the TLS part of the coordinate gradient.

    The gradient with respect to the origin is minus the sum of these rows.
    """
    T, L, S = unpack(p)
    a = _a_matrices(xyz, origin)
    g = _g_matrices(np.asarray(dU, dtype=np.float64).reshape(-1, 6))
    m = sym_matrix(L) @ a.transpose(0, 2, 1) @ g + S.reshape(3, 3) @ g
    return 2.0 * np.stack([m[:, 2, 1] - m[:, 1, 2],
                           m[:, 0, 2] - m[:, 2, 0],
                           m[:, 1, 0] - m[:, 0, 1]], axis=1)


# ---------------------------------------------------------------- starting values

def _centre(xyz, origin) -> np.ndarray:
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    if origin is not None:
        return np.asarray(origin, dtype=np.float64).reshape(3).copy()
    if len(xyz) == 0:
        raise ScienceError("a TLS group without atoms")
    return xyz.mean(axis=0)


def fit_tls(xyz, U, origin=None):
    """(origin, T, L, S) fitted to the atoms' U by linear least squares.

    Starts TLS from ANISOU. The origin defaults to the centroid (the fit does not
    depend on it: `shift_origin` moves to `centre_of_reaction` if wanted). The misfit
    is the Frobenius norm of U_fit - U (off-diagonals count twice, rotation invariant).
    Degenerate groups (e.g. collinear atoms) get the minimum-norm solution. S is
    trace-free.
    """
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    u = np.asarray(U, dtype=np.float64).reshape(-1, 6)
    origin = _centre(xyz, origin)
    w = np.array([1.0, 1.0, 1.0, np.sqrt(2.0), np.sqrt(2.0), np.sqrt(2.0)])
    design = np.stack([(u_from_params(xyz, origin, e) * w).ravel()
                       for e in np.eye(N_PARAMS)], axis=1)
    p = np.linalg.lstsq(design, (u * w).ravel(), rcond=None)[0]
    return (origin, *unpack(p))


def tls_from_b(xyz, b, origin=None):
    """(origin, T, L, S): isotropic T = mean B / (8 pi^2), L = S = 0 (a starting point)."""
    origin = _centre(xyz, origin)
    u = float(np.mean(b)) / U_TO_B
    return origin, np.array([u, u, u, 0.0, 0.0, 0.0]), np.zeros(6), np.zeros(9)


def shift_origin(origin, T, L, S, new_origin):
    """(T, L, S) for another origin describing the same U for every atom (L is unchanged)."""
    d = _a_matrices(np.asarray(new_origin, dtype=np.float64), origin)[0]   # A(new - old)
    lm = sym_matrix(L)
    s = np.asarray(S, dtype=np.float64).reshape(3, 3)
    ds = d @ s
    t = sym_matrix(T) + d @ lm @ d.T + ds + ds.T
    return sym_vector(t), np.asarray(L, dtype=np.float64).copy(), (s + lm @ d.T).reshape(9)


def centre_of_reaction(origin, T, L, S) -> np.ndarray:
    """The origin that makes S symmetric (least squares if L is singular)."""
    origin = np.asarray(origin, dtype=np.float64)

    def antisym(o):
        s = shift_origin(origin, T, L, S, o)[2].reshape(3, 3)
        return np.array([s[1, 2] - s[2, 1], s[2, 0] - s[0, 2], s[0, 1] - s[1, 0]])

    f0 = antisym(origin)
    jac = np.stack([antisym(origin + e) - f0 for e in np.eye(3)], axis=1)
    return origin + np.linalg.lstsq(jac, -f0, rcond=None)[0]


# ---------------------------------------------------------------- amplitudes

@dataclass
class Amplitudes:
    """Principal axes (columns) and amplitudes of T and L, for display and checks."""
    t_eigenvalues: np.ndarray   # (3,) A^2, ascending
    t_axes: np.ndarray          # (3,3) columns are the principal axes
    l_eigenvalues: np.ndarray   # (3,) rad^2, ascending
    l_axes: np.ndarray
    t_rms: np.ndarray           # (3,) rms translation (A), 0 where the eigenvalue < 0
    l_rms_deg: np.ndarray       # (3,) rms libration (degrees), 0 where the eigenvalue < 0

    @property
    def positive_semidefinite(self) -> bool:
        # round-off of an eigenvalue set to zero may leave it at -1e-20
        return bool(self.t_eigenvalues[0] >= -1e-12 and self.l_eigenvalues[0] >= -1e-14)


def amplitudes(T, L) -> Amplitudes:
    """Eigen-decomposition of T and L with rms amplitudes in A and degrees."""
    te, tv = np.linalg.eigh(sym_matrix(T))
    le, lv = np.linalg.eigh(sym_matrix(L))
    return Amplitudes(te, tv, le, lv, np.sqrt(np.clip(te, 0, None)),
                      np.degrees(np.sqrt(np.clip(le, 0, None))))


def positive_semidefinite_fix(T, L, floor: float = 0.0):
    """(T, L) with eigenvalues below `floor` raised to it (axes kept)."""
    out = []
    for v in (T, L):
        e, vec = np.linalg.eigh(sym_matrix(v))
        out.append(sym_vector((vec * np.maximum(e, floor)) @ vec.T))
    return out[0], out[1]


# ---------------------------------------------------------------- groups and files

@dataclass
class TlsGroup:
    """One TLS group in internal units (T A^2, L rad^2, S A*rad (9,), origin A).

    ranges: (chain, first, last) residue-number ranges, inclusive; None for chain means
    any chain, None for first/last an open end (so (None, None, None) is everything).
    text: a selection given as text in the file (phenix style), kept as read.
    """
    name: str
    ranges: list = field(default_factory=list)
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    T: np.ndarray = field(default_factory=lambda: np.zeros(6))
    L: np.ndarray = field(default_factory=lambda: np.zeros(6))
    S: np.ndarray = field(default_factory=lambda: np.zeros(9))
    text: str = ""

    def concrete(self) -> bool:
        """True when every range has a chain and both ends (writable as RESIDUE RANGE)."""
        return bool(self.ranges) and all(c and b is not None and e is not None
                                         for c, b, e in self.ranges)


_PIECE = re.compile(
    r"^(?:chain\s+'?(?P<c>[^\s']+)'?)?(?:\s*(?<!^)and\s+|^)?"
    r"(?:(?:resid|resseq)\s+(?P<b>-?\d+)[a-z]?\s*(?::|\s+through\s+)\s*(?P<e>-?\d+)[a-z]?)?$",
    re.IGNORECASE)


def parse_selection_text(text: str):
    """Ranges from simple phenix selections ("all", "chain A and resid 1:50 or chain B").

    Returns None when the text has another form.
    """
    t = " ".join(text.split())
    if t.lower() in ("all", "*"):
        return [(None, None, None)]
    pieces, depth, start = [], 0, 0          # split at the "or"s outside parentheses
    for m in re.finditer(r"[()]|\s+or\s+", t, flags=re.IGNORECASE):
        if m.group() in "()":
            depth += 1 if m.group() == "(" else -1
        elif depth == 0:
            pieces.append(t[start:m.start()])
            start = m.end()
    pieces.append(t[start:])
    ranges = []
    for piece in pieces:
        piece = piece.strip()
        while piece.startswith("(") and piece.endswith(")"):
            piece = piece[1:-1].strip()
        m = _PIECE.match(piece)
        if not m or (m.group("c") is None and m.group("b") is None):
            return None
        b = int(m.group("b")) if m.group("b") is not None else None
        e = int(m.group("e")) if m.group("e") is not None else None
        ranges.append((m.group("c"), b, e))
    return ranges or None


def selection_text(ranges) -> str:
    """Phenix-style text of ranges, with "through" (gemmi cuts continuation lines at ':')."""
    parts = []
    for c, b, e in ranges:
        words = [] if c is None else [f"chain {c}"]
        if b is not None or e is not None:
            words.append(f"resid {-9999 if b is None else b} through {99999 if e is None else e}")
        if not words:
            return "all"
        parts.append(" and ".join(words))
    if len(parts) < 2:
        return parts[0] if parts else ""
    return " or ".join(f"({p})" for p in parts)


def _finite(values) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(a), a, 0.0)


def groups_from_structure(st: gemmi.Structure) -> list[TlsGroup]:
    """TLS groups that gemmi read (REMARK 3 / _pdbx_refine_tls*), in internal units.

    Uses the first refinement record that has groups. Missing tensor elements become 0;
    insertion codes of range ends are dropped.
    """
    for ref in st.meta.refinement:
        if len(ref.tls_groups):
            break
    else:
        return []
    out = []
    for g in ref.tls_groups:
        ranges, texts = [], []
        for sel in g.selections:
            b, e = sel.res_begin.num, sel.res_end.num
            if sel.chain and b is not None and e is not None:
                ranges.append((sel.chain, int(b), int(e)))
            elif sel.details.strip():
                texts.append(sel.details.strip())
        text = " or ".join(texts) if len(texts) < 2 else " or ".join(f"({t})" for t in texts)
        if texts:
            parsed = parse_selection_text(text)
            ranges = ranges + parsed if parsed is not None else []
        T = _finite([g.T.u11, g.T.u22, g.T.u33, g.T.u12, g.T.u13, g.T.u23])
        L = _finite([g.L.u11, g.L.u22, g.L.u33, g.L.u12, g.L.u13, g.L.u23]) * L_SCALE
        S = _finite(g.S.tolist()).reshape(9) * S_SCALE
        out.append(TlsGroup(name=g.id, ranges=ranges, origin=_finite([g.origin.x, g.origin.y, g.origin.z]),
                            T=T, L=L, S=S, text=text))
    return out


def _to_gemmi(group: TlsGroup) -> gemmi.TlsGroup:
    g = gemmi.TlsGroup()
    g.id = str(group.name)
    g.origin = gemmi.Position(*map(float, group.origin))
    g.T = gemmi.SMat33d(*map(float, group.T))
    g.L = gemmi.SMat33d(*map(float, np.asarray(group.L) / L_SCALE))
    g.S = gemmi.Mat33((np.asarray(group.S, dtype=np.float64).reshape(3, 3) / S_SCALE).tolist())
    sels = []
    if group.concrete():
        for c, b, e in group.ranges:
            s = gemmi.TlsGroup.Selection()
            s.chain = c
            s.res_begin = gemmi.SeqId(int(b), " ")
            s.res_end = gemmi.SeqId(int(e), " ")
            sels.append(s)
    else:
        s = gemmi.TlsGroup.Selection()
        s.details = group.text or selection_text(group.ranges)
        sels.append(s)
    g.selections = sels
    return g


def _r3(text: str = "") -> str:
    return f"REMARK   3{text}".ljust(80)


def _wrap(text: str, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    return lines + ([cur] if cur else [])


def remark3_tls_lines(groups) -> list[str]:
    """The REMARK 3 "TLS DETAILS" block (REFMAC layout; L in deg^2, S in A*deg), 80 columns.

    Groups with concrete ranges are written as RESIDUE RANGE records, others as a
    phenix-style SELECTION text. gemmi's PDB writer does not make these lines from
    st.meta; `groups_to_structure` puts them into st.raw_remarks.
    """
    out = [_r3("  TLS DETAILS"), _r3(f"   NUMBER OF TLS GROUPS  : {len(groups):4d}")]
    for g in groups:
        out += [_r3(), _r3(f"   TLS GROUP : {g.name:>5}")]
        if g.concrete():
            out.append(_r3(f"    NUMBER OF COMPONENTS GROUP : {len(g.ranges):4d}"))
            out.append(_r3("    COMPONENTS        C SSSEQI   TO  C SSSEQI"))
            for c, b, e in g.ranges:
                out.append(_r3(f"    RESIDUE RANGE :{c:>4} {int(b):5d}     {c:>4} {int(e):5d}"))
        else:
            text = g.text or selection_text(g.ranges)
            if ":" in text and len(text) > 55 and g.ranges:
                text = selection_text(g.ranges)   # gemmi cuts continuation lines at ':'
            for i, chunk in enumerate(_wrap(text, 55)):
                out.append(_r3(("    SELECTION: " if i == 0 else " " * 15) + chunk))
        o = np.asarray(g.origin, dtype=np.float64)
        out.append(_r3("    ORIGIN FOR THE GROUP (A):" + "".join(f" {v:8.4f}" for v in o)))
        t = np.asarray(g.T, dtype=np.float64)
        ld = np.asarray(g.L, dtype=np.float64) / L_SCALE
        sd = np.asarray(g.S, dtype=np.float64).reshape(9) / S_SCALE
        out += [_r3("    T TENSOR"),
                _r3(f"      T11: {t[0]:8.4f} T22: {t[1]:8.4f}"),
                _r3(f"      T33: {t[2]:8.4f} T12: {t[3]:8.4f}"),
                _r3(f"      T13: {t[4]:8.4f} T23: {t[5]:8.4f}"),
                _r3("    L TENSOR"),
                _r3(f"      L11: {ld[0]:8.4f} L22: {ld[1]:8.4f}"),
                _r3(f"      L33: {ld[2]:8.4f} L12: {ld[3]:8.4f}"),
                _r3(f"      L13: {ld[4]:8.4f} L23: {ld[5]:8.4f}"),
                _r3("    S TENSOR"),
                _r3(f"      S11: {sd[0]:8.4f} S12: {sd[1]:8.4f} S13: {sd[2]:8.4f}"),
                _r3(f"      S21: {sd[3]:8.4f} S22: {sd[4]:8.4f} S23: {sd[5]:8.4f}"),
                _r3(f"      S31: {sd[6]:8.4f} S32: {sd[7]:8.4f} S33: {sd[8]:8.4f}")]
    out.append(_r3())
    return out


def _remark_number(line: str) -> int:
    try:
        return int(line[7:10]) if line.startswith("REMARK") else -1
    except ValueError:
        return -1


def _is_remark3_header(line: str) -> bool:
    """A REMARK 3 section title ("  TLS DETAILS", "  NCS DETAILS"): two spaces, then text."""
    body = line[10:].rstrip("\n")
    return len(body) > 2 and body[:2] == "  " and body[2] != " "


def _with_tls_block(remarks: list[str], block: list[str]) -> list[str]:
    """remarks with their TLS block replaced by `block` (or `block` added to REMARK 3)."""
    lines = [r.rstrip("\n") for r in remarks]
    r3 = [i for i, r in enumerate(lines) if _remark_number(r) == 3]
    start = next((i for i in r3 if lines[i][10:].strip().startswith("TLS DETAILS")), None)
    if start is not None:
        end = start + 1
        while end < len(lines) and _remark_number(lines[end]) == 3 \
                and not _is_remark3_header(lines[end]):
            end += 1
        lines[start:end] = block
        return lines
    has_data = any("DATA USED IN REFINEMENT." in lines[i] for i in r3)
    head = [] if has_data else [_r3("  DATA USED IN REFINEMENT.")]
    if r3:
        at = r3[-1] + 1
        if lines[r3[-1]][10:].strip():
            head.append(_r3())
        return lines[:at] + head + block + lines[at:]
    at = next((i for i, r in enumerate(lines) if _remark_number(r) > 3), len(lines))
    head = [_r3(), _r3(" REFINEMENT."), *head, _r3()]
    return lines[:at] + head + block + lines[at:]


def groups_to_structure(st: gemmi.Structure, groups) -> None:
    """Put the groups into st: st.meta (for mmCIF) and st.raw_remarks (for PDB).

    Replaces the groups of the first refinement record (made if there is none) and the
    REMARK 3 TLS block. When st has no raw remarks, gemmi's own REMARK 2/350 are kept.
    """
    refs = list(st.meta.refinement)
    if not refs:
        ref = gemmi.RefinementInfo()
        ref.id = "1"
        refs = [ref]
    refs[0].tls_groups = [_to_gemmi(g) for g in groups]
    st.meta.refinement = refs
    remarks = list(st.raw_remarks)
    if not remarks:
        opt = gemmi.PdbWriteOptions(headers_only=True)
        remarks = [ln for ln in st.make_pdb_string(opt).splitlines()
                   if ln.startswith("REMARK")]
    st.raw_remarks = _with_tls_block(remarks, remark3_tls_lines(groups))


def atom_groups(chain, resseq, groups) -> np.ndarray:
    """(n,) index of each atom's group, -1 for none; pass atoms.chain, atoms.resseq.

    An atom in several groups goes to the first. A group whose selection could not be
    read as ranges raises ScienceError.
    """
    chain = np.asarray(chain)
    resseq = np.asarray(resseq)
    out = np.full(len(resseq), -1, dtype=np.int64)
    for k, g in enumerate(groups):
        if not g.ranges:
            raise ScienceError(f"TLS group {g.name}: cannot use the selection "
                               f"{g.text or '(empty)'!r}; give residue ranges")
        mask = np.zeros(len(resseq), dtype=bool)
        for c, b, e in g.ranges:
            m = np.ones(len(resseq), dtype=bool) if c is None else chain == c
            if b is not None:
                m &= resseq >= b
            if e is not None:
                m &= resseq <= e
            mask |= m
        out[mask & (out < 0)] = k
    return out
