/*
 * fastconv/depthwise/nhwc.h - depthwise convolution of channels-last (NHWC) data.
 *
 * One input channel per output channel, the channels contiguous in memory: every tap is a
 * run of C products, vectorised across the channels (no transpose of the data, whose planes
 * in NHWC are strided by C).  The taps of one pixel accumulate in a block of FC_NHWC_CB
 * channels held in registers, in row-major tap order after the bias.
 *
 * No checking is done here: the planner (fastconv/_plan.py) chose this kernel for zero
 * padding with finite weights (taps that fall in the padding are skipped, which equals
 * adding 0 * w only when w is finite), and the driver (_depthwise.pyx) passes valid
 * pointers and sizes.
 */
#ifndef FASTCONV_DEPTHWISE_NHWC_H
#define FASTCONV_DEPTHWISE_NHWC_H

#include <stdint.h>
#include <string.h>
#include "fastconv/pool/geom.h" /* fc_tap_range */
#include "fastconv/simd.h"

/* Register blocks: FC_NHWC_PX output pixels of a row x up to FC_NHWC_NV vectors of
 * channels, sharing each tap's weight vectors.  AVX2 (16 registers): 2 pixels x 4 vectors
 * = 8 accumulators, 4 weights and an input; AVX-512 (32 registers): 4 pixels x 4 vectors.
 * Channel blocks of fewer vectors (the last of a row) take the same code with a constant
 * smaller count; the channels past the last whole vector go one by one. */
#define FC_NHWC_NV 4
#define FC_NHWC_CB (FC_NHWC_NV * FC_VL)
#define FC_NHWC_PX ((int)(sizeof(FC_V) >= 64 ? 4 : 2))

FC_INLINE FC_V fc_nhwc_load(const FC_T *p) {
    FC_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Store vector v_ at p_: with stream_, a streaming (non-temporal) store where p_ is
 * vector-aligned and the variant has them (a big result's lines are then not read from
 * memory only to be overwritten). */
#ifdef FC_STREAM
#define FC_NHWC_PUT(p_, v_, stream_)                                                                                   \
    do {                                                                                                               \
        if ((stream_) && ((uintptr_t)(p_) % sizeof(FC_V)) == 0)                                                        \
            FC_STREAM((p_), (v_));                                                                                     \
        else                                                                                                           \
            memcpy((p_), &(v_), sizeof(FC_V));                                                                         \
    } while (0)
#else
#define FC_NHWC_PUT(p_, v_, stream_) memcpy((p_), &(v_), sizeof(FC_V))
#endif

/* Store (or, for a channels-first result, scatter) NV_ vectors of one pixel's sums. */
#define FC_NHWC_STORE(acc_, NV_, o_, osC_, stream_)                                                                    \
    do {                                                                                                               \
        if ((osC_) == 1) {                                                                                             \
            for (int v_ = 0; v_ < (NV_); ++v_) FC_NHWC_PUT((o_) + v_ * FC_VL, (acc_)[v_], stream_);                    \
        } else { /* a channels-first result: one store per channel plane */                                            \
            FC_T lanes_[FC_NHWC_CB];                                                                                   \
            memcpy(lanes_, (acc_), (size_t)(NV_) * sizeof(FC_V));                                                      \
            for (int c_ = 0; c_ < (NV_) * FC_VL; ++c_) (o_)[c_ * (osC_)] = lanes_[c_];                                 \
        }                                                                                                              \
    } while (0)

/* acc_[p][v] = the bias of vector v of the channels from c0_ (zero without bias), for each
 * of PX_ pixels. */
#define FC_NHWC_BIAS(acc_, PX_, NV_, bias_, c0_)                                                                       \
    do {                                                                                                               \
        for (int v_ = 0; v_ < (NV_); ++v_) {                                                                           \
            const FC_V b_ = (bias_) ? fc_nhwc_load((bias_) + (c0_) + v_ * FC_VL) : (FC_V){0};                          \
            for (int p_ = 0; p_ < (PX_); ++p_) (acc_)[p_][v_] = b_;                                                    \
        }                                                                                                              \
    } while (0)

/* NV_ vectors of channels from c0 on, for PX_ adjacent output pixels from ow0 whose
 * windows lie inside the input in width (kw taps [0, kW)), or for one pixel (PX_ = 1)
 * with its own tap range [kwlo, kwhi).  Taps in row-major order after the bias. */
#define FC_DEF_NHWC_BLOCK(NAME, PX_, NV_)                                                                              \
    FC_INLINE void NAME(const FC_T *x, int64_t h0, int64_t khlo, int64_t khhi, int64_t xsH, int64_t xsW,               \
                        const FC_T *wt, const FC_T *bias, int64_t C, int64_t kW, int64_t kwlo, int64_t kwhi,           \
                        int64_t sW, int64_t dH, int64_t dW, int64_t w0, int64_t c0, FC_T *o, int64_t osW, int64_t osC, \
                        int stream) {                                                                                  \
        FC_V acc[PX_][NV_];                                                                                            \
        FC_NHWC_BIAS(acc, PX_, NV_, bias, c0);                                                                         \
        for (int64_t kh = khlo; kh < khhi; ++kh) {                                                                     \
            const FC_T *xr = x + (h0 + kh * dH) * xsH + c0;                                                            \
            for (int64_t kw = kwlo; kw < kwhi; ++kw) {                                                                 \
                const FC_T *wp = wt + (kh * kW + kw) * C + c0;                                                         \
                FC_V wv[NV_];                                                                                          \
                for (int v = 0; v < NV_; ++v) wv[v] = fc_nhwc_load(wp + v * FC_VL);                                    \
                const FC_T *xp = xr + (w0 + kw * dW) * xsW;                                                            \
                for (int p = 0; p < PX_; ++p)                                                                          \
                    for (int v = 0; v < NV_; ++v) acc[p][v] += fc_nhwc_load(xp + p * sW * xsW + v * FC_VL) * wv[v];    \
            }                                                                                                          \
        }                                                                                                              \
        for (int p = 0; p < PX_; ++p) FC_NHWC_STORE(acc[p], NV_, o + p * osW + c0 * osC, osC, stream);                 \
    }
FC_DEF_NHWC_BLOCK(fc_nhwc_px_4, FC_NHWC_PX, 4)
FC_DEF_NHWC_BLOCK(fc_nhwc_px_3, FC_NHWC_PX, 3)
FC_DEF_NHWC_BLOCK(fc_nhwc_px_2, FC_NHWC_PX, 2)
FC_DEF_NHWC_BLOCK(fc_nhwc_px_1, FC_NHWC_PX, 1)
FC_DEF_NHWC_BLOCK(fc_nhwc_one_4, 1, 4)
FC_DEF_NHWC_BLOCK(fc_nhwc_one_3, 1, 3)
FC_DEF_NHWC_BLOCK(fc_nhwc_one_2, 1, 2)
FC_DEF_NHWC_BLOCK(fc_nhwc_one_1, 1, 1)
#undef FC_DEF_NHWC_BLOCK

/* Sliding blocks for unit stride and dilation in width with KW_ = 3 or 5 taps: PX_ adjacent
 * output pixels read the PX_ + KW_ - 1 input pixels of a kernel row once each, every load
 * serving up to KW_ taps (the blocks above load each input vector once per tap: 5 loads for
 * 4 multiply-adds, which left them waiting on the second-level cache).  An input pixel u
 * feeds pixel p = u - kw with tap kw, so each pixel still adds its taps in row-major order
 * after the bias, the same sums as the blocks above.  AVX-512 (32 registers): 8 pixels x 2
 * vectors = 16 accumulators, KW_ x 2 weights and 2 inputs; 16 registers: 6 pixels x 1. */
#define FC_NHWC_SPX ((int)(sizeof(FC_V) >= 64 ? 8 : 6))
#define FC_NHWC_SNV ((int)(sizeof(FC_V) >= 64 ? 2 : 1))
#define FC_DEF_NHWC_SLIDE(NAME, PX_, NV_, KW_)                                                                         \
    FC_INLINE void NAME(const FC_T *x, int64_t h0, int64_t khlo, int64_t khhi, int64_t xsH, int64_t xsW,               \
                        const FC_T *wt, const FC_T *bias, int64_t C, int64_t dH, int64_t w0, int64_t c0, FC_T *o,      \
                        int64_t osW, int64_t osC, int stream) {                                                        \
        FC_V acc[PX_][NV_];                                                                                            \
        FC_NHWC_BIAS(acc, PX_, NV_, bias, c0);                                                                         \
        for (int64_t kh = khlo; kh < khhi; ++kh) {                                                                     \
            const FC_T *xr = x + (h0 + kh * dH) * xsH + w0 * xsW + c0;                                                 \
            FC_V wv[KW_][NV_];                                                                                         \
            for (int kw = 0; kw < KW_; ++kw)                                                                           \
                for (int v = 0; v < NV_; ++v) wv[kw][v] = fc_nhwc_load(wt + (kh * KW_ + kw) * C + c0 + v * FC_VL);     \
            _Pragma("GCC unroll 16") for (int u = 0; u < PX_ + KW_ - 1; ++u) {                                         \
                FC_V xv[NV_];                                                                                          \
                for (int v = 0; v < NV_; ++v) {                                                                        \
                    xv[v] = fc_nhwc_load(xr + u * xsW + v * FC_VL);                                                    \
                    FC_IN_REGISTER(xv[v]); /* one load for its KW_ taps */                                             \
                }                                                                                                      \
                for (int kw = 0; kw < KW_; ++kw) { /* constant bounds: unrolled with u's loop */                       \
                    if (u - kw >= 0 && u - kw < PX_)                                                                   \
                        for (int v = 0; v < NV_; ++v) acc[u - kw][v] += xv[v] * wv[kw][v];                             \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        for (int p = 0; p < PX_; ++p) FC_NHWC_STORE(acc[p], NV_, o + p * osW + c0 * osC, osC, stream);                 \
    }
FC_DEF_NHWC_SLIDE(fc_nhwc_slide3_n, FC_NHWC_SPX, FC_NHWC_SNV, 3)
FC_DEF_NHWC_SLIDE(fc_nhwc_slide3_1, FC_NHWC_SPX, 1, 3)
FC_DEF_NHWC_SLIDE(fc_nhwc_slide5_n, FC_NHWC_SPX, FC_NHWC_SNV, 5)
FC_DEF_NHWC_SLIDE(fc_nhwc_slide5_1, FC_NHWC_SPX, 1, 5)
#undef FC_DEF_NHWC_SLIDE

/* Every channel of np adjacent output pixels from ow0 (np = FC_NHWC_SPX with slide: the
 * sliding blocks; np = FC_NHWC_PX: windows inside in width; np = 1: any pixel): whole
 * vectors in blocks, then the channels past the last whole vector one by one. */
FC_INLINE void fc_dw_nhwc_pixels(const FC_T *x, int64_t h0, int64_t khlo, int64_t khhi, int64_t W, int64_t C,
                                 int64_t xsH, int64_t xsW, const FC_T *wt, const FC_T *bias, int64_t kW, int64_t sW,
                                 int64_t dH, int64_t dW, int64_t pl, int64_t ow0, int64_t np, int slide, FC_T *orow,
                                 int64_t osW, int64_t osC, int stream) {
    const int64_t w0 = ow0 * sW - pl;
    int64_t kwlo = 0, kwhi = kW;
    if (np == 1) fc_tap_range(w0, kW, dW, W, &kwlo, &kwhi);
    FC_T *o = orow + ow0 * osW;
    const int64_t cv = C / FC_VL * FC_VL; /* channels in whole vectors */
    int64_t c0 = 0;
    while (slide && c0 < cv) {
#define FC_NHWC_SCALL(F) F(x, h0, khlo, khhi, xsH, xsW, wt, bias, C, dH, w0, c0, o, osW, osC, stream)
        const int whole = cv - c0 >= FC_NHWC_SNV * FC_VL; /* else the one vector left */
        if (kW == 3 && whole)
            FC_NHWC_SCALL(fc_nhwc_slide3_n);
        else if (kW == 3)
            FC_NHWC_SCALL(fc_nhwc_slide3_1);
        else if (whole)
            FC_NHWC_SCALL(fc_nhwc_slide5_n);
        else
            FC_NHWC_SCALL(fc_nhwc_slide5_1);
        c0 += whole ? FC_NHWC_SNV * FC_VL : FC_VL;
    }
    for (; c0 < cv; c0 += FC_NHWC_CB) {
        const int64_t nv = (cv - c0) / FC_VL < FC_NHWC_NV ? (cv - c0) / FC_VL : FC_NHWC_NV;
#define FC_NHWC_CALL(F)                                                                                                \
    F(x, h0, khlo, khhi, xsH, xsW, wt, bias, C, kW, kwlo, kwhi, sW, dH, dW, w0, c0, o, osW, osC, stream)
        if (np == 1) {
            if (nv == 4)
                FC_NHWC_CALL(fc_nhwc_one_4);
            else if (nv == 3)
                FC_NHWC_CALL(fc_nhwc_one_3);
            else if (nv == 2)
                FC_NHWC_CALL(fc_nhwc_one_2);
            else
                FC_NHWC_CALL(fc_nhwc_one_1);
        } else {
            if (nv == 4)
                FC_NHWC_CALL(fc_nhwc_px_4);
            else if (nv == 3)
                FC_NHWC_CALL(fc_nhwc_px_3);
            else if (nv == 2)
                FC_NHWC_CALL(fc_nhwc_px_2);
            else
                FC_NHWC_CALL(fc_nhwc_px_1);
        }
    }
    if (cv == C) return;
    if (C >= FC_VL) {
        /* the channels past the last whole vector: the vector that ends at channel C,
         * overlapping the one before it, whose channels it computes again to the same bits
         * (each lane sums its own channel's taps in the same order) */
        c0 = C - FC_VL;
        if (slide && kW == 3)
            FC_NHWC_SCALL(fc_nhwc_slide3_1);
        else if (slide)
            FC_NHWC_SCALL(fc_nhwc_slide5_1);
        else if (np == 1)
            FC_NHWC_CALL(fc_nhwc_one_1);
        else
            FC_NHWC_CALL(fc_nhwc_px_1);
        return;
    }
    for (int64_t p = 0; p < np; ++p) {
        const int64_t wp0 = (ow0 + p) * sW - pl;
        int64_t lo, hi;
        fc_tap_range(wp0, kW, dW, W, &lo, &hi);
        FC_T acc[FC_NHWC_CB];
        const int64_t n = C - cv;
        for (int64_t c = 0; c < n; ++c) acc[c] = bias ? bias[cv + c] : (FC_T)0;
        for (int64_t kh = khlo; kh < khhi; ++kh) {
            const FC_T *xr = x + (h0 + kh * dH) * xsH + cv;
            for (int64_t kw = lo; kw < hi; ++kw) {
                const FC_T *FC_RESTRICT xq = xr + (wp0 + kw * dW) * xsW;
                const FC_T *FC_RESTRICT wq = wt + (kh * kW + kw) * C + cv;
                for (int64_t c = 0; c < n; ++c) acc[c] += xq[c] * wq[c];
            }
        }
        for (int64_t c = 0; c < n; ++c) o[p * osW + (cv + c) * osC] = acc[c];
    }
#undef FC_NHWC_CALL
#undef FC_NHWC_SCALL
}

/* Prefetch the channels of input pixels [p0, p1) (clipped to the row) of rows [r0, r1):
 * read in place, a row's pixels are first read as vectors strided by whole pixels, which
 * the hardware prefetchers left to arrive at memory latency. */
FC_INLINE void fc_nhwc_prefetch(const FC_T *x, int64_t r0, int64_t r1, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                                int64_t p0, int64_t p1) {
    if (p0 < 0) p0 = 0;
    if (p1 > W) p1 = W;
    if (p0 >= p1) return;
    for (int64_t r = r0; r < r1; ++r) {
        const FC_T *row = x + r * xsH + p0 * xsW;
        if (xsW == C)
            fc_prefetch_bytes(row, (p1 - p0) * C * (int64_t)sizeof(FC_T));
        else
            for (int64_t p = 0; p < p1 - p0; ++p) fc_prefetch_bytes(row + p * xsW, C * (int64_t)sizeof(FC_T));
    }
}

/* Output rows [oh0, oh1) of one image from input rows hoff.. at x (fc_dw_nhwc_rows). */
FC_INLINE void fc_dw_nhwc_band(const FC_T *x, int64_t hoff, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                               const FC_T *wt, const FC_T *bias, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                               int64_t dH, int64_t dW, int64_t pt, int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo,
                               FC_T *out, int64_t osH, int64_t osW, int64_t osC, int stream, int pf) {
    /* interior output columns [lo, hi): w0 >= 0 and w0 + (kW - 1) dW < W */
    int64_t lo = (pl + sW - 1) / sW, hi = W - 1 - (kW - 1) * dW + pl;
    hi = hi < 0 ? 0 : hi / sW + 1;
    if (hi > Wo) hi = Wo;
    if (lo > hi) lo = hi;
    const int slide = sW == 1 && dW == 1 && (kW == 3 || kW == 5);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
        const int64_t h0 = oh * sH - pt;
        int64_t khlo, khhi; /* the taps inside the image; rows from hoff on are at x */
        fc_tap_range(h0, kH, dH, H, &khlo, &khhi);
        FC_T *orow = out + oh * osH;
        /* the input rows [pa, pb) that the next output row reads and this one does not */
        int64_t pa = h0 + (kH - 1) * dH + 1, pb = h0 + sH + (kH - 1) * dH + 1;
        if (pa < h0 + sH) pa = h0 + sH;
        if (pa < 0) pa = 0;
        if (pb > H) pb = H;
        if (!pf) pb = pa;
        /* pixels outer, channel blocks inner: the reads walk each pixel's channels in order */
        int64_t ow = 0;
        while (ow < Wo) {
            const int s = slide && ow >= lo && ow + FC_NHWC_SPX <= hi;
            const int64_t np = s ? FC_NHWC_SPX : (ow >= lo && ow + FC_NHWC_PX <= hi) ? FC_NHWC_PX : 1;
            if (pa < pb)
                fc_nhwc_prefetch(x, pa - hoff, pb - hoff, W, C, xsH, xsW, ow == 0 ? 0 : ow * sW - pl,
                                 ow + np >= Wo ? W : (ow + np) * sW - pl);
            fc_dw_nhwc_pixels(x, h0 - hoff, khlo, khhi, W, C, xsH, xsW, wt, bias, kW, sW, dH, dW, pl, ow, np, s, orow,
                              osW, osC, stream);
            ow += np;
        }
    }
}

/* After streaming stores: they reach memory before anything the caller does. */
FC_INLINE void fc_dw_nhwc_fence(int stream) {
#ifdef FC_STREAM
    if (stream) __builtin_ia32_sfence();
#else
    (void)stream;
#endif
}

/* Output rows [oh0, oh1) of one image.  x: the image's (H, W, C) with row stride xsH and
 * pixel stride xsW (elements; channel stride 1); wt: taps as (kH, kW, C); bias: C or NULL;
 * out: (Ho, Wo, C) with row stride osH, pixel stride osW and channel stride osC (1 for a
 * channels-last result, Ho * Wo for a channels-first one, written channel by channel).  Interior
 * columns (whole window inside in width) go FC_NHWC_SPX pixels at a time through the
 * sliding blocks where they apply, else FC_NHWC_PX at a time; the border ones and the
 * remainder one by one.
 *
 * buf: NULL, or bufrows x W x Cp elements (Cp: C rounded up to whole vectors; bufrows at
 * least the (kH - 1) dH + 1 rows of a window), vector-aligned, for input whose pixels do
 * not start on vector boundaries (NumPy aligns arrays to 16 bytes): every load of a pixel's
 * channels would straddle two cache lines, which cost up to twice the time, so the input
 * rows of a few output rows at a time are first copied there, each pixel aligned.
 * stream: channels-last results stored with streaming stores where aligned (FC_NHWC_PUT).
 * pf: input read in place (no buf) is prefetched a row ahead: the rows the next output row
 * reads first, a group of pixels at a time as this row's groups compute. */
FC_ATTR
static void fc_dw_nhwc_rows(const FC_T *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW, const FC_T *wt,
                            const FC_T *bias, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW,
                            int64_t pt, int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo, FC_T *out, int64_t osH,
                            int64_t osW, int64_t osC, FC_T *buf, int64_t bufrows, int stream, int pf) {
    if (!buf) {
        fc_dw_nhwc_band(x, 0, H, W, C, xsH, xsW, wt, bias, kH, kW, sH, sW, dH, dW, pt, pl, oh0, oh1, Wo, out, osH, osW,
                        osC, stream, pf);
        fc_dw_nhwc_fence(stream);
        return;
    }
    const int64_t Cp = (C + FC_VL - 1) / FC_VL * FC_VL, span = (kH - 1) * dH + 1;
    const int64_t step = (bufrows - span) / sH + 1; /* output rows per copy */
    for (int64_t a = oh0; a < oh1; a += step) {
        const int64_t b = a + step < oh1 ? a + step : oh1;
        int64_t ha = a * sH - pt, hb = (b - 1) * sH - pt + span; /* input rows [ha, hb) */
        ha = ha < 0 ? 0 : ha;
        hb = hb > H ? H : hb;
        for (int64_t h = ha; h < hb; ++h) {
            FC_T *d = buf + (h - ha) * W * Cp;
            if (xsW == C && Cp == C)
                memcpy(d, x + h * xsH, (size_t)(W * C) * sizeof(FC_T));
            else
                for (int64_t w = 0; w < W; ++w) memcpy(d + w * Cp, x + h * xsH + w * xsW, (size_t)C * sizeof(FC_T));
        }
        fc_dw_nhwc_band(buf, ha, H, W, C, W * Cp, Cp, wt, bias, kH, kW, sH, sW, dH, dW, pt, pl, a, b, Wo, out, osH, osW,
                        osC, stream, 0);
    }
    fc_dw_nhwc_fence(stream);
}

#endif /* FASTCONV_DEPTHWISE_NHWC_H */
