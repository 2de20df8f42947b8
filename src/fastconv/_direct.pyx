"""Driver of the direct kernels over packed bands (Plan kinds COLUMNS, COLUMNS_NARROW, ROWS,
LANES): packs the weights once, shares (sample, group, band) items over the threads, packs
each band and runs the planner's tiles on it.  Private: see :mod:`fastconv._plan`."""

from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from cython.parallel cimport parallel, prange, threadid
from libc.string cimport memcpy, memset

import numpy as np

from fastconv._kernels cimport (
    checked_vb,
    FC_DW_PLANE_BAND_BYTES, FC_DW_PLANE_TAPS, FC_FLAT_MAX_BYTES, FC_NCOL_32, FC_NCOL_V4, FC_NV_NARROW, FC_NV_WIDE,
    FC_PACK_THREAD_ELEMS,
    FC_NV_ROWS_32, FC_NV_ROWS_V4, FC_OCB_MID_32, FC_OCB_MID_V4, FC_OCB_SIX_V4, FC_OCB_SMALL_32, FC_OCB_SMALL_V4,
    FC_RB, FC_SUM_BLOCK, FC_KIND_BIAS_ONLY, FC_KIND_COLUMNS, FC_KIND_COLUMNS_NARROW, FC_KIND_CUDA_DIRECT,
    FC_KIND_CUDA_IGEMM, FC_KIND_DW_FLAT, FC_KIND_DW_NHWC, FC_KIND_DW_PLANE, FC_KIND_DW_STRIP, FC_KIND_DW_SWEEP,
    FC_KIND_FFT, FC_KIND_LANES, FC_KIND_POINTWISE, FC_KIND_ROWS, FC_KIND_SEPARABLE, FC_KIND_WINOGRAD2,
    FC_KIND_WINOGRAD4, conv_band, fc_alloc, fc_band_rows, fc_conv_geom, fc_conv_vector_bytes, fc_ocb_wide,
    fc_dw_plane_band_rows, fc_wino_ocb, nonfinite, pack_band, pack_weights, pointwise,
    FC_WG_MR8_NV_V4, FC_WG_MR_32, FC_WG_MR_V4, FC_WG_NV_V4, wgrad_pointwise, wgrad_rows,
)
from fastconv._geom cimport geometry
from fastconv._omp cimport resolve_threads
from fastconv._types cimport real_t


def cpu_vector_bytes():
    """Widest vectors, in bytes, the kernels of this CPU run (64 or 32)."""
    return fc_conv_vector_bytes()


def tile_sizes(Py_ssize_t vb):
    """The C kernels' tile sizes for vector width ``vb`` (include/fastconv/tuning.h)."""
    # the column tiles' channel counts, smallest first (direct/band.h picks the smallest
    # that holds a block's channels)
    if vb == 64:
        ocb_tiles = (FC_OCB_SMALL_V4, FC_OCB_SIX_V4, FC_OCB_MID_V4, fc_ocb_wide(vb))
    else:
        ocb_tiles = (FC_OCB_SMALL_32, FC_OCB_MID_32, fc_ocb_wide(vb))
    return {"ocb_wide": fc_ocb_wide(vb), "ocb_tiles": ocb_tiles, "nv_wide": FC_NV_WIDE, "nv_narrow": FC_NV_NARROW,
            "ncol": FC_NCOL_V4 if vb == 64 else FC_NCOL_32, "rb": FC_RB,
            "nv_rows": FC_NV_ROWS_V4 if vb == 64 else FC_NV_ROWS_32, "wino_ocb": fc_wino_ocb(vb),
            "flat_max_bytes": FC_FLAT_MAX_BYTES, "sum_block": FC_SUM_BLOCK, "dw_plane_taps": FC_DW_PLANE_TAPS,
            "dw_plane_band_bytes": FC_DW_PLANE_BAND_BYTES}


def dw_plane_band_rows(int64_t Ho, int64_t Wp, int64_t kH, int64_t sH, int64_t dH, int64_t vb):
    """Output rows per band of the kernel of VL depthwise planes (depthwise/plane_size.h,
    the rule the kernel runs by) for Ho output rows, Wp padded columns, a kH-row kernel at
    row stride sH and dilation dH, with vb-byte vectors."""
    return fc_dw_plane_band_rows(Ho, Wp, kH, sH, dH, vb)


def kinds():
    """The C enum fc_kind, name -> value (tests check fastconv._plan.Kind against it)."""
    return {"COLUMNS": FC_KIND_COLUMNS, "COLUMNS_NARROW": FC_KIND_COLUMNS_NARROW, "ROWS": FC_KIND_ROWS,
            "LANES": FC_KIND_LANES, "DW_STRIP": FC_KIND_DW_STRIP, "DW_SWEEP": FC_KIND_DW_SWEEP,
            "DW_FLAT": FC_KIND_DW_FLAT, "WINOGRAD2": FC_KIND_WINOGRAD2, "WINOGRAD4": FC_KIND_WINOGRAD4,
            "FFT": FC_KIND_FFT, "SEPARABLE": FC_KIND_SEPARABLE, "BIAS_ONLY": FC_KIND_BIAS_ONLY,
            "CUDA_DIRECT": FC_KIND_CUDA_DIRECT, "CUDA_IGEMM": FC_KIND_CUDA_IGEMM, "DW_NHWC": FC_KIND_DW_NHWC,
            "DW_PLANE": FC_KIND_DW_PLANE, "POINTWISE": FC_KIND_POINTWISE}


cdef inline void _pack_block(int64_t vb, const real_t *w0, const int64_t *ws, int64_t blk, int64_t nob,
                             int64_t coutg, int64_t ocb, int64_t Cg, int64_t kH, int64_t kW, real_t *wdst,
                             int64_t wgrp, int64_t wblk) noexcept nogil:
    """Pack block ``blk`` (group blk // nob, channel block blk % nob) of the weights."""
    cdef int64_t gi = blk // nob, ob = blk % nob
    pack_weights(vb, w0 + (gi * coutg + ob * ocb) * ws[0], ws, min(ocb, coutg - ob * ocb), Cg, kH, kW, ocb,
                 wdst + gi * wgrp + ob * wblk)


def packed_weights(plan, const real_t[:, :, :, :] w, Py_ssize_t G, int64_t ocb):
    """The weights w (C_out, C/G, kH, kW) of G groups packed for the direct tiles, blocks of
    ``ocb`` output channels: [group][oc block][ic][kh][kw][ocb], zeros past a group's last
    channel."""
    cdef Py_ssize_t Cout = w.shape[0], Cg = w.shape[1], kH = w.shape[2], kW = w.shape[3]
    cdef int64_t coutg = Cout // G, vb = checked_vb(plan.vector_bytes)
    cdef int64_t nob = (coutg + ocb - 1) // ocb
    cdef int64_t wgrp = nob * Cg * kH * kW * ocb
    wpack_a = np.empty(G * wgrp, dtype=np.float32 if real_t is float else np.float64)
    cdef real_t[::1] wpack = wpack_a
    cdef int64_t ws[4]
    cdef Py_ssize_t i
    for i in range(4):
        ws[i] = w.strides[i] // sizeof(real_t)
    # one block of ocb channels per item, over the threads: at batch 1 a big layer's weights
    # are as much work to pack as its convolution
    cdef int64_t wblk = Cg * kH * kW * ocb, blk
    cdef const real_t *w0 = &w[0, 0, 0, 0]
    cdef real_t *wdst = &wpack[0]
    cdef int ntw = resolve_threads(plan.threads, max(1, G * nob * wblk // FC_PACK_THREAD_ELEMS))
    if ntw == 1:  # no parallel region: its start costs as much as packing a small layer
        with nogil:
            for blk in range(G * nob):
                _pack_block(vb, w0, ws, blk, nob, coutg, ocb, Cg, kH, kW, wdst, wgrp, wblk)
    else:
        for blk in prange(G * nob, nogil=True, num_threads=ntw, schedule="static"):
            _pack_block(vb, w0, ws, blk, nob, coutg, ocb, Cg, kH, kW, wdst, wgrp, wblk)
    return wpack_a


def run(plan, const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
        real_t[:, :, :, :] out, a, real_t fill):
    """Run a direct plan: x (N, C, H, W) with w (C_out, C/groups, kH, kW) into out, the
    stride, dilation, padding (top and left; the others follow from out's shape), mode and
    groups of the layer ``a`` (:class:`fastconv._args.ConvArgs`), ``fill`` the constant of
    zero padding.  ``out`` C-contiguous, or for channel-lane tiles any positive strides
    (a channels-last result, every stride-th pixel of an input gradient).  The front and
    the planner validated the layer; only plan.vector_bytes is checked here (a width this
    CPU lacks is a ValueError, ``_kernels.checked_vb``)."""
    cdef Py_ssize_t N = x.shape[0]
    cdef Py_ssize_t Cout = w.shape[0], Cg = w.shape[1], kH = w.shape[2], kW = w.shape[3]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3]
    if N == 0 or Cout == 0 or Ho == 0 or Wo == 0:
        return
    cdef Py_ssize_t G = a.groups, coutg = Cout // G, isz = sizeof(real_t)
    cdef int kind = plan.kind
    # out's element strides: the channel-lane tiles write any; the other kinds a
    # C-contiguous out (the strides of its length-1 axes do not matter)
    cdef int64_t oN = out.strides[0] // isz, oC = out.strides[1] // isz
    cdef int64_t oH = out.strides[2] // isz, oW = out.strides[3] // isz
    if kind != FC_KIND_LANES:
        if not ((N == 1 or oN == Cout * Ho * Wo) and (Cout == 1 or oC == Ho * Wo) and (Ho == 1 or oH == Wo)
                and (Wo == 1 or oW == 1)):
            raise ValueError("_direct.run: only LANES writes a result that is not C-contiguous")
        oN, oC, oH, oW = Cout * Ho * Wo, Ho * Wo, Wo, 1
    cdef int64_t vb = checked_vb(plan.vector_bytes)
    cdef int64_t ocb = plan.channel_block
    pstart_a, xoff_a, Wq = plan.layout
    cdef const int64_t[::1] pstart = pstart_a
    cdef const int64_t[::1] xoff = xoff_a

    cdef fc_conv_geom g
    geometry(&g, x, w, out.shape[2], out.shape[3], a)
    g.Wp = (Wo - 1) * g.sw + (kW - 1) * g.dw + 1  # padded columns past this one are never read
    g.npha = pstart.shape[0]; g.pstart = &pstart[0]; g.Wq = Wq; g.xoff = &xoff[0]
    g.rstep = g.npha * Wq
    cdef bint in_place = plan.read_in_place  # the band is the input itself
    if in_place:
        g.rstep = g.xsH
    cdef int64_t sN = x.strides[0] // isz

    cdef int64_t nob = (coutg + ocb - 1) // ocb
    cdef int64_t wgrp = nob * Cg * kH * kW * ocb
    cdef Py_ssize_t gi

    # nb bands of R or R - 1 rows (band b starts at row b * Ho // nb): a thread's run of
    # consecutive bands then covers as many rows as the others'
    cdef int64_t R = plan.band_rows
    cdef int contiguous = plan.contiguous
    cdef int64_t maxrows = (R - 1) * g.sh + (kH - 1) * g.dh + 1 if contiguous else R * kH
    cdef int64_t nb = (Ho + R - 1) // R
    cdef int64_t nch = plan.channel_chunks  # items per band: chunks of its channel blocks
    # column chunks of cw output columns (wide rows): each its own band, of the chunk's
    # padded columns (the geometry of a narrower plane whose left padding is shifted)
    cdef int64_t cw = plan.column_chunk if plan.column_chunk else Wo
    cdef int64_t ncc = (Wo + cw - 1) // cw
    # groups of S samples per item (big weights): the item packs their S bands, then runs
    # every output-channel block on each of them in turn
    cdef int64_t S = plan.sample_group
    cdef int64_t nsg = (N + S - 1) // S
    cdef int64_t nitems = nsg * G * nb * ncc * nch
    cdef int nt = resolve_threads(plan.threads, nitems)
    cdef size_t band_elems = 1 if in_place else <size_t>(Cg * maxrows * g.npha * Wq)
    if S > 1 and plan.flat:
        raise ValueError("_direct.run: flat rows take one sample per item")

    # Weights packed once per call, [group][oc block][ic][kh][kw][ocb]; or, where every block
    # serves one work item (one band of one plane: big layers on small planes at batch 1),
    # each block packed by its item into a per-thread buffer just before its tiles run, which
    # then read it from the second-level cache: packing them all first wrote the weights out
    # to memory and read them back (ResNet-18's 512-channel 3x3 layers).
    cdef bint lazy = nsg * G * nb * ncc == 1 and not plan.skip_pad_rows
    cdef size_t wbuf_elems = <size_t>(Cg * kH * kW * ocb) if lazy else 0
    cdef int64_t ws[4]
    cdef Py_ssize_t i
    for i in range(4):
        ws[i] = w.strides[i] // isz
    cdef const real_t *w0 = &w[0, 0, 0, 0]
    cdef const real_t *wp0 = NULL
    cdef real_t[::1] wpack
    if not lazy:
        wpack = packed_weights(plan, w, G, ocb)
        wp0 = &wpack[0]
        # the planner's skip of kernel rows on zero padding holds when those rows' products
        # are zeros: a zero fill, and no NaN or +-inf among the weights (one pass over the
        # packed ones)
        if plan.skip_pad_rows and fill == 0:
            with nogil:
                g.skip_rows = not nonfinite(wp0, G * wgrp, 1)
    # flat rows: a band's Rb rows are one row of (Rb - 1) * Wq + Wo columns (taps kh * dh *
    # Wq + kw * dw apart) into a per-thread result of Rb rows of Wq columns, whose first Wo
    # columns are kept; the last tile of the flat row reads up to its width (NV vectors) past
    # the band (zeroed slack)
    cdef bint flat = plan.flat
    cdef int64_t vl = vb // isz
    cdef size_t slack = <size_t>((FC_NV_NARROW if kind == FC_KIND_COLUMNS_NARROW else FC_NV_WIDE) * vl) if flat else 0
    cdef int64_t wq = Wq
    cdef size_t tmp_elems = <size_t>(((coutg + ocb - 1) // ocb * ocb) * R * wq) if flat else 0

    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef const real_t *b0 = &bias[0] if bias is not None else NULL
    cdef int64_t plane = oC  # between output channels
    g.osH = oH
    g.osW = oW
    g.stream = plan.stream
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *band
    cdef int64_t *rowsrc
    cdef int64_t *ridx
    cdef int64_t *packed
    cdef int64_t item, rem, b, oh0, Rb, nrows, cstep, ch, ob0, ob1, oc0, cc, j0
    cdef fc_conv_geom gc
    cdef real_t *ftmp
    cdef real_t *dst
    cdef int64_t r, oc
    cdef const real_t *src
    cdef real_t *wbuf
    cdef const real_t *wb
    cdef real_t *bout
    cdef int64_t ob, bstep, n0, ns, si

    with nogil, parallel(num_threads=nt):
        band = <real_t *>fc_alloc((S * band_elems + slack + tmp_elems + wbuf_elems) * sizeof(real_t))
        rowsrc = <int64_t *>malloc((maxrows + R * kH + 1) * sizeof(int64_t))
        ridx = rowsrc + maxrows
        packed = ridx + R * kH  # the band (item // nch) this thread's buffer holds, or -1
        if band == NULL or rowsrc == NULL:
            failed[0] = 1
        else:
            packed[0] = -1
            if flat:
                memset(band + band_elems, 0, slack * sizeof(real_t))
        ftmp = band + S * band_elems + slack
        wbuf = ftmp + tmp_elems
        for item in prange(nitems, schedule="static"):
            if band == NULL or rowsrc == NULL:
                continue
            ch = item % nch  # chunks innermost: a thread's run of items shares bands
            cc = item // nch % ncc
            n0 = item // nch // ncc // (G * nb) * S
            ns = min(S, N - n0)
            rem = item // nch // ncc % (G * nb)
            gi = rem // nb
            b = rem % nb
            gc = g
            j0 = cc * cw
            gc.Wo = min(cw, Wo - j0)
            gc.pl = g.pl - j0 * g.sw
            gc.Wp = (gc.Wo - 1) * g.sw + (kW - 1) * g.dw + 1
            ob0 = ch * nob // nch
            ob1 = (ch + 1) * nob // nch
            oc0 = ob0 * ocb
            oh0 = b * Ho // nb
            Rb = (b + 1) * Ho // nb - oh0
            nrows = fc_band_rows(&gc, oh0, Rb, contiguous, rowsrc, ridx)
            cstep = g.xsC if in_place else nrows * g.rstep
            if not in_place and packed[0] != item // nch:  # the channel chunks of one group's bands pack them once
                for si in range(ns):
                    pack_band(vb, x0 + (n0 + si) * sN + gi * Cg * g.xsC, &gc, rowsrc, nrows, fill,
                              band + si * band_elems)
                packed[0] = item // nch
            if flat:  # the band's rows side by side: one row, into the thread's result
                gc.Wo = (Rb - 1) * wq + Wo
                gc.flat_oh0 = oh0
            bstep = R * wq if flat else plane
            if ns == 1 and not lazy:  # every block at once
                src = (x0 + n0 * sN + gi * Cg * g.xsC + oh0 * g.sh * g.xsH) if in_place else band
                dst = o0 + n0 * oN + (gi * coutg + oc0) * plane + j0 * oW
                conv_band(vb, kind, src, cstep, ridx, wp0 + gi * wgrp + ob0 * Cg * kH * kW * ocb, ocb,
                          (b0 + gi * coutg + oc0) if b0 != NULL else NULL, min(coutg, ob1 * ocb) - oc0, &gc,
                          0 if flat else oh0, 1 if flat else Rb, ftmp if flat else dst, bstep)
            else:  # block by block (packed here when lazy), each on every sample of the group
                for ob in range(ob0, ob1):
                    if lazy:
                        pack_weights(vb, w0 + (gi * coutg + ob * ocb) * ws[0], ws, min(ocb, coutg - ob * ocb), Cg,
                                     kH, kW, ocb, wbuf)
                        wb = wbuf
                    else:
                        wb = wp0 + gi * wgrp + ob * Cg * kH * kW * ocb
                    for si in range(ns):
                        src = ((x0 + (n0 + si) * sN + gi * Cg * g.xsC + oh0 * g.sh * g.xsH) if in_place
                               else band + si * band_elems)
                        bout = (ftmp if flat else o0 + (n0 + si) * oN + gi * coutg * plane + j0 * oW) + (
                            (ob - ob0) * ocb * bstep if flat else ob * ocb * plane)
                        conv_band(vb, kind, src, cstep, ridx, wb, ocb,
                                  (b0 + gi * coutg + ob * ocb) if b0 != NULL else NULL, min(ocb, coutg - ob * ocb),
                                  &gc, 0 if flat else oh0, 1 if flat else Rb, bout, bstep)
            if flat:  # each row's first Wo columns out (one sample)
                dst = o0 + n0 * oN + (gi * coutg + oc0) * plane + j0 * oW
                for oc in range(min(coutg, ob1 * ocb) - oc0):
                    for r in range(Rb):
                        memcpy(dst + oc * plane + (oh0 + r) * oH, ftmp + oc * R * wq + r * wq, Wo * isz)
        free(band)
        free(rowsrc)
    if failed[0]:
        raise MemoryError("conv2d: could not allocate the per-thread band buffer "
                          f"({(S * band_elems + slack + tmp_elems + wbuf_elems) * isz} bytes)")


def run_pointwise(plan, const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
                  real_t[:, :, :, :] out, a, real_t fill=0):
    """Run a POINTWISE plan: the 1x1 unit-stride layer ``a`` (groups, no padding) on x
    (N, C, 1, P), each plane one row of P contiguous pixels (or, one group, channels-last:
    pixels C apart, channels contiguous), with w (C_out, C/groups, 1, 1)
    into the C-contiguous out (N, C_out, 1, P); ``fill`` unused (no padding).  Items of
    (sample, group, chunk of plan.column_chunk pixels, chunk of the output-channel blocks)
    over the threads, with plan.flat the pixels counted over the whole batch (N * P, no
    sample index); one buffer of plan.panels panels and a block of tile rows per thread
    (direct/pointwise.h).  The front and the planner validated the layer; only
    plan.vector_bytes is checked here."""
    cdef Py_ssize_t N = x.shape[0], P = x.shape[3]
    cdef Py_ssize_t Cout = w.shape[0], Cg = w.shape[1]
    if N == 0 or Cout == 0 or P == 0:
        return
    cdef Py_ssize_t isz = sizeof(real_t)
    cdef bint cl = a.groups == 1 and x.strides[1] == isz and x.strides[3] == Cg * isz and Cg > 1
    if (x.shape[2] != 1 or out.shape[2] != 1 or w.shape[2] != 1 or w.shape[3] != 1 or not (x.strides[3] == isz or cl)
            or out.strides[3] != isz or out.strides[1] != P * isz or (N > 1 and out.strides[0] != Cout * P * isz)):
        raise ValueError("_direct.run_pointwise: needs 1x1 weights, rows of contiguous pixels, a C-contiguous result")
    cdef Py_ssize_t G = a.groups, coutg = Cout // G
    cdef int64_t vb = checked_vb(plan.vector_bytes), ocb = plan.channel_block
    cdef int64_t vw = FC_NV_WIDE * (vb // isz)
    cdef int64_t nob = (coutg + ocb - 1) // ocb
    wpack_a = packed_weights(plan, w, G, ocb)
    cdef real_t[::1] wpack = wpack_a
    cdef const real_t *wp0 = &wpack[0]
    cdef fc_conv_geom g
    geometry(&g, x, w, 1, P, a)
    cdef int64_t ns = 1 if plan.flat else N  # samples counted apart; flat: one row of N * P pixels
    cdef int64_t span = P * (N // ns)
    cdef int64_t cw = plan.column_chunk if plan.column_chunk else span  # whole panels, but for the last
    cdef int64_t ncc = (span + cw - 1) // cw
    cdef int64_t nch = plan.channel_chunks
    cdef int64_t nitems = ns * G * ncc * nch
    cdef int nt = resolve_threads(plan.threads, nitems)
    cdef int64_t npan = max(1, min(plan.panels, (cw + vw - 1) // vw))
    cdef int64_t buf_elems = Cg * vw * npan + ocb * vw  # the panels, then a tile's rows
    cdef int64_t sN = x.strides[0] // isz, xsC = x.strides[1] // isz, xsP = x.strides[3] // isz
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef const real_t *b0 = &bias[0] if bias is not None else NULL
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *panel
    cdef int64_t item, n, gi, cc, ch, ob0, ob1, oc0, j0
    with nogil, parallel(num_threads=nt):
        panel = <real_t *>fc_alloc(<size_t>buf_elems * sizeof(real_t))
        if panel == NULL:
            failed[0] = 1
        for item in prange(nitems, schedule="static"):
            if panel == NULL:
                continue
            ch = item % nch  # chunks of the channel blocks innermost: a thread's run shares pixels
            cc = item // nch % ncc
            gi = item // nch // ncc % G
            n = item // nch // ncc // G
            ob0 = ch * nob // nch
            ob1 = (ch + 1) * nob // nch
            oc0 = ob0 * ocb
            j0 = cc * cw
            pointwise(vb, x0 + n * sN + gi * Cg * xsC, xsC, xsP, sN, wp0 + (gi * nob + ob0) * Cg * ocb, ocb,
                      (b0 + gi * coutg + oc0) if b0 != NULL else NULL, min(coutg, ob1 * ocb) - oc0, &g, j0,
                      min(span, j0 + cw), o0 + (n * Cout + gi * coutg + oc0) * P, P, Cout * P, panel, npan,
                      panel + Cg * vw * npan)
        free(panel)
    if failed[0]:
        raise MemoryError(f"conv2d: could not allocate the per-thread panel buffer ({buf_elems * isz} bytes)")


cdef int64_t _wg_cost(int64_t mr, int64_t nvmax, int64_t nb, int64_t nvec) noexcept:
    """Cycles per pixel, in a model, of the weight-gradient tiles of mr rows and up to nvmax
    vectors over nb broadcast channels and nvec vectors: each tile the larger of its
    multiply-adds and its loads (two of either a cycle)."""
    cdef int64_t cost = 0, v = 0, nv
    while v < nvec:
        nv = min(nvmax, nvec - v)
        cost += max(mr * nv, mr + nv)
        v += nv
    return (nb + mr - 1) // mr * cost


def weight_tile_sizes(int64_t vb, int64_t isz, int64_t cin_g, int64_t cout_g, bint vec_out):
    """(Cp, Op, mr): a group's input and output channels padded for direct/wgrad.h with
    vector width ``vb`` and element size ``isz``: the channels across the lanes (the output
    ones with ``vec_out``) to whole vectors, the others to whole register tiles of mr rows
    (FC_WG_MR, or 8 with 64-byte vectors where a cost model of the tiles finds it cheaper:
    32 channels pad to 36 in tiles of 6)."""
    cdef int64_t vl = vb // isz, mr = FC_WG_MR_V4 if vb == 64 else FC_WG_MR_32
    cdef int64_t nb = cin_g if vec_out else cout_g
    cdef int64_t nvec = ((cout_g if vec_out else cin_g) + vl - 1) // vl
    if vb == 64 and _wg_cost(8, FC_WG_MR8_NV_V4, nb, nvec) < _wg_cost(mr, FC_WG_NV_V4, nb, nvec):
        mr = 8
    if vec_out:
        return (cin_g + mr - 1) // mr * mr, nvec * vl, mr
    return nvec * vl, (cout_g + mr - 1) // mr * mr, mr


def weight_grad_pointwise(const real_t[:, :, ::1] x, const real_t[:, :, ::1] go, double[:, :, :, ::1] tot,
                          Py_ssize_t groups, int64_t run, int64_t vb, num_threads):
    """Add the weight gradient of a 1x1 unit-stride convolution without padding into
    ``tot`` (threads, groups, C_out / groups, C_in / groups): (image, group, run of ``run``
    pixels) items over the threads, each through direct/wgrad_pointwise.h into its
    thread's slice (summed by the caller).  x (N, C_in, P) and go (N, C_out, P), pixels
    contiguous."""
    checked_vb(vb)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], P = x.shape[2], Cout = go.shape[1]
    if N == 0 or Cout == 0 or C == 0 or P == 0:
        return
    cdef int64_t cg = C // groups, og = Cout // groups
    cdef int64_t nr = (P + run - 1) // run
    cdef int64_t nitems = N * groups * nr
    cdef int nt = resolve_threads(num_threads, nitems)
    if nt > tot.shape[0]:
        nt = <int>tot.shape[0]
    cdef const real_t *x0 = &x[0, 0, 0]
    cdef const real_t *g0 = &go[0, 0, 0]
    cdef double *t0 = &tot[0, 0, 0, 0]
    cdef int64_t tstride = groups * og * cg
    cdef Py_ssize_t item
    cdef int64_t n, grp, p0
    for item in prange(nitems, nogil=True, num_threads=nt, schedule="static"):
        n = item // (groups * nr)
        grp = (item // nr) % groups
        p0 = (item % nr) * run
        wgrad_pointwise(vb, x0 + (n * C + grp * cg) * P + p0, P, cg, g0 + (n * Cout + grp * og) * P + p0, P, og,
                        min(run, P - p0), t0 + threadid() * tstride + grp * og * cg)


def weight_grad(const real_t[:, :, :, ::1] x, const real_t[:, :, :, ::1] go, double[:, :, :, ::1] tot,
                Py_ssize_t groups, Py_ssize_t kH, Py_ssize_t kW, stride, dilation, const int64_t[::1] rowsrc,
                const int64_t[::1] colsrc, int64_t c0, int64_t c1, int64_t pl, bint vec_out, int64_t band_rows,
                int64_t vb, num_threads):
    """Add the weight gradient of a convolution into ``tot`` (threads, groups, kH * kW, Op *
    Cp): (image, group, band of ``band_rows`` output rows) items over the threads, each
    through direct/wgrad.h into its thread's slice (summed by the caller).  x (N, C_in, H,
    W) and go (N, C_out, Ho, Wo) C-contiguous; rowsrc (every padded row) and colsrc (the
    padded columns the taps read) the padding maps, padded columns [c0, c1) copying
    columns c - pl; ``vec_out``: the output channels across the vector lanes."""
    checked_vb(vb)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Cout = go.shape[1], Ho = go.shape[2], Wo = go.shape[3]
    if N == 0 or Cout == 0 or Ho == 0 or Wo == 0:
        return
    cdef int64_t isz = sizeof(real_t)
    cdef int64_t cg = C // groups, og = Cout // groups, Cp, Op, mr
    Cp, Op, mr = weight_tile_sizes(vb, isz, cg, og, vec_out)
    cdef int64_t sH = stride[0], sW = stride[1], dH = dilation[0], dW = dilation[1]
    cdef int64_t Wp = colsrc.shape[0], R = band_rows
    cdef int64_t nb = (Ho + R - 1) // R
    cdef int64_t nitems = N * groups * nb
    cdef int nt = resolve_threads(num_threads, nitems)
    if nt > tot.shape[0]:
        nt = <int>tot.shape[0]
    cdef int64_t nxb = ((R - 1) * sH + (kH - 1) * dH + 1) * Wp * Cp
    cdef int64_t ngb = R * Wo * Op
    cdef int64_t nacc = kH * kW * Op * Cp
    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef const real_t *g0 = &go[0, 0, 0, 0]
    cdef const int64_t *rs = &rowsrc[0]
    cdef const int64_t *cs = &colsrc[0]
    cdef double *t0 = &tot[0, 0, 0, 0]
    cdef int64_t tstride = groups * nacc
    cdef int vo = vec_out
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *buf
    cdef Py_ssize_t item
    cdef int64_t n, grp, b, i0, i1, nn, ngrp, ni0
    with nogil, parallel(num_threads=nt):
        buf = <real_t *>fc_alloc((nxb + ngb + nacc) * sizeof(real_t))
        if buf == NULL:
            failed[0] = 1
        else:
            memset(buf, 0, (nxb + ngb) * sizeof(real_t))  # the padded channels stay zero
        for item in prange(nitems, schedule="static"):
            if buf == NULL:
                continue
            n = item // (groups * nb)
            grp = (item // nb) % groups
            b = item % nb
            i0 = b * R
            i1 = min(Ho, i0 + R)
            # the next item (this thread's, in the static schedule) is prefetched during this one
            nn = (item + 1) // (groups * nb)
            ngrp = ((item + 1) // nb) % groups
            ni0 = ((item + 1) % nb) * R
            wgrad_rows(vb, vo, mr, x0 + (n * C + grp * cg) * H * W, H * W, W, rs, cs, c0, c1, pl, Wp, cg, Cp,
                       g0 + (n * Cout + grp * og) * Ho * Wo, og, Op, Ho, Wo, kH, kW, sH, sW, dH, dW, i0, i1,
                       buf, buf + nxb, buf + nxb + ngb, t0 + threadid() * tstride + grp * nacc,
                       x0 + (nn * C + ngrp * cg) * H * W if item + 1 < nitems else NULL,
                       g0 + (nn * Cout + ngrp * og) * Ho * Wo if item + 1 < nitems else NULL,
                       ni0, min(Ho, ni0 + R))
        free(buf)
    if failed[0]:
        raise MemoryError("conv2d_weight: could not allocate the per-thread band buffers "
                          f"({(nxb + ngb + nacc) * isz} bytes)")
