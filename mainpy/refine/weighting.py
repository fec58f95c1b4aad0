"""MAIN's weighting of the data against the chemistry (ADJUST BOND r).

One data weight w multiplies every data term of the objective (each also keeps its own
ENER scale, their weights relative to each other). It starts where the data and the
restraint gradients balance, |w g_data| = |g_restraints| over the moving atoms, unless a
weight is carried over from the last run with the same data terms; it is then re-adjusted
so that the bond rmsd approaches the target r: w <- w (r / rmsd)^e, the factor clamped to
[MAX_DOWN, MAX_UP] (down fast: geometry first; up at most x2 at a time). The exponent e
starts at 2 and halves (to at least MIN_EXPONENT) each time the factor changes direction:
the bond rmsd follows the weight about linearly, so e = 2 overshoots by as much as it
corrects and the weight would swing x0.8 <-> x1.2 for hundreds of steps.

ADJUST ANGLE z adds a limit on the angles' rms Z (deviation / esd): the weight is then
re-adjusted by whichever of bonds and angles is further beyond its own (rmsd / r against
rms Z / z), so that both hold. At 3.4 A (2r4r) the bond rmsd alone let the angles reach
rms Z 1.40 (2.8 degrees; the deposited model's 1.06) and R-free - R-work 0.08.
"""

from __future__ import annotations

from dataclasses import dataclass

#: limits of one re-adjustment of the data weight (factor (r / rmsd)^e clamped to these)
MAX_DOWN, MAX_UP = 0.1, 2.0
#: the exponent of the first re-adjustments, and the least it is halved to
START_EXPONENT, MIN_EXPONENT = 2.0, 0.5
DEFAULT_BOND_RMSD = 0.02


@dataclass
class Adjustment:
    factor: float
    rmsd: float
    target: float
    angle_z: float | None = None      # the angles' rms Z, where its limit decided
    angle_max: float | None = None

    def describe(self) -> str:
        if self.angle_z is not None:
            return (f"data weight x{self.factor:.2f} (angle rms Z {self.angle_z:.2f}, at "
                    f"most {self.angle_max:g}; bond rmsd {self.rmsd:.4f})")
        return (f"data weight x{self.factor:.2f} (bond rmsd {self.rmsd:.4f}, "
                f"target {self.target:g})")


class DataWeight:
    """The data weight of an objective's data parts (all parts but "restraints")."""

    def __init__(self, objective, target_rmsd: float = DEFAULT_BOND_RMSD,
                 start: float | None = None, angle_max: float | None = None):
        self.objective = objective
        self.target = float(target_rmsd)
        self.angle_max = angle_max        # ADJUST ANGLE z: the angles' rms Z at most z
        self.data = [p for p in objective.parts if p.name != "restraints"]
        self.scales = {p.name: p.weight for p in self.data}
        self.key = tuple(sorted(p.name for p in self.data))
        self.w = 1.0 if start is None else float(start)
        self.exponent = START_EXPONENT
        self._last_up: bool | None = None     # direction of the last re-adjustment

    def balance(self, atoms, moving) -> float:
        """Set w where the data and restraint gradients (xyz of the moving atoms) balance."""
        if self.data and self.objective.part("restraints") is not None:
            norms = self.objective.gradient_norms(atoms, ("xyz",), moving)
            g_data = sum(norms[p.name] * self.scales[p.name] for p in self.data)
            g_restr = norms["restraints"]
            self.w = g_restr / g_data if g_data > 0 else 1.0
        self.apply()
        return self.w

    def apply(self) -> None:
        for p in self.data:
            p.weight = self.w * self.scales[p.name]

    def readjust(self, rmsd: float | None, angle_z: float | None = None
                 ) -> Adjustment | None:
        """w <- w (target / rmsd)^e, clamped (e halved when the direction turns); None
        when there is nothing to adjust. With a limit on the angles' rms Z (angle_max),
        where angle_z / angle_max is the larger of the two ratios (rmsd / target the
        other), the angles take the bonds' place: w <- w (angle_max / angle_z)^e."""
        if rmsd is None or not self.data or rmsd <= 0:
            return None
        by_angle = (self.angle_max is not None and angle_z is not None
                    and angle_z / self.angle_max > rmsd / self.target)
        if by_angle:
            adj = self._readjust(self.target * angle_z / self.angle_max)
            return Adjustment(adj.factor, rmsd, self.target, angle_z, self.angle_max)
        return self._readjust(rmsd)

    def _readjust(self, rmsd: float) -> Adjustment:
        if rmsd != self.target:           # on target: no direction to remember
            up = rmsd < self.target
            if self._last_up is not None and up != self._last_up:
                self.exponent = max(MIN_EXPONENT, self.exponent / 2)
            self._last_up = up
        factor = min(MAX_UP, max(MAX_DOWN, (self.target / rmsd) ** self.exponent))
        self.w *= factor
        self.apply()
        return Adjustment(factor, rmsd, self.target)
