/*
 * fastconv/pool/plane.h - pooling whose window is the whole plane (global pooling: one
 * output per plane).  Dtype-only kernels (multiversioned): part of the 32-byte variants
 * (fastconv/variants.h).  No checking is done here.
 *
 * The row kernels (pool/rows.h) pay per output row and column for a geometry made for
 * sliding windows; here one plane is one reduction, run over contiguous runs of elements
 * in vector lanes.  The maximum's index comes from a second, short pass (the first maximum,
 * or the last NaN), so the results are those of the row-major serial scan of fc_max_window:
 * ties give the first maximum, a NaN gives NaN and the index of the last NaN, a plane of
 * only -inf gives -inf and index 0.
 */
#ifndef FASTCONV_POOL_PLANE_H
#define FASTCONV_POOL_PLANE_H

/* Largest value of the n elements at x (contiguous) into *best, and whether one is NaN.
 * Four independent vector accumulators: the compare-select chain of one would wait on its
 * own latency. */
FC_INLINE void fc_max_run(const FC_T *x, int64_t n, FC_T *best, int *nan) {
    int64_t i = 0;
    FC_T b = *best;
    int any = 0;
    if (n >= FC_VL) {
        FC_V acc[4], v;
        for (int64_t l = 0; l < FC_VL; ++l) acc[0][l] = b;
        acc[1] = acc[2] = acc[3] = acc[0];
        fc_sel nn = acc[0] != acc[0]; /* no lane NaN yet (b is a number or -inf) */
        for (; i + 4 * FC_VL <= n; i += 4 * FC_VL) {
#pragma GCC unroll 4
            for (int u = 0; u < 4; ++u) {
                memcpy(&v, x + i + u * FC_VL, sizeof(FC_V));
                const fc_sel g = v > acc[u]; /* false for NaN: the accumulators keep numbers */
                acc[u] = (FC_V)((g & (fc_sel)v) | (~g & (fc_sel)acc[u]));
                nn |= v != v;
            }
        }
        for (; i + FC_VL <= n; i += FC_VL) { /* then one vector at a time */
            memcpy(&v, x + i, sizeof(FC_V));
            const fc_sel g = v > acc[0];
            acc[0] = (FC_V)((g & (fc_sel)v) | (~g & (fc_sel)acc[0]));
            nn |= v != v;
        }
        for (int u = 0; u < 4; ++u)
            for (int64_t l = 0; l < FC_VL; ++l) b = acc[u][l] > b ? acc[u][l] : b;
        for (int64_t l = 0; l < FC_VL; ++l) any |= nn[l] != 0;
    }
    for (; i < n; ++i) {
        b = x[i] > b ? x[i] : b;
        any |= x[i] != x[i];
    }
    *best = b;
    *nan |= any;
}

/* Max of the H x W plane at x (rows xsH apart, columns xsW apart) into *out and, when idx is
 * not NULL, its row-major index into *idx. */
FC_MULTIVERSION
static void fc_max_plane(const FC_T *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, FC_T *out, int64_t *idx) {
    FC_T best = -(FC_T)INFINITY;
    int nan = 0;
    if (xsW == 1 && xsH == W) {
        fc_max_run(x, H * W, &best, &nan);
    } else if (xsW == 1) {
        for (int64_t h = 0; h < H; ++h) fc_max_run(x + h * xsH, W, &best, &nan);
    } else {
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) {
                const FC_T v = x[h * xsH + w * xsW];
                best = v > best ? v : best;
                nan |= v != v;
            }
    }
    if (nan) {
        *out = (FC_T)NAN;
        if (idx == NULL) return;
        for (int64_t h = H - 1; h >= 0; --h) /* the last NaN */
            for (int64_t w = W - 1; w >= 0; --w)
                if (x[h * xsH + w * xsW] != x[h * xsH + w * xsW]) {
                    *idx = h * W + w;
                    return;
                }
    }
    *out = best;
    /* the first maximum (index 0 for a plane of -inf); also for a maximum of zero, whose sign
     * is that of the first zero in row-major order, not of whichever lane won */
    if (idx == NULL && best != 0) return;
    for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
            if (x[h * xsH + w * xsW] == best) {
                *out = x[h * xsH + w * xsW];
                if (idx) *idx = h * W + w;
                return;
            }
    if (idx) *idx = 0;
}

/* Sum of the n elements at x (contiguous): vector partial sums of at most FC_PLANE_BLOCK
 * elements, added in double, so that the error does not grow with the plane's size. */
FC_INLINE double fc_sum_run(const FC_T *x, int64_t n) {
    double total = 0;
    int64_t i = 0;
    while (n - i >= 2 * FC_VL) {
        const int64_t end = i + (n - i < FC_PLANE_BLOCK ? n - i : FC_PLANE_BLOCK);
        FC_V s0 = {0}, s1 = {0}, v0, v1;
        for (; i + 2 * FC_VL <= end; i += 2 * FC_VL) {
            memcpy(&v0, x + i, sizeof(FC_V));
            memcpy(&v1, x + i + FC_VL, sizeof(FC_V));
            s0 += v0;
            s1 += v1;
        }
        s0 += s1;
        FC_T s = 0;
        for (int64_t l = 0; l < FC_VL; ++l) s += s0[l];
        total += (double)s;
    }
    for (; i < n; ++i) total += (double)x[i];
    return total;
}

/* Mean of the H x W plane at x (rows xsH apart, columns xsW apart): the sum over divisor. */
FC_MULTIVERSION
static void fc_avg_plane(const FC_T *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, int64_t divisor, FC_T *out) {
    double total = 0;
    if (xsW == 1 && xsH == W) {
        total = fc_sum_run(x, H * W);
    } else if (xsW == 1) {
        for (int64_t h = 0; h < H; ++h) total += fc_sum_run(x + h * xsH, W);
    } else {
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) total += (double)x[h * xsH + w * xsW];
    }
    *out = (FC_T)(total / (double)divisor);
}

#endif /* FASTCONV_POOL_PLANE_H */
