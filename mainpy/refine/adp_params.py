"""How atomic displacement is refined: the ADP block of the minimizer's vector.

Each model maps the moving atoms' ADPs to a flat slice of variables and back, with the
gradient by the chain rule and bounds:

- `AtomAdp`: each atom in its own form: B of an isotropic atom, the six U_ij of an
  anisotropic one (mixed models: protein anisotropic, waters isotropic).
- `GroupB`: one isotropic B per group of atoms (a residue, or its main chain and side
  chain), the atoms' B moving together.
- `TlsAdp`: TLS groups (T, L, S about a fixed origin) plus a residual isotropic B per
  atom: U = U_TLS(r) + B_res / (8 pi^2) I, written into the atoms as anisotropic U.

Units: B enters as B / B_SCALE and U as U * U_SCALE (the same numbers, 8 pi^2 U = B),
so that L-BFGS's first step moves every ADP about as far.
"""

from __future__ import annotations

import numpy as np

from mainpy.model.atoms import WATERS, waters  # noqa: F401 - AUTO and the factories use them

#: bounds of B and of U's diagonal (as B); B is refined as B / B_SCALE: L-BFGS starts from
#: one step length for every variable, and with B in these units a step moves B as far as
#: the data and ADP restraints want while xyz moves by hundredths of an A. Measured on
#: 1d7m (20 + 40 steps): R-free 0.2818 with 3, 0.2772 with 10 (B hardly moved), 0.2697
#: with 30, 0.2698 with 100.
B_MIN, B_MAX = 1.0, 500.0
B_SCALE = 30.0
EIGHT_PI2 = 8.0 * np.pi ** 2
U_SCALE = EIGHT_PI2 / B_SCALE
#: TLS parameters per group: T (6, A^2), L (6), S (8) in mainpy.model.tls's packed units
TLS_PARAMS = 20


def aniso_rows(atoms) -> np.ndarray:
    """Boolean (n,): atoms with anisotropic U."""
    return (np.asarray(atoms.aniso) != 0).any(axis=1)


def b_equivalent(u: np.ndarray) -> np.ndarray:
    """B_eq = 8 pi^2 tr(U) / 3 of U rows (k, 6)."""
    return EIGHT_PI2 * u[:, :3].sum(axis=1) / 3.0


def u_eigenvalues(u: np.ndarray) -> np.ndarray:
    """(k, 3) eigenvalues (ascending, A^2) of each U row (k, 6)."""
    from mainpy.model.tls import sym_matrix
    return np.linalg.eigvalsh(sym_matrix(u)) if len(u) else np.zeros((0, 3))


def smallest_principal_b(u: np.ndarray) -> np.ndarray:
    """8 pi^2 times the smallest eigenvalue of each U row (k, 6)."""
    return EIGHT_PI2 * u_eigenvalues(u)[:, 0]


def make_anisotropic(atoms, mask) -> tuple:
    """The atoms with the masked isotropic atoms given U = B / (8 pi^2) I; and their count."""
    conv = np.asarray(mask, bool) & ~aniso_rows(atoms)
    u = atoms.aniso.copy()
    u[conv, :3] = (atoms.b[conv] / EIGHT_PI2)[:, None]
    u[conv, 3:] = 0.0
    return atoms.replace(aniso=u), int(conv.sum())


def make_isotropic(atoms, mask) -> tuple:
    """The atoms with the masked anisotropic atoms made isotropic (B = B_eq); and their count."""
    conv = np.asarray(mask, bool) & aniso_rows(atoms)
    b, u = atoms.b.copy(), atoms.aniso.copy()
    b[conv] = b_equivalent(u[conv])
    u[conv] = 0.0
    return atoms.replace(b=b, aniso=u), int(conv.sum())


def hydrogens(atoms) -> np.ndarray:
    """Boolean (n,): hydrogen and deuterium atoms."""
    return np.isin(atoms.element, ("H", "D"))


class AtomAdp:
    """Each moving atom's ADP in its own form: B (isotropic) or the six U_ij."""

    kind = "atom"

    def __init__(self, atoms, idx: np.ndarray):
        an = aniso_rows(atoms)[idx]
        self.iso = idx[~an]
        self.ani = idx[an]
        self.n = len(self.iso) + 6 * len(self.ani)

    @property
    def target_params(self) -> tuple:
        return ("b", "aniso") if len(self.ani) else ("b",)

    def b_rows(self) -> np.ndarray:
        """The atom whose own isotropic B each variable is (-1: none, here a U_ij)."""
        return np.concatenate([self.iso, np.full(6 * len(self.ani), -1)]).astype(np.int64)

    def pack(self, atoms) -> np.ndarray:
        return np.concatenate([atoms.b[self.iso] / B_SCALE,
                               atoms.aniso[self.ani].ravel() * U_SCALE])

    def unpack(self, x, atoms) -> dict:
        b = atoms.b.copy()
        k = len(self.iso)
        b[self.iso] = x[:k] * B_SCALE
        out = {"b": b}
        if len(self.ani):
            u = atoms.aniso.copy()
            u[self.ani] = x[k:].reshape(-1, 6) / U_SCALE
            b[self.ani] = b_equivalent(u[self.ani])
            out["aniso"] = u
        return out

    def gradient(self, grad: dict) -> np.ndarray:
        gi = grad["b"][self.iso] * B_SCALE
        if not len(self.ani):
            return gi
        return np.concatenate([gi, grad["aniso"][self.ani].ravel() / U_SCALE])

    def bounds(self) -> tuple:
        lo = np.full(self.n, -np.inf)
        hi = np.full(self.n, np.inf)
        k = len(self.iso)
        lo[:k], hi[:k] = B_MIN / B_SCALE, B_MAX / B_SCALE
        diag = k + (np.arange(len(self.ani))[:, None] * 6 + np.arange(3)).ravel()
        lo[diag], hi[diag] = B_MIN / B_SCALE, B_MAX / B_SCALE   # U_ii * U_SCALE = B_ii / B_SCALE
        return lo, hi

    def settle(self, atoms):
        """Between segments: anisotropic U made positive definite (eigenvalues at least
        the floor of the restraints' sphericity term, which holds them there within one)."""
        from mainpy.restraints.adp_aniso import project_positive
        if not len(self.ani):
            return atoms
        u = project_positive(atoms.aniso[self.ani], np.ones(len(self.ani), bool))
        if np.array_equal(u, atoms.aniso[self.ani]):
            return atoms
        uu, b = atoms.aniso.copy(), atoms.b.copy()
        uu[self.ani] = u
        b[self.ani] = b_equivalent(u)
        return atoms.replace(aniso=uu, b=b)


def residue_groups(atoms, idx: np.ndarray, split_side_chain: bool = False) -> list:
    """Groups of the rows `idx`: one per residue (its conformers together), or two (main
    chain N CA C O and the rest) with `split_side_chain`."""
    key = atoms.residue_index[idx].astype(np.int64) * 2
    if split_side_chain:
        main = np.isin(atoms.name[idx], ("N", "CA", "C", "O", "OXT", "H", "HA"))
        key = key + (~main).astype(np.int64)
    order = np.argsort(key, kind="stable")
    cut = np.flatnonzero(np.diff(key[order])) + 1
    return [idx[g] for g in np.split(order, cut)]


def conformer_groups(atoms, idx: np.ndarray) -> list:
    """Groups of the rows `idx`: each atom with its copies in the other conformers of its
    residue (the same name; one atom alone where there are none): MODELS' copies, or
    alternate conformations, sharing one B."""
    res = atoms.residue_index[idx].astype(np.int64)
    _, name = np.unique(np.asarray(atoms.name)[idx], return_inverse=True)
    key = res * (int(name.max()) + 1 if len(name) else 1) + name
    order = np.argsort(key, kind="stable")
    cut = np.flatnonzero(np.diff(key[order])) + 1
    return [idx[g] for g in np.split(order, cut)]


class GroupB:
    """One isotropic B per group of moving atoms: every atom of a group gets the group's B
    (started at the group's mean B)."""

    kind = "group"
    target_params = ("b",)

    def __init__(self, atoms, groups: list):
        self.groups = [np.asarray(g) for g in groups if len(g)]
        self.n = len(self.groups)
        self.member = np.concatenate(self.groups) if self.groups else np.zeros(0, int)
        self.owner = np.repeat(np.arange(self.n), [len(g) for g in self.groups])

    def b_rows(self) -> np.ndarray:
        """No variable is one atom's B (-1 each)."""
        return np.full(self.n, -1, np.int64)

    def pack(self, atoms) -> np.ndarray:
        return np.array([atoms.b[g].mean() for g in self.groups]) / B_SCALE

    def unpack(self, x, atoms) -> dict:
        b = atoms.b.copy()
        b[self.member] = x[self.owner] * B_SCALE
        return {"b": b}

    def gradient(self, grad: dict) -> np.ndarray:
        return np.bincount(self.owner, grad["b"][self.member], minlength=self.n) * B_SCALE

    def bounds(self) -> tuple:
        return np.full(self.n, B_MIN / B_SCALE), np.full(self.n, B_MAX / B_SCALE)

    def settle(self, atoms):
        return atoms


def _u_rows(atoms, rows) -> np.ndarray:
    """(len(rows), 6) U of those atoms: the stored U, or B / 8 pi^2 on the diagonal of an
    isotropic atom."""
    u = atoms.aniso[rows].copy()
    iso = ~(u != 0).any(axis=1)
    u[iso, :3] = (atoms.b[rows][iso] / EIGHT_PI2)[:, None]
    return u


class TlsAdp:
    """TLS groups plus a residual isotropic B per member atom; the atoms carry the sum as
    anisotropic U = U_TLS(r) + B_res / (8 pi^2) I. U depends on the coordinates too, so
    `xyz_gradient` adds the TLS path to the coordinate gradient.

    groups: mainpy.model.tls.TlsGroup (T, L, S about their origin); rows: each group's
    atom rows; owner: the TlsModel whose groups take the refined tensors (`state`).
    """

    kind = "tls"
    target_params = ("b", "aniso")

    def __init__(self, atoms, groups: list, rows: list, owner=None, which=None):
        from mainpy.model import tls
        self.tls = tls
        self.groups = list(groups)
        self.rows = [np.asarray(r) for r in rows]
        self.owner = owner
        self.which = list(range(len(groups))) if which is None else list(which)
        self.member = np.concatenate(self.rows) if self.rows else np.zeros(0, int)
        self.ng = len(self.groups)
        self.n = TLS_PARAMS * self.ng + len(self.member)
        u_atom = _u_rows(atoms, self.member)
        u_tls = np.concatenate([tls.u_from_tls(atoms.xyz[r], g.origin, g.T, g.L, g.S)
                                for g, r in zip(self.groups, self.rows)]) \
            if self.ng else np.zeros((0, 6))
        # the residual is what the atom's B has beyond the TLS part (never below zero)
        self.b_res0 = np.clip(b_equivalent(u_atom) - b_equivalent(u_tls), 0.0, B_MAX)
        self._settled = None      # the groups `state` made, for `settle`
        self.scale = np.array([self._scale(atoms.xyz[r], g.origin)
                               for g, r in zip(self.groups, self.rows)]).reshape(-1, TLS_PARAMS)

    def _scale(self, xyz, origin) -> np.ndarray:
        """Units of the TLS variables: one unit moves the group's U as far (rms over its
        atoms, summed) as one unit of an atom's residual B moves that atom's U. A tensor
        element moves every atom of the group, so without this the first L-BFGS steps of
        each segment move T, L and S hundreds of times too far (or residual B too little)."""
        cols = np.stack([self.tls.u_from_params(xyz, origin, e).ravel()
                         for e in np.eye(TLS_PARAMS)], axis=1)
        norm = np.sqrt((cols ** 2).sum(axis=0))
        per_b = np.sqrt(3.0) * B_SCALE / EIGHT_PI2      # |dU| of one unit of B / B_SCALE
        return np.maximum(norm, 1e-12) / per_b

    def b_rows(self) -> np.ndarray:
        """-1 for the TLS parameters, then the atom of each residual B."""
        return np.concatenate([np.full(TLS_PARAMS * self.ng, -1),
                               self.member]).astype(np.int64)

    def pack(self, atoms) -> np.ndarray:
        p = [self.tls.pack(g.T, g.L, g.S) * s for g, s in zip(self.groups, self.scale)]
        return np.concatenate(p + [self.b_res0 / B_SCALE])

    def _split(self, x):
        """(the TLS parameters in mainpy.model.tls's packed units (ng, 20), residual B)."""
        k = TLS_PARAMS * self.ng
        return x[:k].reshape(self.ng, TLS_PARAMS) / self.scale, x[k:] * B_SCALE

    def unpack(self, x, atoms) -> dict:
        p, bres = self._split(x)
        self._xyz, self._p = atoms.xyz, p     # for the gradients at this point
        u, b = atoms.aniso.copy(), atoms.b.copy()
        k = 0
        for j, (g, rows) in enumerate(zip(self.groups, self.rows)):
            ug = self.tls.u_from_params(atoms.xyz[rows], g.origin, p[j])
            ug[:, :3] += (bres[k:k + len(rows)] / EIGHT_PI2)[:, None]
            u[rows] = ug
            b[rows] = b_equivalent(ug)
            k += len(rows)
        return {"b": b, "aniso": u}

    def gradient(self, grad: dict) -> np.ndarray:
        ga = grad["aniso"]
        out = [self.tls.gradient(self._xyz[rows], g.origin, self._p[j], ga[rows]) / self.scale[j]
               for j, (g, rows) in enumerate(zip(self.groups, self.rows))]
        gres = ga[self.member, :3].sum(axis=1) / EIGHT_PI2 * B_SCALE
        return np.concatenate(out + [gres])

    def xyz_gradient(self, grad: dict) -> np.ndarray:
        """(n, 3): the coordinate gradient through U_TLS(r)."""
        ga = grad["aniso"]
        out = np.zeros_like(self._xyz)
        for j, (g, rows) in enumerate(zip(self.groups, self.rows)):
            out[rows] += self.tls.xyz_gradient(self._xyz[rows], g.origin, self._p[j], ga[rows])
        return out

    def bounds(self) -> tuple:
        lo = np.full(self.n, -np.inf)
        hi = np.full(self.n, np.inf)
        k = TLS_PARAMS * self.ng
        lo[k:], hi[k:] = 0.0, B_MAX / B_SCALE
        return lo, hi

    def settle(self, atoms):
        """Between segments: after `state`, the members' U made those of the groups' T and
        L as `state` filtered them, each atom's B_eq kept by its residual B where it can
        be (never below zero); then every member's U positive definite (the restraints'
        floor holds them there within a segment)."""
        if self._settled is not None and len(self.member):
            u, b = atoms.aniso.copy(), atoms.b.copy()
            for g, rows in zip(self._settled, self.rows):
                ug = self.tls.u_from_tls(atoms.xyz[rows], g.origin, g.T, g.L, g.S)
                res = np.clip(b_equivalent(_u_rows(atoms, rows)) - b_equivalent(ug),
                              0.0, B_MAX)
                ug[:, :3] += (res / EIGHT_PI2)[:, None]
                u[rows] = ug
                b[rows] = b_equivalent(ug)
            atoms = atoms.replace(aniso=u, b=b)
            self._settled = None
        return AtomAdp(atoms, self.member).settle(atoms) if len(self.member) else atoms

    def state(self, x) -> list:
        """The groups with the T, L, S of the vector x (given to the owner too), T and L
        made positive semidefinite (negative eigenvalues set to zero, as phenix's
        eigenvalue filtering): the common anisotropy that a negative T stood for belongs
        to the overall anisotropic scale, which takes it at the next re-phasing. `settle`
        then makes the atoms' U those of these groups."""
        import dataclasses
        p, _ = self._split(x)
        new = []
        for g, (T, L, S) in zip(self.groups, (self.tls.unpack(q) for q in p)):
            T, L = self.tls.positive_semidefinite_fix(T, L)
            new.append(dataclasses.replace(g, T=T, L=L, S=S))
        self._settled = new
        if self.owner is None:
            return new
        groups = list(self.owner.groups)
        for j, g in zip(self.which, new):
            groups[j] = g
        self.owner.groups = groups
        return groups


class Combined:
    """ADP blocks side by side (TLS groups, and each remaining atom's own B or U)."""

    def __init__(self, blocks: list):
        self.blocks = blocks
        self.n = sum(b.n for b in blocks)
        self.kind = blocks[0].kind
        self.target_params = tuple(dict.fromkeys(p for b in blocks for p in b.target_params))

    def _cuts(self):
        k = 0
        for b in self.blocks:
            yield b, k, k + b.n
            k += b.n

    def b_rows(self) -> np.ndarray:
        return np.concatenate([b.b_rows() for b in self.blocks])

    def pack(self, atoms) -> np.ndarray:
        return np.concatenate([b.pack(atoms) for b in self.blocks])

    def unpack(self, x, atoms) -> dict:
        out = {}
        for b, i, j in self._cuts():
            out.update(b.unpack(x[i:j], atoms.replace(**out) if out else atoms))
        return out

    def gradient(self, grad: dict) -> np.ndarray:
        return np.concatenate([b.gradient(grad) for b in self.blocks])

    def xyz_gradient(self, grad: dict):
        parts = [b.xyz_gradient(grad) for b in self.blocks if hasattr(b, "xyz_gradient")]
        return sum(parts) if parts else None

    def bounds(self) -> tuple:
        lh = [b.bounds() for b in self.blocks]
        return np.concatenate([a for a, _ in lh]), np.concatenate([h for _, h in lh])

    def settle(self, atoms):
        for b in self.blocks:
            atoms = b.settle(atoms)
        return atoms

    def state(self, x):
        for b, i, j in self._cuts():
            if hasattr(b, "state"):
                return b.state(x[i:j])
        return None


class TlsModel:
    """The factory of a TLS run: `groups` (updated after each segment) and each atom's
    group (-1: none). Atoms of no group (waters, atoms outside every group) refine their
    own B or U beside the groups."""

    kind = "tls"

    def __init__(self, groups: list, member_of: np.ndarray):
        self.groups = list(groups)
        self.member_of = np.asarray(member_of, np.int64)

    def __call__(self, atoms, idx: np.ndarray):
        own = self.member_of[idx]
        which = [j for j in range(len(self.groups)) if (own == j).any()]
        rows = [idx[own == j] for j in which]
        tls = TlsAdp(atoms, [self.groups[j] for j in which], rows, owner=self, which=which)
        rest = idx[own < 0]
        return Combined([tls, AtomAdp(atoms, rest)] if len(rest) else [tls])
