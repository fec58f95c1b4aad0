"""The ADP model of a refinement: which atoms refine B, U or TLS, and why, in one line.

`adp_factory(session, moving, model)` converts the session's atoms as the model asks
(ANISO: non-water, non-hydrogen atoms get U = B / (8 pi^2) I; ISO, GROUP, GROUP2: the
anisotropic ones become isotropic) and returns the factory of the driver's ADP block
(mainpy.refine.adp_params) with the line that says what was chosen.
"""

from __future__ import annotations

import numpy as np

from mainpy.errors import MainpyError


#: AUTO's choice (the field's rule): anisotropic non-water atoms at this resolution or
#: better when there are at least ANISO_MIN_RATIO working reflections per parameter,
#: else TLS groups (those defined, or one per chain) + residual isotropic B. Grouped B is
#: not chosen: on 2r4r (3.4 A) GROUP2 gave R-free +0.0016 against isotropic B, TLS -0.0024
AUTO_ANISO_D, ANISO_MIN_RATIO = 1.6, 3.0


def used_reflections(session) -> tuple:
    """(working-set reflections within the REFL RESO limits, their d_min), or (0, None)."""
    from mainpy.xtal.reflections import resolution_mask
    refl = session.reflections
    if refl is None:
        return 0, None
    lo, hi = session.xtal["reso"]
    use = refl.work & resolution_mask(refl.d, lo, hi)
    if not use.any():
        return 0, None
    return int(use.sum()), float(refl.d[use].min())


def data_per_parameter(session, n_params: int) -> float | None:
    """Working-set reflections per refined parameter (None without data)."""
    n, _ = used_reflections(session)
    if n == 0 or n_params == 0:
        return None
    return n / n_params


def choose_adp(session, moving) -> tuple:
    """AUTO: the ADP model by resolution and data-to-parameter ratio, and why."""
    from mainpy.refine import adp_params as ap
    n, d = used_reflections(session)
    if d is None:
        return None, "no reflections: each atom's B or U as it is"
    atoms = session.atoms
    k = int((ap.aniso_rows(atoms) & moving).sum())
    if k and session.tls:
        from mainpy.app.tls import membership, written_groups
        inside = membership(atoms, session.tls) >= 0
        if written_groups(session) and not (ap.aniso_rows(atoms) & moving & ~inside).any():
            return "tls", (f"the model's U come from its {len(session.tls)} TLS groups: "
                           "TLS groups + residual isotropic B")
    own = with_parameters(session, moving)
    if k:
        n_own = count_parameters(atoms, own, "aniso")
        if n / n_own >= ANISO_MIN_RATIO:
            return None, (f"the model has {k} anisotropic atoms and {n / n_own:.1f} "
                          "reflections per parameter: each atom's B or U kept as it is "
                          "(SET TEMP ISO makes them isotropic)")
        # 5e5z (403 reflections, 0.9 per parameter): its ANISOU refined took R-free
        # 0.2357 -> 0.2135 with R-work 0.130; made isotropic, 0.1960 with R-work 0.160
        return "iso", (f"the model has {k} anisotropic atoms but only {n / n_own:.1f} "
                       f"reflections per parameter with them (< {ANISO_MIN_RATIO:g}): "
                       "isotropic B")
    ani = moving & ~ap.waters(atoms) & ~ap.hydrogens(atoms)
    n_par = 3 * int(own.sum()) + 6 * int(ani.sum()) + int((own & ~ani).sum())
    ratio = n / n_par
    if d <= AUTO_ANISO_D and ratio >= ANISO_MIN_RATIO:
        return "aniso", (f"{d:.2f} A data and {ratio:.1f} reflections per parameter with "
                         f"anisotropic atoms (>= {ANISO_MIN_RATIO:g}): anisotropic U")
    why = (f"{d:.2f} A data, {ratio:.1f} reflections per parameter with anisotropic atoms"
           f" (< {ANISO_MIN_RATIO:g})" if d <= AUTO_ANISO_D else f"{d:.2f} A data")
    from mainpy.app.tls import usable_chain_groups
    if session.tls or usable_chain_groups(atoms, moving):
        return "tls", f"{why}: TLS groups + residual isotropic B"
    return "iso", f"{why}: isotropic B (no chain has atoms enough for a TLS group)"


def with_parameters(session, moving) -> np.ndarray:
    """The moving atoms that have parameters of their own: all but the hydrogens that
    will ride on their parents (HYDROGEN RIDING with restraints defined)."""
    from mainpy.refine.adp_params import hydrogens
    if session.hydrogens != "riding" or session.energy is None:
        return moving
    return moving & ~hydrogens(session.atoms)


def count_parameters(atoms, moving, adp_kind: str, n_groups: int = 0) -> int:
    """Parameters of a position + ADP refinement of the moving atoms."""
    from mainpy.refine.adp_params import aniso_rows
    n = 3 * int(moving.sum())
    if adp_kind in ("group", "group2", "shared"):
        return n + n_groups
    an = aniso_rows(atoms) & moving
    return n + 6 * int(an.sum()) + int((moving & ~an).sum()) + 20 * n_groups


def adp_factory(session, moving: np.ndarray, model: str | None):
    """(factory(atoms, rows) -> ADP block, the line to print or "")."""
    from mainpy.refine import adp_params as ap
    atoms = session.atoms
    k = 0
    if model == "auto":
        model, why = choose_adp(session, moving)
        session.echo(f" ADP model AUTO: {why}")
    if model == "aniso":
        want = moving & ~ap.waters(atoms) & ~ap.hydrogens(atoms)
        atoms, k = ap.make_anisotropic(atoms, want)
        session.model.atoms = atoms
    elif model in ("iso", "group", "group2", "shared"):
        atoms, k = ap.make_isotropic(atoms, moving)
        session.model.atoms = atoms
        if k:
            session.echo(f" {k} anisotropic atoms made isotropic (B = 8 pi^2 tr(U) / 3)")
    if model in ("group", "group2"):
        split = model == "group2"
        groups = ap.residue_groups(atoms, np.flatnonzero(moving), split)
        what = "main chain and side chain of each residue" if split else "each residue"
        line = (f" ADP: one B for the {what} ({len(groups)} groups)"
                + _ratio(session, count_parameters(atoms, with_parameters(session, moving),
                                                 model, len(groups))))
        return (lambda a, rows: ap.GroupB(a, ap.residue_groups(a, rows, split))), line
    if model == "shared":
        groups = ap.conformer_groups(atoms, np.flatnonzero(moving))
        shared = sum(len(g) > 1 for g in groups)
        line = (f" ADP: one B per atom, shared by its copies in the other conformers "
                f"({len(groups)} B-values, {shared} of them shared)"
                + _ratio(session, count_parameters(atoms, with_parameters(session, moving),
                                                 model, len(groups))))
        return (lambda a, rows: ap.GroupB(a, ap.conformer_groups(a, rows))), line
    if model == "tls":
        from mainpy.app.tls import tls_factory
        return tls_factory(session, moving)
    an = ap.aniso_rows(atoms) & moving
    if not an.any():
        return ap.AtomAdp, ""
    n_iso = int((moving & ~an).sum())
    made = f" ({k} made so now)" if k else ""
    line = (f" ADP: {int(an.sum())} atoms anisotropic{made}, {n_iso} isotropic"
            + _ratio(session, count_parameters(atoms, with_parameters(session, moving),
                                               "aniso")))
    return ap.AtomAdp, line


def _ratio(session, n_params: int) -> str:
    r = data_per_parameter(session, n_params)
    if r is None:
        return ""
    return f"; {r:.1f} reflections per parameter ({n_params} parameters with the positions)"


def adp_summary(atoms, mask=None) -> dict:
    """Mean B, the number of anisotropic atoms, and their anisotropy (smallest over largest
    eigenvalue of U): mean and minimum."""
    from mainpy.refine.adp_params import aniso_rows, b_equivalent, u_eigenvalues
    mask = np.ones(len(atoms), bool) if mask is None else np.asarray(mask, bool)
    if not mask.any():
        raise MainpyError("the selection has no atoms")
    an = aniso_rows(atoms) & mask
    b = atoms.b.copy()
    b[an] = b_equivalent(atoms.aniso[an])
    out = {"atoms": int(mask.sum()), "mean B": float(b[mask].mean()),
           "anisotropic": int(an.sum())}
    if an.any():
        w = u_eigenvalues(atoms.aniso[an])
        ratio = w[:, 0] / np.maximum(w[:, 2], 1e-12)
        out["anisotropy mean"] = float(ratio.mean())
        out["anisotropy min"] = float(ratio.min())
        out["non-positive"] = int((w[:, 0] <= 0).sum())
    return out
