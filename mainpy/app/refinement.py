"""The refinement run: MINIMIZE and REFINE without the language.

A `RefinementRun` owns one minimization of the session's model: the objective of the
terms that are on (`mainpy.app.terms`), MAIN's data weight (`mainpy.refine.weighting`),
the segments of the driver with what happens between them (RE_PHASE of the run's own
Fmodel, the X-ray target's per-cycle `refresh()`, the phase macro, the map targets
following their maps, GAIN_R-VALUE, the weight re-adjusted towards the bond-rmsd target),
the stop flag (Ctrl-C, key e in the window), the progress lines and the before/after
report. The session's model is the run's best model at every segment boundary and at the
end, so an interrupted run leaves a consistent model.

    run = RefinementRun(session, RunSettings(params=("xyz", "b"), steps=20, phase_steps=10))
    result = run.run()
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

from mainpy.errors import MainpyError

#: MAIN's default step count of MINIMIZE / REFINE
DEFAULT_STEPS = 50
#: without re-phasing, the data weight is re-adjusted every this many steps
READJUST_EVERY = 100
#: CONVERGE r ends a run when R-free (R-work where the data have no test set) improved by
#: less than r over this many re-phasings (one cycle is noisy: the data weight's
#: re-adjustment moves R by ~0.001 either way). R-free alone: R-work still falling while
#: R-free is flat is the model fitting the work set's noise. From shaken starts of
#: simulated data with a known truth (bench_truth.py, 200-step runs) the rmsd to the truth
#: then grows while R-work falls (1d7m 0.6 A: 0.180 A at step 70, 0.205 at 190, R-work
#: 0.097 -> 0.094, R-free 0.1224 -> 0.1235), and waiting for R-work to stop as well (as
#: until now) cost 40 steps there and 0.008 A; on deposited 1aba, 1d7m and 2r4r 20-30 steps
#: for the same R-free. R-free still falling is still progress (2r4r, 3dcy, 1aba: a run
#: twice as long lowered R-free by 0.002-0.004 when R-work alone decided)
CONVERGE_CYCLES = 3
#: a re-weighting of the data by less than this factor (the weight still finding its
#: level, e.g. from a shaken start) starts the CONVERGE window again: R-work rising
#: while the geometry takes over is not convergence
CONVERGE_RESTART_BELOW = 0.5
#: B-VALUES ADP models (mainpy.refine.adp_params): each atom as it is (None), all
#: isotropic, non-water atoms anisotropic, TLS groups + residual B, one B per residue,
#: one B for the main chain and one for the side chain of each residue, or chosen by
#: resolution and data-to-parameter ratio (mainpy.app.adp.choose_adp)
ADP_MODELS = ("iso", "aniso", "tls", "group", "group2", "shared", "auto")


@dataclass
class KickSettings:
    """PHASE KICK r [SEED s] [decay law]: MAIN's kick protocol."""

    amplitude: float
    law: str = "linear"
    seed: int | None = None


@dataclass
class RunSettings:
    """What one MINIMIZE / REFINE sentence asks for."""

    params: tuple = ("xyz",)
    moving: object = None                # bool array: atoms that move (all if None)     # atoms that move (all if None)
    steps: int = DEFAULT_STEPS
    method: str = "lbfgs"                # lbfgs | conj | body
    bodies: list | None = None           # atom rows of each rigid body (BY BODY)
    write_step: int | None = None        # progress every n steps (default steps // 10)
    phase_steps: int | None = None       # RE_PHASE every n steps
    phase_macro: str | None = None       # macro run after each RE_PHASE
    kick: KickSettings | None = None
    gain: float | None = None            # GAIN_R-VALUE
    converge: float | None = None        # CONVERGE r: R-free gain over CONVERGE_CYCLES
    target_rmsd: float | None = None     # ADJUST BOND r (default 0.02)
    angle_rmsz: float | None = None      # ADJUST ANGLE z: the angles' rms Z at most z
    fixed_weight: float | None = None    # ADJUST WEIGHT w: the data weight, kept fixed
    adp: str | None = None               # B-VALUES model: None (as the atoms are) or ADP_MODELS

    def check(self) -> None:
        if self.steps < 0:
            raise MainpyError(f"the number of steps cannot be negative ({self.steps})")
        if self.kick is not None:
            if self.kick.amplitude < 0:
                raise MainpyError(f"a kick amplitude cannot be negative "
                                  f"({self.kick.amplitude:g})")
            if self.bodies is not None:
                raise MainpyError("PHASE KICK kicks atoms; it does not go with BY BODY")
        if self.fixed_weight is not None and self.fixed_weight <= 0:
            raise MainpyError(f"a data weight must be positive ({self.fixed_weight:g})")
        if self.angle_rmsz is not None and self.angle_rmsz <= 0:
            raise MainpyError(f"an angle rms Z limit must be positive ({self.angle_rmsz:g})")
        if self.phase_steps is not None and self.phase_steps < 1:
            raise MainpyError(f"PHASE STEPS needs at least 1 step ({self.phase_steps})")
        if self.adp is not None and self.adp not in ADP_MODELS:
            raise MainpyError(f"unknown ADP model {self.adp!r}: one of {', '.join(ADP_MODELS)}")

    @property
    def adjusts_weight(self) -> bool:
        """MAIN's re-adjustment by bond rmsd: only when atoms move freely (occupancy-only
        and rigid-body runs cannot change bonds) and no fixed weight is given."""
        return (self.fixed_weight is None and "xyz" in self.params
                and self.bodies is None)


@dataclass
class RunReport:
    """What a run did: its driver result, and the figures before and after."""

    result: object                        # mainpy.refine.driver.RunResult
    before: dict
    after: dict
    history: list = field(default_factory=list)   # (step, total, {part: value}, R-work)
    log: object = None       # mainpy.app.history.RunHistory: the run's history as data


def bond_rmsd(session, atoms) -> float | None:
    """rmsd of the bond lengths from their ideal values over the bonds of every geometry
    figure (`figure_atoms_left_out`): the weighting's target means the same with riding H
    or without, and bonds held loosely to metal ions do not decide it (None without
    restraints or such bonds)."""
    rms = figure_rms(session, atoms, "bond")
    return None if rms is None else rms[0]


def figure_rms(session, atoms, kind: str) -> tuple[float, float] | None:
    """(rmsd, rms Z) of the bonds (``kind`` "bond") or angles ("angle") that the geometry
    figures count, without computing the other kinds (None without restraints or such)."""
    r = session.restraints
    if r is None:
        return None
    import numpy as np

    from mainpy.restraints.validation import angle_values, bond_values, left_out
    idx, values, ideal, esd = ((r.bond_idx, bond_values, r.bond_ideal, r.bond_esd)
                               if kind == "bond" else
                               (r.angle_idx, angle_values, r.angle_ideal, r.angle_esd))
    if len(ideal) == 0:
        return None
    keep = ~left_out(idx, figure_atoms_left_out(session, atoms))
    if not keep.any():
        return None
    d = values(atoms.xyz, r)[keep] - ideal[keep]
    return float(np.sqrt(np.mean(d ** 2))), float(np.sqrt(np.mean((d / esd[keep]) ** 2)))


def figure_atoms_left_out(session, atoms):
    """Boolean per atom: hydrogens and metal atoms, whose restraints the geometry figures
    leave out as phenix, servalcat and wwPDB validation do (riding H sit at their ideal
    places and would dilute them; a metal ion's bonds, held at their input lengths with
    an esd of 0.05 A, move with its waters and would decide them: 1ehz's 35 Mg-O bonds at
    0.09 A rms made the bond rmsd 0.0137 where the RNA's were at 0.005)."""
    from mainpy.refine.riding import is_hydrogen
    out = is_hydrogen(atoms)
    r = session.restraints
    if r is not None and len(r.is_metal) == len(out):
        out = out | r.is_metal
    return out


def geometry_summary(session, atoms, written=None) -> dict:
    """`validation.summary` of the session's restraints at ``atoms`` over the restraints
    of no hydrogen or metal atom (`figure_atoms_left_out`); with ``written`` (a mask),
    of those atoms alone."""
    from mainpy.restraints import validation
    out = figure_atoms_left_out(session, atoms)
    return validation.summary(atoms.xyz, session.restraints,
                              leave_out=out if written is None else out | ~written)


def report_figures(session, atoms) -> dict:
    """Mean B, R-work/R-free of the session's Fmodel, rmsd bonds/angles, inverted chiral
    centres and Ramachandran outliers of ``atoms``."""
    import numpy as np
    out = {"mean B": float(np.mean(atoms.b))}
    if session.reflections is not None and session.fmodel is not None:
        from mainpy.app.phasing import need_fmodel
        from mainpy.app.reports import free_error
        fm = need_fmodel(session)
        out["R-work"], out["R-free"] = fm.r_factors()
        e = free_error(fm)
        if e is not None:
            out["R-free error"] = e[0]    # a small test set (reports.SMALL_TEST_SET)
    if session.restraints is not None:
        from mainpy.restraints import validation
        summ = geometry_summary(session, atoms)
        out["rmsd bonds"] = summ["bond"]["rmsd"]
        out["rmsd angles"] = summ["angle"]["rmsd"]
        out["chirals inverted"] = len(validation.chirality_inverted(atoms.xyz, session.restraints))
        out["Rama outliers"] = validation.rama_summary(session.model.synced_structure())["outlier"]
    return out


def report_lines(before: dict, after: dict) -> list[str]:
    """The before/after table of a run."""
    lines = [f" {'':<18} {'before':>10} {'after':>10}"]
    for k in before:
        a, b = before[k], after.get(k)
        fmt = (lambda v: f"{v:10d}") if isinstance(a, int) else (lambda v: f"{v:10.4f}")
        lines.append(f" {k:<18} {fmt(a)} {fmt(b) if b is not None else '':>10}")
    return lines


ENDED_BY = {"steps": "the step limit", "converged": "convergence", "nan": "a NaN",
            "gain": "GAIN_R-VALUE"}


class ConvergeWindow:
    """CONVERGE r: R-work and R-free of each re-phasing; converged when R-free (R-work
    without a test set) improved by less than r over the last CONVERGE_CYCLES, counted
    again after a re-weighting by less than CONVERGE_RESTART_BELOW."""

    def __init__(self, r: float | None):
        self.r = r
        self.values: list = []

    def add(self, r_work: float, r_free: float | None = None) -> str:
        """Take this re-phasing's R-work (and R-free); the reason to stop ("" while not
        converged)."""
        self.values.append((r_work, r_free))
        c, k, v = self.r, CONVERGE_CYCLES, self.values
        if c is None or len(v) <= k:
            return ""
        a, b = v[-k - 1], v[-1]
        free = all(x[1] is not None and math.isfinite(x[1]) for x in (a, b))
        if (a[1] - b[1] if free else a[0] - b[0]) >= c:
            return ""
        what = "R-free" if free else "R-work (no test set)"
        return (f"{what} improved by less than {c:g} over the last {k} re-phasings "
                + (f"(R-free {a[1]:.4f} -> {b[1]:.4f}, R-work {a[0]:.4f} -> {b[0]:.4f})"
                   if free else f"(R-work {a[0]:.4f} -> {b[0]:.4f})"))

    def reweighted(self, factor: float) -> None:
        if factor < CONVERGE_RESTART_BELOW:
            self.values = []


class RefinementRun:
    """One minimization of the session's model (module docstring)."""

    def __init__(self, session, settings: RunSettings):
        import numpy as np

        from mainpy.app.terms import build_objective
        from mainpy.refine.weighting import DEFAULT_BOND_RMSD, DataWeight
        settings.check()
        self.session = session
        self.s = settings
        atoms = session.atoms
        self.moving = np.ones(len(atoms), bool) if settings.moving is None \
            else np.asarray(settings.moving, bool)
        if not self.moving.any():
            raise MainpyError("the moving selection has no atoms")
        self.write_step = settings.write_step or max(1, settings.steps // 10)
        self.phase_steps = settings.phase_steps
        if settings.kick is not None and self.phase_steps is None:
            from mainpy.refine.kick_protocol import ROUND_STEPS
            self.phase_steps = ROUND_STEPS
        self.riding = self._riding() if settings.bodies is None else None
        self.adp = self._adp_model() if "b" in settings.params else None
        self.objective = build_objective(session)
        rpart = self.objective.part("restraints")
        if getattr(self.adp, "kind", None) == "tls" and rpart is not None:
            rpart.target.iso_rows = self.adp.member_of >= 0   # restrained on B_eq
        target = settings.target_rmsd if settings.target_rmsd is not None \
            else DEFAULT_BOND_RMSD
        self.weight = DataWeight(self.objective, target, angle_max=settings.angle_rmsz)
        kept = session.data_weight
        if settings.fixed_weight is not None:
            self.weight.w = settings.fixed_weight
            self.weight.apply()
        elif kept is not None and kept[0] == self.weight.key:
            self.weight.w = kept[1]           # the weight the last run ended with
            self.weight.apply()
        else:
            self.weight.balance(atoms, self.moving)
        self.history: list = []
        self._kept = None       # (Progress, R-work) of the last evaluation kept
        from mainpy.app.history import RunHistory
        self.log = RunHistory(self.describe(), session.restraints)
        self._window = ConvergeWindow(settings.converge)      # CONVERGE's R-works
        self._converged = ""
        self._last_r = session.variables.get("R_WORK")
        self._step = 0
        self._since_adjust = 0

    # ------------------------------------------------------------------ pieces
    def _adp_model(self):
        """The B-VALUES model: atoms converted as the model asks (said in one line), and
        the factory the driver calls (mainpy.refine.adp_params)."""
        from mainpy.app.adp import adp_factory
        factory, line = adp_factory(self.session, self.moving, self.s.adp)
        if line:
            self.session.echo(line)
        return factory

    def _riding(self):
        """Riding hydrogens of the run (mainpy.app.hydrogens), said in one line."""
        from mainpy.app.hydrogens import riding
        r, line = riding(self.session, self.moving)
        if line:
            self.session.echo(line)
        if r is not None and "b" in self.s.params:       # a riding H is isotropic
            import numpy as np

            from mainpy.refine.adp_params import make_isotropic
            rows = np.zeros(len(self.session.atoms), bool)
            rows[r.riders(self.moving)] = True
            atoms, k = make_isotropic(self.session.atoms, rows)
            if k:
                self.session.model.atoms = atoms
        return r

    def describe(self) -> str:
        s = self.s
        what = f"{len(s.bodies)} rigid bodies" if s.bodies is not None \
            else f"{int(self.moving.sum())} atoms"
        terms = ", ".join(f"{p.name} {p.weight:.3g}" for p in self.objective.parts)
        fixed = " (data weight fixed)" if s.fixed_weight is not None else ""
        return (f" minimizing {what} ({' '.join(s.params)}), {s.steps} steps; "
                f"terms: {terms}{fixed}")

    def _on_step(self, p) -> bool:
        """After every evaluation: the history, the progress line on WRITE_STEP steps,
        the step hooks (the window). A line-search trial the minimizer does not keep
        (worse than a step before it) adds no history row, and the line and hooks show
        the model kept (a trial's figures describe no model the run holds)."""
        session = self.session
        self._step = p.step
        shown = p.step % self.write_step == 0 or p.step == 1
        ev = p.evaluation
        x = ev.info.get("xray")
        r = x.get("r_work") if x else None
        if p.kept or self._kept is None:
            self._kept = (p, r)
            self.history.append((p.step, ev.total, dict(ev.values), r))
            self.log.step(p.step, ev.total, ev.values, r, p.atoms.xyz, self._data_weight())
        kept, r_kept = self._kept
        if shown:
            self._progress_line(p.step, kept, r_kept)
        for hook in list(session.step_hooks):
            hook(session, p.step, kept.atoms, shown)
        return bool(session.stop)

    def _progress_line(self, step, p, r_work):
        """The step line of WRITE_STEP: the figures of ``p`` (the model kept at
        ``step``; said so when it is an earlier step's)."""
        ev = p.evaluation
        parts = "  ".join(f"{k} {v:.5g}" for k, v in ev.values.items())
        r = f"  R-work {r_work:.4f}" if r_work is not None else ""
        rmsd = bond_rmsd(self.session, p.atoms)
        b = f"  rmsd bonds {rmsd:.4f}" if rmsd is not None else ""
        of = f"  (step {p.step}'s model: step {step} was a trial not kept)" \
            if p.step != step else ""
        self.session.echo(f"  step {step:5d}  total {ev.total:.6g}  {parts}{r}{b}{of}")

    def _between(self, atoms):
        """Between segments: the session gets the model, RE_PHASE (and its macro), the
        GAIN_R-VALUE test, the data weight re-adjusted."""
        session = self.session
        session.model.atoms = atoms
        session.notify()
        if self.phase_steps:
            self.rephase(atoms)
            if self.s.phase_macro:
                session.interpreter.run_macro(self.s.phase_macro)
                self.refresh_map_targets()      # the macro may remake the maps
            r = session.variables.get("R_WORK")
            g = self.s.gain
            if g is not None and g < 1 and self._last_r is not None and r is not None:
                if self._last_r - r < g:
                    return (f"R-work improved by less than {g:g} "
                            f"({self._last_r:.4f} -> {r:.4f})")
            self._last_r = r
            if r is not None:
                self._converged = self._window.add(r, session.variables.get("R_FREE"))
                if self._converged:
                    return self._converged
        if self.s.adjusts_weight and (self.phase_steps or
                                      self._step - self._since_adjust >= READJUST_EVERY):
            self._since_adjust = self._step
            adj = self.weight.readjust(*self._geometry(atoms))
            if adj is not None:
                session.echo(f"  step {self._step}: {adj.describe()}")
                self._window.reweighted(adj.factor)
        return None

    def rephase(self, atoms) -> None:
        """RE_PHASE during the run: new Fcalc, mask and scales of the run's Fmodel (a
        warm update); every target refreshes its per-cycle parameters."""
        from mainpy.app.phasing import install, rephase
        session = self.session
        if session.reflections is None or session.model is None:
            self.refresh_map_targets()
            return
        part = self.objective.part("xray")
        if part is not None:
            fm = part.target.fmodel
            fm.update(atoms)
            if hasattr(part.target, "set_atoms"):   # the free-kick target kicks this model
                part.target.set_atoms(atoms)
            part.target.refresh()
            install(session, fm)
        else:
            fm = rephase(session)
        self.refresh_map_targets()
        rw, rf = fm.r_factors()
        self.log.rephase(self._step, rw, rf)
        from mainpy.app.reports import free_error_note
        session.echo(f"  RE_PHASE: R-work {rw:.4f}  R-free {rf:.4f}{free_error_note(fm)}")

    def refresh_map_targets(self) -> None:
        """Point the density / difference-map targets at their maps as they are now."""
        from mainpy.app.terms import map_target
        for t in ("dens", "diff"):
            part = self.objective.part(t)
            n = self.session.ener[t]["map"]
            if part is not None and (n in self.session.maps
                                     or (t == "dens" and n in self.session.em)):
                part.target = map_target(self.session, t)
        part = self.objective.part("em")
        if part is not None:        # D and S per shell for the model as it is now
            part.target.set_atoms(self.session.atoms)
            part.target.refresh()

    def _on_kick(self, k, a):
        from mainpy.refine.kick_protocol import B_PER_A
        if a > 0:
            b = f", B by up to +/-{a * B_PER_A:.3g}" if "b" in self.s.params else ""
            self.session.echo(f"  round {k + 1}: kick up to {a:.3f} A{b}", level=2)

    # ------------------------------------------------------------------ the run
    def run(self) -> RunReport:
        """Run to the step limit, convergence, a stop request, a NaN or GAIN_R-VALUE;
        the session's model is the result, its Fmodel and R_WORK/R_FREE those of it."""
        from mainpy.refine.driver import minimize
        from mainpy.refine.stop import ctrl_c_stops
        session, s = self.session, self.s
        before = report_figures(session, session.atoms)
        self.log.start(before, self._data_weight())
        session.echo(self.describe())
        if session.reflections is not None and not self.weight.data:
            session.warn("the reflections are not used: the X-ray term is off, so this run "
                         "refines against the restraints alone (ener xray on uses the data)")
        segment = self.phase_steps or READJUST_EVERY
        with ctrl_c_stops(session.stop):
            if s.kick is None:
                result = minimize(session.atoms, self.objective, s.params, self.moving,
                                  s.steps, s.method, segment=segment, on_step=self._on_step,
                                  between=self._between, bodies=s.bodies, adp=self.adp,
                                  riding=self.riding)
            else:
                from mainpy.refine.kick_protocol import kick_protocol
                k = s.kick
                session.echo(f" kick protocol: amplitude {k.amplitude:g} A falling "
                             f"{k.law}ly to 0, rounds of {self.phase_steps} steps"
                             + (f", seed {k.seed}" if k.seed is not None else ""))
                result = kick_protocol(session.atoms, self.objective, s.params, self.moving,
                                       s.steps, k.amplitude, k.law, k.seed,
                                       round_steps=self.phase_steps, method=s.method,
                                       on_step=self._on_step, between=self._between,
                                       on_kick=self._on_kick, adp=self.adp,
                                       riding=self.riding)
        if self._converged and result.reason == "gain":
            result.reason, result.message = "converged", self._converged
        session.model.atoms = result.atoms
        self._keep_tls()
        adj = self.weight.readjust(*self._geometry(result.atoms)) \
            if result.steps >= 10 and s.adjusts_weight else None
        if adj is not None:
            session.echo(f"  for the next run: {adj.describe()}")
        if self.weight.data and s.adjusts_weight:
            session.data_weight = (self.weight.key, self.weight.w)
        self._final_phase()
        session.notify()
        after = report_figures(session, session.atoms)
        end = ENDED_BY.get(result.reason) or \
            f"a stop request ({session.stop.source or 'stop flag'})"
        session.echo(f" {result.steps} steps, ended by {end}"
                     + (f": {result.message}" if result.reason in ("nan", "gain")
                        or self._converged else ""))
        for line in report_lines(before, after):
            session.result(line)
        self.log.finish(result.steps, after)
        session.keep_run(self.log)
        session.stop.ran(result)     # a stop stays set: the interpreter ends the macros
        return RunReport(result, before, after, self.history, self.log)

    def _geometry(self, atoms) -> tuple:
        """(bond rmsd, angles' rms Z or None) for the weighting: the angles only when
        ADJUST ANGLE limits them."""
        b = bond_rmsd(self.session, atoms)
        if self.s.angle_rmsz is None or b is None:
            return b, None
        angles = figure_rms(self.session, atoms, "angle")
        return b, None if angles is None else angles[1]

    def _data_weight(self) -> float | None:
        """The data weight now (None when no data term is on)."""
        return float(self.weight.w) if self.weight.data else None

    def _final_phase(self) -> None:
        """The R-values of the report are those of the final model."""
        from mainpy.app.phasing import install, rephase
        session = self.session
        xpart = self.objective.part("xray")
        if xpart is not None:      # scales from scratch: the figures of any fresh fit
            from mainpy.xtal.fmodel import atoms_key
            fm = xpart.target.fmodel
            if fm.atoms_key == atoms_key(session.atoms):    # the last RE_PHASE's model:
                fm.fit_scales(warm=False)                   # its Fcalc and mask hold
            else:
                fm.update(session.atoms, warm=False)
            if "b" in self.s.params:
                self._b_from_scale(fm)
            install(session, fm)
        elif session.fmodel is not None:
            rephase(session)
        epart = self.objective.part("em")
        if epart is not None and "b" in self.s.params:
            self._b_from_em(epart.target)

    def _b_from_em(self, target) -> None:
        """The overall B of the EM map beyond the model (`EmTarget.overall_b`, fitted to
        D per shell) moved into the moving isotropic atoms' B, as servalcat's overall
        scale does: the target does not see it (D absorbs it), the written B-values and
        map-model figures (CC_mask) do."""
        import numpy as np

        from mainpy.refine.adp_params import B_MAX, B_MIN, aniso_rows
        atoms = self.session.atoms
        target.set_atoms(atoms)
        target.refresh()
        iso = self.moving & ~aniso_rows(atoms)
        if not iso.any():
            return
        b = target.overall_b()
        b = max(b, B_MIN - float(atoms.b[iso].min()))
        if abs(b) < 0.5:
            return
        new_b = atoms.b.copy()
        new_b[iso] = np.clip(atoms.b[iso] + b, B_MIN, B_MAX)
        self._ride_b(new_b, atoms.aniso)
        self.session.model.atoms = atoms.replace(b=new_b)
        target.set_atoms(self.session.atoms)
        target.refresh()
        self.session.echo(f"  overall B of the EM map ({b:+.1f} A^2) moved into the atoms' B",
                          level=2)


    def _b_from_scale(self, fm) -> None:
        """Give the atoms the overall B that the scale fit took (its exp(-B s^2/4)
        factor): the B-values written are then absolute, as the truth's (on simulated
        data the shipped run left 1d7m's mean B at 35 where the truth's is 58), and R is
        unchanged to round-off (the data see B_atom + B_scale either way)."""
        import numpy as np

        from mainpy.refine.adp_params import (B_MAX, B_MIN, EIGHT_PI2, aniso_rows,
                                              b_equivalent, smallest_principal_b)
        b = float(getattr(fm.scales, "b_iso", 0.0) or 0.0)
        if abs(b) < 0.5:
            return
        atoms = self.session.atoms
        moving = self.moving
        an = aniso_rows(atoms) & moving
        if b < 0:       # no atom's B, nor any principal B of a U, goes below B_MIN
            low = [atoms.b[moving & ~an], smallest_principal_b(atoms.aniso[an])]
            floor = float(np.concatenate(low).min()) if moving.any() else B_MIN
            b = max(b, min(0.0, B_MIN - floor))
            if abs(b) < 0.5:
                return
        new_b, u = atoms.b.copy(), atoms.aniso.copy()
        iso = moving & ~an
        new_b[iso] = np.clip(atoms.b[iso] + b, B_MIN, B_MAX)   # clipped at B_MAX only
        u[an, :3] += b / EIGHT_PI2             # the same isotropic B added to U
        new_b[an] = b_equivalent(u[an])
        self._ride_b(new_b, u)
        self.session.model.atoms = atoms.replace(b=new_b, aniso=u)
        self._shift_tls(b / EIGHT_PI2)
        fm.update(self.session.atoms, mask=False, warm=False)   # (the mask sees no B)
        self.session.echo(f"  overall B of the scale ({b:+.1f} A^2) moved into the atoms' B",
                          level=2)


    def _ride_b(self, b, aniso) -> None:
        """Riding hydrogens' B (in ``b``, in place) put back at 1.2 B of their parents
        after an overall shift."""
        if self.riding is not None:
            rows = self.riding.riders(self.moving)
            b[rows] = self.riding.b_of_parents(b, aniso, rows)

    def _keep_tls(self) -> None:
        """The session's TLS groups after the run: the refined tensors of a TLS run; zero
        tensors for groups whose atoms' ADPs refined without them."""
        if self.adp is None:
            return
        if getattr(self.adp, "kind", None) == "tls":
            self.session.tls = list(self.adp.groups)
            return
        from mainpy.app.tls import reset_tensors
        k = reset_tensors(self.session, self.moving)
        if k:
            self.session.echo(f" {k} TLS group(s) no longer describe their atoms' ADPs: "
                              "their T, L, S set to zero (B-VALUES TLS refines them)")

    def _shift_tls(self, du: float) -> None:
        """TLS groups of the run take the isotropic shift in T (their residual B keep)."""
        if getattr(self.adp, "kind", None) != "tls":
            return
        from mainpy.app.tls import shift_t
        shift_t(self.session, du)


def refine(session, settings: RunSettings) -> RunReport:
    """Run one minimization of the session's model (see `RefinementRun`)."""
    return RefinementRun(session, settings).run()
