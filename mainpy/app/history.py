"""The history of a refinement run, as data: one row per step (and one for the start).

Each row holds the step, the total and per-term energies, R-work (the X-ray target's own
at every step; a fresh one where a RE_PHASE happened), R-free (fresh rows only), the
bond and angle rmsd and the data weight. `RefinementRun` fills it; the session keeps the
runs (`session.runs`, the last as `session.history`); WRITE HISTORY writes it as CSV,
SHOW HISTORY prints it and WRITE PLOT HISTORY draws it.

    h = session.history
    h.columns()["r_free"]        # numpy array, NaN where no fresh R-free
    h.write_csv("run.csv")
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: the fixed columns of the CSV, before the per-term energies
FIXED_COLUMNS = ("step", "total", "r_work", "r_free", "fresh", "rmsd_bonds", "rmsd_angles",
                 "weight")


@dataclass
class Row:
    """One step of a run (step 0: the model before it)."""

    step: int
    total: float | None = None
    terms: dict = field(default_factory=dict)    # term name -> energy (weighted)
    r_work: float | None = None
    r_free: float | None = None
    fresh: bool = False          # R-work and R-free of a RE_PHASE (or of the start / end)
    rmsd_bonds: float | None = None
    rmsd_angles: float | None = None
    weight: float | None = None  # the data weight (None without data terms)


def rmsd(xyz, restraints) -> tuple[float | None, float | None]:
    """(bond rmsd in A, angle rmsd in degrees) of coordinates, None without restraints."""
    if restraints is None:
        return None, None
    import numpy as np

    from mainpy.restraints.validation import angle_values, bond_values
    out = []
    for values, ideal in ((bond_values, restraints.bond_ideal),
                          (angle_values, restraints.angle_ideal)):
        out.append(float(np.sqrt(np.mean((values(xyz, restraints) - ideal) ** 2)))
                   if len(ideal) else None)
    return out[0], out[1]


class RunHistory:
    """The rows of one run, in step order; `what` says which run (its description)."""

    def __init__(self, what: str = "", restraints=None):
        self.what = what
        self.rows: list[Row] = []
        self.before: dict = {}     # the report's figures before and after the run
        self.after: dict = {}
        self._restraints = restraints

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"RunHistory({self.what.strip()!r}, {len(self.rows)} rows)"

    # ------------------------------------------------------------------ filling
    def start(self, figures: dict, weight: float | None) -> None:
        """Step 0: the report's figures of the model before the run."""
        self.before = dict(figures)
        self.rows.append(Row(0, r_work=figures.get("R-work"), r_free=figures.get("R-free"),
                             fresh="R-free" in figures, rmsd_bonds=figures.get("rmsd bonds"),
                             rmsd_angles=figures.get("rmsd angles"), weight=weight))

    def step(self, step: int, total: float, terms: dict, r_work, xyz,
             weight: float | None) -> None:
        """A step whose model the run keeps (the lowest objective of its segment so far;
        line-search trials worse than that are no rows); its ``xyz`` give the rmsd."""
        b, a = rmsd(xyz, self._restraints)
        self.rows.append(Row(step, float(total), {k: float(v) for k, v in terms.items()},
                             r_work, None, False, b, a, weight))

    def rephase(self, step: int, r_work: float, r_free: float) -> None:
        """A RE_PHASE after ``step``: its R-values replace the step's (marked fresh)."""
        row = self._row(step)
        row.r_work, row.r_free, row.fresh = float(r_work), float(r_free), True

    def finish(self, step: int, figures: dict) -> None:
        """The figures of the final model (after the last scale fit) at the last step."""
        self.after = dict(figures)
        row = self._row(step)
        if "R-free" in figures:
            row.r_work, row.r_free, row.fresh = figures["R-work"], figures["R-free"], True
        row.rmsd_bonds = figures.get("rmsd bonds", row.rmsd_bonds)
        row.rmsd_angles = figures.get("rmsd angles", row.rmsd_angles)

    def _row(self, step: int) -> Row:
        if not self.rows or self.rows[-1].step != step:
            self.rows.append(Row(step, weight=self.rows[-1].weight if self.rows else None))
        return self.rows[-1]

    # ------------------------------------------------------------------ reading
    def terms(self) -> list[str]:
        """The energy terms that appear in the run, in their first order."""
        out: list[str] = []
        for r in self.rows:
            out += [k for k in r.terms if k not in out]
        return out

    def columns(self) -> dict:
        """Every column as a numpy array (NaN where a row has no value): the fixed ones,
        then one per energy term."""
        import numpy as np

        def col(values, dtype=float):
            return np.array([math.nan if v is None else v for v in values], dtype=dtype)
        rows = self.rows
        out = {"step": np.array([r.step for r in rows], dtype=int)}
        for name in FIXED_COLUMNS[1:]:
            if name == "fresh":
                out[name] = np.array([r.fresh for r in rows], dtype=bool)
            else:
                out[name] = col([getattr(r, name) for r in rows])
        for t in self.terms():
            out[t] = col([r.terms.get(t) for r in rows])
        return out

    def csv_text(self) -> str:
        """The history as CSV: a header line, then one line per row (empty where a row
        has no value; fresh is 1 where R-work and R-free come from a re-phasing)."""
        names = list(FIXED_COLUMNS) + self.terms()
        lines = [",".join(names)]
        for r in self.rows:
            vals = []
            for n in names:
                v = r.terms.get(n) if n not in FIXED_COLUMNS else getattr(r, n)
                if isinstance(v, bool):
                    vals.append("1" if v else "0")
                elif v is None or (isinstance(v, float) and math.isnan(v)):
                    vals.append("")
                elif isinstance(v, int):
                    vals.append(str(v))
                else:
                    vals.append(f"{v:.8g}")
            lines.append(",".join(vals))
        return "\n".join(lines) + "\n"

    def write_csv(self, path) -> None:
        """Write the CSV whole or not at all."""
        from mainpy.fileio import atomic_write
        text = self.csv_text()

        def write(tmp):
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        atomic_write(path, write)

    def lines(self, every: int = 1) -> list[str]:
        """A table for SHOW HISTORY: every ``every``-th row, fresh rows and the last."""
        def f(v, spec):
            return format(v, spec) if v is not None else "-"
        out = [f" {'step':>6} {'total':>12} {'R-work':>7} {'R-free':>7} {'bonds':>7} "
               f"{'angles':>7} {'weight':>9}"]
        for i, r in enumerate(self.rows):
            if not (r.step % every == 0 or r.fresh or i == len(self.rows) - 1):
                continue
            out.append(f" {r.step:6d} {f(r.total, '12.6g'):>12} {f(r.r_work, '7.4f'):>7} "
                       f"{f(r.r_free, '7.4f'):>7} {f(r.rmsd_bonds, '7.4f'):>7} "
                       f"{f(r.rmsd_angles, '7.3f'):>7} {f(r.weight, '9.4g'):>9}"
                       + ("" if not (r.fresh and r.step) else
                          "  final" if i == len(self.rows) - 1 else "  re-phased"))
        return out
