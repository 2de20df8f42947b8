"""Driver of the in-place kernels for one input channel per output channel (Plan kinds
DW_STRIP, DW_SWEEP, DW_FLAT): (sample, output channel, band of rows) items over the threads,
each read where it lies, with the next item's rows prefetched.  Private: see
:mod:`fastconv._plan`."""

from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from cython.parallel cimport parallel, prange, threadid

import numpy as np

from fastconv._geom cimport geometry
from fastconv._kernels cimport (
    checked_vb,
    FC_DWG_STREAM_BYTES, FC_NHWC_COPY_ROWS, FC_NHWC_PLANE_BYTES, dw_band, dw_nhwc_rows, dw_planes, dw_wgrad_plane,
    fc_alloc, fc_conv_geom, fc_dw_plane_buffer_elems, fc_dwg_buffer_elems, fc_dwg_max_planes, fc_pad_map,
    nhwc_to_planes, pack_weights, planes_to_nhwc,
)
from fastconv._omp cimport resolve_threads
from fastconv._types cimport real_t


def run(plan, const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
        real_t[:, :, :, ::1] out, a, real_t fill):
    """Run a depthwise plan: output channel oc of x (N, C, H, W) with w (C_out, 1, kH, kW)
    reads input channel oc // (C_out / groups); other arguments as for
    :func:`fastconv._direct.run`.  Column stride 1 or 2 and contiguous input columns (the
    planner checked)."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Cout = w.shape[0], kH = w.shape[2], kW = w.shape[3]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3], isz = sizeof(real_t)
    if N == 0 or Cout == 0 or Ho == 0 or Wo == 0:
        return
    cdef Py_ssize_t coutg = Cout // a.groups
    cdef int kind = plan.kind
    cdef int64_t vb = checked_vb(plan.vector_bytes)
    dtype = np.float32 if real_t is float else np.float64

    cdef fc_conv_geom g
    geometry(&g, x, w, out.shape[2], out.shape[3], a)
    g.Wp = (Wo - 1) * g.sw + (kW - 1) * g.dw + 1
    cdef int64_t sN = x.strides[0] // isz
    cdef int64_t sh = g.sh, dh = g.dh, pt = g.pt

    # taps of each output channel, contiguous: [oc][kh][kw]
    wpack_a = np.empty(Cout * kH * kW, dtype=dtype)
    cdef real_t[::1] wpack = wpack_a
    cdef int64_t ws[4]
    cdef Py_ssize_t i
    for i in range(4):
        ws[i] = w.strides[i] // isz
    colmap_a = np.empty(g.Wp, dtype=np.int64)
    cdef int64_t[::1] colmap = colmap_a
    with nogil:
        pack_weights(vb, &w[0, 0, 0, 0], ws, Cout, 1, kH, kW, 1, &wpack[0])
        fc_pad_map(&colmap[0], g.Wp, g.pl, W, g.mode)
    fillrow_a = np.full(W, fill, dtype=dtype)
    cdef const real_t[::1] fillrow = fillrow_a

    # Items (sample, output channel, band of rows).  No buffer bounds the band: it is read
    # in place; the strips' buffers are bounded by the row group.
    cdef int64_t R = plan.band_rows
    cdef int64_t nb = (Ho + R - 1) // R
    cdef int64_t nitems = N * Cout * nb
    cdef int nt = resolve_threads(plan.threads, nitems)
    cdef int64_t reach = (kH - 1) * dh + 1
    cdef int64_t span = (R - 1) * sh + reach
    cdef int64_t vl = vb // isz
    cdef int64_t ew = (vl - 1) * g.sw + (kW - 1) * g.dw + 1  # padded columns one chunk reads (edge buffers)
    cdef int64_t rg = plan.row_group
    cdef int64_t tmp_elems = plan.tmp_elems
    cdef int stream = plan.stream
    cdef int64_t prefetch_bytes = plan.prefetch_bytes
    cdef int64_t gspan = (rg - 1) * sh + reach

    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef const real_t *b0 = &bias[0] if bias is not None else NULL
    cdef const real_t *wp0 = &wpack[0]
    cdef const real_t *fr = &fillrow[0]
    cdef const int64_t *cm = &colmap[0]
    cdef int64_t plane = Ho * Wo
    cdef int failed[1]
    failed[0] = 0
    cdef const real_t **rowp
    cdef const real_t **eptr
    cdef real_t *edge
    cdef real_t *tmp
    cdef int64_t item, n, oc, b, oh0, r_lo, r_hi, nxrows
    cdef const real_t *nx
    cdef real_t bv

    with nogil, parallel(num_threads=nt):
        rowp = <const real_t **>malloc((span + gspan) * sizeof(real_t *))
        eptr = rowp + span
        edge = <real_t *>fc_alloc((gspan * ew + tmp_elems) * sizeof(real_t))
        tmp = edge + gspan * ew if tmp_elems > 0 else NULL
        if rowp == NULL or edge == NULL:
            failed[0] = 1
        for item in prange(nitems, schedule="static"):
            if rowp == NULL or edge == NULL:
                continue
            n = item // (Cout * nb)
            oc = (item // nb) % Cout
            b = item % nb
            oh0 = b * R
            bv = b0[oc] if b0 != NULL else 0
            # the input rows of the next item (most likely this thread's), to prefetch
            nx = NULL
            nxrows = 0
            if item + 1 < nitems:
                r_lo = max(0, ((item + 1) % nb) * R * sh - pt)
                r_hi = min(H, (min(Ho, ((item + 1) % nb) * R + R) - 1) * sh + reach - pt)
                if r_hi > r_lo and (r_hi - r_lo) * W * isz <= prefetch_bytes:
                    nx = (x0 + ((item + 1) // (Cout * nb)) * sN
                          + ((((item + 1) // nb) % Cout) // coutg) * g.xsC + r_lo * g.xsH)
                    nxrows = r_hi - r_lo
            dw_band(vb, kind, x0 + n * sN + (oc // coutg) * g.xsC, g.xsH, &g, cm, fr, fill,
                    wp0 + oc * kH * kW, bv, oh0, min(R, Ho - oh0),
                    o0 + (n * Cout + oc) * plane, rg, rowp, edge, eptr, tmp, nx, nxrows, stream)
        free(<void *>rowp)
        free(edge)
    if failed[0]:
        raise MemoryError("conv2d: could not allocate the per-thread row lists and edge buffers "
                          f"({(span + gspan) * sizeof(real_t *) + (gspan * ew + tmp_elems) * isz} bytes)")


def run_planes(plan, const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
               real_t[:, :, :, :] out, a, real_t fill):
    """Run a DW_PLANE plan (depthwise/plane.h): x (N, C, H, W) with any strides, w (C_out, 1,
    kH, kW), output channel oc reading input channel oc // (C_out / groups); (image, block of
    VL output channels) items over the threads.  ``out`` C-contiguous or channels-last (a
    channel stride of one element).  Other arguments as for :func:`fastconv._direct.run`."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Cout = w.shape[0], kH = w.shape[2], kW = w.shape[3]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3], isz = sizeof(real_t)
    if N == 0 or Cout == 0 or Ho == 0 or Wo == 0:
        return
    cdef int64_t coutg = Cout // a.groups, vb = checked_vb(plan.vector_bytes), vl = vb // isz, taps = kH * kW
    dtype = np.float32 if real_t is float else np.float64
    cdef fc_conv_geom g
    geometry(&g, x, w, out.shape[2], out.shape[3], a)
    cdef int64_t Hp = (Ho - 1) * g.sh + (kH - 1) * g.dh + 1, Wp = (Wo - 1) * g.sw + (kW - 1) * g.dw + 1
    rowmap_a = np.empty(Hp, dtype=np.int64)
    colmap_a = np.empty(Wp, dtype=np.int64)
    cdef int64_t[::1] rowmap = rowmap_a
    cdef int64_t[::1] colmap = colmap_a
    fc_pad_map(&rowmap[0], Hp, g.pt, H, g.mode)
    fc_pad_map(&colmap[0], Wp, g.pl, W, g.mode)
    # weights as (block, tap, lane) and the bias as (block, lane), zero past C_out
    cdef int64_t nblk = (Cout + vl - 1) // vl
    wb_a = np.zeros((nblk * vl, taps), dtype=dtype)
    wb_a[:Cout] = np.asarray(w).reshape(Cout, taps)
    wb_a = np.ascontiguousarray(wb_a.reshape(nblk, vl, taps).transpose(0, 2, 1))
    cdef const real_t[:, :, ::1] wb = wb_a
    bb_a = np.zeros(nblk * vl if bias is not None else 1, dtype=dtype)
    if bias is not None:
        bb_a[:Cout] = bias
    cdef const real_t[::1] bb = bb_a
    cdef const real_t *bb0 = &bb[0] if bias is not None else NULL
    cdef int64_t nitems = N * nblk
    cdef int nt = resolve_threads(plan.threads, nitems)
    cdef size_t scratch = <size_t>fc_dw_plane_buffer_elems(W, Ho, Wo, kH, kW, g.sh, g.sw, g.dh, g.dw, vl, vb)
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef const real_t *wb0 = &wb[0, 0, 0]
    cdef const int64_t *rm = &rowmap[0]
    cdef const int64_t *cm = &colmap[0]
    cdef int64_t sN = x.strides[0] // isz, plane = Ho * Wo, oN = Cout * plane
    if Cout > 1 and plane > 1 and out.strides[1] == isz:  # channels-last: planes a channel apart
        plane = 1
        g.osH = out.strides[2] // isz
        g.osW = out.strides[3] // isz
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *buf
    cdef const real_t **xp
    cdef real_t **op
    cdef int64_t item, n, blk, oc0, nval, lane
    with nogil, parallel(num_threads=nt):
        buf = <real_t *>fc_alloc(scratch * sizeof(real_t))
        xp = <const real_t **>malloc(2 * vl * sizeof(real_t *))
        op = <real_t **>(xp + vl)
        if buf == NULL or xp == NULL:
            failed[0] = 1
        for item in prange(nitems, schedule="static"):
            if buf == NULL or xp == NULL:
                continue
            n = item // nblk
            blk = item % nblk
            oc0 = blk * vl
            nval = min(vl, Cout - oc0)
            for lane in range(nval):
                xp[lane] = x0 + n * sN + ((oc0 + lane) // coutg) * g.xsC
                op[lane] = o0 + n * oN + (oc0 + lane) * plane
            dw_planes(vb, xp, g.xsH, g.xsW, &g, rm, cm, fill, wb0 + blk * taps * vl,
                      (bb0 + blk * vl) if bb0 != NULL else NULL, nval, op, buf)
        free(buf)
        free(<void *>xp)
    if failed[0]:
        raise MemoryError(f"conv2d: could not allocate the per-thread plane buffer ({scratch * isz} bytes)")


def run_nhwc(plan, x, w, bias, out, a, fill):
    """Run a DW_NHWC plan: x (N, C, H, W) with channel stride 1 (channels-last memory), one
    output channel per input channel (w (C, 1, kH, kW)), zero padding.  ``out`` (N, C,
    H_out, W_out) in either layout, any element strides: a channels-first one whose rows lie
    one after another in each plane is computed a block of rows at a time into a per-thread
    channels-last buffer and transposed into the planes, any other written channel by
    channel."""
    _run_nhwc(plan, x, w, bias, out, a, fill)


def _run_nhwc(plan, const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
              real_t[:, :, :, :] out, a, real_t fill):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t kH = w.shape[2], kW = w.shape[3], Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t isz = sizeof(real_t)
    if N == 0 or C == 0 or Ho == 0 or Wo == 0:
        return
    dtype = np.float32 if real_t is float else np.float64
    # taps as (kH, kW, C): each tap's C weights contiguous, like the pixels
    wt_a = np.ascontiguousarray(np.asarray(w)[:, 0].transpose(1, 2, 0), dtype=dtype)
    cdef const real_t[:, :, ::1] wt = wt_a
    cdef const real_t *bp = &bias[0] if bias is not None else NULL
    cdef int64_t sN = x.strides[0] // isz, xsH = x.strides[2] // isz, xsW = x.strides[3] // isz
    cdef int64_t oN = out.strides[0] // isz, osH = out.strides[2] // isz, osW = out.strides[3] // isz
    cdef int64_t osC = out.strides[1] // isz
    cdef int64_t sh = a.stride[0], sw = a.stride[1], dh = a.dilation[0], dw = a.dilation[1]
    cdef int64_t pt = a.pads[0], pl = a.pads[2]
    cdef int64_t R = plan.band_rows
    cdef int64_t nb = (Ho + R - 1) // R
    cdef int64_t vb = checked_vb(plan.vector_bytes)
    cdef int nt = resolve_threads(plan.threads, N * nb)
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    # pixels that do not start on a vector boundary (NumPy aligns to 16 bytes) go through a
    # per-thread copy of the input rows of FC_NHWC_COPY_ROWS output rows at a time, each pixel
    # aligned (fc_dw_nhwc_rows), unless the plan reads them in place (the CPU's choice);
    # fewer channels than a vector are read one by one anyway
    cdef int64_t vl = vb // isz
    cdef int64_t cp = (C + vl - 1) // vl * vl
    cdef int64_t bufrows = min(H, (FC_NHWC_COPY_ROWS - 1) * sh + (kH - 1) * dh + 1)
    cdef bint unaligned = <uintptr_t>x0 % vb != 0 or sN % vl != 0 or xsH % vl != 0 or xsW % vl != 0
    cdef bint copy = not plan.read_in_place and C >= vl and unaligned
    cdef int stream = plan.stream  # streaming stores of a big channels-last result
    cdef int pf = plan.prefetch  # input read in place prefetched a row ahead
    # a channels-first result with each plane's rows one after another: blocks of prow rows
    # into a per-thread channels-last buffer, then transposed into the planes
    cdef bint planes = osC != 1 and osW == 1 and (Ho == 1 or osH == Wo)
    cdef int64_t prow = max(1, min(R, FC_NHWC_PLANE_BYTES // (Wo * C * isz))) if planes else 0
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *buf
    cdef real_t *obuf
    cdef int64_t item, n, oh0, oh1, r0, r1
    with nogil, parallel(num_threads=nt):
        buf = NULL
        obuf = NULL
        if copy:
            buf = <real_t *>fc_alloc(bufrows * W * cp * isz)
            if buf == NULL:
                failed[0] = 1
        if planes:
            obuf = <real_t *>fc_alloc(prow * Wo * C * isz)
            if obuf == NULL:
                failed[0] = 1
        for item in prange(N * nb, schedule="static"):
            if (copy and buf == NULL) or (planes and obuf == NULL):
                continue
            n = item // nb
            oh0 = (item % nb) * R
            oh1 = min(oh0 + R, Ho)
            if not planes:
                dw_nhwc_rows(vb, x0 + n * sN, H, W, C, xsH, xsW, &wt[0, 0, 0], bp, kH, kW, sh, sw, dh, dw, pt, pl,
                             oh0, oh1, Wo, o0 + n * oN, osH, osW, osC, buf, bufrows, stream, pf)
                continue
            r0 = oh0
            while r0 < oh1:
                r1 = min(r0 + prow, oh1)
                # the kernel addresses output row r at r * Wo * C: the buffer holds rows [r0, r1)
                dw_nhwc_rows(vb, x0 + n * sN, H, W, C, xsH, xsW, &wt[0, 0, 0], bp, kH, kW, sh, sw, dh, dw, pt, pl,
                             r0, r1, Wo, obuf - r0 * Wo * C, Wo * C, C, 1, buf, bufrows, 0, pf)
                nhwc_to_planes(vb, obuf, (r1 - r0) * Wo, C, o0 + n * oN + r0 * Wo, osC)
                r0 = r1
        free(buf)
        free(obuf)
    if failed[0]:
        raise MemoryError(f"conv2d: could not allocate the per-thread row buffers ({bufrows * W * cp * isz} and "
                          f"{prow * Wo * C * isz} bytes)")


def weight_grad(const real_t[:, :, :, ::1] x, const real_t[:, :, :, ::1] go, double[:, :, ::1] sums,
                Py_ssize_t groups, Py_ssize_t kH, Py_ssize_t kW, stride, dilation, const int64_t[::1] rowsrc,
                const int64_t[::1] colsrc, int64_t c0, int64_t c1, int64_t pl, int64_t vb, num_threads,
                bint spread=False):
    """Add the weight gradient of a convolution into ``sums`` (threads, C_out, C_in / groups *
    kH * kW * lanes; lanes = vb / itemsize; the caller sums over the threads and lanes)
    plane pair by plane pair: (image, input channel) items over the threads, each input
    plane padded once and paired with every output channel of its group through the
    depthwise/grad.h kernel.  x (N, C_in, H, W) and go (N, C_out, Ho, Wo) C-contiguous;
    rowsrc / colsrc the padding maps of the padded rows and columns the taps read, with
    columns [c0, c1) copying columns c - pl; spread: a layer past FC_DWG_STREAM_BYTES prefetches
    the next plane pair along the 3x3 lane-shift loop (the planner's choice by CPU)."""
    checked_vb(vb)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Cout = go.shape[1], Ho = go.shape[2], Wo = go.shape[3]
    if N == 0 or Cout == 0 or Ho == 0 or Wo == 0:
        return
    cdef int64_t cg = C // groups, og = Cout // groups, vl = vb // sizeof(real_t)
    cdef int64_t pair = kH * kW * vl  # the sums of one (output channel, input channel) pair
    cdef int64_t sH = stride[0], sW = stride[1], dH = dilation[0], dW = dilation[1]
    cdef int64_t momax = fc_dwg_max_planes(vb)  # output-gradient planes per call
    cdef int64_t nbuf = fc_dwg_buffer_elems(Ho, Wo, kH, kW, sH, sW, dH, dW, min(og, momax), vb)
    cdef int stream = (N * C * H * W + N * Cout * Ho * Wo) * <int64_t>sizeof(real_t) > FC_DWG_STREAM_BYTES
    if stream and spread:
        stream = 2
    cdef int nt = resolve_threads(num_threads, N * C)
    if nt > sums.shape[0]:
        nt = <int>sums.shape[0]
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef const real_t *g0 = &go[0, 0, 0, 0]
    cdef const int64_t *rs = &rowsrc[0]
    cdef const int64_t *cs = &colsrc[0]
    cdef double *s0 = &sums[0, 0, 0]
    cdef int64_t tstride = Cout * cg * pair
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *buf
    cdef int finite_x
    cdef Py_ssize_t item
    cdef int64_t n, ci, grp, o, oo, mo, nn, nci, ngn
    cdef const real_t *nxp
    cdef const real_t *ngp
    with nogil, parallel(num_threads=nt):
        buf = <real_t *>fc_alloc(nbuf * sizeof(real_t))
        if buf == NULL:
            failed[0] = 1
        else:
            memset(buf, 0, nbuf * sizeof(real_t))
        finite_x = 1
        for item in prange(N * C, schedule="static"):
            if buf == NULL:
                continue
            n = item // C
            ci = item % C
            grp = ci // cg
            oo = 0
            while oo < og:  # the group's output channels, up to momax planes a call
                mo = min(momax, og - oo)
                o = grp * og + oo
                # prefetched during this call: the next block's gradient planes, or the next
                # item's input plane and first gradient planes
                nxp = NULL
                ngp = NULL
                ngn = 0
                if oo + mo < og:
                    ngp = g0 + (n * Cout + o + mo) * Ho * Wo
                    ngn = min(momax, og - oo - mo) * Ho * Wo
                elif item + 1 < N * C:
                    nn = (item + 1) // C
                    nci = (item + 1) % C
                    nxp = x0 + (nn * C + nci) * H * W
                    ngp = g0 + (nn * Cout + (nci // cg) * og) * Ho * Wo
                    ngn = min(momax, og) * Ho * Wo
                dw_wgrad_plane(vb, x0 + (n * C + ci) * H * W, W, rs, cs, c0, c1, pl,
                               g0 + (n * Cout + o) * Ho * Wo, Ho, Wo, kH, kW, sH, sW, dH, dW, buf,
                               s0 + threadid() * tstride + (o * cg + ci % cg) * pair, mo, cg * pair, oo == 0,
                               &finite_x, nxp, H * W, ngp, ngn, stream)
                oo = oo + mo
        free(buf)
    if failed[0]:
        raise MemoryError("conv2d_weight: could not allocate the per-thread plane buffers "
                          f"({nbuf * sizeof(real_t)} bytes)")


# pixels per work item of the layout transposes: a multiple of any vector's lanes, and the
# C runs of an item's pixels (4 KiB each in float32) stay in the second-level cache
cdef int64_t _TO_NHWC_PIXELS = 1024


cdef void _transpose_layout(const real_t *s0, real_t *d0, int64_t N, int64_t C, int64_t P, bint to_planes,
                            int64_t vb, int nt) noexcept nogil:
    """N images of C channels and P pixels between channels-last memory and channel planes
    (to_planes: from channels-last), items of _TO_NHWC_PIXELS pixels of one image over nt
    threads: VL x VL squares transposed in registers (transpose.h)."""
    cdef int64_t chunk = _TO_NHWC_PIXELS
    cdef int64_t nck = (P + chunk - 1) // chunk
    cdef Py_ssize_t item
    cdef int64_t n, p0
    with parallel(num_threads=nt):
        for item in prange(N * nck, schedule="static"):
            n = item // nck
            p0 = (item % nck) * chunk
            if to_planes:
                nhwc_to_planes(vb, s0 + (n * P + p0) * C, min(chunk, P - p0), C, d0 + n * C * P + p0, P)
            else:
                planes_to_nhwc(vb, s0 + n * C * P + p0, P, min(chunk, P - p0), C, d0 + (n * P + p0) * C)


def channels_last_to_planes(const real_t[:, :, :, ::1] src, real_t[:, :, :, ::1] dst, int64_t vb, num_threads):
    """dst (N, C, H, W) = src (N, H, W, C) transposed, both C-contiguous (fc_nhwc_to_planes);
    ``vb``: the kernel table's vector bytes (fastconv._plan.vector_bytes)."""
    checked_vb(vb)
    cdef Py_ssize_t N = dst.shape[0], C = dst.shape[1], P = dst.shape[2] * dst.shape[3]
    if src.shape[0] != N or src.shape[1] * src.shape[2] != P or src.shape[3] != C:
        raise ValueError("channels_last_to_planes: src must be dst's shape in (N, H, W, C) order")
    if N == 0 or C == 0 or P == 0:
        return
    cdef int nt = resolve_threads(num_threads, N * ((P + _TO_NHWC_PIXELS - 1) // _TO_NHWC_PIXELS))
    _transpose_layout(&src[0, 0, 0, 0], &dst[0, 0, 0, 0], N, C, P, True, vb, nt)


def planes_to_channels_last(const real_t[:, :, :, ::1] src, real_t[:, :, :, ::1] dst, int64_t vb, num_threads):
    """dst (N, H, W, C) = src (N, C, H, W) transposed, both C-contiguous (fc_planes_to_nhwc);
    ``vb``: the kernel table's vector bytes (fastconv._plan.vector_bytes)."""
    checked_vb(vb)
    cdef Py_ssize_t N = src.shape[0], C = src.shape[1], P = src.shape[2] * src.shape[3]
    if dst.shape[0] != N or dst.shape[1] * dst.shape[2] != P or dst.shape[3] != C:
        raise ValueError("planes_to_channels_last: dst must be src's shape in (N, H, W, C) order")
    if N == 0 or C == 0 or P == 0:
        return
    cdef int nt = resolve_threads(num_threads, N * ((P + _TO_NHWC_PIXELS - 1) // _TO_NHWC_PIXELS))
    _transpose_layout(&src[0, 0, 0, 0], &dst[0, 0, 0, 0], N, C, P, False, vb, nt)


def sum_lanes(const double[:, :, :, ::1] sums, real_t[:, ::1] out):
    """out[o, t] = the sum over threads and vector lanes of sums[thread, o, t, lane], rounded
    to out's dtype: the plane kernel's per-thread, per-lane sums, added in float64 in one
    pass (NumPy's reduction over two axes of this small array is slow next to small layers)."""
    cdef Py_ssize_t nthreads = sums.shape[0], cout = sums.shape[1], taps = sums.shape[2], lanes = sums.shape[3]
    cdef Py_ssize_t th, o, t, lane
    cdef double s
    with nogil:
        for o in range(cout):
            for t in range(taps):
                s = 0
                for th in range(nthreads):
                    for lane in range(lanes):
                        s = s + sums[th, o, t, lane]
                out[o, t] = <real_t>s
