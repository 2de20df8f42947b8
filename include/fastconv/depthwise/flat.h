/*
 * fastconv/depthwise/flat.h - the flat kernel (FC_KIND_DW_FLAT): 3x3 and 5x5 "same" planes
 * read as one long row.  Needs the lane shifts of the 64-byte variants (FC_ALIGNR); part of
 * a variant (fastconv/variants.h); no checking is done here.
 */
#ifndef FASTCONV_DEPTHWISE_FLAT_H
#define FASTCONV_DEPTHWISE_FLAT_H

/* Flat kernel: planes that keep their shape, read as one long row.
 * A 3x3 or 5x5 kernel with unit stride and dilation and constant padding of KS/2 on every
 * side (the usual depthwise layer) keeps the plane's shape, so with contiguous rows output
 * element p (flat index i*W + j) reads input elements p + (kh - h)*W + (kw - h), h = KS/2.
 * Walking the plane as one row of H*W elements keeps every lane busy (56-column rows
 * are 3.5 vectors, and by rows took 4 chunks, two of them edge chunks), and each tap row
 * needs one new load per output vector: the KS shifted vectors come from the previous load
 * and the new one by lane shifts where FC_ALIGNR exists (an unaligned 64-byte load splits a
 * cache line and costs two loads; nine of them per output vector made the rows kernel
 * load-bound at about 8 cycles a vector).
 * A tap that crosses a row end reads the neighbouring row's element instead of the padding,
 * so each kernel column is summed in its own accumulator, and the lanes whose column lies in
 * the padding for that kernel column take fill * (its taps' sum) instead.  Outputs whose taps
 * reach above or below the plane are computed from a small copy with fill around it. */
#define FC_FLAT_PIECE (FC_FLAT_REACH + FC_VL)                         /* outputs per piece of the copy */
#define FC_FLAT_REACH (FC_FLAT_MAX_BYTES / (int64_t)sizeof(FC_T) + 2) /* h * W + h at most */

/* Lane integers of FC_T's size, for the column masks. */
typedef __typeof__(__builtin_choose_expr(sizeof(FC_T) == 4, (int32_t)0, (int64_t)0)) fc_lane_int;
typedef fc_lane_int fc_ivec __attribute__((vector_size(sizeof(FC_V))));

/* Column masks for fc_dw_flat_run: row d - 1 is all ones but for elements [16, 16 + d)
 * (16: the most lanes a vector has). */
#ifndef FC_FLAT_ONES
#define FC_FLAT_ONES4 -1, -1, -1, -1
#define FC_FLAT_ONES FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES4
#endif
static const fc_lane_int fc_flat_zm[2][48] = {
    {FC_FLAT_ONES, 0, -1, -1, -1, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES},
    {FC_FLAT_ONES, 0, 0, -1, -1, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES4, FC_FLAT_ONES},
};

/* n >= VL outputs out[0 .. n) of one plane from xc, the input element at the first output's
 * position: out[i] reads xc[i + (kh - h)*W + kw - h], all of xc[-(h*W + h) .. n + h*W + h)
 * readable; W >= VL + h - 1 (a vector then holds at most one row start and one row end);
 * j0: the first output's column; fs[kw]: what a padded column
 * contributes to kernel column kw (fill times its taps), used unless zf.  pf[0 .. pfn) is
 * prefetched along the way, a cache line or so per vector (pfn may be 0). */
FC_INLINE void fc_dw_flat_run(const FC_T *xc, int64_t W, int64_t j0, int64_t n, const FC_V *wp, FC_V bv,
                              const FC_V *fsp, const int zf, FC_T *out, const FC_T *pf, int64_t pfn, const int KS) {
    typedef fc_ivec I;
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
    const fc_lane_int(*const zm)[48] = fc_flat_zm;
    const FC_T *r[5];
#pragma GCC unroll 8
    for (int kh = 0; kh < KS; ++kh) r[kh] = xc + (kh - h) * W - h;
    /* One vector's result, lane 0 at column c: the centre column, plus each other kernel
     * column where it reads the row, or its padding contribution where it reads the padding
     * (left of the row for kw < h: columns < h - kw; right for kw > h: columns >= W - (kw - h)). */
#define FC_FLAT_STORE(dst, acc, c)                                                                                     \
    do {                                                                                                               \
        FC_V res_ = acc[h];                                                                                            \
        _Pragma("GCC unroll 8") for (int kw = 0; kw < KS; ++kw) {                                                      \
            if (kw == h) continue;                                                                                     \
            const int d_ = kw < h ? h - kw : kw - h;                                                                   \
            /* first dropped lane: a row start (or the end of the row before) */                                       \
            int64_t l0_ = kw < h ? ((c) < d_ ? -(c) : W - (c)) : W - (c) - d_;                                         \
            if (l0_ > FC_VL) l0_ = FC_VL;                                                                              \
            I m_;                                                                                                      \
            memcpy(&m_, zm[d_ - 1] + 16 - l0_, sizeof(I));                                                             \
            I keep_ = (I)acc[kw] & m_;                                                                                 \
            if (!zf) keep_ |= (I)fs[kw] & ~m_;                                                                         \
            res_ += (FC_V)keep_;                                                                                       \
        }                                                                                                              \
        memcpy((dst), &res_, sizeof(FC_V));                                                                            \
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

#define FC_DEF_DW_FLAT(NAME, KS)                                                                                       \
    FC_ATTR __attribute__((noinline)) static void NAME(const FC_T *xc, int64_t W, int64_t j0, int64_t n,               \
                                                       const FC_V *wv, FC_T b, const FC_V *fs, int zf, FC_T *out,      \
                                                       const FC_T *pf, int64_t pfn) {                                  \
        if (zf) /* one copy for zero padding, without the fill lanes */                                                \
            fc_dw_flat_run(xc, W, j0, n, wv, (FC_V){0} + b, fs, 1, out, pf, pfn, KS);                                  \
        else                                                                                                           \
            fc_dw_flat_run(xc, W, j0, n, wv, (FC_V){0} + b, fs, 0, out, pf, pfn, KS);                                  \
    }
FC_DEF_DW_FLAT(fc_dw_flat_run3, 3)
FC_DEF_DW_FLAT(fc_dw_flat_run5, 5)
#undef FC_DEF_DW_FLAT

/* xs[0 .. len): the plane's flat elements [lo, lo + len), fill outside the plane. */
FC_INLINE void fc_flat_copy(const FC_T *x, int64_t HW, int64_t lo, int64_t len, FC_T fill, FC_T *xs) {
    const int64_t ta = lo < 0 ? (-lo < len ? -lo : len) : 0;
    const int64_t tb = HW - lo < len ? (HW - lo > ta ? HW - lo : ta) : len;
    for (int64_t t = 0; t < ta; ++t) xs[t] = fill;
    if (tb > ta) memcpy(xs + ta, x + lo + ta, (size_t)(tb - ta) * sizeof(FC_T));
    for (int64_t t = tb; t < len; ++t) xs[t] = fill;
}

/* Output rows [oh0, oh0 + R) of one plane the flat way (FC_KIND_DW_FLAT, whose geometry the
 * planner checked: see fastconv._plan): x, the input plane
 * (H x W, contiguous), w its KS x KS taps, out the output plane; nx, nxrows as for
 * fc_dw_band.  Outputs [a, e) read the plane in place; the ones before and after read a
 * copy of their part of the plane with fill around it, in pieces of at most FC_FLAT_PIECE
 * outputs (one on each side unless the band is all border).  A single run over [a, e): the
 * run's set-up and its last vectors (plain loads) cost about a tenth of a 56 x 56 plane, so
 * the plane is not cut into several runs to spread the prefetches. */
FC_ATTR static void fc_dw_flat(const FC_T *x, const fc_conv_geom *g, const FC_T *w, FC_T b, FC_T fill, int64_t oh0,
                               int64_t R, FC_T *out, const FC_T *nx, int64_t nxrows) {
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
#define FC_FLAT_RUN(xc, j0, n, dst, pf, pfn)                                                                           \
    do {                                                                                                               \
        if (KS == 3)                                                                                                   \
            fc_dw_flat_run3(xc, W, j0, n, wv, b, fs, zf, dst, pf, pfn);                                                \
        else                                                                                                           \
            fc_dw_flat_run5(xc, W, j0, n, wv, b, fs, zf, dst, pf, pfn);                                                \
    } while (0)
    const int64_t q0 = oh0 * W, q1 = (oh0 + R) * W;
    int64_t a = q0 > reach ? q0 : reach, e = q1 < HW - reach ? q1 : HW - reach;
    if (e - a < FC_VL) a = e = q1;
    /* the next item's rows are prefetched along the plane's part (at once if all is border) */
    const int64_t pfn = nx != NULL ? nxrows * W : 0;
    if (e > a)
        FC_FLAT_RUN(x + a, a % W, e - a, out + a, nx, pfn);
    else if (pfn > 0)
        fc_prefetch_bytes(nx, pfn * (int64_t)sizeof(FC_T));
    FC_T xs[FC_FLAT_PIECE + 2 * FC_FLAT_REACH], os[FC_FLAT_PIECE];
    const int64_t s0[2] = {q0, e}, s1[2] = {a, q1};
    for (int side = 0; side < 2; ++side)
        for (int64_t s = s0[side]; s < s1[side]; s += FC_FLAT_PIECE) {
            const int64_t L = s1[side] - s < FC_FLAT_PIECE ? s1[side] - s : FC_FLAT_PIECE;
            const int64_t nn = L > FC_VL ? L : FC_VL; /* past L: computed, not kept */
            fc_flat_copy(x, HW, s - reach, nn + 2 * reach, fill, xs);
            FC_FLAT_RUN(xs + reach, s % W, nn, os, NULL, 0);
            memcpy(out + s, os, (size_t)L * sizeof(FC_T));
        }
#undef FC_FLAT_RUN
}

#endif /* FASTCONV_DEPTHWISE_FLAT_H */
