"""The structure-factor engine: Fcalc by density + FFT, and gradients by the FFT method.

One engine for every user: RE_PHASE (`mainpy.xtal.fmodel`), the X-ray refinement targets
(`mainpy.targets.xray`), the real-space density targets (`mainpy.targets.density`) and the
bulk-solvent mask's Fmask (`mainpy.xtal.solvent`).

The math. Atom j (position x_j, occupancy q_j, isotropic B_j or anisotropic U_j, IT92
form factor a_k, b_k with the constant c as a fifth Gaussian with b = 0) has the density

    rho_j(r) = sum_k a_k (2 pi)^(-3/2) det(S_k)^(-1/2) exp(-r' S_k^-1 r / 2),
    S_k = U_j + (b_k + blur)/(8 pi^2) I        (U_j = B_j/(8 pi^2) I if isotropic),

blurred by an extra B = blur (Refmac's rule: the sharpest atom just sampled by the grid)
and truncated at a small level, smoothly (max(rho - cut, 0): continuous, for targets
and gradients) or hard (rho where rho > cut: gemmi's DensityCalculator, for R-values).
Spread on a grid over the cell (the atoms only, no symmetry mates) and transformed,

    Fc(h) = exp(blur s^2/4) sum_ops F1(h R) exp(2 pi i h.t),
    F1(k) = (V/N) sum_g rho(x_g) exp(2 pi i k.x_g).

The gradient of a target T(Fc) with respect to any atom parameter p is
dT/dp = (V/N) sum_g M(x_g) drho/dp(x_g), M the inverse FFT of g_h = dT/dFc_h (times the
symmetry phases and the unblur factor): the same kernel that spreads the density sums
the map over each atom.

What lives where:
- `formfactors`: the IT92 table (five Gaussians per element)
- `grid`: cell matrices, symmetry operators, grid sizes, the blur rule
- `pruned_fft`: `PrunedFFT`, FFTs cut to the coefficients the Miller indices need
- `overlap`: `AtomKernel` (spread atoms on a grid, overlap with a map and derivatives),
  `map_overlap`, `model_density`
- `engine`: `StructureFactorEngine` (fcalc, density, gradient_map, gradient)
- `reference`: gemmi's direct summation and FFT, the references for tests
- `gemmi_model`: `FlatModel`, a gemmi model mirroring the atom arrays (for gemmi's tools)
- `_kernels`: the numba kernels (imported on first use only)
"""
