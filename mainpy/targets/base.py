"""The one interface every refinement target follows: value and gradient.

A target looks at the atoms (mainpy.model.atoms.Atoms) and returns its value and the
gradient of that value with respect to the parameters asked for: "xyz" (n, 3), "b" (n,)
and "occ" (n,). Restraints, X-ray targets and density targets all speak this, so the
minimizer sums them with weights and never needs to know which is which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARAMS = ("xyz", "b", "occ")


@dataclass
class Result:
    """A target's value and its gradients (only those asked for)."""

    value: float
    grad: dict = field(default_factory=dict)   # "xyz" -> (n,3), "b" -> (n,), "occ" -> (n,)
    info: dict = field(default_factory=dict)   # anything worth printing (counts, R, ...)

    def scaled(self, w: float) -> "Result":
        return Result(self.value * w, {k: v * w for k, v in self.grad.items()}, self.info)


class Target:
    """Base class: subclasses implement `evaluate`."""

    name = "target"

    def evaluate(self, atoms, params=("xyz",)) -> Result:
        """Value and gradients with respect to `params` at the atoms' current state."""
        raise NotImplementedError

    def value(self, atoms) -> float:
        return self.evaluate(atoms, params=()).value


def zero_grad(atoms, params) -> dict:
    """Zero gradients of the right shapes."""
    n = len(atoms)
    out = {}
    for p in params:
        out[p] = np.zeros((n, 3)) if p == "xyz" else np.zeros(n)
    return out
