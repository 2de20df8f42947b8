/*
 * fastconv/conv_direct_impl.h - body of the direct convolution, included by conv_direct.h
 * once per (dtype, vector width) with FC_T (scalar), FC_V (vector of FC_T), FC_SUFFIX (name
 * of the kernels), FC_ATTR (their target attribute), FC_OCBW, FC_OCB_M, FC_OCB_S (output
 * channels of the wide tile and of the two smaller ones for a last block) defined; FC_PACK_SUFFIX, when defined, also emits the packers (they do not depend
 * on the vector width).  No checking is done here.
 *
 * Algorithm
 * ---------
 * A work item is (sample, group, band of output rows).  The thread first *packs* the padded
 * input rows that band reads into a private buffer laid out [C][rows][npha][Wq]: the padding
 * mode is applied there (fc_pad_index, only at the borders), and each row is split into
 * column phases, phase q holding padded columns pstart[q] + j*sw.  With one phase per
 * residue of kw*dw mod sw ("phase" layout) or one per kernel column ("tap" layout, chosen by
 * the caller when strides/dilations are so large that phases would be mostly unused), every
 * kernel tap of every output row becomes a contiguous, unit-stride vector load at offset
 * xoff[kw], whatever the stride, dilation or padding: the hot loop has no branch.
 * Rows are packed from a caller-made list too, so huge row strides/dilations pack only the
 * rows that are read; ridx[r*kH + kh] says where output row r's tap kh lies in the band.
 *
 * The microkernel keeps an OCB x (NV vectors) tile of outputs in registers - OCB output
 * channels times NV*VL adjacent output columns - and streams FMAs over (input channel,
 * kernel row, kernel column): per tap NV loads of input, OCB weight broadcasts and OCB*NV
 * FMAs.  Weights are pre-packed so the OCB weights of one tap are adjacent.  Accumulation
 * starts from the bias and stays in FC_T, in three levels: a tile call sums one block of
 * input channels, about FC_SUM_BLOCK products, in registers; the caller runs the blocks one
 * after the other, and each block's sums are added into a group total kept in memory, the
 * group total every FC_SUM_GROUP blocks into the grand total (fc_sum_flush).  One chain of
 * thousands of products (512 channels x 3 x 3) rounds every addition at the size of the
 * whole sum; the levels keep the float32 error of deep reductions below PyTorch's.  The
 * blocks are separate calls, not a loop inside the tile: the tile's loops stay those of one
 * block, with nothing but its accumulators live in the vector registers.
 */

#ifndef FC_SUM_BLOCK_DEFINED
#define FC_SUM_BLOCK_DEFINED
/* Products per register-held partial sum.  The float32 error of a sum of n products in
 * blocks of b is least for b near sqrt(n); 80 suits the reductions of real layers (hundreds
 * to tens of thousands of products), and each block costs one flush of the tile. */
#define FC_SUM_BLOCK 80
/* Blocks per group, the third level: sums of tens of thousands of products then add a few
 * dozen groups, not hundreds of blocks, into one total. */
#define FC_SUM_GROUP 16
/* Input channels per block for a kernel of `taps` taps: at least one. */
static inline int64_t fc_sum_channels(int64_t taps) {
    return taps >= FC_SUM_BLOCK ? 1 : FC_SUM_BLOCK / taps;
}
/* Runs CALL(ic0, ic1) for the blocks [ic0, ic1) of C input channels, icb at a time. */
#define FC_SUM_BLOCKS(C, icb, CALL)                                                                 \
    for (int64_t ic0_ = 0; ic0_ < (C); ic0_ += (icb)) CALL(ic0_, (C) - ic0_ <= (icb) ? (C) : ic0_ + (icb))
#endif

#define FC_VL ((int64_t)(sizeof(FC_V) / sizeof(FC_T)))

#ifdef FC_PACK_SUFFIX
#define FC_PACK_AHEAD 4 /* channels */
#ifndef FC_PACK_LIMITS_DEFINED
#define FC_PACK_LIMITS_DEFINED
#define FC_PACK_MAXQ 16 /* phases whose limits fc_pack_band works out once per call */
#define FC_PACK_MAXR 64 /* band rows whose source row it works out once per call */
/* Where phase p (its first padded column) of a packed row stops being left padding (lim[0]),
 * stops being real columns (lim[1]) and stops being right padding a kept output reads
 * (lim[2]); past lim[2] the row is zeroed. */
static inline void fc_pack_limits(const fc_conv_geom *g, int64_t p, int64_t lim[3]) {
    const int64_t sw = g->sw, Wq = g->Wq;
    const int64_t col_lo = g->pl, col_hi = g->pl + g->W;
    int64_t jlo = col_lo - p <= 0 ? 0 : (col_lo - p + sw - 1) / sw;
    int64_t jhi = col_hi - p <= 0 ? 0 : (col_hi - p + sw - 1) / sw;
    if (jhi > Wq) jhi = Wq;
    if (jlo > jhi) jlo = jhi;
    int64_t jw = g->Wp - p <= 0 ? 0 : (g->Wp - p + sw - 1) / sw;
    if (jw > Wq) jw = Wq;
    if (jw < jhi) jw = jhi;
    lim[0] = jlo;
    lim[1] = jhi;
    lim[2] = jw;
}
#endif
/* Pack the padded rows rowsrc[0 .. nrows) of all g->C channels of one group (x points at the
 * group's first channel of one sample) into dst[C][nrows][npha][Wq]. */
static void FC_PACK_SUFFIX(fc_pack_band)(const FC_T *x, const fc_conv_geom *g, const int64_t *rowsrc,
                                    int64_t nrows, FC_T fill, FC_T *dst) {
    const int64_t sw = g->sw, Wq = g->Wq, npha = g->npha;
    const int64_t col_lo = g->pl;
    /* The limits of each phase and the source row of each band row are the same for every
     * channel: worked out once here, not per row and channel (the three 64-bit divisions per
     * row and phase took a third of the packing of C6). */
    int64_t lims[FC_PACK_MAXQ][3];
    int64_t srows[FC_PACK_MAXR];
    for (int64_t q = 0; q < npha && q < FC_PACK_MAXQ; ++q) fc_pack_limits(g, g->pstart[q], lims[q]);
    for (int64_t rr = 0; rr < nrows && rr < FC_PACK_MAXR; ++rr)
        srows[rr] = fc_pad_index(rowsrc[rr] - g->pt, g->H, g->mode);
#define FC_PACK_SRC_ROW(rr) \
    ((rr) < FC_PACK_MAXR ? srows[rr] : fc_pad_index(rowsrc[rr] - g->pt, g->H, g->mode))
    /* Stride 2 with the two phases of adjacent columns (3x3 and 5x5 stride-2 layers, the
     * bands of Winograd F(2x2, 3x3)): the columns both phases hold real input, [jc0, jc1),
     * are split from one pass over the row. */
    const int fuse2 = sw == 2 && g->sW == 1 && npha == 2 && g->pstart[1] == g->pstart[0] + 1;
    int64_t jc0 = 0, jc1 = 0;
    if (fuse2) {
        jc0 = lims[0][0] > lims[1][0] ? lims[0][0] : lims[1][0];
        jc1 = lims[0][1] < lims[1][1] ? lims[0][1] : lims[1][1];
        if (jc1 < jc0) jc1 = jc0;
    }
    for (int64_t c = 0; c < g->C; ++c) {
        /* the rows of the channel FC_PACK_AHEAD on, prefetched: short rows of channels a
         * plane apart escape the hardware prefetcher, and packing then waits on each miss in
         * turn (C6, 56-column rows, stride 2: packing took a fifth of the time, now a ninth; 4.6 ->
         * 4.4 ms on 1 thread) */
        if (c + FC_PACK_AHEAD < g->C && g->sW == 1)
            for (int64_t rr = 0; rr < nrows; ++rr) {
                const int64_t sr = FC_PACK_SRC_ROW(rr);
                if (sr < 0) continue;
                fc_prefetch_bytes(x + (c + FC_PACK_AHEAD) * g->sC + sr * g->sH, g->W * (int64_t)sizeof(FC_T));
            }
        for (int64_t rr = 0; rr < nrows; ++rr) {
            FC_T *d0 = dst + ((c * nrows + rr) * npha) * Wq;
            const int64_t sr = FC_PACK_SRC_ROW(rr);
            if (sr < 0) {
                for (int64_t j = 0; j < npha * Wq; ++j) d0[j] = fill;
                continue;
            }
            const FC_T *srow = x + c * g->sC + sr * g->sH;
            if (fuse2 && jc1 > jc0) {
                const FC_T *s = srow + jc0 * 2 + g->pstart[0] - col_lo;
                FC_T *da = d0 + jc0, *db = d0 + Wq + jc0;
                for (int64_t j = 0; j < jc1 - jc0; ++j) {
                    da[j] = s[2 * j];
                    db[j] = s[2 * j + 1];
                }
            }
            for (int64_t q = 0; q < npha; ++q) {
                FC_T *d = d0 + q * Wq;
                const int64_t p = g->pstart[q];
                int64_t lim_q[3];
                const int64_t *lim = lims[q];
                if (q >= FC_PACK_MAXQ) {
                    fc_pack_limits(g, p, lim_q);
                    lim = lim_q;
                }
                /* packed positions whose padded column is a real column: [jlo, jhi) */
                const int64_t jlo = lim[0], jhi = lim[1], jw = lim[2];
                for (int64_t j = 0; j < jlo; ++j) {
                    const int64_t col = j * sw + p;
                    const int64_t s = fc_pad_index(col - col_lo, g->W, g->mode);
                    d[j] = s < 0 ? fill : srow[s * g->sW];
                }
                const int64_t base = jlo * sw + p - col_lo;
                if (fuse2) { /* the real columns the fused pass left: those only this phase
                              * reaches (at most one each side), or all when none is shared */
                    const int64_t e0 = jc0 < jhi ? jc0 : jhi, e1 = jc1 > jlo ? jc1 : jlo;
                    for (int64_t j = jlo; j < e0; ++j) d[j] = srow[j * 2 + p - col_lo];
                    for (int64_t j = e1; j < jhi; ++j) d[j] = srow[j * 2 + p - col_lo];
                } else if (sw == 1 && g->sW == 1) {
                    if (jhi > jlo) memcpy(d + jlo, srow + base, (size_t)(jhi - jlo) * sizeof(FC_T));
                } else if (sw == 2 && g->sW == 1) { /* constant stride: vectorised gather */
                    const FC_T *s = srow + base;
                    FC_T *dd = d + jlo;
                    for (int64_t j = 0; j < jhi - jlo; ++j) dd[j] = s[2 * j];
                } else if (sw == 4 && g->sW == 1) { /* (Winograd F(4x4, 3x3) bands) */
                    const FC_T *s = srow + base;
                    FC_T *dd = d + jlo;
                    for (int64_t j = 0; j < jhi - jlo; ++j) dd[j] = s[4 * j];
                } else {
                    const int64_t step = sw * g->sW;
                    const FC_T *s = srow + base * g->sW;
                    for (int64_t j = jlo; j < jhi; ++j, s += step) d[j] = *s;
                }
                /* right padding up to the last padded column a kept output reads (Wp); the
                 * row tail past it only feeds dropped lanes: zeroed in one go */
                for (int64_t j = jhi; j < jw; ++j) {
                    const int64_t s = fc_pad_index(j * sw + p - col_lo, g->W, g->mode);
                    d[j] = s < 0 ? fill : srow[s * g->sW];
                }
                if (Wq > jw) memset(d + jw, 0, (size_t)(Wq - jw) * sizeof(FC_T));
            }
        }
    }
#undef FC_PACK_SRC_ROW
}

/* Pack the weights of one group, w[oc][ic][kh][kw] with element strides ws[4], into
 * dst[ob][ic][kh][kw][ocb] with zeros for the output channels past cout. */
static void FC_PACK_SUFFIX(fc_pack_weights)(const FC_T *w, const int64_t *ws, int64_t cout, int64_t cin,
                                       int64_t kH, int64_t kW, int64_t ocb, FC_T *dst) {
    const int64_t nob = (cout + ocb - 1) / ocb;
    for (int64_t ob = 0; ob < nob; ++ob)
        for (int64_t ic = 0; ic < cin; ++ic)
            for (int64_t kh = 0; kh < kH; ++kh)
                for (int64_t kw = 0; kw < kW; ++kw)
                    for (int64_t o = 0; o < ocb; ++o) {
                        const int64_t oc = ob * ocb + o;
                        *dst++ = oc < cout ? w[oc * ws[0] + ic * ws[1] + kh * ws[2] + kw * ws[3]] : (FC_T)0;
                    }
}
#undef FC_PACK_AHEAD
#endif

#define FC_MAX_NV (FC_NV_NARROW > FC_NV_WIDE ? FC_NV_NARROW : FC_NV_WIDE)
#define FC_MAX_OCB (FC_OCBW > FC_OCB_NARROW ? FC_OCBW : FC_OCB_NARROW)
/* Vectors of the running totals of any tile: two levels of its accumulators. */
#define FC_SUM_VECS (2 * (FC_MAX_OCB * FC_MAX_NV > 2 * FC_NCOL ? FC_MAX_OCB * FC_MAX_NV : 2 * FC_NCOL))

/* The upper levels of the sums (see the head comment) over a tile's accumulators
 * acc[r * st + v], r < nr, v < nv, at the end of the block of input channels [ic0, ic1) of
 * C, icb per block.  tot holds two sets of them: tot[0 ..) the current group of blocks,
 * tot[nr * st ..) the closed groups; nothing is read from it before it is written.  A block
 * that is not the last goes up into tot (returns 1: nothing to store); the last block gets
 * the totals added (returns 0: store acc). */
FC_INLINE int FC_SUFFIX(fc_sum_flush)(FC_V *tot, FC_V *acc, const int nr, const int nv, const int st,
                                      int64_t ic0, int64_t ic1, int64_t icb, int64_t C) {
    if (ic0 == 0 && ic1 == C) return 0; /* one block: nothing to add */
    const int64_t k = ic0 / icb;
    FC_V *grp = tot, *all = tot + nr * st;
    /* one loop per case (not a test per vector) */
    if (ic1 == C) {
#pragma GCC unroll 16
        for (int r = 0; r < nr; ++r)
#pragma GCC unroll 16
            for (int v = 0; v < nv; ++v) acc[r * st + v] += grp[r * st + v] + all[r * st + v];
        return 0;
    }
    if (k == 0) {
#pragma GCC unroll 16
        for (int r = 0; r < nr; ++r)
#pragma GCC unroll 16
            for (int v = 0; v < nv; ++v) {
                all[r * st + v] = (FC_V){0};
                grp[r * st + v] = acc[r * st + v];
            }
    } else if (k % FC_SUM_GROUP == 0) {
#pragma GCC unroll 16
        for (int r = 0; r < nr; ++r)
#pragma GCC unroll 16
            for (int v = 0; v < nv; ++v) {
                all[r * st + v] += grp[r * st + v];
                grp[r * st + v] = acc[r * st + v];
            }
    } else {
#pragma GCC unroll 16
        for (int r = 0; r < nr; ++r)
#pragma GCC unroll 16
            for (int v = 0; v < nv; ++v) grp[r * st + v] += acc[r * st + v];
    }
    return 1;
}

/* One OCB x NV*VL output tile: output row oh (band row whose taps are ridx[0..kH)), columns
 * [j0, j0 + NV*VL), channels [oc0, oc0 + OCB).  xcol = band start + j0.  The weights of one
 * tap are wst apart (the packing block, >= OCB: a smaller OCB serves a last, partial block). */
FC_INLINE void FC_SUFFIX(fc_tile)(const FC_T *xcol, int64_t cstep, const int64_t *ridx,
                                  const FC_T *wblk, int64_t wst, const fc_conv_geom *g, const FC_T *bias,
                                  int64_t oc0, int64_t cout, FC_T *out, int64_t plane, int64_t oh,
                                  int64_t j0, int64_t ic0, int64_t ic1, int64_t icb, FC_V *tot,
                                  const int OCB, const int NV) {
    FC_V acc[FC_MAX_OCB][FC_MAX_NV];
#pragma GCC unroll 16
    for (int o = 0; o < OCB; ++o) {
        const FC_T b = (ic0 == 0 && bias != NULL && oc0 + o < cout) ? bias[oc0 + o] : (FC_T)0;
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[o][v] = (FC_V){0} + b;
    }
    const int64_t kH = g->kH, kW = g->kW, rowstep = g->rstep;
    const FC_T *w = wblk + ic0 * kH * kW * wst;
    for (int64_t ic = ic0; ic < ic1; ++ic) {
        for (int64_t kh = 0; kh < kH; ++kh) {
            const FC_T *xr = xcol + ic * cstep + ridx[kh] * rowstep;
            for (int64_t kw = 0; kw < kW; ++kw, w += wst) {
                const FC_T *xp = xr + g->xoff[kw];
                FC_V xv[FC_MAX_NV];
#pragma GCC unroll 16
                for (int v = 0; v < NV; ++v) memcpy(&xv[v], xp + v * FC_VL, sizeof(FC_V));
#pragma GCC unroll 16
                for (int o = 0; o < OCB; ++o) {
                    const FC_T wo = w[o];
#pragma GCC unroll 16
                    for (int v = 0; v < NV; ++v) acc[o][v] += xv[v] * wo;
                }
            }
        }
    }
    if (FC_SUFFIX(fc_sum_flush)(tot, &acc[0][0], OCB, NV, FC_MAX_NV, ic0, ic1, icb, g->C)) return;
    const int64_t n = g->Wo - j0 < NV * FC_VL ? g->Wo - j0 : NV * FC_VL;
#pragma GCC unroll 16
    for (int o = 0; o < OCB; ++o) {
        if (oc0 + o >= cout) break;
        FC_T *dst = out + (oc0 + o) * plane + oh * g->Wo + j0;
        if (n == NV * FC_VL) {
            memcpy(dst, &acc[o][0], (size_t)NV * sizeof(FC_V));
        } else {
            FC_T tmp[FC_MAX_NV * FC_VL];
            memcpy(tmp, &acc[o][0], (size_t)NV * sizeof(FC_V));
            memcpy(dst, tmp, (size_t)n * sizeof(FC_T));
        }
    }
}

/* The tile shapes used, each its own function: inlined together into one caller, the
 * variants left the register allocator spilling accumulators of the smaller ones. */
#define FC_DEF_TILE(NAME, OCB_, NV_)                                                                \
    FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(NAME)(                                  \
        const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst,         \
        const fc_conv_geom *g, const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out, int64_t plane, \
        int64_t oh, int64_t j0, int64_t ic0, int64_t ic1, int64_t icb, FC_V *tot) {                 \
        FC_SUFFIX(fc_tile)(xcol, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, j0, ic0, ic1, \
                           icb, tot, OCB_, NV_);                                                    \
    }
FC_DEF_TILE(fc_tile_full, FC_OCBW, FC_NV_WIDE)
FC_DEF_TILE(fc_tile_full1, FC_OCBW, 1)
FC_DEF_TILE(fc_tile_mid, FC_OCB_M, FC_NV_WIDE)
FC_DEF_TILE(fc_tile_mid1, FC_OCB_M, 1)
FC_DEF_TILE(fc_tile_small, FC_OCB_S, FC_NV_WIDE)
FC_DEF_TILE(fc_tile_small1, FC_OCB_S, 1)
FC_DEF_TILE(fc_tile_narrow, FC_OCB_NARROW, FC_NV_NARROW)
#undef FC_DEF_TILE

/* Lane selectors for FC_SHUFFLE2 over two FC_V: the signed integer vector type of the
 * same shape (what comparing two FC_V gives). */
typedef __typeof__((FC_V){0} < (FC_V){0}) FC_SUFFIX(fc_sel);


/* Interleave a and b: lo = a0 b0 a1 b1 ... (their first halves), hi = the second halves. */
FC_INLINE void FC_SUFFIX(fc_zip)(FC_V a, FC_V b, FC_V *lo, FC_V *hi) {
    FC_SUFFIX(fc_sel) sl, sh;
#pragma GCC unroll 16
    for (int l = 0; l < FC_VL; ++l) {
        sl[l] = (l & 1 ? FC_VL : 0) + l / 2;
        sh[l] = sl[l] + FC_VL / 2;
    }
    *lo = FC_SHUFFLE2(a, b, sl);
    *hi = FC_SHUFFLE2(a, b, sh);
}

/* Interleave the K (a power of 2, <= 16) vectors a[k] lane by lane: out = a[0][0] a[1][0] ...
 * a[K-1][0] a[0][1] ... over K vectors, by log2(K) rounds of pairwise zips (a perfect
 * shuffle; K is a constant after inlining, so a[] stays in registers).  With K = VL this
 * transposes a VL x VL block: vector k then holds lane k of every a[j]. */
FC_INLINE void FC_SUFFIX(fc_zipn)(FC_V *a, int K) {
    FC_V b[16];
    for (int h = 1; h < K; h *= 2) {
#pragma GCC unroll 16
        for (int i = 0; i < K / 2; ++i) FC_SUFFIX(fc_zip)(a[i], a[i + K / 2], &b[2 * i], &b[2 * i + 1]);
#pragma GCC unroll 16
        for (int i = 0; i < K; ++i) a[i] = b[i];
    }
}

/* Store channel-lane accumulators: cols[c * cst] (c < NC) holds output column c of VL
 * channels; channel o < nval gets its NC columns at dst + o * plane.  VL columns at a time
 * are transposed in registers (fc_zipn over VL vectors), then each channel's run is one
 * store of nc elements: 16 channels x 14 columns cost about 64 shuffles and 16 stores where
 * a scalar transpose through memory cost 224 loads and stores (C4, 1x1 128 -> 32 channels:
 * 15% of the time). */
FC_INLINE void FC_SUFFIX(fc_ctile_store)(const FC_V *cols, int cst, const int NC, int64_t nval,
                                         FC_T *dst, int64_t plane) {
#pragma GCC unroll 2
    for (int c0 = 0; c0 < NC; c0 += FC_VL) {
        const int nc = NC - c0 < FC_VL ? NC - c0 : FC_VL;
        FC_V t[FC_VL];
#pragma GCC unroll 16
        for (int c = 0; c < FC_VL; ++c) t[c] = c < nc ? cols[(c0 + c) * cst] : (FC_V){0};
        FC_SUFFIX(fc_zipn)(t, FC_VL);
#pragma GCC unroll 16
        for (int o = 0; o < FC_VL; ++o)
            if (o < nval) memcpy(dst + o * plane + c0, &t[o], (size_t)nc * sizeof(FC_T));
    }
}

/* Channel-lane tile: the vector lanes hold NV*VL output channels (NV = 1 or 2 vectors) and
 * the tile covers NC <= FC_NCOL adjacent output columns of one row, so no lane is wasted when
 * the channel count is a multiple of VL, whatever the output width (the column tiles above
 * waste lanes when Wo is not a multiple of their width: 56 columns fill 64 lanes).  Per tap:
 * NV weight-vector loads, NC input scalars broadcast, NV*NC FMAs.  The weights of one tap
 * are wst apart (the packing block: NV*VL, or 2*VL for a one-vector last block).  The
 * accumulators hold (column, channel) and are transposed in registers on the way out
 * (fc_ctile_store), a cost that the tap count (>= the caller's threshold) hides.  One vector
 * of channels serves narrow rows, where the column tiles would leave most lanes empty, and
 * the last VL channels of a group packed in blocks of 2*VL. */
FC_INLINE void FC_SUFFIX(fc_ctile)(const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk,
                                   int64_t wst, const fc_conv_geom *g, const FC_T *bias, int64_t oc0,
                                   int64_t cout, FC_T *out, int64_t plane, int64_t oh, int64_t j0,
                                   int64_t ic0, int64_t ic1, int64_t icb, FC_V *tot, const int NC, const int NV) {
    FC_V acc[FC_NCOL][2];
    FC_V bv[2] = {(FC_V){0}, (FC_V){0}};
    if (ic0 == 0 && bias != NULL) { /* the first block starts from the bias */
        FC_T bt[2 * FC_VL];
        for (int l = 0; l < NV * FC_VL; ++l) bt[l] = oc0 + l < cout ? bias[oc0 + l] : (FC_T)0;
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) memcpy(&bv[v], bt + v * FC_VL, sizeof(FC_V));
    }
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[c][v] = bv[v];
    const int64_t kH = g->kH, kW = g->kW, rowstep = g->rstep;
    if (NV == 2) wst = 2 * FC_VL; /* the only block two vectors come in: a constant step */
    const FC_T *w = wblk + ic0 * kH * kW * wst;
#define FC_CTILE_TAP(xp)                                                                            \
    do {                                                                                            \
        const FC_T *xq_ = (xp); /* one pointer: GCC gave each column its own spilled index */   \
        FC_V wv[2];                                                                                 \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) memcpy(&wv[v], w + v * FC_VL, sizeof(FC_V)); \
        _Pragma("GCC unroll 16") for (int c = 0; c < NC; ++c) {                                     \
            const FC_T xv = xq_[c];                                                                 \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) acc[c][v] += wv[v] * xv;           \
        }                                                                                           \
    } while (0)
    if (kH == 1 && kW == 1) {
        /* 1x1 layers: one loop over the channels.  The general loop nest below runs two
         * one-trip loops per channel, whose bookkeeping took about as many instructions as
         * the FMAs (C4, 1x1 128 -> 32 channels: 212 -> 235 GF/s on 1 thread). */
        const FC_T *xp = xcol + ic0 * cstep + ridx[0] * rowstep + g->xoff[0];
        for (int64_t ic = ic0; ic < ic1; ++ic, xp += cstep, w += wst) {
            /* The next tiles' inputs into L2, 8 lines ahead: a tile reads one short run of
             * every channel, too many streams for the hardware prefetchers, so planes
             * bigger than the caches waited on memory (1x1 128 -> 32 channels on 400 x
             * 400, float32, 1 thread: 113 -> 200 GF/s).  A tile moves at most 14
             * elements along, so one line per channel (two for double) keeps ahead. */
            __builtin_prefetch((const char *)xp + 512, 0, 1);
            if (NC * sizeof(FC_T) > 64) __builtin_prefetch((const char *)xp + 576, 0, 1);
            FC_CTILE_TAP(xp);
        }
    } else {
        for (int64_t ic = ic0; ic < ic1; ++ic)
            for (int64_t kh = 0; kh < kH; ++kh) {
                const FC_T *xr = xcol + ic * cstep + ridx[kh] * rowstep;
                for (int64_t kw = 0; kw < kW; ++kw, w += wst) FC_CTILE_TAP(xr + g->xoff[kw]);
            }
    }
#undef FC_CTILE_TAP
    if (FC_SUFFIX(fc_sum_flush)(tot, &acc[0][0], NC, NV, 2, ic0, ic1, icb, g->C)) return;
    FC_T *dst = out + oc0 * plane + oh * g->Wo + j0;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
        const int64_t nval = cout - oc0 - v * FC_VL < FC_VL ? cout - oc0 - v * FC_VL : FC_VL;
        if (nval > 0) FC_SUFFIX(fc_ctile_store)(&acc[0][v], 2, NC, nval, dst + v * FC_VL * plane, plane);
    }
}

/* One function per (columns, vectors). */
#define FC_DEF_CTILE(NC_)                                                                          \
    FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(fc_ctile2_##NC_)(                      \
        const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst,         \
        const fc_conv_geom *g, const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out, int64_t plane, \
        int64_t oh, int64_t j0, int64_t ic0, int64_t ic1, int64_t icb, FC_V *tot) {                 \
        FC_SUFFIX(fc_ctile)(xcol, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, j0, ic0, ic1, \
                            icb, tot, NC_, 2);                                                      \
    }                                                                                               \
    FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(fc_ctile1_##NC_)(                      \
        const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst,         \
        const fc_conv_geom *g, const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out, int64_t plane, \
        int64_t oh, int64_t j0, int64_t ic0, int64_t ic1, int64_t icb, FC_V *tot) {                 \
        FC_SUFFIX(fc_ctile)(xcol, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, j0, ic0, ic1, \
                            icb, tot, NC_, 1);                                                      \
    }
FC_DEF_CTILE(1)
FC_DEF_CTILE(2)
FC_DEF_CTILE(3)
FC_DEF_CTILE(4)
FC_DEF_CTILE(5)
FC_DEF_CTILE(6)
#if FC_NCOL > 6
FC_DEF_CTILE(7)
FC_DEF_CTILE(8)
FC_DEF_CTILE(9)
FC_DEF_CTILE(10)
FC_DEF_CTILE(11)
FC_DEF_CTILE(12)
FC_DEF_CTILE(13)
FC_DEF_CTILE(14)
#endif
#undef FC_DEF_CTILE

/* Channel-lane tiles over columns [0, Wo) of one output row: as few tiles as FC_NCOL allows,
 * of balanced widths.  A narrow last tile has too few accumulators to hide the FMA latency
 * (C4, 100 columns: a 2-column tail after 7 x 14 took 6.5% of the time for 2% of the work;
 * now 4 x 13 + 4 x 12).  nov vectors of channels, whose weights are packed in blocks of wst
 * channels (nov * VL, or 2 * VL for the one-vector last block of a group). */
FC_INLINE void FC_SUFFIX(fc_ctile_row)(const FC_T *xband, int64_t cstep, const int64_t *ridx, const FC_T *wblk,
                                       int64_t wst, const fc_conv_geom *g, const FC_T *bias, int64_t oc0,
                                       int64_t cout, FC_T *out, int64_t plane, int64_t oh, int nov) {
    const int64_t ntile = (g->Wo + FC_NCOL - 1) / FC_NCOL;
    const int64_t icb = fc_sum_channels(g->kH * g->kW);
    FC_V tot[FC_SUM_VECS];
    for (int64_t t = 0; t < ntile; ++t) {
        const int64_t j0 = t * g->Wo / ntile, nc = (t + 1) * g->Wo / ntile - j0;
/* FC_CTN(NV, NC)(ic0, ic1): the call of the NV-vector, NC-column tile for one block */
#define FC_CTN(NV_, NC_) FC_SUFFIX(fc_ctile##NV_##_##NC_)FC_CTARGS
#define FC_CTARGS(a, b) (xband + j0, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, j0, a, b, icb, tot)
#define FC_CT(NC_)                                                                                  \
    case NC_:                                                                                       \
        if (nov == 2)                                                                               \
            FC_SUM_BLOCKS(g->C, icb, FC_CTN(2, NC_));                                               \
        else                                                                                        \
            FC_SUM_BLOCKS(g->C, icb, FC_CTN(1, NC_));                                               \
        break;
        switch (nc) {
            FC_CT(1) FC_CT(2) FC_CT(3) FC_CT(4) FC_CT(5) FC_CT(6)
#if FC_NCOL > 6
            FC_CT(7) FC_CT(8) FC_CT(9) FC_CT(10) FC_CT(11) FC_CT(12) FC_CT(13) FC_CT(14)
#endif
            default: break;
        }
#undef FC_CT
#undef FC_CTN
#undef FC_CTARGS
    }
}

/* One band row xr of fc_tile_rows: output row r reads it with kernel row wr[r] (NULL: not at
 * all).  all: no wr[r] is NULL, and the test per output row and tap is left out (AVX-512,
 * 1 thread: C8, 15 x 15 on a 1024^2 plane, 2.78 -> 2.6-2.7 ms, 7x7 to 25x25 2-7% faster;
 * AVX2 level). */
FC_INLINE void FC_SUFFIX(fc_tile_rows_row)(const FC_T *xr, const FC_T *const *wr, const int64_t *xoff,
                                           int64_t kW, FC_V acc[][FC_NV_WIDE], const int all) {
    for (int64_t kw = 0; kw < kW; ++kw) {
        const FC_T *xp = xr + xoff[kw];
        FC_V xv[FC_NV_WIDE];
#pragma GCC unroll 16
        for (int v = 0; v < FC_NV_WIDE; ++v) memcpy(&xv[v], xp + v * FC_VL, sizeof(FC_V));
#pragma GCC unroll 16
        for (int r = 0; r < FC_RB; ++r) {
            if (!all && wr[r] == NULL) continue;
            const FC_T wv = wr[r][kw];
#pragma GCC unroll 16
            for (int v = 0; v < FC_NV_WIDE; ++v) acc[r][v] += xv[v] * wv;
        }
    }
}

/* One-output-channel tile over rb <= FC_RB output rows (band rows r0 .. r0 + rb - 1; stride and
 * dilation 1 in height, rows packed contiguously): each input row vector is loaded once and feeds every
 * output row of the tile that reads it, instead of once per output row. */
FC_INLINE void FC_SUFFIX(fc_tile_rows)(const FC_T *xcol, int64_t cstep, int64_t r0, int64_t rb,
                                       const FC_T *wblk, const fc_conv_geom *g, FC_T b, FC_T *out,
                                       int64_t oh, int64_t j0, int64_t ic0, int64_t ic1, int64_t icb,
                                       FC_V *tot) {
    FC_V acc[FC_RB][FC_NV_WIDE];
    if (ic0 > 0) b = 0;
#pragma GCC unroll 16
    for (int r = 0; r < FC_RB; ++r)
#pragma GCC unroll 16
        for (int v = 0; v < FC_NV_WIDE; ++v) acc[r][v] = (FC_V){0} + b;
    const int64_t kH = g->kH, kW = g->kW, rowstep = g->rstep;
    const int64_t span = rb - 1 + kH;  /* dilation 1 in height: output row r reads rows r .. r+kH-1 */
    for (int64_t ic = ic0; ic < ic1; ++ic) {
        const FC_T *wc = wblk + ic * kH * kW;
        for (int64_t i = 0; i < span; ++i) {
            const FC_T *xr = xcol + ic * cstep + (r0 + i) * rowstep;
            const FC_T *wr[FC_RB];
#pragma GCC unroll 16
            for (int r = 0; r < FC_RB; ++r) {
                const int64_t kh = i - r;
                wr[r] = (r < rb && kh >= 0 && kh < kH) ? wc + kh * kW : NULL;
            }
            /* every output row of a full tile reads all but its first and last FC_RB - 1 rows */
            if (rb == FC_RB && i >= FC_RB - 1 && i < kH)
                FC_SUFFIX(fc_tile_rows_row)(xr, wr, g->xoff, kW, acc, 1);
            else
                FC_SUFFIX(fc_tile_rows_row)(xr, wr, g->xoff, kW, acc, 0);
        }
    }
    if (FC_SUFFIX(fc_sum_flush)(tot, &acc[0][0], FC_RB, FC_NV_WIDE, FC_NV_WIDE, ic0, ic1, icb, g->C)) return;
    const int64_t n = g->Wo - j0 < FC_NV_WIDE * FC_VL ? g->Wo - j0 : FC_NV_WIDE * FC_VL;
    for (int64_t r = 0; r < rb; ++r) {
        FC_T *dst = out + (oh + r) * g->Wo + j0;
        FC_T tmp[FC_NV_WIDE * FC_VL];
        memcpy(tmp, &acc[r][0], (size_t)FC_NV_WIDE * sizeof(FC_V));
        memcpy(dst, tmp, (size_t)n * sizeof(FC_T));
    }
}

/* Compute output rows [oh0, oh0 + R) of the `cout` output channels of one group from the
 * band xband and packed weights (block size ocb, 1 or FC_OCBW).  The band's channels lie
 * cstep elements apart and its rows g->rstep apart: a packed band [C][nrows][npha][Wq]
 * (cstep = nrows * npha * Wq), or - channel-lane tiles only, which read exactly the columns
 * they need - the input itself where no padding is read.  ridx[r*kH + kh] is the band row of
 * output row oh0+r's tap kh.  out points at the group's first output plane of this sample;
 * plane = Ho*Wo.  Packed rows hold at least Wo rounded up to FC_NV_WIDE (wide tile) or
 * FC_NV_NARROW (narrow) vectors. */
FC_ATTR
static void FC_SUFFIX(fc_conv_band)(const FC_T *xband, int64_t cstep, const int64_t *ridx,
                                    const FC_T *wpack, int64_t ocb, const FC_T *bias, int64_t cout,
                                    const fc_conv_geom *g, int64_t oh0, int64_t R, FC_T *out,
                                    int64_t plane) {
    const int64_t nob = (cout + ocb - 1) / ocb;
    const int64_t wblock = g->C * g->kH * g->kW * ocb;
    const int64_t icb = fc_sum_channels(g->kH * g->kW);
    FC_V tot[FC_SUM_VECS]; /* the tiles' running totals (see fc_sum_flush) */
    if ((ocb == 2 * FC_VL || ocb == FC_VL) && ocb != FC_OCBW) { /* channel-lane tiles (fc_ctile) */
        for (int64_t ob = 0; ob < nob; ++ob) {
            /* a last block of at most VL channels (48 = 32 + 16): the one-vector tile */
            const int nov = ocb == FC_VL || cout - ob * ocb <= FC_VL ? 1 : 2;
            for (int64_t r = 0; r < R; ++r)
                FC_SUFFIX(fc_ctile_row)(xband, cstep, ridx + r * g->kH, wpack + ob * wblock, ocb, g, bias,
                                        ob * ocb, cout, out, plane, oh0 + r, nov);
        }
        return;
    }
    if (ocb > 1) { /* ocb == FC_OCBW */
        /* Tiles of FC_OCBW channels x FC_NV_WIDE vectors; a last column tile of at most one
         * vector uses one, and a last channel block of at most FC_OCB_M or FC_OCB_S channels
         * a smaller tile, so small shapes waste fewer lanes. */
        const int64_t vw = FC_NV_WIDE * FC_VL;
        for (int64_t ob = 0; ob < nob; ++ob) {
            const int64_t left = cout - ob * ocb < ocb ? cout - ob * ocb : ocb;
            const FC_T *wb = wpack + ob * wblock;
            for (int64_t r = 0; r < R; ++r)
                for (int64_t j0 = 0; j0 < g->Wo; j0 += vw) {
                    const int one = g->Wo - j0 <= FC_VL;
#define FC_TILE_ARGS(a, b)                                                                         \
    (xband + j0, cstep, ridx + r * g->kH, wb, ocb, g, bias, ob * ocb, cout, out, plane, oh0 + r, j0, a, b, icb, tot)
#define FC_TILE_CALL(NAME) FC_SUM_BLOCKS(g->C, icb, FC_SUFFIX(NAME)FC_TILE_ARGS)
                    if (left <= FC_OCB_S) {
                        if (one) FC_TILE_CALL(fc_tile_small1); else FC_TILE_CALL(fc_tile_small);
                    } else if (left <= FC_OCB_M) {
                        if (one) FC_TILE_CALL(fc_tile_mid1); else FC_TILE_CALL(fc_tile_mid);
                    } else if (one) {
                        FC_TILE_CALL(fc_tile_full1);
                    } else {
                        FC_TILE_CALL(fc_tile_full);
                    }
#undef FC_TILE_CALL
#undef FC_TILE_ARGS
                }
        }
    } else {
        /* rows packed densely (stride 1 in height, contiguous band): the row-blocked tile */
        int dense = g->sh == 1 && g->dh == 1 && g->kH >= FC_RB_MIN_KH;
        for (int64_t r = 0; dense && r < R; ++r)
            for (int64_t kh = 0; kh < g->kH; ++kh)
                if (ridx[r * g->kH + kh] != r + kh * g->dh) dense = 0;
        if (dense) {
            const int64_t vw = FC_NV_WIDE * FC_VL;
            for (int64_t ob = 0; ob < nob; ++ob) {
                const FC_T b = bias != NULL ? bias[ob] : (FC_T)0;
                for (int64_t r = 0; r < R; r += FC_RB) {
                    const int64_t rb = R - r < FC_RB ? R - r : FC_RB;
                    for (int64_t j0 = 0; j0 < g->Wo; j0 += vw) {
#define FC_ROWS_ARGS(a, c) (xband + j0, cstep, r, rb, wpack + ob * wblock, g, b, out + ob * plane, oh0 + r, j0, a, c, icb, tot)
                        FC_SUM_BLOCKS(g->C, icb, FC_SUFFIX(fc_tile_rows)FC_ROWS_ARGS);
#undef FC_ROWS_ARGS
                    }
                }
            }
            return;
        }
        const int64_t vw = FC_NV_NARROW * FC_VL;
        for (int64_t ob = 0; ob < nob; ++ob)
            for (int64_t r = 0; r < R; ++r)
                for (int64_t j0 = 0; j0 < g->Wo; j0 += vw) {
#define FC_NARROW_ARGS(a, b)                                                                       \
    (xband + j0, cstep, ridx + r * g->kH, wpack + ob * wblock, 1, g, bias, ob * ocb, cout, out, plane, oh0 + r, j0, \
     a, b, icb, tot)
                    FC_SUM_BLOCKS(g->C, icb, FC_SUFFIX(fc_tile_narrow)FC_NARROW_ARGS);
#undef FC_NARROW_ARGS
                }
    }
}

/* ---- In-place kernel: one input channel per output channel (depthwise, single-channel) ----
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
 * out-of-order core overlaps one block's stores with the next block's FMAs. */

/* RB rows of the strip: output row r's tap kh reads rows[r*sh + kh*dh] + c0 + kw*dw. */
FC_INLINE void FC_SUFFIX(fc_dw_block)(const FC_T *const *rows, int64_t sh, int64_t dh, const FC_T *w,
                                      int64_t kH, int64_t kW, int64_t dw, FC_T b, int64_t c0, FC_T *dst,
                                      int64_t ldd, const int RB, const int KW) {
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
                acc[r] += xv * wv;
            }
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < RB; ++r) memcpy(dst + r * ldd, &acc[r], sizeof(FC_V));
}

/* A strip of n output rows (dst rows ldd apart), VL columns.  One function per kernel width
 * KW (0: any), since a kernel row unrolled at compile time runs about twice as fast as the
 * loop over kW for the small kernels depthwise layers use. */
#define FC_DEF_DW_STRIP(KW_)                                                                        \
    FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(fc_dw_strip_##KW_)(                    \
        const FC_T *const *rows, int64_t sh, int64_t dh, int64_t n, const FC_T *w, int64_t kH,     \
        int64_t kW, int64_t dw, FC_T b, int64_t c0, FC_T *dst, int64_t ldd) {                      \
        int64_t r = 0;                                                                              \
        for (; r + FC_RB <= n; r += FC_RB)                                                          \
            FC_SUFFIX(fc_dw_block)(rows + r * sh, sh, dh, w, kH, kW, dw, b, c0, dst + r * ldd, ldd, FC_RB, KW_); \
        for (; r < n; ++r)                                                                          \
            FC_SUFFIX(fc_dw_block)(rows + r * sh, sh, dh, w, kH, kW, dw, b, c0, dst + r * ldd, ldd, 1, KW_); \
    }
FC_DEF_DW_STRIP(0)
FC_DEF_DW_STRIP(3)
FC_DEF_DW_STRIP(5)
FC_DEF_DW_STRIP(7)
#undef FC_DEF_DW_STRIP

/* The same for a KS x KS kernel with unit stride and dilation (the common depthwise layers):
 * the taps are broadcast into registers once per strip and each block's row pointers are
 * adjacent.  For 3x3 this took C7 (depthwise, 56 x 56 planes) from 1.52 to 1.22 ms on one
 * thread; unpadded planes in cache from 1.12 to 0.86 us each.  5x5 on 56 x 56 planes (8 x 32
 * of them): 0.67 -> 0.46 ms. */
#define FC_DEF_DW_STRIP_SQ(KS)                                                                      \
    FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(fc_dw_strip_sq##KS)(                    \
        const FC_T *const *rows, int64_t n, const FC_T *w, FC_T b, int64_t c0, FC_T *dst, int64_t ldd) { \
        FC_V wv[KS * KS];                                                                           \
        _Pragma("GCC unroll 32") for (int t = 0; t < KS * KS; ++t) wv[t] = (FC_V){0} + w[t];       \
        int64_t r = 0;                                                                              \
        for (; r + FC_RB <= n; r += FC_RB) {                                                        \
            FC_V acc[FC_RB];                                                                        \
            _Pragma("GCC unroll 16") for (int i = 0; i < FC_RB; ++i) acc[i] = (FC_V){0} + b;        \
            _Pragma("GCC unroll 8") for (int kh = 0; kh < KS; ++kh)                                 \
                _Pragma("GCC unroll 16") for (int i = 0; i < FC_RB; ++i) {                          \
                    const FC_T *xr = rows[r + i + kh] + c0;                                         \
                    _Pragma("GCC unroll 8") for (int kw = 0; kw < KS; ++kw) {                       \
                        FC_V xv;                                                                    \
                        memcpy(&xv, xr + kw, sizeof(FC_V));                                         \
                        acc[i] += xv * wv[kh * KS + kw];                                            \
                    }                                                                               \
                }                                                                                   \
            _Pragma("GCC unroll 16") for (int i = 0; i < FC_RB; ++i)                                \
                memcpy(dst + (r + i) * ldd, &acc[i], sizeof(FC_V));                                 \
        }                                                                                           \
        for (; r < n; ++r) {                                                                        \
            FC_V acc = (FC_V){0} + b;                                                               \
            _Pragma("GCC unroll 8") for (int kh = 0; kh < KS; ++kh) {                               \
                const FC_T *xr = rows[r + kh] + c0;                                                 \
                _Pragma("GCC unroll 8") for (int kw = 0; kw < KS; ++kw) {                           \
                    FC_V xv;                                                                        \
                    memcpy(&xv, xr + kw, sizeof(FC_V));                                             \
                    acc += xv * wv[kh * KS + kw];                                                   \
                }                                                                                   \
            }                                                                                       \
            memcpy(dst + r * ldd, &acc, sizeof(FC_V));                                              \
        }                                                                                           \
    }
FC_DEF_DW_STRIP_SQ(3)
FC_DEF_DW_STRIP_SQ(5)
#undef FC_DEF_DW_STRIP_SQ

/* An edge chunk of the 3x3 unit-stride strip when the padded columns hold one constant
 * (zero padding, correlate2d's fill): tap kw's vector is loaded at off[kw] of its row, a
 * position inside [0, W - VL], and rearranged by sel[kw], whose lanes >= VL take the fill.
 * One shuffle per load replaces the edge buffer (rows of copied columns built for each edge
 * chunk), which cost a third of C7's time on 2 threads. */
FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(fc_dw_strip_sq3_edge)(
    const FC_T *const *rows, int64_t n, const FC_T *w, FC_T b, const int64_t *off,
    const FC_SUFFIX(fc_sel) *sel, FC_T fill, FC_T *dst, int64_t ldd) {
    FC_V wv[9];
#pragma GCC unroll 16
    for (int t = 0; t < 9; ++t) wv[t] = (FC_V){0} + w[t];
    const FC_V fv = (FC_V){0} + fill;
    const FC_SUFFIX(fc_sel) s0 = sel[0], s1 = sel[1], s2 = sel[2];
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

/* The sweep below sums each output row in FC_SWEEP_NC accumulators, tap row kh going to
 * accumulator kh % FC_SWEEP_NC: with one, the RB rows were RB chains of KS * KS dependent
 * FMAs, and the FMA latency, not their throughput, set the pace (5x5 on 4096-float rows:
 * 4.2 ns per output vector with one, 3.3 with three, near the two-FMAs-a-cycle bound; three
 * beat two and four on AVX2 too).  The taps then no longer all fit in registers beside the
 * 12 accumulators, and are read from memory as FMA operands.  3x3 (9 FMAs a row) is bound
 * by memory traffic instead and keeps one chain: the extra adds made it 2% slower. */
#define FC_SWEEP_NC 3
FC_INLINE void FC_SUFFIX(fc_sweep_init)(FC_V acc[][FC_SWEEP_NC], FC_V bv, const int RB, const int NC) {
#pragma GCC unroll 16
    for (int i = 0; i < RB; ++i) {
        acc[i][0] = bv;
#pragma GCC unroll 4
        for (int k = 1; k < NC; ++k) acc[i][k] = (FC_V){0};
    }
}
FC_INLINE void FC_SUFFIX(fc_sweep_fold)(FC_V *acc, const int NC) { /* the sum into acc[0] */
#pragma GCC unroll 4
    for (int k = 1; k < NC; ++k) acc[0] += acc[k];
}

/* Wide rows: RB output rows (dst rows ldd apart) of a KS x KS unit-stride kernel swept
 * across output columns [a, e), e - a >= VL, whose taps all fall inside the input rows
 * (output column c, tap kw reads input column c - pl + kw of rows[i + kh]).  Walking along
 * the rows instead of down a strip keeps the RB + KS - 1 input rows as a few sequential
 * streams and stores whole output rows in order, so no buffer is needed however wide the
 * plane; each shifted input vector is loaded once and feeds up to KS output rows (5x5: 40
 * loads for 100 FMAs), and the taps are broadcast once per sweep (3x3: kept in registers;
 * 5x5: FMA memory operands, see above).  nt: store the two-load chunks with streaming
 * (non-temporal) stores where FC_STREAM exists, the chunks after the first moved to
 * vector-aligned outputs; for outputs far bigger than the caches, whose lines would
 * otherwise be read from memory before being overwritten (C9 with out=, 2 threads: 3.9 ->
 * 3.3 ms).  The caller fences. */
FC_INLINE void FC_SUFFIX(fc_dw_sweep_block)(const FC_T *const *rows, const FC_V *wv, FC_V bv, int64_t W,
                                            int64_t pl, int64_t a, int64_t e, FC_T *dst, int64_t ldd, const int RB,
                                            const int KS, int nt) {
    const FC_T *xr[FC_RB + 7];
#pragma GCC unroll 16
    for (int q = 0; q < RB + KS - 1; ++q) xr[q] = rows[q] - pl; /* indexed from column pl on */
    const int NC = KS >= 5 ? FC_SWEEP_NC : 1;                    /* accumulator chains a row */
    int64_t c = a;
#ifdef FC_STREAM
    /* streaming stores: the chunks after the first start at vector-aligned outputs */
    int64_t next = a + FC_VL;
    if (nt) {
        const int64_t off = (int64_t)(((uintptr_t)(dst + a) / sizeof(FC_T)) % FC_VL);
        if (off) next = a + FC_VL - off;
    }
#else
    (void)nt;
    const int64_t next = a + FC_VL;
#endif
    /* chunks whose next VL input columns are inside the row too: two loads per row, the
     * KS shifted vectors taken from the pair by lane shifts (valignd on AVX-512) */
    for (; c + FC_VL <= e && c - pl + 2 * FC_VL <= W; c = c == a ? next : c + FC_VL) {
        FC_V acc[FC_RB][FC_SWEEP_NC];
        FC_SUFFIX(fc_sweep_init)(acc, bv, RB, NC);
#pragma GCC unroll 16
        for (int q = 0; q < RB + KS - 1; ++q) {
            FC_V lo, hi;
            memcpy(&lo, xr[q] + c, sizeof(FC_V));
            memcpy(&hi, xr[q] + c + FC_VL, sizeof(FC_V));
#pragma GCC unroll 8
            for (int kw = 0; kw < KS; ++kw) {
#ifdef FC_ALIGNR
                const FC_V v = FC_ALIGNR(lo, hi, kw);
#else
                FC_SUFFIX(fc_sel) sel;
#pragma GCC unroll 16
                for (int l = 0; l < FC_VL; ++l) sel[l] = l + kw;
                const FC_V v = kw == 0 ? lo : FC_SHUFFLE2(lo, hi, sel);
#endif
#pragma GCC unroll 8
                for (int kh = 0; kh < KS; ++kh)
                    if (q - kh >= 0 && q - kh < RB) acc[q - kh][kh % NC] += v * wv[kh * KS + kw];
            }
        }
#ifdef FC_STREAM
        if (nt && ((uintptr_t)(dst + c) & (sizeof(FC_V) - 1)) == 0) {
#pragma GCC unroll 16
            for (int i = 0; i < RB; ++i) {
                FC_SUFFIX(fc_sweep_fold)(acc[i], NC);
                FC_STREAM(dst + i * ldd + c, acc[i][0]);
            }
            continue;
        }
#endif
#pragma GCC unroll 16
        for (int i = 0; i < RB; ++i) {
            FC_SUFFIX(fc_sweep_fold)(acc[i], NC);
            memcpy(dst + i * ldd + c, &acc[i][0], sizeof(FC_V));
        }
    }
    if (c >= e) return;
    for (;; c += FC_VL) {
        if (c + FC_VL > e) c = e - FC_VL; /* the last chunk shifted left to end at e */
        FC_V acc[FC_RB][FC_SWEEP_NC];
        FC_SUFFIX(fc_sweep_init)(acc, bv, RB, NC);
#pragma GCC unroll 16
        for (int q = 0; q < RB + KS - 1; ++q)
#pragma GCC unroll 8
            for (int kw = 0; kw < KS; ++kw) {
                FC_V v;
                memcpy(&v, xr[q] + c + kw, sizeof(FC_V));
#pragma GCC unroll 8
                for (int kh = 0; kh < KS; ++kh)
                    if (q - kh >= 0 && q - kh < RB) acc[q - kh][kh % NC] += v * wv[kh * KS + kw];
            }
#pragma GCC unroll 16
        for (int i = 0; i < RB; ++i) {
            FC_SUFFIX(fc_sweep_fold)(acc[i], NC);
            memcpy(dst + i * ldd + c, &acc[i][0], sizeof(FC_V));
        }
        if (c + FC_VL >= e) break;
    }
}

/* n output rows of the sweep; rows[r + kh] is output row r's tap row kh. */
#define FC_DEF_DW_SWEEP(KS)                                                                         \
    FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(fc_dw_sweep_sq##KS)(                    \
        const FC_T *const *rows, int64_t n, const FC_T *w, FC_T b, int64_t W, int64_t pl, int64_t a, \
        int64_t e, FC_T *dst, int64_t ldd, int nt) {                                                \
        FC_V wv[KS * KS];                                                                           \
        _Pragma("GCC unroll 32") for (int t = 0; t < KS * KS; ++t) wv[t] = (FC_V){0} + w[t];       \
        const FC_V bv = (FC_V){0} + b;                                                              \
        int64_t r = 0;                                                                              \
        for (; r + FC_RB <= n; r += FC_RB)                                                          \
            FC_SUFFIX(fc_dw_sweep_block)(rows + r, wv, bv, W, pl, a, e, dst + r * ldd, ldd, FC_RB, KS, nt); \
        for (; r < n; ++r)                                                                          \
            FC_SUFFIX(fc_dw_sweep_block)(rows + r, wv, bv, W, pl, a, e, dst + r * ldd, ldd, 1, KS, nt);    \
    }
FC_DEF_DW_SWEEP(3)
FC_DEF_DW_SWEEP(5)
#undef FC_DEF_DW_SWEEP

FC_INLINE void FC_SUFFIX(fc_dw_strip)(const FC_T *const *rows, int64_t sh, int64_t dh, int64_t n, const FC_T *w,
                                      int64_t kH, int64_t kW, int64_t dw, FC_T b, int64_t c0, FC_T *dst,
                                      int64_t ldd) {
    if (sh == 1 && dh == 1 && dw == 1 && kH == 3 && kW == 3) {
        FC_SUFFIX(fc_dw_strip_sq3)(rows, n, w, b, c0, dst, ldd);
        return;
    }
    if (sh == 1 && dh == 1 && dw == 1 && kH == 5 && kW == 5) {
        FC_SUFFIX(fc_dw_strip_sq5)(rows, n, w, b, c0, dst, ldd);
        return;
    }
    switch (kW) {
    case 3: FC_SUFFIX(fc_dw_strip_3)(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
    case 5: FC_SUFFIX(fc_dw_strip_5)(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
    case 7: FC_SUFFIX(fc_dw_strip_7)(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
    default: FC_SUFFIX(fc_dw_strip_0)(rows, sh, dh, n, w, kH, kW, dw, b, c0, dst, ldd); break;
    }
}

/* Prefetch rows [from, to) of the W-column rows at nx (sH apart); returns to. */
FC_INLINE int64_t FC_SUFFIX(fc_prefetch_rows)(const FC_T *nx, int64_t sH, int64_t W, int64_t from, int64_t to) {
    for (; from < to; ++from) fc_prefetch_bytes(nx + from * sH, W * (int64_t)sizeof(FC_T));
    return to;
}

/* ---- Flat kernel: planes that keep their shape, read as one long row ----
 * A 3x3 or 5x5 kernel with unit stride and dilation and constant padding of KS/2 on every
 * side (the usual depthwise layer) keeps the plane's shape, so with contiguous rows output
 * element p (flat index i*W + j) reads input elements p + (kh - h)*W + (kw - h), h = KS/2.
 * Walking the plane as one row of H*W elements keeps every lane busy (C7's 56-column rows
 * are 3.5 vectors, and by rows took 4 chunks, two of them edge chunks), and each tap row
 * needs one new load per output vector: the KS shifted vectors come from the previous load
 * and the new one by lane shifts where FC_ALIGNR exists (an unaligned 64-byte load splits a
 * cache line and costs two loads; nine of them per output vector made the rows kernel
 * load-bound at about 8 cycles a vector).
 * A tap that crosses a row end reads the neighbouring row's element instead of the padding,
 * so each kernel column is summed in its own accumulator, and the lanes whose column lies in
 * the padding for that kernel column take fill * (its taps' sum) instead.  Outputs whose taps
 * reach above or below the plane are computed from a small copy with fill around it. */
/* h * W * sizeof(FC_T) at most: bounds the copy below.  Up to it the flat kernel beat the
 * rows kernels, the row sweep included (3x3 on 256-float rows: 0.24 -> 0.20 ms for 64
 * planes of 64 rows); on 500-float rows the sweep, which shares loads between rows, won. */
#define FC_FLAT_MAX_BYTES 1024
#define FC_FLAT_PIECE (FC_FLAT_REACH + FC_VL) /* outputs per piece of the copy */
#define FC_FLAT_REACH (FC_FLAT_MAX_BYTES / (int64_t)sizeof(FC_T) + 2) /* h * W + h at most */

/* Lane integers of FC_T's size, for the column masks. */
typedef __typeof__(__builtin_choose_expr(sizeof(FC_T) == 4, (int32_t)0, (int64_t)0)) FC_SUFFIX(fc_lane_int);
typedef FC_SUFFIX(fc_lane_int) FC_SUFFIX(fc_ivec) __attribute__((vector_size(sizeof(FC_V))));

/* Column masks for fc_dw_flat_run: row d - 1 is all ones but for elements [16, 16 + d)
 * (16: the most lanes a vector has). */
#ifndef FC_FLAT_ONES
#define FC_FLAT_ONES4 -1, -1, -1, -1
#define FC_FLAT_ONES FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES4
#endif
static const FC_SUFFIX(fc_lane_int) FC_SUFFIX(fc_flat_zm)[2][48] = {
    {FC_FLAT_ONES, 0, -1, -1, -1, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES},
    {FC_FLAT_ONES, 0, 0, -1, -1, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES},
};

/* n >= VL outputs out[0 .. n) of one plane from xc, the input element at the first output's
 * position: out[i] reads xc[i + (kh - h)*W + kw - h], all of xc[-(h*W + h) .. n + h*W + h)
 * readable; W >= VL + h - 1 (a vector then holds at most one row start and one row end);
 * j0: the first output's column; fs[kw]: what a padded column
 * contributes to kernel column kw (fill times its taps), used unless zf.  pf[0 .. pfn) is
 * prefetched along the way, a cache line or so per vector (pfn may be 0). */
FC_INLINE void FC_SUFFIX(fc_dw_flat_run)(const FC_T *xc, int64_t W, int64_t j0, int64_t n, const FC_V *wp,
                                         FC_V bv, const FC_V *fsp, const int zf, FC_T *out, const FC_T *pf,
                                         int64_t pfn, const int KS) {
    typedef FC_SUFFIX(fc_ivec) I;
    const int h = KS / 2;
    FC_V wv[25], fs[5]; /* in registers: the stores to out could alias wp */
#pragma GCC unroll 32
    for (int t = 0; t < KS * KS; ++t) wv[t] = wp[t];
#pragma GCC unroll 8
    for (int kw = 0; kw < KS; ++kw) fs[kw] = fsp[kw];
    /* Column masks are loaded, not computed: VL lanes of zm[d - 1] loaded at 16 - l0 are
     * the mask that drops lanes [l0, l0 + d).  (The lanes' columns carried from vector to
     * vector in a register made a chain of about 8 cycles per vector through the compare
     * and the subtract, longer than its 9 FMAs.) */
    const FC_SUFFIX(fc_lane_int)(*const zm)[48] = FC_SUFFIX(fc_flat_zm);
    const FC_T *r[5];
#pragma GCC unroll 8
    for (int kh = 0; kh < KS; ++kh) r[kh] = xc + (kh - h) * W - h;
    /* One vector's result, lane 0 at column c: the centre column, plus each other kernel
     * column where it reads the row, or its padding contribution where it reads the padding
     * (left of the row for kw < h: columns < h - kw; right for kw > h: columns >= W - (kw - h)). */
#define FC_FLAT_STORE(dst, acc, c)                                                                  \
    do {                                                                                            \
        FC_V res_ = acc[h];                                                                         \
        _Pragma("GCC unroll 8") for (int kw = 0; kw < KS; ++kw) {                                   \
            if (kw == h) continue;                                                                  \
            const int d_ = kw < h ? h - kw : kw - h;                                                \
            /* first dropped lane: a row start (or the end of the row before) */                   \
            int64_t l0_ = kw < h ? ((c) < d_ ? -(c) : W - (c)) : W - (c) - d_;                      \
            if (l0_ > FC_VL) l0_ = FC_VL;                                                           \
            I m_;                                                                                   \
            memcpy(&m_, zm[d_ - 1] + 16 - l0_, sizeof(I));                                       \
            I keep_ = (I)acc[kw] & m_;                                                              \
            if (!zf) keep_ |= (I)fs[kw] & ~m_;                                                      \
            res_ += (FC_V)keep_;                                                                    \
        }                                                                                           \
        memcpy((dst), &res_, sizeof(FC_V));                                                         \
    } while (0)
    int64_t i = 0;
#ifdef FC_ALIGNR
    /* rolled: the upper load of one vector is the lower load of the next; it reads VL - 2h
     * elements past what the vector needs, so the last vectors are left to the loop below */
    FC_V lo[5];
#pragma GCC unroll 8
    for (int kh = 0; kh < KS; ++kh) memcpy(&lo[kh], r[kh], sizeof(FC_V));
    int64_t c = j0;
    for (; i + 2 * FC_VL <= n + 2 * h; i += FC_VL) {
        FC_V acc[5];
#pragma GCC unroll 8
        for (int kw = 0; kw < KS; ++kw) acc[kw] = kw == h ? bv : (FC_V){0};
#pragma GCC unroll 8
        for (int kh = 0; kh < KS; ++kh) {
            FC_V hi;
            memcpy(&hi, r[kh] + i + FC_VL, sizeof(FC_V));
#pragma GCC unroll 8
            for (int kw = 0; kw < KS; ++kw) acc[kw] += FC_ALIGNR(lo[kh], hi, kw) * wv[kh * KS + kw];
            lo[kh] = hi;
        }
        FC_FLAT_STORE(out + i, acc, c);
        c += FC_VL;
        if (c >= W) c -= W;
        if (i < pfn) __builtin_prefetch(pf + i, 0, 3); /* VL elements: about a cache line */
    }
#endif
    if (i < pfn) fc_prefetch_bytes(pf + i, (pfn - i) * (int64_t)sizeof(FC_T));
    /* one load per tap; the last vector shifted left to end at n */
    for (; i < n; i += FC_VL) {
        if (i + FC_VL > n) i = n - FC_VL;
        const int64_t c = (j0 + i) % W;
        FC_V acc[5];
#pragma GCC unroll 8
        for (int kw = 0; kw < KS; ++kw) acc[kw] = kw == h ? bv : (FC_V){0};
#pragma GCC unroll 8
        for (int kh = 0; kh < KS; ++kh)
#pragma GCC unroll 8
            for (int kw = 0; kw < KS; ++kw) {
                FC_V v;
                memcpy(&v, r[kh] + i + kw, sizeof(FC_V));
                acc[kw] += v * wv[kh * KS + kw];
            }
        FC_FLAT_STORE(out + i, acc, c);
    }
#undef FC_FLAT_STORE
}

#define FC_DEF_DW_FLAT(KS)                                                                          \
    FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(fc_dw_flat_run##KS)(                    \
        const FC_T *xc, int64_t W, int64_t j0, int64_t n, const FC_V *wv, FC_T b, const FC_V *fs,   \
        int zf, FC_T *out, const FC_T *pf, int64_t pfn) {                                           \
        if (zf) /* one copy for zero padding, without the fill lanes */                             \
            FC_SUFFIX(fc_dw_flat_run)(xc, W, j0, n, wv, (FC_V){0} + b, fs, 1, out, pf, pfn, KS);   \
        else                                                                                        \
            FC_SUFFIX(fc_dw_flat_run)(xc, W, j0, n, wv, (FC_V){0} + b, fs, 0, out, pf, pfn, KS);   \
    }
FC_DEF_DW_FLAT(3)
FC_DEF_DW_FLAT(5)
#undef FC_DEF_DW_FLAT

/* Whether fc_dw_flat computes this geometry (x's rows sH apart). */
FC_INLINE int FC_SUFFIX(fc_dw_flat_ok)(const fc_conv_geom *g, int64_t sH) {
#ifndef FC_ALIGNR
    /* without lane shifts (32-byte vectors) nine loads per vector ran no faster than the
     * rows kernel in float32 and slower in float64 (C7: 1.9 -> 2.4 ms) */
    (void)g;
    (void)sH;
    return 0;
#endif
    const int64_t k = g->kH, h = k / 2;
    return (k == 3 || k == 5) && g->kW == k && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1
           && g->pt == h && g->pl == h && g->Ho == g->H && g->Wo == g->W && g->mode == FC_PAD_ZEROS
           && sH == g->W && g->W >= FC_VL + h - 1 && h * g->W * (int64_t)sizeof(FC_T) <= FC_FLAT_MAX_BYTES;
}

/* xs[0 .. len): the plane's flat elements [lo, lo + len), fill outside the plane. */
FC_INLINE void FC_SUFFIX(fc_flat_copy)(const FC_T *x, int64_t HW, int64_t lo, int64_t len, FC_T fill, FC_T *xs) {
    const int64_t ta = lo < 0 ? (-lo < len ? -lo : len) : 0;
    const int64_t tb = HW - lo < len ? (HW - lo > ta ? HW - lo : ta) : len;
    for (int64_t t = 0; t < ta; ++t) xs[t] = fill;
    if (tb > ta) memcpy(xs + ta, x + lo + ta, (size_t)(tb - ta) * sizeof(FC_T));
    for (int64_t t = tb; t < len; ++t) xs[t] = fill;
}

/* Output rows [oh0, oh0 + R) of one plane the flat way (fc_dw_flat_ok): x, the input plane
 * (H x W, contiguous), w its KS x KS taps, out the output plane; nx, nxrows as for
 * fc_dw_band.  Outputs [a, e) read the plane in place; the ones before and after read a
 * copy of their part of the plane with fill around it, in pieces of at most FC_FLAT_PIECE
 * outputs (one on each side unless the band is all border).  A single run over [a, e): the
 * run's set-up and its last vectors (plain loads) cost about a tenth of a 56 x 56 plane, so
 * the plane is not cut into several runs to spread the prefetches. */
FC_ATTR static void FC_SUFFIX(fc_dw_flat)(const FC_T *x, const fc_conv_geom *g, const FC_T *w, FC_T b,
                                          FC_T fill, int64_t oh0, int64_t R, FC_T *out, const FC_T *nx,
                                          int64_t nxrows) {
    const int KS = (int)g->kH, h = KS / 2;
    const int64_t W = g->W, HW = g->H * W, reach = h * W + h;
    FC_V wv[25], fs[5];
    for (int t = 0; t < KS * KS; ++t) wv[t] = (FC_V){0} + w[t];
    for (int kw = 0; kw < KS; ++kw) { /* what a padded column adds, summed as the taps would */
        FC_T s = 0;
        for (int kh = 0; kh < KS; ++kh) s += fill * w[kh * KS + kw];
        fs[kw] = (FC_V){0} + s;
    }
    const int zf = fill == 0;
#define FC_FLAT_RUN(xc, j0, n, dst, pf, pfn)                                                        \
    do {                                                                                            \
        if (KS == 3) FC_SUFFIX(fc_dw_flat_run3)(xc, W, j0, n, wv, b, fs, zf, dst, pf, pfn);         \
        else FC_SUFFIX(fc_dw_flat_run5)(xc, W, j0, n, wv, b, fs, zf, dst, pf, pfn);                 \
    } while (0)
    const int64_t q0 = oh0 * W, q1 = (oh0 + R) * W;
    int64_t a = q0 > reach ? q0 : reach, e = q1 < HW - reach ? q1 : HW - reach;
    if (e - a < FC_VL) a = e = q1;
    /* the next item's rows are prefetched along the plane's part (at once if all is border) */
    const int64_t pfn = nx != NULL ? nxrows * W : 0;
    if (e > a) FC_FLAT_RUN(x + a, a % W, e - a, out + a, nx, pfn);
    else if (pfn > 0) fc_prefetch_bytes(nx, pfn * (int64_t)sizeof(FC_T));
    FC_T xs[FC_FLAT_PIECE + 2 * FC_FLAT_REACH], os[FC_FLAT_PIECE];
    const int64_t s0[2] = {q0, e}, s1[2] = {a, q1};
    for (int side = 0; side < 2; ++side)
        for (int64_t s = s0[side]; s < s1[side]; s += FC_FLAT_PIECE) {
            const int64_t L = s1[side] - s < FC_FLAT_PIECE ? s1[side] - s : FC_FLAT_PIECE;
            const int64_t nn = L > FC_VL ? L : FC_VL; /* past L: computed, not kept */
            FC_SUFFIX(fc_flat_copy)(x, HW, s - reach, nn + 2 * reach, fill, xs);
            FC_FLAT_RUN(xs + reach, s % W, nn, os, NULL, 0);
            memcpy(out + s, os, (size_t)L * sizeof(FC_T));
        }
#undef FC_FLAT_RUN
}

/* Output rows [oh0, oh0 + R) of one output channel (out: its plane, Ho x Wo, row stride Wo)
 * from one input plane x (rows sH elements apart, columns contiguous), column stride 1.
 * w: the kH*kW taps, contiguous; colmap[p]: the input column padded column p reads, or -1
 * (fill), for p < g->Wp; fillrow: W copies of fill.  Scratch: rowp, room for
 * (R-1)*sh + (kH-1)*dh + 1 row pointers; edge, ((rg-1)*sh + (kH-1)*dh + 1) * (VL + (kW-1)*dw)
 * elements and eptr room for as many pointers as rowp, where rg is the row group (R is cut
 * into groups of at most rg rows so the edge buffers and the rows read stay in cache); tmp,
 * rg * max(Wo, VL) elements (the strips fill it, rows max(Wo, VL) apart), or NULL for wide
 * rows: the strips then write the output in place and 3x3 / 5x5 unit-stride kernels sweep
 * along the rows (fc_dw_sweep_sq*), with streaming stores when stream is set.  nx, when not
 * NULL, is the first of nxrows input rows (sH apart, W columns) the caller reads next: they
 * are prefetched while this band is computed, a slice per chunk, since small planes
 * (depthwise layers) are otherwise read from memory row by row at the latency of each miss. */
FC_ATTR
static void FC_SUFFIX(fc_dw_band)(const FC_T *x, int64_t sH, const fc_conv_geom *g, const int64_t *colmap,
                                  const FC_T *fillrow, FC_T fill, const FC_T *w, FC_T b, int64_t oh0,
                                  int64_t R, FC_T *out, int64_t rg, const FC_T **rowp, FC_T *edge,
                                  const FC_T **eptr, FC_T *tmp, const FC_T *nx, int64_t nxrows, int stream) {
    if (FC_SUFFIX(fc_dw_flat_ok)(g, sH)) {
        FC_SUFFIX(fc_dw_flat)(x, g, w, b, fill, oh0, R, out, nx, nxrows);
        return;
    }
    const int64_t kH = g->kH, kW = g->kW, sh = g->sh, dh = g->dh, dw = g->dw, Wo = g->Wo, W = g->W;
    const int64_t pl = g->pl, Wp = g->Wp, reach = (kH - 1) * dh + 1;
    const int64_t span = (R - 1) * sh + reach, r0 = oh0 * sh - g->pt;
    for (int64_t i = 0; i < span; ++i) {
        const int64_t s = fc_pad_index(r0 + i, g->H, g->mode);
        rowp[i] = s < 0 ? fillrow : x + s * sH;
    }
    /* interior output columns [lo, hi): every tap inside the input row */
    const int64_t lo = pl;
    const int64_t hi = W - (kW - 1) * dw + pl;
    const int64_t EW = FC_VL + (kW - 1) * dw; /* padded columns one chunk reads */
    const int64_t nchunks = ((R + rg - 1) / rg) * ((Wo + FC_VL - 1) / FC_VL);
    const int64_t TW = tmp == NULL ? Wo : (Wo > FC_VL ? Wo : FC_VL); /* row stride of tmp */
    const int sq3 = sh == 1 && dh == 1 && dw == 1 && kH == 3 && kW == 3;
    /* wide rows (tmp == NULL): written in place, the interior swept along the rows */
    const int64_t se = hi < Wo ? hi : Wo;
    const int sweep = tmp == NULL && sh == 1 && dh == 1 && dw == 1 && kH == kW && (kH == 3 || kH == 5)
                      && se - lo >= FC_VL;
    /* streaming stores when asked for, and every output row starts at the same offset in
     * a vector (so the aligned chunks are aligned in every row) */
    const int nt = sweep && stream && Wo % FC_VL == 0;
    int64_t pf_row = 0, chunk = 0;
    for (int64_t g0 = 0; g0 < R; g0 += rg) {
        const int64_t n = R - g0 < rg ? R - g0 : rg;
        const int64_t gspan = (n - 1) * sh + reach;
        const FC_T *const *rows = rowp + g0 * sh;
        /* the strips fill tmp, which is copied out row-contiguously at the end of the
         * group: stores of one vector into each of n rows, chunk after chunk, ran about 20%
         * slower on planes that do not stay in cache (each store splitting cache lines that
         * later chunks write again) */
        FC_T *orow = tmp != NULL ? tmp : out + (oh0 + g0) * Wo;
        if (sweep) {
            if (nx != NULL) /* this group's share of the next rows */
                pf_row = FC_SUFFIX(fc_prefetch_rows)(nx, sH, W, pf_row, nxrows * (g0 + n) / R);
            if (kH == 3) FC_SUFFIX(fc_dw_sweep_sq3)(rows, n, w, b, W, pl, lo, se, orow, TW, nt);
            else FC_SUFFIX(fc_dw_sweep_sq5)(rows, n, w, b, W, pl, lo, se, orow, TW, nt);
        }
        for (int64_t j = 0; j < Wo; j += FC_VL) {
            if (j + FC_VL > Wo && Wo >= FC_VL) j = Wo - FC_VL; /* last chunk shifted left */
            if (sweep && j >= lo && j + FC_VL <= se) continue; /* swept */
            if (nx != NULL) /* this chunk's share of the next rows */
                pf_row = FC_SUFFIX(fc_prefetch_rows)(nx, sH, W, pf_row, nxrows * ++chunk / nchunks);
            if (j >= lo && j + FC_VL <= hi) {
                FC_SUFFIX(fc_dw_strip)(rows, sh, dh, n, w, kH, kW, dw, b, j - pl, orow + j, TW);
                continue;
            }
            if (sq3 && g->mode == FC_PAD_ZEROS && W >= FC_VL) { /* constant fill: shuffles */
                int64_t off[3];
                FC_SUFFIX(fc_sel) sel[3];
                for (int kw = 0; kw < 3; ++kw) {
                    const int64_t base = j - pl + kw; /* input column of lane 0 */
                    const int64_t at = base < 0 ? 0 : (base > W - FC_VL ? W - FC_VL : base);
                    for (int l = 0; l < FC_VL; ++l) {
                        const int64_t c = base + l;
                        sel[kw][l] = c >= 0 && c < W ? c - at : FC_VL;
                    }
                    off[kw] = at;
                }
                FC_SUFFIX(fc_dw_strip_sq3_edge)(rows, n, w, b, off, sel, fill, orow + j, TW);
                continue;
            }
            /* edge chunk: padded columns [j, j + EW) of every row of the group, real columns
             * [a, e) copied as a block, the others through colmap (zero past Wp: they only feed
             * output columns past Wo) */
            int64_t a = j > pl ? j : pl, e = j + EW;
            if (e > pl + W) e = pl + W;
            if (e > Wp) e = Wp;
            if (e < a) e = a;
            const int64_t ra = a - j, re = e - j; /* the real columns' span in an edge row */
            const int64_t ne = EW - (re - ra); /* padded columns: [0, ra) and [re, EW) */
            for (int64_t i = 0; i < gspan; ++i) {
                const FC_T *src = rows[i];
                FC_T *d = edge + i * EW;
                int64_t t = ra;
                if (re - ra >= FC_VL) { /* the real columns: a copy by vectors, the last overlapping */
                    FC_V v;
                    for (; t + FC_VL < re; t += FC_VL) {
                        memcpy(&v, src + j + t - pl, sizeof(FC_V));
                        memcpy(d + t, &v, sizeof(FC_V));
                    }
                    memcpy(&v, src + e - pl - FC_VL, sizeof(FC_V));
                    memcpy(d + re - FC_VL, &v, sizeof(FC_V));
                } else {
                    for (; t < re; ++t) d[t] = src[j + t - pl];
                }
                for (int64_t k = 0; k < ne; ++k) { /* zero past Wp: only for outputs past Wo */
                    const int64_t tk = k < ra ? k : k - ra + re, p = j + tk;
                    const int64_t c = p < Wp ? colmap[p] : -1;
                    d[tk] = p >= Wp ? (FC_T)0 : (c < 0 ? fill : src[c]);
                }
                eptr[i] = d;
            }
            FC_SUFFIX(fc_dw_strip)(eptr, sh, dh, n, w, kH, kW, dw, b, 0, orow + j, TW);
        }
        FC_T *dst = out + (oh0 + g0) * Wo;
        if (tmp == NULL) {
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

#undef FC_MAX_NV
#undef FC_MAX_OCB
#undef FC_FLAT_MAX_BYTES
#undef FC_FLAT_PIECE
#undef FC_FLAT_REACH
#undef FC_VL
