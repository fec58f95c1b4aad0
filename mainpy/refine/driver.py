"""The minimizer: L-BFGS (or conjugate gradients) over the selected atoms' parameters.

One step is one evaluation of the objective (value and gradient), as in MAIN. The run
is cut into segments (`segment` steps each); between segments `between(atoms)` may
re-phase, re-weight or run a macro, and the optimizer restarts from the current model,
because the objective has changed. After every step `on_step` is told the progress and
may ask to stop; a stop, a NaN, or the step limit ends the run with the best model of
the current segment: a consistent model, never a half-updated one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: bounds of the refined quantities
B_MIN, B_MAX = 1.0, 500.0
#: B is refined as B / B_SCALE so that its gradient is comparable with that of xyz
B_SCALE = 10.0


@dataclass
class Progress:
    step: int
    evaluation: object         # mainpy.refine.objective.Evaluation
    atoms: object              # the atoms of this step (do not keep: they are reused)


@dataclass
class RunResult:
    atoms: object
    steps: int
    reason: str                # "steps" | "converged" | "stopped" | "nan" | "gain"
    history: list = field(default_factory=list)   # (step, total, values) per step
    message: str = ""


class _Stop(Exception):
    def __init__(self, reason, message=""):
        super().__init__(message)
        self.reason, self.message = reason, message


class Packer:
    """Parameters of the moving atoms <-> one flat vector (with bounds)."""

    def __init__(self, atoms, params, moving):
        self.params = tuple(params)
        self.idx = np.flatnonzero(moving)
        self.n = len(self.idx)

    def pack(self, atoms) -> np.ndarray:
        parts = []
        for p in self.params:
            if p == "xyz":
                parts.append(atoms.xyz[self.idx].ravel())
            elif p == "b":
                parts.append(atoms.b[self.idx] / B_SCALE)
            elif p == "occ":
                parts.append(atoms.occ[self.idx])
        return np.concatenate(parts)

    def unpack(self, x, atoms):
        """A new Atoms with the vector's values put in."""
        arrays = {}
        k = 0
        for p in self.params:
            if p == "xyz":
                xyz = atoms.xyz.copy()
                xyz[self.idx] = x[k:k + 3 * self.n].reshape(-1, 3)
                arrays["xyz"] = xyz
                k += 3 * self.n
            elif p == "b":
                b = atoms.b.copy()
                b[self.idx] = x[k:k + self.n] * B_SCALE
                arrays["b"] = b
                k += self.n
            elif p == "occ":
                occ = atoms.occ.copy()
                occ[self.idx] = x[k:k + self.n]
                arrays["occ"] = occ
                k += self.n
        return atoms.replace(**arrays)

    def gradient(self, grad: dict) -> np.ndarray:
        parts = []
        for p in self.params:
            if p == "xyz":
                parts.append(grad["xyz"][self.idx].ravel())
            elif p == "b":
                parts.append(grad["b"][self.idx] * B_SCALE)
            elif p == "occ":
                parts.append(grad["occ"][self.idx])
        return np.concatenate(parts)

    def bounds(self):
        out = []
        for p in self.params:
            if p == "xyz":
                out += [(None, None)] * (3 * self.n)
            elif p == "b":
                out += [(B_MIN / B_SCALE, B_MAX / B_SCALE)] * self.n
            elif p == "occ":
                out += [(0.0, 1.0)] * self.n
        return out


def minimize(atoms, objective, params=("xyz",), moving=None, steps: int = 100,
             method: str = "lbfgs", segment: int | None = None, on_step=None,
             between=None) -> RunResult:
    """Minimize the objective over `params` of the `moving` atoms for `steps` steps.

    on_step(Progress) -> True stops after this step; between(atoms) runs between
    segments (and may change the objective). Returns the final atoms and why it ended.
    """
    from scipy.optimize import minimize as scipy_minimize

    n = len(atoms)
    moving = np.ones(n, bool) if moving is None else np.asarray(moving, bool)
    pk = Packer(atoms, params, moving)
    result = RunResult(atoms, 0, "steps")
    if pk.n == 0 or steps <= 0:
        result.reason, result.message = "converged", "nothing to move"
        return result
    segment = segment or steps
    current = atoms
    step = 0
    while step < steps:
        seg_steps = min(segment, steps - step)
        best = {"f": np.inf, "atoms": current}
        base = current
        count = {"n": 0}

        def fg(x):
            trial = pk.unpack(x, base)
            ev = objective.evaluate(trial, params)
            count["n"] += 1
            g = pk.gradient(ev.grad)
            if not (np.isfinite(ev.total) and np.isfinite(g).all()):
                raise _Stop("nan", f"the objective is not a number at step "
                                   f"{step + count['n']}: stopped, model of the last good step kept")
            if ev.total < best["f"]:
                best["f"], best["atoms"] = ev.total, trial
            result.history.append((step + count["n"], ev.total, dict(ev.values)))
            if on_step is not None and on_step(Progress(step + count["n"], ev, trial)):
                raise _Stop("stopped", f"stopped at step {step + count['n']}")
            if count["n"] >= seg_steps:
                raise _Stop("segment")
            return ev.total, g

        x0 = pk.pack(current)
        reason, message = "segment", ""
        try:
            if method == "conj" and params == ("xyz",):
                res = scipy_minimize(fg, x0, jac=True, method="CG",
                                     options={"maxiter": seg_steps, "gtol": 1e-10})
            else:
                res = scipy_minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=pk.bounds(),
                                     options={"maxfun": seg_steps + 5, "maxiter": seg_steps,
                                              "maxcor": 20, "ftol": 1e-14, "gtol": 1e-10})
            reason, message = "converged", str(res.message)
        except _Stop as s:
            reason, message = s.reason, s.message
        current = best["atoms"]
        step += count["n"]
        if reason in ("stopped", "nan"):
            result.reason, result.message = reason, message
            break
        if reason == "converged" and count["n"] < seg_steps:
            # nothing left to gain with this objective; a re-phase may change that
            if between is None:
                result.reason, result.message = "converged", message
                break
        if step < steps and between is not None:
            stop = between(current)
            if stop:
                result.reason, result.message = "gain", str(stop)
                break
    result.atoms = current
    result.steps = step
    return result
