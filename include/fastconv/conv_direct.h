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
    int64_t rstep;             /* elements between band rows: npha * Wq, or sH when the
                                * kernels read the input in place */
} fc_conv_geom;

/* Output-channel block and vector count of the two microkernels (FC_OCB_V4: the wide
 * tile's block with 64-byte vectors). */
#define FC_OCB_WIDE 6
#define FC_OCB_V4 12
#define FC_NV_WIDE 2
#define FC_OCB_NARROW 1
#define FC_NV_NARROW 4

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

/* Instantiations: for each dtype, 32-byte vectors (compiled for AVX2+FMA and baseline by
 * FC_MULTIVERSION) and, on x86-64 with GCC, 64-byte vectors compiled for x86-64-v4
 * (AVX-512), whose wider tile (FC_OCB_V4 channels) uses the 32 vector registers.  The
 * caller picks one with fc_conv_vector_bytes() for a whole call, since the row padding of
 * the packed bands depends on it, and passes it to fc_conv_band_{f,d}. */
#define FC_NAME_F(name) name##_f
#define FC_NAME_D(name) name##_d
#define FC_NAME_F32(name) name##_f32
#define FC_NAME_D32(name) name##_d32
#define FC_NAME_F64(name) name##_f64
#define FC_NAME_D64(name) name##_d64

#define FC_ATTR FC_MULTIVERSION
#define FC_OCBW FC_OCB_WIDE
#define FC_NCOL 6 /* columns of the channel-lane tile */
#define FC_OCB_M 3
#define FC_OCB_S 2
#define FC_RB 4 /* output rows of the one-channel row-blocked tile */
#define FC_RB_MIN_KH 5 /* used from this kernel height (measured) */
#define FC_T float
#define FC_V fc_vf
#define FC_SUFFIX FC_NAME_F32
#define FC_PACK_SUFFIX FC_NAME_F
#include "fastconv/conv_direct_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX
#undef FC_PACK_SUFFIX
#define FC_T double
#define FC_V fc_vd
#define FC_SUFFIX FC_NAME_D32
#define FC_PACK_SUFFIX FC_NAME_D
#include "fastconv/conv_direct_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX
#undef FC_PACK_SUFFIX
#undef FC_ATTR
#undef FC_OCBW
#undef FC_NCOL
#undef FC_OCB_M
#undef FC_OCB_S
#undef FC_RB
#undef FC_RB_MIN_KH

#ifdef FC_HAVE_V4
/* Lanes k.. of lo followed by the first k lanes of hi: valignd/valignq, one uop taking the
 * shift as an immediate (GCC 12 builds __builtin_shuffle of this pattern from vpermt2ps and
 * an index register, reloaded on each use when the registers are full).  The builtins, not
 * the intrinsics, so that these inline into the generic-target helpers that the v4 kernels
 * inline in turn; k is a constant once the callers' loops are unrolled, and the switch
 * gives each builtin a literal. */
#include <immintrin.h> /* declares the builtins below */
typedef int fc_vi64 __attribute__((vector_size(64)));
typedef long long fc_vq64 __attribute__((vector_size(64)));
#define FC_DEF_ALIGNR(NAME, V, I, B, M)                                                             \
    FC_INLINE V NAME(V lo, V hi, int k) {                                                           \
        const I a = (I)hi, b = (I)lo, z = {0};                                                      \
        switch (k) {                                                                                \
        case 1: return (V)B(a, b, 1, z, (M)-1);                                                     \
        case 2: return (V)B(a, b, 2, z, (M)-1);                                                     \
        case 3: return (V)B(a, b, 3, z, (M)-1);                                                     \
        case 4: return (V)B(a, b, 4, z, (M)-1);                                                     \
        case 5: return (V)B(a, b, 5, z, (M)-1);                                                     \
        case 6: return (V)B(a, b, 6, z, (M)-1);                                                     \
        case 7: return (V)B(a, b, 7, z, (M)-1);                                                     \
        default: return lo;                                                                         \
        }                                                                                           \
    }
FC_DEF_ALIGNR(fc_alignr_f64, fc_vf64, fc_vi64, __builtin_ia32_alignd512_mask, unsigned short)
FC_DEF_ALIGNR(fc_alignr_d64, fc_vd64, fc_vq64, __builtin_ia32_alignq512_mask, unsigned char)
#undef FC_DEF_ALIGNR

#define FC_ATTR FC_TARGET_V4
#define FC_OCBW FC_OCB_V4
#define FC_NCOL 14
#define FC_OCB_M 8
#define FC_OCB_S 4
#define FC_RB 4
#define FC_RB_MIN_KH 5
#define FC_T float
#define FC_V fc_vf64
#define FC_SUFFIX FC_NAME_F64
#define FC_ALIGNR fc_alignr_f64
#define FC_STREAM(p, v) __builtin_ia32_movntps512((p), (v))
#include "fastconv/conv_direct_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX
#undef FC_ALIGNR
#undef FC_STREAM
#define FC_T double
#define FC_V fc_vd64
#define FC_SUFFIX FC_NAME_D64
#define FC_ALIGNR fc_alignr_d64
#define FC_STREAM(p, v) __builtin_ia32_movntpd512((p), (v))
#include "fastconv/conv_direct_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX
#undef FC_ALIGNR
#undef FC_STREAM
#undef FC_ATTR
#undef FC_OCBW
#undef FC_NCOL
#undef FC_OCB_M
#undef FC_OCB_S
#undef FC_RB
#undef FC_RB_MIN_KH
#endif

/* Vector width, in bytes, of the kernels this CPU runs best (64 or 32). */
static inline int64_t fc_conv_vector_bytes(void) {
#ifdef FC_HAVE_V4
    if (fc_cpu_has_v4()) return 64;
#endif
    return 32;
}

/* Output channels per packed weight block (the wide tile) for vector width vb.  (Blocks of
 * 8 when 8 divides C_out and 12 does not were measured slower on C3 and no faster on C5.) */
static inline int64_t fc_conv_wide_ocb(int64_t vb) { return vb == 64 ? FC_OCB_V4 : FC_OCB_WIDE; }

#define FC_BAND_DISPATCH(SUF, T)                                                                    \
    static inline void fc_conv_band_##SUF(int64_t vb, const T *xband, int64_t cstep, const int64_t *ridx, \
                                          const T *wpack, int64_t ocb, const T *bias, int64_t cout,    \
                                          const fc_conv_geom *g, int64_t oh0, int64_t R, T *out,       \
                                          int64_t plane) {                                             \
        FC_BAND_V4(SUF)                                                                                \
        fc_conv_band_##SUF##32(xband, cstep, ridx, wpack, ocb, bias, cout, g, oh0, R, out, plane);    \
    }
#ifdef FC_HAVE_V4
#define FC_BAND_V4(SUF)                                                                             \
    if (vb == 64) {                                                                                 \
        fc_conv_band_##SUF##64(xband, cstep, ridx, wpack, ocb, bias, cout, g, oh0, R, out, plane);    \
        return;                                                                                     \
    }
#else
#define FC_BAND_V4(SUF) (void)vb;
#endif
FC_BAND_DISPATCH(f, float)
FC_BAND_DISPATCH(d, double)
#undef FC_BAND_DISPATCH
#undef FC_BAND_V4

#define FC_DW_DISPATCH(SUF, T)                                                                       \
    static inline void fc_dw_band_##SUF(int64_t vb, const T *x, int64_t sH, const fc_conv_geom *g,     \
                                        const int64_t *colmap, const T *fillrow, T fill, const T *w,  \
                                        T b, int64_t oh0, int64_t R, T *out, int64_t rg, const T **rowp, \
                                        T *edge, const T **eptr, T *tmp, const T *nx, int64_t nxrows,    \
                                        int stream) {                                                 \
        FC_DW_V4(SUF)                                                                                \
        fc_dw_band_##SUF##32(x, sH, g, colmap, fillrow, fill, w, b, oh0, R, out, rg, rowp, edge, eptr, tmp, nx, nxrows, stream); \
    }
#ifdef FC_HAVE_V4
#define FC_DW_V4(SUF)                                                                                \
    if (vb == 64) {                                                                                  \
        fc_dw_band_##SUF##64(x, sH, g, colmap, fillrow, fill, w, b, oh0, R, out, rg, rowp, edge, eptr, tmp, nx, nxrows, stream); \
        return;                                                                                      \
    }
#else
#define FC_DW_V4(SUF) (void)vb;
#endif
FC_DW_DISPATCH(f, float)
FC_DW_DISPATCH(d, double)
#undef FC_DW_DISPATCH
#undef FC_DW_V4

#endif /* FASTCONV_CONV_DIRECT_H */
