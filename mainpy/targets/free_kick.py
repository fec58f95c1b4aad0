"""The ML "free kick" target (Praznikar & Turk 2014, Acta Cryst. D70, 3124).

The amplitude ML target needs sigmaA (D and the error variance S per resolution bin).
Estimated from the reflections the model is refined against, they are too optimistic
(the model has been fitted to them), so they are normally estimated from a test set
that refinement never sees. The free-kick estimate uses the work set instead, but with
kicked copies of the model: random shifts of the atoms (up to ``amplitude`` A) undo the
fit to the work reflections' noise, so the kicked models' agreement with the work set
resembles the unkicked model's agreement with unseen data. D and S are estimated per bin
from the work set for each of ``count`` kicked copies (kicks of 0.2 d_min by default) (each with its own Fcalc, bulk
solvent and scales) and averaged (D directly, S in log). The target is then the usual
ML target of the unkicked model over the work set (`MlTarget`), with these D and S.

A test set is not needed; when there is one, it is still left out of the sums, so
R-free is still a fair figure.
"""

from __future__ import annotations

import numpy as np

from mainpy.targets.xray import MlTarget
from mainpy.xtal.sigmaa import SigmaA, estimate_sigmaa

#: kick amplitude as a fraction of d_min, and the number of kicked copies (decided: on
#: 1d7m (2.4 A) the work-set estimate with kicks of 0.2 d_min matches the free-set S)
AMPLITUDE_PER_DMIN = 0.2
DEFAULT_COUNT = 5
PER_BIN = 500


def _binning() -> dict:
    """Equal widths in 1/d^2 where `estimate_sigmaa` offers them (the low-resolution,
    bulk-solvent dominated reflections get a bin of their own), else its default."""
    import inspect
    if "binning" in inspect.signature(estimate_sigmaa).parameters:
        return {"binning": "width"}
    return {}


_BINNING = _binning()


def default_amplitude(refl) -> float:
    return AMPLITUDE_PER_DMIN * float(refl.d_min)


def free_kick_sigmaa(refl, atoms, amplitude: float | None = None,
                     count: int = DEFAULT_COUNT, seed=0, bulk_solvent: bool = True,
                     aniso: bool = True, fmodel=None, per_bin: int = PER_BIN) -> SigmaA:
    """sigmaA of the model from the work set of ``refl``, averaged over kicked copies.

    ``fmodel``: an Fmodel of ``refl`` to reuse as scratch space for the kicked copies
    (its Fcalc and scales are overwritten); a new one is made without it.
    """
    from mainpy.model.perturb import kick_coordinates
    from mainpy.xtal.fmodel import Fmodel
    if count < 1:
        raise ValueError("the free-kick estimate needs at least one kicked model")
    if amplitude is None:
        amplitude = default_amplitude(refl)
    seeds = np.random.SeedSequence(seed).spawn(count)
    work = refl.work
    ests = []
    moving = np.ones(len(atoms), bool)
    for sd in seeds:
        kicked = atoms.replace(xyz=kick_coordinates(atoms.xyz, moving, amplitude, sd))
        if fmodel is None:
            fmodel = Fmodel(refl, kicked, bulk_solvent=bulk_solvent, aniso=aniso)
        else:
            fmodel.update(kicked)
        ests.append(estimate_sigmaa(refl.fobs, fmodel.f_model, refl.sigf, refl.centric,
                                    refl.epsilon, refl.d, work, per_bin=per_bin,
                                    **_BINNING))
    xc = np.mean([e.s2_bin for e in ests], axis=0)
    db = np.mean([e.d_bin for e in ests], axis=0)
    sb = np.exp(np.mean([np.log(e.s_bin) for e in ests], axis=0))
    sa = np.mean([e.sigmaa for e in ests], axis=0)
    s2 = refl.s2 if hasattr(refl, "s2") else 1.0 / refl.d ** 2
    D = np.interp(s2, xc, db)
    S = np.exp(np.interp(s2, xc, np.log(sb)))
    return SigmaA(xc, db, sb, D, S, ests[0].n_bin, sa, used_free=False)


class FreeKickMlTarget(MlTarget):
    """Amplitude ML over the work set with free-kick sigmaA (module docstring).

    The kicked copies are made from the atoms given with `set_atoms` (the minimizer
    gives the current model before each re-phasing); ``seed`` makes them reproducible.
    """

    name = "kick"

    def __init__(self, fmodel, atoms, amplitude: float | None = None,
                 count: int = DEFAULT_COUNT, seed=0, **kw):
        self.atoms = atoms
        self.amplitude = default_amplitude(fmodel.refl) if amplitude is None \
            else float(amplitude)
        self.count = int(count)
        self.seed = seed
        self._scratch = None
        self._round = 0
        super().__init__(fmodel, **kw)

    def set_atoms(self, atoms) -> None:
        """The model the next `refresh` kicks (call before it)."""
        self.atoms = atoms

    def _estimate_sigmaa(self):
        """D and S from the work set, averaged over kicked copies of the model."""
        from mainpy.xtal.fmodel import Fmodel
        r = self.refl
        fm = self.fmodel
        if self._scratch is None:
            self._scratch = Fmodel(r, self.atoms, bulk_solvent=fm.bulk_solvent,
                                   aniso=fm.aniso)
        seed = None if self.seed is None else [int(self.seed), self._round]
        self._round += 1
        return free_kick_sigmaa(r, self.atoms, self.amplitude, self.count, seed,
                                fmodel=self._scratch)
