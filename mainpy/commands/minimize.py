"""MINIMIZE and REFINE: the minimizer over the energy terms that are on.

MINIMIZE moves the atoms of the first selection (key ACTIVE without one); REFINE moves
all atoms. The objective is the restraint energy plus, when switched on with ENER, the
X-ray target and the density / difference-map targets, each times its ENER scale; the
data terms are weighted against the restraints by MAIN's rule (ADJUST BOND r, default
0.02 A): set at the start where the unscaled gradients balance, then re-adjusted so that
the bond rmsd (bonds of hydrogens and metal atoms left out, as in every geometry
figure) approaches r at every RE_PHASE (PHASE STEPS n), or every 100 steps when there
is no re-phasing, by steps that shrink each time they overshoot
(`mainpy.refine.weighting`). The run itself is `mainpy.app.refinement.RefinementRun`.
"""

from mainpy.app.refinement import ADP_MODELS, DEFAULT_STEPS
from mainpy.errors import MainpyError
from mainpy.lang.registry import Choice, Clause, File, Int, Real, Sele, command


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
    """(PHASE STEPS, PHASE MACRO, KickSettings or None) from the PHASE clauses."""
    from mainpy.app.refinement import KickSettings
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
    return steps, macro, (KickSettings(**kick) if kick else None)


def _minimize(session, args, all_atoms=False):
    import numpy as np

    from mainpy.app.refinement import RunSettings, refine
    model = session.need_model()
    sels = args.all("sele")
    if all_atoms or not sels:
        moving = np.ones(len(model.atoms), bool) if all_atoms else session.key_masks()["active"]
    else:
        moving = session.select(sels[0])
    method = args.get("by", "lbfgs")
    bodies = None
    if method == "body":
        seg = model.atoms.codes("segment")[1]
        bodies = [np.flatnonzero(moving & (seg == k)) for k in np.unique(seg[moving])]
    phase_steps, phase_macro, kick = _phase_settings(args)
    adjust = args.get("adjust")
    refine(session, RunSettings(
        params=_params(args), moving=moving, steps=args.get("step", DEFAULT_STEPS),
        method=method, bodies=bodies, write_step=args.get("write_step"),
        phase_steps=phase_steps, phase_macro=phase_macro, kick=kick,
        adp=args.get("b_values") if isinstance(args.get("b_values"), str) else None,
        gain=args.get("gain_r_value"), converge=args.get("converge"),
        target_rmsd=adjust.get("bond") if adjust is not None else None,
        angle_rmsz=adjust.get("angle") if adjust is not None else None,
        fixed_weight=adjust.get("weight") if adjust is not None else None))


_CLAUSES = (
    Sele(repeat=2, help="first: the atoms that move; second: the fixed background"),
    Clause("step", (Int("n"),), help=f"number of minimizer steps (default {DEFAULT_STEPS})"),
    Clause("write_step", (Int("n"),), help="print progress every n steps"),
    Clause("position", help="refine coordinates (default)"),
    Clause("b-values", (Choice(*ADP_MODELS, name="adp", optional=True),),
           help="refine ADPs: each atom's B or U as it is (default); ISO makes them all "
                "isotropic, ANISO makes non-water atoms anisotropic; TLS groups (the TLS "
                "command; one per chain by default) + residual B; GROUP one B per residue, GROUP2 main + side chain; "
                "SHARED one B per atom and its copies in other conformers (MODELS); "
                "AUTO chooses by resolution and reflections per parameter"),
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
    Clause("converge", (Real("r"),),
           help="end at a RE_PHASE when R-free (R-work without a test set) improved by "
                "less than r over the last 3 re-phasings, counted from the last time ADJUST "
                "cut the data weight below half (STEP is then the most the run may take)"),
    Clause("gain_r-value", (Real("g"),),
           help="stop at a RE_PHASE when R-work improved by less than g (g >= 1: never)"),
    Clause("adjust", sub=(Clause("bond", (Real("r"),),
                                 help="data weight so that rmsd(bonds) approaches r A "
                                      "(bonds of H and metal atoms left out)"),
                          Clause("angle", (Real("z"),),
                                 help="and the angles' rms Z at most z: the weight follows "
                                      "whichever of the two is further off"),
                          Clause("weight", (Real("w"),),
                                 help="a fixed data weight w, never re-adjusted")),
           help="MAIN's weighting (default: bond 0.02)"),
)
#: REFINE moves all atoms: it takes every clause of MINIMIZE but the selections
_REFINE_CLAUSES = tuple(c for c in _CLAUSES if c.key != "sele")

command("minimize", help="minimize the energy over the ACTIVE (or selected) atoms",
        clauses=_CLAUSES, action=_minimize,
        details="Ctrl-C (or key e in the image window) ends it after the current step, and\n"
                "nothing after it runs: a macro that called it stops there too, and the\n"
                "prompt comes back with the model as the minimizer left it.",
        examples=("minimize sele work_set end step MIN_STEP writ 1",
                  "min adjust bond 0.02"))
command("refine", help="minimize over all atoms (the clauses of MINIMIZE but SELE)",
        clauses=_REFINE_CLAUSES, action=lambda session, args: _minimize(session, args, True),
        examples=("refine step 100 phase steps 15",))
