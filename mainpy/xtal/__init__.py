"""Reciprocal-space science: reflections, structure factors, bulk solvent, scaling, maps.

Modules here take numpy arrays and gemmi objects and return arrays; they know nothing of
the command language.
"""
