/*
 * fastconv/kernels.h - the entry points of the compiled kernels, as one table per variant
 * (fastconv/variants.h): fc_table_f32, fc_table_d32 (32-byte vectors) and fc_table_f64,
 * fc_table_d64 (64-byte vectors, where FC_HAVE_V4).  The Cython drivers look a table up by
 * dtype and the plan's vector width (fc_tables_f / fc_tables_d) and call through it.
 * No checking is done here: callers guarantee every shape and pointer.
 */
#ifndef FASTCONV_KERNELS_H
#define FASTCONV_KERNELS_H

#include <stdint.h>
#include "fastconv/simd.h"
#include "fastconv/geom.h"
#include "fastconv/plan.h"
#include "fastconv/tuning.h"
#include "fastconv/pool/geom.h"

/* The fields of a table of T kernels; see each kernel's own header for its arguments. */
#define FC_TABLE_FIELDS(T)                                                                                             \
    /* pack/band.h */                                                                                                  \
    void (*pack_band)(const T *x, const fc_conv_geom *g, const int64_t *rowsrc, int64_t nrows, T fill, T *dst);        \
    void (*pack_weights)(const T *w, const int64_t *ws, int64_t cout, int64_t cin, int64_t kH, int64_t kW,             \
                         int64_t ocb, T *dst);                                                                         \
    /* direct/band.h */                                                                                                \
    void (*conv_band)(int kind, const T *xband, int64_t cstep, const int64_t *ridx, const T *wpack, int64_t ocb,       \
                      const T *bias, int64_t cout, const fc_conv_geom *g, int64_t oh0, int64_t R, T *out,              \
                      int64_t plane);                                                                                  \
    /* direct/pointwise.h */                                                                                           \
    void (*pointwise)(const T *x, int64_t xsC, int64_t xsP, int64_t xsN, const T *wpack, int64_t ocb, const T *bias,   \
                      int64_t cout, const fc_conv_geom *g, int64_t j0, int64_t j1, T *out, int64_t P, int64_t osN,     \
                      T *panel, int64_t npan, T *rows);                                                                \
    /* depthwise/band.h */                                                                                             \
    void (*dw_band)(int kind, const T *x, int64_t xsH, const fc_conv_geom *g, const int64_t *colmap, const T *fillrow, \
                    T fill, const T *w, T b, int64_t oh0, int64_t R, T *out, int64_t rg, const T **rowp, T *edge,      \
                    const T **eptr, T *tmp, const T *nx, int64_t nxrows, int stream);                                  \
    /* depthwise/plane.h */                                                                                            \
    void (*dw_planes)(const T *const *xp, int64_t xsH, int64_t xsW, const fc_conv_geom *g, const int64_t *rowmap,      \
                      const int64_t *colmap, T fill, const T *w, const T *bias, int64_t nval, T *const *op, T *buf);   \
    /* direct/wgrad.h */                                                                                               \
    void (*wgrad_rows)(int vec_out, int mr, const T *x, int64_t xsC, int64_t xsH, const int64_t *rowsrc,               \
                       const int64_t *colsrc, int64_t c0, int64_t c1, int64_t pl, int64_t Wp, int64_t Cg, int64_t Cp,  \
                       const T *g, int64_t og, int64_t Op, int64_t Ho, int64_t Wo, int64_t kH, int64_t kW, int64_t sH, \
                       int64_t sW, int64_t dH, int64_t dW, int64_t i0, int64_t i1, T *xb, T *gb, T *acc, double *tot,  \
                       const T *nx, const T *ng, int64_t ni0, int64_t ni1);                                            \
    /* direct/wgrad_pointwise.h */                                                                                     \
    void (*wgrad_pointwise)(const T *x, int64_t xs, int64_t Cg, const T *g, int64_t gs, int64_t og, int64_t n,         \
                            double *tot);                                                                              \
    /* depthwise/grad.h */                                                                                             \
    void (*dw_wgrad_plane)(const T *x, int64_t xsH, const int64_t *rowsrc, const int64_t *colsrc, int64_t c0,          \
                           int64_t c1, int64_t pl, const T *g, int64_t Ho, int64_t Wo, int64_t kH, int64_t kW,         \
                           int64_t sH, int64_t sW, int64_t dH, int64_t dW, T *buf, double *sums, int64_t mo,           \
                           int64_t sms, int fill, int *finite_x, const T *nx, int64_t nxn, const T *ng, int64_t ngn,   \
                           int stream);                                                                                \
    /* winograd/transform.h, winograd/band.h */                                                                        \
    int (*wino_weights)(int m, const T *w, const int64_t *ws, int64_t nvalid, int64_t cin, int64_t ocb, int64_t xs,    \
                        T *U);                                                                                         \
    int (*wino_band)(int kind, const T *band, int64_t nrows, const fc_conv_geom *g, int64_t Rt, int64_t ntc, int dw,   \
                     const T *U, int64_t cout, const T *bias, T *V, T *M, int64_t oh0, T *out, int64_t plane,          \
                     int64_t Ho, int64_t Wo, int64_t ldo);                                                             \
    /* winograd/flat.h */                                                                                              \
    int (*wino_flat)(const T *x, int64_t sN, const fc_conv_geom *g1, int64_t ntr, int64_t ntc, int64_t q0, int64_t q1, \
                     T fill, int64_t *rowsrc, T *band, T *D, T *S, const T *U, int64_t cout, const T *bias, T *V,      \
                     T *M, T *out, int64_t oN, int64_t plane, int64_t Ho, int64_t Wo);                                 \
    /* pool/rows.h (in the 32-byte variants only; NULL in the others) */                                               \
    void (*max_pool_rows)(const T *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, T *out, int64_t *idx);          \
    void (*max_pool_2x2_rows)(const T *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, T *out, int64_t *idx);      \
    void (*avg_pool_rows)(const T *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, int count_include_pad,          \
                          int64_t divisor_override, T *out, T *acc);                                                   \
    int64_t (*unpool_plane)(const T *v, int64_t vs0, int64_t vs1, const int64_t *idx, int64_t is0, int64_t is1,        \
                            int64_t h, int64_t w, T *out, int64_t size, int accumulate);                               \
    void (*avg_pool_backward_plane)(const T *g, int64_t Ho, int64_t Wo, const T *div, T *gx, int64_t H, int64_t W,     \
                                    int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW, T *ring,   \
                                    int64_t *tags, int64_t R, int64_t L, int64_t *owr);                                \
    /* depthwise/nhwc.h (every variant) */                                                                             \
    void (*dw_nhwc_rows)(const T *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW, const T *wt,           \
                         const T *bias, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW,        \
                         int64_t pt, int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo, T *out, int64_t osH,            \
                         int64_t osW, int64_t osC, T *buf, int64_t bufrows, int stream, int pf);                       \
    void (*nhwc_to_planes)(const T *src, int64_t np, int64_t C, T *dst, int64_t ds);                                   \
    void (*planes_to_nhwc)(const T *src, int64_t ds, int64_t np, int64_t C, T *dst);                                   \
    /* pool/nhwc.h (32-byte variants only) */                                                                          \
    void (*pool_nhwc_rows)(int op, const T *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW, int64_t kH,  \
                           int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t pt, int64_t pl,         \
                           int64_t oh0, int64_t oh1, int64_t Wo, T *out, int64_t *idx, int64_t osH, int64_t osW,       \
                           int64_t osC, int count_include_pad, int64_t divisor_override);                              \
    /* pool/plane.h (32-byte variants only) */                                                                         \
    void (*max_plane)(const T *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, T *out, int64_t *idx);               \
    void (*avg_plane)(const T *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, int64_t divisor, T *out);

typedef struct {
    FC_TABLE_FIELDS(float)
} fc_table_f;
typedef struct {
    FC_TABLE_FIELDS(double)
} fc_table_d;

#define FC_HIDDEN __attribute__((visibility("hidden")))
extern FC_HIDDEN const fc_table_f fc_table_f32;
extern FC_HIDDEN const fc_table_d fc_table_d32;
#ifdef FC_HAVE_V4
extern FC_HIDDEN const fc_table_f fc_table_f64;
extern FC_HIDDEN const fc_table_d fc_table_d64;
#endif

/* Widest vectors, in bytes, the kernels of this CPU run (64 or 32). */
static inline int64_t fc_conv_vector_bytes(void) {
#ifdef FC_HAVE_V4
    if (fc_cpu_has_v4()) return 64;
#endif
    return 32;
}

/* The table of vector width vb (64 where this build has it, else 32). */
static inline const fc_table_f *fc_tables_f(int64_t vb) {
#ifdef FC_HAVE_V4
    if (vb == 64) return &fc_table_f64;
#endif
    (void)vb;
    return &fc_table_f32;
}
static inline const fc_table_d *fc_tables_d(int64_t vb) {
#ifdef FC_HAVE_V4
    if (vb == 64) return &fc_table_d64;
#endif
    (void)vb;
    return &fc_table_d32;
}

/* Tile sizes of vector width vb that the planner needs (fastconv._direct.tile_sizes). */
static inline int64_t fc_ocb_wide(int64_t vb) { return vb == 64 ? FC_OCB_WIDE_V4 : FC_OCB_WIDE_32; }
static inline int64_t fc_wino_ocb(int64_t vb) { return vb == 64 ? FC_WOCB_V4 : FC_WOCB_32; }

#endif /* FASTCONV_KERNELS_H */
