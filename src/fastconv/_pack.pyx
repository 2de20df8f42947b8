"""Scans and copies around the kernels: the finiteness scan the planner's exactness rules
use, the padded-window copy that cuts the FFT's tiles, the zero-padded copy of a volume,
the compact copy of a strided 1x1 layer's pixels, and the element-wise ReLU of
:mod:`fastconv.nn` and its gradient.  Private."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from fastconv._kernels cimport fc_pad_index, nonfinite
from fastconv._omp cimport resolve_threads
from fastconv._types cimport real_t


def flip_transpose(const real_t[:, :, :, :] w, real_t[:, :, :, ::1] out, Py_ssize_t groups):
    """Write the conv2d weight ``w`` (C_out, C_in / groups, kH, kW) as the weight of its
    input gradient's convolution, ``out`` (groups * C_in / groups, C_out / groups, kH, kW):
    each group's (output, input) channels swapped and the taps flipped; return whether
    every weight is finite (NaN and +-inf found in the same pass)."""
    cdef Py_ssize_t og = w.shape[0] // groups, cg = w.shape[1], kH = w.shape[2], kW = w.shape[3]
    cdef Py_ssize_t gi, o, c, p, q, t, kk = kH * kW
    cdef int bad = 0
    cdef real_t v
    cdef const real_t *src
    cdef real_t *dst
    if w.size == 0:
        return True
    if (w.strides[3] == sizeof(real_t) and w.strides[2] == kW * sizeof(real_t)
            and w.strides[1] == kk * sizeof(real_t) and w.strides[0] == cg * kk * sizeof(real_t)):
        # C-contiguous (the usual weight): flipping both tap axes reverses each kH x kW block
        with nogil:
            for gi in range(groups):
                for o in range(og):
                    for c in range(cg):
                        src = &w[gi * og + o, c, 0, 0]
                        dst = &out[gi * cg + c, o, 0, 0]
                        for t in range(kk):
                            v = src[t]
                            bad |= not (v - v == 0)
                            dst[kk - 1 - t] = v
        return not bad
    with nogil:
        for gi in range(groups):
            for o in range(og):
                for c in range(cg):
                    for p in range(kH):
                        for q in range(kW):
                            v = w[gi * og + o, c, p, q]
                            bad |= not (v - v == 0)
                            out[gi * cg + c, o, kH - 1 - p, kW - 1 - q] = v
    return not bad


def pad_volume(const real_t[:, :, :, ::1] src, real_t[:, :, :, ::1] dst, Py_ssize_t d0, Py_ssize_t h0,
               Py_ssize_t w0, num_threads):
    """Write the volumes ``src`` (B, D, H, W) into ``dst`` (B, D', H', W') at depth, row and
    column offsets d0, h0, w0 and zeros everywhere else (dst large enough), plane by plane on
    up to ``num_threads`` threads: one pass over dst instead of a copy and four fills."""
    cdef Py_ssize_t B = src.shape[0], D = src.shape[1], H = src.shape[2], W = src.shape[3]
    cdef Py_ssize_t Dp = dst.shape[1], Hp = dst.shape[2], Wp = dst.shape[3]
    cdef Py_ssize_t p, b, d, r, n = B * Dp
    cdef int nt = resolve_threads(num_threads, n)
    cdef real_t *row
    if n == 0 or Hp == 0 or Wp == 0:
        return
    for p in prange(n, nogil=True, num_threads=nt, schedule="static"):
        b = p // Dp
        d = p % Dp - d0
        for r in range(Hp):
            row = &dst[b, p % Dp, r, 0]
            if d < 0 or d >= D or r < h0 or r >= h0 + H:
                memset(row, 0, Wp * sizeof(real_t))
            else:
                memset(row, 0, w0 * sizeof(real_t))
                memcpy(row + w0, &src[b, d, r - h0, 0], W * sizeof(real_t))
                memset(row + w0 + W, 0, (Wp - w0 - W) * sizeof(real_t))


def relu(const real_t[::1] x, real_t[::1] out, num_threads, Py_ssize_t per_thread):
    """``out = max(x, 0)`` as ``numpy.maximum(x, 0)`` computes it (NaN stays NaN, -0.0
    gives +0.0), on up to ``num_threads`` threads of at least ``per_thread`` elements."""
    cdef Py_ssize_t i, n = x.shape[0]
    cdef int nt = resolve_threads(num_threads, max(1, n // per_thread))
    cdef real_t v
    for i in prange(n, nogil=True, num_threads=nt, schedule="static"):
        v = x[i]
        out[i] = v if (v > 0 or v != v) else 0
    return out


def relu_backward(const real_t[::1] g, const real_t[::1] y, real_t[::1] out, num_threads, Py_ssize_t per_thread):
    """``out = g where y > 0 else 0`` in one pass (a NaN or inf of ``g`` where ``y <= 0`` or
    ``y`` is NaN gives 0, PyTorch's rule), threads as :func:`relu`."""
    cdef Py_ssize_t i, n = g.shape[0]
    cdef int nt = resolve_threads(num_threads, max(1, n // per_thread))
    cdef real_t v
    for i in prange(n, nogil=True, num_threads=nt, schedule="static"):
        v = g[i]  # read whatever y says: a select, not a branch on random signs
        out[i] = v if y[i] > 0 else 0
    return out


def subsample(const real_t[:, :, :, :] x, real_t[:, :, :, :] dst, Py_ssize_t sh, Py_ssize_t sw, num_threads,
              Py_ssize_t per_thread):
    """``dst[n, c, i, j] = x[n, c, i * sh, j * sw]`` for the whole of ``dst`` (N, C, Ho, Wo):
    the pixels a strided 1x1 layer reads, compact.  ``x`` any strides; ``dst`` any strides,
    written plane by plane (C-contiguous) or a pixel's channels at a time (channels-last).
    Planes (rows of pixels for channels-last) go over up to ``num_threads`` threads of at
    least ``per_thread`` elements: the copy reads every row the layer reads, a sizeable
    share of a layer whose products run on the threads."""
    cdef Py_ssize_t N = dst.shape[0], C = dst.shape[1], Ho = dst.shape[2], Wo = dst.shape[3]
    if N == 0 or C == 0 or Ho == 0 or Wo == 0:
        return
    cdef Py_ssize_t isz = sizeof(real_t)
    cdef int64_t xN = x.strides[0] // isz, xC = x.strides[1] // isz
    cdef int64_t xH = x.strides[2] // isz * sh, xW = x.strides[3] // isz * sw
    cdef int64_t dN = dst.strides[0] // isz, dC = dst.strides[1] // isz
    cdef int64_t dH = dst.strides[2] // isz, dW = dst.strides[3] // isz
    # items (sample, m) over the threads, each rows p of runs q: channels-last, m a row, p
    # its pixels and q their channels; else m a channel plane, p its rows and q their pixels
    cdef bint lanes_c = dC == 1 and C > 1 and dW != 1
    cdef Py_ssize_t M = Ho if lanes_c else C, P = Wo if lanes_c else Ho, Q = C if lanes_c else Wo
    cdef int64_t xM = xH if lanes_c else xC, xP = xW if lanes_c else xH, xQ = xC if lanes_c else xW
    cdef int64_t dM = dH if lanes_c else dC, dP = dW if lanes_c else dH, dQ = dC if lanes_c else dW
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *d0 = &dst[0, 0, 0, 0]
    cdef int nt = resolve_threads(num_threads, max(1, N * C * Ho * Wo // per_thread))
    cdef Py_ssize_t item, n, m, p, q
    cdef const real_t *xr
    cdef real_t *dr
    for item in prange(N * M, nogil=True, num_threads=nt, schedule="static"):
        n = item // M
        m = item - n * M
        xr = x0 + n * xN + m * xM
        dr = d0 + n * dN + m * dM
        if dQ == 1 and xQ == 2:  # planes at stride 2: a constant step, which vectorises
            for p in range(P):
                for q in range(Q):
                    (dr + p * dP)[q] = (xr + p * xP)[2 * q]
        else:
            for p in range(P):
                for q in range(Q):
                    dr[p * dP + q * dQ] = xr[p * xP + q * xQ]


def all_finite(const real_t[:, :, :, :] x):
    """Whether no element of ``x`` (any strides) is NaN or +-inf: one pass, no copy.  The
    callers send non-finite inputs and kernels to the direct kernels, which keep the exact
    pattern of NaN and +-inf that the fast algorithms would spread."""
    cdef Py_ssize_t a, b, c, W = x.shape[3]
    cdef int64_t sW = x.strides[3] // <Py_ssize_t>sizeof(real_t)
    cdef int bad = 0
    cdef Py_ssize_t nb = x.shape[1], nc = x.shape[2]
    if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0 or W == 0:
        return True
    # rows that follow one another in memory are one run (a 3x3 kernel's rows of 3 would
    # each be a call, dearer than the scan)
    if x.strides[2] == W * x.strides[3]:
        W *= nc
        nc = 1
        if x.strides[1] == W * x.strides[3]:
            W *= nb
            nb = 1
    with nogil:
        for a in range(x.shape[0]):
            for b in range(nb):
                for c in range(nc):
                    bad = nonfinite(&x[a, b, c, 0], W, sW)
                    if bad:
                        break
                if bad:
                    break
            if bad:
                break
    return not bad


def pad_window(const real_t[:, :] plane, real_t[:, :] dst, Py_ssize_t r0, Py_ssize_t c0, int mode,
               real_t fill):
    """Write the window of ``plane`` padded without end by ``mode`` (FC_PAD_* code, as
    numpy.pad for any size) whose first element is padded position (r0, c0) into ``dst``
    (any strides, e.g. the real or imaginary part of a complex array):
    ``dst[i, j] = padded[r0 + i, c0 + j]``, positions counted from the plane's first element.
    The FFT path cuts its tiles with it, so that no padded copy of a whole plane is made.

    Returns whether every value written is finite (the check is fused into the copy: the FFT
    path computes tiles that are not by the direct kernels)."""
    cdef Py_ssize_t H = plane.shape[0], W = plane.shape[1]
    cdef Py_ssize_t nh = dst.shape[0], nw = dst.shape[1]
    cdef Py_ssize_t sH = plane.strides[0] // sizeof(real_t), sW = plane.strides[1] // sizeof(real_t)
    cdef Py_ssize_t dH = dst.strides[0] // sizeof(real_t), dW = dst.strides[1] // sizeof(real_t)
    # columns jlo .. jhi - 1 of dst read plane columns c0 + j directly; the others are padding
    cdef Py_ssize_t jlo = min(max(-c0, 0), nw), jhi = max(min(W - c0, nw), jlo)
    cdef Py_ssize_t i, j
    cdef int64_t s, cs
    cdef const real_t *row
    cdef real_t *d
    cdef int bad = 0
    if H == 0 or W == 0:
        raise ValueError("pad_window: the plane is empty")
    if nh == 0 or nw == 0:
        return True
    with nogil:
        for i in range(nh):
            d = &dst[0, 0] + i * dH
            s = fc_pad_index(r0 + i, H, mode)
            if s < 0:
                for j in range(nw):
                    d[j * dW] = fill
                bad = bad | (not (fill - fill == 0))
                continue
            row = &plane[0, 0] + s * sH
            for j in range(jlo):
                cs = fc_pad_index(c0 + j, W, mode)
                d[j * dW] = fill if cs < 0 else row[cs * sW]
            if sW == 1 and dW == 1:
                if jhi > jlo:
                    memcpy(d + jlo, row + c0 + jlo, (jhi - jlo) * sizeof(real_t))
            else:
                for j in range(jlo, jhi):
                    d[j * dW] = row[(c0 + j) * sW]
            for j in range(jhi, nw):
                cs = fc_pad_index(c0 + j, W, mode)
                d[j * dW] = fill if cs < 0 else row[cs * sW]
            bad = bad | nonfinite(d, nw, dW)
    return not bad
