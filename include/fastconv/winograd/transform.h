/*
 * fastconv/winograd/transform.h - the Winograd transforms of F(2x2, 3x3) and F(4x4, 3x3):
 * the weights' G g G^T (once per call, in double) and the vector transforms B^T d B and
 * A^T m A.  Part of a variant (fastconv/variants.h); no checking is done here.
 */
#ifndef FASTCONV_WINOGRAD_TRANSFORM_H
#define FASTCONV_WINOGRAD_TRANSFORM_H

/* G of F(2x2, 3x3) and F(4x4, 3x3). */
static const double fc_wino_G2[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
static const double fc_wino_G4[6][3] = {{1. / 4, 0, 0},
                                        {-1. / 6, -1. / 6, -1. / 6},
                                        {-1. / 6, 1. / 6, -1. / 6},
                                        {1. / 24, 1. / 12, 1. / 6},
                                        {1. / 24, -1. / 12, 1. / 6},
                                        {0, 0, 1}};

/* Eight elements of the dtype, their lane selectors, and eight doubles. */
typedef FC_T fc_w8 __attribute__((vector_size(8 * sizeof(FC_T))));
#if defined(FC_VARIANT_F32) || defined(FC_VARIANT_F64)
typedef int fc_w8sel __attribute__((vector_size(32)));
#else
typedef long long fc_w8sel __attribute__((vector_size(64)));
#endif
typedef double fc_w8d __attribute__((vector_size(64)));

/* ge[e * 8 + o] = rows[o][e] in double for e < n (n a multiple of 8), o < 8: the rows'
 * runs of eight transposed in registers (three rounds of shuffles), one vector store per
 * element e, where a scalar conversion and store per element cost four times the
 * instructions.  Rows o >= nrow read as zeros. */
FC_INLINE void fc_wino_gather_t8(const FC_T *w, int64_t rs, int64_t nrow, int64_t n, double *ge) {
    const fc_w8sel m0 = {0, 8, 2, 10, 4, 12, 6, 14}, m1 = {1, 9, 3, 11, 5, 13, 7, 15};
    const fc_w8sel n0 = {0, 1, 8, 9, 4, 5, 12, 13}, n1 = {2, 3, 10, 11, 6, 7, 14, 15};
    const fc_w8sel p0 = {0, 1, 2, 3, 8, 9, 10, 11}, p1 = {4, 5, 6, 7, 12, 13, 14, 15};
    for (int64_t e0 = 0; e0 < n; e0 += 8) {
        fc_w8 r[8], a[8], b[8];
#pragma GCC unroll 8
        for (int o = 0; o < 8; ++o) {
            r[o] = (fc_w8){0};
            if (o < nrow) memcpy(&r[o], w + o * rs + e0, sizeof(fc_w8));
        }
#pragma GCC unroll 4
        for (int i = 0; i < 8; i += 2) {
            a[i] = __builtin_shuffle(r[i], r[i + 1], m0);
            a[i + 1] = __builtin_shuffle(r[i], r[i + 1], m1);
        }
#pragma GCC unroll 4
        for (int i = 0; i < 8; i += (i % 2 ? 3 : 1)) { /* i = 0, 1, 4, 5 */
            b[i] = __builtin_shuffle(a[i], a[i + 2], n0);
            b[i + 2] = __builtin_shuffle(a[i], a[i + 2], n1);
        }
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
            const fc_w8d lo = __builtin_convertvector(__builtin_shuffle(b[i], b[i + 4], p0), fc_w8d);
            const fc_w8d hi = __builtin_convertvector(__builtin_shuffle(b[i], b[i + 4], p1), fc_w8d);
            memcpy(ge + (e0 + i) * 8, &lo, sizeof lo);
            memcpy(ge + (e0 + i + 4) * 8, &hi, sizeof hi);
        }
    }
}

/* Transformed weights of one block of ocb output channels (nvalid of them real, the others
 * zero): U[xi * xs + c * ocb + o] = (G w[o][c] G^T)[xi], computed in double, vectorised over
 * the block's channels.  w[o][c][kh][kw] has element strides ws[4].  Returns 1 when a
 * transformed weight is not finite, 0 otherwise.  The weights of FC_WINO_WCHUNK input
 * channels are gathered into g (channel-lane order, transposed in registers where they
 * are dense) before any is transformed: gathered one by one and loaded back per channel,
 * each vector load waited on the scalar stores just made (a failed store forwarding). */
#define FC_WOCB_MAX 8
#define FC_WINO_WCHUNK 16
#define FC_DEF_WINO_WEIGHTS(NAME, G_, AA_)                                                                             \
    FC_ATTR static int NAME(const FC_T *w, const int64_t *ws, int64_t nvalid, int64_t cin, int64_t ocb, int64_t xs,    \
                            FC_T *U) {                                                                                 \
        enum { A = AA_ };                                                                                              \
        const double (*G)[3] = G_;                                                                                     \
        double g[FC_WINO_WCHUNK][9][FC_WOCB_MAX];                                                                      \
        FC_T ub[A * A][FC_WINO_WCHUNK * FC_WOCB_MAX]; /* the chunk's U, position-major */                              \
        FC_V chk[2] = {{0}, {0}}; /* sums of U * 0 (two chains): NaN once a value of U is not finite */                \
        memset(ub, 0, sizeof ub); /* checked whole: a last chunk of fewer channels leaves some unwritten */            \
        const int64_t s0 = ws[0], s1 = ws[1], s2 = ws[2], s3 = ws[3];                                                  \
        const int dense = s1 == 9 && s2 == 3 && s3 == 1; /* a channel's taps, and the next channel's, adjacent */      \
        for (int64_t c0 = 0; c0 < cin; c0 += FC_WINO_WCHUNK) {                                                         \
            const int64_t nc = cin - c0 < FC_WINO_WCHUNK ? cin - c0 : FC_WINO_WCHUNK;                                  \
            double *ge = &g[0][0][0];                 /* element e = 9 * c + k of lane o at ge[e * FC_WOCB_MAX + o] */ \
            for (int64_t o = 0; o < FC_WOCB_MAX; ++o) /* the chunk after next, a stream per row */                     \
                for (int64_t e = 0; dense && o < nvalid && e < 9 * FC_WINO_WCHUNK; e += 64 / (int64_t)sizeof(FC_T))    \
                    __builtin_prefetch(w + o * s0 + (c0 + 2 * FC_WINO_WCHUNK) * s1 + e, 0, 1);                         \
            const int64_t nt8 = dense ? 9 * nc / 8 * 8 : 0; /* elements transposed in registers */                     \
            fc_wino_gather_t8(w + c0 * s1, s0, nvalid, nt8, ge);                                                       \
            for (int64_t o = 0; o < FC_WOCB_MAX; ++o)                                                                  \
                for (int64_t e = nt8; e < 9 * nc; ++e)                                                                 \
                    ge[e * FC_WOCB_MAX + o] =                                                                          \
                        o < nvalid ? (double)w[o * s0 + (c0 + e / 9) * s1 + e % 9 / 3 * s2 + e % 3 * s3] : 0.0;        \
            for (int64_t c = 0; c < nc; ++c) {                                                                         \
                /* all FC_WOCB_MAX lanes (a constant count: vectorised), the block's ocb stored */                     \
                double t[A][3][FC_WOCB_MAX];                                                                           \
                _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a)                                                    \
                    _Pragma("GCC unroll 3") for (int j = 0; j < 3; ++j)                                                \
                        _Pragma("GCC unroll 8") for (int64_t o = 0; o < FC_WOCB_MAX; ++o) t[a][j][o] =                 \
                            G[a][0] * g[c][j][o] + G[a][1] * g[c][3 + j][o] + G[a][2] * g[c][6 + j][o];                \
                _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a)                                                    \
                    _Pragma("GCC unroll 8") for (int b = 0; b < A; ++b) {                                              \
                    FC_T *r = ub[a * A + b] + c * FC_WOCB_MAX;                                                         \
                    _Pragma("GCC unroll 8") for (int64_t o = 0; o < FC_WOCB_MAX; ++o) r[o] =                           \
                        (FC_T)(t[a][0][o] * G[b][0] + t[a][1][o] * G[b][1] + t[a][2][o] * G[b][2]);                    \
                }                                                                                                      \
            }                                                                                                          \
            /* the chunk's check: every value of ub (zeros where no channel was written) */                            \
            for (size_t i = 0; i < sizeof ub / sizeof(FC_T); i += 2 * FC_VL) {                                         \
                FC_V v0, v1;                                                                                           \
                memcpy(&v0, &ub[0][0] + i, sizeof v0);                                                                 \
                memcpy(&v1, &ub[0][0] + i + FC_VL, sizeof v1);                                                         \
                chk[0] += v0 * (FC_T)0;                                                                                \
                chk[1] += v1 * (FC_T)0;                                                                                \
            }                                                                                                          \
            /* each position's run of the chunk to U at once: stored per channel, the A*A \
             * positions' streams (xs apart, a power of two in the common case) evicted \
             * each other's lines between two stores */                            \
            for (int64_t xi = 0; xi < A * A; ++xi) {                                                                   \
                FC_T *u = U + xi * xs + c0 * ocb;                                                                      \
                if (ocb == FC_WOCB_MAX)                                                                                \
                    memcpy(u, ub[xi], (size_t)(nc * FC_WOCB_MAX) * sizeof(FC_T));                                      \
                else                                                                                                   \
                    for (int64_t c = 0; c < nc; ++c)                                                                   \
                        for (int64_t o = 0; o < ocb; ++o) u[c * ocb + o] = ub[xi][c * FC_WOCB_MAX + o];                \
            }                                                                                                          \
        }                                                                                                              \
        FC_T lanes[FC_VL];                                                                                             \
        chk[0] += chk[1];                                                                                              \
        memcpy(lanes, &chk[0], sizeof lanes);                                                                          \
        for (int64_t l = 0; l < FC_VL; ++l)                                                                            \
            if (lanes[l] != 0) return 1;                                                                               \
        return 0;                                                                                                      \
    }
FC_DEF_WINO_WEIGHTS(fc_wino_weights2, fc_wino_G2, 4)
FC_DEF_WINO_WEIGHTS(fc_wino_weights4, fc_wino_G4, 6)
#undef FC_DEF_WINO_WEIGHTS

/* fc_wino_weights2 or fc_wino_weights4 for tile size m: 1 when a transformed weight is not
 * finite (a NaN or infinite weight, or a sum past the dtype's range), else 0. */
static int fc_wino_weights(int m, const FC_T *w, const int64_t *ws, int64_t nvalid, int64_t cin, int64_t ocb,
                           int64_t xs, FC_T *U) {
    if (m == 4) return fc_wino_weights4(w, ws, nvalid, cin, ocb, xs, U);
    return fc_wino_weights2(w, ws, nvalid, cin, ocb, xs, U);
}

/* F(2x2, 3x3): B^T and A^T of Lavin & Gray (interpolation points 0, 1, -1, infinity). */
FC_INLINE void fc_bt2(const FC_V *x, FC_V *y) {
    y[0] = x[0] - x[2];
    y[1] = x[1] + x[2];
    y[2] = x[2] - x[1];
    y[3] = x[1] - x[3];
}
FC_INLINE void fc_at2(const FC_V *m, FC_V *y) {
    y[0] = m[0] + m[1] + m[2];
    y[1] = m[1] - m[2] - m[3];
}

/* F(4x4, 3x3): points 0, 1, -1, 2, -2, infinity.  Common subexpressions shared. */
FC_INLINE void fc_bt4(const FC_V *x, FC_V *y) {
    const FC_V a = x[4] - (FC_T)4 * x[2], b = x[3] - (FC_T)4 * x[1];
    const FC_V c = x[4] - x[2], d = (FC_T)2 * (x[3] - x[1]);
    y[0] = (FC_T)4 * x[0] - (FC_T)5 * x[2] + x[4];
    y[1] = a + b;
    y[2] = a - b;
    y[3] = c + d;
    y[4] = c - d;
    y[5] = (FC_T)4 * x[1] - (FC_T)5 * x[3] + x[5];
}
FC_INLINE void fc_at4(const FC_V *m, FC_V *y) {
    const FC_V s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    y[0] = m[0] + s12 + s34;
    y[1] = d12 + (FC_T)2 * d34;
    y[2] = s12 + (FC_T)4 * s34;
    y[3] = d12 + (FC_T)8 * d34 + m[5];
}

#endif /* FASTCONV_WINOGRAD_TRANSFORM_H */
