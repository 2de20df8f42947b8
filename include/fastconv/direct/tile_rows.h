/*
 * fastconv/direct/tile_rows.h - the row-blocked one-channel tile of the direct kernels
 * (FC_KIND_ROWS): FC_RB output rows of one output channel, each loaded input vector feeding
 * every output row that reads it.  Part of a variant (fastconv/variants.h); no checking is
 * done here.
 */
#ifndef FASTCONV_DIRECT_TILE_ROWS_H
#define FASTCONV_DIRECT_TILE_ROWS_H

_Static_assert(FC_RB == 4, "fc_tile_rows dispatches the runs of 4 output rows");

/* One band row xr of fc_tile_rows, read by output rows lo .. hi of the tile (a band row's
 * readers are always a contiguous run of the tile's rows), row r with kernel row wr[r]:
 * called with constants, so the loops over rows unroll with no test per row and tap. */
FC_INLINE void fc_tile_rows_run(const FC_T *xr, const FC_T *const *wr, const int64_t *xoff, int64_t kW,
                                FC_V acc[][FC_NV_ROWS], const int lo, const int hi) {
    for (int64_t kw = 0; kw < kW; ++kw) {
        const FC_T *xp = xr + xoff[kw];
        FC_V xv[FC_NV_ROWS];
#pragma GCC unroll 16
        for (int v = 0; v < FC_NV_ROWS; ++v) memcpy(&xv[v], xp + v * FC_VL, sizeof(FC_V));
#pragma GCC unroll 16
        for (int r = lo; r <= hi; ++r) {
            const FC_T wv = wr[r][kw];
#pragma GCC unroll 16
            for (int v = 0; v < FC_NV_ROWS; ++v) acc[r][v] += xv[v] * wv;
        }
    }
}

/* The channels [ic0, ic1) of fc_tile_rows for a K x K kernel (a constant, 5 or 7) with
 * taps one column apart, FC_RB rows.  Every loop has constant bounds, so the tile is
 * straight-line code with its accumulators in registers and each weight a broadcast at a
 * constant offset (a run-time kernel size, dispatched per band row, left the accumulators
 * in memory between rows, and its per-row weight pointers and short column loop cost
 * loads and branches per tap).  With lane shifts (FC_ALIGNR, 64-byte variants; rows on
 * vector boundaries) each band row's NV vectors and the first K - 1 columns after them are
 * loaded once and every tap's vectors made by lane shifts, since an unaligned 64-byte load
 * splits across two cache lines and those loads, not the products, bounded the tile;
 * without them (32-byte variants) each tap's vectors are unaligned loads, and each
 * weight is broadcast again for every row that uses it (below). */
FC_INLINE void fc_tile_rows_square(const FC_T *xcol, int64_t cstep, int64_t rowstep, const FC_T *wblk, int64_t ic0,
                                   int64_t ic1, FC_V accp[][FC_NV_ROWS], const int K) {
    FC_V acc[FC_RB][FC_NV_ROWS];
    memcpy(acc, accp, sizeof(acc));
    for (int64_t ic = ic0; ic < ic1; ++ic) {
        const FC_T *wc = wblk + ic * K * K;
#pragma GCC unroll 16
        for (int i = 0; i < FC_RB + K - 1; ++i) {
            const FC_T *xr = xcol + ic * cstep + i * rowstep;
#ifdef FC_ALIGNR
            FC_V xa[FC_NV_ROWS + 1];
#pragma GCC unroll 16
            for (int v = 0; v < FC_NV_ROWS; ++v)
                memcpy(&xa[v], __builtin_assume_aligned(xr + v * FC_VL, sizeof(FC_V)), sizeof(FC_V));
            xa[FC_NV_ROWS] = FC_LOAD_HEAD(xr + FC_NV_ROWS * FC_VL, K - 1);
#endif
            const int lo = i - K + 1 > 0 ? i - K + 1 : 0, hi = i < FC_RB - 1 ? i : FC_RB - 1;
#pragma GCC unroll 8
            for (int kw = 0; kw < K; ++kw) {
#ifndef FC_ALIGNR
                /* Hide wc's value from the compiler at each tap: the weight of kernel row i - r
                 * recurs at band rows i + 1, i + 2, ..., and in AVX2's 16 registers the
                 * compiler's one broadcast of each of the K * K weights pushed the
                 * accumulators to the stack and folded every input load into its
                 * multiply-adds; a broadcast per row and tap keeps the tile in registers. */
                __asm__("" : "+r"(wc));
#endif
                FC_V xv[FC_NV_ROWS];
#pragma GCC unroll 16
                for (int v = 0; v < FC_NV_ROWS; ++v) {
#ifdef FC_ALIGNR
                    xv[v] = FC_ALIGNR(xa[v], xa[v + 1], kw);
#else
                    memcpy(&xv[v], xr + v * FC_VL + kw, sizeof(FC_V));
#endif
                }
#pragma GCC unroll 16
                for (int r = lo; r <= hi; ++r) {
                    const FC_T wv = wc[(i - r) * K + kw];
#pragma GCC unroll 16
                    for (int v = 0; v < FC_NV_ROWS; ++v) acc[r][v] += xv[v] * wv;
                }
            }
        }
    }
    memcpy(accp, acc, sizeof(acc));
}
/* Its 5x5 and 7x7 instances, each a function of its own: inlined into the band driver,
 * whose other tiles compete for registers, the accumulators went to memory. */
FC_ATTR __attribute__((noinline)) static void fc_tile_rows_sq5_sums(const FC_T *xcol, int64_t cstep, int64_t rowstep,
                                                                    const FC_T *wblk, int64_t ic0, int64_t ic1,
                                                                    FC_V acc[][FC_NV_ROWS]) {
    fc_tile_rows_square(xcol, cstep, rowstep, wblk, ic0, ic1, acc, 5);
}
FC_ATTR __attribute__((noinline)) static void fc_tile_rows_sq7_sums(const FC_T *xcol, int64_t cstep, int64_t rowstep,
                                                                    const FC_T *wblk, int64_t ic0, int64_t ic1,
                                                                    FC_V acc[][FC_NV_ROWS]) {
    fc_tile_rows_square(xcol, cstep, rowstep, wblk, ic0, ic1, acc, 7);
}

/* One-output-channel tile over rb <= FC_RB output rows (band rows r0 .. r0 + rb - 1; stride and
 * dilation 1 in height, rows packed contiguously): each input row vector is loaded once and feeds every
 * output row of the tile that reads it, instead of once per output row.  K = 5 or 7: the
 * straight-line sums of fc_tile_rows_square (the caller checked their conditions, rb = FC_RB);
 * K = 0: any rows. */
FC_INLINE void fc_tile_rows_at(const FC_T *xcol, int64_t cstep, int64_t r0, int64_t rb, const FC_T *wblk,
                               const fc_conv_geom *g, FC_T b, FC_T *out, int64_t oh, int64_t j0, int64_t ic0,
                               int64_t ic1, int64_t icb, FC_V *tot, const int K) {
    FC_V acc[FC_RB][FC_NV_ROWS];
    if (ic0 > 0) b = 0;
#pragma GCC unroll 16
    for (int r = 0; r < FC_RB; ++r)
#pragma GCC unroll 16
        for (int v = 0; v < FC_NV_ROWS; ++v) acc[r][v] = (FC_V){0} + b;
    const int64_t kH = g->kH, kW = g->kW, rowstep = g->rstep;
    const int64_t span = rb - 1 + kH; /* dilation 1 in height: output row r reads rows r .. r+kH-1 */
    if (K == 5) fc_tile_rows_sq5_sums(xcol + r0 * rowstep, cstep, rowstep, wblk, ic0, ic1, acc);
    if (K == 7) fc_tile_rows_sq7_sums(xcol + r0 * rowstep, cstep, rowstep, wblk, ic0, ic1, acc);
    const int64_t ic_any = K ? ic1 : ic0; /* the channels left to the tile for any rows: none, or all */
    for (int64_t ic = ic_any; ic < ic1; ++ic) {
        const FC_T *wc = wblk + ic * kH * kW;
        for (int64_t i = 0; i < span; ++i) {
            const FC_T *xr = xcol + ic * cstep + (r0 + i) * rowstep;
            const FC_T *wr[FC_RB];
#pragma GCC unroll 16
            for (int r = 0; r < FC_RB; ++r) {
                const int64_t kh = i - r;
                wr[r] = (r < rb && kh >= 0 && kh < kH) ? wc + kh * kW : NULL;
            }
            /* the rows reading band row i: lo .. hi (output row r reads rows r .. r + kH - 1) */
            const int64_t lo = i - kH + 1 > 0 ? i - kH + 1 : 0, hi = i < rb - 1 ? i : rb - 1;
#define FC_RUN(L, H)                                                                                                   \
    case (L) * 4 + (H): fc_tile_rows_run(xr, wr, g->xoff, kW, acc, L, H); break;
            /* clang-format off */
            switch (lo * 4 + hi) {
                FC_RUN(0, 0) FC_RUN(0, 1) FC_RUN(0, 2) FC_RUN(0, 3) FC_RUN(1, 1) FC_RUN(1, 2) FC_RUN(1, 3)
                FC_RUN(2, 2) FC_RUN(2, 3) FC_RUN(3, 3)
                default: break;
            }
            /* clang-format on */
#undef FC_RUN
        }
    }
    if (fc_sum_flush(tot, &acc[0][0], FC_RB, FC_NV_ROWS, FC_NV_ROWS, ic0, ic1, icb, g->C)) return;
    const int64_t n = g->Wo - j0 < FC_NV_ROWS * FC_VL ? g->Wo - j0 : FC_NV_ROWS * FC_VL;
    for (int64_t r = 0; r < rb; ++r) {
        FC_T *dst = out + (oh + r) * g->osH + j0;
        FC_T tmp[FC_NV_ROWS * FC_VL];
        memcpy(tmp, &acc[r][0], (size_t)FC_NV_ROWS * sizeof(FC_V));
        memcpy(dst, tmp, (size_t)n * sizeof(FC_T));
    }
}

/* The tile on any rows, and on FC_RB rows with square 5x5 and 7x7 kernels
 * (fc_tile_rows_square; with FC_ALIGNR, rows starting on vector boundaries). */
#define FC_TILE_ROWS_DEF(NAME, K)                                                                                      \
    FC_INLINE void NAME(const FC_T *xcol, int64_t cstep, int64_t r0, int64_t rb, const FC_T *wblk,                     \
                        const fc_conv_geom *g, FC_T b, FC_T *out, int64_t oh, int64_t j0, int64_t ic0, int64_t ic1,    \
                        int64_t icb, FC_V *tot) {                                                                      \
        fc_tile_rows_at(xcol, cstep, r0, rb, wblk, g, b, out, oh, j0, ic0, ic1, icb, tot, K);                          \
    }
FC_TILE_ROWS_DEF(fc_tile_rows, 0)
FC_TILE_ROWS_DEF(fc_tile_rows_sq5, 5)
FC_TILE_ROWS_DEF(fc_tile_rows_sq7, 7)
#undef FC_TILE_ROWS_DEF

#endif /* FASTCONV_DIRECT_TILE_ROWS_H */
