# C declarations of the kernels in include/fastconv/, and the fused inline wrappers through
# which the drivers call them: each wrapper picks the variant's table by dtype (real_t) and
# the plan's vector width (vb), so every float/double pair is written here once.  The
# kernels do no checking: callers (the drivers, fed by the planner) guarantee every shape
# and pointer.
from libc.stdint cimport int64_t

from fastconv._types cimport real_t

cdef extern from "fastconv/simd.h" nogil:
    void *fc_alloc(size_t bytes)

cdef extern from "fastconv/pad.h" nogil:
    int FC_PAD_ZEROS, FC_PAD_REFLECT, FC_PAD_SYMMETRIC, FC_PAD_REPLICATE, FC_PAD_CIRCULAR
    int64_t fc_pad_index(int64_t i, int64_t n, int mode)
    void fc_pad_map(int64_t *map, int64_t len, int64_t before, int64_t n, int mode)

cdef extern from "fastconv/finite.h" nogil:
    int fc_nonfinite_f(const float *x, int64_t n, int64_t s)
    int fc_nonfinite_d(const double *x, int64_t n, int64_t s)

cdef extern from "fastconv/geom.h" nogil:
    ctypedef struct fc_conv_geom:
        int64_t C, H, W, xsC, xsH, xsW, kH, kW, sh, sw, dh, dw, Ho, Wo, pt, pl, Wp
        int mode
        int64_t npha
        const int64_t *pstart
        int64_t Wq
        const int64_t *xoff
        int64_t rstep
        int64_t osH, osW
        int64_t skip_rows, flat_oh0, stream
    int64_t fc_band_rows(const fc_conv_geom *g, int64_t oh0, int64_t R, int contiguous,
                         int64_t *rowsrc, int64_t *ridx)

cdef extern from "fastconv/pool/geom.h" nogil:
    ctypedef struct fc_pool_geom:
        int64_t H, W, xsH, xsW, Wr, Wo, kH, kW, sH, sW, pH, pW, dH, dW
        int64_t r_org, c_org, o_org, q0
        const int64_t *w0
        const int64_t *wlo
        const int64_t *whi
    void fc_col_ranges(int64_t Wo, int64_t q0, int64_t kW, int64_t sW, int64_t pW, int64_t dW, int64_t W,
                       int64_t *w0, int64_t *lo, int64_t *hi)

cdef extern from "fastconv/plan.h" nogil:
    enum fc_kind:
        FC_KIND_COLUMNS, FC_KIND_COLUMNS_NARROW, FC_KIND_ROWS, FC_KIND_LANES
        FC_KIND_DW_STRIP, FC_KIND_DW_SWEEP, FC_KIND_DW_FLAT
        FC_KIND_WINOGRAD2, FC_KIND_WINOGRAD4
        FC_KIND_FFT, FC_KIND_SEPARABLE, FC_KIND_BIAS_ONLY
        FC_KIND_CUDA_DIRECT, FC_KIND_CUDA_IGEMM
        FC_KIND_DW_NHWC, FC_KIND_DW_PLANE, FC_KIND_POINTWISE

cdef extern from "fastconv/tuning.h" nogil:
    int FC_OCB_WIDE_32, FC_OCB_WIDE_V4, FC_NV_WIDE, FC_NV_NARROW, FC_NCOL_32, FC_NCOL_V4, FC_RB
    int FC_NV_ROWS_32, FC_NV_ROWS_V4
    int FC_OCB_SMALL_32, FC_OCB_MID_32, FC_OCB_SMALL_V4, FC_OCB_SIX_V4, FC_OCB_MID_V4
    int FC_SUM_BLOCK, FC_WOCB_32, FC_WOCB_V4, FC_FLAT_MAX_BYTES, FC_PACK_THREAD_ELEMS, FC_DW_PLANE_TAPS
    int FC_WG_MR_V4, FC_WG_NV_V4, FC_WG_MR_32, FC_WG_NV_32, FC_WG_MR8_NV_V4, FC_NHWC_COPY_ROWS
    int64_t FC_NHWC_PLANE_BYTES
    int64_t FC_DW_PLANE_BAND_BYTES
    int64_t FC_DWG_STREAM_BYTES

cdef extern from "fastconv/depthwise/plane_size.h" nogil:
    int64_t fc_dw_plane_band_rows(int64_t Ho, int64_t Wp, int64_t kH, int64_t sH, int64_t dH, int64_t vb)
    int64_t fc_dw_plane_buffer_elems(int64_t W, int64_t Ho, int64_t Wo, int64_t kH, int64_t kW, int64_t sH,
                                     int64_t sW, int64_t dH, int64_t dW, int64_t vl, int64_t vb)

cdef extern from "fastconv/depthwise/grad_size.h" nogil:
    int64_t fc_dwg_buffer_elems(int64_t Ho, int64_t Wo, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                                int64_t dH, int64_t dW, int64_t mo, int64_t vb)
    int64_t fc_dwg_max_planes(int64_t vb)

cdef extern from "fastconv/kernels.h" nogil:
    ctypedef struct fc_table_f:
        void (*pack_band)(const float *x, const fc_conv_geom *g, const int64_t *rowsrc, int64_t nrows,
                          float fill, float *dst) noexcept nogil
        void (*pack_weights)(const float *w, const int64_t *ws, int64_t cout, int64_t cin, int64_t kH,
                             int64_t kW, int64_t ocb, float *dst) noexcept nogil
        void (*conv_band)(int kind, const float *xband, int64_t cstep, const int64_t *ridx,
                          const float *wpack, int64_t ocb, const float *bias, int64_t cout,
                          const fc_conv_geom *g, int64_t oh0, int64_t R, float *out, int64_t plane) noexcept nogil
        void (*pointwise)(const float *x, int64_t xsC, int64_t xsP, int64_t xsN, const float *wpack, int64_t ocb,
                          const float *bias, int64_t cout, const fc_conv_geom *g, int64_t j0, int64_t j1, float *out,
                          int64_t P, int64_t osN, float *panel, int64_t npan, float *rows) noexcept nogil
        void (*dw_band)(int kind, const float *x, int64_t xsH, const fc_conv_geom *g, const int64_t *colmap,
                        const float *fillrow, float fill, const float *w, float b, int64_t oh0, int64_t R,
                        float *out, int64_t rg, const float **rowp, float *edge, const float **eptr,
                        float *tmp, const float *nx, int64_t nxrows, int stream) noexcept nogil
        void (*dw_planes)(const float *const *xp, int64_t xsH, int64_t xsW, const fc_conv_geom *g,
                          const int64_t *rowmap, const int64_t *colmap, float fill, const float *w,
                          const float *bias, int64_t nval, float *const *op, float *buf) noexcept nogil
        void (*wgrad_rows)(int vec_out, int mr, const float *x, int64_t xsC, int64_t xsH, const int64_t *rowsrc,
                           const int64_t *colsrc, int64_t c0, int64_t c1, int64_t pl, int64_t Wp, int64_t Cg,
                           int64_t Cp, const float *g, int64_t og, int64_t Op, int64_t Ho, int64_t Wo, int64_t kH,
                           int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t i0, int64_t i1,
                           float *xb, float *gb, float *acc, double *tot, const float *nx, const float *ng,
                           int64_t ni0, int64_t ni1) noexcept nogil
        void (*wgrad_pointwise)(const float *x, int64_t xs, int64_t Cg, const float *g, int64_t gs, int64_t og,
                                int64_t n, double *tot) noexcept nogil
        void (*dw_wgrad_plane)(const float *x, int64_t xsH, const int64_t *rowsrc, const int64_t *colsrc,
                               int64_t c0, int64_t c1, int64_t pl, const float *g, int64_t Ho, int64_t Wo,
                               int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW,
                               float *buf, double *sums, int64_t mo, int64_t sms, int fill, int *finite_x,
                               const float *nx,
                               int64_t nxn, const float *ng, int64_t ngn, int stream) noexcept nogil
        int (*wino_weights)(int m, const float *w, const int64_t *ws, int64_t nvalid, int64_t cin,
                            int64_t ocb, int64_t xs, float *U) noexcept nogil
        int (*wino_band)(int kind, const float *band, int64_t nrows, const fc_conv_geom *g, int64_t Rt,
                         int64_t ntc, int dw, const float *U, int64_t cout, const float *bias, float *V,
                         float *M, int64_t oh0, float *out, int64_t plane, int64_t Ho, int64_t Wo,
                         int64_t ldo) noexcept nogil
        int (*wino_flat)(const float *x, int64_t sN, const fc_conv_geom *g1, int64_t ntr, int64_t ntc,
                         int64_t q0, int64_t q1, float fill, int64_t *rowsrc, float *band, float *D, float *S,
                         const float *U, int64_t cout, const float *bias, float *V, float *M, float *out, int64_t oN,
                         int64_t plane, int64_t Ho, int64_t Wo) noexcept nogil
        void (*max_pool_rows)(const float *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                              float *out, int64_t *idx) noexcept nogil
        void (*max_pool_2x2_rows)(const float *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                                  float *out, int64_t *idx) noexcept nogil
        void (*avg_pool_rows)(const float *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                              int count_include_pad, int64_t divisor_override, float *out, float *acc) noexcept nogil
        int64_t (*unpool_plane)(const float *v, int64_t vs0, int64_t vs1, const int64_t *idx,
                                int64_t is0, int64_t is1, int64_t h, int64_t w, float *out, int64_t size,
                                int accumulate) noexcept nogil
        void (*avg_pool_backward_plane)(const float *g, int64_t Ho, int64_t Wo, const float *div, float *gx,
                                        int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                                        int64_t pH, int64_t pW, float *ring, int64_t *tags, int64_t R, int64_t L,
                                        int64_t *owr) noexcept nogil
        void (*dw_nhwc_rows)(const float *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                             const float *wt, const float *bias, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                             int64_t dH, int64_t dW, int64_t pt, int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo,
                             float *out, int64_t osH, int64_t osW, int64_t osC, float *buf,
                             int64_t bufrows, int stream, int pf) noexcept nogil
        void (*nhwc_to_planes)(const float *src, int64_t np, int64_t C, float *dst, int64_t ds) noexcept nogil
        void (*planes_to_nhwc)(const float *src, int64_t ds, int64_t np, int64_t C, float *dst) noexcept nogil
        void (*pool_nhwc_rows)(int op, const float *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                               int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t pt,
                               int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo, float *out, int64_t *idx,
                               int64_t osH, int64_t osW, int64_t osC, int count_include_pad,
                               int64_t divisor_override) noexcept nogil
        void (*max_plane)(const float *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, float *out,
                          int64_t *idx) noexcept nogil
        void (*avg_plane)(const float *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, int64_t divisor,
                          float *out) noexcept nogil
    ctypedef struct fc_table_d:
        void (*pack_band)(const double *x, const fc_conv_geom *g, const int64_t *rowsrc, int64_t nrows,
                          double fill, double *dst) noexcept nogil
        void (*pack_weights)(const double *w, const int64_t *ws, int64_t cout, int64_t cin, int64_t kH,
                             int64_t kW, int64_t ocb, double *dst) noexcept nogil
        void (*conv_band)(int kind, const double *xband, int64_t cstep, const int64_t *ridx,
                          const double *wpack, int64_t ocb, const double *bias, int64_t cout,
                          const fc_conv_geom *g, int64_t oh0, int64_t R, double *out, int64_t plane) noexcept nogil
        void (*pointwise)(const double *x, int64_t xsC, int64_t xsP, int64_t xsN, const double *wpack, int64_t ocb,
                          const double *bias, int64_t cout, const fc_conv_geom *g, int64_t j0, int64_t j1, double *out,
                          int64_t P, int64_t osN, double *panel, int64_t npan, double *rows) noexcept nogil
        void (*dw_band)(int kind, const double *x, int64_t xsH, const fc_conv_geom *g, const int64_t *colmap,
                        const double *fillrow, double fill, const double *w, double b, int64_t oh0,
                        int64_t R, double *out, int64_t rg, const double **rowp, double *edge,
                        const double **eptr, double *tmp, const double *nx, int64_t nxrows, int stream) noexcept nogil
        void (*dw_planes)(const double *const *xp, int64_t xsH, int64_t xsW, const fc_conv_geom *g,
                          const int64_t *rowmap, const int64_t *colmap, double fill, const double *w,
                          const double *bias, int64_t nval, double *const *op, double *buf) noexcept nogil
        void (*wgrad_rows)(int vec_out, int mr, const double *x, int64_t xsC, int64_t xsH, const int64_t *rowsrc,
                           const int64_t *colsrc, int64_t c0, int64_t c1, int64_t pl, int64_t Wp, int64_t Cg,
                           int64_t Cp, const double *g, int64_t og, int64_t Op, int64_t Ho, int64_t Wo, int64_t kH,
                           int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t i0, int64_t i1,
                           double *xb, double *gb, double *acc, double *tot, const double *nx, const double *ng,
                           int64_t ni0, int64_t ni1) noexcept nogil
        void (*wgrad_pointwise)(const double *x, int64_t xs, int64_t Cg, const double *g, int64_t gs, int64_t og,
                                int64_t n, double *tot) noexcept nogil
        void (*dw_wgrad_plane)(const double *x, int64_t xsH, const int64_t *rowsrc, const int64_t *colsrc,
                               int64_t c0, int64_t c1, int64_t pl, const double *g, int64_t Ho, int64_t Wo,
                               int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW,
                               double *buf, double *sums, int64_t mo, int64_t sms, int fill, int *finite_x,
                               const double *nx,
                               int64_t nxn, const double *ng, int64_t ngn, int stream) noexcept nogil
        int (*wino_weights)(int m, const double *w, const int64_t *ws, int64_t nvalid, int64_t cin,
                            int64_t ocb, int64_t xs, double *U) noexcept nogil
        int (*wino_band)(int kind, const double *band, int64_t nrows, const fc_conv_geom *g, int64_t Rt,
                         int64_t ntc, int dw, const double *U, int64_t cout, const double *bias,
                         double *V, double *M, int64_t oh0, double *out, int64_t plane, int64_t Ho,
                         int64_t Wo, int64_t ldo) noexcept nogil
        int (*wino_flat)(const double *x, int64_t sN, const fc_conv_geom *g1, int64_t ntr, int64_t ntc,
                         int64_t q0, int64_t q1, double fill, int64_t *rowsrc, double *band, double *D, double *S,
                         const double *U, int64_t cout, const double *bias, double *V, double *M, double *out,
                         int64_t oN, int64_t plane, int64_t Ho, int64_t Wo) noexcept nogil
        void (*max_pool_rows)(const double *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                              double *out, int64_t *idx) noexcept nogil
        void (*max_pool_2x2_rows)(const double *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                                  double *out, int64_t *idx) noexcept nogil
        void (*avg_pool_rows)(const double *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                              int count_include_pad, int64_t divisor_override, double *out, double *acc) noexcept nogil
        int64_t (*unpool_plane)(const double *v, int64_t vs0, int64_t vs1, const int64_t *idx,
                                int64_t is0, int64_t is1, int64_t h, int64_t w, double *out,
                                int64_t size, int accumulate) noexcept nogil
        void (*avg_pool_backward_plane)(const double *g, int64_t Ho, int64_t Wo, const double *div, double *gx,
                                        int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                                        int64_t pH, int64_t pW, double *ring, int64_t *tags, int64_t R, int64_t L,
                                        int64_t *owr) noexcept nogil
        void (*dw_nhwc_rows)(const double *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                             const double *wt, const double *bias, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                             int64_t dH, int64_t dW, int64_t pt, int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo,
                             double *out, int64_t osH, int64_t osW, int64_t osC, double *buf,
                             int64_t bufrows, int stream, int pf) noexcept nogil
        void (*nhwc_to_planes)(const double *src, int64_t np, int64_t C, double *dst, int64_t ds) noexcept nogil
        void (*planes_to_nhwc)(const double *src, int64_t ds, int64_t np, int64_t C, double *dst) noexcept nogil
        void (*pool_nhwc_rows)(int op, const double *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                               int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t pt,
                               int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo, double *out, int64_t *idx,
                               int64_t osH, int64_t osW, int64_t osC, int count_include_pad,
                               int64_t divisor_override) noexcept nogil
        void (*max_plane)(const double *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, double *out,
                          int64_t *idx) noexcept nogil
        void (*avg_plane)(const double *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, int64_t divisor,
                          double *out) noexcept nogil
    const fc_table_f *fc_tables_f(int64_t vb)
    const fc_table_d *fc_tables_d(int64_t vb)
    int64_t fc_conv_vector_bytes()
    int64_t fc_ocb_wide(int64_t vb)
    int64_t fc_wino_ocb(int64_t vb)


# ---- the vector width of a call ------------------------------------------------------------

cdef inline int64_t checked_vb(int64_t vb) except -1:
    """``vb`` where this CPU runs the kernel table of that vector width (32 bytes, or 64 with
    AVX-512): every driver's entry checks it, since a 64-byte table on a CPU without
    AVX-512 stops the process on an illegal instruction (the planner caps the width; a
    plan or width made by hand need not)."""
    if vb != 32 and vb != 64:
        raise ValueError(f"vector bytes must be 32 or 64, got {vb}")
    if vb > fc_conv_vector_bytes():
        raise ValueError(f"vector bytes {vb}: this CPU runs kernels of at most {fc_conv_vector_bytes()} bytes")
    return vb


# ---- the float/double pairs, written once -------------------------------------------------

cdef inline int nonfinite(const real_t *x, int64_t n, int64_t s) noexcept nogil:
    if real_t is float:
        return fc_nonfinite_f(x, n, s)
    else:
        return fc_nonfinite_d(x, n, s)


cdef inline void pack_band(int64_t vb, const real_t *x, const fc_conv_geom *g, const int64_t *rowsrc,
                           int64_t nrows, real_t fill, real_t *dst) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).pack_band(x, g, rowsrc, nrows, fill, dst)
    else:
        fc_tables_d(vb).pack_band(x, g, rowsrc, nrows, fill, dst)


cdef inline void pack_weights(int64_t vb, const real_t *w, const int64_t *ws, int64_t cout, int64_t cin,
                              int64_t kH, int64_t kW, int64_t ocb, real_t *dst) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).pack_weights(w, ws, cout, cin, kH, kW, ocb, dst)
    else:
        fc_tables_d(vb).pack_weights(w, ws, cout, cin, kH, kW, ocb, dst)


cdef inline void conv_band(int64_t vb, int kind, const real_t *xband, int64_t cstep, const int64_t *ridx,
                           const real_t *wpack, int64_t ocb, const real_t *bias, int64_t cout,
                           const fc_conv_geom *g, int64_t oh0, int64_t R, real_t *out,
                           int64_t plane) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).conv_band(kind, xband, cstep, ridx, wpack, ocb, bias, cout, g, oh0, R, out, plane)
    else:
        fc_tables_d(vb).conv_band(kind, xband, cstep, ridx, wpack, ocb, bias, cout, g, oh0, R, out, plane)


cdef inline void pointwise(int64_t vb, const real_t *x, int64_t xsC, int64_t xsP, int64_t xsN, const real_t *wpack,
                           int64_t ocb, const real_t *bias, int64_t cout, const fc_conv_geom *g, int64_t j0, int64_t j1,
                           real_t *out, int64_t P, int64_t osN, real_t *panel, int64_t npan,
                           real_t *rows) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).pointwise(x, xsC, xsP, xsN, wpack, ocb, bias, cout, g, j0, j1, out, P, osN, panel, npan, rows)
    else:
        fc_tables_d(vb).pointwise(x, xsC, xsP, xsN, wpack, ocb, bias, cout, g, j0, j1, out, P, osN, panel, npan, rows)


cdef inline void dw_band(int64_t vb, int kind, const real_t *x, int64_t xsH, const fc_conv_geom *g,
                         const int64_t *colmap, const real_t *fillrow, real_t fill, const real_t *w, real_t b,
                         int64_t oh0, int64_t R, real_t *out, int64_t rg, const real_t **rowp, real_t *edge,
                         const real_t **eptr, real_t *tmp, const real_t *nx, int64_t nxrows,
                         int stream) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).dw_band(kind, x, xsH, g, colmap, fillrow, fill, w, b, oh0, R, out, rg, rowp, edge,
                                eptr, tmp, nx, nxrows, stream)
    else:
        fc_tables_d(vb).dw_band(kind, x, xsH, g, colmap, fillrow, fill, w, b, oh0, R, out, rg, rowp, edge,
                                eptr, tmp, nx, nxrows, stream)


cdef inline void dw_planes(int64_t vb, const real_t *const *xp, int64_t xsH, int64_t xsW, const fc_conv_geom *g,
                           const int64_t *rowmap, const int64_t *colmap, real_t fill, const real_t *w,
                           const real_t *bias, int64_t nval, real_t *const *op, real_t *buf) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).dw_planes(xp, xsH, xsW, g, rowmap, colmap, fill, w, bias, nval, op, buf)
    else:
        fc_tables_d(vb).dw_planes(xp, xsH, xsW, g, rowmap, colmap, fill, w, bias, nval, op, buf)


cdef inline void wgrad_rows(int64_t vb, int vec_out, int mr, const real_t *x, int64_t xsC, int64_t xsH,
                            const int64_t *rowsrc, const int64_t *colsrc, int64_t c0, int64_t c1, int64_t pl,
                            int64_t Wp, int64_t Cg, int64_t Cp, const real_t *g, int64_t og, int64_t Op, int64_t Ho,
                            int64_t Wo, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW,
                            int64_t i0, int64_t i1, real_t *xb, real_t *gb, real_t *acc, double *tot,
                            const real_t *nx, const real_t *ng, int64_t ni0, int64_t ni1) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).wgrad_rows(vec_out, mr, x, xsC, xsH, rowsrc, colsrc, c0, c1, pl, Wp, Cg, Cp, g, og, Op, Ho, Wo,
                                   kH, kW, sH, sW, dH, dW, i0, i1, xb, gb, acc, tot, nx, ng, ni0, ni1)
    else:
        fc_tables_d(vb).wgrad_rows(vec_out, mr, x, xsC, xsH, rowsrc, colsrc, c0, c1, pl, Wp, Cg, Cp, g, og, Op, Ho, Wo,
                                   kH, kW, sH, sW, dH, dW, i0, i1, xb, gb, acc, tot, nx, ng, ni0, ni1)


cdef inline void wgrad_pointwise(int64_t vb, const real_t *x, int64_t xs, int64_t Cg, const real_t *g, int64_t gs,
                                 int64_t og, int64_t n, double *tot) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).wgrad_pointwise(x, xs, Cg, g, gs, og, n, tot)
    else:
        fc_tables_d(vb).wgrad_pointwise(x, xs, Cg, g, gs, og, n, tot)


cdef inline void dw_wgrad_plane(int64_t vb, const real_t *x, int64_t xsH, const int64_t *rowsrc,
                                const int64_t *colsrc, int64_t c0, int64_t c1, int64_t pl, const real_t *g,
                                int64_t Ho, int64_t Wo, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH,
                                int64_t dW, real_t *buf, double *sums, int64_t mo, int64_t sms, int fill,
                                int *finite_x, const real_t *nx, int64_t nxn, const real_t *ng,
                                int64_t ngn, int stream) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).dw_wgrad_plane(x, xsH, rowsrc, colsrc, c0, c1, pl, g, Ho, Wo, kH, kW, sH, sW, dH, dW, buf,
                                       sums, mo, sms, fill, finite_x, nx, nxn, ng, ngn, stream)
    else:
        fc_tables_d(vb).dw_wgrad_plane(x, xsH, rowsrc, colsrc, c0, c1, pl, g, Ho, Wo, kH, kW, sH, sW, dH, dW, buf,
                                       sums, mo, sms, fill, finite_x, nx, nxn, ng, ngn, stream)


cdef inline int wino_weights(int64_t vb, int m, const real_t *w, const int64_t *ws, int64_t nvalid,
                             int64_t cin, int64_t ocb, int64_t xs, real_t *U) noexcept nogil:
    if real_t is float:
        return fc_tables_f(vb).wino_weights(m, w, ws, nvalid, cin, ocb, xs, U)
    else:
        return fc_tables_d(vb).wino_weights(m, w, ws, nvalid, cin, ocb, xs, U)


cdef inline int wino_band(int64_t vb, int kind, const real_t *band, int64_t nrows, const fc_conv_geom *g,
                          int64_t Rt, int64_t ntc, int dw, const real_t *U, int64_t cout, const real_t *bias,
                          real_t *V, real_t *M, int64_t oh0, real_t *out, int64_t plane, int64_t Ho,
                          int64_t Wo, int64_t ldo) noexcept nogil:
    if real_t is float:
        return fc_tables_f(vb).wino_band(kind, band, nrows, g, Rt, ntc, dw, U, cout, bias, V, M, oh0, out,
                                         plane, Ho, Wo, ldo)
    else:
        return fc_tables_d(vb).wino_band(kind, band, nrows, g, Rt, ntc, dw, U, cout, bias, V, M, oh0, out,
                                         plane, Ho, Wo, ldo)


cdef inline int wino_flat(int64_t vb, const real_t *x, int64_t sN, const fc_conv_geom *g1, int64_t ntr, int64_t ntc,
                          int64_t q0, int64_t q1, real_t fill, int64_t *rowsrc, real_t *band, real_t *D, real_t *S,
                          const real_t *U, int64_t cout, const real_t *bias, real_t *V, real_t *M, real_t *out,
                          int64_t oN, int64_t plane, int64_t Ho, int64_t Wo) noexcept nogil:
    if real_t is float:
        return fc_tables_f(vb).wino_flat(x, sN, g1, ntr, ntc, q0, q1, fill, rowsrc, band, D, S, U, cout, bias, V, M,
                                         out, oN, plane, Ho, Wo)
    else:
        return fc_tables_d(vb).wino_flat(x, sN, g1, ntr, ntc, q0, q1, fill, rowsrc, band, D, S, U, cout, bias, V, M,
                                         out, oN, plane, Ho, Wo)


# pooling: dtype-only kernels, in the 32-byte tables
cdef inline void pool_nhwc_rows(int op, const real_t *x, int64_t H, int64_t W, int64_t C, int64_t xsH, int64_t xsW,
                                int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH, int64_t dW, int64_t pt,
                                int64_t pl, int64_t oh0, int64_t oh1, int64_t Wo, real_t *out, int64_t *idx,
                                int64_t osH, int64_t osW, int64_t osC, int count_include_pad,
                                int64_t divisor_override) noexcept nogil:
    if real_t is float:
        fc_tables_f(32).pool_nhwc_rows(op, x, H, W, C, xsH, xsW, kH, kW, sH, sW, dH, dW, pt, pl, oh0, oh1, Wo, out,
                                       idx, osH, osW, osC, count_include_pad, divisor_override)
    else:
        fc_tables_d(32).pool_nhwc_rows(op, x, H, W, C, xsH, xsW, kH, kW, sH, sW, dH, dW, pt, pl, oh0, oh1, Wo, out,
                                       idx, osH, osW, osC, count_include_pad, divisor_override)


cdef inline void max_pool_rows(const real_t *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                               real_t *out, int64_t *idx) noexcept nogil:
    if real_t is float:
        fc_tables_f(32).max_pool_rows(x, g, oh0, oh1, out, idx)
    else:
        fc_tables_d(32).max_pool_rows(x, g, oh0, oh1, out, idx)


cdef inline void max_pool_2x2_rows(const real_t *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                                   real_t *out, int64_t *idx) noexcept nogil:
    if real_t is float:
        fc_tables_f(32).max_pool_2x2_rows(x, g, oh0, oh1, out, idx)
    else:
        fc_tables_d(32).max_pool_2x2_rows(x, g, oh0, oh1, out, idx)


cdef inline void avg_pool_rows(const real_t *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                               int count_include_pad, int64_t divisor_override, real_t *out,
                               real_t *acc) noexcept nogil:
    if real_t is float:
        fc_tables_f(32).avg_pool_rows(x, g, oh0, oh1, count_include_pad, divisor_override, out, acc)
    else:
        fc_tables_d(32).avg_pool_rows(x, g, oh0, oh1, count_include_pad, divisor_override, out, acc)


cdef inline int64_t unpool_plane(const real_t *v, int64_t vs0, int64_t vs1, const int64_t *idx, int64_t is0,
                                 int64_t is1, int64_t h, int64_t w, real_t *out, int64_t size,
                                 int accumulate) noexcept nogil:
    if real_t is float:
        return fc_tables_f(32).unpool_plane(v, vs0, vs1, idx, is0, is1, h, w, out, size, accumulate)
    else:
        return fc_tables_d(32).unpool_plane(v, vs0, vs1, idx, is0, is1, h, w, out, size, accumulate)


cdef inline void avg_pool_backward_plane(const real_t *g, int64_t Ho, int64_t Wo, const real_t *div, real_t *gx,
                                         int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                                         int64_t pH, int64_t pW, real_t *ring, int64_t *tags, int64_t R, int64_t L,
                                         int64_t *owr) noexcept nogil:
    if real_t is float:
        fc_tables_f(32).avg_pool_backward_plane(g, Ho, Wo, div, gx, H, W, kH, kW, sH, sW, pH, pW, ring, tags, R, L,
                                                owr)
    else:
        fc_tables_d(32).avg_pool_backward_plane(g, Ho, Wo, div, gx, H, W, kH, kW, sH, sW, pH, pW, ring, tags, R, L,
                                                owr)


cdef inline void max_plane(const real_t *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, real_t *out,
                           int64_t *idx) noexcept nogil:
    if real_t is float:
        fc_tables_f(32).max_plane(x, H, W, xsH, xsW, out, idx)
    else:
        fc_tables_d(32).max_plane(x, H, W, xsH, xsW, out, idx)


cdef inline void avg_plane(const real_t *x, int64_t H, int64_t W, int64_t xsH, int64_t xsW, int64_t divisor,
                           real_t *out) noexcept nogil:
    if real_t is float:
        fc_tables_f(32).avg_plane(x, H, W, xsH, xsW, divisor, out)
    else:
        fc_tables_d(32).avg_plane(x, H, W, xsH, xsW, divisor, out)


cdef inline void dw_nhwc_rows(int64_t vb, const real_t *x, int64_t H, int64_t W, int64_t C, int64_t xsH,
                              int64_t xsW, const real_t *wt, const real_t *bias, int64_t kH, int64_t kW, int64_t sH,
                              int64_t sW, int64_t dH, int64_t dW, int64_t pt, int64_t pl, int64_t oh0, int64_t oh1,
                              int64_t Wo, real_t *out, int64_t osH, int64_t osW, int64_t osC, real_t *buf,
                              int64_t bufrows, int stream, int pf) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).dw_nhwc_rows(x, H, W, C, xsH, xsW, wt, bias, kH, kW, sH, sW, dH, dW, pt, pl, oh0, oh1, Wo,
                                     out, osH, osW, osC, buf, bufrows, stream, pf)
    else:
        fc_tables_d(vb).dw_nhwc_rows(x, H, W, C, xsH, xsW, wt, bias, kH, kW, sH, sW, dH, dW, pt, pl, oh0, oh1, Wo,
                                     out, osH, osW, osC, buf, bufrows, stream, pf)


cdef inline void nhwc_to_planes(int64_t vb, const real_t *src, int64_t np, int64_t C, real_t *dst,
                                int64_t ds) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).nhwc_to_planes(src, np, C, dst, ds)
    else:
        fc_tables_d(vb).nhwc_to_planes(src, np, C, dst, ds)


cdef inline void planes_to_nhwc(int64_t vb, const real_t *src, int64_t ds, int64_t np, int64_t C,
                                real_t *dst) noexcept nogil:
    if real_t is float:
        fc_tables_f(vb).planes_to_nhwc(src, ds, np, C, dst)
    else:
        fc_tables_d(vb).planes_to_nhwc(src, ds, np, C, dst)
