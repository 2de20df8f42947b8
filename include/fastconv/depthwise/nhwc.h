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

/* A register block: FC_NHWC_NV vectors of channels (FC_NHWC_CB = 4 x 8 floats or 4 x 4
 * doubles) for each of FC_NHWC_PX output pixels of a row, which share each tap's weight
 * vectors: 8 accumulators, 4 weight vectors and one input vector fit the 16 registers of
 * AVX2. */
#define FC_NHWC_NV 4
#define FC_NHWC_CB (FC_NHWC_NV * FC_VL)
#define FC_NHWC_PX 2

FC_INLINE FC_V fc_nhwc_load(const FC_T *p) {
    FC_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Sums of channels [c0, c0 + n) of output pixels ow0 .. ow0 + np - 1 of one row (np <=
 * FC_NHWC_PX, n <= FC_NHWC_CB).  The full block (np = FC_NHWC_PX, n = FC_NHWC_CB) needs
 * every pixel's window inside the input in width; the others take each pixel's own tap
 * range. */
FC_INLINE void fc_dw_nhwc_block(const FC_T *x, int64_t h0, int64_t khlo, int64_t khhi, int64_t W, int64_t C,
                                int64_t xsH, int64_t xsW, const FC_T *wt, const FC_T *bias, int64_t kW, int64_t sW,
                                int64_t dH, int64_t dW, int64_t pl, int64_t ow0, int64_t np, int64_t c0, int64_t n,
                                FC_T *out, int64_t osW, int64_t osC) {
    if (np == FC_NHWC_PX && n == FC_NHWC_CB) {
        FC_V acc[FC_NHWC_PX][FC_NHWC_NV];
        for (int v = 0; v < FC_NHWC_NV; ++v) {
            const FC_V b = bias ? fc_nhwc_load(bias + c0 + v * FC_VL) : (FC_V){0};
            for (int p = 0; p < FC_NHWC_PX; ++p) acc[p][v] = b;
        }
        const int64_t w0 = ow0 * sW - pl;
        for (int64_t kh = khlo; kh < khhi; ++kh) {
            const FC_T *xr = x + (h0 + kh * dH) * xsH + c0;
            for (int64_t kw = 0; kw < kW; ++kw) {
                const FC_T *wp = wt + (kh * kW + kw) * C + c0;
                FC_V wv[FC_NHWC_NV];
                for (int v = 0; v < FC_NHWC_NV; ++v) wv[v] = fc_nhwc_load(wp + v * FC_VL);
                const FC_T *xp = xr + (w0 + kw * dW) * xsW;
                for (int p = 0; p < FC_NHWC_PX; ++p)
                    for (int v = 0; v < FC_NHWC_NV; ++v)
                        acc[p][v] += fc_nhwc_load(xp + p * sW * xsW + v * FC_VL) * wv[v];
            }
        }
        for (int p = 0; p < FC_NHWC_PX; ++p) {
            FC_T *o = out + (ow0 + p) * osW + c0 * osC;
            if (osC == 1) {
                memcpy(o, acc[p], sizeof acc[p]);
            } else { /* a channels-first result: one store per channel plane */
                FC_T lanes[FC_NHWC_CB];
                memcpy(lanes, acc[p], sizeof lanes);
                for (int c = 0; c < FC_NHWC_CB; ++c) o[c * osC] = lanes[c];
            }
        }
        return;
    }
    FC_T acc[FC_NHWC_CB];
    for (int64_t p = 0; p < np; ++p) {
        const int64_t w0 = (ow0 + p) * sW - pl;
        int64_t kwlo, kwhi;
        fc_tap_range(w0, kW, dW, W, &kwlo, &kwhi);
        for (int64_t c = 0; c < n; ++c) acc[c] = bias ? bias[c0 + c] : (FC_T)0;
        for (int64_t kh = khlo; kh < khhi; ++kh) {
            const FC_T *xr = x + (h0 + kh * dH) * xsH + c0;
            for (int64_t kw = kwlo; kw < kwhi; ++kw) {
                const FC_T *FC_RESTRICT xq = xr + (w0 + kw * dW) * xsW;
                const FC_T *FC_RESTRICT wp = wt + (kh * kW + kw) * C + c0;
                for (int64_t c = 0; c < n; ++c) acc[c] += xq[c] * wp[c];
            }
        }
        for (int64_t c = 0; c < n; ++c) out[(ow0 + p) * osW + (c0 + c) * osC] = acc[c];
    }
}

/* Output rows [oh0, oh1) of one image.  x: the image's (H, W, C) with row stride xsH and
 * pixel stride xsW (elements; channel stride 1); wt: taps as (kH, kW, C); bias: C or NULL;
 * out: (Ho, Wo, C) with row stride osH, pixel stride osW and channel stride osC (1 for a
 * channels-last result, Ho * Wo for a channels-first one, written channel by channel).  Interior
 * columns (whole window inside in width) go FC_NHWC_PX pixels at a time, the border ones
 * and the remainder one by one. */
FC_MULTIVERSION
static void fc_dw_nhwc_rows(const FC_T *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW, const FC_T *wt,
                            const FC_T *bias, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW,
                            int64_t pt, int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo, FC_T *out, int64_t osH,
                            int64_t osW, int64_t osC) {
    /* interior output columns [lo, hi): w0 >= 0 and w0 + (kW - 1) dW < W */
    int64_t lo = (pl + sW - 1) / sW, hi = W - 1 - (kW - 1) * dW + pl;
    hi = hi < 0 ? 0 : hi / sW + 1;
    if (hi > Wo) hi = Wo;
    if (lo > hi) lo = hi;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
        const int64_t h0 = oh * sH - pt;
        int64_t khlo, khhi;
        fc_tap_range(h0, kH, dH, H, &khlo, &khhi);
        FC_T *orow = out + oh * osH;
        /* pixels outer, channel blocks inner: the reads walk each pixel's channels in order */
        int64_t ow = 0;
        while (ow < Wo) {
            const int64_t np = (ow >= lo && ow + FC_NHWC_PX <= hi) ? FC_NHWC_PX : 1;
            for (int64_t c0 = 0; c0 < C; c0 += FC_NHWC_CB) {
                const int64_t n = C - c0 < FC_NHWC_CB ? C - c0 : FC_NHWC_CB;
                fc_dw_nhwc_block(x, h0, khlo, khhi, W, C, xsH, xsW, wt, bias, kW, sW, dH, dW, pl, ow, np, c0, n, orow,
                                 osW, osC);
            }
            ow += np;
        }
    }
}

#endif /* FASTCONV_DEPTHWISE_NHWC_H */
