"""The engine's gradient (FFT method) against central finite differences of
T = sum_h Re(conj(g_h) Fc_h) for a fixed random complex g, in double precision, with
respect to positions, B, occupancies and anisotropic U (the six stored elements)."""

import numpy as np
import pytest
from sf_helpers import pick_atoms, random_aniso

from mainpy.sf.engine import StructureFactorEngine

GRAD_TOL = 1e-4
STEPS = {"xyz": 1e-4, "b": 1e-3, "occ": 1e-4, "aniso": 1e-5}
NCOMP = {"xyz": 3, "b": 0, "occ": 0, "aniso": 6}


def _fd_errors(eng, atoms, g, idx):
    """{param: (max |fd - analytic| / max |analytic|, max |analytic|)} at atoms idx."""
    def value(a):
        return float(np.real(np.conj(g) * eng.fcalc(a)).sum())
    grad = eng.gradient(atoms, g, ("xyz", "b", "occ", "aniso"))
    aniso = atoms.aniso.any(axis=1)
    # B derivatives of anisotropic atoms and U derivatives of isotropic ones are zero
    assert not grad["b"][aniso].any() and not grad["aniso"][~aniso].any()
    assert grad["aniso"].shape == (len(atoms), 6)
    out = {}
    for p, h in STEPS.items():
        an, fd = [], []
        for j in idx:
            if (p == "aniso" and not aniso[j]) or (p == "b" and aniso[j]):
                continue
            for c in (range(NCOMP[p]) if NCOMP[p] else [None]):
                vals = []
                for s in (1, -1):
                    a = atoms.copy()
                    arr = getattr(a, p)
                    if c is None:
                        arr[j] += s * h
                    else:
                        arr[j, c] += s * h
                    vals.append(value(a))
                fd.append((vals[0] - vals[1]) / (2 * h))
                an.append(grad[p][j] if c is None else grad[p][j, c])
        an, fd = np.array(an), np.array(fd)
        out[p] = (float(np.abs(an - fd).max() / np.abs(an).max()), float(np.abs(an).max()))
    return out


@pytest.mark.parametrize("name", ["1l2h", "5e5z"])      # P43 (mixed model), P21 (ANISOU)
def test_engine_gradient_fd(case, name):
    st, atoms, refl = case(name)
    idx = pick_atoms(atoms, 10)
    if name == "1l2h":
        atoms = random_aniso(atoms, idx[::2], seed=5)
    assert atoms.aniso[idx].any(axis=1).sum() >= 5
    eng = StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl, rate=1.25,
                                truncation="smooth")
    rng = np.random.default_rng(0)
    g = rng.normal(size=len(refl.hkl)) + 1j * rng.normal(size=len(refl.hkl))
    errs = _fd_errors(eng, atoms, g, idx)
    print(f"\n{name} engine gradient vs finite differences (max rel err, max |g|): "
          + ", ".join(f"{p}: {e:.2e} ({s:.3g})" for p, (e, s) in errs.items()))
    for p, (e, s) in errs.items():
        assert s > 0 and e < GRAD_TOL, (p, e)


def test_gradient_threads_and_precision(case):
    """1 and 2 threads give the same gradient; single precision follows double."""
    import numba
    st, atoms, refl = case("5e5z")
    rng = np.random.default_rng(1)
    g = rng.normal(size=len(refl.hkl)) + 1j * rng.normal(size=len(refl.hkl))
    params = ("xyz", "b", "occ", "aniso")
    double = StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl)
    single = StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl, single=True)
    n = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = double.gradient(atoms, g, params)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = double.gradient(atoms, g, params)
        c = single.gradient(atoms, g, params)
    finally:
        numba.set_num_threads(n)
    for p in params:
        scale = np.abs(a[p]).max()
        assert np.abs(a[p] - b[p]).max() < 1e-10 * scale, p
        assert np.abs(a[p] - c[p]).max() < 3e-5 * scale, p


def test_gradient_with_hydrogen_cutoff(case):
    """Hydrogens at their own truncation level (the refinement engine's H_CUTOFF): the
    gradient of every atom, hydrogens and their neighbours included, is still exact for
    the value the engine computes."""
    from mainpy.targets.xray import H_CUTOFF
    st, atoms, refl = case("1byz")
    is_h = np.isin(atoms.element, ("H", "D"))
    assert is_h.sum() > 500 and H_CUTOFF > 1e-5
    # hydrogens isotropic (as they ride), the other atoms with their ANISOU
    atoms = atoms.replace(aniso=np.where(is_h[:, None], 0.0, atoms.aniso))
    assert atoms.aniso[~is_h].any(axis=1).mean() > 0.9
    idx = np.r_[np.flatnonzero(is_h)[::120], np.flatnonzero(~is_h)[::150]]
    eng = StructureFactorEngine(refl.cell, refl.spacegroup, refl.hkl, rate=1.25,
                                truncation="smooth", h_cutoff=H_CUTOFF)
    assert eng.kernel_for(atoms).cuts.max() == H_CUTOFF
    rng = np.random.default_rng(2)
    g = rng.normal(size=len(refl.hkl)) + 1j * rng.normal(size=len(refl.hkl))
    errs = _fd_errors(eng, atoms, g, idx)
    for p, (e, s) in errs.items():
        assert s > 0 and e < GRAD_TOL, (p, e)
