"""Selections: a small expression tree over atom properties, evaluated to a boolean mask.

The nodes are plain data (the command language builds them from `sele ... end`, Python
users may build them directly); `evaluate(node, atoms, ...)` turns one into a numpy bool
array with one entry per atom. Names match case-sensitively with wildcards `*` (any run
of characters) and `%` (exactly one character).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable


class Node:
    """Base of selection nodes."""


@dataclass(frozen=True)
class All(Node):
    pass


@dataclass(frozen=True)
class Nothing(Node):
    pass


@dataclass(frozen=True)
class Names(Node):
    """Atoms whose `column` (name, resname, segment, element, altloc) matches any pattern."""

    column: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Numbers(Node):
    """Atoms whose `column` (serial, resseq) lies in any of the closed ranges."""

    column: str
    ranges: tuple[tuple[object, object], ...]


@dataclass(frozen=True)
class Range(Node):
    """Atoms whose `column` (b, occ) lies in [lo, hi]."""

    column: str
    lo: object
    hi: object


@dataclass(frozen=True)
class Around(Node):
    """Atoms within `dist` of any atom of key `key`, through crystal symmetry."""

    key: str
    dist: object


@dataclass(frozen=True)
class KeyRef(Node):
    name: str


@dataclass(frozen=True)
class Not(Node):
    arg: Node


@dataclass(frozen=True)
class BinOp(Node):
    op: str           # "and" | "or" | "xor"
    left: Node
    right: Node


@dataclass(frozen=True)
class By(Node):
    """Widen the selection to whole residues ("resi") or segments ("segm")."""

    unit: str
    arg: Node


def map_values(node: Node, fn: Callable[[object], object]) -> Node:
    """A copy of the tree with fn applied to every numeric leaf (variables -> numbers)."""
    if isinstance(node, Numbers):
        return Numbers(node.column, tuple((fn(a), fn(b)) for a, b in node.ranges))
    if isinstance(node, Range):
        return Range(node.column, fn(node.lo), fn(node.hi))
    if isinstance(node, Around):
        return Around(node.key, fn(node.dist))
    if isinstance(node, Not):
        return Not(map_values(node.arg, fn))
    if isinstance(node, By):
        return By(node.unit, map_values(node.arg, fn))
    if isinstance(node, BinOp):
        return BinOp(node.op, map_values(node.left, fn), map_values(node.right, fn))
    return node


def key_names(node: Node) -> set[str]:
    """Names of the keys a selection refers to (also inside AROUND)."""
    if isinstance(node, KeyRef):
        return {node.name}
    if isinstance(node, Around):
        return {node.key}
    if isinstance(node, (Not, By)):
        return key_names(node.arg)
    if isinstance(node, BinOp):
        return key_names(node.left) | key_names(node.right)
    return set()


def pattern_regex(pattern: str) -> re.Pattern:
    """`*` any run, `%` one character; everything else literal and case-sensitive."""
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "%" else re.escape(ch))
    return re.compile("".join(parts) + r"\Z", re.S)


class SelectionError(Exception):
    """A selection that cannot be evaluated (unknown key, no crystal for AROUND)."""


def evaluate(node: Node, atoms, keys: dict | None = None, neighbours=None):
    """Boolean mask of the atoms selected by node.

    keys maps key names to boolean masks; neighbours(mask, dist) -> mask returns the
    atoms within dist of the masked atoms through symmetry (needed only for AROUND).
    """
    import numpy as np

    n = len(atoms)
    keys = keys or {}

    def ev(nd):
        if isinstance(nd, All):
            return np.ones(n, bool)
        if isinstance(nd, Nothing):
            return np.zeros(n, bool)
        if isinstance(nd, Names):
            uniq, inv = atoms.codes(nd.column)
            hit = np.zeros(len(uniq), bool)
            for p in nd.patterns:
                if "*" in p or "%" in p:
                    rx = pattern_regex(p)
                    hit |= np.fromiter((rx.match(u) is not None for u in uniq), bool, len(uniq))
                else:
                    hit |= uniq == p
            return hit[inv]
        if isinstance(nd, Numbers):
            col = getattr(atoms, nd.column)
            m = np.zeros(n, bool)
            for lo, hi in nd.ranges:
                m |= (col >= lo) & (col <= hi)
            return m
        if isinstance(nd, Range):
            col = getattr(atoms, nd.column)
            return (col >= nd.lo) & (col <= nd.hi)
        if isinstance(nd, KeyRef):
            if nd.name not in keys:
                raise SelectionError(f"no key named {nd.name!r} (show key lists them)")
            return keys[nd.name].copy()
        if isinstance(nd, Around):
            if nd.key not in keys:
                raise SelectionError(f"no key named {nd.key!r} (show key lists them)")
            if neighbours is None:
                raise SelectionError("AROUND needs a model with a crystal")
            return neighbours(keys[nd.key], float(nd.dist))
        if isinstance(nd, Not):
            return ~ev(nd.arg)
        if isinstance(nd, By):
            m = ev(nd.arg)
            group = atoms.residue_index if nd.unit == "resi" else atoms.codes("segment")[1]
            hit = np.zeros(int(group.max()) + 1 if n else 0, bool)
            hit[group[m]] = True
            return hit[group]
        if isinstance(nd, BinOp):
            a, b = ev(nd.left), ev(nd.right)
            return a & b if nd.op == "and" else a | b if nd.op == "or" else a ^ b
        raise TypeError(f"not a selection node: {nd!r}")

    return ev(node)
