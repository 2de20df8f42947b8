/*
 * fastconv/pool/nhwc.h - max and average pooling of channels-last (NHWC) data.
 *
 * The channels are contiguous: every window tap is a run of C values, reduced across the
 * channels in blocks of FC_PNHWC_CB lanes (plain loops over the block, which the compiler
 * vectorises), with no transpose of the data.  PyTorch's rules, as pool/rows.h: the max
 * takes a value when it is greater or NaN (first maximum on ties, the last NaN), its index
 * starts at the window's first tap inside the input, and taps in the padding are skipped;
 * the average divides by divisor_override, or by the window clipped to the padded input
 * (count_include_pad) or to the input.
 *
 * No checking is done here: the driver (_pool.pyx) passes valid pointers and a geometry
 * that fastconv._args validated (every window holds at least one input element).
 */
#ifndef FASTCONV_POOL_NHWC_H
#define FASTCONV_POOL_NHWC_H

#include <math.h>
#include <stdint.h>
#include "fastconv/pool/geom.h"

/* Channels reduced together: 64 floats or doubles (a few vectors' worth of accumulators
 * and, for the max, of winning taps). */
#define FC_PNHWC_CB 64

/* Output rows [oh0, oh1) of one image.  x: the image's (H, W, C) with row stride xsH and
 * pixel stride xsW (elements; channel stride 1).  out and idx (NULL: no indices; max only)
 * share the element strides osH, osW, osC (osC = 1: a channels-last result; Ho * Wo: a
 * channels-first one).  op 0: max, 1: average. */
FC_MULTIVERSION
static void fc_pool_nhwc_rows(int op, const FC_T *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                              int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t pt,
                              int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo, FC_T *out, int64_t *idx, int64_t osH,
                              int64_t osW, int64_t osC, int count_include_pad, int64_t divisor_override) {
    FC_T acc[FC_PNHWC_CB], tap[FC_PNHWC_CB];
    for (int64_t oh = oh0; oh < oh1; ++oh) {
        const int64_t h0 = oh * sH - pt;
        int64_t khlo, khhi;
        fc_tap_range(h0, kH, dH, H, &khlo, &khhi);
        for (int64_t ow = 0; ow < Wo; ++ow) {
            const int64_t w0 = ow * sW - pl;
            int64_t kwlo, kwhi;
            fc_tap_range(w0, kW, dW, W, &kwlo, &kwhi);
            /* the average's divisor, as PyTorch computes it (a sum divided, not scaled) */
            FC_T divisor = 1;
            if (op == 1) {
                if (divisor_override != 0) {
                    divisor = (FC_T)divisor_override;
                } else if (count_include_pad) { /* the window clipped to the padded input */
                    const int64_t he = h0 + kH < H + pt ? h0 + kH : H + pt, we = w0 + kW < W + pl ? w0 + kW : W + pl;
                    divisor = (FC_T)((he - h0) * (we - w0));
                } else {
                    divisor = (FC_T)((khhi - khlo) * (kwhi - kwlo));
                }
            }
            const int64_t first = khlo * kW + kwlo;
            FC_T *o = out + oh * osH + ow * osW;
            int64_t *oi = idx ? idx + oh * osH + ow * osW : NULL;
            for (int64_t c0 = 0; c0 < C; c0 += FC_PNHWC_CB) {
                const int64_t n = C - c0 < FC_PNHWC_CB ? C - c0 : FC_PNHWC_CB;
                if (op == 0) {
                    for (int64_t c = 0; c < n; ++c) {
                        acc[c] = -INFINITY;
                        tap[c] = (FC_T)first;
                    }
                } else {
                    for (int64_t c = 0; c < n; ++c) acc[c] = 0;
                }
                for (int64_t kh = khlo; kh < khhi; ++kh) {
                    const FC_T *xr = x + (h0 + kh * dH) * xsH + c0;
                    for (int64_t kw = kwlo; kw < kwhi; ++kw) {
                        const FC_T *FC_RESTRICT xq = xr + (w0 + kw * dW) * xsW;
                        if (op == 0) {
                            const FC_T t = (FC_T)(kh * kW + kw);
                            for (int64_t c = 0; c < n; ++c) {
                                const FC_T v = xq[c];
                                const int take = (v > acc[c]) | (v != v);
                                acc[c] = take ? v : acc[c];
                                tap[c] = take ? t : tap[c];
                            }
                        } else {
                            for (int64_t c = 0; c < n; ++c) acc[c] += xq[c];
                        }
                    }
                }
                if (op == 1)
                    for (int64_t c = 0; c < n; ++c) acc[c] /= divisor;
                if (osC == 1) {
                    for (int64_t c = 0; c < n; ++c) o[c0 + c] = acc[c];
                } else {
                    for (int64_t c = 0; c < n; ++c) o[(c0 + c) * osC] = acc[c];
                }
                if (oi) {
                    for (int64_t c = 0; c < n; ++c) {
                        const int64_t t = (int64_t)tap[c], kh = t / kW, kw = t - kh * kW;
                        oi[(c0 + c) * osC] = (h0 + kh * dH) * W + (w0 + kw * dW);
                    }
                }
            }
        }
    }
}

#endif /* FASTCONV_POOL_NHWC_H */
