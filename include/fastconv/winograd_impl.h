/*
 * fastconv/winograd_impl.h - body of the Winograd convolution, included by winograd.h once
 * per (dtype, vector width) with FC_T, FC_V, FC_SUFFIX, FC_ATTR and FC_WOCB (output channels
 * of the product tile) defined.  See winograd.h for the algorithm.  No checking is done here.
 */

#define FC_VL ((int64_t)(sizeof(FC_V) / sizeof(FC_T)))
#ifndef FC_WINO_SUM_BLOCK
/* Input channels per register-held partial sum of the products (see fc_wgemm): with blocks
 * of 32 the float32 error of F(2x2, 3x3) came too close to PyTorch's. */
#define FC_WINO_SUM_BLOCK 16
#endif

/* Product tile: M[o][k] (FC_WOCB output channels o, NV_ vectors k of tiles) = sum over the
 * C input channels c of U[c][o] * V[c][k], for one transform position.  u: the block's
 * transformed weights [C][FC_WOCB]; V's vectors lie kst apart along k and ldv apart along c,
 * M's kst apart along k and ldm apart along o.  The registers sum blocks of
 * FC_WINO_SUM_BLOCK channels, M holds the running total: one chain over hundreds of channels
 * gave 2-3x PyTorch's float32 error. */
#define FC_DEF_WGEMM(NV_)                                                                          \
    FC_ATTR __attribute__((noinline)) static void FC_SUFFIX(fc_wgemm##NV_)(                          \
        const FC_T *FC_RESTRICT u, const FC_T *FC_RESTRICT v, int64_t ldv, int64_t kst, int64_t C,   \
        FC_T *FC_RESTRICT mo, int64_t ldm) {                                                         \
        FC_V acc[FC_WOCB][NV_];                                                                      \
        _Pragma("GCC unroll 16") for (int o = 0; o < FC_WOCB; ++o)                                   \
            _Pragma("GCC unroll 16") for (int k = 0; k < NV_; ++k) acc[o][k] = (FC_V){0};           \
        for (int64_t c0 = 0; c0 < C; c0 += FC_WINO_SUM_BLOCK) {                                      \
            const int64_t c1 = C - c0 <= FC_WINO_SUM_BLOCK ? C : c0 + FC_WINO_SUM_BLOCK;             \
            for (int64_t c = c0; c < c1; ++c, v += ldv, u += FC_WOCB) {                              \
                FC_V xv[NV_];                                                                        \
                _Pragma("GCC unroll 16") for (int k = 0; k < NV_; ++k)                               \
                    memcpy(&xv[k], v + k * kst, sizeof(FC_V));                                       \
                _Pragma("GCC unroll 16") for (int o = 0; o < FC_WOCB; ++o) {                         \
                    const FC_T uo = u[o];                                                            \
                    _Pragma("GCC unroll 16") for (int k = 0; k < NV_; ++k) acc[o][k] += xv[k] * uo; \
                }                                                                                    \
            }                                                                                        \
            /* the block's sums into M, the running total (stored by the first block) */            \
            _Pragma("GCC unroll 16") for (int o = 0; o < FC_WOCB; ++o)                               \
                _Pragma("GCC unroll 16") for (int k = 0; k < NV_; ++k) {                             \
                    FC_V m = acc[o][k];                                                              \
                    if (c0 > 0) {                                                                    \
                        FC_V prev;                                                                   \
                        memcpy(&prev, mo + o * ldm + k * kst, sizeof(FC_V));                         \
                        m += prev;                                                                   \
                    }                                                                                \
                    memcpy(mo + o * ldm + k * kst, &m, sizeof(FC_V));                                \
                    acc[o][k] = (FC_V){0};                                                           \
                }                                                                                    \
        }                                                                                            \
    }
FC_DEF_WGEMM(1)
FC_DEF_WGEMM(2)
FC_DEF_WGEMM(3)
#undef FC_DEF_WGEMM

/* All products of one band of nch vector chunks of tiles: V is laid out [c][chunk][xi][VL]
 * and M [oc][chunk][xi][VL] (AA positions xi); for each position and block of FC_WOCB output
 * channels, the chunks in groups of 3 (the last group smaller). */
FC_INLINE void FC_SUFFIX(fc_wino_products)(int64_t AA, const FC_T *U, int64_t nob, int64_t C,
                                            const FC_T *V, FC_T *M, int64_t nch) {
    const int64_t kst = AA * FC_VL, ld = nch * kst;
    for (int64_t xi = 0; xi < AA; ++xi)
        for (int64_t ob = 0; ob < nob; ++ob) {
            const FC_T *u = U + (xi * nob + ob) * C * FC_WOCB;
            const FC_T *v = V + xi * FC_VL;
            FC_T *mo = M + ob * FC_WOCB * ld + xi * FC_VL;
            int64_t k = 0;
            for (; k + 3 <= nch; k += 3) FC_SUFFIX(fc_wgemm3)(u, v + k * kst, ld, kst, C, mo + k * kst, ld);
            if (nch - k == 2) FC_SUFFIX(fc_wgemm2)(u, v + k * kst, ld, kst, C, mo + k * kst, ld);
            if (nch - k == 1) FC_SUFFIX(fc_wgemm1)(u, v + k * kst, ld, kst, C, mo + k * kst, ld);
        }
}

/* Write rows r < nr of the m x m blocks of output vectors y[pc][r*m + x] of the dw column
 * phases pc (lane l: tile t0 + l of a tile row of phase pc, output columns
 * pc + dw*(m*(t0 + l) + x)) to the output rows at dst (ldo apart), columns col0 = dw*m*t0
 * ...: the K = m*dw vectors of a row, ordered x-major, interleaved by shuffles into K*VL
 * adjacent columns, only the columns below Wo stored. */
FC_INLINE void FC_SUFFIX(fc_wino_store_k)(const FC_V *y, int m, int dw, int K, int64_t nr,
                                          FC_T *dst, int64_t ldo, int64_t Wo, int64_t col0) {
    const int64_t n = Wo - col0 < K * FC_VL ? Wo - col0 : K * FC_VL;
    for (int64_t r = 0; r < nr; ++r) {
        FC_V o[8];
#pragma GCC unroll 8
        for (int k = 0; k < K; ++k) o[k] = y[(k % dw) * m * m + r * m + k / dw];
        FC_SUFFIX(fc_zipn)(o, K);
        FC_T *d = dst + r * ldo + col0;
        int64_t k = 0;
        for (; (k + 1) * FC_VL <= n; ++k) memcpy(d + k * FC_VL, &o[k], sizeof(FC_V));
        if (k * FC_VL < n) {
            FC_T rest[FC_VL];
            memcpy(rest, &o[k], sizeof(FC_V));
            for (int64_t i = 0; i < n - k * FC_VL; ++i) d[k * FC_VL + i] = rest[i];
        }
    }
}

/* fc_wino_store_k with m and dw (m*dw = 2, 4 or 8) made constants. */
FC_INLINE void FC_SUFFIX(fc_wino_store)(const FC_V *y, int m, int dw, int64_t nr, FC_T *dst,
                                        int64_t ldo, int64_t Wo, int64_t col0) {
    if (m == 2) {
        if (dw == 1) FC_SUFFIX(fc_wino_store_k)(y, 2, 1, 2, nr, dst, ldo, Wo, col0);
        else if (dw == 2) FC_SUFFIX(fc_wino_store_k)(y, 2, 2, 4, nr, dst, ldo, Wo, col0);
        else FC_SUFFIX(fc_wino_store_k)(y, 2, 4, 8, nr, dst, ldo, Wo, col0);
    } else {
        if (dw == 1) FC_SUFFIX(fc_wino_store_k)(y, 4, 1, 4, nr, dst, ldo, Wo, col0);
        else FC_SUFFIX(fc_wino_store_k)(y, 4, 2, 8, nr, dst, ldo, Wo, col0);
    }
}

/* One band of Rt tile rows for tile size MM (A = MM + 2) of one row phase: input transform
 * of every channel into V, the products into M, output transform (+ bias) into the output.
 * A tile row is dw column phases of ncp = ceil(ntc / VL) chunks of VL tiles each (the last
 * chunk's lanes past a phase's tiles are dropped); phase pc's tile t covers output columns
 * pc + dw*(MM*t + x).  Output row oy of the phase lies at out + oy * ldo. */
#define FC_DEF_WINO_BAND(MM, AA_)                                                                  \
    FC_ATTR static void FC_SUFFIX(fc_wino_band##MM)(                                                \
        const FC_T *band, int64_t nrows, const fc_conv_geom *g, int64_t Rt, int64_t ntc, int dw,    \
        const FC_T *U, int64_t cout, const FC_T *bias, FC_T *V, FC_T *M, int64_t oh0,              \
        FC_T *out, int64_t plane, int64_t Ho, int64_t Wo, int64_t ldo) {                           \
        enum { A = AA_, DWMAX = 8 / MM };                                                            \
        const int64_t C = g->C, rs = g->npha * g->Wq;                                                \
        const int64_t ncp = (ntc + FC_VL - 1) / FC_VL, ncr = dw * ncp, nch = Rt * ncr;              \
        const int64_t nob = (cout + FC_WOCB - 1) / FC_WOCB;                                          \
        int64_t xo[DWMAX][A]; /* tap j of phase pc: padded column pc + dw*j */                     \
        for (int pc = 0; pc < dw; ++pc)                                                              \
            for (int j = 0; j < A; ++j) xo[pc][j] = g->xoff[pc + dw * j];                            \
        /* input transform: V[c][chunk][xi] = (B^T d B)[xi] of the chunk's tiles' patches d */    \
        FC_T *vd = V;                                                                                \
        for (int64_t c = 0; c < C; ++c)                                                              \
            for (int64_t r = 0; r < Rt; ++r)                                                         \
                for (int pc = 0; pc < dw; ++pc)                                                      \
                    for (int64_t t0 = 0; t0 < ntc; t0 += FC_VL, vd += A * A * FC_VL) {               \
                        const FC_T *b0 = band + (c * nrows + r * MM) * rs + t0;                      \
                        FC_V e[A][A];                                                                \
                        _Pragma("GCC unroll 8") for (int j = 0; j < A; ++j) {                        \
                            FC_V col[A], res[A];                                                     \
                            _Pragma("GCC unroll 8") for (int i = 0; i < A; ++i)                      \
                                memcpy(&col[i], b0 + i * rs + xo[pc][j], sizeof(FC_V));              \
                            FC_SUFFIX(fc_bt##MM)(col, res);                                          \
                            _Pragma("GCC unroll 8") for (int i = 0; i < A; ++i) e[i][j] = res[i];    \
                        }                                                                            \
                        _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a) {                        \
                            FC_V res[A];                                                             \
                            FC_SUFFIX(fc_bt##MM)(e[a], res);                                         \
                            memcpy(vd + a * A * FC_VL, res, sizeof(res));                            \
                        }                                                                            \
                    }                                                                                \
        FC_SUFFIX(fc_wino_products)(A * A, U, nob, C, V, M, nch);                                    \
        /* output transform: Y = A^T M A, plus the bias, for each output channel and tile; the \
         * dw phases of a chunk position together, so their columns interleave in the store */    \
        const int64_t cst = A * A * FC_VL; /* elements per chunk of M */                            \
        for (int64_t oc = 0; oc < cout; ++oc) {                                                      \
            const FC_T bv = bias != NULL ? bias[oc] : (FC_T)0;                                       \
            for (int64_t r = 0; r < Rt; ++r) {                                                       \
                const int64_t oy = oh0 + r * MM;                                                     \
                const int64_t nr = Ho - oy < MM ? Ho - oy : MM;                                      \
                for (int64_t k = 0; k < ncp; ++k) {                                                  \
                    FC_V y[DWMAX * MM * MM];                                                         \
                    for (int pc = 0; pc < dw; ++pc) {                                                \
                        const FC_T *ms = M + ((oc * Rt + r) * ncr + pc * ncp + k) * cst;             \
                        FC_V f[MM][A];                                                               \
                        _Pragma("GCC unroll 8") for (int b = 0; b < A; ++b) {                        \
                            FC_V col[A], res[MM];                                                    \
                            _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a)                      \
                                memcpy(&col[a], ms + (a * A + b) * FC_VL, sizeof(FC_V));             \
                            FC_SUFFIX(fc_at##MM)(col, res);                                          \
                            _Pragma("GCC unroll 8") for (int i = 0; i < MM; ++i) f[i][b] = res[i];   \
                        }                                                                            \
                        _Pragma("GCC unroll 8") for (int i = 0; i < MM; ++i) {                       \
                            FC_V res[MM];                                                            \
                            FC_SUFFIX(fc_at##MM)(f[i], res);                                         \
                            _Pragma("GCC unroll 8") for (int j = 0; j < MM; ++j)                     \
                                y[pc * MM * MM + i * MM + j] = res[j] + bv;                          \
                        }                                                                            \
                    }                                                                                \
                    FC_SUFFIX(fc_wino_store)(y, MM, dw, nr, out + oc * plane + oy * ldo, ldo, Wo,    \
                                             (int64_t)dw * MM * k * FC_VL);                          \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }

/* F(2x2, 3x3): B^T and A^T of Lavin & Gray (interpolation points 0, 1, -1, infinity). */
FC_INLINE void FC_SUFFIX(fc_bt2)(const FC_V *x, FC_V *y) {
    y[0] = x[0] - x[2];
    y[1] = x[1] + x[2];
    y[2] = x[2] - x[1];
    y[3] = x[1] - x[3];
}
FC_INLINE void FC_SUFFIX(fc_at2)(const FC_V *m, FC_V *y) {
    y[0] = m[0] + m[1] + m[2];
    y[1] = m[1] - m[2] - m[3];
}

/* F(4x4, 3x3): points 0, 1, -1, 2, -2, infinity.  Common subexpressions shared. */
FC_INLINE void FC_SUFFIX(fc_bt4)(const FC_V *x, FC_V *y) {
    const FC_V a = x[4] - (FC_T)4 * x[2], b = x[3] - (FC_T)4 * x[1];
    const FC_V c = x[4] - x[2], d = (FC_T)2 * (x[3] - x[1]);
    y[0] = (FC_T)4 * x[0] - (FC_T)5 * x[2] + x[4];
    y[1] = a + b;
    y[2] = a - b;
    y[3] = c + d;
    y[4] = c - d;
    y[5] = (FC_T)4 * x[1] - (FC_T)5 * x[3] + x[5];
}
FC_INLINE void FC_SUFFIX(fc_at4)(const FC_V *m, FC_V *y) {
    const FC_V s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    y[0] = m[0] + s12 + s34;
    y[1] = d12 + (FC_T)2 * d34;
    y[2] = s12 + (FC_T)4 * s34;
    y[3] = d12 + (FC_T)8 * d34 + m[5];
}

FC_DEF_WINO_BAND(2, 4)
FC_DEF_WINO_BAND(4, 6)
#undef FC_DEF_WINO_BAND
#undef FC_VL
