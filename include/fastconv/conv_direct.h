/*
 * fastconv/conv_direct.h - direct 2-D convolution (cross-correlation) kernels.
 *
 * No checking is done here: the Python front (fastconv/_args.py) validates every shape,
 * stride and padding, and _conv.pyx allocates every buffer.  See conv_direct_impl.h for
 * the algorithm; this header instantiates it for float (suffix _f) and double (suffix _d).
 */
#ifndef FASTCONV_CONV_DIRECT_H
#define FASTCONV_CONV_DIRECT_H

#include <stdint.h>
#include <string.h>
#include "fastconv/simd.h"
#include "fastconv/pad.h"

/* Geometry of one convolution, shared by the packer and the band kernel. */
typedef struct {
    int64_t C;                 /* input channels read by one output channel (C_in / groups) */
    int64_t H, W;              /* unpadded input plane */
    int64_t sC, sH, sW;        /* input strides, in elements (may be negative) */
    int64_t kH, kW;            /* kernel */
    int64_t sh, sw, dh, dw;    /* stride and dilation */
    int64_t Ho, Wo;            /* output plane */
    int64_t pt, pl;            /* padding before the first row / column */
    int64_t Wp;                /* padded width */
    int mode;                  /* FC_PAD_* */
    int64_t npha;              /* column phases packed per row */
    const int64_t *pstart;     /* padded column where phase q starts (then every sw-th column) */
    int64_t Wq;                /* length of one packed phase (>= what the kernels read) */
    const int64_t *xoff;       /* per kernel column: offset of its tap inside a packed row */
} fc_conv_geom;

/* Output-channel block and vector count of the two microkernels. */
#define FC_OCB_WIDE 6
#define FC_NV_WIDE 2
#define FC_OCB_NARROW 1
#define FC_NV_NARROW 4
#define FC_RB 4 /* output rows of the one-channel row-blocked tile */

/* Build the row list of a band: the padded rows read by output rows [oh0, oh0 + R).
 * "contiguous" (every row of the span, when taps overlap or sit close) or one row per
 * (output row, kernel row).  Returns the number of band rows; fills ridx[R*kH]. */
static inline int64_t fc_band_rows(const fc_conv_geom *g, int64_t oh0, int64_t R, int contiguous,
                                   int64_t *rowsrc, int64_t *ridx) {
    const int64_t r0 = oh0 * g->sh;
    if (contiguous) {
        const int64_t span = (R - 1) * g->sh + (g->kH - 1) * g->dh + 1;
        for (int64_t i = 0; i < span; ++i) rowsrc[i] = r0 + i;
        for (int64_t r = 0; r < R; ++r)
            for (int64_t kh = 0; kh < g->kH; ++kh) ridx[r * g->kH + kh] = r * g->sh + kh * g->dh;
        return span;
    }
    for (int64_t r = 0; r < R; ++r)
        for (int64_t kh = 0; kh < g->kH; ++kh) {
            rowsrc[r * g->kH + kh] = r0 + r * g->sh + kh * g->dh;
            ridx[r * g->kH + kh] = r * g->kH + kh;
        }
    return R * g->kH;
}

#define FC_T float
#define FC_V fc_vf
#define FC_SUFFIX(name) name##_f
#include "fastconv/conv_direct_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX

#define FC_T double
#define FC_V fc_vd
#define FC_SUFFIX(name) name##_d
#include "fastconv/conv_direct_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX

#endif /* FASTCONV_CONV_DIRECT_H */
