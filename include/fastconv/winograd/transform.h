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

/* Transformed weights of one block of ocb output channels (nvalid of them real, the others
 * zero): U[xi * xs + c * ocb + o] = (G w[o][c] G^T)[xi], computed in double, vectorised over
 * the block's channels.  w[o][c][kh][kw] has element strides ws[4]. */
#define FC_WOCB_MAX 8
#define FC_DEF_WINO_WEIGHTS(NAME, G_, AA_)                                                                             \
    FC_ATTR static void NAME(const FC_T *w, const int64_t *ws, int64_t nvalid, int64_t cin, int64_t ocb, int64_t xs,   \
                             FC_T *U) {                                                                                \
        enum { A = AA_ };                                                                                              \
        const double (*G)[3] = G_;                                                                                     \
        for (int64_t c = 0; c < cin; ++c) {                                                                            \
            /* all FC_WOCB_MAX lanes (a constant count: vectorised), the block's ocb stored */                         \
            double g[3][3][FC_WOCB_MAX], t[A][3][FC_WOCB_MAX];                                                         \
            for (int i = 0; i < 3; ++i)                                                                                \
                for (int j = 0; j < 3; ++j)                                                                            \
                    _Pragma("GCC unroll 8") for (int64_t o = 0; o < FC_WOCB_MAX; ++o) g[i][j][o] =                     \
                        o < nvalid ? (double)w[o * ws[0] + c * ws[1] + i * ws[2] + j * ws[3]] : 0.0;                   \
            _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a) _Pragma("GCC unroll 3") for (int j = 0; j < 3; ++j)    \
                _Pragma("GCC unroll 8") for (int64_t o = 0; o < FC_WOCB_MAX; ++o) t[a][j][o] =                         \
                    G[a][0] * g[0][j][o] + G[a][1] * g[1][j][o] + G[a][2] * g[2][j][o];                                \
            _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a) _Pragma("GCC unroll 8") for (int b = 0; b < A; ++b) {  \
                FC_T *u = U + (a * A + b) * xs + c * ocb;                                                              \
                FC_T r[FC_WOCB_MAX];                                                                                   \
                _Pragma("GCC unroll 8") for (int64_t o = 0; o < FC_WOCB_MAX; ++o) r[o] =                               \
                    (FC_T)(t[a][0][o] * G[b][0] + t[a][1][o] * G[b][1] + t[a][2][o] * G[b][2]);                        \
                memcpy(u, r, (size_t)ocb * sizeof(FC_T));                                                              \
            }                                                                                                          \
        }                                                                                                              \
    }
FC_DEF_WINO_WEIGHTS(fc_wino_weights2, fc_wino_G2, 4)
FC_DEF_WINO_WEIGHTS(fc_wino_weights4, fc_wino_G4, 6)
#undef FC_DEF_WINO_WEIGHTS

/* fc_wino_weights2 or fc_wino_weights4 for tile size m. */
static void fc_wino_weights(int m, const FC_T *w, const int64_t *ws, int64_t nvalid, int64_t cin, int64_t ocb,
                            int64_t xs, FC_T *U) {
    if (m == 4)
        fc_wino_weights4(w, ws, nvalid, cin, ocb, xs, U);
    else
        fc_wino_weights2(w, ws, nvalid, cin, ocb, xs, U);
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
