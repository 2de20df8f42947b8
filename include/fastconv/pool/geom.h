/*
 * fastconv/pool/geom.h - the geometry of pooling one plane, and the column tap ranges.
 *
 * No checking is done here: fastconv/_args.py validated the configuration (every window
 * holds at least one real element, padding <= kernel/2) and _pool.pyx allocated the outputs.
 *
 * Border handling without branches in the inner loops: for every output row (and, computed
 * once per call, every output column) the range of kernel taps that fall inside the input
 * is precomputed (fc_tap_range), so interior and border windows run the same loop.
 *
 * Semantics (PyTorch 2.x CPU): max pooling keeps the first maximum in row-major window order
 * (strict >), a NaN replaces the running maximum (so a window with NaNs gives NaN with the
 * index of the last NaN), and the running maximum starts at -inf with the index of the first
 * real element (a window of only -inf gives -inf and that index).  Indices are h * W + w in
 * the unpadded plane.
 */
#ifndef FASTCONV_POOL_GEOM_H
#define FASTCONV_POOL_GEOM_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "fastconv/simd.h"
#include "fastconv/tuning.h"

/* Taps k in [*lo, *hi) of a window starting at `start` (may be negative), step d, read
 * positions inside [0, n). */
static inline void fc_tap_range(int64_t start, int64_t k, int64_t d, int64_t n, int64_t *lo, int64_t *hi) {
    int64_t a = start < 0 ? (-start + d - 1) / d : 0;
    int64_t b = start > n - 1 ? 0 : (n - 1 - start) / d + 1;
    if (b > k) b = k;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* Per output column q0 + j, j in [0, Wo): first input column and the valid tap range. */
static inline void fc_col_ranges(int64_t Wo, int64_t q0, int64_t kW, int64_t sW, int64_t pW, int64_t dW, int64_t W,
                                 int64_t *w0, int64_t *lo, int64_t *hi) {
    for (int64_t j = 0; j < Wo; ++j) {
        w0[j] = (q0 + j) * sW - pW;
        fc_tap_range(w0[j], kW, dW, W, &lo[j], &hi[j]);
    }
}

/* All positions are global (in the whole input / output plane).  To compute a block of the
 * output from only the part of the input it reads (Dask), x points at input element
 * (r_org, c_org) of the plane, out at output row o_org, and the Wo output columns computed
 * are the global columns q0 .. q0 + Wo - 1.  For a whole plane all four are 0. */
typedef struct {
    int64_t H, W, xsH, xsW; /* whole input plane, and the element strides of x */
    int64_t Wr;             /* columns of x present (W for a whole plane) */
    int64_t Wo;             /* output columns computed (and the row length of out) */
    int64_t kH, kW, sH, sW, pH, pW, dH, dW;
    int64_t r_org, c_org, o_org, q0;
    const int64_t *w0, *wlo, *whi; /* from fc_col_ranges, for columns q0 .. */
} fc_pool_geom;

/* Scratch layout of the phase-split max-pool interior (pool/rows.h); FC_PBLK: tuning.h. */

typedef struct {
    int64_t n, np, L; /* interior columns, n rounded up to FC_PBLK, phase row length */
    size_t bytes;     /* scratch size; the FC_T part first, then int64s */
} fc_phased_dims;

static inline fc_phased_dims fc_phased_layout(const fc_pool_geom *g, int64_t n, size_t elem) {
    fc_phased_dims d;
    d.n = n;
    d.np = (n + FC_PBLK - 1) / FC_PBLK * FC_PBLK;
    /* a whole number of blocks, so that every FC_T row and the int64 part after them
     * stay aligned */
    d.L = (d.np + ((g->kW - 1) * g->dW) / g->sW + FC_PBLK - 1) / FC_PBLK * FC_PBLK;
    d.bytes = elem * (size_t)(g->sW * d.L + 2 * d.np) + sizeof(int64_t) * (size_t)(g->kH * g->kW + g->sW + g->kW);
    return d;
}

#endif /* FASTCONV_POOL_GEOM_H */
