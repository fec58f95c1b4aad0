"""X-ray form factors: the IT92 table as five Gaussians per element.

f(s) = sum_{k=1..4} a_k exp(-b_k s^2/4) + c, with the constant c taken as a fifth Gaussian
with b_5 = 0 (gemmi's IT92 coefficients in double precision, as its direct summation
uses them). One table for Fcalc, gradients and real-space overlaps.
"""

from __future__ import annotations

import gemmi
import numpy as np

from mainpy.errors import InputError

_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _coefficients(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    row = _CACHE.get(symbol)
    if row is None:
        el = gemmi.Element(symbol)
        if el.name == "X" and symbol.upper() != "X" or el.it92 is None:
            raise InputError(f"no X-ray form factor for element {symbol!r}; fix the "
                             "element column of the model file")
        c = el.it92
        row = _CACHE[symbol] = (np.r_[c.a, c.c], np.r_[c.b, 0.0])
    return row


def form_factor_table(element: np.ndarray, symbols: bool = False) -> tuple:
    """(index of each atom's element (n,), a (ne, 5), b (ne, 5)) for element symbols;
    with ``symbols`` also the symbol of each row (ne,)."""
    uniq, inv = np.unique(np.asarray(element).astype(str), return_inverse=True)
    a = np.empty((len(uniq), 5))
    b = np.empty((len(uniq), 5))
    for i, sym in enumerate(uniq):
        a[i], b[i] = _coefficients(str(sym))
    out = inv.reshape(-1).astype(np.int64), a, b
    return out + (uniq,) if symbols else out


def electrons(element: np.ndarray) -> np.ndarray:
    """f(0) = sum a_k + c of each atom's element (its electrons, IT92)."""
    eidx, a, _ = form_factor_table(element)
    return a.sum(axis=1)[eidx]
