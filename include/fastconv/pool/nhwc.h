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

/* Channels reduced together (64 floats or doubles: a few vectors' worth of accumulators
 * and, for the max, of winning taps), for FC_PNHWC_PX output pixels of a row at a time, so
 * that a channels-first result is written FC_PNHWC_PX contiguous values per channel. */
#define FC_PNHWC_CB 64
#define FC_PNHWC_PX 8

/* Output rows [oh0, oh1) of one image.  x: the image's (H, W, C) with row stride xsH and
 * pixel stride xsW (elements; channel stride 1).  out and idx (NULL: no indices; max only)
 * share the element strides osH, osW, osC (osC = 1: a channels-last result; Ho * Wo: a
 * channels-first one).  op 0: max, 1: average. */
FC_MULTIVERSION
static void fc_pool_nhwc_rows(int op, const FC_T *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                              int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t pt,
                              int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo, FC_T *out, int64_t *idx, int64_t osH,
                              int64_t osW, int64_t osC, int count_include_pad, int64_t divisor_override) {
    FC_T acc[FC_PNHWC_PX][FC_PNHWC_CB], tap[FC_PNHWC_PX][FC_PNHWC_CB];
    int64_t w0[FC_PNHWC_PX], kwlo[FC_PNHWC_PX], kwhi[FC_PNHWC_PX];
    FC_T divisor[FC_PNHWC_PX];
    for (int64_t oh = oh0; oh < oh1; ++oh) {
        const int64_t h0 = oh * sH - pt;
        int64_t khlo, khhi;
        fc_tap_range(h0, kH, dH, H, &khlo, &khhi);
        for (int64_t ow0 = 0; ow0 < Wo; ow0 += FC_PNHWC_PX) {
            const int64_t np = Wo - ow0 < FC_PNHWC_PX ? Wo - ow0 : FC_PNHWC_PX;
            for (int64_t j = 0; j < np; ++j) {
                w0[j] = (ow0 + j) * sW - pl;
                fc_tap_range(w0[j], kW, dW, W, &kwlo[j], &kwhi[j]);
                /* the average's divisor, as PyTorch computes it (a sum divided, not scaled) */
                divisor[j] = 1;
                if (op == 1) {
                    if (divisor_override != 0) {
                        divisor[j] = (FC_T)divisor_override;
                    } else if (count_include_pad) { /* the window clipped to the padded input */
                        const int64_t he = h0 + kH < H + pt ? h0 + kH : H + pt;
                        const int64_t we = w0[j] + kW < W + pl ? w0[j] + kW : W + pl;
                        divisor[j] = (FC_T)((he - h0) * (we - w0[j]));
                    } else {
                        divisor[j] = (FC_T)((khhi - khlo) * (kwhi[j] - kwlo[j]));
                    }
                }
            }
            FC_T *o = out + oh * osH + ow0 * osW;
            int64_t *oi = idx ? idx + oh * osH + ow0 * osW : NULL;
            for (int64_t c0 = 0; c0 < C; c0 += FC_PNHWC_CB) {
                const int64_t n = C - c0 < FC_PNHWC_CB ? C - c0 : FC_PNHWC_CB;
                for (int64_t j = 0; j < np; ++j) {
                    FC_T *a = acc[j], *t = tap[j];
                    int64_t cv = 0; /* channels [0, cv) done by vectors */
                    if (oi == NULL) {
                        /* values only: VL channels at a time held in a register across the
                         * window's taps (the loop below keeps every channel's running value
                         * and tap in memory, a load and a store per tap) */
                        for (; cv + FC_VL <= n; cv += FC_VL) {
                            FC_V av = (FC_V){0} + (op == 0 ? -(FC_T)INFINITY : (FC_T)0), v;
                            for (int64_t kh = khlo; kh < khhi; ++kh) {
                                const FC_T *xr = x + (h0 + kh * dH) * xsH + c0 + cv;
                                for (int64_t kw = kwlo[j]; kw < kwhi[j]; ++kw) {
                                    memcpy(&v, xr + (w0[j] + kw * dW) * xsW, sizeof v);
                                    if (op == 0) { /* greater, or NaN: as below */
                                        const fc_sel g = (v > av) | (v != v);
                                        av = (FC_V)((g & (fc_sel)v) | (~g & (fc_sel)av));
                                    } else {
                                        av += v;
                                    }
                                }
                            }
                            if (op == 1) av /= (FC_V){0} + divisor[j];
                            memcpy(a + cv, &av, sizeof av);
                        }
                    }
                    if (op == 0) {
                        const FC_T first = (FC_T)(khlo * kW + kwlo[j]);
                        for (int64_t c = cv; c < n; ++c) {
                            a[c] = -INFINITY;
                            t[c] = first;
                        }
                    } else {
                        for (int64_t c = cv; c < n; ++c) a[c] = 0;
                    }
                    for (int64_t kh = khlo; kh < khhi && cv < n; ++kh) {
                        const FC_T *xr = x + (h0 + kh * dH) * xsH + c0;
                        for (int64_t kw = kwlo[j]; kw < kwhi[j]; ++kw) {
                            const FC_T *FC_RESTRICT xq = xr + (w0[j] + kw * dW) * xsW;
                            if (op == 0) {
                                const FC_T tk = (FC_T)(kh * kW + kw);
                                for (int64_t c = cv; c < n; ++c) {
                                    const FC_T v = xq[c];
                                    const int take = (v > a[c]) | (v != v);
                                    a[c] = take ? v : a[c];
                                    t[c] = take ? tk : t[c];
                                }
                            } else {
                                for (int64_t c = cv; c < n; ++c) a[c] += xq[c];
                            }
                        }
                    }
                    if (op == 1)
                        for (int64_t c = cv; c < n; ++c) a[c] /= divisor[j];
                }
                if (osC == 1) { /* channels-last: each pixel's channels in a row */
                    for (int64_t j = 0; j < np; ++j)
                        for (int64_t c = 0; c < n; ++c) o[j * osW + c0 + c] = acc[j][c];
                } else { /* channels-first: np values of a row per channel */
                    for (int64_t c = 0; c < n; ++c)
                        for (int64_t j = 0; j < np; ++j) o[(c0 + c) * osC + j * osW] = acc[j][c];
                }
                if (oi) {
                    for (int64_t c = 0; c < n; ++c)
                        for (int64_t j = 0; j < np; ++j) {
                            const int64_t tk = (int64_t)tap[j][c], kh = tk / kW, kw = tk - kh * kW;
                            oi[(c0 + c) * osC + j * osW] = (h0 + kh * dH) * W + (w0[j] + kw * dW);
                        }
                }
            }
        }
    }
}

#endif /* FASTCONV_POOL_NHWC_H */
