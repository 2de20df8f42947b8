/*
 * fastconv/depthwise/plane.h - small planes, VL channels at a time (FC_KIND_DW_PLANE): one
 * input channel per output channel, any stride, dilation, padding mode and weights.  Part of
 * a variant (fastconv/variants.h); no checking is done here.
 *
 * The row kernels pay per row and per plane for their geometry: a 7x7 plane is seven
 * partial vectors per tap and an edge buffer per row (MobileNetV2's 960-channel 3x3 on 7x7
 * took 0.19 us a plane, 0.3x PyTorch with channels_last data).  Here VL planes go together
 * with the channels across the vector lanes, as channels-last kernels have them:
 *   1. an input row of the planes is transposed in registers, VL pixels of VL planes at a
 *      time (fc_zipn), into T[column][lane], with one more pixel that is the fill;
 *   2. each row of the padded plane P[padded row][padded column][lane] is copied from T by
 *      the padding maps, so that every tap reads a real padded value (NaN and inf follow
 *      the exact path's products, weights included); with zero padding the squares go
 *      straight into P's interior and the fill around it (no T), and a small contiguous
 *      plane goes in one pass of squares across its rows;
 *   3. each output pixel is the bias plus its taps' products in row-major order, a weight
 *      vector times a vector of P per tap, eight pixels of a row at a time and the rest of
 *      the row together (one chain a pixel would wait on the FMA latency);
 *   4. the outputs O[pixel][lane] are transposed back into the VL output planes.
 * A padded plane of more than FC_DW_PLANE_BAND_BYTES (MobileNetV2's stride-2 112 x 112:
 * 400 kB at VL = 8, which with its input outgrew the second-level cache between steps 2 and
 * 3) goes a band of output rows at a time: steps 1-2 for the band's padded rows, row by
 * row (the rows below the band that it shares with the next one are made again), then 3-4
 * for its output rows.
 */
#ifndef FASTCONV_DEPTHWISE_PLANE_H
#define FASTCONV_DEPTHWISE_PLANE_H

#include "fastconv/depthwise/plane_size.h"

FC_INLINE FC_V fc_plane_load(const FC_T *p) {
    FC_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* JP output pixels from column j of output row i (pointer prow: the row's first padded row
 * in P; orow: its first output in O): the bias plus the taps; pixels SW_ columns apart. */
#define FC_DW_PLANE_PIXELS(JP, SW_)                                                                                    \
    do {                                                                                                               \
        FC_V acc_[JP];                                                                                                 \
        _Pragma("GCC unroll 8") for (int u = 0; u < JP; ++u) acc_[u] = bv;                                             \
        for (int64_t t = 0; t < taps; ++t) {                                                                           \
            const FC_T *p_ = prow + j * (SW_) * FC_VL + toff[t];                                                       \
            _Pragma("GCC unroll 8") for (int u = 0; u < JP; ++u) acc_[u] +=                                            \
                wv[t] * fc_plane_load(p_ + u * (SW_) * FC_VL);                                                         \
        }                                                                                                              \
        memcpy(orow + j * FC_VL, acc_, sizeof acc_);                                                                   \
    } while (0)

/* The nrow output rows of step 3 (P: their first padded row) at column stride SW_ (a
 * constant for strides 1 and 2: the pixels' loads then take constant offsets instead of a
 * chain of address additions). */
#define FC_DW_PLANE_ROWS(SW_)                                                                                            \
    for (int64_t i = 0; i < nrow; ++i) {                                                                                 \
        const FC_T *prow = P + i * sH * Wp * FC_VL;                                                                      \
        FC_T *orow = O + i * Wo * FC_VL;                                                                                 \
        int64_t j = 0;                                                                                                   \
        for (; j + 8 <= Wo; j += 8) FC_DW_PLANE_PIXELS(8, SW_);                                                          \
        /* the rest of the row together: one pixel at a time, each a chain of taps, was a                              \
         * fifth of the time on 7-wide rows */ \
        switch (Wo - j) {                                                                                                \
        case 7: FC_DW_PLANE_PIXELS(7, SW_); break;                                                                       \
        case 6: FC_DW_PLANE_PIXELS(6, SW_); break;                                                                       \
        case 5: FC_DW_PLANE_PIXELS(5, SW_); break;                                                                       \
        case 4: FC_DW_PLANE_PIXELS(4, SW_); break;                                                                       \
        case 3: FC_DW_PLANE_PIXELS(3, SW_); break;                                                                       \
        case 2: FC_DW_PLANE_PIXELS(2, SW_); break;                                                                       \
        case 1: FC_DW_PLANE_PIXELS(1, SW_); break;                                                                       \
        default: break;                                                                                                  \
        }                                                                                                                \
    }

/* t[k] = pixel p0 + k of the contiguous planes xp[l], l < nval, across the lanes (0 in the
 * lanes past nval): a VL x VL square transposed in registers. */
FC_INLINE void fc_plane_square(const FC_T *const *xp, int64_t p0, int64_t nval, FC_V *t) {
    if (nval == FC_VL) { /* the common case without a test per load, which kept t in memory */
#pragma GCC unroll 16
        for (int l = 0; l < FC_VL; ++l) {
            t[l] = fc_plane_load(xp[l] + p0);
            /* the same planes 8 lines on: VL streams of short steps, which the hardware
             * prefetchers follow too late */
            __builtin_prefetch((const char *)(xp[l] + p0) + 512, 0, 1);
        }
    } else {
#pragma GCC unroll 16
        for (int l = 0; l < FC_VL; ++l) t[l] = l < nval ? fc_plane_load(xp[l] + p0) : (FC_V){0};
    }
    fc_zipn(t, FC_VL);
}

/* d[c * VL + l] = element off + c of plane xp[l], c < n, l < nval; 0 in the lanes past nval:
 * squares of VL pixels, the last one overlapping the one before it where n is not a
 * multiple of VL (the same values written twice, not a scalar tail). */
FC_INLINE void fc_plane_row(const FC_T *const *xp, int64_t off, int64_t n, int64_t nval, FC_T *d) {
    if (n < FC_VL) {
        for (int64_t c = 0; c < n; ++c)
            for (int64_t l = 0; l < FC_VL; ++l) d[c * FC_VL + l] = l < nval ? xp[l][off + c] : (FC_T)0;
        return;
    }
    for (int64_t c0 = 0;;) {
        FC_V t[FC_VL];
        fc_plane_square(xp, off + c0, nval, t);
#pragma GCC unroll 16
        for (int k = 0; k < FC_VL; ++k) memcpy(d + (c0 + k) * FC_VL, &t[k], sizeof(FC_V));
        if (c0 + FC_VL >= n) break;
        c0 = c0 + 2 * FC_VL <= n ? c0 + FC_VL : n - FC_VL;
    }
}

/* Steps 1-2 for padded rows r0 .. r0 + nr - 1 into P (row r0 first), one row at a time:
 * input row rowmap[r] transposed straight into the row's interior (zero padding, unit
 * column stride) or into Trow (W + 1 pixels, the last the fill) and copied by colmap. */
FC_INLINE void fc_dw_planes_rows(const FC_T *const *xp, int64_t xsH, int64_t xsW, const fc_conv_geom *g,
                                 const int64_t *rowmap, const int64_t *colmap, FC_V fv, int64_t nval, int lanes_in,
                                 int64_t r0, int64_t nr, int64_t Wp, FC_T *P, FC_T *Trow) {
    const int64_t W = g->W, pl = g->pl;
    for (int64_t r = r0; r < r0 + nr; ++r) {
        const int64_t rm = rowmap[r];
        FC_T *d = P + (r - r0) * Wp * FC_VL;
        if (rm < 0) {
            for (int64_t c = 0; c < Wp; ++c) memcpy(d + c * FC_VL, &fv, sizeof fv);
        } else if (lanes_in) {
            for (int64_t c = 0; c < Wp; ++c) {
                const int64_t cm = colmap[c];
                FC_V v = fv;
                if (cm >= 0) {
                    const FC_T *src = xp[0] + rm * xsH + cm * xsW;
                    if (nval == FC_VL) {
                        memcpy(&v, src, sizeof v);
                    } else {
                        v = (FC_V){0};
                        memcpy(&v, src, (size_t)nval * sizeof(FC_T));
                    }
                }
                memcpy(d + c * FC_VL, &v, sizeof v);
            }
        } else if (g->mode == FC_PAD_ZEROS && xsW == 1) {
            const int64_t left = pl < Wp ? pl : Wp, ncol = pl < Wp ? (W < Wp - pl ? W : Wp - pl) : 0;
            for (int64_t c = 0; c < left; ++c) memcpy(d + c * FC_VL, &fv, sizeof fv);
            for (int64_t c = left + ncol; c < Wp; ++c) memcpy(d + c * FC_VL, &fv, sizeof fv);
            fc_plane_row(xp, rm * xsH, ncol, nval, d + left * FC_VL);
        } else {
            if (xsW == 1) {
                fc_plane_row(xp, rm * xsH, W, nval, Trow);
            } else {
                for (int64_t c = 0; c < W; ++c)
                    for (int64_t l = 0; l < FC_VL; ++l)
                        Trow[c * FC_VL + l] = l < nval ? xp[l][rm * xsH + c * xsW] : (FC_T)0;
            }
            memcpy(Trow + W * FC_VL, &fv, sizeof fv);
            for (int64_t c = 0; c < Wp; ++c) {
                const int64_t cm = colmap[c];
                memcpy(d + c * FC_VL, Trow + (cm < 0 ? W : cm) * FC_VL, sizeof(FC_V));
            }
        }
    }
}

/* Step 4 for output rows i0 .. i0 + nrow - 1 (O: row i0 first). */
FC_INLINE void fc_dw_planes_out(const FC_T *O, const fc_conv_geom *g, int64_t i0, int64_t nrow, int64_t nval,
                                int lanes_out, FC_T *const *op) {
    const int64_t Wo = g->Wo, q0 = i0 * Wo, n = nrow * Wo;
    if (lanes_out) { /* a pixel's channels: one store */
        for (int64_t i = 0; i < nrow; ++i)
            for (int64_t j = 0; j < Wo; ++j) {
                FC_T *d = op[0] + (i0 + i) * g->osH + j * g->osW;
                if (nval == FC_VL) /* (a constant size: one vector store, not a call) */
                    memcpy(d, O + (i * Wo + j) * FC_VL, sizeof(FC_V));
                else
                    memcpy(d, O + (i * Wo + j) * FC_VL, (size_t)nval * sizeof(FC_T));
            }
        return;
    }
    if (n < FC_VL) {
        for (int64_t q = 0; q < n; ++q)
            for (int64_t l = 0; l < nval; ++l) op[l][q0 + q] = O[q * FC_VL + l];
        return;
    }
    /* squares of VL pixels, the last overlapping the one before it (as in fc_plane_row) */
    for (int64_t p0 = 0;;) {
        FC_V t[FC_VL];
#pragma GCC unroll 16
        for (int k = 0; k < FC_VL; ++k) t[k] = fc_plane_load(O + (p0 + k) * FC_VL);
        fc_zipn(t, FC_VL);
        if (nval == FC_VL) { /* (as in fc_plane_square) */
#pragma GCC unroll 16
            for (int l = 0; l < FC_VL; ++l) memcpy(op[l] + q0 + p0, &t[l], sizeof(FC_V));
        } else {
#pragma GCC unroll 16
            for (int l = 0; l < FC_VL; ++l)
                if (l < nval) memcpy(op[l] + q0 + p0, &t[l], sizeof(FC_V));
        }
        if (p0 + FC_VL >= n) break;
        p0 = p0 + 2 * FC_VL <= n ? p0 + FC_VL : n - FC_VL;
    }
}

/* Steps 1-2 for the whole plane (Hp x Wp padded pixels) with zero padding and contiguous
 * planes, in one pass: the fill around, and squares of VL consecutive pixels transposed
 * straight into P's interior (across the rows: a small plane's rows are often shorter than
 * a vector). */
FC_INLINE void fc_dw_planes_whole(const FC_T *const *xp, const fc_conv_geom *g, FC_V fv, int64_t nval, int64_t Hp,
                                  int64_t Wp, FC_T *P) {
    const int64_t H = g->H, W = g->W, npix = H * W, pt = g->pt, pl = g->pl;
    for (int64_t r = 0; r < Hp; ++r) { /* the fill: whole rows above and below, else the sides */
        FC_T *d = P + r * Wp * FC_VL;
        const int inside = r >= pt && r < pt + H;
        const int64_t left = inside ? (pl < Wp ? pl : Wp) : Wp, right = inside ? pl + W : Wp;
        for (int64_t c = 0; c < left; ++c) memcpy(d + c * FC_VL, &fv, sizeof fv);
        for (int64_t c = right; c < Wp; ++c) memcpy(d + c * FC_VL, &fv, sizeof fv);
    }
    int64_t p0 = 0, h0 = 0, w0 = 0; /* (h0, w0): pixel p0 */
    for (; p0 + FC_VL <= npix; p0 += FC_VL) {
        FC_V t[FC_VL];
        fc_plane_square(xp, p0, nval, t);
        int64_t h = h0, c = w0;
        for (int k = 0; k < FC_VL; ++k) {
            if (h + pt < Hp && c + pl < Wp) memcpy(P + ((h + pt) * Wp + c + pl) * FC_VL, &t[k], sizeof(FC_V));
            if (++c == W) c = 0, ++h;
        }
        h0 = h, w0 = c;
    }
    for (; p0 < npix; ++p0) {
        if (h0 + pt < Hp && w0 + pl < Wp)
            for (int64_t l = 0; l < FC_VL; ++l)
                P[((h0 + pt) * Wp + w0 + pl) * FC_VL + l] = l < nval ? xp[l][p0] : (FC_T)0;
        if (++w0 == W) w0 = 0, ++h0;
    }
}

/* Output planes op[l] (Ho x Wo, contiguous; or channels-last: op[l] = op[0] + l, rows g->osH
 * and columns g->osW apart), l < nval <= VL, from the input planes xp[l] (rows xsH apart,
 * columns xsW apart; channels-last when xp[l] = xp[0] + l), g's geometry; rowmap / colmap: the input row / column
 * each padded row / column reads, or -1 (fill), for the (Ho - 1) sH + (kH - 1) dH + 1 rows
 * and the (Wo - 1) sW + (kW - 1) dW + 1 columns; w: the taps' weight vectors, w[t * VL + l]
 * (at most FC_DW_PLANE_TAPS taps); bias: VL values or NULL.  buf: fc_dw_plane_buffer_elems
 * elements. */
FC_ATTR static void fc_dw_planes(const FC_T *const *xp, int64_t xsH, int64_t xsW, const fc_conv_geom *g,
                                 const int64_t *rowmap, const int64_t *colmap, FC_T fill, const FC_T *w,
                                 const FC_T *bias, int64_t nval, FC_T *const *op, FC_T *buf) {
    const int64_t W = g->W, kH = g->kH, kW = g->kW, sH = g->sh, sW = g->sw, dH = g->dh, dW = g->dw;
    const int64_t Ho = g->Ho, Wo = g->Wo;
    const int64_t Hp = (Ho - 1) * sH + (kH - 1) * dH + 1, Wp = (Wo - 1) * sW + (kW - 1) * dW + 1;
    /* output rows a band: those whose padded rows fit FC_DW_PLANE_BAND_BYTES, all if P does */
    const int64_t R = fc_dw_plane_band_rows(Ho, Wp, kH, sH, dH, FC_VL * (int64_t)sizeof(FC_T));
    const int64_t reach = (kH - 1) * dH + 1;
    FC_T *T = buf, *P = T + (W + 1) * FC_VL, *O = P + ((R - 1) * sH + reach) * Wp * FC_VL;
    const FC_V fv = (FC_V){0} + fill;
    /* channels-last data: the lanes' channels adjacent in memory, a pixel's VL channels one
     * vector load (store), so no transposes */
    int lanes_in = 1, lanes_out = 1;
    for (int64_t l = 1; l < nval; ++l) {
        lanes_in &= xp[l] == xp[0] + l;
        lanes_out &= op[l] == op[0] + l;
    }
    lanes_in &= xsW != 1;
    lanes_out &= g->osW != 1;
    const int64_t taps = kH * kW;
    int64_t toff[FC_DW_PLANE_TAPS];
    FC_V wv[FC_DW_PLANE_TAPS];
    for (int64_t kh = 0; kh < kH; ++kh)
        for (int64_t kw = 0; kw < kW; ++kw) toff[kh * kW + kw] = (kh * dH * Wp + kw * dW) * FC_VL;
    for (int64_t t = 0; t < taps; ++t) wv[t] = fc_plane_load(w + t * FC_VL);
    const FC_V bv = bias != NULL ? fc_plane_load(bias) : (FC_V){0};
    for (int64_t i0 = 0; i0 < Ho; i0 += R) {
        const int64_t nrow = Ho - i0 < R ? Ho - i0 : R;
        /* 1-2. the band's padded rows */
        if (R < Ho || lanes_in || g->mode != FC_PAD_ZEROS || xsW != 1 || xsH != W)
            fc_dw_planes_rows(xp, xsH, xsW, g, rowmap, colmap, fv, nval, lanes_in, i0 * sH, (nrow - 1) * sH + reach, Wp,
                              P, T);
        else
            fc_dw_planes_whole(xp, g, fv, nval, Hp, Wp, P);
        /* 3. the sums */
        if (sW == 1) {
            FC_DW_PLANE_ROWS(1)
        } else if (sW == 2) {
            FC_DW_PLANE_ROWS(2)
        } else {
            FC_DW_PLANE_ROWS(sW)
        }
        /* 4. op[l][p] = O[p][l] */
        fc_dw_planes_out(O, g, i0, nrow, nval, lanes_out, op);
    }
}
#undef FC_DW_PLANE_ROWS
#undef FC_DW_PLANE_PIXELS

#endif /* FASTCONV_DEPTHWISE_PLANE_H */
