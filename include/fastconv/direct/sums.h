/*
 * fastconv/direct/sums.h - the three-level sums of the direct tiles.  Part of a variant
 * (fastconv/variants.h); no checking is done here.
 *
 * Accumulation starts from the bias and stays in FC_T, in three levels: a tile call sums one
 * block of input channels, about FC_SUM_BLOCK products (FC_SUM_BLOCK_WIDE for large kernels),
 * in registers; the caller runs the blocks one after the other (FC_SUM_BLOCKS), and each
 * block's sums are added into a group
 * total kept in memory, the group total every FC_SUM_GROUP blocks into the grand total
 * (fc_sum_flush).  One chain of thousands of products (512 channels x 3 x 3) rounds every
 * addition at the size of the whole sum; the levels keep the float32 error of deep
 * reductions below PyTorch's.  For the column and row tiles the blocks are separate calls
 * (FC_SUM_BLOCKS): the tile's loops stay those of one block, with nothing but its
 * accumulators live in the vector registers.  The channel-lane tiles loop over the blocks
 * themselves, each block flushed the same way: their calls and set-up per block cost 2-5%
 * on 3x3 layers with 256-512 channels.
 */
#ifndef FASTCONV_DIRECT_SUMS_H
#define FASTCONV_DIRECT_SUMS_H

/* Input channels per block for a kernel of `taps` taps: at least one. */
static inline int64_t fc_sum_channels(int64_t taps) {
    const int64_t block = taps >= FC_SUM_WIDE_TAPS ? FC_SUM_BLOCK_WIDE : FC_SUM_BLOCK;
    return taps >= block ? 1 : block / taps;
}
/* Runs CALL(ic0, ic1) for the blocks [ic0, ic1) of C input channels, icb at a time. */
#define FC_SUM_BLOCKS(C, icb, CALL)                                                                                    \
    for (int64_t ic0_ = 0; ic0_ < (C); ic0_ += (icb)) CALL(ic0_, (C) - ic0_ <= (icb) ? (C) : ic0_ + (icb))

#define FC_MAX_NV (FC_NV_NARROW > FC_NV_WIDE ? FC_NV_NARROW : FC_NV_WIDE)
#define FC_MAX_OCB (FC_OCBW > FC_OCB_NARROW ? FC_OCBW : FC_OCB_NARROW)
/* Vectors of the running totals of any tile: two levels of its accumulators. */
#define FC_SUM_VECS (2 * (FC_MAX_OCB * FC_MAX_NV > 2 * FC_NCOL ? FC_MAX_OCB * FC_MAX_NV : 2 * FC_NCOL))

/* The upper levels of the sums (see above) over a tile's accumulators
 * acc[r * st + v], r < nr, v < nv, at the end of the block of input channels [ic0, ic1) of
 * C, icb per block.  tot holds two sets of them: tot[0 ..) the current group of blocks,
 * tot[nr * st ..) the closed groups; nothing is read from it before it is written.  A block
 * that is not the last goes up into tot (returns 1: nothing to store); the last block gets
 * the totals added (returns 0: store acc). */
FC_INLINE int fc_sum_flush(FC_V *tot, FC_V *acc, const int nr, const int nv, const int st, int64_t ic0, int64_t ic1,
                           int64_t icb, int64_t C) {
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

#endif /* FASTCONV_DIRECT_SUMS_H */
