"""The atomic model as arrays, selections on it, and coordinate file I/O."""
