/*
 * fastconv/winograd.h - Winograd convolution F(m x m, 3 x 3), m = 2 or 4, for 3x3 kernels
 * with unit stride, undilated or dilated.
 *
 * Algorithm (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016)
 * ---------
 * The output is cut into m x m tiles; tile t reads an A x A patch d of the padded input
 * (A = m + 2), patches overlapping by 2.  With the constant matrices B (A x A), G (A x 3)
 * and A^T (m x A) of the chosen interpolation points,
 *     Y = A^T [ sum over input channels c of (G g_c G^T) (.) (B^T d_c B) ] A,
 * where (.) is the element-wise product: the sum over channels becomes, for each of the A*A
 * positions xi, a matrix product M_xi[oc][t] = sum_c U_xi[oc][c] V_xi[c][t] - (m+2)^2 / m^2
 * multiply-adds per output and input channel instead of 9 (4 for m = 2, 2.25 for m = 4).
 *
 * A work item is (sample, group, band of tile rows).  The thread packs the band's padded
 * input rows with fc_pack_band as if for a stride-m convolution with an A x A kernel: column
 * phase q then holds padded columns q, q + m, q + 2m, ..., so input column m*t + j of tile t
 * lies at xoff[j] + t, and a vector load gives the same patch element of VL adjacent tiles.
 * The transforms run on such vectors (tiles in the lanes), the products on blocks of
 * FC_WOCB output channels x up to 3 vectors of tiles held in registers.  V and M of a band
 * stay in the thread's cache-sized buffers; outputs past the plane (tiles cut by its edge)
 * are computed from finite padding and dropped.
 *
 * Dilation (dh, dw): output rows pr + dh*i (row phase pr) and columns pc + dw*j (column
 * phase pc) read only padded rows pr + dh*(i + ky) and columns pc + dw*(j + kx), so each
 * (pr, pc) phase is an undilated convolution of a subsampled image.  A work item is one row
 * phase's band, its packed rows the phase's rows (pr + dh*i); the row's dw column phases are
 * packed together as for a stride-(m*dw) convolution with a (dw*A)-wide kernel, phase pc's
 * patch column j being tap pc + dw*j.  The band's tile rows are then dw runs of chunks, one
 * per column phase, and the output transform takes the dw phases of a chunk position
 * together: interleaving their m*dw vectors of one output row by shuffles puts the columns
 * pc + dw*(m*t + x) in order, so the stores stay contiguous (m*dw = 2, 4 or 8).
 *
 * Rounding: for m = 2 the transforms only add and halve, and the float32 error is that of
 * the direct kernels; for m = 4 they scale by up to 8 (A^T) and 1/24 (G), and the error is
 * about ten times larger (documented with algorithm="winograd4").
 * No checking is done here.
 */
#ifndef FASTCONV_WINOGRAD_H
#define FASTCONV_WINOGRAD_H

#include <stdint.h>
#include <string.h>
#include "fastconv/simd.h"
#include "fastconv/conv_direct.h"

/* Output channels of the product tile per vector width (3 vectors of tiles each: 24 of the
 * 32 AVX-512 registers, 12 of the 16 AVX2 ones). */
#define FC_WOCB_V4 8
#define FC_WOCB_32 4

static inline int64_t fc_wino_ocb(int64_t vb) { return vb == 64 ? FC_WOCB_V4 : FC_WOCB_32; }

/* G of F(2x2, 3x3) and F(4x4, 3x3). */
static const double fc_wino_G2[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
static const double fc_wino_G4[6][3] = {{1. / 4, 0, 0},           {-1. / 6, -1. / 6, -1. / 6},
                                        {-1. / 6, 1. / 6, -1. / 6}, {1. / 24, 1. / 12, 1. / 6},
                                        {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};

/* Transformed weights of one block of ocb output channels (nvalid of them real, the others
 * zero): U[xi * xs + c * ocb + o] = (G w[o][c] G^T)[xi], computed in double, vectorised over
 * the block's channels.  w[o][c][kh][kw] has element strides ws[4]. */
#define FC_WOCB_MAX 8
#define FC_DEF_WINO_WEIGHTS(SUF, T, MM, AA_)                                                        \
    static void fc_wino_weights##MM##_##SUF(const T *w, const int64_t *ws, int64_t nvalid, int64_t cin, \
                                            int64_t ocb, int64_t xs, T *U) {                        \
        enum { A = AA_ };                                                                           \
        const double(*G)[3] = fc_wino_G##MM;                                                        \
        for (int64_t c = 0; c < cin; ++c) {                                                         \
            double g[3][3][FC_WOCB_MAX], t[A][3][FC_WOCB_MAX];                                      \
            for (int i = 0; i < 3; ++i)                                                             \
                for (int j = 0; j < 3; ++j)                                                         \
                    for (int64_t o = 0; o < ocb; ++o)                                               \
                        g[i][j][o] = o < nvalid ? (double)w[o * ws[0] + c * ws[1] + i * ws[2] + j * ws[3]] : 0.0; \
            _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a)                                     \
                _Pragma("GCC unroll 3") for (int j = 0; j < 3; ++j)                                 \
                    for (int64_t o = 0; o < ocb; ++o)                                               \
                        t[a][j][o] = G[a][0] * g[0][j][o] + G[a][1] * g[1][j][o] + G[a][2] * g[2][j][o]; \
            _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a)                                     \
                _Pragma("GCC unroll 8") for (int b = 0; b < A; ++b) {                               \
                    T *u = U + (a * A + b) * xs + c * ocb;                                          \
                    for (int64_t o = 0; o < ocb; ++o)                                               \
                        u[o] = (T)(t[a][0][o] * G[b][0] + t[a][1][o] * G[b][1] + t[a][2][o] * G[b][2]); \
                }                                                                                   \
        }                                                                                           \
    }
FC_DEF_WINO_WEIGHTS(f, float, 2, 4)
FC_DEF_WINO_WEIGHTS(f, float, 4, 6)
FC_DEF_WINO_WEIGHTS(d, double, 2, 4)
FC_DEF_WINO_WEIGHTS(d, double, 4, 6)
#undef FC_DEF_WINO_WEIGHTS
#define FC_DEF_WINO_WEIGHTS(SUF, T)                                                                 \
    static inline void fc_wino_weights_##SUF(int m, const T *w, const int64_t *ws, int64_t nvalid,  \
                                             int64_t cin, int64_t ocb, int64_t xs, T *U) {         \
        if (m == 4)                                                                                 \
            fc_wino_weights4_##SUF(w, ws, nvalid, cin, ocb, xs, U);                                 \
        else                                                                                        \
            fc_wino_weights2_##SUF(w, ws, nvalid, cin, ocb, xs, U);                                 \
    }
FC_DEF_WINO_WEIGHTS(f, float)
FC_DEF_WINO_WEIGHTS(d, double)
#undef FC_DEF_WINO_WEIGHTS

/* Instantiations, as in conv_direct.h: 32-byte vectors (multiversioned), and 64-byte ones
 * for x86-64-v4. */
#define FC_ATTR FC_MULTIVERSION
#define FC_WOCB FC_WOCB_32
#define FC_T float
#define FC_V fc_vf
#define FC_SUFFIX FC_NAME_F32
#include "fastconv/winograd_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX
#define FC_T double
#define FC_V fc_vd
#define FC_SUFFIX FC_NAME_D32
#include "fastconv/winograd_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX
#undef FC_ATTR
#undef FC_WOCB

#ifdef FC_HAVE_V4
#define FC_ATTR FC_TARGET_V4
#define FC_WOCB FC_WOCB_V4
#define FC_T float
#define FC_V fc_vf64
#define FC_SUFFIX FC_NAME_F64
#include "fastconv/winograd_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX
#define FC_T double
#define FC_V fc_vd64
#define FC_SUFFIX FC_NAME_D64
#include "fastconv/winograd_impl.h"
#undef FC_T
#undef FC_V
#undef FC_SUFFIX
#undef FC_ATTR
#undef FC_WOCB
#endif

/* One band of Rt tile rows (tile size m) of one sample and group: band holds its packed
 * padded input rows (nrows of them, geometry g of the stride-m, (m+2) x (m+2) packing), U the
 * group's transformed weights, V and M the thread's buffers: C and (C_out per group rounded
 * up to fc_wino_ocb) times Rt * dw * ceil(ntc / VL) chunks of (m+2)^2 vectors, laid out
 * [channel][chunk][position][lane]; ntc tiles per column phase, dw column phases.  Writes
 * the row phase's output rows oh0 .. (ldo elements apart, the phase's first row at out) of
 * the cout planes (plane elements apart; Ho rows of the phase, Wo columns each). */
#define FC_WINO_DISPATCH(SUF, T)                                                                    \
    static inline void fc_wino_band_##SUF(int64_t vb, int m, const T *band, int64_t nrows,          \
                                          const fc_conv_geom *g, int64_t Rt, int64_t ntc, int dw, const T *U, \
                                          int64_t cout, const T *bias, T *V, T *M,       \
                                          int64_t oh0, T *out, int64_t plane, int64_t Ho, int64_t Wo, int64_t ldo) { \
        FC_WINO_V4(SUF)                                                                             \
        if (m == 4)                                                                                 \
            fc_wino_band4_##SUF##32(band, nrows, g, Rt, ntc, dw, U, cout, bias, V, M, oh0, out, plane, Ho, Wo, ldo); \
        else                                                                                        \
            fc_wino_band2_##SUF##32(band, nrows, g, Rt, ntc, dw, U, cout, bias, V, M, oh0, out, plane, Ho, Wo, ldo); \
    }
#ifdef FC_HAVE_V4
#define FC_WINO_V4(SUF)                                                                             \
    if (vb == 64) {                                                                                 \
        if (m == 4)                                                                                 \
            fc_wino_band4_##SUF##64(band, nrows, g, Rt, ntc, dw, U, cout, bias, V, M, oh0, out, plane, Ho, Wo, ldo); \
        else                                                                                        \
            fc_wino_band2_##SUF##64(band, nrows, g, Rt, ntc, dw, U, cout, bias, V, M, oh0, out, plane, Ho, Wo, ldo); \
        return;                                                                                     \
    }
#else
#define FC_WINO_V4(SUF) (void)vb;
#endif
FC_WINO_DISPATCH(f, float)
FC_WINO_DISPATCH(d, double)
#undef FC_WINO_DISPATCH
#undef FC_WINO_V4

#endif /* FASTCONV_WINOGRAD_H */
