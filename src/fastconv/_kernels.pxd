# C declarations of the kernels in include/fastconv/.  Those headers do no checking: callers
# (the .pyx modules, fed by the Python front) guarantee every shape and pointer.
from libc.stdint cimport int64_t

cdef extern from "fastconv/simd.h" nogil:
    void *fc_alloc(size_t bytes)

cdef extern from "fastconv/pad.h" nogil:
    int FC_PAD_ZEROS, FC_PAD_REFLECT, FC_PAD_SYMMETRIC, FC_PAD_REPLICATE, FC_PAD_CIRCULAR
    int64_t fc_pad_index(int64_t i, int64_t n, int mode)
    void fc_pad_map(int64_t *map, int64_t len, int64_t before, int64_t n, int mode)

cdef extern from "fastconv/conv_direct.h" nogil:
    ctypedef struct fc_conv_geom:
        int64_t C, H, W, sC, sH, sW, kH, kW, sh, sw, dh, dw, Ho, Wo, pt, pl, Wp
        int mode
        int64_t npha
        const int64_t *pstart
        int64_t Wq
        const int64_t *xoff
        int64_t rstep
    int FC_OCB_WIDE, FC_NV_WIDE, FC_OCB_NARROW, FC_NV_NARROW
    int64_t fc_conv_vector_bytes()
    int64_t fc_conv_wide_ocb(int64_t vb)
    int64_t fc_band_rows(const fc_conv_geom *g, int64_t oh0, int64_t R, int contiguous,
                         int64_t *rowsrc, int64_t *ridx)
    void fc_pack_band_f(const float *x, const fc_conv_geom *g, const int64_t *rowsrc, int64_t nrows,
                        float fill, float *dst)
    void fc_pack_band_d(const double *x, const fc_conv_geom *g, const int64_t *rowsrc, int64_t nrows,
                        double fill, double *dst)
    void fc_pack_weights_f(const float *w, const int64_t *ws, int64_t cout, int64_t cin, int64_t kH,
                           int64_t kW, int64_t ocb, float *dst)
    void fc_pack_weights_d(const double *w, const int64_t *ws, int64_t cout, int64_t cin, int64_t kH,
                           int64_t kW, int64_t ocb, double *dst)
    void fc_conv_band_f(int64_t vb, const float *xband, int64_t cstep, const int64_t *ridx, const float *wpack,
                        int64_t ocb, const float *bias, int64_t cout, const fc_conv_geom *g,
                        int64_t oh0, int64_t R, float *out, int64_t plane)
    void fc_conv_band_d(int64_t vb, const double *xband, int64_t cstep, const int64_t *ridx, const double *wpack,
                        int64_t ocb, const double *bias, int64_t cout, const fc_conv_geom *g,
                        int64_t oh0, int64_t R, double *out, int64_t plane)
    void fc_dw_band_f(int64_t vb, const float *x, int64_t sH, const fc_conv_geom *g, const int64_t *colmap,
                      const float *fillrow, float fill, const float *w, float b, int64_t oh0, int64_t R,
                      float *out, int64_t rg, const float **rowp, float *edge, const float **eptr,
                      float *tmp, const float *nx, int64_t nxrows, int stream)
    void fc_dw_band_d(int64_t vb, const double *x, int64_t sH, const fc_conv_geom *g, const int64_t *colmap,
                      const double *fillrow, double fill, const double *w, double b, int64_t oh0, int64_t R,
                      double *out, int64_t rg, const double **rowp, double *edge, const double **eptr,
                      double *tmp, const double *nx, int64_t nxrows, int stream)

cdef extern from "fastconv/winograd.h" nogil:
    int64_t fc_wino_ocb(int64_t vb)
    void fc_wino_weights_f(int m, const float *w, const int64_t *ws, int64_t nvalid, int64_t cin,
                           int64_t ocb, int64_t xs, float *U)
    void fc_wino_weights_d(int m, const double *w, const int64_t *ws, int64_t nvalid, int64_t cin,
                           int64_t ocb, int64_t xs, double *U)
    void fc_wino_band_f(int64_t vb, int m, const float *band, int64_t nrows, const fc_conv_geom *g,
                        int64_t Rt, int64_t ntc, int dw, const float *U, int64_t cout, const float *bias,
                        float *V, float *M, int64_t oh0, float *out, int64_t plane,
                        int64_t Ho, int64_t Wo, int64_t ldo)
    void fc_wino_band_d(int64_t vb, int m, const double *band, int64_t nrows, const fc_conv_geom *g,
                        int64_t Rt, int64_t ntc, int dw, const double *U, int64_t cout, const double *bias,
                        double *V, double *M, int64_t oh0, double *out, int64_t plane,
                        int64_t Ho, int64_t Wo, int64_t ldo)

cdef extern from "fastconv/pool.h" nogil:
    ctypedef struct fc_pool_geom:
        int64_t H, W, sH, sW, Wr, Wo, kH, kW, strH, strW, pH, pW, dH, dW
        int64_t r_org, c_org, o_org, q0
        const int64_t *w0
        const int64_t *wlo
        const int64_t *whi
    void fc_col_ranges(int64_t Wo, int64_t q0, int64_t kW, int64_t sW, int64_t pW, int64_t dW, int64_t W,
                       int64_t *w0, int64_t *lo, int64_t *hi)
    void fc_max_pool_rows_f(const float *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                            float *out, int64_t *idx)
    void fc_max_pool_rows_d(const double *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                            double *out, int64_t *idx)
    void fc_max_pool_2x2_rows_f(const float *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, float *out)
    void fc_max_pool_2x2_rows_d(const double *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, double *out)
    void fc_avg_pool_rows_f(const float *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                            int count_include_pad, int64_t divisor_override, float *out, float *acc)
    void fc_avg_pool_rows_d(const double *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1,
                            int count_include_pad, int64_t divisor_override, double *out, double *acc)
    int64_t fc_unpool_plane_f(const float *v, int64_t vs0, int64_t vs1, const int64_t *idx,
                              int64_t is0, int64_t is1, int64_t h, int64_t w, float *out, int64_t size)
    int64_t fc_unpool_plane_d(const double *v, int64_t vs0, int64_t vs1, const int64_t *idx,
                              int64_t is0, int64_t is1, int64_t h, int64_t w, double *out, int64_t size)

cdef extern from "fastconv/finite.h" nogil:
    int fc_nonfinite_f(const float *x, int64_t n, int64_t s)
    int fc_nonfinite_d(const double *x, int64_t n, int64_t s)
