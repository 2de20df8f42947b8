/*
 * fastconv/depthwise/band.h - the band driver of the in-place kernels for one input channel
 * per output channel (FC_KIND_DW_STRIP, FC_KIND_DW_SWEEP, FC_KIND_DW_FLAT).  Part of a variant
 * (fastconv/variants.h); no checking is done here.
 */
#ifndef FASTCONV_DEPTHWISE_BAND_H
#define FASTCONV_DEPTHWISE_BAND_H

/* Prefetch rows [from, to) of the W-column rows at nx (xsH apart); returns to. */
FC_INLINE int64_t fc_prefetch_rows(const FC_T *nx, int64_t xsH, int64_t W, int64_t from, int64_t to) {
    for (; from < to; ++from) fc_prefetch_bytes(nx + from * xsH, W * (int64_t)sizeof(FC_T));
    return to;
}

/* Output rows [oh0, oh0 + R) of one output channel (out: its plane, Ho x Wo, row stride Wo)
 * from one input plane x (rows xsH elements apart, columns contiguous), column stride 1 or
 * 2 (FC_KIND_DW_STRIP).
 * w: the kH*kW taps, contiguous; colmap[p]: the input column padded column p reads, or -1
 * (fill), for p < g->Wp; fillrow: W copies of fill.  Scratch: rowp, room for
 * (R-1)*sh + (kH-1)*dh + 1 row pointers; edge, ((rg-1)*sh + (kH-1)*dh + 1) * EW elements
 * (EW = (VL-1)*sw + (kW-1)*dw + 1) and eptr room for as many pointers as rowp, where rg is the row group (R is cut
 * into groups of at most rg rows so the edge buffers and the rows read stay in cache); tmp,
 * rg * max(Wo, VL) elements (FC_KIND_DW_STRIP: the strips fill it, rows max(Wo, VL) apart),
 * or NULL (FC_KIND_DW_SWEEP: 3x3 / 5x5 unit-stride kernels whose interior columns span at
 * least one vector sweep along the rows, fc_dw_sweep_sq*, and the strips of the border
 * columns write the output in place; streaming stores when stream is set, which the planner
 * does only where Wo is a multiple of VL, so that the aligned chunks are aligned in every
 * row).  FC_KIND_DW_FLAT: fc_dw_flat, whose geometry the planner checked.  nx, when not
 * NULL, is the first of nxrows input rows (xsH apart, W columns) the caller reads next: they
 * are prefetched while this band is computed, a slice per chunk, since small planes
 * (depthwise layers) are otherwise read from memory row by row at the latency of each miss. */
FC_ATTR
static void fc_dw_band(int kind, const FC_T *x, int64_t xsH, const fc_conv_geom *g, const int64_t *colmap,
                       const FC_T *fillrow, FC_T fill, const FC_T *w, FC_T b, int64_t oh0, int64_t R, FC_T *out,
                       int64_t rg, const FC_T **rowp, FC_T *edge, const FC_T **eptr, FC_T *tmp, const FC_T *nx,
                       int64_t nxrows, int stream) {
    if (kind == FC_KIND_DW_FLAT) {
        fc_dw_flat(x, g, w, b, fill, oh0, R, out, nx, nxrows);
        return;
    }
    const int64_t kH = g->kH, kW = g->kW, sh = g->sh, sw = g->sw, dh = g->dh, dw = g->dw, Wo = g->Wo, W = g->W;
    const int64_t pl = g->pl, Wp = g->Wp, reach = (kH - 1) * dh + 1;
    const int64_t span = (R - 1) * sh + reach, r0 = oh0 * sh - g->pt;
    for (int64_t i = 0; i < span; ++i) {
        const int64_t s = fc_pad_index(r0 + i, g->H, g->mode);
        rowp[i] = s < 0 ? fillrow : x + s * xsH;
    }
    /* padded columns one chunk reads: output column j's chunk reads [j sw, j sw + EW) */
    const int64_t EW = (FC_VL - 1) * sw + (kW - 1) * dw + 1;
    /* interior output columns [lo, hi) (the sweep's unit column stride): every tap inside
     * the input row */
    const int64_t lo = pl;
    const int64_t hi = W - (kW - 1) * dw + pl;
    const int64_t nchunks = ((R + rg - 1) / rg) * ((Wo + FC_VL - 1) / FC_VL);
    const int sweep = kind == FC_KIND_DW_SWEEP;                /* else FC_KIND_DW_STRIP, through tmp */
    const int64_t TW = sweep ? Wo : (Wo > FC_VL ? Wo : FC_VL); /* row stride of tmp */
    const int sq3 = sh == 1 && sw == 1 && dh == 1 && dw == 1 && kH == 3 && kW == 3;
    /* 3x3 at stride 2, undilated (strips): the interior output columns [a2, e2), whose
     * chunks read padded columns [2j, 2j + 2VL + 1) inside the row, swept along the rows
     * into tmp (fc_dw_sweep_s2) where they span a vector */
    const int64_t a2 = (pl + 1) / 2, e2w = (pl + W - 1) / 2, e2 = e2w < Wo ? e2w : Wo;
    const int s2 = !sweep && sh == 2 && sw == 2 && dh == 1 && dw == 1 && kH == 3 && kW == 3 && e2 - a2 >= FC_VL;
    /* the sweep: written in place, the interior [lo, se) swept along the rows */
    const int64_t se = hi < Wo ? hi : Wo;
    const int nt = sweep && stream;
    int64_t pf_row = 0, chunk = 0;
    for (int64_t g0 = 0; g0 < R; g0 += rg) {
        const int64_t n = R - g0 < rg ? R - g0 : rg;
        const int64_t gspan = (n - 1) * sh + reach;
        const FC_T *const *rows = rowp + g0 * sh;
        /* the strips fill tmp, which is copied out row-contiguously at the end of the
         * group: stores of one vector into each of n rows, chunk after chunk, ran about 20%
         * slower on planes that do not stay in cache (each store splitting cache lines that
         * later chunks write again) */
        FC_T *orow = sweep ? out + (oh0 + g0) * Wo : tmp;
        if (s2) fc_dw_sweep_s2(rows, n, w, b, pl, a2, e2, orow, TW);
        if (sweep) {
            if (nx != NULL) /* this group's share of the next rows */
                pf_row = fc_prefetch_rows(nx, xsH, W, pf_row, nxrows * (g0 + n) / R);
            if (kH == 3)
                fc_dw_sweep_sq3(rows, n, w, b, W, pl, lo, se, orow, TW, nt);
            else
                fc_dw_sweep_sq5(rows, n, w, b, W, pl, lo, se, orow, TW, nt);
        }
        for (int64_t j = 0; j < Wo; j += FC_VL) {
            if (j + FC_VL > Wo && Wo >= FC_VL) j = Wo - FC_VL; /* last chunk shifted left */
            if (sweep && j >= lo && j + FC_VL <= se) continue; /* swept */
            if (s2 && j >= a2 && j + FC_VL <= e2) continue;    /* swept at stride 2 */
            if (nx != NULL)                                    /* this chunk's share of the next rows */
                pf_row = fc_prefetch_rows(nx, xsH, W, pf_row, nxrows * ++chunk / nchunks);
            const int64_t p0 = j * sw;           /* the chunk's first padded column */
            if (p0 >= pl && p0 + EW <= pl + W) { /* every tap inside the input row */
                fc_dw_strip(rows, sh, sw, dh, n, w, kH, kW, dw, b, p0 - pl, orow + j, TW);
                continue;
            }
            if (sw == 2 && g->mode == FC_PAD_ZEROS && kW <= FC_DW_S2_EDGE_KW && W >= 2 * FC_VL - 1) {
                /* constant fill, column stride 2: shuffles and a select per tap */
                int64_t off[FC_DW_S2_EDGE_KW];
                fc_sel sel[FC_DW_S2_EDGE_KW], keep[FC_DW_S2_EDGE_KW];
                for (int64_t kw = 0; kw < kW; ++kw) {
                    const int64_t base = p0 - pl + kw * dw; /* input column of lane 0 */
                    const int64_t at = base < 0 ? 0 : (base > W - 2 * FC_VL + 1 ? W - 2 * FC_VL + 1 : base);
                    for (int l = 0; l < FC_VL; ++l) {
                        const int64_t c = base + 2 * l, k = c - at; /* k: its place in the 2VL - 1 loaded */
                        const int in = c >= 0 && c < W;
                        sel[kw][l] = !in ? 0 : (k < FC_VL ? k : k + 1);
                        keep[kw][l] = in ? -1 : 0;
                    }
                    off[kw] = at;
                }
                fc_dw_strip_s2_edge(rows, sh, dh, n, w, kH, kW, off, sel, keep, b, fill, orow + j, TW);
                continue;
            }
            if (sq3 && g->mode == FC_PAD_ZEROS && W >= FC_VL) { /* constant fill: shuffles */
                int64_t off[3];
                fc_sel sel[3];
                for (int kw = 0; kw < 3; ++kw) {
                    const int64_t base = j - pl + kw; /* input column of lane 0 */
                    const int64_t at = base < 0 ? 0 : (base > W - FC_VL ? W - FC_VL : base);
                    for (int l = 0; l < FC_VL; ++l) {
                        const int64_t c = base + l;
                        sel[kw][l] = c >= 0 && c < W ? c - at : FC_VL;
                    }
                    off[kw] = at;
                }
                fc_dw_strip_sq3_edge(rows, n, w, b, off, sel, fill, orow + j, TW);
                continue;
            }
            /* edge chunk: padded columns [p0, p0 + EW) of every row of the group, real
             * columns [a, e) copied as a block, the others through colmap (zero past Wp: they
             * only feed output columns past Wo) */
            int64_t a = p0 > pl ? p0 : pl, e = p0 + EW;
            if (e > pl + W) e = pl + W;
            if (e > Wp) e = Wp;
            if (e < a) e = a;
            const int64_t ra = a - p0, re = e - p0; /* the real columns' span in an edge row */
            const int64_t ne = EW - (re - ra);      /* padded columns: [0, ra) and [re, EW) */
            for (int64_t i = 0; i < gspan; ++i) {
                const FC_T *src = rows[i];
                FC_T *d = edge + i * EW;
                int64_t t = ra;
                if (re - ra >= FC_VL) { /* the real columns: a copy by vectors, the last overlapping */
                    FC_V v;
                    for (; t + FC_VL < re; t += FC_VL) {
                        memcpy(&v, src + p0 + t - pl, sizeof(FC_V));
                        memcpy(d + t, &v, sizeof(FC_V));
                    }
                    memcpy(&v, src + e - pl - FC_VL, sizeof(FC_V));
                    memcpy(d + re - FC_VL, &v, sizeof(FC_V));
                } else {
                    for (; t < re; ++t) d[t] = src[p0 + t - pl];
                }
                for (int64_t k = 0; k < ne; ++k) { /* zero past Wp: only for outputs past Wo */
                    const int64_t tk = k < ra ? k : k - ra + re, p = p0 + tk;
                    const int64_t c = p < Wp ? colmap[p] : -1;
                    d[tk] = p >= Wp ? (FC_T)0 : (c < 0 ? fill : src[c]);
                }
                eptr[i] = d;
            }
            fc_dw_strip(eptr, sh, sw, dh, n, w, kH, kW, dw, b, 0, orow + j, TW);
        }
        FC_T *dst = out + (oh0 + g0) * Wo;
        if (sweep) {
            /* written in place */
        } else if (TW == Wo) {
            memcpy(dst, tmp, (size_t)(n * Wo) * sizeof(FC_T));
        } else { /* Wo < VL */
            for (int64_t r = 0; r < n; ++r) memcpy(dst + r * Wo, tmp + r * TW, (size_t)Wo * sizeof(FC_T));
        }
    }
#ifdef FC_STREAM
    if (nt) __builtin_ia32_sfence(); /* the streaming stores reach memory before the caller's */
#endif
}

#endif /* FASTCONV_DEPTHWISE_BAND_H */
