"""Kick protocols: MAIN's "fast cooling" refinement.

Instead of heating the system and cooling it slowly (simulated annealing), the model is
distorted in one step by random shifts ("kicks") and then minimized for a few steps
(about 10); this is repeated with the kick amplitude falling to zero over the run, so
the last round is plain minimization. Kicks move the moving atoms by up to ``a`` A in
random directions and, when B-values are refined, change their B by up to
``a * B_PER_A`` (MAIN's refinement page pairs `set coor kick 0.2` with
`set temp kick 5.`, i.e. 25 B units per A).

The amplitude of round k of K (k = 0 .. K-1, f = k / (K-1)) is
    linear:       a = r (1 - f)
    square:       a = r (1 - f)^2
    exponential:  a = r (exp(-L f) - exp(-L)) / (1 - exp(-L)),  L = 5
so the first round is kicked by r and the last one not at all. A seed makes the whole
run reproducible (round k draws from the seed sequence (seed, k)).

Everything here works on `Atoms` and an objective; the MINIMIZE command is a thin layer.
"""

from __future__ import annotations

import numpy as np

from mainpy.model.perturb import kick_coordinates, kick_values

#: B-value kick per A of coordinate kick (MAIN: coor kick 0.2 with temp kick 5.)
B_PER_A = 25.0
#: steps per round when PHASE STEPS is not given (MAIN: "removed in about 10 steps")
ROUND_STEPS = 10
LAWS = ("linear", "square", "exponential")
_EXP_L = 5.0


def amplitude_schedule(r: float, rounds: int, law: str = "linear") -> np.ndarray:
    """Kick amplitude of each of ``rounds`` rounds: r first, 0 last, falling by ``law``."""
    if r < 0:
        raise ValueError("a kick amplitude cannot be negative")
    if law not in LAWS:
        raise ValueError(f"unknown decay law {law!r}; use one of {', '.join(LAWS)}")
    if rounds <= 0:
        return np.zeros(0)
    if rounds == 1:
        return np.array([float(r)])
    f = np.arange(rounds) / (rounds - 1)
    if law == "linear":
        g = 1.0 - f
    elif law == "square":
        g = (1.0 - f) ** 2
    else:
        g = (np.exp(-_EXP_L * f) - np.exp(-_EXP_L)) / (1.0 - np.exp(-_EXP_L))
    return r * g


def round_seed(seed, k: int, what: int = 0):
    """A seed for round k (``what``: 0 coordinates, 1 B-values); None stays random."""
    if seed is None:
        return None
    return np.random.SeedSequence([int(seed) & 0xFFFFFFFF, k, what])


def kick_atoms(atoms, moving: np.ndarray, r: float, seed=None, b_values: bool = False,
               b_per_a: float = B_PER_A, b_floor: float = 1.0, k: int = 0):
    """A kicked copy of ``atoms``: coordinates of the moving atoms by up to r A and, with
    ``b_values``, their B by up to +/- r * b_per_a (kept >= b_floor)."""
    if r <= 0:
        return atoms
    arrays = {"xyz": kick_coordinates(atoms.xyz, moving, r, round_seed(seed, k, 0))}
    if b_values:
        arrays["b"] = kick_values(atoms.b, moving, r * b_per_a, round_seed(seed, k, 1),
                                  floor=b_floor)
    return atoms.replace(**arrays)


def kick_protocol(atoms, objective, params=("xyz",), moving=None, steps: int = 100,
                  amplitude: float = 0.5, law: str = "linear", seed=None,
                  round_steps: int = ROUND_STEPS, method: str = "lbfgs", on_step=None,
                  between=None, on_kick=None, b_per_a: float = B_PER_A, adp=None,
                  riding=None):
    """Kick, minimize ``round_steps`` steps, repeat with falling amplitude, ``steps`` in all.

    ``between(atoms)`` runs after every round but the last (re-phasing, the phase macro,
    re-weighting) and may return a reason to stop; ``on_step`` sees every step with its
    number in the whole run; ``on_kick(round, amplitude)`` is told of each kick; riding
    hydrogens (`riding`) are placed again after each kick. Returns
    the driver's `RunResult` for the whole run (the model of the last round).
    """
    from mainpy.refine.adp_params import B_MIN
    from mainpy.refine.driver import Progress, RunResult, minimize, run_between
    n = len(atoms)
    moving = np.ones(n, bool) if moving is None else np.asarray(moving, bool)
    round_steps = max(1, int(round_steps))
    rounds = max(1, -(-int(steps) // round_steps))
    amps = amplitude_schedule(amplitude, rounds, law)
    result = RunResult(atoms, 0, "steps")
    current = atoms
    done = 0
    for k, a in enumerate(amps):
        if done >= steps:
            break
        if a > 0:
            current = kick_atoms(current, moving, float(a), seed, "b" in params, b_per_a,
                                 B_MIN, k)
        if on_kick is not None:
            on_kick(k, float(a))
        offset = done

        def shifted(p, offset=offset):
            return on_step(Progress(offset + p.step, p.evaluation, p.atoms, p.kept))

        n_k = min(round_steps, steps - done)
        res = minimize(current, objective, params, moving, n_k, method, segment=n_k,
                       on_step=shifted if on_step is not None else None, adp=adp,
                       riding=riding)
        current = res.atoms
        result.adp_state = res.adp_state or result.adp_state
        done += max(res.steps, 0)
        result.history.extend((offset + s, t, v) for s, t, v in res.history)
        if res.reason in ("stopped", "nan"):
            result.reason, result.message = res.reason, res.message
            break
        if res.steps == 0:          # nothing moved: no use kicking again
            result.reason, result.message = res.reason, res.message
            break
        if k < len(amps) - 1 and done < steps and between is not None \
                and run_between(between, current, result):
            break
    result.atoms = current
    result.steps = done
    return result
