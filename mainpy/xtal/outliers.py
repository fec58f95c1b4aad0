"""Outliers among the observed amplitudes, judged against the model (Read 1999).

Given the scaled model amplitude |Fm| and sigmaA's D and S (`mainpy.xtal.sigmaa`), an
observed amplitude follows the Rice distribution of `sigmaa` (acentric: Fo is the length
of D Fm plus a complex Gaussian error of variance v = epsilon S + sigF^2; centric: the
absolute value of D |Fm| plus a real Gaussian error of variance v). The chance of an
amplitude at least as far out as the one measured,

    acentric  P(F >= Fo) = 1 - P_chi2'(2 Fo^2 / v; 2 dof, 2 D^2 Fm^2 / v)
    centric   P(F >= Fo) = Phi(-(Fo - D|Fm|)/sqrt v) + Phi(-(Fo + D|Fm|)/sqrt v)

(and 1 minus it for too weak ones), is compared with what the largest of N such
deviations would reach by chance: a reflection is an outlier when the chance that any of
the N observed reflections deviates this far, 1 - (1 - 2p)^N, is below ``level`` (1 %,
as phenix's model-based test). A few ice-ring spots, zingers or mis-integrated strong
reflections otherwise pull the scales and the model towards them. D and S are estimated
again without the outliers found, once.
"""

from __future__ import annotations

import numpy as np

#: chance that the most extreme of all observed reflections deviates as far as a rejected
#: one if the model and its error estimate were right
LEVEL = 0.01


def tail_probabilities(fo, fm, D, S, sigf, centric, epsilon) -> tuple[np.ndarray, np.ndarray]:
    """(P(F >= Fo), P(F <= Fo)) per reflection under the Rice model of the module
    docstring (NaN where Fo is not a number)."""
    from scipy.special import chndtr, ndtr
    sig = np.nan_to_num(np.asarray(sigf, float), nan=0.0)
    v = epsilon * S + sig ** 2
    nu = D * np.abs(fm)
    fo = np.asarray(fo, float)
    with np.errstate(invalid="ignore", over="ignore"):
        low_a = chndtr(2 * fo ** 2 / v, 2.0, 2 * nu ** 2 / v)
        sv = np.sqrt(v)
        high_c = ndtr(-(fo - nu) / sv) + ndtr(-(fo + nu) / sv)
    high = np.where(centric, high_c, 1.0 - low_a)
    low = np.where(centric, 1.0 - high_c, low_a)
    return high, low


def model_outliers(fo, fm, D, S, sigf, centric, epsilon, use, level: float = LEVEL
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(outlier mask, too-strong mask) among the reflections ``use``: those whose
    two-sided tail probability 2 min(P(F >= Fo), P(F <= Fo)) is below the level that
    1 - (1 - p)^N = ``level`` gives for N = use.sum() reflections."""
    use = np.asarray(use, bool)
    n = int(use.sum())
    out = np.zeros(len(use), bool)
    if n == 0:
        return out, out.copy()
    high, low = tail_probabilities(fo, fm, D, S, sigf, centric, epsilon)
    p = 2.0 * np.minimum(high, low)
    cut = -np.expm1(np.log1p(-level) / n)          # 1 - (1 - level)^(1/N)
    out = use & np.isfinite(p) & (p < cut)
    return out, out & (high < low)


def find_outliers(refl, f_model, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """(outlier mask, too-strong mask) of a data set against a scaled model (complex
    Fmodel on refl.hkl): sigmaA estimated, outliers judged, sigmaA estimated again
    without them and the outliers judged once more."""
    from dataclasses import replace

    from mainpy.xtal.sigmaa import sigmaa_for
    use = refl.observed
    out = np.zeros(len(refl), bool)
    strong = out
    for _ in range(2):
        sa = sigmaa_for(replace(refl, outliers=out).without_outliers(), f_model)
        out, strong = model_outliers(refl.fobs, f_model, sa.D, sa.S, refl.sigf,
                                     refl.centric, refl.epsilon, use, level)
    return out, strong
