"""Reciprocal-space science: reflections, structure factors, bulk solvent, scaling, maps.

Modules here take numpy arrays and gemmi objects and return arrays; they know nothing of
the command language. Nothing heavy is imported here: import the module you need.

- reflections: `read_reflections`, `Reflections`, `select_resolution`
- french_wilson: intensities to amplitudes
- fcalc: RE_PHASE's Fcalc, the structure-factor engine of `mainpy.sf` configured as
  gemmi's (`FcalcCalculator`, `fcalc`, `fcalc_direct`)
- solvent: flat bulk-solvent mask and Fmask
- scaling: per-bin k_mask, isotropic and symmetry-constrained anisotropic scales
- rfactors: R-work/R-free, equal-volume shells, completeness
- fmodel: `Fmodel` ties these together (MAIN's RE_PHASE)
- sigmaa: D and sigmaA per bin from the free set, figures of merit
- maps: map coefficients, FFT both ways, map operations, CCP4 map and MTZ files
- _mask_kernels, _scaling_kernels: numba kernels of the solvent mask and of the scale
  scans, imported on first use only
"""
