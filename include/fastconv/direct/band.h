/*
 * fastconv/direct/band.h - the band driver of the direct kernels: one work item's output rows
 * with the tiles of the planner's kind.  Part of a variant (fastconv/variants.h); no checking
 * is done here.
 */
#ifndef FASTCONV_DIRECT_BAND_H
#define FASTCONV_DIRECT_BAND_H

/* The kernel rows [kh0, kh1) that output row oh's tile of columns [j0, j0 + width) reads
 * outside the zero padding.  Flat rows (flat_oh0 >= 0, stride 1 in height): the tile spans
 * output rows flat_oh0 + j0 / Wq .. .  The rows read in the padding are the first and the
 * last ones of the kernel, so the rest is one range; for flat rows, the union of the
 * ranges of the output rows the tile spans. */
static inline void fc_tile_kh(const fc_conv_geom *g, int64_t oh, int64_t j0, int64_t width, int64_t *kh0,
                              int64_t *kh1) {
    int64_t first = oh, last = oh;
    if (g->flat_oh0 >= 0) {
        const int64_t end = j0 + width < g->Wo ? j0 + width : g->Wo;
        first = g->flat_oh0 + j0 / g->Wq;
        last = g->flat_oh0 + (end - 1) / g->Wq;
    }
    /* padded row of (oh, kh): oh * sh + kh * dh, real in [pt, pt + H) */
    const int64_t lo = g->pt - last * g->sh, hi = g->pt + g->H - first * g->sh;
    const int64_t a = lo <= 0 ? 0 : (lo + g->dh - 1) / g->dh;
    const int64_t b = hi <= 0 ? 0 : (hi + g->dh - 1) / g->dh;
    *kh0 = a < g->kH ? a : g->kH;
    *kh1 = b < g->kH ? b : g->kH;
    if (*kh1 < *kh0) *kh1 = *kh0;
}

/* One column tile of a block of `left` <= ocb output channels (packed weights wb, ocb per
 * tap): FC_OCBW channels x FC_NV_WIDE vectors, or one vector (`one`: at most VL columns
 * left), and a smaller tile for a last block of at most FC_OCB_M, FC_OCB_SIX (64-byte
 * variants) or FC_OCB_S channels, so small shapes waste fewer lanes.  Runs every block of
 * input channels (FC_SUM_BLOCKS); arguments as fc_tile's. */
FC_INLINE void fc_column_tile(const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wb, int64_t ocb,
                              const fc_conv_geom *g, const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out,
                              int64_t plane, int64_t oh, int64_t j0, int64_t left, int one, int64_t icb, FC_V *tot,
                              int64_t kh0, int64_t kh1, const int pw) {
#define FC_TILE_ARGS(a, b)                                                                                             \
    (xcol, cstep, ridx, wb, ocb, g, bias, oc0, cout, out, plane, oh, j0, a, b, icb, tot, kh0, kh1)
#define FC_TILE_CALL(NAME)                                                                                             \
    do {                                                                                                               \
        if (pw)                                                                                                        \
            FC_SUM_BLOCKS(g->C, icb, NAME##_pw FC_TILE_ARGS);                                                          \
        else                                                                                                           \
            FC_SUM_BLOCKS(g->C, icb, NAME FC_TILE_ARGS);                                                               \
    } while (0)
    if (left <= FC_OCB_S) {
        if (one)
            FC_TILE_CALL(fc_tile_small1);
        else
            FC_TILE_CALL(fc_tile_small);
#ifdef FC_OCB_SIX
    } else if (left <= FC_OCB_SIX) {
        if (one)
            FC_TILE_CALL(fc_tile_six1);
        else
            FC_TILE_CALL(fc_tile_six);
#endif
    } else if (left <= FC_OCB_M) {
        if (one)
            FC_TILE_CALL(fc_tile_mid1);
        else
            FC_TILE_CALL(fc_tile_mid);
    } else if (one) {
        FC_TILE_CALL(fc_tile_full1);
    } else {
        FC_TILE_CALL(fc_tile_full);
    }
#undef FC_TILE_CALL
#undef FC_TILE_ARGS
}

/* Compute output rows [oh0, oh0 + R) of the `cout` output channels of one group from the
 * band xband and packed weights (blocks of ocb channels) with the tiles of `kind`:
 *   FC_KIND_LANES           channel-lane tiles, ocb = VL or 2 * VL (fc_ctile_row);
 *   FC_KIND_COLUMNS         column tiles, ocb = FC_OCBW (fc_tile_full and its smaller kin);
 *   FC_KIND_COLUMNS_NARROW  one channel x FC_NV_NARROW vectors, ocb = 1 (fc_tile_narrow);
 *   FC_KIND_ROWS            FC_RB rows of one channel, ocb = 1, stride and dilation 1 in
 *                           height over a contiguous band (fc_tile_rows).
 * The band's channels lie cstep elements apart and its rows g->rstep apart: a packed band
 * [C][nrows][npha][Wq] (cstep = nrows * npha * Wq), or - channel-lane tiles only, which read
 * exactly the columns they need - the input itself where no padding is read.
 * ridx[r*kH + kh] is the band row of output row oh0+r's tap kh.  out points at the group's
 * first output plane of this sample; plane = Ho*Wo.  Packed rows hold at least Wo rounded
 * up to FC_NV_WIDE (column tiles) or FC_NV_NARROW (narrow, rows: FC_NV_ROWS divides it)
 * vectors. */
FC_ATTR
static void fc_conv_band(int kind, const FC_T *xband, int64_t cstep, const int64_t *ridx, const FC_T *wpack,
                         int64_t ocb, const FC_T *bias, int64_t cout, const fc_conv_geom *g, int64_t oh0, int64_t R,
                         FC_T *out, int64_t plane) {
    const int64_t nob = (cout + ocb - 1) / ocb;
    const int64_t wblock = g->C * g->kH * g->kW * ocb;
    const int64_t icb = fc_sum_channels(g->kH * g->kW);
    FC_V tot[FC_SUM_VECS]; /* the tiles' running totals (see fc_sum_flush) */
    switch (kind) {
    case FC_KIND_LANES:
        for (int64_t ob = 0; ob < nob; ++ob) {
            /* a last block of at most VL channels (48 = 32 + 16): the one-vector tile */
            const int nov = ocb == FC_VL || cout - ob * ocb <= FC_VL ? 1 : 2;
            for (int64_t r = 0; r < R; ++r) {
                /* rows at most FC_NCOL / 2 wide go in pairs when the second row's taps all
                 * lie one offset past the first's (rows of a band, or of the input) */
                if (2 * g->Wo <= FC_NCOL && r + 1 < R) {
                    const int64_t d = ridx[(r + 1) * g->kH] - ridx[r * g->kH];
                    int same = 1;
                    for (int64_t kh = 1; kh < g->kH; ++kh)
                        same &= ridx[(r + 1) * g->kH + kh] - ridx[r * g->kH + kh] == d;
                    if (same) {
                        fc_ctile_rowpair(xband, cstep, ridx + r * g->kH, wpack + ob * wblock, ocb, g, bias, ob * ocb,
                                         cout, out, plane, oh0 + r, nov, d * g->rstep);
                        ++r;
                        continue;
                    }
                }
                fc_ctile_row(xband, cstep, ridx + r * g->kH, wpack + ob * wblock, ocb, g, bias, ob * ocb, cout, out,
                             plane, oh0 + r, nov);
            }
        }
#ifdef FC_STREAM
        if (g->stream) __builtin_ia32_sfence(); /* the streaming stores reach memory before the caller reads */
#endif
        return;
    case FC_KIND_COLUMNS: {
        const int64_t vw = FC_NV_WIDE * FC_VL;
        for (int64_t ob = 0; ob < nob; ++ob) {
            const int64_t left = cout - ob * ocb < ocb ? cout - ob * ocb : ocb;
            for (int64_t r = 0; r < R; ++r)
                for (int64_t j0 = 0; j0 < g->Wo; j0 += vw) {
                    const int one = g->Wo - j0 <= FC_VL;
                    int64_t kh0 = 0, kh1 = g->kH;
                    if (g->skip_rows) fc_tile_kh(g, oh0 + r, j0, one ? FC_VL : vw, &kh0, &kh1);
                    fc_column_tile(xband + j0, cstep, ridx + r * g->kH, wpack + ob * wblock, ocb, g, bias, ob * ocb,
                                   cout, out, plane, oh0 + r, j0, left, one, icb, tot, kh0, kh1, 0);
                }
        }
        return;
    }
    case FC_KIND_ROWS: {
        const int64_t vw = FC_NV_ROWS * FC_VL;
        /* square 5x5 or 7x7 kernels with taps one column apart: the straight-line tiles
         * on whole tiles of FC_RB rows (with lane shifts, rows on vector boundaries) */
        int sq = 0;
        if (g->sw == 1 && g->dw == 1 && g->npha == 1 && g->kH == g->kW && (g->kW == 5 || g->kW == 7) &&
            g->xoff[0] == 0 && g->xoff[g->kW - 1] == g->kW - 1)
            sq = (int)g->kW;
#ifdef FC_ALIGNR
        if ((uintptr_t)xband % sizeof(FC_V) != 0 || g->rstep % FC_VL != 0 || cstep % FC_VL != 0) sq = 0;
#endif
        for (int64_t ob = 0; ob < nob; ++ob) {
            const FC_T b = bias != NULL ? bias[ob] : (FC_T)0;
            for (int64_t r = 0; r < R; r += FC_RB) {
                const int64_t rb = R - r < FC_RB ? R - r : FC_RB;
                for (int64_t j0 = 0; j0 < g->Wo; j0 += vw) {
#define FC_ROWS_ARGS(a, c)                                                                                             \
    (xband + j0, cstep, r, rb, wpack + ob * wblock, g, b, out + ob * plane, oh0 + r, j0, a, c, icb, tot)
                    switch (rb == FC_RB ? sq : 0) {
                    case 5: FC_SUM_BLOCKS(g->C, icb, fc_tile_rows_sq5 FC_ROWS_ARGS); break;
                    case 7: FC_SUM_BLOCKS(g->C, icb, fc_tile_rows_sq7 FC_ROWS_ARGS); break;
                    default: FC_SUM_BLOCKS(g->C, icb, fc_tile_rows FC_ROWS_ARGS);
                    }
#undef FC_ROWS_ARGS
                }
            }
        }
        return;
    }
    default: { /* FC_KIND_COLUMNS_NARROW */
        const int64_t vw = FC_NV_NARROW * FC_VL;
        for (int64_t ob = 0; ob < nob; ++ob)
            for (int64_t r = 0; r < R; ++r)
                for (int64_t j0 = 0; j0 < g->Wo; j0 += vw) {
                    int64_t kh0 = 0, kh1 = g->kH;
                    if (g->skip_rows) fc_tile_kh(g, oh0 + r, j0, vw, &kh0, &kh1);
#define FC_NARROW_ARGS(a, b)                                                                                           \
    (xband + j0, cstep, ridx + r * g->kH, wpack + ob * wblock, 1, g, bias, ob * ocb, cout, out, plane, oh0 + r, j0, a, \
     b, icb, tot, kh0, kh1)
                    FC_SUM_BLOCKS(g->C, icb, fc_tile_narrow FC_NARROW_ARGS);
#undef FC_NARROW_ARGS
                }
        return;
    }
    }
}

#endif /* FASTCONV_DIRECT_BAND_H */
