"""The one interface every refinement target follows: value and gradient.

A target looks at the atoms (mainpy.model.atoms.Atoms) and returns its value and the
gradient of that value with respect to the parameters asked for: "xyz" (n, 3), "b" (n,),
"occ" (n,) and "aniso" (n, 6: the stored U elements u11 u22 u33 u12 u13 u23; the
derivative with respect to u12 counts both matrix entries it stands for; zero rows for
isotropic atoms, whose B derivative is in "b", while "b" is zero for anisotropic atoms).
Restraints, X-ray targets and density targets all speak this, so the minimizer sums them
with weights and never needs to know which is which.

Between minimization segments the driver calls `refresh()` (after re-phasing): a target
re-reads whatever it keeps fixed during minimization (scales, sigmaA, the blur of the
structure factors; servalcat's likelihood classes have the same per-cycle update). The
default does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARAMS = ("xyz", "b", "occ", "aniso")

#: shape of each parameter's gradient per atom
_SHAPES = {"xyz": (3,), "b": (), "occ": (), "aniso": (6,)}


@dataclass
class Result:
    """A target's value and its gradients (only those asked for)."""

    value: float
    grad: dict = field(default_factory=dict)   # "xyz" (n,3), "b" and "occ" (n,), "aniso" (n,6)
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

    def refresh(self) -> None:
        """Re-read what stays fixed during a minimization segment (after a re-phasing);
        nothing by default."""


def zero_grad(atoms, params) -> dict:
    """Zero gradients of the right shapes."""
    n = len(atoms)
    return {p: np.zeros((n,) + _SHAPES[p]) for p in params}
