"""The application layer: the services that commands share, between the language and the
science.

- `maps`: the session's map store (numbered grids over the unit cell, one grid for all).
- `phasing`: the data in use (REFL RESO limits) and re-phasing (RE_PHASE: Fmodel of the
  current model; R_WORK / R_FREE).
- `terms`: the energy terms switched on with ENER, as restraint and data targets.
- `refinement`: `RefinementRun`, which owns a minimization's cycle (segments,
  re-phasing, the phase macro, MAIN's weighting, the stop flag, the report).
- `ensemble`: several refinements from different seeds in parallel processes.

Modules here take the session and return results; commands parse, call one function here
(or a science module directly) and echo. Nothing here imports a command module.
"""
