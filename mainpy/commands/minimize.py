"""MINIMIZE and REFINE: the minimizer over the energy terms that are on.

MINIMIZE moves the atoms of the first selection (key ACTIVE without one); REFINE moves
all atoms. The objective is the restraint energy plus, when switched on with ENER, the
X-ray target and the density / difference-map targets, each times its ENER scale; the
data terms are weighted against the restraints by MAIN's rule (ADJUST BOND r, default
0.02 A): set at the start where the unscaled gradients balance, then re-adjusted so that
the bond rmsd approaches r at every RE_PHASE (PHASE STEPS n), or every 100 steps when
there is no re-phasing.
"""

from __future__ import annotations

from mainpy.errors import MainpyError, ScienceError
from mainpy.lang.registry import Choice, Clause, File, Int, Real, Sele, command

DEFAULT_STEPS = 50
READJUST_EVERY = 100
#: limits of one re-adjustment of the data weight (factor (r / rmsd)^2 clamped to these)
MAX_DOWN, MAX_UP = 0.1, 2.0
DEFAULT_BOND_RMSD = 0.02


# ---------------------------------------------------------------------------- objective

def data_targets(session):
    """[(name, scale, Target)] for the data terms switched on with ENER."""
    out = []
    e = session.ener
    if any(e[t]["on"] for t in ("xray", "dens", "diff")):
        an = (session.atoms.aniso != 0).any(axis=1)
        if an.any():
            raise MainpyError(
                f"{int(an.sum())} atoms have anisotropic U (ANISOU records); the X-ray and "
                "density targets refine isotropic B only: `set temp iso` makes them "
                "isotropic (B = 8 pi^2 tr(U) / 3)")
    if e["xray"]["on"]:
        from mainpy.commands.refl import run_fmodel
        from mainpy.targets.xray import xray_target
        fm = run_fmodel(session)       # the run's own: re-phased in place as it goes
        kind = e["xray"]["target"]
        if kind == "kick":             # ML with free-kick sigmaA (work set only)
            from mainpy.targets.kick import FreeKickMlTarget
            out.append(("xray", e["xray"]["scale"], FreeKickMlTarget(fm, session.atoms)))
        else:
            out.append(("xray", e["xray"]["scale"], xray_target(kind, fm)))
    for t in ("dens", "diff"):
        if e[t]["on"]:
            from mainpy.commands.maps import get_map
            from mainpy.targets.density import DensityTarget, DifferenceMapTarget
            grid = get_map(session, e[t]["map"])
            cls = DensityTarget if t == "dens" else DifferenceMapTarget
            out.append((t, e[t]["scale"], cls(grid)))
    return out


def build_objective(session):
    from mainpy.commands.ener import apply_terms
    from mainpy.refine.objective import Objective, Part, RestraintTarget
    parts = []
    restraints_on = any(st["on"] for t, st in session.ener.items()
                        if t not in ("xray", "dens", "diff"))
    if session.energy is None and restraints_on:
        raise ScienceError("no restraints: build them with `define bond angle dihe impr by "
                           "topo` (or switch them off with `ener all off` and the data "
                           "term on, to refine against data alone)")
    if session.energy is not None and restraints_on:
        session.energy.restart()     # contacts from this run's start: reproducible runs
        parts.append(Part("restraints", 1.0, RestraintTarget(apply_terms(session,
                                                                          session.energy))))
    for name, scale, target in data_targets(session):
        parts.append(Part(name, scale, target))
    if not parts:
        raise ScienceError("nothing to minimize: every term is off (ener bond on, ener xray "
                           "on, ener dens on map n, ...)")
    return Objective(parts)


def bond_rmsd(session, atoms) -> float | None:
    if session.restraints is None or len(session.restraints.bond_ideal) == 0:
        return None
    import numpy as np

    from mainpy.restraints.geometry import bond_values
    r = session.restraints
    return float(np.sqrt(np.mean((bond_values(atoms.xyz, r) - r.bond_ideal) ** 2)))


class Weighting:
    """MAIN's weighting of data against chemistry: the data weight w multiplies every data
    term; it starts where data and restraint gradients balance and is re-adjusted so that
    the bond rmsd approaches the target."""

    def __init__(self, session, objective, target_rmsd, params, moving):
        self.session = session
        self.objective = objective
        self.target = target_rmsd
        self.data = [p for p in objective.parts if p.name != "restraints"]
        self.scales = {p.name: p.weight for p in self.data}
        self.w = 1.0
        self.key = tuple(sorted(p.name for p in self.data))
        kept = session.data_weight
        if kept is not None and kept[0] == self.key:
            self.w = kept[1]           # the weight the last run ended with
        elif self.data and objective.part("restraints") is not None:
            # the ENER scales of data terms are their weights relative to each other; the
            # overall data weight comes from MAIN's rule (balance, then the bond rmsd)
            norms = objective.gradient_norms(session.atoms, ("xyz",), moving)
            g_data = sum(norms[p.name] * self.scales[p.name] for p in self.data)
            g_restr = norms["restraints"]
            self.w = g_restr / g_data if g_data > 0 else 1.0
        self.apply()

    def keep(self):
        """Remember the weight for the next run with the same data terms."""
        if self.data:
            self.session.data_weight = (self.key, self.w)

    def apply(self):
        for p in self.data:
            p.weight = self.w * self.scales[p.name]

    def readjust(self, atoms) -> str:
        rmsd = bond_rmsd(self.session, atoms)
        if rmsd is None or not self.data or rmsd <= 0:
            return ""
        # down fast (geometry first: a model far from the target, e.g. a shaken start whose
        # gradient balance gave far too high a weight), up at most x2 per re-adjustment
        factor = min(MAX_UP, max(MAX_DOWN, (self.target / rmsd) ** 2))
        self.w *= factor
        self.apply()
        return f"data weight x{factor:.2f} (bond rmsd {rmsd:.4f}, target {self.target:g})"


# ---------------------------------------------------------------------------- the command

def _params(args):
    out = []
    if "position" in args or not ({"b_values", "occu"} & set(args.names())):
        out.append("xyz")
    if "b_values" in args:
        out.append("b")
    if "occu" in args:
        out.append("occ")
    return tuple(out)


def _phase_settings(args):
    """(PHASE STEPS, PHASE MACRO, kick settings or None) from the PHASE clauses."""
    steps, macro, kick = None, None, {}
    for g in args.all("phase"):
        if "steps" in g:
            steps = g["steps"]
        if "macro" in g:
            macro = g["macro"]
        if "kick" in g:
            kick["amplitude"] = g["kick"]
        if "seed" in g:
            kick["seed"] = g["seed"]
        laws = [law for law in ("linear", "square", "exponential") if law in g]
        if "decay" in g:
            laws.append(g["decay"])
        for law in laws:
            if kick.get("law", law) != law:
                raise MainpyError("PHASE KICK takes one decay law: LINEAR, SQUARE or "
                                  "EXPONENTIAL")
            kick["law"] = law
    if kick and "amplitude" not in kick:
        raise MainpyError("PHASE SEED and the decay laws belong to PHASE KICK r")
    if kick:
        if kick["amplitude"] < 0:
            raise MainpyError(f"a kick amplitude cannot be negative ({kick['amplitude']:g})")
        kick.setdefault("law", "linear")
        kick.setdefault("seed", None)
    return steps, macro, (kick or None)


def _minimize(session, args, all_atoms=False):
    import numpy as np

    from mainpy.refine.driver import minimize
    from mainpy.refine.stop import ctrl_c_stops
    model = session.need_model()
    sels = args.all("sele")
    if all_atoms or not sels:
        moving = np.ones(len(model.atoms), bool) if all_atoms else session.key_masks()["active"]
    else:
        moving = session.select(sels[0])
    if not moving.any():
        raise MainpyError("the moving selection has no atoms")
    steps = args.get("step", DEFAULT_STEPS)
    writ = args.get("write_step", max(1, steps // 10))
    params = _params(args)
    method = args.get("by", "lbfgs")
    bodies = None
    if method == "body":
        seg = model.atoms.codes("segment")[1]
        bodies = [np.flatnonzero(moving & (seg == k)) for k in np.unique(seg[moving])]
    phase_steps, phase_macro, kick = _phase_settings(args)
    if kick is not None and bodies is not None:
        raise MainpyError("PHASE KICK kicks atoms; it does not go with BY BODY")
    if kick is not None and phase_steps is None:
        from mainpy.refine.kick import ROUND_STEPS
        phase_steps = ROUND_STEPS
    gain = args.get("gain_r_value")
    adjust = args.get("adjust")
    target_rmsd = adjust.get("bond", DEFAULT_BOND_RMSD) if adjust is not None else \
        DEFAULT_BOND_RMSD

    objective = build_objective(session)
    weighting = Weighting(session, objective, target_rmsd, params, moving)
    before = report_figures(session, session.atoms)
    state = {"last_r": session.variables.get("R_WORK"), "since_adjust": 0,
             "history": [], "step": 0}
    session.stop.clear()

    def on_step(p):
        state["step"] = p.step
        shown = p.step % writ == 0 or p.step == 1
        if shown:
            _progress_line(session, p, state)
        for hook in list(session.step_hooks):
            hook(session, p.step, p.atoms, shown)
        return bool(session.stop)

    def between(atoms):
        session.model.atoms = atoms
        session.notify()
        if phase_steps:
            _rephase_objective(session, objective, atoms)
            if phase_macro:
                session.interpreter.run_macro(phase_macro)
                _refresh_map_targets(session, objective)   # the macro may remake them
            r = session.variables.get("R_WORK")
            if gain is not None and gain < 1 and state["last_r"] is not None and r is not None:
                if state["last_r"] - r < gain:
                    return f"R-work improved by less than {gain:g} ({state['last_r']:.4f} -> {r:.4f})"
            state["last_r"] = r
        if phase_steps or state["step"] - state["since_adjust"] >= READJUST_EVERY:
            state["since_adjust"] = state["step"]
            msg = weighting.readjust(atoms)
            if msg:
                session.echo(f"  step {state['step']}: {msg}")
        return None

    segment = phase_steps or READJUST_EVERY
    what = f"{len(bodies)} rigid bodies" if bodies is not None else f"{int(moving.sum())} atoms"
    session.echo(f" minimizing {what} ({' '.join(params)}), {steps} steps; "
                 f"terms: {', '.join(f'{p.name} {p.weight:.3g}' for p in objective.parts)}")
    with ctrl_c_stops(session.stop):
        if kick is None:
            result = minimize(session.atoms, objective, params, moving, steps, method,
                              segment=segment, on_step=on_step, between=between,
                              bodies=bodies)
        else:
            from mainpy.refine.kick import B_PER_A, kick_protocol

            def on_kick(k, a):
                if a > 0:
                    b = f", B by up to +/-{a * B_PER_A:.3g}" if "b" in params else ""
                    session.echo(f"  round {k + 1}: kick up to {a:.3f} A{b}", level=2)
            session.echo(f" kick protocol: amplitude {kick['amplitude']:g} A falling "
                         f"{kick['law']}ly to 0, rounds of {phase_steps} steps"
                         + (f", seed {kick['seed']}" if kick["seed"] is not None else ""))
            result = kick_protocol(session.atoms, objective, params, moving, steps,
                                   kick["amplitude"], kick["law"], kick["seed"],
                                   round_steps=phase_steps, method=method, on_step=on_step,
                                   between=between, on_kick=on_kick)
    session.model.atoms = result.atoms
    msg = weighting.readjust(result.atoms) if result.steps >= 10 else ""
    if msg:
        session.echo(f"  for the next run: {msg}")
    weighting.keep()
    xpart = objective.part("xray")
    if xpart is not None:       # the R-values of the report are those of the final model
        from mainpy.commands.refl import set_r_variables
        xpart.target.fmodel.update(session.atoms)
        session.fmodel = xpart.target.fmodel
        set_r_variables(session, session.fmodel)
    elif session.fmodel is not None:
        from mainpy.commands.refl import rephase
        rephase(session)
    session.notify()
    after = report_figures(session, session.atoms)
    end = {"steps": "the step limit", "converged": "convergence", "stopped":
           f"a stop request ({session.stop.source or 'stop flag'})", "nan": "a NaN",
           "gain": "GAIN_R-VALUE"}[result.reason]
    session.echo(f" {result.steps} steps, ended by {end}"
                 + (f": {result.message}" if result.reason in ("nan", "gain") else ""))
    print_report(session, before, after)
    session.stop.clear()


def _progress_line(session, p, state):
    ev = p.evaluation
    parts = "  ".join(f"{k} {v:.5g}" for k, v in ev.values.items())
    r = ""
    x = ev.info.get("xray")
    if x and "r_work" in x:
        r = f"  R-work {x['r_work']:.4f}"
    rmsd = bond_rmsd(session, p.atoms)
    b = f"  rmsd bonds {rmsd:.4f}" if rmsd is not None else ""
    session.echo(f"  step {p.step:5d}  total {ev.total:.6g}  {parts}{r}{b}")


def _rephase_objective(session, objective, atoms):
    """RE_PHASE during a run: new Fcalc, mask and scales (a warm update of the run's
    Fmodel); the X-ray target and the map targets follow."""
    from mainpy.commands.refl import rephase, set_r_variables
    if session.reflections is None or session.model is None:
        return
    part = objective.part("xray")
    if part is not None:
        fm = part.target.fmodel
        fm.update(atoms)
        if hasattr(part.target, "set_atoms"):       # the free-kick target kicks this model
            part.target.set_atoms(atoms)
        part.target.refresh()
        session.fmodel = fm
        set_r_variables(session, fm)
    else:
        fm = rephase(session)
    _refresh_map_targets(session, objective)
    rw, rf = fm.r_factors()
    session.echo(f"  RE_PHASE: R-work {rw:.4f}  R-free {rf:.4f}")


def _refresh_map_targets(session, objective):
    """Point the density / difference-map targets at the maps as they are now."""
    for t in ("dens", "diff"):
        part = objective.part(t)
        if part is not None and session.ener[t]["map"] in session.maps:
            part.target = type(part.target)(session.maps[session.ener[t]["map"]])


def report_figures(session, atoms) -> dict:
    import numpy as np
    out = {"mean B": float(np.mean(atoms.b))}
    if session.reflections is not None and session.fmodel is not None:
        out["R-work"], out["R-free"] = session.fmodel.r_factors()
    if session.restraints is not None:
        from mainpy.restraints import geometry as G
        summ = G.summary(atoms.xyz, session.restraints)
        out["rmsd bonds"] = summ["bond"]["rmsd"]
        out["rmsd angles"] = summ["angle"]["rmsd"]
        out["chirals inverted"] = int(G.chirality_inverted(atoms.xyz, session.restraints).sum())
        out["Rama outliers"] = G.rama_summary(session.model.synced_structure())["outlier"]
    return out


def print_report(session, before, after):
    session.echo(f" {'':<18} {'before':>10} {'after':>10}")
    for k in before:
        a, b = before[k], after.get(k)
        fmt = (lambda v: f"{v:10d}") if isinstance(a, int) else (lambda v: f"{v:10.4f}")
        session.echo(f" {k:<18} {fmt(a)} {fmt(b) if b is not None else '':>10}")


_CLAUSES = (
    Sele(repeat=2, help="first: the atoms that move; second: the fixed background"),
    Clause("step", (Int("n"),), help=f"number of minimizer steps (default {DEFAULT_STEPS})"),
    Clause("write_step", (Int("n"),), help="print progress every n steps"),
    Clause("position", help="refine coordinates (default)"),
    Clause("b-values", help="refine isotropic B-values"),
    Clause("occu", help="refine occupancies"),
    Clause("by", (Choice("conj", "lbfgs", "body"),),
           help="conjugate gradients, L-BFGS (default) or rigid body"),
    Clause("phase", sub=(
        Clause("steps", (Int("n"),), help="RE_PHASE every n steps"),
        Clause("macro", (File(),), help="macro run after each RE_PHASE"),
        Clause("kick", (Real("r"),), sub=(),
               help="kick protocol: kick by up to r A, minimize PHASE STEPS (default 10), "
                    "repeat with the kick falling to 0 over the run (B too with B-VALUES)"),
        Clause("seed", (Int("s"),), help="random seed for kicks"),
        Clause("linear", help="kick amplitude falls linearly"),
        Clause("square", help="kick amplitude falls as a square"),
        Clause("exponential", help="kick amplitude falls exponentially"),
        Clause("decay", (Choice("linear", "square", "exponential", name="law"),),
               help="the decay law as a value (for a macro variable)")),
        repeat=0, help="re-phasing every n steps, its macro, kicks"),
    Clause("gain_r-value", (Real("g"),),
           help="stop at a RE_PHASE when R-work improved by less than g (g >= 1: never)"),
    Clause("adjust", sub=(Clause("bond", (Real("r"),),
                                 help="data weight so that rmsd(bonds) approaches r A"),),
           help="MAIN's weighting (default: bond 0.02)"),
)

command("minimize", help="minimize the energy over the ACTIVE (or selected) atoms",
        clauses=_CLAUSES, action=_minimize,
        details="Ctrl-C (or key e in the image window) ends it after the current step.",
        examples=("minimize sele work_set end step MIN_STEP writ 1",
                  "min adjust bond 0.02"))
command("refine", help="minimize over all atoms (same clauses as MINIMIZE)",
        clauses=_CLAUSES, action=lambda session, args: _minimize(session, args, True),
        examples=("refine step 100 phase steps 15",))
