"""A cache of big result and scratch blocks, kept across calls.

Memory that the C library maps for a big array (glibc: from 32 MiB on) goes back to the
system when the array is freed, and a new array of that size is faulted in and zeroed by the
kernel page by page on first touch: for a 64 MiB result that costs about as much as a 5x5
convolution filling it (4096^2 float32, 1 thread: 9.6 ms with a fresh result, 6.0 ms with
``out=``).  Results and temporaries of at least ``_min_bytes`` are therefore cut from blocks
that, once every array viewing them is gone, wait here for the next call of about the same
size, up to a total of ``_limit`` bytes (``set_buffer_cache``).

A block is handed out only when nothing references it: the arrays are views whose base chain
ends at the block object itself (NumPy reads its ``__array_interface__``; there is no
memoryview or other releasable exporter in between, so nothing a user can reach can hand
the block back early), and the block returns to the cache from its ``__dealloc__``, which
runs only when the last view is gone.  Every cache operation runs with
the GIL held and calls no Python code, so it is atomic.
"""

cimport cython
from libc.stdlib cimport free
from libc.stdint cimport uintptr_t

import numpy as np


cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void **memptr, size_t alignment, size_t size)

cdef extern from *:
    """
    #include <sys/mman.h>
    /* transparent huge pages for big blocks where the system offers them (fewer faults and
       TLB misses; NumPy does the same for its own big arrays) */
    static void fc_advise_huge(void *p, size_t n) {
    #ifdef MADV_HUGEPAGE
        (void)madvise(p, n, MADV_HUGEPAGE);
    #else
        (void)p; (void)n;
    #endif
    }
    #define FC_TRACE_DOMAIN 0x66637662u /* tracemalloc domain of these blocks */
    """
    void fc_advise_huge(void *p, size_t n) nogil
    unsigned int FC_TRACE_DOMAIN

cdef extern from "Python.h":
    int PyTraceMalloc_Track(unsigned int domain, uintptr_t ptr, size_t size)
    int PyTraceMalloc_Untrack(unsigned int domain, uintptr_t ptr)


cdef enum:
    MAX_BLOCKS = 8
    ALIGN = 1 << 21  # 2 MiB: huge-page aligned
    ROUND = 1 << 16  # sizes are rounded up to 64 KiB, so nearby requests share blocks
    VECTOR = 64  # alignment of the smaller results: the widest vector
    SMALL = 16384  # below this, NumPy's own alignment (the kernels' time is the call's)

cdef size_t _limit = 256 << 20  # bytes the cache may hold (set_buffer_cache)
cdef size_t _min_bytes = 16 << 20  # smaller arrays come from NumPy (malloc reuses them)
cdef void *_ptr[MAX_BLOCKS]  # cached blocks, oldest first
cdef size_t _size[MAX_BLOCKS]
cdef int _count = 0
cdef size_t _held = 0
cdef Py_ssize_t _hits = 0, _misses = 0


cdef void _release(void *p) noexcept:
    PyTraceMalloc_Untrack(FC_TRACE_DOMAIN, <uintptr_t>p)
    free(p)


cdef void *_remove(int k) noexcept:
    """Take entry k out of the cache (the others keep their order); returns its block."""
    global _count, _held
    cdef void *p = _ptr[k]
    _held -= _size[k]
    cdef int i
    for i in range(k + 1, _count):
        _ptr[i - 1] = _ptr[i]
        _size[i - 1] = _size[i]
    _count -= 1
    return p


cdef void _drop_oldest() noexcept:
    _release(_remove(0))


cdef void _give_back(void *p, size_t n) noexcept:
    """A block nothing references any more: keep it (dropping the oldest ones to stay within
    the limit) or free it."""
    global _count, _held
    if n > _limit:
        _release(p)
        return
    while _count > 0 and (_count == MAX_BLOCKS or _held + n > _limit):
        _drop_oldest()
    _ptr[_count] = p
    _size[_count] = n
    _count += 1
    _held += n


cdef void *_take(size_t n, size_t *got) noexcept:
    """The smallest cached block of n to n + n/8 bytes, n rounded up to ROUND (removed from
    the cache), or a new one; NULL when out of memory."""
    global _hits, _misses
    n = (n + ROUND - 1) // ROUND * ROUND
    cdef int i, best = -1
    for i in range(_count):
        if _size[i] >= n and _size[i] - n <= n // 8 and (best < 0 or _size[i] < _size[best]):
            best = i
    cdef void *p = NULL
    if best >= 0:
        got[0] = _size[best]
        _hits += 1
        return _remove(best)
    _misses += 1
    if posix_memalign(&p, ALIGN, n) != 0:
        # the cached blocks may be what stands in the way
        while _count > 0:
            _drop_oldest()
        if posix_memalign(&p, ALIGN, n) != 0:
            return NULL
    fc_advise_huge(p, n)
    PyTraceMalloc_Track(FC_TRACE_DOMAIN, <uintptr_t>p, n)
    got[0] = n
    return p


@cython.auto_pickle(False)
cdef class _Block:
    """n bytes of memory that NumPy views through ``__array_interface__`` (the array's base
    is the block itself); back to the cache when the last array viewing it is gone."""
    cdef void *ptr
    cdef size_t size
    cdef size_t n

    def __cinit__(self, size_t n):
        cdef size_t got = 0
        self.ptr = _take(n, &got)
        if self.ptr == NULL:
            raise MemoryError(f"could not allocate {n} bytes")
        self.size = got
        self.n = n

    @property
    def __array_interface__(self):
        return {"version": 3, "shape": (self.n,), "typestr": "|u1",
                "data": (<uintptr_t>self.ptr, False)}

    def __dealloc__(self):
        if self.ptr != NULL:
            _give_back(self.ptr, self.size)
            self.ptr = NULL


def empty(shape, dtype):
    """``numpy.empty(shape, dtype)``, C-contiguous and 64-byte aligned; arrays of at least
    ``_min_bytes`` come from the block cache.  NumPy aligns to 16 bytes: the kernels' vector
    stores would then straddle two cache lines wherever a row or pixel starts a vector."""
    dt = np.dtype(dtype)
    cdef Py_ssize_t n = dt.itemsize
    cdef unsigned char[::1] mem
    for s in shape:
        n *= s
    if <size_t>n < _min_bytes or _limit == 0:
        if n < SMALL:
            return np.empty(shape, dtype=dt)
        raw = np.empty(n + VECTOR, dtype=np.uint8)
        mem = raw
        start = (VECTOR - <uintptr_t>&mem[0] % VECTOR) % VECTOR  # C division: unsigned
        return np.ndarray(shape, dt, raw, start)
    raw = np.asarray(_Block(<size_t>n))  # raw.base is the block
    return raw.view(dt).reshape(shape)


def set_buffer_cache(max_bytes):
    """Set how much memory fastconv keeps for big results and temporaries across calls.

    Results and scratch arrays of at least 16 MiB are cut from blocks that, once the arrays
    are gone, are kept for the next call of about the same size instead of being given back
    to the system: a fresh block is faulted in and zeroed page by page on first use, which
    cost a third of the time of a 5x5 convolution of a 4096 x 4096 float32 image.  The
    oldest kept blocks are freed first when the limit would be passed.

    Parameters
    ----------
    max_bytes : int
        The most memory kept (default 256 MiB); 0 frees the kept blocks and turns the cache
        off.  Blocks in use are not affected: they are kept or freed when released.

    Returns
    -------
    int
        The previous limit.

    Raises
    ------
    TypeError
        If ``max_bytes`` is not an integer.
    ValueError
        If ``max_bytes`` is negative.
    """
    global _limit
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)):
        raise TypeError(f"set_buffer_cache: max_bytes must be an int, got {type(max_bytes).__name__}")
    if max_bytes < 0:
        raise ValueError(f"set_buffer_cache: max_bytes must be >= 0, got {max_bytes}")
    old = _limit
    _limit = <size_t>min(int(max_bytes), 1 << 62)
    while _count > 0 and _held > _limit:
        _drop_oldest()
    return int(old)


def buffer_cache_info():
    """Return the state of the block cache of :func:`set_buffer_cache`.

    Returns
    -------
    dict
        ``limit`` (bytes it may keep), ``held`` (bytes kept now), ``blocks`` (blocks kept
        now), ``min_bytes`` (the smallest array served from blocks), ``hits`` and ``misses``
        (block requests served from the cache / newly allocated since the start).
    """
    return {"limit": int(_limit), "held": int(_held), "blocks": int(_count),
            "min_bytes": int(_min_bytes), "hits": int(_hits), "misses": int(_misses)}


def _set_min_bytes(Py_ssize_t n):
    """Set the smallest array served from blocks; returns the previous value (tests)."""
    global _min_bytes
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    old = _min_bytes
    _min_bytes = <size_t>n
    return int(old)
