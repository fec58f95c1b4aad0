"""REFL and FOURIER: reflections, re-phasing, R-values; map <-> structure factors."""

from mainpy.lang.registry import ON_OFF, Choice, Clause, Int, Name, Real, Sele, command

ISSUE3 = "the reciprocal-space engine (issue 3)"
ISSUE7 = "MAIN's kicking methods (issue 7)"

command("refl", help="reflection settings, RE_PHASE, R-values",
        clauses=(Clause("shel", (Int("n"),), help="number of resolution shells for statistics"),
                 Clause("reso", (Real("lo"), Real("hi")), help="resolution limits in A"),
                 Clause("phase", help="RE_PHASE: Fcalc, bulk solvent, scaling, maps"),
                 Clause("r-value", help="R-work and R-free, overall and per shell"),
                 Clause("solv_flat", (Choice(*ON_OFF, name="state"),),
                        help="flat bulk-solvent correction"),
                 Clause("aniso", (Choice(*ON_OFF, name="state"),),
                        help="overall anisotropic scaling"),
                 Clause("weights", (Choice("constant", "sigma", "a_sigma"),),
                        help="reflection weights"),
                 Clause("show", help="print the reflection data summary"),
                 Clause("key", (Name("name"),), help="name a set of reflections"),
                 Sele(help="reflections (with KEY)"),
                 Clause("kick", (Real("r"),), sub=(Clause("seed", (Int("s"),)),),
                        help="kick the model before computing Fcalc")),
        needs=(("shel", "reso", "phase", "r_value", "solv_flat", "aniso", "weights", "show",
                "key", "kick"),),
        pending=ISSUE3, examples=("refl shel 15", "refl phase", "refl r-value"))

command("fourier", help="Fourier-transform map n to structure factors or back",
        clauses=(Clause("map", (Int("n"),), help="the map"),
                 Clause("forward", help="map -> structure factors"),
                 Clause("backward", help="structure factors -> map"),
                 Clause("reso", (Real("lo"), Real("hi")), help="resolution limits in A")),
        needs=(("map",), ("forward", "backward")), exclusive=(("forward", "backward"),),
        pending=ISSUE3)
