"""Refinement targets behind one interface: value and gradient."""
