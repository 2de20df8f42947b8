"""Typed nogil pooling kernels (CPU).

Private: called by :mod:`fastconv.pool` after :mod:`fastconv._args` validated the
configuration and allocated the outputs (values, int64 indices).  Work is split over
(plane, band of output rows), so a single large plane still uses every thread.
"""

from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from cython.parallel cimport parallel, prange

import numpy as np

from fastconv._kernels cimport (
    fc_avg_pool_rows_d, fc_avg_pool_rows_f, fc_col_ranges, fc_max_pool_2x2_rows_d,
    fc_max_pool_2x2_rows_f, fc_max_pool_rows_d, fc_max_pool_rows_f, fc_pool_geom,
    fc_unpool_plane_d, fc_unpool_plane_f,
)
from fastconv._omp cimport resolve_threads
from fastconv._types cimport real_t


cdef int64_t _bands(int64_t planes, int64_t Ho, int nt) noexcept:
    """Row bands per plane: 1 when there are enough planes for every thread."""
    if planes >= nt:
        return 1
    return min(Ho, (nt + planes - 1) // planes * 4)


def _geometry(x, out, Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sH, Py_ssize_t sW,
              Py_ssize_t pH, Py_ssize_t pW, Py_ssize_t dH, Py_ssize_t dW):
    """Column tap ranges for every output column: (w0, wlo, whi) int64 arrays."""
    cdef Py_ssize_t Wo = out.shape[3]
    cols = np.empty((3, Wo), dtype=np.int64)
    cdef int64_t[:, ::1] c = cols
    if Wo:
        fc_col_ranges(Wo, kW, sW, pW, dW, x.shape[3], &c[0, 0], &c[1, 0], &c[2, 0])
    return cols


def max_pool2d(const real_t[:, :, :, :] x, real_t[:, :, :, ::1] out, int64_t[:, :, :, ::1] indices,
               Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sH, Py_ssize_t sW, Py_ssize_t pH,
               Py_ssize_t pW, Py_ssize_t dH, Py_ssize_t dW, object num_threads):
    """Max pooling of x (N, C, H, W) into out (N, C, H_out, W_out); indices may be None."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef int64_t planes = N * C
    if planes == 0 or Ho == 0 or Wo == 0:
        return
    cols = _geometry(x, out, kH, kW, sH, sW, pH, pW, dH, dW)
    cdef const int64_t[:, ::1] c = cols
    cdef Py_ssize_t isz = sizeof(real_t)
    cdef fc_pool_geom g
    g.H = x.shape[2]; g.W = x.shape[3]; g.sH = x.strides[2] // isz; g.sW = x.strides[3] // isz
    g.Ho = Ho; g.Wo = Wo; g.kH = kH; g.kW = kW; g.strH = sH; g.strW = sW
    g.pH = pH; g.pW = pW; g.dH = dH; g.dW = dW
    g.w0 = &c[0, 0]; g.wlo = &c[1, 0]; g.whi = &c[2, 0]
    cdef bint fast2x2 = (indices is None and kH == 2 and kW == 2 and sH == 2 and sW == 2
                         and pH == 0 and pW == 0 and dH == 1 and dW == 1 and g.sW == 1)
    cdef int64_t sN = x.strides[0] // isz, sC = x.strides[1] // isz
    cdef int nt = resolve_threads(num_threads)
    cdef int64_t nb = _bands(planes, Ho, nt)
    nt = resolve_threads(num_threads, planes * nb)
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef int64_t *i0 = &indices[0, 0, 0, 0] if indices is not None else NULL
    cdef int64_t plane = Ho * Wo, item, p, b, oh0, oh1
    cdef const real_t *xp
    for item in prange(planes * nb, nogil=True, num_threads=nt, schedule="static"):
        p = item // nb
        b = item % nb
        oh0 = b * Ho // nb
        oh1 = (b + 1) * Ho // nb
        xp = x0 + (p // C) * sN + (p % C) * sC
        if real_t is float:
            if fast2x2:
                fc_max_pool_2x2_rows_f(xp, &g, oh0, oh1, o0 + p * plane)
            else:
                fc_max_pool_rows_f(xp, &g, oh0, oh1, o0 + p * plane, (i0 + p * plane) if i0 != NULL else NULL)
        else:
            if fast2x2:
                fc_max_pool_2x2_rows_d(xp, &g, oh0, oh1, o0 + p * plane)
            else:
                fc_max_pool_rows_d(xp, &g, oh0, oh1, o0 + p * plane, (i0 + p * plane) if i0 != NULL else NULL)


def avg_pool2d(const real_t[:, :, :, :] x, real_t[:, :, :, ::1] out, Py_ssize_t kH, Py_ssize_t kW,
               Py_ssize_t sH, Py_ssize_t sW, Py_ssize_t pH, Py_ssize_t pW, bint count_include_pad,
               int64_t divisor_override, object num_threads):
    """Average pooling of x (N, C, H, W) into out; divisor_override 0 means none."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef int64_t planes = N * C
    if planes == 0 or Ho == 0 or Wo == 0:
        return
    cols = _geometry(x, out, kH, kW, sH, sW, pH, pW, 1, 1)
    cdef const int64_t[:, ::1] c = cols
    cdef Py_ssize_t isz = sizeof(real_t)
    cdef fc_pool_geom g
    g.H = x.shape[2]; g.W = x.shape[3]; g.sH = x.strides[2] // isz; g.sW = x.strides[3] // isz
    g.Ho = Ho; g.Wo = Wo; g.kH = kH; g.kW = kW; g.strH = sH; g.strW = sW
    g.pH = pH; g.pW = pW; g.dH = 1; g.dW = 1
    g.w0 = &c[0, 0]; g.wlo = &c[1, 0]; g.whi = &c[2, 0]
    cdef int64_t sN = x.strides[0] // isz, sC = x.strides[1] // isz
    cdef int nt = resolve_threads(num_threads)
    cdef int64_t nb = _bands(planes, Ho, nt)
    nt = resolve_threads(num_threads, planes * nb)
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef int64_t plane = Ho * Wo, item, p, b, oh0, oh1
    cdef const real_t *xp
    cdef int cip = count_include_pad
    cdef real_t *acc
    cdef int failed[1]
    failed[0] = 0
    with nogil, parallel(num_threads=nt):
        acc = <real_t *>malloc(g.W * sizeof(real_t))  # one row of window sums per thread
        if acc == NULL:
            failed[0] = 1
        for item in prange(planes * nb, schedule="static"):
            if acc == NULL:
                continue
            p = item // nb
            b = item % nb
            oh0 = b * Ho // nb
            oh1 = (b + 1) * Ho // nb
            xp = x0 + (p // C) * sN + (p % C) * sC
            if real_t is float:
                fc_avg_pool_rows_f(xp, &g, oh0, oh1, cip, divisor_override, o0 + p * plane, acc)
            else:
                fc_avg_pool_rows_d(xp, &g, oh0, oh1, cip, divisor_override, o0 + p * plane, acc)
        free(acc)
    if failed[0]:
        raise MemoryError("avg_pool2d: could not allocate a row of scratch per thread")


def max_unpool2d(const real_t[:, :, :, :] v, const int64_t[:, :, :, :] indices,
                 real_t[:, :, :, ::1] out, object num_threads):
    """Scatter v into the zero-filled out by indices (per plane).  Returns -1 when all
    indices were valid, else the flat (plane, position) of the first bad one found."""
    cdef Py_ssize_t N = v.shape[0], C = v.shape[1], h = v.shape[2], w = v.shape[3]
    cdef int64_t planes = N * C
    if planes == 0 or h == 0 or w == 0:
        return -1
    cdef Py_ssize_t isz = sizeof(real_t)
    cdef int64_t size = out.shape[2] * out.shape[3]
    cdef int64_t vsN = v.strides[0] // isz, vsC = v.strides[1] // isz
    cdef int64_t vs0 = v.strides[2] // isz, vs1 = v.strides[3] // isz
    cdef int64_t isN = indices.strides[0] // 8, isC = indices.strides[1] // 8
    cdef int64_t is0 = indices.strides[2] // 8, is1 = indices.strides[3] // 8
    cdef int nt = resolve_threads(num_threads, planes)
    cdef const real_t *v0 = &v[0, 0, 0, 0]
    cdef const int64_t *ix0 = &indices[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    bad_a = np.full(planes, -1, dtype=np.int64)
    cdef int64_t[::1] bad = bad_a
    cdef int64_t p, n, ch
    for p in prange(planes, nogil=True, num_threads=nt, schedule="static"):
        n = p // C
        ch = p % C
        if real_t is float:
            bad[p] = fc_unpool_plane_f(v0 + n * vsN + ch * vsC, vs0, vs1, ix0 + n * isN + ch * isC,
                                       is0, is1, h, w, o0 + p * size, size)
        else:
            bad[p] = fc_unpool_plane_d(v0 + n * vsN + ch * vsC, vs0, vs1, ix0 + n * isN + ch * isC,
                                       is0, is1, h, w, o0 + p * size, size)
    for p in range(planes):
        if bad[p] >= 0:
            return p * h * w + bad[p]
    return -1
