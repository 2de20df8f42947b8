/*
 * fastconv/transpose.h - in-register interleaves and transposes of FC_V vectors, shared by
 * the weight packer, the channel-lane tiles' stores and the Winograd output.  Part of a
 * variant (fastconv/variants.h); no checking is done here.
 */
#ifndef FASTCONV_TRANSPOSE_H
#define FASTCONV_TRANSPOSE_H

/* Interleave a and b: lo = a0 b0 a1 b1 ... (their first halves), hi = the second halves. */
FC_INLINE void fc_zip(FC_V a, FC_V b, FC_V *lo, FC_V *hi) {
    fc_sel sl, sh;
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
FC_INLINE void fc_zipn(FC_V *a, int K) {
    FC_V b[16];
    for (int h = 1; h < K; h *= 2) {
#pragma GCC unroll 16
        for (int i = 0; i < K / 2; ++i) fc_zip(a[i], a[i + K / 2], &b[2 * i], &b[2 * i + 1]);
#pragma GCC unroll 16
        for (int i = 0; i < K; ++i) a[i] = b[i];
    }
}

#endif /* FASTCONV_TRANSPOSE_H */
