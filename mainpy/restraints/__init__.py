"""Chemistry: restraint dictionaries, topology, and the energy terms (numba kernels)."""
