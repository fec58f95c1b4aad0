"""Plots a crystallographer would rather look at than read (WRITE PLOT), with matplotlib.

Each plot is two functions: one that builds the arrays plotted from the session's data
(a run's history, the Fmodel's shells, the model's phi/psi, its B-values), and one that
draws them; `write_plot` writes the PNG whole or not at all. matplotlib is optional
(`pip install 'mainpy[plot]'`), imported only here and only when a plot is drawn; the
figures are drawn without pyplot (no display, and a notebook's backend is left alone).
"""

from __future__ import annotations

import numpy as np

from mainpy.errors import MainpyError

#: the plots WRITE PLOT makes
KINDS = ("history", "r_value", "rama", "b_values", "fsc", "cc")


# ---------------------------------------------------------------------------- the data

def history_series(history) -> dict:
    """From a run's history (mainpy.app.history.RunHistory): step and R-work of every
    row with an R-work; step, R-work and R-free of the fresh rows (re-phasings, start,
    end); step, bond and angle rmsd of every row with them."""
    c = history.columns()
    step = c["step"]
    has_r = ~np.isnan(c["r_work"])
    fresh = c["fresh"] & ~np.isnan(c["r_free"])
    has_b = ~np.isnan(c["rmsd_bonds"])
    has_a = ~np.isnan(c["rmsd_angles"])
    return {"r_step": step[has_r], "r_work": c["r_work"][has_r],
            "fresh_step": step[fresh], "fresh_r_work": c["r_work"][fresh],
            "r_free": c["r_free"][fresh],
            "bond_step": step[has_b], "rmsd_bonds": c["rmsd_bonds"][has_b],
            "angle_step": step[has_a], "rmsd_angles": c["rmsd_angles"][has_a]}


def shell_series(fmodel, n_shells: int) -> dict:
    """R-work and R-free per resolution shell, at each shell's middle in 1/d^2."""
    rows = fmodel.shells(n_shells)
    mid = np.array([0.5 * (1 / r["d_max"] ** 2 + 1 / r["d_min"] ** 2) for r in rows])
    return {"s2": mid, "d_min": np.array([r["d_min"] for r in rows]),
            "r_work": np.array([r["r_work"] for r in rows], float),
            "r_free": np.array([r["r_free"] for r in rows], float)}


def rama_series(structure) -> dict:
    """phi, psi (degrees) and class of each amino acid with both angles (first model,
    first conformer; classes by mainpy.restraints.validation.rama_class)."""
    from mainpy.restraints.validation import ramachandran
    rows = ramachandran(structure)
    return {"phi": np.array([r[3] for r in rows]), "psi": np.array([r[4] for r in rows]),
            "klass": np.array([r[5] for r in rows], dtype=object),
            "label": [f"{r[0]}/{r[2]} {r[1]}" for r in rows]}


def b_series(atoms, mask=None) -> dict:
    """Mean B of the (selected) atoms of each residue, and of its main-chain atoms
    (N, CA, C, O; NaN where none), per chain along the residue numbers."""
    mask = np.ones(len(atoms), bool) if mask is None else np.asarray(mask, bool)
    if not mask.any():
        raise MainpyError("the selection has no atoms")
    res = atoms.residue_index
    main = np.isin(atoms.name, ("N", "CA", "C", "O"))
    out = {}
    for ch in dict.fromkeys(atoms.chain[mask].tolist()):
        rows = np.flatnonzero(mask & (atoms.chain == ch))
        idx = np.unique(res[rows])
        num, mean, mean_main = [], [], []
        for k in idx:
            r = rows[res[rows] == k]
            num.append(int(atoms.resseq[r[0]]))
            mean.append(float(atoms.b[r].mean()))
            m = r[main[r]]
            mean_main.append(float(atoms.b[m].mean()) if len(m) else np.nan)
        out[ch] = {"resseq": np.array(num), "b": np.array(mean),
                   "b_main": np.array(mean_main)}
    return out


# ---------------------------------------------------------------------------- drawing

def _pyplot():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MainpyError("plots need matplotlib: pip install 'mainpy[plot]'") from None
    from matplotlib.figure import Figure
    return Figure


def draw_history(series: dict, title: str = ""):
    """R-work (line; fresh values as dots) and R-free (fresh values) above, bond and
    angle rmsd below, against the step."""
    Figure = _pyplot()
    fig = Figure(figsize=(7, 6), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.plot(series["r_step"], series["r_work"], "-", color="tab:blue", label="R-work")
    ax1.plot(series["fresh_step"], series["r_free"], "o-", color="tab:red", label="R-free")
    ax1.plot(series["fresh_step"], series["fresh_r_work"], "o", color="tab:blue",
             label="R-work re-phased")
    ax1.set_ylabel("R")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.plot(series["bond_step"], series["rmsd_bonds"], "-", color="tab:green",
             label="bonds (A)")
    ax2.set_ylabel("rmsd bonds (A)")
    ax2.set_xlabel("step")
    ax2.grid(alpha=0.3)
    ax3 = ax2.twinx()
    ax3.plot(series["angle_step"], series["rmsd_angles"], "-", color="tab:purple",
             label="angles (deg)")
    ax3.set_ylabel("rmsd angles (deg)")
    fig.legend(handles=ax2.lines + ax3.lines, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def draw_shells(series: dict):
    """R-work and R-free per resolution shell, against 1/d^2 labelled by d."""
    Figure = _pyplot()
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(series["s2"], series["r_work"], "o-", color="tab:blue", label="R-work")
    ax.plot(series["s2"], series["r_free"], "o-", color="tab:red", label="R-free")
    ticks = series["s2"]
    ax.set_xticks(ticks, [f"{1 / np.sqrt(t):.2f}" for t in ticks], fontsize=8)
    ax.set_xlabel("resolution (A, shell middle)")
    ax.set_ylabel("R")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def draw_rama(series: dict):
    """phi/psi of each residue over mainpy's general-case regions (favoured darker,
    allowed lighter); outliers red and labelled."""
    from matplotlib.patches import Rectangle

    from mainpy.restraints.validation import _ALLOWED, _FAVOURED
    Figure = _pyplot()
    fig = Figure(figsize=(6, 6), layout="constrained")
    ax = fig.subplots()
    for boxes, colour in ((_ALLOWED, "#dde8f5"), (_FAVOURED, "#9fc0e8")):
        for a, b, c, d in boxes:
            ax.add_patch(Rectangle((a, c), b - a, d - c, color=colour, zorder=0, lw=0))
    k = series["klass"]
    for cls, colour in (("favored", "black"), ("allowed", "tab:orange"),
                        ("outlier", "tab:red")):
        m = k == cls
        ax.plot(series["phi"][m], series["psi"][m], "o", ms=3, color=colour,
                label=f"{cls} ({int(m.sum())})")
    for i in np.flatnonzero(k == "outlier"):
        ax.annotate(series["label"][i], (series["phi"][i], series["psi"][i]), fontsize=7)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-180, 180)
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-180, 181, 60))
    ax.set_xlabel("phi (deg)")
    ax.set_ylabel("psi (deg)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    return fig


def chain_panels(series: dict):
    """A figure with one panel per chain of ``series`` (chain -> arrays along the residue
    numbers), stacked, the last labelled; returns (figure, [(axes, chain, arrays)])."""
    Figure = _pyplot()
    n = max(1, len(series))
    fig = Figure(figsize=(8, 2.5 * n + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n, 1, squeeze=False)[:, 0])
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("residue number")
    return fig, [(ax, ch, s) for ax, (ch, s) in zip(axes, series.items())]


def draw_b(series: dict):
    """Mean B per residue (all atoms, and main chain) along each chain."""
    fig, panels = chain_panels(series)
    for ax, ch, s in panels:
        ax.plot(s["resseq"], s["b"], "-", color="tab:blue", label="all atoms")
        ax.plot(s["resseq"], s["b_main"], "-", color="tab:gray", label="main chain")
        ax.set_ylabel(f"B (A^2), chain {ch}")
        ax.legend(fontsize=8)
    return fig


def save_png(fig, path) -> None:
    """Write the figure as a PNG, whole or not at all."""
    from mainpy.fileio import atomic_write
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))


def fsc_series(fig: dict) -> dict:
    """The FSC curves of SHOW FSC's figures against 1/d^2 of the shells' middles:
    model vs full map, and with half maps half vs half, model vs half 1 (work) and vs
    half 2 (free)."""
    sh = fig["shells"]
    d = np.asarray(sh.d_mid, float)
    out = {"s2": 1.0 / d ** 2, "curves": {"model vs map": np.asarray(fig["fsc_model"])}}
    for key, label in (("fsc_half", "half 1 vs half 2"), ("fsc_work", "model vs half 1 (work)"),
                       ("fsc_free", "model vs half 2 (free)")):
        if key in fig:
            out["curves"][label] = np.asarray(fig[key])
    return out


def draw_fsc(series: dict):
    """FSC curves against resolution, with the 0.143 and 0.5 thresholds."""
    Figure = _pyplot()
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for label, y in series["curves"].items():
        ax.plot(series["s2"], y, "-", label=label)
    for t in (0.143, 0.5):
        ax.axhline(t, color="grey", lw=0.8, ls="--")
    s2 = series["s2"]
    ticks = np.linspace(s2.min(), s2.max(), 6)
    ax.set_xticks(ticks, [f"{1 / np.sqrt(t):.2f}" if t > 0 else "inf" for t in ticks])
    ax.set_xlabel("resolution (A)")
    ax.set_ylabel("FSC")
    ax.set_ylim(min(-0.05, float(np.nanmin([c.min() for c in series["curves"].values()]))),
                1.02)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def cc_series(atoms, fig: dict) -> dict:
    """SHOW FSC's per-residue CC, per chain along the residue numbers."""
    first = dict(zip(*np.unique(atoms.residue_index, return_index=True)))
    out = {}
    for r, cc in zip(fig["residues"], fig["cc_residue"]):
        i = first[int(r)]
        s = out.setdefault(str(atoms.chain[i]), {"resseq": [], "cc": []})
        s["resseq"].append(int(atoms.resseq[i]))
        s["cc"].append(float(cc))
    return {ch: {k: np.array(v) for k, v in s.items()} for ch, s in out.items()}


def draw_cc(series: dict):
    """Map-model CC per residue along each chain."""
    fig, panels = chain_panels(series)
    for ax, ch, s in panels:
        ax.plot(s["resseq"], s["cc"], "-", color="tab:blue")
        ax.set_ylabel(f"CC, chain {ch}")
        ax.set_ylim(min(0.0, float(np.nanmin(s["cc"]))), 1.0)
    return fig


def write_plot(session, kind: str, path, mask=None, n=None) -> str:
    """WRITE PLOT: draw one of KINDS from the session and write it to ``path``; returns
    the line to echo."""
    if kind == "history":
        h = session.history
        if h is None:
            raise MainpyError("no refinement run yet: MINIMIZE or REFINE makes a history")
        fig = draw_history(history_series(h), h.what.strip())
        what = f"the last run's R and rmsd over {len(h)} rows"
    elif kind == "r_value":
        from mainpy.app.phasing import need_fmodel
        n = session.xtal["shel"]
        fig = draw_shells(shell_series(need_fmodel(session), n))
        what = f"R-work and R-free in {n} shells"
    elif kind == "rama":
        s = rama_series(session.need_model().synced_structure())
        if len(s["phi"]) == 0:
            raise MainpyError("the model has no amino acid with both phi and psi")
        fig = draw_rama(s)
        what = f"the Ramachandran plot of {len(s['phi'])} residues"
    elif kind == "b_values":
        s = b_series(session.atoms, mask)
        fig = draw_b(s)
        what = f"B along {len(s)} chain{'s' if len(s) > 1 else ''}"
    elif kind == "fsc":
        from mainpy.app.em import fsc_lines
        _, figures = fsc_lines(session, n)
        s = fsc_series(figures)
        fig = draw_fsc(s)
        what = f"FSC curves of map {n} ({', '.join(s['curves'])})"
    elif kind == "cc":
        from mainpy.app.em import fsc_lines
        _, figures = fsc_lines(session, n)
        s = cc_series(session.atoms, figures)
        fig = draw_cc(s)
        what = f"the map-model CC of {len(figures['residues'])} residues against map {n}"
    else:
        raise MainpyError(f"no plot {kind!r}: one of {', '.join(KINDS)}")
    save_png(fig, path)
    return f" {what} drawn in {path}"
