"""OpenMP helpers: whether the build is parallel, and the one thread-count resolver."""

import os

cdef int _user_threads = 0  # 0: not set, follow OpenMP's own default (OMP_NUM_THREADS, threadpoolctl)


def openmp_enabled():
    """Return True when the compiled kernels were built with OpenMP."""
    return bool(FC_HAVE_OPENMP)


def compiler():
    """Return the compiler that built the extension, e.g. ``'gcc 12.2.0'``."""
    return FC_COMPILER.decode()


def simd_level():
    """Return the SIMD level the kernels dispatch to on this CPU, e.g. ``'AVX2+FMA'``."""
    return fc_simd_level().decode()


def get_num_threads():
    """Return the number of threads a call uses when ``num_threads`` is None."""
    if _user_threads > 0:
        return _user_threads
    return max(1, omp_get_max_threads())


def set_num_threads(n):
    """Set the default thread count; ``None`` returns to OpenMP's default (``OMP_NUM_THREADS``)."""
    global _user_threads
    if n is None:
        _user_threads = 0
        return
    _user_threads = _check_threads(n, "set_num_threads", "n")


cdef int _check_threads(object n, str fn, str name) except -1:
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"{fn}: {name} must be an int or None, got {type(n).__name__}")
    cdef Py_ssize_t v = n.__index__()
    if v < 1:
        raise ValueError(f"{fn}: {name}={v} must be >= 1 (or None for the default)")
    return <int>min(v, 1 << 16)


cpdef int resolve_threads(object num_threads, Py_ssize_t work=-1) except -1:
    """Thread count for one call: explicit argument, else the default; capped by ``work``
    (the number of independent work items) and 1 without OpenMP."""
    cdef int n
    if num_threads is None:
        n = get_num_threads()
    else:
        n = _check_threads(num_threads, "fastconv", "num_threads")
    if not FC_HAVE_OPENMP:
        return 1
    if work >= 0 and n > work:
        n = <int>max(work, 1)
    return n
