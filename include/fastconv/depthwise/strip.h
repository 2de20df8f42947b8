/*
 * fastconv/depthwise/strip.h - the strips of the in-place kernel for one input channel per
 * output channel (depthwise layers, single-channel images): FC_KIND_DW_STRIP, and the
 * border chunks of FC_KIND_DW_SWEEP.  Part of a variant (fastconv/variants.h); no checking
 * is done here.
 *
 * With one input channel per output channel there is nothing to share between channels, and
 * the packed band of fc_conv_band costs more than the arithmetic (a copy of every input row,
 * with scalar border code per short row).  This kernel reads the input plane where it lies
 * (column stride 1, columns contiguous in memory): each tap of VL adjacent outputs is one
 * unaligned vector load.  Rows are reached through a table of row pointers, so row padding
 * costs nothing: a padded row is its source row (reflect, replicate, circular ...) or a row of
 * fill values.
 *
 * The output row is covered by chunks of VL columns (the last one shifted left to end at Wo,
 * recomputing a few columns rather than needing a masked tail).  A chunk whose taps all fall
 * inside the input row is computed in place; a chunk that reaches into the column padding
 * reads a small edge buffer holding its padded columns, built once per input row.  Each chunk
 * is a *strip*: one call walks down every output row of a group, FC_RB rows at a time, so the
 * out-of-order core overlaps one block's stores with the next block's FMAs.
 */
#ifndef FASTCONV_DEPTHWISE_STRIP_H
#define FASTCONV_DEPTHWISE_STRIP_H

/* RB rows of the strip: output row r's tap kh reads rows[r*sh + kh*dh] + c0 + kw*dw.
 *
 * S2 (column stride 2): lane l of a tap's vector is column c0 + kw*dw + 2l, the even lanes
 * of the 2VL - 1 columns from c0 + kw*dw, loaded as two vectors VL - 1 apart (the second
 * ends at the last column read, so a chunk at the end of a row reads nothing past it) and
 * gathered by one two-source shuffle (sel2: 2l from the first, 2l + 1 - VL of the second).
 * Every output reads its taps in place: against computing every column at stride 1 and
 * keeping one in two, half the multiply-adds and no subsampling copy. */
FC_INLINE void fc_dw_block(const FC_T *const *rows, int64_t sh, int64_t dh, const FC_T *w, int64_t kH, int64_t kW,
                           int64_t dw, FC_T b, int64_t c0, FC_T *dst, int64_t ldd, const int RB, const int KW,
                           const int S2, fc_sel sel2) {
    if (KW) kW = KW;
    FC_V acc[FC_RB];
#pragma GCC unroll 16
    for (int r = 0; r < RB; ++r) acc[r] = (FC_V){0} + b;
    for (int64_t kh = 0; kh < kH; ++kh) {
        const FC_T *xr[FC_RB];
#pragma GCC unroll 16
        for (int r = 0; r < RB; ++r) xr[r] = rows[r * sh + kh * dh] + c0;
        const FC_T *wr = w + kh * kW;
#pragma GCC unroll 8
        for (int64_t kw = 0; kw < kW; ++kw) {
            const FC_T wv = wr[kw];
#pragma GCC unroll 16
            for (int r = 0; r < RB; ++r) {
                FC_V xv;
                memcpy(&xv, xr[r] + kw * dw, sizeof(FC_V));
                if (S2) {
                    FC_V hi;
                    memcpy(&hi, xr[r] + kw * dw + FC_VL - 1, sizeof(FC_V));
                    xv = FC_SHUFFLE2(xv, hi, sel2);
                }
                acc[r] += xv * wv;
            }
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < RB; ++r) memcpy(dst + r * ldd, &acc[r], sizeof(FC_V));
}

/* A strip of n output rows (dst rows ldd apart), VL columns, at column stride 1 + S2_.  One
 * function per kernel width KW (0: any), since a kernel row unrolled at compile time runs
 * about twice as fast as the loop over kW for the small kernels depthwise layers use. */
#define FC_DEF_DW_STRIP(NAME, KW_, S2_)                                                                                \
    FC_ATTR __attribute__((noinline)) static void NAME(const FC_T *const *rows, int64_t sh, int64_t dh, int64_t n,     \
                                                       const FC_T *w, int64_t kH, int64_t kW, int64_t dw, FC_T b,      \
                                                       int64_t c0, FC_T *dst, int64_t ldd) {                           \
        fc_sel sel2; /* (unused at unit stride) */                                                                     \
        for (int l = 0; l < FC_VL; ++l) sel2[l] = 2 * l < FC_VL ? 2 * l : 2 * l + 1;                                   \
        int64_t r = 0;                                                                                                 \
        for (; r + FC_RB <= n; r += FC_RB)                                                                             \
            fc_dw_block(rows + r * sh, sh, dh, w, kH, kW, dw, b, c0, dst + r * ldd, ldd, FC_RB, KW_, S2_, sel2);       \
        for (; r < n; ++r)                                                                                             \
            fc_dw_block(rows + r * sh, sh, dh, w, kH, kW, dw, b, c0, dst + r * ldd, ldd, 1, KW_, S2_, sel2);           \
    }
FC_DEF_DW_STRIP(fc_dw_strip_0, 0, 0)
FC_DEF_DW_STRIP(fc_dw_strip_3, 3, 0)
FC_DEF_DW_STRIP(fc_dw_strip_5, 5, 0)
FC_DEF_DW_STRIP(fc_dw_strip_7, 7, 0)
FC_DEF_DW_STRIP(fc_dw_strip_s2_0, 0, 1)
FC_DEF_DW_STRIP(fc_dw_strip_s2_3, 3, 1)
FC_DEF_DW_STRIP(fc_dw_strip_s2_5, 5, 1)
#undef FC_DEF_DW_STRIP

/* The same for a KS x KS kernel with unit stride and dilation (the common depthwise layers):
 * the taps are broadcast into registers once per strip and each block's row pointers are
 * adjacent (C7). */
#define FC_DEF_DW_STRIP_SQ(NAME, KS)                                                                                   \
    FC_ATTR __attribute__((noinline)) static void NAME(const FC_T *const *rows, int64_t n, const FC_T *w, FC_T b,      \
                                                       int64_t c0, FC_T *dst, int64_t ldd) {                           \
        FC_V wv[KS * KS];                                                                                              \
        _Pragma("GCC unroll 32") for (int t = 0; t < KS * KS; ++t) wv[t] = (FC_V){0} + w[t];                           \
        int64_t r = 0;                                                                                                 \
        for (; r + FC_RB <= n; r += FC_RB) {                                                                           \
            FC_V acc[FC_RB];                                                                                           \
            _Pragma("GCC unroll 16") for (int i = 0; i < FC_RB; ++i) acc[i] = (FC_V){0} + b;                           \
            _Pragma("GCC unroll 8") for (int kh = 0; kh < KS; ++kh)                                                    \
                _Pragma("GCC unroll 16") for (int i = 0; i < FC_RB; ++i) {                                             \
                const FC_T *xr = rows[r + i + kh] + c0;                                                                \
                _Pragma("GCC unroll 8") for (int kw = 0; kw < KS; ++kw) {                                              \
                    FC_V xv;                                                                                           \
                    memcpy(&xv, xr + kw, sizeof(FC_V));                                                                \
                    acc[i] += xv * wv[kh * KS + kw];                                                                   \
                }                                                                                                      \
            }                                                                                                          \
            _Pragma("GCC unroll 16") for (int i = 0; i < FC_RB; ++i)                                                   \
                memcpy(dst + (r + i) * ldd, &acc[i], sizeof(FC_V));                                                    \
        }                                                                                                              \
        for (; r < n; ++r) {                                                                                           \
            FC_V acc = (FC_V){0} + b;                                                                                  \
            _Pragma("GCC unroll 8") for (int kh = 0; kh < KS; ++kh) {                                                  \
                const FC_T *xr = rows[r + kh] + c0;                                                                    \
                _Pragma("GCC unroll 8") for (int kw = 0; kw < KS; ++kw) {                                              \
                    FC_V xv;                                                                                           \
                    memcpy(&xv, xr + kw, sizeof(FC_V));                                                                \
                    acc += xv * wv[kh * KS + kw];                                                                      \
                }                                                                                                      \
            }                                                                                                          \
            memcpy(dst + r * ldd, &acc, sizeof(FC_V));                                                                 \
        }                                                                                                              \
    }
FC_DEF_DW_STRIP_SQ(fc_dw_strip_sq3, 3)
FC_DEF_DW_STRIP_SQ(fc_dw_strip_sq5, 5)
#undef FC_DEF_DW_STRIP_SQ

/* An edge chunk of the 3x3 unit-stride strip when the padded columns hold one constant
 * (zero padding, correlate2d's fill): tap kw's vector is loaded at off[kw] of its row, a
 * position inside [0, W - VL], and rearranged by sel[kw], whose lanes >= VL take the fill.
 * One shuffle per load replaces the edge buffer (rows of copied columns built for each edge
 * chunk), a third of C7's time on 2 threads. */
FC_ATTR __attribute__((noinline)) static void fc_dw_strip_sq3_edge(const FC_T *const *rows, int64_t n, const FC_T *w,
                                                                   FC_T b, const int64_t *off, const fc_sel *sel,
                                                                   FC_T fill, FC_T *dst, int64_t ldd) {
    FC_V wv[9];
#pragma GCC unroll 16
    for (int t = 0; t < 9; ++t) wv[t] = (FC_V){0} + w[t];
    const FC_V fv = (FC_V){0} + fill;
    const fc_sel s0 = sel[0], s1 = sel[1], s2 = sel[2];
    const int64_t o0 = off[0], o1 = off[1], o2 = off[2];
    int64_t r = 0;
    for (; r < n; r += FC_RB) {
        const int rb = n - r < FC_RB ? (int)(n - r) : FC_RB;
        FC_V acc[FC_RB];
#pragma GCC unroll 16
        for (int i = 0; i < FC_RB; ++i) acc[i] = (FC_V){0} + b;
#pragma GCC unroll 4
        for (int kh = 0; kh < 3; ++kh)
#pragma GCC unroll 16
            for (int i = 0; i < FC_RB; ++i) {
                if (i >= rb) break;
                const FC_T *xr = rows[r + i + kh];
                FC_V v0, v1, v2;
                memcpy(&v0, xr + o0, sizeof(FC_V));
                memcpy(&v1, xr + o1, sizeof(FC_V));
                memcpy(&v2, xr + o2, sizeof(FC_V));
                acc[i] += FC_SHUFFLE2(v0, fv, s0) * wv[kh * 3];
                acc[i] += FC_SHUFFLE2(v1, fv, s1) * wv[kh * 3 + 1];
                acc[i] += FC_SHUFFLE2(v2, fv, s2) * wv[kh * 3 + 2];
            }
#pragma GCC unroll 16
        for (int i = 0; i < FC_RB; ++i)
            if (i < rb) memcpy(dst + (r + i) * ldd, &acc[i], sizeof(FC_V));
    }
}

/* Taps of a column-stride-2 edge chunk at most this wide take fc_dw_strip_s2_edge. */
#define FC_DW_S2_EDGE_KW 8

/* An edge chunk of the column-stride-2 strip when the padded columns hold one constant
 * (zero padding): tap kw's two vectors are loaded at off[kw] and off[kw] + VL - 1 of its row
 * (positions inside the row), the lanes gathered by sel[kw] as in fc_dw_block's S2, and the
 * lanes whose column is padding (keep[kw] all zero bits) replaced by the fill.  The edge
 * chunks are then as cheap as the interior ones; through the edge buffer, two of the four
 * chunks of a 56-wide output row cost more than the whole interior. */
FC_ATTR __attribute__((noinline)) static void fc_dw_strip_s2_edge(const FC_T *const *rows, int64_t sh, int64_t dh,
                                                                  int64_t n, const FC_T *w, int64_t kH, int64_t kW,
                                                                  const int64_t *off, const fc_sel *sel,
                                                                  const fc_sel *keep, FC_T b, FC_T fill, FC_T *dst,
                                                                  int64_t ldd) {
    const fc_sel fbits = (fc_sel)((FC_V){0} + fill);
    for (int64_t r = 0; r < n; ++r) {
        FC_V acc = (FC_V){0} + b;
        for (int64_t kh = 0; kh < kH; ++kh) {
            const FC_T *xr = rows[r * sh + kh * dh];
            for (int64_t kw = 0; kw < kW; ++kw) {
                FC_V lo, hi;
                memcpy(&lo, xr + off[kw], sizeof(FC_V));
                memcpy(&hi, xr + off[kw] + FC_VL - 1, sizeof(FC_V));
                const fc_sel v = (fc_sel)FC_SHUFFLE2(lo, hi, sel[kw]);
                acc += (FC_V)((v & keep[kw]) | (fbits & ~keep[kw])) * w[kh * kW + kw];
            }
        }
        memcpy(dst + r * ldd, &acc, sizeof(FC_V));
    }
}

/* A strip at column stride sw (1 or 2): lane l of a chunk is column c0 + sw*l. */
FC_INLINE void fc_dw_strip(const FC_T *const *rows, int64_t sh, int64_t sw, int64_t dh, int64_t n, const FC_T *w,
                           int64_t kH, int64_t kW, int64_t dw, FC_T b, int64_t c0, FC_T *dst, int64_t ldd) {
    if (sw == 2) {
        switch (kW) {
        case 3: fc_dw_strip_s2_3(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
        case 5: fc_dw_strip_s2_5(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
        default: fc_dw_strip_s2_0(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
        }
        return;
    }
    if (sh == 1 && dh == 1 && dw == 1 && kH == 3 && kW == 3) {
        fc_dw_strip_sq3(rows, n, w, b, c0, dst, ldd);
        return;
    }
    if (sh == 1 && dh == 1 && dw == 1 && kH == 5 && kW == 5) {
        fc_dw_strip_sq5(rows, n, w, b, c0, dst, ldd);
        return;
    }
    switch (kW) {
    case 3: fc_dw_strip_3(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
    case 5: fc_dw_strip_5(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
    case 7: fc_dw_strip_7(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
    default: fc_dw_strip_0(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
    }
}

#endif /* FASTCONV_DEPTHWISE_STRIP_H */
