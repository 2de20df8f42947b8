/*
 * fastconv/direct/tile_lanes.h - channel-lane tiles of the direct kernels (FC_KIND_LANES):
 * output channels in the vector lanes, a few output columns per tile, the accumulators
 * transposed in registers on the way out.  Part of a variant (fastconv/variants.h); no
 * checking is done here.
 */
#ifndef FASTCONV_DIRECT_TILE_LANES_H
#define FASTCONV_DIRECT_TILE_LANES_H

/* Store channel-lane accumulators: cols[c * cst] (c < NC) holds output column c of VL
 * channels; channel o < nval gets its NC columns at dst + o * plane, ocs apart.  VL columns
 * at a time are transposed in registers (fc_zipn over VL vectors), then each channel's run
 * is one store of nc elements (16 channels x 14 columns cost about 64 shuffles and 16
 * stores where a scalar transpose through memory costs 224 loads and stores), or nc
 * element stores when the columns are not adjacent (every stride-th column of a strided
 * layer's input gradient, grad.py). */
FC_INLINE void fc_ctile_store(const FC_V *cols, int cst, const int NC, int64_t nval, FC_T *dst, int64_t plane,
                              int64_t ocs) {
#pragma GCC unroll 2
    for (int c0 = 0; c0 < NC; c0 += FC_VL) {
        const int nc = NC - c0 < FC_VL ? NC - c0 : FC_VL;
        FC_V t[FC_VL];
#pragma GCC unroll 16
        for (int c = 0; c < FC_VL; ++c) t[c] = c < nc ? cols[(c0 + c) * cst] : (FC_V){0};
        fc_zipn(t, FC_VL);
#pragma GCC unroll 16
        for (int o = 0; o < FC_VL; ++o) {
            if (o >= nval) continue;
            if (ocs == 1) {
                memcpy(dst + o * plane + c0, &t[o], (size_t)nc * sizeof(FC_T));
            } else {
                FC_T run[FC_VL];
                memcpy(run, &t[o], sizeof run);
                for (int c = 0; c < nc; ++c) dst[o * plane + (c0 + c) * ocs] = run[c];
            }
        }
    }
}

/* fc_ctile_store for the other layouts: a channels-last result (plane = 1: each
 * accumulator is a column's channels, stored as it is; with stream, whole vectors on
 * vector boundaries as streaming stores) or columns ocs apart.  Not inlined, and given a
 * copy of the accumulators: inside the tile, these paths beside the C-contiguous store
 * slowed the tile's tap loop (benchmarks/results, C3). */
__attribute__((noinline)) FC_ATTR static void fc_ctile_store_strided(const FC_V *cols, int cst, int NC, int64_t nval,
                                                                     FC_T *dst, int64_t plane, int64_t ocs,
                                                                     int64_t stream) {
    if (plane != 1) {
        fc_ctile_store(cols, cst, NC, nval, dst, plane, ocs);
        return;
    }
    for (int c = 0; c < NC; ++c) {
#ifdef FC_STREAM
        if (stream && nval == FC_VL && (uintptr_t)(dst + c * ocs) % sizeof(FC_V) == 0) {
            FC_STREAM(dst + c * ocs, cols[c * cst]);
            continue;
        }
#else
        (void)stream;
#endif
        if (nval == FC_VL)
            memcpy(dst + c * ocs, &cols[c * cst], sizeof(FC_V));
        else
            memcpy(dst + c * ocs, &cols[c * cst], (size_t)nval * sizeof(FC_T));
    }
}

/* Channel-lane tile: the vector lanes hold NV*VL output channels (NV = 1 or 2 vectors) and
 * the tile covers NC <= FC_NCOL adjacent output columns of one row, so no lane is wasted when
 * the channel count is a multiple of VL, whatever the output width (the column tiles above
 * waste lanes when Wo is not a multiple of their width: 56 columns fill 64 lanes).  Per
 * tap: NV weight-vector loads, NC input scalars broadcast, NV*NC FMAs.  The weights of one
 * tap are wst apart (the packing block: NV*VL, or 2*VL for a one-vector last block).  The
 * accumulators hold (column, channel) and are transposed in registers on the way out
 * (fc_ctile_store), a cost that the tap count (>= the caller's threshold) hides; for a
 * channels-last result (plane = 1) they are stored as they are.  Output rows lie g->osH
 * apart and columns g->osW (any layout and strides).  One
 * vector of channels serves narrow rows, where the column tiles would leave most lanes
 * empty, and the last VL channels of a group packed in blocks of 2*VL.  One call runs every
 * block of input channels [ic0, ic1), icb at a time, the upper levels of the sums going
 * through tot (direct/sums.h).  The bias is added at the store: 14 x 2 accumulators, two
 * weight vectors and a broadcast take 31 of the 32 vector registers, and bias vectors held
 * across the tap loop pushed an accumulator onto the stack (a store and a reload per tap).
 * H > 0: the tile is two rows of H columns (NC = 2H), output rows oh and oh + 1, the second
 * row's inputs rs2 elements past the first's (fc_ctile_rowpair). */
FC_INLINE void fc_ctile(const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst,
                        const fc_conv_geom *g, const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out, int64_t plane,
                        int64_t oh, int64_t j0, int64_t icb, FC_V *tot, const int NC, const int NV, const int H,
                        int64_t rs2) {
    FC_V acc[FC_NCOL][2];
    const int64_t kH = g->kH, kW = g->kW, rowstep = g->rstep, taps = kH * kW, C = g->C;
    if (NV == 2) wst = 2 * FC_VL; /* the only block two vectors come in: a constant step */
    /* The taps' offsets in one table, and one loop over them per channel: the kh and kw loops
     * of 3 trips each cost spills and a multiply per row (ResNet-18's 3x3 layers on 7x7 and
     * 14x14 planes: 85 -> 95 GFLOP/s). */
    int64_t toff[FC_CTILE_TAPS];
    if (taps <= FC_CTILE_TAPS)
        for (int64_t kh = 0; kh < kH; ++kh)
            for (int64_t kw = 0; kw < kW; ++kw) toff[kh * kW + kw] = ridx[kh] * rowstep + g->xoff[kw];
/* one tap: xp the tile's first input column */
#define FC_CTILE_TAP(xp)                                                                                               \
    do {                                                                                                               \
        const FC_T *xq_ = (xp); /* one pointer: GCC gave each column its own spilled index */                          \
        FC_V wv[2];                                                                                                    \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) memcpy(&wv[v], w + v * FC_VL, sizeof(FC_V));              \
        _Pragma("GCC unroll 16") for (int c = 0; c < NC; ++c) {                                                        \
            const FC_T xv = H && c >= H ? xq_[rs2 + c - H] : xq_[c];                                                   \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) acc[c][v] += wv[v] * xv;                              \
        }                                                                                                              \
    } while (0)
    for (int64_t ic0 = 0; ic0 < C; ic0 += icb) {
        const int64_t ic1 = C - ic0 <= icb ? C : ic0 + icb;
#pragma GCC unroll 16
        for (int c = 0; c < NC; ++c)
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) acc[c][v] = (FC_V){0};
        const FC_T *w = wblk + ic0 * taps * wst;
        if (kH == 1 && kW == 1) {
            /* 1x1 layers: one loop over the channels.  The general loop nest below runs two
             * one-trip loops per channel, whose bookkeeping takes about as many instructions
             * as the FMAs. */
            const FC_T *xp = xcol + ic0 * cstep + toff[0];
            for (int64_t ic = ic0; ic < ic1; ++ic, xp += cstep, w += wst) {
                /* The next tiles' inputs into L2, 8 lines ahead: a tile reads one short run
                 * of every channel, too many streams for the hardware prefetchers, so planes
                 * bigger than the caches would wait on memory.  A tile moves at most 14
                 * elements along, so one line per channel (two for double) keeps ahead. */
                __builtin_prefetch((const char *)xp + 512, 0, 1);
                if (NC * sizeof(FC_T) > 64) __builtin_prefetch((const char *)xp + 576, 0, 1);
                FC_CTILE_TAP(xp);
            }
        } else if (taps <= FC_CTILE_TAPS) {
            const FC_T *xc = xcol + ic0 * cstep;
            /* each kernel row's next line, as for 1x1, where a channel's rows lie a plane
             * apart (read in place): 2x2 and 4x4 kernels on planes beyond the caches waited
             * on memory.  Packed bands and small planes (LeNet's) do without. */
            const int ahead = cstep * (int64_t)sizeof(FC_T) >= 4096;
            for (int64_t ic = ic0; ic < ic1; ++ic, xc += cstep) {
                if (ahead)
                    for (int64_t kh = 0; kh < kH; ++kh)
                        __builtin_prefetch((const char *)(xc + toff[kh * kW]) + 512, 0, 1);
                for (int64_t t = 0; t < taps; ++t, w += wst) FC_CTILE_TAP(xc + toff[t]);
            }
        } else {
            for (int64_t ic = ic0; ic < ic1; ++ic)
                for (int64_t kh = 0; kh < kH; ++kh) {
                    const FC_T *xr = xcol + ic * cstep + ridx[kh] * rowstep;
                    for (int64_t kw = 0; kw < kW; ++kw, w += wst) FC_CTILE_TAP(xr + g->xoff[kw]);
                }
        }
        if (fc_sum_flush(tot, &acc[0][0], NC, NV, 2, ic0, ic1, icb, C)) continue;
        if (bias != NULL) {
            FC_T bt[2 * FC_VL];
            for (int l = 0; l < NV * FC_VL; ++l) bt[l] = oc0 + l < cout ? bias[oc0 + l] : (FC_T)0;
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) {
                FC_V bv;
                memcpy(&bv, bt + v * FC_VL, sizeof(FC_V));
#pragma GCC unroll 16
                for (int c = 0; c < NC; ++c) acc[c][v] += bv;
            }
        }
        FC_T *dst = out + oc0 * plane + oh * g->osH + j0 * g->osW;
        /* two rows (H): columns [0, H) are row oh's, [H, 2H) row oh + 1's */
        const int W1 = H ? H : NC;
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            const int64_t nval = cout - oc0 - v * FC_VL < FC_VL ? cout - oc0 - v * FC_VL : FC_VL;
            if (nval <= 0) continue;
            if (plane != 1 && g->osW == 1) {
                fc_ctile_store(&acc[0][v], 2, W1, nval, dst + v * FC_VL * plane, plane, 1);
                if (H) fc_ctile_store(&acc[H][v], 2, H, nval, dst + g->osH + v * FC_VL * plane, plane, 1);
            } else {
                FC_V cols[FC_NCOL]; /* a copy: acc's address given away kept it out of registers */
#pragma GCC unroll 16
                for (int c = 0; c < NC; ++c) cols[c] = acc[c][v];
                fc_ctile_store_strided(cols, 1, W1, nval, dst + v * FC_VL * plane, plane, g->osW, g->stream);
                if (H)
                    fc_ctile_store_strided(cols + H, 1, H, nval, dst + g->osH + v * FC_VL * plane, plane, g->osW,
                                           g->stream);
            }
        }
    }
#undef FC_CTILE_TAP
}

/* One function per (columns, vectors): fc_ctile<NV>_<NC>. */
#define FC_DEF_CTILE(NAME, NC_, NV_)                                                                                   \
    FC_ATTR __attribute__((noinline)) static void NAME(                                                                \
        const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst, const fc_conv_geom *g,    \
        const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out, int64_t plane, int64_t oh, int64_t j0, int64_t icb,    \
        FC_V *tot) {                                                                                                   \
        fc_ctile(xcol, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, j0, icb, tot, NC_, NV_, 0, 0);      \
    }
/* Two-row tiles: rows oh and oh + 1 of H columns each (narrow planes), the second row's
 * inputs rs2 elements past the first's: fc_ctile2r<NV>_<H>. */
#define FC_DEF_CTILE2R(NAME, H_, NV_)                                                                                  \
    FC_ATTR __attribute__((noinline)) static void NAME(                                                                \
        const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst, const fc_conv_geom *g,    \
        const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out, int64_t plane, int64_t oh, int64_t icb, FC_V *tot,     \
        int64_t rs2) {                                                                                                 \
        fc_ctile(xcol, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, 0, icb, tot, 2 * H_, NV_, H_, rs2); \
    }
#define FC_DEF_CTILES(NC_)                                                                                             \
    FC_DEF_CTILE(fc_ctile2_##NC_, NC_, 2)                                                                              \
    FC_DEF_CTILE(fc_ctile1_##NC_, NC_, 1)
FC_DEF_CTILES(1)
FC_DEF_CTILES(2)
FC_DEF_CTILES(3)
FC_DEF_CTILES(4)
FC_DEF_CTILES(5)
FC_DEF_CTILES(6)
#if FC_NCOL > 6
FC_DEF_CTILES(7)
FC_DEF_CTILES(8)
FC_DEF_CTILES(9)
FC_DEF_CTILES(10)
FC_DEF_CTILES(11)
FC_DEF_CTILES(12)
FC_DEF_CTILES(13)
FC_DEF_CTILES(14)
#endif
#define FC_DEF_CTILES2R(H_)                                                                                            \
    FC_DEF_CTILE2R(fc_ctile2r2_##H_, H_, 2)                                                                            \
    FC_DEF_CTILE2R(fc_ctile2r1_##H_, H_, 1)
FC_DEF_CTILES2R(1)
FC_DEF_CTILES2R(2)
FC_DEF_CTILES2R(3)
#if FC_NCOL > 6
FC_DEF_CTILES2R(4)
FC_DEF_CTILES2R(5)
FC_DEF_CTILES2R(6)
FC_DEF_CTILES2R(7)
#endif
#undef FC_DEF_CTILES2R
#undef FC_DEF_CTILE2R
#undef FC_DEF_CTILES
#undef FC_DEF_CTILE

/* Channel-lane tiles over columns [0, Wo) of one output row: as few tiles as FC_NCOL allows,
 * of balanced widths.  A narrow last tile has too few accumulators to hide the FMA latency
 * (100 columns: 4 x 13 + 4 x 12, not 7 x 14 + 2).  nov vectors of channels, whose weights
 * are packed in blocks of wst channels (nov * VL, or 2 * VL for the one-vector last block of
 * a group). */
FC_INLINE void fc_ctile_row(const FC_T *xband, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst,
                            const fc_conv_geom *g, const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out,
                            int64_t plane, int64_t oh, int nov) {
    const int64_t ntile = (g->Wo + FC_NCOL - 1) / FC_NCOL;
    const int64_t icb = fc_sum_channels(g->kH * g->kW);
    FC_V tot[FC_SUM_VECS];
    for (int64_t t = 0; t < ntile; ++t) {
        const int64_t j0 = t * g->Wo / ntile, nc = (t + 1) * g->Wo / ntile - j0;
/* FC_CTN(NV, NC): the call of the NV-vector, NC-column tile */
#define FC_CTN(NV_, NC_)                                                                                               \
    fc_ctile##NV_##_##NC_(xband + j0, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, j0, icb, tot)
#define FC_CT(NC_)                                                                                                     \
    case NC_:                                                                                                          \
        if (nov == 2)                                                                                                  \
            FC_CTN(2, NC_);                                                                                            \
        else                                                                                                           \
            FC_CTN(1, NC_);                                                                                            \
        break;
        /* one case label per FC_CT, which the formatter cannot see */
        /* clang-format off */
        switch (nc) {
            FC_CT(1) FC_CT(2) FC_CT(3) FC_CT(4) FC_CT(5) FC_CT(6)
#if FC_NCOL > 6
            FC_CT(7) FC_CT(8) FC_CT(9) FC_CT(10) FC_CT(11) FC_CT(12) FC_CT(13) FC_CT(14)
#endif
            default: break;
        }
        /* clang-format on */
#undef FC_CT
#undef FC_CTN
    }
}

/* Output rows oh and oh + 1 of a plane at most FC_NCOL / 2 columns wide in one two-row tile
 * (fc_ctile2r<nov>_<Wo>): a tile of one such row has too few columns for the weight loads
 * and the FMA latency (ResNet-18's 7x7 planes).  The second row's taps read rs2 elements
 * past the first's. */
FC_INLINE void fc_ctile_rowpair(const FC_T *xband, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst,
                                const fc_conv_geom *g, const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out,
                                int64_t plane, int64_t oh, int nov, int64_t rs2) {
    const int64_t icb = fc_sum_channels(g->kH * g->kW);
    FC_V tot[FC_SUM_VECS];
#define FC_CT2(H_)                                                                                                     \
    case H_:                                                                                                           \
        if (nov == 2)                                                                                                  \
            fc_ctile2r2_##H_(xband, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, icb, tot, rs2);        \
        else                                                                                                           \
            fc_ctile2r1_##H_(xband, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, icb, tot, rs2);        \
        break;
    /* clang-format off */
    switch (g->Wo) {
        FC_CT2(1) FC_CT2(2) FC_CT2(3)
#if FC_NCOL > 6
        FC_CT2(4) FC_CT2(5) FC_CT2(6) FC_CT2(7)
#endif
        default: break;
    }
    /* clang-format on */
#undef FC_CT2
}

#endif /* FASTCONV_DIRECT_TILE_LANES_H */
