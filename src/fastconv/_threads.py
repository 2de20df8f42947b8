"""``fastconv.threads``: the default thread count for a block of code."""

from __future__ import annotations

from contextlib import ContextDecorator
from typing import Any, List, Optional

from fastconv import _omp


class threads(ContextDecorator):
    """Set the default thread count of fastconv's calls for a ``with`` block (or a decorated
    function), and restore the previous setting after it.

    Like threadpoolctl's ``threadpool_limits``: a context manager and a decorator, and the
    setting is process-wide (every Python thread's calls see it while the block runs).  A
    call's own ``num_threads`` still wins.  Without any setting, fastconv follows OpenMP's
    default, so ``threadpoolctl.threadpool_limits(n, user_api="openmp")`` limits it too.

    Parameters
    ----------
    n : int or None
        Threads per call, >= 1; None returns to OpenMP's default (``OMP_NUM_THREADS``) for
        the block.

    Raises
    ------
    ValueError
        ``n`` < 1.
    TypeError
        ``n`` not an int or None.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.ones((1, 1, 64, 64), np.float32); w = np.ones((1, 1, 3, 3), np.float32)
    >>> with fastconv.threads(1):
    ...     y = fastconv.conv2d(x, w)
    >>> fastconv.threads(1)(fastconv.conv2d)(x, w).shape
    (1, 1, 62, 62)
    """

    def __init__(self, n: Optional[int]):
        if n is not None:  # checked here, not when the block starts
            if isinstance(n, bool) or not hasattr(n, "__index__"):
                raise TypeError(f"threads: n must be an int or None, got {type(n).__name__}")
            if n.__index__() < 1:
                raise ValueError(f"threads: n={n.__index__()} must be >= 1 (or None for OpenMP's default)")
        self._n = n
        self._before: List[Optional[int]] = []  # a stack: the same object may be nested

    def __enter__(self) -> "threads":
        self._before.append(_omp.user_threads())
        _omp.set_num_threads(self._n)
        return self

    def __exit__(self, *exc: Any) -> None:
        _omp.set_num_threads(self._before.pop())
