/*
 * fastconv/direct/wgrad_pointwise.h - the weight gradient of a 1x1 unit-stride convolution
 * without padding, its input and output-gradient planes read where they lie:
 *
 *     gw[o, c] = sum over images and pixels p of g[o, p] * x[c, p]
 *
 * Both operands hold pixels contiguously, so the pixels go across the vector lanes: a tile
 * keeps FC_WGP_MO output channels x FC_WGP_NC input channels of vector sums in registers,
 * and per VL pixels loads NC + MO vectors for MO x NC fused multiply-adds (the run's output
 * gradients of a block packed side by side first), with no
 * transpose into channels-last rows (which the tiles of direct/wgrad.h need, and which
 * cost a 1x1 layer's gradient more than its products where the channels are few).  A call covers a run of pixels of one
 * image and group; each tile's lanes are summed in FC_T at the end of the run (the run's
 * length bounds each float32 sum) and added to the caller's double totals.
 *
 * No checking is done here: the driver (_direct.pyx) passes valid shapes.
 */
#ifndef FASTCONV_DIRECT_WGRAD_POINTWISE_H
#define FASTCONV_DIRECT_WGRAD_POINTWISE_H

/* Lane j of the result = the sum of v[j]'s lanes, j < VL (v is overwritten): log2(VL)
 * rounds of zips, each adding the halves of two vectors' lanes into one (a chain of VL
 * scalar adds per tile sum, or a tree of halves per vector, cost as much as the run's
 * products). */
FC_INLINE FC_V fc_wgp_lane_sums(FC_V *v) {
#pragma GCC unroll 8
    for (int h = FC_VL / 2; h >= 1; h /= 2)
#pragma GCC unroll 16
        for (int i = 0; i < h; ++i) {
            FC_V lo, hi;
            fc_zip(v[i], v[i + h], &lo, &hi);
            v[i] = lo + hi;
        }
    return v[0];
}

/* acc[o][c] += the products of the VL pixels at p, lanes lo .. hi - 1 only (m: those lanes'
 * bits set; a product outside them, an inf times a zero, must not reach the sums). */
FC_INLINE void fc_wgp_masked(const FC_T *g, int64_t gs, const FC_T *x, int64_t xs, int64_t p, fc_sel m, const int MO,
                             const int NC, FC_V acc[][FC_WGP_NC]) {
#pragma GCC unroll 8
    for (int o = 0; o < MO; ++o) {
        FC_V gv;
        memcpy(&gv, g + o * gs + p, sizeof(FC_V));
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            FC_V xv;
            memcpy(&xv, x + c * xs + p, sizeof(FC_V));
            acc[o][c] += (FC_V)((fc_sel)(gv * xv) & m);
        }
    }
}

/* The tile: tot[o * ldt + c] += sum over p < n of g[o * gs + p] * x[c * xs + p], for o < MO
 * and c < NC (constants at each call): whole vectors from pixel h on (where the input rows
 * reach a vector boundary), the pixels before h and past the last whole vector as lanes of
 * a vector that overlaps the others (one by one they cost a large share of a short run), or
 * one by one on runs shorter than a vector. */
FC_INLINE void fc_wgp_tile(const FC_T *g, int64_t gs, const FC_V *gk, const FC_T *x, int64_t xs, int64_t n, int64_t h,
                           const int MO, const int NC, double *tot, int64_t ldt) {
    FC_V acc[FC_WGP_MO][FC_WGP_NC];
#pragma GCC unroll 8
    for (int o = 0; o < MO; ++o)
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) acc[o][c] = (FC_V){0};
    const int whole = n >= FC_VL;
    if (!whole) h = 0;
    int64_t j = h;
    if (gk != NULL) /* the whole vectors' output gradients packed, [vector][o], FC_WGP_MO per vector */
        for (; j + FC_VL <= n; j += FC_VL, gk += FC_WGP_MO) {
            FC_V xv[FC_WGP_NC];
#pragma GCC unroll 8
            for (int c = 0; c < NC; ++c) memcpy(&xv[c], x + c * xs + j, sizeof(FC_V));
#pragma GCC unroll 8
            for (int o = 0; o < MO; ++o)
#pragma GCC unroll 8
                for (int c = 0; c < NC; ++c) acc[o][c] += gk[o] * xv[c];
        }
    for (; j + FC_VL <= n; j += FC_VL) {
        FC_V xv[FC_WGP_NC];
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) memcpy(&xv[c], x + c * xs + j, sizeof(FC_V));
#pragma GCC unroll 8
        for (int o = 0; o < MO; ++o) {
            FC_V gv;
            memcpy(&gv, g + o * gs + j, sizeof(FC_V));
#pragma GCC unroll 8
            for (int c = 0; c < NC; ++c) acc[o][c] += gv * xv[c];
        }
    }
    if (whole && (h > 0 || j < n)) {
        fc_sel head, tail;
#pragma GCC unroll 16
        for (int l = 0; l < FC_VL; ++l) {
            head[l] = l < h ? -1 : 0;
            tail[l] = l >= FC_VL - (n - j) ? -1 : 0;
        }
        if (h > 0) fc_wgp_masked(g, gs, x, xs, 0, head, MO, NC, acc);
        if (j < n) fc_wgp_masked(g, gs, x, xs, n - FC_VL, tail, MO, NC, acc);
        j = n;
    }
    FC_T sums[FC_WGP_MO * FC_WGP_NC + 16];
#pragma GCC unroll 4
    for (int k0 = 0; k0 < MO * NC; k0 += FC_VL) {
        FC_V v[16];
#pragma GCC unroll 16
        for (int i = 0; i < FC_VL; ++i) v[i] = k0 + i < MO * NC ? acc[(k0 + i) / NC][(k0 + i) % NC] : (FC_V){0};
        const FC_V r = fc_wgp_lane_sums(v);
        memcpy(sums + k0, &r, sizeof r);
    }
    for (int o = 0; o < MO; ++o)
        for (int c = 0; c < NC; ++c) {
            FC_T s = sums[o * NC + c];
            for (int64_t k = j; k < n; ++k) s += g[o * gs + k] * x[c * xs + k];
            tot[o * ldt + c] += (double)s;
        }
}

#define FC_WGP_CASE(MO_, NC_)                                                                                          \
    case MO_: fc_wgp_tile(gp, gs, gk, xp, xs, n, h, MO_, NC_, tp, Cg); break;
/* the blocks of fewer than FC_WGP_MO output channels */
#define FC_WGP_C2(NC_) FC_WGP_CASE(1, NC_)
#define FC_WGP_C3(NC_) FC_WGP_C2(NC_) FC_WGP_CASE(2, NC_)
#define FC_WGP_C4(NC_) FC_WGP_C3(NC_) FC_WGP_CASE(3, NC_)
#define FC_WGP_C5(NC_) FC_WGP_C4(NC_) FC_WGP_CASE(4, NC_)
#define FC_WGP_C6(NC_) FC_WGP_C5(NC_) FC_WGP_CASE(5, NC_)
#define FC_WGP_CAT(a, b) a##b
#define FC_WGP_XCAT(a, b) FC_WGP_CAT(a, b)
#define FC_WGP_CASES(NC_) FC_WGP_XCAT(FC_WGP_C, FC_WGP_MO)(NC_)

/* Add the products of n pixels into tot[o * Cg + c] (double), o < og, c < Cg: x the Cg input
 * planes (xs elements apart), g the og output-gradient planes (gs apart), each pointing at
 * the run's first pixel.  Blocks of FC_WGP_MO output channels outermost, so that their rows
 * of the run stay in the first-level cache while the input rows stream past them. */
FC_ATTR
static void fc_wgrad_pointwise(const FC_T *x, int64_t xs, int64_t Cg, const FC_T *g, int64_t gs, int64_t og, int64_t n,
                               double *tot) {
    /* the pixels before the input rows' first vector boundary, where every row has one at
     * the same pixel (an unaligned 64-byte load splits across two cache lines, and NumPy
     * aligns arrays to 16 bytes; the output-gradient rows, read from the first-level
     * cache, matter less) */
    int64_t h = 0;
    if (xs * (int64_t)sizeof(FC_T) % (int64_t)sizeof(FC_V) == 0) {
        h = (int64_t)((sizeof(FC_V) - (uintptr_t)x % sizeof(FC_V)) % sizeof(FC_V) / sizeof(FC_T));
        h = h < n ? h : n;
    }
    /* the block's output-gradient vectors packed side by side, so that the tiles address
     * them from one pointer (with run-time row strides, six row pointers and four input ones
     * left the tile's registers to spill) */
    FC_V gbuf[FC_WGP_MO * FC_WGP_PACK_VECS];
    const int64_t nb = n >= FC_VL ? (n - h) / FC_VL : 0;
    const FC_V *gk = nb <= FC_WGP_PACK_VECS && nb > 0 ? gbuf : NULL;
    for (int64_t o0 = 0; o0 < og; o0 += FC_WGP_MO) {
        const int64_t mo = og - o0 < FC_WGP_MO ? og - o0 : FC_WGP_MO;
        const FC_T *gp = g + o0 * gs;
        if (gk != NULL)
            for (int64_t b = 0; b < nb; ++b)
                for (int64_t o = 0; o < mo; ++o)
                    memcpy(&gbuf[b * FC_WGP_MO + o], gp + o * gs + h + b * FC_VL, sizeof(FC_V));
        int64_t c0 = 0;
        for (; c0 + FC_WGP_NC <= Cg; c0 += FC_WGP_NC) {
            const FC_T *xp = x + c0 * xs;
            double *tp = tot + o0 * Cg + c0;
            switch (mo) { /* constant tile shapes: the sums stay in registers */
                FC_WGP_CASES(FC_WGP_NC)
            default: fc_wgp_tile(gp, gs, gk, xp, xs, n, h, FC_WGP_MO, FC_WGP_NC, tp, Cg); break;
            }
        }
        for (; c0 < Cg; ++c0) {
            const FC_T *xp = x + c0 * xs;
            double *tp = tot + o0 * Cg + c0;
            switch (mo) {
                FC_WGP_CASES(1)
            default: fc_wgp_tile(gp, gs, gk, xp, xs, n, h, FC_WGP_MO, 1, tp, Cg); break;
            }
        }
    }
}

#undef FC_WGP_CASES
#undef FC_WGP_CASE

#endif /* FASTCONV_DIRECT_WGRAD_POINTWISE_H */
