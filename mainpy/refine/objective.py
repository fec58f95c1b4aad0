"""The minimizer's objective: a weighted sum of targets, and restraints as a target."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mainpy.targets.base import Result, Target, zero_grad


class RestraintTarget(Target):
    """The restraint energy (mainpy.restraints.energy.Energy) behind the Target interface."""

    name = "restraints"

    def __init__(self, energy):
        self.energy = energy

    def evaluate(self, atoms, params=("xyz",)) -> Result:
        res = self.energy.evaluate(atoms.xyz, atoms.b if "b" in params else None)
        grad = zero_grad(atoms, params)
        if "xyz" in params:
            grad["xyz"] = res.grad
        if "b" in params and res.grad_b is not None:
            grad["b"] = res.grad_b
        return Result(res.total, grad, {"terms": res.terms})


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

    def gradient_norms(self, atoms, params=("xyz",), mask=None) -> dict:
        """|gradient| of each part (unweighted), over the masked atoms: for weighting."""
        out = {}
        for p in self.parts:
            g = p.target.evaluate(atoms, params).grad
            v = np.concatenate([np.ravel(g[k] if mask is None else g[k][mask]) for k in params])
            out[p.name] = float(np.linalg.norm(v))
        return out
