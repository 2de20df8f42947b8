"""Typed nogil pooling kernels (CPU).

Private: called by :mod:`fastconv.pool` after :mod:`fastconv._args` validated the
configuration and allocated the outputs (values, int64 indices).  Work is split over
(plane, band of output rows), so a single large plane still uses every thread.
"""

from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from cython.parallel cimport parallel, prange

import numpy as np

from fastconv._kernels cimport (
    avg_plane, avg_pool_backward_plane, avg_pool_rows, fc_col_ranges, fc_pool_geom, max_plane, max_pool_2x2_rows,
    max_pool_rows, pool_nhwc_rows, unpool_plane,
)
from fastconv._omp cimport resolve_threads
from fastconv._types cimport real_t

from fastconv import _tuning


cdef int64_t _bands(int64_t planes, int64_t Ho, int nt) noexcept:
    """Row bands per plane: 1 when there are enough planes for every thread."""
    if planes >= nt:
        return 1
    return min(Ho, (nt + planes - 1) // planes * 4)


cdef object _setup(fc_pool_geom *g, x, out, Py_ssize_t isz, Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sH,
                   Py_ssize_t sW, Py_ssize_t pH, Py_ssize_t pW, Py_ssize_t dH, Py_ssize_t dW, region):
    """Fill the geometry; return the (3, W_out) column table that g points into.

    ``region`` is None for whole planes, else (H, W, r_org, c_org, o_org, q0): x holds input
    rows r_org.. and columns c_org.. of planes of size H x W, and out the output rows o_org..
    and columns q0.. (see fc_pool_geom)."""
    if region is None:
        region = (x.shape[2], x.shape[3], 0, 0, 0, 0)
    H, W, r_org, c_org, o_org, q0 = region
    g.H = H; g.W = W; g.xsH = x.strides[2] // isz; g.xsW = x.strides[3] // isz; g.Wr = x.shape[3]
    g.Wo = out.shape[3]; g.kH = kH; g.kW = kW; g.sH = sH; g.sW = sW
    g.pH = pH; g.pW = pW; g.dH = dH; g.dW = dW
    g.r_org = r_org; g.c_org = c_org; g.o_org = o_org; g.q0 = q0
    cols = np.empty((3, max(g.Wo, 1)), dtype=np.int64)
    cdef int64_t[:, ::1] c = cols
    fc_col_ranges(g.Wo, q0, kW, sW, pW, dW, W, &c[0, 0], &c[1, 0], &c[2, 0])
    g.w0 = &c[0, 0]; g.wlo = &c[1, 0]; g.whi = &c[2, 0]
    return cols


cdef bint _whole_plane(x, out, Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t pH, Py_ssize_t pW, Py_ssize_t dH,
                       Py_ssize_t dW):
    """Global pooling: the one window of each plane is the plane (no padding or dilation)."""
    return (out.shape[2] == 1 and out.shape[3] == 1 and kH == x.shape[2] and kW == x.shape[3]
            and pH == 0 and pW == 0 and dH == 1 and dW == 1)


cdef void _global(const real_t[:, :, :, :] x, real_t[:, :, :, ::1] out, int64_t[:, :, :, ::1] indices,
                  int64_t divisor, object num_threads):
    """Global pooling, one reduction per plane, planes over the threads: the maximum (and
    indices, which may be None) when ``divisor`` is 0, else the sum over ``divisor``."""
    cdef Py_ssize_t C = x.shape[1], H = x.shape[2], W = x.shape[3], isz = sizeof(real_t)
    cdef int64_t planes = x.shape[0] * C, p
    cdef int64_t sN = x.strides[0] // isz, sC = x.strides[1] // isz
    cdef int64_t xsH = x.strides[2] // isz, xsW = x.strides[3] // isz
    cdef int nt = resolve_threads(num_threads, max(1, planes * H * W // _tuning.POOL_PLANE_THREAD_ELEMS))
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef int64_t *i0 = &indices[0, 0, 0, 0] if indices is not None else NULL
    cdef const real_t *xp
    for p in prange(planes, nogil=True, num_threads=nt, schedule="static"):
        xp = x0 + (p // C) * sN + (p % C) * sC
        if divisor == 0:
            max_plane(xp, H, W, xsH, xsW, o0 + p, (i0 + p) if i0 != NULL else NULL)
        else:
            avg_plane(xp, H, W, xsH, xsW, divisor, o0 + p)


def max_pool2d(const real_t[:, :, :, :] x, real_t[:, :, :, ::1] out, int64_t[:, :, :, ::1] indices,
               Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sH, Py_ssize_t sW, Py_ssize_t pH,
               Py_ssize_t pW, Py_ssize_t dH, Py_ssize_t dW, object num_threads, object region=None):
    """Max pooling of x (N, C, H, W) into out (N, C, H_out, W_out); indices may be None.
    ``region``: see _setup (a block of the output from the part of the input it reads)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef int64_t planes = N * C
    if planes == 0 or Ho == 0 or Wo == 0:
        return
    cdef Py_ssize_t isz = sizeof(real_t)
    if region is None and _whole_plane(x, out, kH, kW, pH, pW, dH, dW):
        _global(x, out, indices, 0, num_threads)
        return
    cdef fc_pool_geom g
    _cols = _setup(&g, x, out, isz, kH, kW, sH, sW, pH, pW, dH, dW, region)  # g points into it
    # every window whole (ceil_mode can add a last window cut by the edge, which the 2x2
    # kernel would read past)
    cdef bint fast2x2 = (region is None and kH == 2 and kW == 2 and sH == 2 and sW == 2
                         and pH == 0 and pW == 0 and dH == 1 and dW == 1 and g.xsW == 1
                         and 2 * Ho <= g.H and 2 * Wo <= g.W)
    cdef int64_t sN = x.strides[0] // isz, sC = x.strides[1] // isz
    cdef int nt = resolve_threads(num_threads, max(1, planes * Ho * Wo * kH * kW // _tuning.POOL_THREAD_TAPS))
    cdef int64_t nb = _bands(planes, Ho, nt)
    nt = resolve_threads(nt, planes * nb)
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef int64_t *i0 = &indices[0, 0, 0, 0] if indices is not None else NULL
    cdef int64_t plane = Ho * Wo, item, p, b, oh0, oh1, org = g.o_org
    cdef const real_t *xp
    for item in prange(planes * nb, nogil=True, num_threads=nt, schedule="static"):
        p = item // nb
        b = item % nb
        oh0 = org + b * Ho // nb
        oh1 = org + (b + 1) * Ho // nb
        xp = x0 + (p // C) * sN + (p % C) * sC
        if fast2x2:
            max_pool_2x2_rows(xp, &g, oh0, oh1, o0 + p * plane, (i0 + p * plane) if i0 != NULL else NULL)
        else:
            max_pool_rows(xp, &g, oh0, oh1, o0 + p * plane, (i0 + p * plane) if i0 != NULL else NULL)


def avg_pool2d(const real_t[:, :, :, :] x, real_t[:, :, :, ::1] out, Py_ssize_t kH, Py_ssize_t kW,
               Py_ssize_t sH, Py_ssize_t sW, Py_ssize_t pH, Py_ssize_t pW, bint count_include_pad,
               int64_t divisor_override, object num_threads, object region=None):
    """Average pooling of x (N, C, H, W) into out; divisor_override 0 means none."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef int64_t planes = N * C
    if planes == 0 or Ho == 0 or Wo == 0:
        return
    cdef Py_ssize_t isz = sizeof(real_t)
    cdef int64_t[:, :, :, ::1] noidx
    if region is None and _whole_plane(x, out, kH, kW, pH, pW, 1, 1):
        noidx = None
        _global(x, out, noidx, divisor_override if divisor_override != 0 else kH * kW, num_threads)
        return
    cdef fc_pool_geom g
    _cols = _setup(&g, x, out, isz, kH, kW, sH, sW, pH, pW, 1, 1, region)  # g points into it
    cdef int64_t sN = x.strides[0] // isz, sC = x.strides[1] // isz
    cdef int nt = resolve_threads(num_threads, max(1, planes * Ho * Wo * kH * kW // _tuning.POOL_THREAD_TAPS))
    cdef int64_t nb = _bands(planes, Ho, nt)
    nt = resolve_threads(nt, planes * nb)
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef int64_t plane = Ho * Wo, item, p, b, oh0, oh1, org = g.o_org
    cdef const real_t *xp
    cdef int cip = count_include_pad
    cdef real_t *acc
    cdef int failed[1]
    failed[0] = 0
    with nogil, parallel(num_threads=nt):
        acc = <real_t *>malloc(max(g.Wr, 1) * sizeof(real_t))  # one row of window sums per thread
        if acc == NULL:
            failed[0] = 1
        for item in prange(planes * nb, schedule="static"):
            if acc == NULL:
                continue
            p = item // nb
            b = item % nb
            oh0 = org + b * Ho // nb
            oh1 = org + (b + 1) * Ho // nb
            xp = x0 + (p // C) * sN + (p % C) * sC
            avg_pool_rows(xp, &g, oh0, oh1, cip, divisor_override, o0 + p * plane, acc)
        free(acc)
    if failed[0]:
        raise MemoryError("avg_pool2d: could not allocate a row of scratch per thread")


def max_unpool2d(const real_t[:, :, :, :] v, const int64_t[:, :, :, :] indices,
                 real_t[:, :, :, ::1] out, object num_threads):
    """Scatter v into out by indices (per plane; each plane zeroed first, so out need not
    be).  Returns -1 when all indices were valid, else the flat (plane, position) of the
    first bad one found."""
    return _scatter(v, indices, out, num_threads, 0)


def max_pool2d_backward(const real_t[:, :, :, :] g, const int64_t[:, :, :, :] indices,
                        real_t[:, :, :, ::1] out, object num_threads):
    """Add g into out at indices (per plane, each zeroed first): the max-pool input gradient.
    Returns as :func:`max_unpool2d`."""
    return _scatter(g, indices, out, num_threads, 1)


def avg_pool2d_backward(const real_t[:, :, :, ::1] g, const real_t[:, ::1] div, real_t[:, :, :, ::1] out,
                        Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sH, Py_ssize_t sW, Py_ssize_t pH, Py_ssize_t pW,
                        object num_threads):
    """Average-pool input gradient: g (N, C, H_out, W_out) over the windows' divisors div
    (H_out, W_out) into out (N, C, H, W), every element written; planes over the threads,
    each gathering its windows' deltas in PyTorch's order (pool/rows.h)."""
    cdef int64_t planes = g.shape[0] * g.shape[1]
    cdef int64_t Ho = g.shape[2], Wo = g.shape[3], H = out.shape[2], W = out.shape[3]
    if planes == 0 or H == 0 or W == 0:
        return
    if Ho == 0 or Wo == 0:
        out[...] = 0
        return
    cdef int64_t taps = planes * Ho * Wo * kH * kW
    cdef int nt = resolve_threads(num_threads, max(1, min(planes, taps // _tuning.POOL_THREAD_TAPS)))
    cdef int64_t R = min(Ho, (kH + sH - 1) // sH)  # window rows an input row reads, at most
    cdef int64_t L = max(W + kW - 1, Wo + kW - 1 - pW)
    cdef const real_t *g0 = &g[0, 0, 0, 0]
    cdef const real_t *d0 = &div[0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *ring
    cdef int64_t *ints
    cdef int64_t p
    with nogil, parallel(num_threads=nt):
        ring = <real_t *>malloc(R * L * sizeof(real_t))
        ints = <int64_t *>malloc((R + 2 * W) * sizeof(int64_t))  # the ring's tags, then column ranges
        if ring == NULL or ints == NULL:
            failed[0] = 1
        for p in prange(planes, schedule="static"):
            if ring != NULL and ints != NULL:
                avg_pool_backward_plane(g0 + p * Ho * Wo, Ho, Wo, d0, o0 + p * H * W, H, W, kH, kW, sH, sW, pH, pW,
                                        ring, ints, R, L, ints + R)
        free(ring)
        free(ints)
    if failed[0]:
        raise MemoryError(f"avg_pool2d_input: could not allocate the per-thread rows ({R * L * sizeof(real_t)} bytes)")


cdef object _scatter(const real_t[:, :, :, :] v, const int64_t[:, :, :, :] indices, real_t[:, :, :, ::1] out,
                     object num_threads, int accumulate):
    cdef Py_ssize_t N = v.shape[0], C = v.shape[1], h = v.shape[2], w = v.shape[3]
    cdef int64_t planes = N * C
    if planes == 0 or h == 0 or w == 0:
        out[...] = 0
        return -1
    cdef Py_ssize_t isz = sizeof(real_t)
    cdef int64_t size = out.shape[2] * out.shape[3]
    cdef int64_t vsN = v.strides[0] // isz, vsC = v.strides[1] // isz
    cdef int64_t vs0 = v.strides[2] // isz, vs1 = v.strides[3] // isz
    cdef int64_t isN = indices.strides[0] // 8, isC = indices.strides[1] // 8
    cdef int64_t is0 = indices.strides[2] // 8, is1 = indices.strides[3] // 8
    cdef int nt = resolve_threads(num_threads, max(1, min(planes, planes * h * w // _tuning.POOL_THREAD_TAPS)))
    cdef const real_t *v0 = &v[0, 0, 0, 0]
    cdef const int64_t *ix0 = &indices[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    bad_a = np.full(planes, -1, dtype=np.int64)
    cdef int64_t[::1] bad = bad_a
    cdef int64_t p, n, ch, t
    cdef int64_t per = (planes + nt - 1) // nt  # planes each thread zeroes (about those it scatters into)
    for t in prange(nt, nogil=True, num_threads=nt, schedule="static"):
        if t * per < planes:
            memset(o0 + t * per * size, 0, min(per, planes - t * per) * size * isz)
    for p in prange(planes, nogil=True, num_threads=nt, schedule="static"):
        n = p // C
        ch = p % C
        bad[p] = unpool_plane(v0 + n * vsN + ch * vsC, vs0, vs1, ix0 + n * isN + ch * isC,
                              is0, is1, h, w, o0 + p * size, size, accumulate)
    for p in range(planes):
        if bad[p] >= 0:
            return p * h * w + bad[p]
    return -1


def pool2d_nhwc(int op, const real_t[:, :, :, :] x, real_t[:, :, :, :] out, int64_t[:, :, :, :] indices,
                Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sH, Py_ssize_t sW, Py_ssize_t pH, Py_ssize_t pW,
                Py_ssize_t dH, Py_ssize_t dW, bint count_include_pad, int64_t divisor_override, object num_threads):
    """Max (op 0; indices may be None) or average (op 1) pooling of channels-last data: x is
    (N, H, W, C) with unit channel stride, out and indices (N, H_out, W_out, C) views of the
    result with equal strides (a channels-last result, or the transposed view of a
    channels-first one).  Work items: (image, band of output rows)."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t Ho = out.shape[1], Wo = out.shape[2], isz = sizeof(real_t)
    if N == 0 or C == 0 or Ho == 0 or Wo == 0:
        return
    cdef int64_t sN = x.strides[0] // isz, xsH = x.strides[1] // isz, xsW = x.strides[2] // isz
    cdef int64_t oN = out.strides[0] // isz, osH = out.strides[1] // isz, osW = out.strides[2] // isz
    cdef int64_t osC = out.strides[3] // isz
    cdef int nt = resolve_threads(num_threads, max(1, N * C * Ho * Wo * kH * kW // _tuning.POOL_THREAD_TAPS))
    cdef int64_t nb = _bands(N, Ho, nt)
    nt = resolve_threads(nt, N * nb)
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef int64_t *i0 = &indices[0, 0, 0, 0] if indices is not None else NULL
    cdef int64_t item, n, b
    for item in prange(N * nb, nogil=True, num_threads=nt, schedule="static"):
        n = item // nb
        b = item % nb
        pool_nhwc_rows(op, x0 + n * sN, H, W, C, xsH, xsW, kH, kW, sH, sW, dH, dW, pH, pW, b * Ho // nb,
                       (b + 1) * Ho // nb, Wo, o0 + n * oN, (i0 + n * oN) if i0 != NULL else NULL, osH, osW, osC,
                       count_include_pad, divisor_override)
