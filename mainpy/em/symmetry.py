"""Point-group symmetry of an EM map: the model is one copy; the others are made by the
group's operators about a centre, and everything computed against the map (Fcalc, the
target, FSC, CC) sees all copies. The gradient of a copy's atom goes back to the atom it
was made from (x_k = R_k x + t_k: dT/dx = sum_k R_k^T dT/dx_k), so the copies stay
exact images of the model: constrained, not restrained.

Groups as RELION and servalcat name them for their standard orientation: Cn about z,
Dn adding 2-folds about x (and the rest of the dihedral axes in the xy plane); any other
group as its operators in a file (`read_operators`).
"""

from __future__ import annotations

import re

import numpy as np


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotations(group: str) -> list[np.ndarray]:
    """The rotation matrices of point group Cn or Dn (identity first)."""
    m = re.fullmatch(r"([CcDd])(\d+)", group.strip())
    if not m or int(m.group(2)) < 1:
        raise ValueError(f"point group {group!r}: give Cn or Dn (C2, C3, D2, D7, ...)")
    n = int(m.group(2))
    cyc = [_rz(2 * np.pi * k / n) for k in range(n)]
    if m.group(1).upper() == "C":
        return cyc
    flip = np.diag([1.0, -1.0, -1.0])        # 2-fold about x
    return cyc + [r @ flip for r in cyc]


def operators(group: str, centre) -> list[tuple[np.ndarray, np.ndarray]]:
    """(R, t) of each copy: x' = R x + t, rotations about ``centre`` (A)."""
    c = np.asarray(centre, float)
    return [(r, c - r @ c) for r in rotations(group)]


def read_operators(path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Operators from a text file: one per line, 12 numbers r11 r12 r13 t1 r21 r22 r23 t2
    r31 r32 r33 t3 (x' = R x + t, t in A; '#' starts a comment). Each R must be a
    rotation; the identity is put first (added if the file lacks it)."""
    ops = []
    with open(path) as f:
        for k, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            try:
                v = np.array([float(w) for w in words])
            except ValueError:
                raise ValueError(f"{path}:{k}: an operator is 12 numbers, not "
                                 f"{line.strip()!r}") from None
            if len(v) != 12:
                raise ValueError(f"{path}:{k}: an operator is 12 numbers (R row by row, "
                                 f"each row followed by its t), not {len(v)}")
            m = v.reshape(3, 4)
            r, t = m[:, :3], m[:, 3]
            if not (np.allclose(r @ r.T, np.eye(3), atol=1e-4)
                    and abs(np.linalg.det(r) - 1) < 1e-4):
                raise ValueError(f"{path}:{k}: R is not a rotation (R R^T = I, det 1)")
            ops.append((r, t))
    if not ops:
        raise ValueError(f"{path} holds no operator")
    ident = [i for i, (r, t) in enumerate(ops)
             if np.allclose(r, np.eye(3), atol=1e-6) and np.allclose(t, 0, atol=1e-4)]
    rest = [o for i, o in enumerate(ops) if i not in ident]
    return [(np.eye(3), np.zeros(3))] + rest


def expand(atoms, ops):
    """The model with every copy appended (copy k: atoms k*n .. (k+1)*n - 1); B,
    occupancy and the rest as the model's. Anisotropic atoms are refused."""
    if len(ops) <= 1:
        return atoms
    if atoms.aniso.any():
        raise ValueError("point-group symmetry takes isotropic atoms only (SET TEMP ISO)")
    from mainpy.model.atoms import Atoms
    kw = {}
    for k in atoms.__dataclass_fields__:
        if k == "_codes":
            continue
        v = getattr(atoms, k)
        if k == "xyz":
            kw[k] = np.concatenate([v @ r.T + t for r, t in ops])
        else:
            kw[k] = np.concatenate([v] * len(ops))
    return Atoms(**kw)


def fold(grad: dict, ops, n: int) -> dict:
    """The expanded model's gradient taken back to the model's n atoms."""
    if len(ops) <= 1:
        return grad
    out = {}
    for key, g in grad.items():
        if g is None:
            out[key] = None
            continue
        g = np.asarray(g)
        if key == "xyz":
            out[key] = sum(g[k * n:(k + 1) * n] @ r for k, (r, _) in enumerate(ops))
        elif key == "aniso":
            out[key] = g[:n].copy()              # zero: isotropic atoms only
        else:
            out[key] = sum(g[k * n:(k + 1) * n] for k in range(len(ops)))
    return out
