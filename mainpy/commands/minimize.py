"""MINIMIZE and REFINE: the minimizer over the energy terms."""

from mainpy.lang.registry import Choice, Clause, File, Int, Real, Sele, command

ISSUE5 = "refinement (issue 5)"

_CLAUSES = (
    Sele(repeat=2, help="first: the atoms that move; second: the fixed background"),
    Clause("step", (Int("n"),), help="number of minimizer steps"),
    Clause("write_step", (Int("n"),), help="print progress every n steps"),
    Clause("position", help="refine coordinates (default)"),
    Clause("b-values", help="refine isotropic B-values"),
    Clause("occu", help="refine occupancies"),
    Clause("by", (Choice("conj", "lbfgs", "body"),),
           help="conjugate gradients, L-BFGS (default) or rigid body"),
    Clause("phase", sub=(
        Clause("steps", (Int("n"),), help="RE_PHASE every n steps"),
        Clause("macro", (File(),), help="macro run after each RE_PHASE"),
        Clause("kick", (Real("r"),), sub=(), help="kick protocol: amplitude r"),
        Clause("seed", (Int("s"),), help="random seed for kicks"),
        Clause("linear", help="kick amplitude falls linearly"),
        Clause("square", help="kick amplitude falls as a square"),
        Clause("exponential", help="kick amplitude falls exponentially")),
        repeat=0, help="re-phasing every n steps, its macro, kicks"),
    Clause("gain_r-value", (Real("g"),), help="stop when R-work improves less than g"),
    Clause("adjust", sub=(Clause("bond", (Real("r"),),
                                 help="data weight so that rmsd(bonds) approaches r A"),),
           help="MAIN's weighting"),
)

command("minimize", help="minimize the energy over the ACTIVE (or selected) atoms",
        clauses=_CLAUSES, pending=ISSUE5,
        examples=("minimize sele work_set end step MIN_STEP writ 1",
                  "min adjust bond 0.02"))
command("refine", help="minimize over all atoms (same clauses as MINIMIZE)",
        clauses=_CLAUSES, pending=ISSUE5, examples=("refine step 100 phase steps 15",))
