"""Separable kernels: the factors test shared by :func:`fastconv.correlate2d` and
:func:`fastconv.conv2d` (planner kind SEPARABLE; :func:`fastconv._engine.separable` runs it).

A kernel is separable when a column and a row of it reproduce every tap to within
``SEPARABLE_ULPS`` (:mod:`fastconv._tuning`) units in the last place of that tap.  The
factors are the column and the row through the largest tap (divided by it): the exact
factors of an exact outer product, with the zeros and signs of the taps, so near-zero taps
(a windowed filter's taps span 20 orders of magnitude) keep their value, and NaN/inf inputs
give the direct method's pattern: a NaN or infinity reaches the same outputs through the
two passes as through the direct sum, with the same signs.  (An SVD spreads its rounding
over every tap alike and made near-zero taps wrong by a factor of 48.)
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from fastconv import _pack, _tuning


def factors(k: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(columns (C, kh), rows (C, kw)) of ``k``'s dtype for the kernels ``k`` (C, kh, kw),
    when every one of them is separable; else None (also for 1-D kernels, and for a NaN or
    +-inf tap, which the direct kernels handle).  Vectorised over the C kernels."""
    C, kh, kw = k.shape
    if C == 0 or kh == 1 or kw == 1 or not _pack.all_finite(k[None]):
        return None
    k64 = k.astype(np.float64)
    flat = np.abs(k64).reshape(C, -1).argmax(axis=1)
    i0, j0 = flat // kw, flat % kw
    ch = np.arange(C)
    pivot = k64[ch, i0, j0]
    if not np.all(pivot != 0):
        return None
    col = k64[ch, :, j0].astype(k.dtype)
    row = (k64[ch, i0, :] / pivot[:, None]).astype(k.dtype)
    with np.errstate(over="ignore", under="ignore"):
        prod = col.astype(np.float64)[:, :, None] * row.astype(np.float64)[:, None, :]
    ulp = np.spacing(np.abs(k)).astype(np.float64)
    if not np.all(np.abs(prod - k64) <= _tuning.SEPARABLE_ULPS * ulp):
        return None
    return col, row


def factors2d(k: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """:func:`factors` of one 2-D kernel: (column (kh,), row (kw,)) or None."""
    f = factors(k[None])
    return None if f is None else (f[0][0], f[1][0])
