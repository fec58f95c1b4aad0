"""ENER, DEFINE, READ MONO's action: the energy terms (restraints, density, X-ray).

Term settings live in the session (`session.ener`) and are applied to the energy each
time it is evaluated, so they survive a new topology. DEFINE ... BY TOPO builds the
restraints of the whole model from the monomer library (decided: every kind is built;
the words name the kinds switched on).
"""

from mainpy.errors import MainpyError, ScienceError
from mainpy.lang.registry import ON_OFF, Choice, Clause, Int, Real, command

#: ENER words -> restraint terms of mainpy.restraints.energy
RESTRAINT_TERMS = {"bond": ("bond",), "angle": ("angle",), "dihe": ("torsion",),
                   "impr": ("chiral", "plane"), "chir": ("chiral",), "plan": ("plane",),
                   "vdw": ("nonbonded",), "b_val": ("adp",)}   # keys: clause keys
DATA_TERMS = ("xray", "dens", "diff")

_HELP = {
    "bond": "bond lengths", "angle": "bond angles", "dihe": "torsion angles",
    "impr": "impropers (chiral volumes and planes)", "chir": "chiral volumes",
    "plan": "planes", "vdw": "non-bonded repulsion", "b-val": "B-value similarity of bonded atoms",
}


def default_terms() -> dict:
    """Every restraint term on with scale 1; data terms off until switched on."""
    out = {t: {"on": True, "scale": 1.0} for t in ("bond", "angle", "torsion", "chiral",
                                                   "plane", "nonbonded", "adp")}
    out["xray"] = {"on": False, "scale": 1.0, "target": "ml"}
    out["dens"] = {"on": False, "scale": 1.0, "map": None}
    out["diff"] = {"on": False, "scale": 1.0, "map": None}
    return out


def apply_terms(session, energy):
    """Push the session's on/off and scales into a restraint Energy."""
    for t, st in session.ener.items():
        if t not in DATA_TERMS:
            energy.set_term(t, on=st["on"], scale=st["scale"])
    return energy


def need_energy(session):
    if session.energy is None:
        raise ScienceError("no restraints: build them with `define bond angle dihe impr by "
                           "topo` (after read coor; read mono PATH names a monomer library)")
    return apply_terms(session, session.energy)


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
    for t in ("dens", "diff"):
        if new[t]["on"] and new[t]["map"] is None:
            raise MainpyError(f"ENER {t.upper()} needs the map it refines against: "
                              f"ener {t} on map n")
        if new[t]["on"] and new[t]["map"] not in session.maps:
            session.warn(f"map {new[t]['map']} does not exist yet (ENER {t.upper()} uses it "
                         "when the minimizer runs)")
    session.ener = new
    if show:
        show_energy(session)
    if listing is not None:
        lo, hi = listing.get("range", (4.0, float("inf")))
        list_violations(session, lo, hi)
    if not show and listing is None:
        on = [t for t, st in new.items() if st["on"]]
        session.echo(" terms on: " + (" ".join(
            f"{t}" + (f"*{st['scale']:g}" if st["scale"] != 1 else "") +
            (f"(map {st['map']})" if st.get("map") is not None and t in ("dens", "diff") else "")
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


# ---------------------------------------------------------------------------- reports

def show_energy(session):
    energy = need_energy(session)
    atoms = session.atoms
    res = energy.evaluate(atoms.xyz, atoms.b)
    session.echo(f" {'term':<10} {'on':>3} {'scale':>7} {'count':>7} {'energy':>12}")
    for t in ("bond", "angle", "torsion", "chiral", "plane", "nonbonded", "adp"):
        st = session.ener[t]
        session.echo(f" {t:<10} {'on' if st['on'] else 'off':>3} {st['scale']:7.3g} "
                     f"{res.counts.get(t, 0):7d} {res.terms.get(t, 0.0):12.2f}")
    session.echo(f" {'total':<10} {'':>3} {'':>7} {'':>7} {res.total:12.2f}")
    for t in DATA_TERMS:
        st = session.ener[t]
        if st["on"]:
            what = f"target {st['target']}" if t == "xray" else f"map {st['map']}"
            session.echo(f" {t:<10} on  {st['scale']:7.3g}  {what}")


def list_violations(session, lo, hi, limit=50):
    from mainpy.restraints.geometry import violations
    need_energy(session)
    atoms = session.atoms
    rows = violations(atoms.xyz, session.restraints, atoms, lo, hi)
    session.echo(f" {len(rows)} restraints with {lo:g} <= |Z| <= {hi:g}"
                 + (f" (the worst {limit})" if len(rows) > limit else ""))
    for v in rows[:limit]:
        session.echo(f"  {v}")


def geometry_report(session) -> dict:
    """rmsd and rms Z per kind, Ramachandran classes: printed and returned."""
    from mainpy.restraints import geometry as G
    need_energy(session)
    atoms = session.atoms
    summ = G.summary(atoms.xyz, session.restraints)
    units = {"bond": "A", "angle": "deg", "torsion": "deg", "chiral": "A^3", "plane": "A"}
    session.echo(f" {'kind':<8} {'count':>7} {'rmsd':>9} {'rms Z':>7}")
    for kind, row in summ.items():
        session.echo(f" {kind:<8} {row['count']:7d} {row['rmsd']:9.4f} {row['rmsz']:7.3f}"
                     f"  {units.get(kind, '')}")
    rama = G.rama_summary(session.model.synced_structure())
    session.echo(f" Ramachandran: {rama['count']} residues, favored {rama['favored_pct']:.1f}%, "
                 f"allowed {rama['allowed_pct']:.1f}%, outliers {rama['outlier']} "
                 "(coarse regions after Lovell et al. 2003)")
    inv = int(G.chirality_inverted(atoms.xyz, session.restraints).sum())
    if inv:
        session.warn(f"{inv} chiral centres are inverted")
    return {"summary": summ, "rama": rama, "inverted": inv}


# ---------------------------------------------------------------------------- DEFINE, READ MONO

def load_library(session):
    """The monomer library for the model's residue names (read once per model)."""
    from mainpy.restraints.monlib import load_monlib
    names = set(session.atoms.resname.tolist())
    lib = session.library
    if lib is None or not names <= set(lib.monlib.monomers) | set(lib.missing):
        lib = load_monlib(sorted(names), session.monlib_path, session.extra_cifs)
    return lib


def _define(session, args):
    from mainpy.restraints.energy import Energy
    from mainpy.restraints.topology import build_restraints
    model = session.need_model()
    if session.restraints is None or "init" in args:
        lib = load_library(session)
        st = model.synced_structure()
        r = build_restraints(st, lib, torsions="refmac")
        energy = Energy(r, model.atoms, model.cell, model.spacegroup)
        for msg in dict.fromkeys(lib.messages + r.messages):
            session.warn(msg)
        session.library, session.restraints, session.energy = lib, r, energy
        c = r.counts()
        from mainpy.restraints.monlib import builtin_dir
        where = ("mainpy's built-in dictionary (Engh & Huber 2001)"
                 if lib.path.resolve() == builtin_dir().resolve() else str(lib.path))
        session.echo(f" topology from {where}: {c['bond']} bonds, {c['angle']} angles, "
                     f"{c['torsion']} torsions, {c['chiral']} chiral volumes, "
                     f"{c['plane']} planes")
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


def read_mono(session, path):
    from pathlib import Path

    from mainpy.restraints.monlib import find_monlib_dir
    p = Path(session.input_path(path))
    if p.is_file():
        session.extra_cifs = session.extra_cifs + [str(p)]
        what = f" dictionary {p} added"
    else:
        root = find_monlib_dir(p)
        session.monlib_path = str(root)
        what = f" monomer library {root}"
    session.library = None
    session.echo(what + " (DEFINE ... BY TOPO uses it)")
