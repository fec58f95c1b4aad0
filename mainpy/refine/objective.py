"""The minimizer's objective: a weighted sum of targets, and restraints as a target."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mainpy.targets.base import Result, Target, zero_grad


class RestraintTarget(Target):
    """The restraint energy (mainpy.restraints.energy.Energy) behind the Target interface."""

    name = "restraints"

    def __init__(self, energy, iso_rows=None):
        self.energy = energy
        #: atoms restrained as isotropic atoms of B = B_eq although they carry U (TLS
        #: groups: their U is the TLS model's, smooth by construction; the rigid-bond and
        #: sphericity terms of free anisotropic atoms would fight the residual B)
        self.iso_rows = iso_rows

    def evaluate(self, atoms, params=("xyz",)) -> Result:
        adp = "b" in params or "aniso" in params
        aniso = atoms.aniso
        iso = self.iso_rows if adp and self.iso_rows is not None else None
        if iso is not None:
            aniso = aniso.copy()
            aniso[iso] = 0.0
        res = self.energy.evaluate(atoms.xyz, atoms.b if adp else None,
                                   aniso=aniso if adp else None)
        grad = zero_grad(atoms, params)
        if "xyz" in params:
            grad["xyz"] = res.grad
        grad_b, grad_u = res.grad_b, res.grad_aniso
        total, terms = res.total, res.terms
        if iso is not None and grad_b is not None:     # B_eq = 8 pi^2 tr(U) / 3
            from mainpy.restraints.adp_aniso import eigenvalue_floor
            grad_u = np.zeros_like(atoms.aniso) if grad_u is None else grad_u.copy()
            grad_u[iso, :3] += grad_b[iso, None] * (8.0 * np.pi ** 2 / 3.0)
            grad_b = grad_b.copy()
            grad_b[iso] = 0.0
            # their U kept positive definite all the same (T or L may not be)
            e_floor, g_floor = eigenvalue_floor(atoms.aniso, iso)
            total += e_floor
            grad_u += g_floor
            terms = dict(terms)
            terms["sphericity"] = terms.get("sphericity", 0.0) + e_floor
        if "b" in params and grad_b is not None:
            grad["b"] = grad_b
        if "aniso" in params and grad_u is not None:
            grad["aniso"] = grad_u
        return Result(total, grad, {"terms": terms})


@dataclass
class Part:
    name: str
    weight: float
    target: Target


@dataclass
class Evaluation:
    total: float
    grad: dict
    values: dict = field(default_factory=dict)   # part name -> weighted value
    info: dict = field(default_factory=dict)     # part name -> the target's info


class Objective:
    """sum_k weight_k * target_k(atoms); weights may change between segments."""

    def __init__(self, parts: list[Part]):
        self.parts = parts

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)

    def evaluate(self, atoms, params) -> Evaluation:
        total = 0.0
        grad = zero_grad(atoms, params)
        values, info = {}, {}
        for p in self.parts:
            if p.weight == 0:
                continue
            r = p.target.evaluate(atoms, params)
            total += p.weight * r.value
            for k in params:
                if k in r.grad:
                    grad[k] += p.weight * r.grad[k]
            values[p.name] = p.weight * r.value
            info[p.name] = r.info
        return Evaluation(float(total), grad, values, info)

    def b_curvature(self, atoms, rows) -> np.ndarray | None:
        """The weighted sum of the parts' curvature in the B of the atoms ``rows``
        (`XrayTarget.b_curvature`), or None when no part gives one."""
        out = None
        for p in self.parts:
            if p.weight != 0 and hasattr(p.target, "b_curvature"):
                c = p.weight * p.target.b_curvature(atoms, rows)
                out = c if out is None else out + c
        return out

    def gradient_norms(self, atoms, params=("xyz",), mask=None) -> dict:
        """|gradient| of each part (unweighted), over the masked atoms: for weighting."""
        out = {}
        for p in self.parts:
            g = p.target.evaluate(atoms, params).grad
            v = np.concatenate([np.ravel(g[k] if mask is None else g[k][mask]) for k in params])
            out[p.name] = float(np.linalg.norm(v))
        return out
