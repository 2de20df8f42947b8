"""OpenMP helpers: whether the build is parallel, and the one thread-count resolver.

Two limits apply to every call's thread count:

* It is capped at ``thread_cap()``: four times the CPUs this process may run on (at least
  4).  More threads never speed a kernel up, and GNU OpenMP ends the whole interpreter
  ("Thread creation failed") when it cannot start one, e.g. ``num_threads=4096`` or
  ``OMP_NUM_THREADS=4096`` under a memory limit.
* A process forked (``os.fork``, multiprocessing's default start method on Linux) after its
  parent ran a parallel region runs every call on one thread: GNU OpenMP's thread pool does
  not survive ``fork``, and the child's first parallel region would wait forever for the
  parent's threads.  The child warns once when a call asked for more.
"""

import os
import warnings

cdef int _user_threads = 0  # 0: not set, follow OpenMP's own default (OMP_NUM_THREADS, threadpoolctl)
cdef int _went_parallel = 0  # this process has run (or is about to run) a region on > 1 thread
cdef int _forked_serial = 0  # a forked child of such a process: one thread only
cdef int _warned = 0
cdef int _cap = 4


cdef int _compute_cap():
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return <int>max(4, 4 * n)


def thread_cap():
    """Return the most threads a call uses: four times the CPUs this process may run on."""
    return _cap


def _after_fork_in_child():
    global _forked_serial, _cap, _warned
    if _went_parallel:
        _forked_serial = 1
        _warned = 0
    _cap = _compute_cap()


def _forked_state():
    """(went_parallel, forked_serial) of this process (tests)."""
    return bool(_went_parallel), bool(_forked_serial)


_cap = _compute_cap()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def openmp_enabled():
    """Return True when the compiled kernels were built with OpenMP."""
    return bool(FC_HAVE_OPENMP)


def compiler():
    """Return the compiler that built the extension, e.g. ``'gcc 12.2.0'``."""
    return FC_COMPILER.decode()


def simd_level():
    """Return the SIMD level the kernels run at on this CPU, e.g. ``'AVX2+FMA'``: the best
    of :func:`simd_compiled` that the CPU supports."""
    return fc_simd_level().decode()


def simd_compiled():
    """Return the SIMD levels compiled into the kernels, e.g. ``'AVX-512, AVX2+FMA, SSE2
    (runtime dispatch)'``, or the single level of a build without runtime dispatch."""
    return fc_simd_compiled().decode()


def cpu_vendor():
    """Return the CPU's vendor string, e.g. ``'GenuineIntel'`` or ``'AuthenticAMD'`` (x86
    CPUID), or ``''`` where the build cannot read it."""
    cdef char out[13]
    fc_cpu_vendor(out)
    return out.decode("ascii", "replace")


def cpu_family():
    """Return the CPU's display family (x86 CPUID leaf 1: base plus extended family, e.g. 25
    for AMD Zen 3 and Zen 4, 6 for Intel's cores), or 0 where the build cannot read it."""
    return fc_cpu_family()


def cpu_l2_bytes():
    """Return the size of one core's second-level cache in bytes (x86 CPUID), or 0 where
    the build or the CPU cannot report it."""
    return fc_cpu_l2_bytes()


def get_num_threads():
    """Return the number of threads a call uses when ``num_threads`` is None (at most
    :func:`thread_cap`; 1 in a process forked after its parent ran parallel calls)."""
    cdef int n = _user_threads if _user_threads > 0 else max(1, omp_get_max_threads())
    if _forked_serial:
        return 1
    return min(n, _cap)


def user_threads():
    """The count set by :func:`set_num_threads`, or None when none is set."""
    return _user_threads if _user_threads > 0 else None


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
    """Thread count for one call: explicit argument, else the default; capped by
    :func:`thread_cap`, by ``work`` (the number of independent work items), to 1 without
    OpenMP and to 1 in a process forked after its parent ran parallel calls."""
    global _went_parallel, _warned
    cdef int n
    if num_threads is None:
        n = _user_threads if _user_threads > 0 else max(1, omp_get_max_threads())
    else:
        n = _check_threads(num_threads, "fastconv", "num_threads")
    if not FC_HAVE_OPENMP:
        return 1
    if n > _cap:
        n = _cap
    if work >= 0 and n > work:
        n = <int>max(work, 1)
    if n > 1:
        if _forked_serial:
            if not _warned:
                _warned = 1
                warnings.warn("fastconv: this process was forked after its parent ran parallel "
                              "calls; GNU OpenMP cannot start threads in it, so fastconv runs on "
                              "one thread here (multiprocessing's 'spawn' or 'forkserver' start "
                              "method gives parallel children)", RuntimeWarning, stacklevel=2)
            return 1
        _went_parallel = 1
    return n
