/*
 * fastconv/direct/wgrad.h - the weight gradient of a convolution with several input
 * channels per group, as register tiles of (output channels x input channels) per tap.
 *
 *     gw[o, c, p, q] = sum over images and output pixels (i, j) of
 *                      g[o, i, j] * xpad[c, i sH + p dH, j sW + q dW]
 *
 * One work item is a band of output rows [i0, i1) of one image and one group.  Its input
 * rows are packed channels-last (pixel by pixel, the group's channels contiguous, padded
 * with zeros to Cp), the padding made explicit from the layer's padding maps; its
 * output-gradient rows pixel by pixel with the output channels contiguous (padded to Op).
 * A tile then holds FC_WG_MR channels of one side x up to FC_WG_NV vectors of channels of
 * the other in registers and runs along an output row: per pixel FC_WG_NV vector loads,
 * FC_WG_MR broadcasts and FC_WG_MR x FC_WG_NV fused multiply-adds.  The input channels
 * go across the lanes, or the output channels where that fills more of them (LeNet's
 * 6 -> 16: one vector of 16 outputs against 6 broadcast inputs).  Every row's tile sums
 * go into the band's FC_T accumulators, and the band's into the caller's double sums.
 * The padded lanes (input channels past Cg, output channels past the group's) are
 * computed and never read.
 *
 * No checking is done here: the driver (_direct.pyx) sizes the buffers and passes valid
 * padding maps.
 */
#ifndef FASTCONV_DIRECT_WGRAD_H
#define FASTCONV_DIRECT_WGRAD_H

#include <stdint.h>
#include <string.h>
#include "fastconv/simd.h"
#include "fastconv/tuning.h"

#if defined(FC_VARIANT_F64) || defined(FC_VARIANT_D64)
#define FC_WG_MR FC_WG_MR_V4
#define FC_WG_NV FC_WG_NV_V4
#define FC_WG_MR8 1 /* tiles of 8 rows too, FC_WG_MR8_NV_V4 vectors wide */
#else
#define FC_WG_MR FC_WG_MR_32
#define FC_WG_NV FC_WG_NV_32
#define FC_WG_MR8 0
#endif

FC_INLINE FC_V fc_wg_load(const FC_T *p) {
    FC_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

FC_INLINE void fc_wg_store(FC_T *p, FC_V v) { memcpy(p, &v, sizeof v); }

/* acc[m lda + v FC_VL + lane] += sum over pixels j < n of bp[j bstep + m]
 * vp[j vstep + v FC_VL + lane], for m < MR and v < nv
 * (compile-time constants at each call): bp is the operand broadcast from memory, vp the
 * one loaded as vectors. */
FC_INLINE void fc_wg_tile(const FC_T *bp, int64_t bstep, const FC_T *vp, int64_t vstep, int64_t n, const int MR,
                          const int nv, FC_T *acc, int64_t lda) {
    FC_V a[8][FC_WG_NV];
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < nv; ++v) a[m][v] = (FC_V){0};
    for (int64_t j = 0; j < n; ++j) {
        FC_V xv[FC_WG_NV];
        for (int v = 0; v < nv; ++v) xv[v] = fc_wg_load(vp + j * vstep + v * FC_VL);
        for (int m = 0; m < MR; ++m) {
            const FC_T b = bp[j * bstep + m]; /* vector x scalar: one broadcast from memory */
            for (int v = 0; v < nv; ++v) a[m][v] += xv[v] * b;
        }
    }
    for (int m = 0; m < MR; ++m)
        for (int v = 0; v < nv; ++v) {
            FC_T *p = acc + m * lda + v * FC_VL;
            fc_wg_store(p, fc_wg_load(p) + a[m][v]);
        }
}

/* dst[k * ld + c] = src[c * ss + k] for c < nc, k < nk: planes' rows made pixel by pixel
 * (channels-last), VL x VL blocks transposed in registers (element by element, the
 * strided stores took a good part of C6's gradient) and the rest one at a time. */
FC_INLINE void fc_wg_transpose(const FC_T *FC_RESTRICT src, int64_t ss, int64_t nc, int64_t nk, FC_T *FC_RESTRICT dst,
                               int64_t ld) {
    int64_t c = 0;
    for (; c + FC_VL <= nc; c += FC_VL) {
        int64_t k = 0;
        for (; k + FC_VL <= nk; k += FC_VL) {
            FC_V t[FC_VL];
#pragma GCC unroll 16
            for (int l = 0; l < FC_VL; ++l) t[l] = fc_wg_load(src + (c + l) * ss + k);
            fc_zipn(t, FC_VL);
#pragma GCC unroll 16
            for (int l = 0; l < FC_VL; ++l) fc_wg_store(dst + (k + l) * ld + c, t[l]);
        }
        for (; k < nk; ++k)
            for (int64_t l = 0; l < FC_VL; ++l) dst[k * ld + c + l] = src[(c + l) * ss + k];
    }
    for (; c < nc; ++c)
        for (int64_t k = 0; k < nk; ++k) dst[k * ld + c] = src[c * ss + k];
}

/* The tiles of one output row and tap: rows of nb (a multiple of mr, FC_WG_MR or 8)
 * broadcast elements times columns of ncol (a multiple of FC_VL) vector elements. */
FC_INLINE void fc_wg_row(const FC_T *bp, int64_t bstep, int64_t nb, const FC_T *vp, int64_t vstep, int64_t ncol,
                         int64_t n, int mr, FC_T *acc) {
    const int nvmax = FC_WG_MR8 && mr == 8 ? FC_WG_MR8_NV_V4 : FC_WG_NV;
    for (int64_t m0 = 0; m0 < nb; m0 += mr)
        for (int64_t v0 = 0; v0 < ncol; v0 += nvmax * FC_VL) {
            const int64_t left = (ncol - v0) / FC_VL;
            const int nv = (int)(left < nvmax ? left : nvmax);
            FC_T *a = acc + m0 * ncol + v0;
            const FC_T *b = bp + m0, *v = vp + v0;
#if FC_WG_MR8
            if (mr == 8) {
                switch (nv) {
                case 3: fc_wg_tile(b, bstep, v, vstep, n, 8, 3, a, ncol); break;
                case 2: fc_wg_tile(b, bstep, v, vstep, n, 8, 2, a, ncol); break;
                default: fc_wg_tile(b, bstep, v, vstep, n, 8, 1, a, ncol); break;
                }
                continue;
            }
#endif
            switch (nv) { /* constant vector counts: the tile stays in registers */
#if FC_WG_NV >= 4
            case 4: fc_wg_tile(b, bstep, v, vstep, n, FC_WG_MR, 4, a, ncol); break;
            case 3: fc_wg_tile(b, bstep, v, vstep, n, FC_WG_MR, 3, a, ncol); break;
#endif
            case 2: fc_wg_tile(b, bstep, v, vstep, n, FC_WG_MR, 2, a, ncol); break;
            default: fc_wg_tile(b, bstep, v, vstep, n, FC_WG_MR, 1, a, ncol); break;
            }
        }
}

/* Add the gradient of output rows [i0, i1) of one image and one group into tot (double).
 * x: the group's Cg input planes (plane stride xsC, row stride xsH, column stride 1);
 * rowsrc[r] / colsrc[c]: the source row / column of padded row r / column c (-1: the zero
 * fill), for every padded row and the Wp padded columns the taps read, padded columns
 * [c0, c1) copying columns c - pl; g: the group's og output-gradient planes (Ho x Wo each,
 * contiguous).  vec_out = 0: the input channels across the vector lanes (Cp a multiple of
 * FC_VL, Op of mr; tot laid out [tap][Op][Cp]); 1: the output channels (Op a multiple of
 * FC_VL, Cp of mr; tot [tap][Cp][Op]), for groups with fewer input than output channels.
 * mr: the tiles' rows, FC_WG_MR or (64-byte variants) 8.  xb, gb, acc: the item's buffers, zeroed before the first item (the
 * padded channels are never written); nx / ng: the group's planes of the next item, whose
 * output rows are [ni0, ni1), or NULL. */
FC_ATTR
static void fc_wgrad_rows(int vec_out, int mr, const FC_T *x, int64_t xsC, int64_t xsH, const int64_t *rowsrc,
                          const int64_t *colsrc, int64_t c0, int64_t c1, int64_t pl, int64_t Wp, int64_t Cg, int64_t Cp,
                          const FC_T *g, int64_t og, int64_t Op, int64_t Ho, int64_t Wo, int64_t kH, int64_t kW,
                          int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t i0, int64_t i1, FC_T *xb, FC_T *gb,
                          FC_T *acc, double *tot, const FC_T *nx, const FC_T *ng, int64_t ni0, int64_t ni1) {
    const int64_t r0 = i0 * sH, nr = (i1 - 1 - i0) * sH + (kH - 1) * dH + 1, taps = kH * kW;
    /* the next item's source rows [plo, phi], to prefetch channel by channel while this
     * item's tiles run (its first reads would otherwise wait on memory) */
    int64_t plo = INT64_MAX, phi = -1;
    if (nx)
        for (int64_t r = ni0 * sH; r < (ni1 - 1) * sH + (kH - 1) * dH + 1; ++r)
            if (rowsrc[r] >= 0) {
                plo = rowsrc[r] < plo ? rowsrc[r] : plo;
                phi = rowsrc[r] > phi ? rowsrc[r] : phi;
            }
    const int64_t npf = phi >= plo ? Cg + og : 0, steps = (i1 - i0) * kH;
    int64_t pf = 0, step = 0;
    /* input rows r0 .. r0 + nr - 1, channels-last */
    for (int64_t r = 0; r < nr; ++r) {
        FC_T *d = xb + r * Wp * Cp;
        const int64_t sr = rowsrc[r0 + r];
        if (sr < 0) { /* (the padded channels are zero too) */
            memset(d, 0, (size_t)(Wp * Cp) * sizeof(FC_T));
            continue;
        }
        const FC_T *src = x + sr * xsH;
        if (c1 > c0) fc_wg_transpose(src - pl + c0, xsC, Cg, c1 - c0, d + c0 * Cp, Cp);
        for (int64_t c = 0; c < Cg; ++c) {
            FC_T *FC_RESTRICT dc = d + c;
            const FC_T *FC_RESTRICT sc = src + c * xsC;
            for (int64_t k = 0; k < c0; ++k) dc[k * Cp] = colsrc[k] < 0 ? (FC_T)0 : sc[colsrc[k]];
            for (int64_t k = c1 > c0 ? c1 : c0; k < Wp; ++k) dc[k * Cp] = colsrc[k] < 0 ? (FC_T)0 : sc[colsrc[k]];
        }
    }
    /* output-gradient rows i0 .. i1 - 1, pixel by pixel */
    fc_wg_transpose(g + i0 * Wo, Ho * Wo, og, (i1 - i0) * Wo, gb, Op);
    memset(acc, 0, (size_t)(taps * Op * Cp) * sizeof(FC_T));
    for (int64_t i = i0; i < i1; ++i) {
        const FC_T *grow = gb + (i - i0) * Wo * Op;
        for (int64_t p = 0; p < kH; ++p) {
            for (const int64_t until = npf * ++step / steps; pf < until; ++pf) {
                if (pf < Cg)
                    fc_prefetch_bytes(nx + pf * xsC + plo * xsH, ((phi - plo) * xsH + Wp) * (int64_t)sizeof(FC_T));
                else
                    fc_prefetch_bytes(ng + (pf - Cg) * Ho * Wo + ni0 * Wo, (ni1 - ni0) * Wo * (int64_t)sizeof(FC_T));
            }
            const FC_T *xrow = xb + ((i - i0) * sH + p * dH) * Wp * Cp;
            for (int64_t q = 0; q < kW; ++q) {
                const FC_T *xq = xrow + q * dW * Cp;
                FC_T *at = acc + (p * kW + q) * Op * Cp;
                if (vec_out)
                    fc_wg_row(xq, sW * Cp, Cp, grow, Op, Op, Wo, mr, at);
                else
                    fc_wg_row(grow, Op, Op, xq, sW * Cp, Cp, Wo, mr, at);
            }
        }
    }
    for (int64_t k = 0; k < taps * Op * Cp; ++k) tot[k] += (double)acc[k];
}

#endif /* FASTCONV_DIRECT_WGRAD_H */
