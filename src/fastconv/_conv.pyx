"""Typed nogil convolution kernels (CPU).

Private: called by :mod:`fastconv.conv` and :mod:`fastconv.signal` after the Python front
(:mod:`fastconv._args`) has validated shapes and parameters and allocated the output.
"""

from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from cython.parallel cimport parallel, prange

import numpy as np

from fastconv._kernels cimport (
    FC_NV_NARROW, FC_NV_WIDE, fc_band_rows, fc_conv_band_d, fc_conv_band_f, fc_conv_geom,
    fc_alloc, fc_conv_vector_bytes, fc_conv_wide_ocb, fc_dw_band_d, fc_dw_band_f, fc_pack_band_d, fc_pack_band_f,
    fc_pack_weights_d, fc_pack_weights_f, fc_pad_index, fc_pad_map, fc_wino_band_d, fc_wino_band_f, fc_wino_ocb,
    fc_nonfinite_d, fc_nonfinite_f, fc_wino_weights_d, fc_wino_weights_f,
)
from fastconv._omp cimport resolve_threads
from fastconv._types cimport real_t

cdef enum:
    # Bytes of packed input one thread aims to keep per band (about half an L2 cache).
    BAND_BYTES = 393216
    # Bytes of edge buffers (padded columns next to the borders) of the in-place kernel.
    EDGE_BYTES = 262144
    # Bytes of input rows one row group of the in-place kernel reads.
    GROUP_BYTES = 262144
    # Bytes of output rows the in-place kernel computes before copying them out.
    TMP_BYTES = 32768
    # The in-place kernel prefetches the next item's input rows when they are at most this big.
    PREFETCH_BYTES = 262144
    # Bytes of transformed inputs and products (V and M) one thread aims to keep per band of
    # the Winograd kernel (about half an L2 cache).
    WINO_BYTES = 524288

# Vector width (bytes) of the kernels: the widest this CPU runs.  Tests lower it to 32 to
# run the AVX2/baseline kernels on an AVX-512 machine too.
_vector_bytes_cap = 64


def vector_bytes():
    """Vector width, in bytes, the convolution kernels use on this machine (64 or 32)."""
    return min(<Py_ssize_t>fc_conv_vector_bytes(), _vector_bytes_cap)


def _set_vector_bytes_cap(Py_ssize_t cap):
    """Use kernels no wider than ``cap`` bytes (32 or 64); returns the previous cap (tests)."""
    global _vector_bytes_cap
    if cap not in (32, 64):
        raise ValueError(f"cap must be 32 or 64, got {cap}")
    old = _vector_bytes_cap
    _vector_bytes_cap = cap
    return old


def all_finite(const real_t[:, :, :, :] x):
    """Whether no element of ``x`` (any strides) is NaN or +-inf: one pass, no copy.  The
    callers send non-finite inputs and kernels to the direct kernels, which keep the exact
    pattern of NaN and +-inf that the fast algorithms would spread."""
    cdef Py_ssize_t a, b, c, W = x.shape[3]
    cdef int64_t sW = x.strides[3] // <Py_ssize_t>sizeof(real_t)
    cdef int bad = 0
    if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0 or W == 0:
        return True
    with nogil:
        for a in range(x.shape[0]):
            for b in range(x.shape[1]):
                for c in range(x.shape[2]):
                    if real_t is float:
                        bad = fc_nonfinite_f(&x[a, b, c, 0], W, sW)
                    else:
                        bad = fc_nonfinite_d(&x[a, b, c, 0], W, sW)
                    if bad:
                        break
                if bad:
                    break
            if bad:
                break
    return not bad


# Channel-lane tiles (output channels in the vector lanes) are used when the channels per
# group fill whole tiles of 2 vectors and each output sums at least this many products (the
# tile's transposed store is then cheap).  Measured on AVX-512 against the column tiles:
# faster from 32 taps (1x1 with 32 input channels: -25%; C3, C5, C6, C10 all faster), slower
# at 27 (3x3 over 3 channels).  With one vector of channels (see below), LeNet's C2 (16
# channels, 10 columns) takes 21 us instead of 30; 48 channels over 56 columns were slower.
_channel_lanes_min_taps = 32
# Whether one-vector channel-lane tiles (C_out per group a multiple of one vector but not two,
# narrow rows) are used: 1 or 0 (measurements).
_channel_lanes_one_vector = 1
_channel_lanes_one_vector_fill = 0.7
# 1x1 kernels take the channel-lane tiles (tests: 0 never, 2 always) for any channel count of
# at least half a vector, where the column tiles lose: they pack the whole input, a copy that
# costs as much as the little arithmetic a 1x1 layer does per element, waste lanes on rows
# like 56 or 100, and make many short tile calls on narrow rows; the channel-lane tiles pay
# a transposed store per tile, which few input channels do not hide.  Measured on AVX-512
# (float32, 1 thread), column-tile time / channel-lane time over 1 -> 64 output channels:
# 56 columns 1.15-2.2 from 4 input channels; 100 columns 1.03-2.3 from 16 input channels
# (0.82-1.13 with 4); 256 columns (every lane filled) 0.97-1.45 from 64 input channels,
# 0.56-1.10 below; 1 output channel 0.36-1.28 (column tiles kept).  C4 (128 -> 32) and
# 128 -> 48 on 100 x 100: 134 -> 216 GF/s; 64 -> 24 on 8 x 56 x 56: 102 -> 170.
_channel_lanes_1x1 = 1
# Channels per group a multiple of one vector but not of two, more than two vectors (48, 80,
# 112 float32 channels on AVX-512): blocks of two vectors and a one-vector last block, where
# the column tiles would fill less than this share of their lanes.  Measured (3x3, float32,
# 1 thread): 64 -> 48 channels on 8 x 56 x 56 183 -> 206 GF/s, 64 -> 112 185 -> 232, 64 -> 80
# on 8 x 28 x 28 183 -> 220 (column tiles fill 87.5% of their lanes on 56 and 28 columns);
# 5x5 96 -> 48 on 30 columns (94%) equal; 3x3 32 -> 48 on 64 columns (100%) 231 -> 189.
_channel_lanes_mixed_fill = 0.9


def _channel_lanes(Py_ssize_t coutg, Py_ssize_t taps, Py_ssize_t Wo, Py_ssize_t vl,
                   bint one_by_one=False):
    """Vectors of output channels per channel-lane tile for this shape, or 0 for the column
    tiles: for 1x1 kernels (``one_by_one``) with at least half a vector of channels, 1 or 2
    where the input channels (``taps``) and the row width make them pay; otherwise 2 when
    the channels per group fill whole two-vector tiles, or whole vectors (a last block of
    one) on rows the column tiles fill badly; 1 when they fill one-vector tiles and the rows
    (``Wo``) are so narrow that column tiles would leave most lanes empty; see above."""
    # lanes the column tiles compute for Wo outputs: whole two-vector tiles, then one or two
    # vectors for the rest
    full = Wo // (FC_NV_WIDE * vl) * (FC_NV_WIDE * vl)
    rem = Wo - full
    computed = full + (0 if rem == 0 else (vl if rem <= vl else FC_NV_WIDE * vl))
    if one_by_one and (_channel_lanes_1x1 == 2 or (_channel_lanes_1x1 == 1 and 2 * coutg >= vl and (
            taps >= 64 or (taps >= 16 and Wo < 0.95 * computed) or (taps >= 4 and Wo < 4 * vl)))):
        return 2 if coutg > vl else 1
    if taps < _channel_lanes_min_taps:
        return 0
    if coutg % (2 * vl) == 0:
        return 2
    if coutg % vl != 0:
        return 0
    if coutg > 2 * vl and Wo < _channel_lanes_mixed_fill * computed:
        return 2
    if _channel_lanes_one_vector and Wo < _channel_lanes_one_vector_fill * computed:
        # one vector of channels per tap reads as many broadcasts as it has FMAs: worth it
        # only where the column tiles would fill less than 70% of their lanes (narrow rows,
        # e.g. LeNet's 10 columns in 16 lanes)
        return 1
    return 0


def _set_channel_lanes_min_taps(Py_ssize_t n, double one_vector_fill=0.7, double mixed_fill=0.9):
    """Set the tap threshold of the channel-lane tiles and the lane fills below which the
    one-vector tiles and the mixed blocks replace column tiles; returns the previous triple
    (tests)."""
    global _channel_lanes_min_taps, _channel_lanes_one_vector_fill, _channel_lanes_mixed_fill
    old = (_channel_lanes_min_taps, _channel_lanes_one_vector_fill, _channel_lanes_mixed_fill)
    _channel_lanes_min_taps = n
    _channel_lanes_one_vector_fill = one_vector_fill
    _channel_lanes_mixed_fill = mixed_fill
    return old


def _set_channel_lanes_1x1(int mode):
    """When 1x1 kernels take the channel-lane tiles: 1 by the measured rule, 0 never (unless
    the general rule picks them), 2 always; returns the previous mode (tests)."""
    global _channel_lanes_1x1
    if mode not in (0, 1, 2):
        raise ValueError(f"mode must be 0, 1 or 2, got {mode}")
    old = _channel_lanes_1x1
    _channel_lanes_1x1 = mode
    return old


# One input channel per output channel (depthwise layers, single-channel images) with column
# stride 1: the in-place kernel (fc_dw_band) reads the input where it lies, instead of packing
# bands.  Measured on AVX-512 (float32, 1 thread): 1.2-2.2x faster for 3x3 and 5x5 kernels on
# planes up to 224 wide (C7: 2.2 -> 1.5 ms), and for 3x3 on 512; slower for 7x7 and wider
# kernels, for wide rows (1024: 0.7-0.8x) and for 7x1 columns (separable Gaussian I3: 28 ->
# 40 ms), where the row-blocked tile of the packed bands reuses each loaded vector for several
# output rows.  Rule: kernel at most 5 x 5 and kW * row bytes <= _IN_PLACE_MAX_ROW_BYTES (the
# strips), or the row sweep's rule below.
_IN_PLACE_MAX_K = 5
_IN_PLACE_MAX_ROW_BYTES = 6144
# Its edge buffers hold, per chunk of output columns, the padded columns the chunk reads, for
# every input row a group of output rows reads: they grow with the dilation in both
# directions, as does the time spent filling them.  Dilations that spread the taps wider
# than this many vectors take the packed bands, whose stride phases make any dilation a
# unit-stride load.
_IN_PLACE_MAX_SPREAD_VECTORS = 4
# 1: the rule above; 0: never; 2: always (when the layout allows it).  Tests set it.
_in_place = 1


# Wide rows: the in-place kernel sweeps along the rows with the taps in registers (3x3 and
# 5x5, unit stride and dilation), writing the output in place, instead of filling strips
# into a buffer.  Measured against the strips (float32, AVX-512, 1 and 2 threads): 5x5
# 0.4-0.9x their time from 224 columns up (C9, 4096 x 4096: 13.5 -> 6.2 ms on 1 thread,
# against 13.6 ms for the packed bands), equal on 112, 1.2x on 56; 3x3 0.6-0.8x from 448
# columns, equal on 224 and 256, 1.05-1.17x on 56 and 112, where the strips' edge handling
# and prefetching win.
_SWEEP_MIN_ROW_BYTES = {3: 1024, 5: 400}
# The sweep stores with streaming (non-temporal) stores on AVX-512 when the call's output is
# at least this big: far bigger than the caches, its lines would be read from memory only
# to be overwritten (C9 with out=, 2 threads: 3.9 -> 3.3 ms; no change on 1 thread).
_STREAM_MIN_BYTES = 32 << 20


def _sweeps(Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sh, Py_ssize_t dh, Py_ssize_t dw,
            Py_ssize_t W, Py_ssize_t isz):
    """Whether the in-place kernel sweeps along the rows (written straight to the output)
    instead of filling strips into a buffer: 3x3 and 5x5, unit stride and dilation, rows of
    at least _SWEEP_MIN_ROW_BYTES."""
    return (kH == kW and kH in _SWEEP_MIN_ROW_BYTES and sh == 1 and dh == 1 and dw == 1
            and W * isz >= _SWEEP_MIN_ROW_BYTES[kH])


def _use_in_place(Py_ssize_t Cg, Py_ssize_t sw, Py_ssize_t sW, Py_ssize_t kH, Py_ssize_t kW,
                  Py_ssize_t W, Py_ssize_t isz, Py_ssize_t sh=1, Py_ssize_t dh=1, Py_ssize_t dw=1,
                  bint finite_weights=True):
    """Whether conv2d_direct takes the in-place kernel: one input channel per output channel,
    column stride 1, contiguous input rows (``sW`` is the column stride in bytes), taps no
    more than _IN_PLACE_MAX_SPREAD_VECTORS vectors apart in either direction, finite weights
    (the kernel leaves out taps that fall on zero padding, where a NaN or infinite weight
    must still make the output NaN), and the measured rule above."""
    cdef Py_ssize_t spread = _IN_PLACE_MAX_SPREAD_VECTORS * vector_bytes() // isz
    if (Cg != 1 or sw != 1 or sW != isz or _in_place == 0 or not finite_weights
            or (kW - 1) * dw > spread or (kH - 1) * dh > spread):
        return False
    return _in_place == 2 or _sweeps(kH, kW, sh, dh, dw, W, isz) or (
        kH <= _IN_PLACE_MAX_K and kW <= _IN_PLACE_MAX_K and kW * W * isz <= _IN_PLACE_MAX_ROW_BYTES)


def _set_in_place(int mode):
    """Choose when the in-place kernel is used: 1 by the measured rule, 0 never, 2 whenever
    the layout allows it; returns the previous mode (tests)."""
    global _in_place
    if mode not in (0, 1, 2):
        raise ValueError(f"mode must be 0, 1 or 2, got {mode}")
    old = _in_place
    _in_place = mode
    return old


# _layout's results by arguments (read-only arrays): building them costs about 1 us, a tenth
# of a LeNet layer's call.  Cleared when it grows past _LAYOUT_MEMO_MAX entries.
_layout_memo = {}
_LAYOUT_MEMO_MAX = 256


def _layout(Py_ssize_t kW, Py_ssize_t sw, Py_ssize_t dw, Py_ssize_t wo_pad):
    """Column layout of a packed row: (pstart, xoff, Wq), read-only arrays.

    "phase" layout: one phase per distinct residue of kw*dw mod sw, so each input element is
    packed once; "tap" layout: one phase per kernel column, chosen when the phases would be
    mostly gaps (huge strides or dilations)."""
    key = (kW, sw, dw, wo_pad)
    hit = _layout_memo.get(key)
    if hit is not None:
        return hit
    if len(_layout_memo) >= _LAYOUT_MEMO_MAX:
        _layout_memo.clear()
    pstart, xoff, wq = res = _build_layout(kW, sw, dw, wo_pad)
    pstart.flags.writeable = False
    xoff.flags.writeable = False
    _layout_memo[key] = res
    return res


cdef tuple _build_layout(Py_ssize_t kW, Py_ssize_t sw, Py_ssize_t dw, Py_ssize_t wo_pad):
    # kw * dw mod sw repeats with period at most sw: the residues come from the first sw taps
    # (a broadcast kernel may have billions of taps)
    residues = sorted({(kw * dw) % sw for kw in range(min(kW, sw))})
    max_off = ((kW - 1) * dw) // sw
    wq_phase = wo_pad + max_off
    if len(residues) * wq_phase <= 2 * kW * wo_pad:
        q = np.zeros(sw, dtype=np.int64)
        q[residues] = np.arange(len(residues), dtype=np.int64)
        pos = np.arange(kW, dtype=np.int64) * dw
        pstart = np.array(residues, dtype=np.int64)
        xoff = q[pos % sw] * wq_phase + pos // sw
        return pstart, xoff, wq_phase
    pstart = np.arange(kW, dtype=np.int64) * dw
    xoff = np.arange(kW, dtype=np.int64) * wo_pad
    return pstart, xoff, wo_pad


def conv2d_direct(const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
                  real_t[:, :, :, ::1] out, Py_ssize_t groups, Py_ssize_t sh, Py_ssize_t sw,
                  Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl, int mode,
                  real_t fill, object num_threads):
    """Direct convolution of x (N, C, H, W) with w (C_out, C/groups, kH, kW) into out.

    ``pt``/``pl`` are the top/left paddings (the bottom/right ones follow from out's shape),
    ``mode`` an FC_PAD_* code and ``fill`` the constant for FC_PAD_ZEROS.  No validation:
    :func:`fastconv._args.conv2d_args` did it.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Cout = w.shape[0], Cg = w.shape[1], kH = w.shape[2], kW = w.shape[3]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3]
    if N == 0 or Cout == 0 or Ho == 0 or Wo == 0:
        return
    cdef Py_ssize_t G = groups, coutg = Cout // groups, isz = sizeof(real_t)
    if Cg == 1 and _use_in_place(Cg, sw, x.strides[3], kH, kW, W, isz, sh, dh, dw, all_finite(w)):
        _conv_in_place(x, w, bias, out, coutg, sh, dh, dw, pt, pl, mode, fill, num_threads)
        return
    cdef int64_t vb = vector_bytes()
    cdef int64_t vl = vb // isz
    cdef int64_t ocb = fc_conv_wide_ocb(vb) if coutg >= 3 else 1
    cdef int64_t vw = (FC_NV_WIDE if ocb > 1 else FC_NV_NARROW) * vl
    cdef int64_t wo_pad = (Wo + vw - 1) // vw * vw
    cdef int64_t nov = _channel_lanes(coutg, Cg * kH * kW, Wo, vl, kH == 1 and kW == 1)
    if nov:
        ocb = nov * vl  # channel-lane tiles: they read exactly the Wo columns
        wo_pad = Wo

    pstart_a, xoff_a, Wq = _layout(kW, sw, dw, wo_pad)
    cdef const int64_t[::1] pstart = pstart_a
    cdef const int64_t[::1] xoff = xoff_a

    cdef fc_conv_geom g
    g.C = Cg; g.H = H; g.W = W
    g.sC = x.strides[1] // isz; g.sH = x.strides[2] // isz; g.sW = x.strides[3] // isz
    g.kH = kH; g.kW = kW; g.sh = sh; g.sw = sw; g.dh = dh; g.dw = dw
    g.Ho = Ho; g.Wo = Wo; g.pt = pt; g.pl = pl
    g.Wp = (Wo - 1) * sw + (kW - 1) * dw + 1  # padded columns past this one are never read
    g.mode = mode
    g.npha = pstart.shape[0]; g.pstart = &pstart[0]; g.Wq = Wq; g.xoff = &xoff[0]
    g.rstep = g.npha * Wq
    cdef int64_t sN = x.strides[0] // isz
    # Channel-lane tiles read exactly the columns their outputs need: where no padding is
    # read, with column stride 1 and contiguous columns, they read the input in place and no
    # band is packed (1x1 layers, unpadded LeNet layers).
    cdef bint in_place = (nov != 0 and sw == 1 and g.sW == 1 and pt == 0 and pl == 0 and g.Wp <= W
                          and (Ho - 1) * sh + (kH - 1) * dh + 1 <= H and _in_place != 0)
    if in_place:
        g.rstep = g.sH

    # Weights packed once per call: [group][oc block][ic][kh][kw][ocb].
    cdef int64_t nob = (coutg + ocb - 1) // ocb
    cdef int64_t wgrp = nob * Cg * kH * kW * ocb
    wpack_a = np.empty(G * wgrp, dtype=np.float32 if real_t is float else np.float64)
    cdef real_t[::1] wpack = wpack_a
    cdef int64_t ws[4]
    cdef Py_ssize_t i
    for i in range(4):
        ws[i] = w.strides[i] // isz
    cdef Py_ssize_t gi
    with nogil:
        for gi in range(G):
            if real_t is float:
                fc_pack_weights_f(&w[gi * coutg, 0, 0, 0], ws, coutg, Cg, kH, kW, ocb, &wpack[gi * wgrp])
            else:
                fc_pack_weights_d(&w[gi * coutg, 0, 0, 0], ws, coutg, Cg, kH, kW, ocb, &wpack[gi * wgrp])

    # Band height R: keep one band's packed rows near BAND_BYTES, but leave enough items for
    # every thread, and use the cheaper row list (contiguous span or one row per tap).
    cdef int64_t row_bytes = Cg * g.npha * Wq * isz
    cdef int64_t R = (BAND_BYTES // max(row_bytes, 1) - (kH - 1) * dh) // sh
    # One input channel per group (wide one-channel planes the in-place kernel does not
    # take): at least as many output rows as the kernel's extra rows, so a band packs at most
    # twice the rows it computes, whatever BAND_BYTES allows (4096^2 plane, float32, 1
    # thread: 25x25 346 -> 121 ms, 15x15 62 -> 54 ms; a band of 25 rows of 16 KiB had left
    # room for one output row)
    if Cg == 1:
        R = max(R, ((kH - 1) * dh + sh - 1) // sh)
    nt_max = resolve_threads(num_threads)
    cdef int64_t per_thread = (Ho * N * G + 4 * nt_max - 1) // (4 * nt_max)
    R = max(1, min(R, Ho, max(per_thread, 1)))
    if in_place:
        R = max(1, min(Ho, per_thread, 16))  # no band to size: rows for load balance
    cdef int contiguous = in_place or ((R - 1) * sh + (kH - 1) * dh + 1) <= 2 * R * kH
    cdef int64_t maxrows = (R - 1) * sh + (kH - 1) * dh + 1 if contiguous else R * kH
    # nb bands of R or R - 1 rows (band b starts at row b * Ho // nb): a thread's run of
    # consecutive bands then covers as many rows as the others' (1x1 C4 on 2 threads: 52
    # and 48 rows with equal bands of 13)
    cdef int64_t nb = (Ho + R - 1) // R
    cdef int64_t nitems = N * G * nb
    cdef int nt = resolve_threads(num_threads, nitems)
    cdef size_t band_elems = 1 if in_place else <size_t>(Cg * maxrows * g.npha * Wq)

    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef const real_t *b0 = &bias[0] if bias is not None else NULL
    cdef const real_t *wp0 = &wpack[0]
    cdef int64_t plane = Ho * Wo
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *band
    cdef int64_t *rowsrc
    cdef int64_t *ridx
    cdef int64_t item, n, rem, b, oh0, Rb, nrows, cstep
    cdef const real_t *xg
    cdef const real_t *src

    with nogil, parallel(num_threads=nt):
        band = <real_t *>fc_alloc(band_elems * sizeof(real_t))
        rowsrc = <int64_t *>malloc((maxrows + R * kH) * sizeof(int64_t))
        ridx = rowsrc + maxrows
        if band == NULL or rowsrc == NULL:
            failed[0] = 1
        for item in prange(nitems, schedule="static"):
            if band == NULL or rowsrc == NULL:
                continue
            n = item // (G * nb)
            rem = item % (G * nb)
            gi = rem // nb
            b = rem % nb
            oh0 = b * Ho // nb
            Rb = (b + 1) * Ho // nb - oh0
            nrows = fc_band_rows(&g, oh0, Rb, contiguous, rowsrc, ridx)
            xg = x0 + n * sN + gi * Cg * g.sC
            if in_place:  # the band is the input from row oh0 * sh on
                src = xg + oh0 * sh * g.sH
                cstep = g.sC
            else:
                if real_t is float:
                    fc_pack_band_f(xg, &g, rowsrc, nrows, fill, band)
                else:
                    fc_pack_band_d(xg, &g, rowsrc, nrows, fill, band)
                src = band
                cstep = nrows * g.rstep
            if real_t is float:
                fc_conv_band_f(vb, src, cstep, ridx, wp0 + gi * wgrp, ocb,
                               (b0 + gi * coutg) if b0 != NULL else NULL, coutg, &g, oh0, Rb,
                               o0 + (n * Cout + gi * coutg) * plane, plane)
            else:
                fc_conv_band_d(vb, src, cstep, ridx, wp0 + gi * wgrp, ocb,
                               (b0 + gi * coutg) if b0 != NULL else NULL, coutg, &g, oh0, Rb,
                               o0 + (n * Cout + gi * coutg) * plane, plane)
        free(band)
        free(rowsrc)
    if failed[0]:
        raise MemoryError("conv2d: could not allocate the per-thread band buffer "
                          f"({band_elems * isz} bytes)")


cdef _conv_in_place(const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
                    real_t[:, :, :, ::1] out, Py_ssize_t coutg, Py_ssize_t sh, Py_ssize_t dh,
                    Py_ssize_t dw, Py_ssize_t pt, Py_ssize_t pl, int mode, real_t fill,
                    object num_threads):
    """conv2d_direct for one input channel per output channel and column stride 1, read in
    place by fc_dw_band (no packed band).  Output channel oc reads input channel oc // coutg."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Cout = w.shape[0], kH = w.shape[2], kW = w.shape[3]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3], isz = sizeof(real_t)
    cdef int64_t vb = vector_bytes()
    dtype = np.float32 if real_t is float else np.float64

    cdef fc_conv_geom g
    g.C = 1; g.H = H; g.W = W
    g.sC = x.strides[1] // isz; g.sH = x.strides[2] // isz; g.sW = 1
    g.kH = kH; g.kW = kW; g.sh = sh; g.sw = 1; g.dh = dh; g.dw = dw
    g.Ho = Ho; g.Wo = Wo; g.pt = pt; g.pl = pl
    g.Wp = Wo + (kW - 1) * dw
    g.mode = mode
    g.npha = 0; g.pstart = NULL; g.Wq = 0; g.xoff = NULL
    cdef int64_t sN = x.strides[0] // isz

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
        if real_t is float:
            fc_pack_weights_f(&w[0, 0, 0, 0], ws, Cout, 1, kH, kW, 1, &wpack[0])
        else:
            fc_pack_weights_d(&w[0, 0, 0, 0], ws, Cout, 1, kH, kW, 1, &wpack[0])
        fc_pad_map(&colmap[0], g.Wp, pl, W, mode)
    fillrow_a = np.full(W, fill, dtype=dtype)
    cdef const real_t[::1] fillrow = fillrow_a

    # Items (sample, output channel, band of rows): whole planes unless that leaves fewer
    # than 4 items per thread.  No buffer bounds the band: it is read in place.
    nt_max = resolve_threads(num_threads)
    cdef int64_t R = max(1, min(Ho, (Ho * N * Cout + 4 * nt_max - 1) // (4 * nt_max)))
    cdef int64_t nb = (Ho + R - 1) // R
    cdef int64_t nitems = N * Cout * nb
    cdef int nt = resolve_threads(num_threads, nitems)
    cdef int64_t reach = (kH - 1) * dh + 1
    cdef int64_t span = (R - 1) * sh + reach
    # Edge buffers: the padded columns one chunk of vl outputs reads, for the rows of a group
    # of at most rg output rows (about 256 KiB of them at most, unless one output row's own
    # rows need more).
    cdef int64_t vl = vb // isz
    cdef int64_t ew = vl + (kW - 1) * dw
    cdef int64_t rg = max(1, min(R, 64, ((EDGE_BYTES // isz) // ew - reach) // sh + 1))
    # and rows of a group that stay in cache while the strips walk across them
    rg = max(1, min(rg, ((GROUP_BYTES // isz) // W - reach) // sh + 1))
    # and output rows that fit the tmp buffer the strips fill before it is copied out, unless
    # the rows are wide enough to be swept in place
    cdef bint wide = _sweeps(kH, kW, sh, dh, dw, W, isz)
    cdef int stream = wide and N * Cout * Ho * Wo * isz >= _STREAM_MIN_BYTES
    cdef int64_t tmp_elems = 0
    if not wide:
        rg = max(1, min(rg, (TMP_BYTES // isz) // max(Wo, vl)))
        tmp_elems = rg * max(Wo, vl)
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
                if r_hi > r_lo and (r_hi - r_lo) * W * isz <= PREFETCH_BYTES:
                    nx = (x0 + ((item + 1) // (Cout * nb)) * sN
                          + ((((item + 1) // nb) % Cout) // coutg) * g.sC + r_lo * g.sH)
                    nxrows = r_hi - r_lo
            if real_t is float:
                fc_dw_band_f(vb, x0 + n * sN + (oc // coutg) * g.sC, g.sH, &g, cm, fr, fill,
                             wp0 + oc * kH * kW, bv, oh0, min(R, Ho - oh0),
                             o0 + (n * Cout + oc) * plane, rg, rowp, edge, eptr, tmp, nx, nxrows, stream)
            else:
                fc_dw_band_d(vb, x0 + n * sN + (oc // coutg) * g.sC, g.sH, &g, cm, fr, fill,
                             wp0 + oc * kH * kW, bv, oh0, min(R, Ho - oh0),
                             o0 + (n * Cout + oc) * plane, rg, rowp, edge, eptr, tmp, nx, nxrows, stream)
        free(<void *>rowp)
        free(edge)
    if failed[0]:
        raise MemoryError("conv2d: could not allocate the per-thread row lists and edge buffers "
                          f"({(span + gspan) * sizeof(real_t *) + (gspan * ew + tmp_elems) * isz} bytes)")


def conv2d_winograd(const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
                    real_t[:, :, :, ::1] out, Py_ssize_t groups, Py_ssize_t pt, Py_ssize_t pl,
                    Py_ssize_t dh, Py_ssize_t dw, int mode, real_t fill, int m, object num_threads):
    """Winograd F(m x m, 3 x 3) convolution (m = 2 or 4) of x (N, C, H, W) with 3x3 weights
    w (C_out, C/groups, 3, 3), unit stride, dilation (dh, dw) with m * dw in (2, 4, 8), into
    out; other arguments as for :func:`conv2d_direct`.  See include/fastconv/winograd.h."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Cout = w.shape[0], Cg = w.shape[1]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3]
    if N == 0 or Cout == 0 or Ho == 0 or Wo == 0:
        return
    cdef Py_ssize_t G = groups, coutg = Cout // groups, isz = sizeof(real_t)
    cdef int64_t A = m + 2
    cdef int64_t vb = vector_bytes()
    cdef int64_t vl = vb // isz
    cdef int64_t ocb = fc_wino_ocb(vb)
    cdef int64_t nob = (coutg + ocb - 1) // ocb
    cdef int64_t ocp = nob * ocb
    # A dilated layer is dh x dw undilated ones on the output's row and column phases: row
    # phase pr (output rows pr + dh*i) is a separate work item, the dw column phases of a
    # row share a band.  Tile counts of the first (largest) phases:
    cdef int64_t ntr = ((Ho + dh - 1) // dh + m - 1) // m
    cdef int64_t ntc = ((Wo + dw - 1) // dw + m - 1) // m
    dtype = np.float32 if real_t is float else np.float64

    # The band is packed as for a stride-(m*dw) convolution with a (dw*A)-wide kernel: tap
    # pc + dw*j (column phase pc's patch column j) of tile t at xoff[pc + dw*j] + t, over the
    # tile columns rounded up to a vector.
    pstart_a, xoff_a, Wq = _layout(dw * A, m * dw, 1, (ntc + vl - 1) // vl * vl)
    cdef const int64_t[::1] pstart = pstart_a
    cdef const int64_t[::1] xoff = xoff_a
    cdef fc_conv_geom g
    g.C = Cg; g.H = H; g.W = W
    g.sC = x.strides[1] // isz; g.sH = x.strides[2] // isz; g.sW = x.strides[3] // isz
    g.kH = A; g.kW = dw * A; g.sh = m * dh; g.sw = m * dw; g.dh = dh; g.dw = 1
    g.Ho = ntr; g.Wo = ntc; g.pt = pt; g.pl = pl
    g.Wp = Wo + 2 * dw  # padded columns past this one feed only dropped outputs (packed as 0)
    g.mode = mode
    g.npha = pstart.shape[0]; g.pstart = &pstart[0]; g.Wq = Wq; g.xoff = &xoff[0]
    g.rstep = g.npha * Wq
    cdef int64_t sN = x.strides[0] // isz

    # Transformed weights, once per call: [group][A*A][oc block][ic][ocb], one block per
    # work unit of the first parallel loop below.
    cdef int64_t ugrp = A * A * ocp * Cg
    U_a = np.empty(G * ugrp, dtype=dtype)
    cdef real_t[::1] U = U_a
    cdef int64_t ws[4]
    cdef Py_ssize_t i
    for i in range(4):
        ws[i] = w.strides[i] // isz

    # Band of Rt tile rows: V and M near WINO_BYTES, but enough items for every thread.
    cdef int64_t ncr = dw * ((ntc + vl - 1) // vl)  # vector chunks of tiles per tile row
    cdef int64_t row_bytes = A * A * (Cg + ocp) * ncr * vl * isz
    cdef int64_t Rt = WINO_BYTES // max(row_bytes, 1)
    nt_max = resolve_threads(num_threads)
    cdef int64_t per_thread = (ntr * N * G * min(dh, Ho) + 4 * nt_max - 1) // (4 * nt_max)
    Rt = max(1, min(Rt, ntr, per_thread))
    # whole groups of 3 chunks (the product tile's width) where that costs at most 2 more
    # rows and keeps the buffers below twice the aim (C5 with m = 4: 5.7 -> 5.2 ms)
    cdef int64_t r3 = Rt
    while (r3 * ncr) % 3 and r3 < Rt + 2 and r3 < ntr:
        r3 += 1
    if (r3 * ncr) % 3 == 0 and r3 * row_bytes <= 2 * WINO_BYTES:
        Rt = r3
    cdef int64_t nb = (ntr + Rt - 1) // Rt
    # row phases past the output's height are empty (a dilation of 2**28 on an 8-row plane)
    cdef int64_t nph = min(dh, Ho)
    cdef int64_t nitems = N * G * nph * nb
    cdef int nt = resolve_threads(num_threads, max(nitems, G * nob))
    cdef int64_t maxrows = (Rt - 1) * m + A
    cdef int64_t nch = Rt * ncr
    cdef size_t band_elems = <size_t>(Cg * maxrows * g.rstep)
    cdef size_t v_elems = <size_t>(A * A * Cg * nch * vl)
    cdef size_t vm_elems = v_elems + <size_t>(A * A * ocp * nch * vl)

    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef const real_t *w0 = &w[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef const real_t *b0 = &bias[0] if bias is not None else NULL
    cdef real_t *u0 = &U[0]
    cdef int64_t plane = Ho * Wo
    cdef int failed[1]
    failed[0] = 0
    cdef real_t *band
    cdef real_t *vbuf
    cdef int64_t *rowsrc
    cdef int64_t item, n, gi, ob, b, tr0, Rb, nrows, pr, hp, i_r
    cdef const real_t *xg

    with nogil, parallel(num_threads=nt):
        for item in prange(G * nob, schedule="static"):
            gi = item // nob
            ob = item % nob
            if real_t is float:
                fc_wino_weights_f(m, w0 + (gi * coutg + ob * ocb) * ws[0], ws,
                                  min(ocb, coutg - ob * ocb), Cg, ocb, nob * Cg * ocb,
                                  u0 + gi * ugrp + ob * Cg * ocb)
            else:
                fc_wino_weights_d(m, w0 + (gi * coutg + ob * ocb) * ws[0], ws,
                                  min(ocb, coutg - ob * ocb), Cg, ocb, nob * Cg * ocb,
                                  u0 + gi * ugrp + ob * Cg * ocb)
        band = <real_t *>fc_alloc(band_elems * sizeof(real_t))
        # V then M: every vector of both is written before it is read (a row's last chunk
        # of tiles transforms the zeroed tail of the packed rows)
        vbuf = <real_t *>fc_alloc(vm_elems * sizeof(real_t))
        rowsrc = <int64_t *>malloc(maxrows * sizeof(int64_t))
        if band == NULL or vbuf == NULL or rowsrc == NULL:
            failed[0] = 1
        for item in prange(nitems, schedule="static"):
            if band == NULL or vbuf == NULL or rowsrc == NULL:
                continue
            n = item // (G * nph * nb)
            gi = (item // (nph * nb)) % G
            pr = (item // nb) % nph
            b = item % nb
            hp = (Ho - pr + dh - 1) // dh  # output rows of row phase pr
            tr0 = b * Rt
            Rb = min(Rt, (hp + m - 1) // m - tr0)
            if Rb <= 0:
                continue
            # the phase's padded rows pr + dh*i read by tile rows tr0 .. tr0 + Rb - 1
            nrows = (Rb - 1) * m + A
            for i_r in range(nrows):
                rowsrc[i_r] = pr + dh * (tr0 * m + i_r)
            xg = x0 + n * sN + gi * Cg * g.sC
            if real_t is float:
                fc_pack_band_f(xg, &g, rowsrc, nrows, fill, band)
                fc_wino_band_f(vb, m, band, nrows, &g, Rb, ntc, dw, u0 + gi * ugrp, coutg,
                               (b0 + gi * coutg) if b0 != NULL else NULL, vbuf, vbuf + v_elems,
                               tr0 * m, o0 + (n * Cout + gi * coutg) * plane + pr * Wo, plane,
                               hp, Wo, dh * Wo)
            else:
                fc_pack_band_d(xg, &g, rowsrc, nrows, fill, band)
                fc_wino_band_d(vb, m, band, nrows, &g, Rb, ntc, dw, u0 + gi * ugrp, coutg,
                               (b0 + gi * coutg) if b0 != NULL else NULL, vbuf, vbuf + v_elems,
                               tr0 * m, o0 + (n * Cout + gi * coutg) * plane + pr * Wo, plane,
                               hp, Wo, dh * Wo)
        free(band)
        free(vbuf)
        free(rowsrc)
    if failed[0]:
        raise MemoryError("conv2d: could not allocate the per-thread Winograd buffers "
                          f"({(band_elems + vm_elems) * isz} bytes)")


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
            if real_t is float:
                bad = bad | fc_nonfinite_f(d, nw, dW)
            else:
                bad = bad | fc_nonfinite_d(d, nw, dW)
    return not bad
