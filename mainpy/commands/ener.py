"""ENER and DEFINE: the energy terms (restraints, density, X-ray) and their lists."""

from mainpy.lang.registry import ON_OFF, Choice, Clause, Int, Real, command

ISSUE4 = "the restraints (issue 4)"

_STATE = Choice(*ON_OFF, name="state", optional=True)
_SCALE = Clause("scale", (Real("r"),), help="weight of the term")
_MAP = Clause("map", (Int("n"),), help="the map the term refines against")
_TARGET = Clause("target", (Choice("lsq", "ml", "mli", "kick"),),
                 help="LSQ, ML (amplitudes), MLI (intensities), KICK (free-kick ML)")

_TERMS = {
    "bond": "bond lengths", "angle": "bond angles", "dihe": "torsion angles",
    "impr": "impropers (planes, chirality)", "chir": "chiral volumes", "plan": "planes",
    "vdw": "non-bonded repulsion", "b-val": "B-value similarity of bonded atoms",
}

_clauses = [Clause("all", (Choice(*ON_OFF, name="state"),), help="every term on or off")]
for _t, _h in _TERMS.items():
    _clauses.append(Clause(_t, (_STATE,), sub=(_SCALE,), help=_h, repeat=0))
_clauses += [
    Clause("dens", (_STATE,), sub=(_MAP, _SCALE), repeat=0,
           help="real-space target: model density against map n"),
    Clause("diff", (_STATE,), sub=(_MAP, _SCALE), repeat=0, help="difference-map target"),
    Clause("xray", (_STATE,), sub=(_TARGET, _SCALE), repeat=0, help="reciprocal-space target"),
    Clause("show", help="each term's energy and count"),
    Clause("list", sub=(Clause("range", (Real("lo"), Real("hi")),
                               help="deviations in sigma units"),),
           help="list violations, worst first"),
]

command("ener", help="switch energy terms on/off, set their scales and maps",
        clauses=tuple(_clauses), pending=ISSUE4,
        details="A term named without ON/OFF is switched on.",
        examples=("ener dens map MAP_FO dens scal DENS_SCAL", "ener all off",
                  "ener xray on target ml"))

command("define", help="build restraint lists from the topology (monomer library)",
        clauses=(Clause("bond"), Clause("angle"), Clause("dihe"), Clause("impr"),
                 Clause("by", (Choice("topo"),), help="from the topology"),
                 Clause("init", help="start the lists afresh")),
        needs=(("bond", "angle", "dihe", "impr"),), pending=ISSUE4,
        examples=("define impr by topo init",))
