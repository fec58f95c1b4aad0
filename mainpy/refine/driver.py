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

from mainpy.lbfgs import Lbfgs

from mainpy.refine.adp_params import AtomAdp


@dataclass
class Progress:
    step: int
    evaluation: object         # mainpy.refine.objective.Evaluation
    atoms: object              # the atoms of this step
    #: the lowest objective of its segment so far: the model the run keeps if it ends
    #: here. False: a trial of the line search, worse than a step before it, which the
    #: minimizer does not keep (printed figures then describe the kept one)
    kept: bool = True


@dataclass
class RunResult:
    atoms: object
    steps: int
    reason: str                # "steps" | "converged" | "stopped" | "nan" | "gain"
    history: list = field(default_factory=list)   # (step, total, values) per step
    message: str = ""
    adp_state: object = None   # what the ADP model refined beyond the atoms (TLS groups)


class _Stop(Exception):
    def __init__(self, reason, message=""):
        super().__init__(message)
        self.reason, self.message = reason, message


def occupancy_groups(atoms, moving):
    """Groups of moving atoms that share one occupancy, and how groups are tied.

    Each residue's atoms without an altloc form one group; each altloc conformer of a
    residue forms one group. Returns (group index per atom (-1 if not refined), list of
    groups, list of (group a, group b, total) pairs: the two conformers of a residue
    whose occupancies keep their sum). Residues with more than two conformers keep
    their conformer occupancies fixed.
    """
    gid = np.full(len(atoms), -1)
    groups, pairs = [], []
    idx = np.flatnonzero(moving)
    keys = {}
    for i in idx:
        key = (int(atoms.residue_index[i]), str(atoms.altloc[i]))
        if key not in keys:
            keys[key] = len(groups)
            groups.append([])
        groups[keys[key]].append(i)
        gid[i] = keys[key]
    by_res = {}
    for (res, alt), g in keys.items():
        if alt:
            by_res.setdefault(res, []).append(g)
    for res, gs in by_res.items():
        if len(gs) == 2:
            a, b = gs
            total = atoms.occ[groups[a][0]] + atoms.occ[groups[b][0]]
            pairs.append((a, b, float(total)))
        else:
            for g in gs:
                for i in groups[g]:
                    gid[i] = -1
    return gid, [np.array(g) for g in groups], pairs


def _rotation(v: np.ndarray) -> np.ndarray:
    """Rotation matrix of a rotation vector (axis * angle in radians), Rodrigues."""
    th = float(np.linalg.norm(v))
    if th < 1e-12:
        k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
        return np.eye(3) + k
    k = v / th
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(th) * kx + (1 - np.cos(th)) * kx @ kx


class Packer:
    """Parameters of the moving atoms <-> one flat vector (with bounds).

    xyz: 3 per atom, or 6 per rigid body (rotation vector about the body's centre,
    translation) with `bodies`; b: the ADP model's variables (`adp(atoms, rows)`, one of
    mainpy.refine.adp_params: by default each atom's B or U); occ: 1 per occupancy
    group, the second conformer of a two-conformer residue following the first.
    `riding` (mainpy.refine.riding.Riding): hydrogens that follow their parents are no
    variables; their gradient is folded onto the parents (not with rigid bodies, whose
    hydrogens turn with the body).
    """

    def __init__(self, atoms, params, moving, bodies=None, adp=None, riding=None):
        self.params = tuple(p for p in ("xyz", "b", "occ") if p in params)  # xyz first
        self.riding = riding if bodies is None else None
        self.base = atoms
        if self.riding is not None:
            self.riders = self.riding.riders(moving)
            moving = np.asarray(moving, bool) & ~self.riding.riding_mask()
        else:
            self.riders = np.zeros(0, np.int64)
        self.idx = np.flatnonzero(moving)
        self.n = len(self.idx)
        self.adp = (adp or AtomAdp)(atoms, self.idx) if "b" in self.params else None
        self.ref_xyz = atoms.xyz.copy()
        self.bodies = None
        if bodies is not None:
            self.bodies = [np.asarray(b) for b in bodies if len(b)]
            self.centres = [self.ref_xyz[b].mean(axis=0) for b in self.bodies]
        if "occ" in self.params:
            self.gid, self.groups, pairs = occupancy_groups(atoms, moving)
            dependent = {b: (a, tot) for a, b, tot in pairs}
            self.free_groups = [g for g in range(len(self.groups))
                                if g not in dependent and (self.gid[self.groups[g]] >= 0).all()]
            self.dependent = dependent
            self.group_occ0 = np.array([atoms.occ[g[0]] for g in self.groups])
            self.totals = {a: tot for a, b, tot in pairs}

    @property
    def target_params(self) -> tuple:
        """What the targets are asked for: the parameters, with "aniso" when anisotropic
        atoms move."""
        extra = tuple(p for p in self.adp.target_params if p not in self.params) \
            if self.adp is not None else ()
        return self.params + extra

    def adp_state(self, x):
        """The ADP model's own result at the vector x (TLS tensors), or None."""
        if self.adp is None or not hasattr(self.adp, "state"):
            return None
        k = 0
        for p in self.params:
            if p == "b":
                return self.adp.state(x[k:k + self.adp.n])
            k += {"xyz": 6 * self.n_body if self.bodies is not None else 3 * self.n}.get(p, 0)
        return None

    def settle(self, atoms):
        """The atoms made valid between segments (U positive definite)."""
        return self.adp.settle(atoms) if self.adp is not None else atoms

    @property
    def n_body(self):
        return len(self.bodies) if self.bodies is not None else 0

    def pack(self, atoms) -> np.ndarray:
        parts = []
        for p in self.params:
            if p == "xyz":
                if self.bodies is not None:
                    parts.append(np.zeros(6 * self.n_body))
                else:
                    parts.append(atoms.xyz[self.idx].ravel())
            elif p == "b":
                parts.append(self.adp.pack(atoms))
            elif p == "occ":
                parts.append(np.array([atoms.occ[self.groups[g][0]] for g in self.free_groups]))
        return np.concatenate(parts) if parts else np.zeros(0)

    def unpack(self, x, atoms):
        """A new Atoms with the vector's values put in."""
        arrays = {}
        k = 0
        for p in self.params:
            if p == "xyz":
                xyz = atoms.xyz.copy()
                if self.bodies is not None:
                    for j, body in enumerate(self.bodies):
                        w, t = x[k + 6 * j:k + 6 * j + 3], x[k + 6 * j + 3:k + 6 * j + 6]
                        c = self.centres[j]
                        xyz[body] = (self.ref_xyz[body] - c) @ _rotation(w).T + c + t
                    k += 6 * self.n_body
                else:
                    xyz[self.idx] = x[k:k + 3 * self.n].reshape(-1, 3)
                    k += 3 * self.n
                arrays["xyz"] = xyz
            elif p == "b":
                atoms_now = atoms.replace(xyz=arrays["xyz"]) if "xyz" in arrays else atoms
                arrays.update(self.adp.unpack(x[k:k + self.adp.n], atoms_now))
                k += self.adp.n
            elif p == "occ":
                occ = atoms.occ.copy()
                for j, g in enumerate(self.free_groups):
                    occ[self.groups[g]] = x[k + j]
                    if g in self.totals:
                        b = next(bb for bb, (aa, _) in self.dependent.items() if aa == g)
                        occ[self.groups[b]] = self.totals[g] - x[k + j]
                arrays["occ"] = occ
                k += len(self.free_groups)
        new = atoms.replace(**arrays)
        if len(self.riders):
            new = new.replace(**self.riding.ride(new, self.base, self.riders, self.params))
        return new

    def gradient(self, grad: dict, x=None) -> np.ndarray:
        if len(self.riders):
            grad = self.riding.fold(grad, self.base, self.riders)
        parts = []
        for p in self.params:
            if p == "xyz":
                g = grad["xyz"]
                extra = self.adp.xyz_gradient(grad) \
                    if self.adp is not None and hasattr(self.adp, "xyz_gradient") else None
                if extra is not None:       # U depends on the coordinates (TLS)
                    g = g + extra
                if self.bodies is not None:
                    out = np.zeros(6 * self.n_body)
                    k0 = 0
                    for j, body in enumerate(self.bodies):
                        w = x[6 * j:6 * j + 3] if x is not None else np.zeros(3)
                        c = self.centres[j]
                        r0 = self.ref_xyz[body] - c
                        # d/dw by central differences of the rotation (6 tiny matrix builds)
                        gw = np.zeros(3)
                        for a in range(3):
                            e = np.zeros(3)
                            e[a] = 1e-6
                            drot = (_rotation(w + e) - _rotation(w - e)) / 2e-6
                            gw[a] = np.sum(g[body] * (r0 @ drot.T))
                        out[k0 + 6 * j:k0 + 6 * j + 3] = gw
                        out[k0 + 6 * j + 3:k0 + 6 * j + 6] = g[body].sum(axis=0)
                    parts.append(out)
                else:
                    parts.append(g[self.idx].ravel())
            elif p == "b":
                parts.append(self.adp.gradient(grad))
            elif p == "occ":
                go = grad["occ"]
                out = np.zeros(len(self.free_groups))
                for j, gr in enumerate(self.free_groups):
                    out[j] = go[self.groups[gr]].sum()
                    if gr in self.totals:
                        b = next(bb for bb, (aa, _) in self.dependent.items() if aa == gr)
                        out[j] -= go[self.groups[b]].sum()
                parts.append(out)
        return np.concatenate(parts) if parts else np.zeros(0)

    def preconditioner(self, objective, atoms) -> np.ndarray | None:
        """Relative inverse curvatures per variable (mainpy.refine.precondition): the
        B-values of single atoms by the objective's X-ray curvature in them, every other
        variable 1, when coordinates and B move together. None where there is nothing to
        scale, and in runs of B alone: there the B-values of a start far from its
        coordinates' truth (flat B, atoms misplaced) would settle on those errors
        sooner, before the coordinates move (shipped macro, deposited 1d7m: stage 1
        preconditioned 10+100 steps, twice as long +0.0022 in R-free by rfree.py; not:
        10+80 steps, +0.0004)."""
        if self.adp is None or not hasattr(self.adp, "b_rows") or "xyz" not in self.params:
            return None
        rows = self.adp.b_rows()
        own = rows >= 0
        if own.sum() < 2:
            return None
        c = objective.b_curvature(atoms, rows[own])
        if c is None:
            return None
        from mainpy.refine.precondition import inverse_scales
        kind = self.blocks()
        out = np.ones(len(kind))
        out[np.flatnonzero(kind == 1)[own]] = inverse_scales(c)
        return out

    def blocks(self) -> np.ndarray:
        """The kind of each variable: 0 coordinates, 1 B-values, 2 occupancies."""
        lo, _ = self.bounds()
        out, k = np.empty(len(lo), np.int64), 0
        for p in self.params:
            n = {"xyz": 6 * self.n_body if self.bodies is not None else 3 * self.n,
                 "b": self.adp.n if self.adp is not None else 0,
                 "occ": len(getattr(self, "free_groups", []))}[p]
            out[k:k + n] = {"xyz": 0, "b": 1, "occ": 2}[p]
            k += n
        return out

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the vector (-inf/inf where there is none)."""
        out = []
        for p in self.params:
            if p == "xyz":
                out += [(None, None)] * (6 * self.n_body if self.bodies is not None
                                         else 3 * self.n)
            elif p == "b":
                lo, hi = self.adp.bounds()
                out += list(zip(lo, hi))
            elif p == "occ":
                out += [(0.0, self.totals.get(g, 1.0)) for g in self.free_groups]
        lo = np.array([-np.inf if a is None else a for a, _ in out], float)
        hi = np.array([np.inf if b is None else b for _, b in out], float)
        return lo, hi


def minimize(atoms, objective, params=("xyz",), moving=None, steps: int = 100,
             method: str = "lbfgs", segment: int | None = None, on_step=None,
             between=None, bodies=None, adp=None, riding=None) -> RunResult:
    """Minimize the objective over `params` of the `moving` atoms for `steps` steps.

    on_step(Progress) -> True stops after this step; between(atoms) runs between
    segments (and may change the objective). `bodies` (lists of atom rows) makes the
    coordinates move as rigid bodies; `adp(atoms, rows)` makes the ADP model of B-VALUES
    (mainpy.refine.adp_params; each atom's B or U by default); `riding`
    (mainpy.refine.riding.Riding) makes hydrogens ride on their parents, placed anew at
    the start of every segment. Returns the final atoms and why it ended.
    """
    n = len(atoms)
    moving = np.ones(n, bool) if moving is None else np.asarray(moving, bool)
    result = RunResult(atoms, 0, "steps")
    if not moving.any() or steps <= 0:
        result.reason, result.message = "converged", "nothing to move"
        return result
    segment = segment or steps
    if riding is not None and not (moving & ~riding.riding_mask()).any():
        riding = None           # only hydrogens move: they are refined themselves
    current = atoms
    step = 0
    scale = None        # the last segment's initial inverse Hessian (Lbfgs.h0)
    while step < steps:
        seg_steps = min(segment, steps - step)
        if riding is not None and riding.place is not None and bodies is None \
                and "xyz" in params:
            current = riding.place(current)
        best = {"f": np.inf, "atoms": current}
        base = current
        pk = Packer(current, params, moving, bodies, adp, riding)
        tparams = pk.target_params
        count = {"n": 0}

        def fg(x):
            trial = pk.unpack(x, base)
            ev = objective.evaluate(trial, tparams)
            count["n"] += 1
            g = pk.gradient(ev.grad, x)
            if not (np.isfinite(ev.total) and np.isfinite(g).all()):
                raise _Stop("nan", f"the objective is not a number at step "
                                   f"{step + count['n']}: stopped, model of the last good step kept")
            kept = bool(ev.total < best["f"])
            if kept:
                best["f"], best["atoms"], best["x"] = ev.total, trial, x.copy()
            result.history.append((step + count["n"], ev.total, dict(ev.values)))
            if on_step is not None and on_step(Progress(step + count["n"], ev, trial, kept)):
                raise _Stop("stopped", f"stopped at step {step + count['n']}")
            if count["n"] >= seg_steps:
                raise _Stop("segment")
            return ev.total, g

        x0 = pk.pack(current)
        reason, message = "segment", ""
        opt = None
        try:
            if method == "conj" and params == ("xyz",):
                from scipy.optimize import minimize as scipy_minimize
                res = scipy_minimize(fg, x0, jac=True, method="CG",
                                     options={"maxiter": seg_steps, "gtol": 1e-10})
            else:
                # a fresh memory per segment: kept across re-phasings (new phases, scales,
                # weight) it measured worse from afar (1aba shaken 0.8 A, 200 steps: 0.288
                # and 0.250 A from the deposited model against 0.278 and 0.236); kept only
                # while the weights held, it converged faster from shaken starts (1aba 0.3
                # A: 110 steps, not 170) but deeper into an optimum that over-fits real
                # data: twice as long then raised R-free on 1d7m by 0.005, 1l2h by 0.0035.
                # With the neighbour ADP restraint (servalcat's) the same: 1aba 0.6 A 240
                # -> 170 steps, but the truth benchmark's rmsd 0.075 -> 0.077 A (2r4r 0.3
                # A 0.326 -> 0.376, 1d7m 0.6 A 0.192 -> 0.205). A restraint-Hessian
                # preconditioner (initial inverse Hessian) gained nothing either: 1d7m 0.6
                # A, 40 steps at a fixed weight, objective 724,323 against 724,630.
                # Deposited data with that restraint, kept while the weights held
                # (bench_refine --judge, rfree.py / cctbx): twice as long raised R-free on
                # 1d7m by 0.0061 / 0.0063 and on 1l2h by 0.0027 / 0.0026 (a fresh memory:
                # +0.0008 / -0.0007 and -0.0002 / -0.0014). Along such a run 1d7m's mean B
                # rose 45 -> 63 while R-work rose too. Holding the scales' isotropic
                # fall-off did not stop it (mean B 60, rfree.py 0.2830); the ADP
                # restraint's normalization frozen per segment did (mean B 52), but
                # R-free rose all the same (rfree.py 0.2824), with the waters fixed too
                # (0.2721 -> 0.2772 over the run): the coordinates over-fit there.
                # What is kept is the scale of the initial inverse Hessian per block
                # (Lbfgs.h0, from the last segment's last pair): a segment's first step
                # then has the length of the last one, not unit length along -g. The
                # shipped macro on deposited data: 1aba 10+110 steps instead of 10+150,
                # 2r4r 10+60 instead of 10+120, 1d7m and 1l2h as before; R-free (rfree.py
                # / cctbx) 1aba 0.1683 / 0.1629, 1d7m 0.2761 / 0.2683, 2r4r 0.2635 / 0.2582
                # (before 0.2620 / 0.2592). Truth benchmark: 1aba 0.6 A 16.4 -> 12.7 s,
                # 1d7m 0.6 A 18.9 -> 15.8 s at the same rmsd; 2r4r 0.3 A 14.7 -> 17.4 s,
                # rmsd 0.326 -> 0.352 A (servalcat 0.523).
                # Memory kept again with the settled data weight (weighting.py): the
                # runs that crept now end and stay (3dcy 10+80 steps, twice as long
                # +0.0002 / -0.0007 by rfree.py / cctbx; 2r4r 10+70, 0.0000) and the
                # truth benchmark's 1aba 0.3 A took 100 steps instead of 170 (rmsd
                # 0.060 against 0.058 A); but 1d7m then over-fits, twice as long
                # +0.0079 / +0.0052 (1l2h +0.0029 / +0.0026): between 90 and 180 steps
                # its protein moves 0.23 A rms, 0.31 -> 0.43 A from the deposited model.
                # Neither a bond target of 0.007 (+0.0083), nor D and S from the work
                # set (+0.0072), nor one B per residue (+0.0118) stops it: at 2.4 A the
                # objective's optimum lets the coordinates wander, and a faster
                # minimizer only gets there sooner.
                lo, hi = pk.bounds()
                opt = Lbfgs(memory=20, blocks=pk.blocks(), h0=scale,
                            precond=pk.preconditioner(objective, base))
                res = opt.minimize(fg, x0, lo, hi, max_iter=seg_steps, gtol=1e-10,
                                   ftol=1e-14)
            reason, message = "converged", str(res.message)
        except _Stop as s:
            reason, message = s.reason, s.message
        if opt is not None:
            scale = opt.h0
        if "x" in best:       # (before settle: a TLS model's settle uses it)
            result.adp_state = pk.adp_state(best["x"]) or result.adp_state
        current = pk.settle(best["atoms"])
        step += count["n"]
        if reason in ("stopped", "nan"):
            result.reason, result.message = reason, message
            break
        if reason == "converged" and count["n"] < seg_steps:
            # nothing left to gain with this objective; a re-phase may change that
            if between is None:
                result.reason, result.message = "converged", message
                break
        if step < steps and between is not None and run_between(between, current, result):
            break
    result.atoms = current
    result.steps = step
    return result


def regularize(atoms, energy, moving=None, steps: int = 200, on_step=None) -> RunResult:
    """Geometry minimization: the restraint ``energy`` (mainpy.restraints.energy.Energy)
    alone over the moving atoms' coordinates, by the same minimizer."""
    from mainpy.refine.objective import Objective, Part, RestraintTarget
    objective = Objective([Part("restraints", 1.0, RestraintTarget(energy))])
    return minimize(atoms, objective, ("xyz",), moving, steps, on_step=on_step)


def run_between(between, atoms, result: RunResult) -> bool:
    """Call between(atoms) before the next segment; True (and the result's reason set
    to "gain") if it asks the run to stop."""
    stop = between(atoms)
    if stop:
        result.reason, result.message = "gain", str(stop)
    return bool(stop)
