"""ENER, DEFINE, READ MONO's action: the energy terms (restraints, density, X-ray).

Term settings live in the session (`session.ener`) and are applied to the energy each
time it is evaluated, so they survive a new topology. DEFINE ... BY TOPO builds the
restraints of the whole model from the monomer library (decided: every kind is built;
the words name the kinds switched on).
"""

from mainpy.errors import MainpyError
from mainpy.lang.registry import ON_OFF, Choice, Clause, Int, Real, command

#: ENER words -> restraint terms of mainpy.restraints.energy
RESTRAINT_TERMS = {"bond": ("bond",), "angle": ("angle",), "dihe": ("torsion",),
                   "impr": ("chiral", "plane"), "chir": ("chiral",), "plan": ("plane",),
                   "vdw": ("nonbonded",), "b_val": ("adp",), "rigid_bond": ("rigidbond",),
                   "spher": ("sphericity",), "ncs": ("ncs",)}   # keys: clause keys

_HELP = {
    "bond": "bond lengths", "angle": "bond angles", "dihe": "torsion angles",
    "impr": "impropers (chiral volumes and planes)", "chir": "chiral volumes",
    "plan": "planes", "vdw": "non-bonded repulsion",
    "b-val": "ADP similarity: relative B of neighbours within 4 A, U shape of 1-2, 1-3",
    "rigid-bond": "rigid bond: equal displacement of bonded anisotropic atoms along the bond",
    "spher": "sphericity of anisotropic atoms (weak), and U kept positive definite",
    "ncs": "local NCS: distances between nearby atoms alike in copies of a chain",
}


from mainpy.session import default_terms  # noqa: E402,F401 - declared with the state


# ---------------------------------------------------------------------------- ENER

def _ener(session, args):
    new = {k: dict(v) for k, v in session.ener.items()}
    show = listing = None
    for name, v in args.items():
        if name == "all":
            for st in new.values():
                st["on"] = v == "on"
            continue
        if name == "show":
            show = True
            continue
        if name == "list":
            listing = v
            continue
        state = v.get("state")
        terms = RESTRAINT_TERMS.get(name, (name,))
        for t in terms:
            st = new[t]
            st["on"] = state != "off"     # a term named without ON/OFF is switched on
            if "scale" in v:
                if v["scale"] < 0:
                    raise MainpyError(f"a term scale cannot be negative ({v['scale']:g})")
                st["scale"] = v["scale"]
            if "map" in v:
                st["map"] = v["map"]
            if "target" in v:
                st["target"] = v["target"]
            if "work" in v:
                st["work"] = v["work"]
    if new["em"]["on"] and new["em"]["map"] is None:
        raise MainpyError("ENER EM needs the EM map it refines against: ener em on map n")
    if new["em"]["on"] and new["em"]["map"] not in session.em:
        session.warn(f"EM map {new['em']['map']} does not exist yet (read map n file ... "
                     "half1 ... half2 ...)")
    for t in ("dens", "diff"):
        if new[t]["on"] and new[t]["map"] is None:
            raise MainpyError(f"ENER {t.upper()} needs the map it refines against: "
                              f"ener {t} on map n")
        if new[t]["on"] and new[t]["map"] not in session.maps \
                and not (t == "dens" and new[t]["map"] in session.em):
            session.warn(f"map {new[t]['map']} does not exist yet (ENER {t.upper()} uses it "
                         "when the minimizer runs)")
    session.ener = new
    if show:
        from mainpy.app.reports import energy_lines
        for line in energy_lines(session):
            session.result(line)
    if listing is not None:
        from mainpy.app.reports import violation_lines
        lo, hi = listing.get("range", (4.0, float("inf")))
        for line in violation_lines(session, lo, hi):
            session.result(line)
    if not show and listing is None:
        on = [t for t, st in new.items() if st["on"]]
        session.echo(" terms on: " + (" ".join(
            f"{t}" + (f"*{st['scale']:g}" if st["scale"] != 1 else "") +
            (f"(map {st['map']})" if st.get("map") is not None and t in ("dens", "diff", "em")
             else "")
            + (f"({st['target']})" if t == "xray" else "")
            for t in on for st in [new[t]]) or "none"))


_clauses = [Clause("all", (Choice(*ON_OFF, name="state"),), help="every term on or off")]
_STATE = Choice(*ON_OFF, name="state", optional=True)
_SCALE = Clause("scale", (Real("r"),), help="weight of the term")
_MAP = Clause("map", (Int("n"),), help="the map the term refines against")
_TARGET = Clause("target", (Choice("lsq", "ml", "mli", "kick"),),
                 help="LSQ, ML (amplitudes), MLI (intensities), KICK (free-kick ML)")
for _t, _h in _HELP.items():
    _clauses.append(Clause(_t, (_STATE,), sub=(_SCALE,), help=_h, repeat=0))
_clauses += [
    Clause("dens", (_STATE,), sub=(_MAP, _SCALE), repeat=0,
           help="real-space target: model density against map n"),
    Clause("diff", (_STATE,), sub=(_MAP, _SCALE), repeat=0, help="difference-map target"),
    Clause("xray", (_STATE,), sub=(_TARGET, _SCALE), repeat=0, help="reciprocal-space target"),
    Clause("em", (_STATE,), sub=(_MAP, _SCALE, Clause(
        "work", (Choice("full", "half1"),),
        help="refine against the full map (default) or half map 1 (cross-validation)")),
           repeat=0, help="Fourier-space SPA target against EM map n (servalcat's)"),
    Clause("show", help="each term's energy and count"),
    Clause("list", sub=(Clause("range", (Real("lo"), Real("hi")),
                               help="|Z| (deviation/esd) between lo and hi"),),
           help="list restraint violations, worst first (default |Z| > 4)"),
]

command("ener", help="switch energy terms on/off, set their scales, maps and targets",
        clauses=tuple(_clauses), action=_ener,
        details="A term named without ON/OFF is switched on. Restraint terms are on by\n"
                "default; XRAY, DENS and DIFF are off until switched on.",
        examples=("ener dens map MAP_FO dens scal DENS_SCAL", "ener all off",
                  "ener xray on target ml", "ener list range 3 100"))


# ---------------------------------------------------------------------------- DEFINE

def _define(session, args):
    from mainpy.app.topology import define_topology
    session.need_model()
    if session.restraints is None or "init" in args:
        what, messages = define_topology(session)
        for msg in messages:
            session.warn(msg)
        session.echo(what)
    new = {k: dict(v) for k, v in session.ener.items()}
    for word in ("bond", "angle", "dihe", "impr"):
        if word in args:
            for t in RESTRAINT_TERMS[word]:
                new[t]["on"] = True
    session.ener = new


command("define", help="build restraint lists from the topology (monomer library)",
        clauses=(Clause("bond", help="bond lengths"), Clause("angle", help="bond angles"),
                 Clause("dihe", help="torsions"), Clause("impr", help="chiral volumes, planes"),
                 Clause("by", (Choice("topo"),), help="from the topology"),
                 Clause("init", help="build the lists afresh")),
        needs=(("bond", "angle", "dihe", "impr"),), action=_define,
        details="The monomer library comes from READ MONO, else $MAINPY_MONLIB, else\n"
                "$CLIBD_MON, else mainpy's built-in dictionary (Engh & Huber 2001).",
        examples=("define impr by topo init", "define bond angle dihe impr by topo"))
