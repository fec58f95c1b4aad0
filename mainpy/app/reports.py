"""The tables commands print: R-values per shell, the data summary, energies, geometry.

Each function computes from the session and returns the lines (and, where a macro or the
API wants them, the figures); the commands echo them.
"""

from __future__ import annotations

import math

from mainpy.app.terms import DATA_TERMS, need_energy


def fmt(x, spec=".4f") -> str:
    """A number, or a dash for None / NaN."""
    return "   -   " if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def r_value_lines(fm, shells: int) -> list[str]:
    """R-work and R-free per resolution shell and overall, with counts and completeness."""
    rows = fm.shells(shells)
    st = fm.statistics()
    out = [f" {'d_max':>7} {'d_min':>6} {'work':>6} {'free':>5} {'compl':>6} "
           f"{'F/sigF':>7} {'R-work':>7} {'R-free':>7}"]
    for r in rows:
        out.append(f" {r['d_max']:7.2f} {r['d_min']:6.2f} {r['n_work']:6d} {r['n_free']:5d} "
                   f"{r['completeness']:6.3f} {r['f_over_sigma']:7.1f} "
                   f"{fmt(r['r_work']):>7} {fmt(r['r_free']):>7}")
    out.append(f" {st['d_max']:7.2f} {st['d_min']:6.2f} {st['work']:6d} {st['free']:5d} "
               f"{st['completeness']:6.3f} {st['f_over_sigma']:7.1f} "
               f"{fmt(st['r_work']):>7} {fmt(st['r_free']):>7}  all")
    return out


#: a test set of fewer observed reflections than this has R-free's own error printed
#: beside it (`r_factor_error`): some 500 are what a test set needs for R-free to be
#: known to about 0.01 (Brunger 1997); 5e5z's 18 leave it +-0.05
SMALL_TEST_SET = 500


def free_error(fm) -> tuple[float, int] | None:
    """(R-free's standard error, test reflections) where the test set is small
    (SMALL_TEST_SET), else None."""
    se, n = fm.r_free_error()
    return (se, n) if 2 <= n < SMALL_TEST_SET else None


def free_error_note(fm) -> str:
    """' (+-0.046: 18 test reflections)' beside R-free where the test set is small."""
    e = free_error(fm)
    return "" if e is None else f" (+-{e[0]:.3f}: {e[1]} test reflections)"


def phase_line(fm) -> str:
    """One line on a RE_PHASE: R-values, reflections, the scale model."""
    sc = fm.scales
    rw, rf = fm.r_factors()
    extra = ""
    if sc is not None:
        extra = f"  (bulk solvent {'on' if fm.bulk_solvent else 'off'}, " \
                f"anisotropic scale {'on' if fm.aniso else 'off'}, B_iso {sc.b_iso:.1f})"
    return (f" RE_PHASE: R-work {rw:.4f}  R-free {fmt(rf)}{free_error_note(fm)}  "
            f"{int(fm.refl.observed.sum())} observed reflections{extra}")


def data_lines(session) -> list[str]:
    """The reflections in use: source, columns, resolution, work/free, settings."""
    from mainpy.app.phasing import data_in_use, rejected_outliers
    refl = data_in_use(session)
    st = refl.summary()
    lab = refl.labels
    kind = "intensities (French-Wilson amplitudes)" if refl.french_wilson else "amplitudes"
    x = session.xtal
    return [f" {refl.source}: {st['n']} reflections, {st['observed']} observed "
            f"({kind}: {', '.join(f'{k} {v}' for k, v in lab.items())})",
            f" resolution {st['d_max']:.2f} - {st['d_min']:.2f} A; work {st['work']}, "
            f"free {st['free']} ({100 * st['free_fraction']:.1f}%)",
            f" {refl.free_note}" if refl.free_note else " free flags: as given",
            *([f" {refl.crystal_note}"] if getattr(refl, "crystal_note", "") else []),
            *(f" {n}" for n in getattr(refl, "notes", ())),
            *([f" {session.reflections.outlier_note}"]
              if rejected_outliers(session) is not None else []),
            f" shells {x['shel']}, bulk solvent {'on' if x['solv_flat'] else 'off'}, "
            f"anisotropic scale {'on' if x['aniso'] else 'off'}, weights {x['weights']}"]


def energy_lines(session) -> list[str]:
    """Each restraint term's state, count and energy; the data terms that are on."""
    from mainpy.restraints.energy import TERMS
    energy = need_energy(session)
    atoms = session.atoms
    res = energy.evaluate(atoms.xyz, atoms.b)
    out = [f" {'term':<10} {'on':>3} {'scale':>7} {'count':>7} {'energy':>12}"]
    for t in TERMS:
        st = session.ener[t]
        out.append(f" {t:<10} {'on' if st['on'] else 'off':>3} {st['scale']:7.3g} "
                   f"{res.counts.get(t, 0):7d} {res.terms.get(t, 0.0):12.2f}")
    out.append(f" {'total':<10} {'':>3} {'':>7} {'':>7} {res.total:12.2f}")
    for t in DATA_TERMS:
        st = session.ener[t]
        if st["on"]:
            what = f"target {st['target']}" if t == "xray" else f"map {st['map']}"
            out.append(f" {t:<10} on  {st['scale']:7.3g}  {what}")
    return out


def violation_lines(session, lo: float, hi: float, limit: int = 50) -> list[str]:
    """Restraints with lo <= |Z| <= hi, worst first (at most ``limit`` listed)."""
    from mainpy.restraints.validation import violations
    need_energy(session)
    atoms = session.atoms
    rows = violations(atoms.xyz, session.restraints, atoms, lo, hi)
    out = [f" {len(rows)} restraints with {lo:g} <= |Z| <= {hi:g}"
           + (f" (the worst {limit})" if len(rows) > limit else "")]
    out += [f"  {v}" for v in rows[:limit]]
    return out


def geometry(session) -> tuple[list[str], dict]:
    """rmsd and rms Z per restraint kind, Ramachandran classes, inverted chiral centres:
    (lines, figures)."""
    from mainpy.restraints import validation
    need_energy(session)
    atoms = session.atoms
    from mainpy.app.refinement import figure_atoms_left_out, geometry_summary
    summ = geometry_summary(session, atoms)
    units = {"bond": "A", "angle": "deg", "torsion": "deg", "chiral": "A^3", "plane": "A"}
    out = [f" {'kind':<8} {'count':>7} {'rmsd':>9} {'rms Z':>7}"]
    for kind, row in summ.items():
        out.append(f" {kind:<8} {row['count']:7d} {row['rmsd']:9.4f} {row['rmsz']:7.3f}"
                   f"  {units.get(kind, '')}")
    bond_idx = session.restraints.bond_idx
    n_out = int(validation.left_out(bond_idx, figure_atoms_left_out(session, atoms)).sum()) \
        if len(bond_idx) else 0
    if n_out:
        out.append(f" (restraints of hydrogens and metal atoms left out: {n_out} bonds and "
                   "the angles, torsions, chiral volumes and plane atoms with them)")
    rama = validation.rama_summary(session.model.synced_structure())
    out.append(f" Ramachandran: {rama['count']} residues, favored {rama['favored_pct']:.1f}%, "
               f"allowed {rama['allowed_pct']:.1f}%, outliers {rama['outlier']} "
               "(coarse regions after Lovell et al. 2003)")
    inv = len(validation.chirality_inverted(atoms.xyz, session.restraints))
    return out, {"summary": summ, "rama": rama, "inverted": inv}


def adp_lines(session, sub=None) -> list[str]:
    """SHOW ADP: mean B, the anisotropic atoms and their anisotropy (smallest over largest
    eigenvalue of U), and each TLS group's translation and libration amplitudes."""
    from mainpy.app.adp import adp_summary
    atoms = session.need_model().atoms
    sele = sub.get("sele") if hasattr(sub, "get") else None
    mask = session.select(sele) if sele is not None else None
    s = adp_summary(atoms, mask)
    lines = [f" {s['atoms']} atoms, mean B {s['mean B']:.2f} A^2 (B_eq of anisotropic atoms)",
             f" {s['anisotropic']} anisotropic, {s['atoms'] - s['anisotropic']} isotropic"]
    if s["anisotropic"]:
        lines.append(f" anisotropy (smallest / largest eigenvalue of U): mean "
                     f"{s['anisotropy mean']:.3f}, minimum {s['anisotropy min']:.3f}"
                     + (f"; {s['non-positive']} NOT positive definite"
                        if s["non-positive"] else "; every U positive definite"))
    tls = getattr(session, "tls", None) or []
    if tls:
        from mainpy.app.tls import tls_lines
        lines += tls_lines(session)
    return lines
