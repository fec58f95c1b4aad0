"""L-BFGS with simple bounds whose memory outlives one call.

MAIN's minimizer runs in segments: every few steps the objective is re-phased and the
optimizer goes on from where it was. scipy's L-BFGS-B starts each call from nothing: its
first iteration is a steepest-descent step of length 1 that needs two or three
evaluations to find its scale, and with re-phasing every 10 steps that was a quarter of
all evaluations. Here the curvature pairs are kept (`Lbfgs.reset` drops them), so the
next segment's first step is already a quasi-Newton step.

Bounds are handled by projection: variables at a bound whose gradient points outward
are held, the rest take the two-loop direction, and trial points are clipped into the
box. That is enough for B and occupancy limits, which few variables touch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: sufficient decrease (Armijo) constant of the line search
C1 = 1e-4
#: trial steps of one line search before it gives up
MAX_TRIALS = 20


@dataclass
class LbfgsResult:
    x: np.ndarray
    f: float
    g: np.ndarray
    evaluations: int
    iterations: int
    converged: bool
    message: str


class Lbfgs:
    """Limited-memory BFGS; call `minimize` repeatedly to continue with the same memory.

    fg(x) -> (f, gradient). It may raise to end a run; the memory then holds every pair
    of the steps accepted before, so the next call continues consistently.
    """

    def __init__(self, memory: int = 20):
        self.memory = memory
        self.s: list[np.ndarray] = []
        self.y: list[np.ndarray] = []

    def reset(self) -> None:
        self.s, self.y = [], []

    def _direction(self, g: np.ndarray, free: np.ndarray) -> np.ndarray:
        q = np.where(free, g, 0.0)
        alpha = []
        for s, y in zip(reversed(self.s), reversed(self.y)):
            rho = 1.0 / float(y @ s)
            a = rho * float(s @ q)
            alpha.append((a, rho))
            q -= a * y
        if self.s:
            s, y = self.s[-1], self.y[-1]
            q *= float(s @ y) / float(y @ y)
        for (a, rho), s, y in zip(reversed(alpha), self.s, self.y):
            b = rho * float(y @ q)
            q += (a - b) * s
        return -np.where(free, q, 0.0)

    def _remember(self, s: np.ndarray, y: np.ndarray) -> None:
        sy = float(s @ y)
        if sy > 1e-10 * float(y @ y) and sy > 0:
            self.s.append(s)
            self.y.append(y)
            if len(self.s) > self.memory:
                del self.s[0], self.y[0]

    def minimize(self, fg, x0, lower=None, upper=None, max_iter: int = 1000,
                 gtol: float = 1e-10, ftol: float = 1e-14) -> LbfgsResult:
        """Minimize from x0 within [lower, upper] (None: unbounded; arrays may hold
        -inf/inf). Ends when the projected gradient's largest component is below gtol,
        an iteration lowers f by less than ftol relative, or after max_iter iterations."""
        x = np.array(x0, float)
        lo = np.full_like(x, -np.inf) if lower is None else np.asarray(lower, float)
        hi = np.full_like(x, np.inf) if upper is None else np.asarray(upper, float)
        x = np.clip(x, lo, hi)
        f, g = fg(x)
        g = np.asarray(g, float)
        n_eval, it = 1, 0
        while True:
            free = ~(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))
            pg = np.where(free, g, 0.0)
            if not pg.any() or np.abs(pg).max() <= gtol:
                return LbfgsResult(x, f, g, n_eval, it, True, "projected gradient small")
            if it >= max_iter:
                return LbfgsResult(x, f, g, n_eval, it, False, "iteration limit")
            d = self._direction(g, free)
            if float(g @ d) >= 0:                  # memory out of date: start afresh
                self.reset()
                d = -pg
            t = 1.0 if self.s else min(1.0, 1.0 / float(np.linalg.norm(d)))
            accepted = False
            for _ in range(MAX_TRIALS):
                xt = np.clip(x + t * d, lo, hi)
                slope = float(g @ (xt - x))
                if slope >= 0:
                    t *= 0.1
                    continue
                ft, gt = fg(xt)
                n_eval += 1
                if np.isfinite(ft) and ft <= f + C1 * slope:
                    accepted = True
                    break
                # quadratic interpolation of f along the step, kept within [0.1, 0.5] t
                curv = ft - f - slope
                tq = 0.5 * t * (-slope) / curv if np.isfinite(ft) and curv > 0 else 0.1 * t
                t = min(max(tq, 0.1 * t), 0.5 * t)
            if not accepted:
                if self.s:                         # once more along the plain gradient
                    self.reset()
                    continue
                return LbfgsResult(x, f, g, n_eval, it, False, "line search failed")
            gt = np.asarray(gt, float)
            self._remember(xt - x, gt - g)
            decrease = f - ft
            x, f, g = xt, ft, gt
            it += 1
            if decrease <= ftol * max(abs(f), abs(f + decrease), 1.0):
                return LbfgsResult(x, f, g, n_eval, it, True, "relative decrease small")
