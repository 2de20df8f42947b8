/*
 * fastconv/transpose.h - in-register interleaves and transposes of FC_V vectors, shared by
 * the weight packer, the channel-lane tiles' stores and the Winograd output, and the
 * transposes between channels-last pixels and channel planes built on them.  Part of a
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

/* The pixels [0, pr) of a run of np pixels of C channels (cv of them in whole vectors, r = C
 * - cv > 0) whose last r channels the transposes below move as whole vectors: a vector at a
 * pixel's channel cv reaches VL - r elements into the next pixels, which must lie inside
 * the run.  Whole blocks of VL pixels. */
FC_INLINE int64_t fc_nhwc_rest_pixels(int64_t np, int64_t C, int64_t cv) {
    int64_t pr = np / FC_VL * FC_VL;
    while (pr > 0 && (pr - 1) * C + cv + FC_VL > np * C) pr -= FC_VL;
    return pr;
}

/* dst[c ds + p] = src[p C + c] for pixels p < np and channels c < C: a channels-last block
 * (pixel stride C) into channel planes (plane stride ds, pixels contiguous), VL x VL squares
 * transposed in registers (fc_zipn).  The channels past the last whole vector go the same
 * way, VL pixels at a time, from vectors that read on into the next pixels (whose lanes
 * are dropped), as far as the run allows; the rest element by element.  A channels-first
 * result of the channels-last depthwise kernel (depthwise/nhwc.h) goes through it, from a
 * channels-last block of rows (written in place, one element per plane for each pixel's
 * vector of sums, C planes side by side, it ran several times slower than the sums
 * themselves), channels-last input of depthwise layers whose channels are not whole
 * vectors (Plan.to_planes), and the panels of POINTWISE on channels-last input. */
FC_ATTR
static void fc_nhwc_to_planes(const FC_T *src, int64_t np, int64_t C, FC_T *dst, int64_t ds) {
    const int64_t pv = np / FC_VL * FC_VL, cv = C / FC_VL * FC_VL, r = C - cv;
    const int64_t pr = r ? fc_nhwc_rest_pixels(np, C, cv) : pv;
    for (int64_t p0 = 0; p0 < pv; p0 += FC_VL) {
        for (int64_t c0 = 0; c0 < cv; c0 += FC_VL) {
            FC_V v[FC_VL];
#pragma GCC unroll 16
            for (int i = 0; i < FC_VL; ++i) memcpy(&v[i], src + (p0 + i) * C + c0, sizeof(FC_V));
            fc_zipn(v, FC_VL);
#pragma GCC unroll 16
            for (int k = 0; k < FC_VL; ++k) memcpy(dst + (c0 + k) * ds + p0, &v[k], sizeof(FC_V));
        }
        if (r && p0 < pr) {
            FC_V v[FC_VL];
#pragma GCC unroll 16
            for (int i = 0; i < FC_VL; ++i) memcpy(&v[i], src + (p0 + i) * C + cv, sizeof(FC_V));
            fc_zipn(v, FC_VL);
            for (int64_t k = 0; k < r; ++k) memcpy(dst + (cv + k) * ds + p0, &v[k], sizeof(FC_V));
        }
    }
    for (int64_t c = 0; c < C; ++c)
        for (int64_t p = c < cv ? pv : pr; p < np; ++p) dst[c * ds + p] = src[p * C + c];
}

/* dst[p C + c] = src[c ds + p] for pixels p < np and channels c < C: fc_nhwc_to_planes the
 * other way, channel planes (plane stride ds) into a channels-last block (pixel stride C).
 * The channels past the last whole vector are stored as whole vectors pixel by pixel,
 * before the block's other channels: a store's lanes past the pixel's channels fall on the
 * next pixels, which their own stores then overwrite, in order (inside the run, as
 * fc_nhwc_rest_pixels allows).  The channels-last result of a kind that writes channel
 * planes goes through it, on the threads (NumPy's strided copy is serial and slower). */
FC_ATTR
static void fc_planes_to_nhwc(const FC_T *src, int64_t ds, int64_t np, int64_t C, FC_T *dst) {
    const int64_t pv = np / FC_VL * FC_VL, cv = C / FC_VL * FC_VL, r = C - cv;
    const int64_t pr = r ? fc_nhwc_rest_pixels(np, C, cv) : pv;
    for (int64_t p0 = 0; p0 < pv; p0 += FC_VL) {
        if (r && p0 < pr) {
            FC_V v[FC_VL];
            for (int64_t i = 0; i < FC_VL; ++i)
                if (i < r)
                    memcpy(&v[i], src + (cv + i) * ds + p0, sizeof(FC_V));
                else
                    v[i] = (FC_V){0};
            fc_zipn(v, FC_VL);
#pragma GCC unroll 16
            for (int k = 0; k < FC_VL; ++k) memcpy(dst + (p0 + k) * C + cv, &v[k], sizeof(FC_V));
        }
        for (int64_t c0 = 0; c0 < cv; c0 += FC_VL) {
            FC_V v[FC_VL];
#pragma GCC unroll 16
            for (int i = 0; i < FC_VL; ++i) memcpy(&v[i], src + (c0 + i) * ds + p0, sizeof(FC_V));
            fc_zipn(v, FC_VL);
#pragma GCC unroll 16
            for (int k = 0; k < FC_VL; ++k) memcpy(dst + (p0 + k) * C + c0, &v[k], sizeof(FC_V));
        }
    }
    for (int64_t p = pr; p < np; ++p)
        for (int64_t c = p < pv ? cv : 0; c < C; ++c) dst[p * C + c] = src[c * ds + p];
}

#endif /* FASTCONV_TRANSPOSE_H */
