/*
 * fastconv/winograd/band.h - the band driver of Winograd F(m x m, 3 x 3) (FC_KIND_WINOGRAD2,
 * FC_KIND_WINOGRAD4): input transform, products, output transform of one band of tile rows.
 * Part of a variant (fastconv/variants.h); no checking is done here.
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
 * Non-finite values: one NaN or infinity in a patch spreads to every output of its tile, so
 * the input transform also sums x*0 over what it writes to V (0 while every value is
 * finite, NaN otherwise: B^T d B holds a non-finite value whenever d does, and one that
 * overflowed).  A band that meets one stops there and says so; its caller reruns the call
 * with the direct kernels.  The check is the only pass over the input that Winograd adds.
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
 */
#ifndef FASTCONV_WINOGRAD_BAND_H
#define FASTCONV_WINOGRAD_BAND_H

/* Write rows r < nr of the m x m blocks of output vectors y[pc][r*m + x] of the dw column
 * phases pc (lane l: tile t0 + l of a tile row of phase pc, output columns
 * pc + dw*(m*(t0 + l) + x)) to the output rows at dst (ldo apart), columns col0 = dw*m*t0
 * ...: the K = m*dw vectors of a row, ordered x-major, interleaved by shuffles into K*VL
 * adjacent columns, only the columns below Wo stored. */
FC_INLINE void fc_wino_store_k(const FC_V *y, int m, int dw, int K, int64_t nr, FC_T *dst, int64_t ldo, int64_t Wo,
                               int64_t col0) {
    const int64_t n = Wo - col0 < K * FC_VL ? Wo - col0 : K * FC_VL;
    for (int64_t r = 0; r < nr; ++r) {
        FC_V o[8];
#pragma GCC unroll 8
        for (int k = 0; k < K; ++k) o[k] = y[(k % dw) * m * m + r * m + k / dw];
        fc_zipn(o, K);
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
FC_INLINE void fc_wino_store(const FC_V *y, int m, int dw, int64_t nr, FC_T *dst, int64_t ldo, int64_t Wo,
                             int64_t col0) {
    if (m == 2) {
        if (dw == 1)
            fc_wino_store_k(y, 2, 1, 2, nr, dst, ldo, Wo, col0);
        else if (dw == 2)
            fc_wino_store_k(y, 2, 2, 4, nr, dst, ldo, Wo, col0);
        else
            fc_wino_store_k(y, 2, 4, 8, nr, dst, ldo, Wo, col0);
    } else {
        if (dw == 1)
            fc_wino_store_k(y, 4, 1, 4, nr, dst, ldo, Wo, col0);
        else
            fc_wino_store_k(y, 4, 2, 8, nr, dst, ldo, Wo, col0);
    }
}

/* One band of Rt tile rows for tile size MM (A = MM + 2) of one row phase: input transform
 * of every channel into V, the products into M, output transform (+ bias) into the output.
 * Returns 1, having written no output, when the transformed inputs hold a NaN or an
 * infinity; 0 otherwise.
 * A tile row is dw column phases of ncp = ceil(ntc / VL) chunks of VL tiles each (the last
 * chunk's lanes past a phase's tiles are dropped); phase pc's tile t covers output columns
 * pc + dw*(MM*t + x).  Output row oy of the phase lies at out + oy * ldo. */
#define FC_DEF_WINO_BAND(NAME, MM, AA_, BT_, AT_)                                                                      \
    FC_ATTR static int NAME(const FC_T *band, int64_t nrows, const fc_conv_geom *g, int64_t Rt, int64_t ntc, int dw,   \
                            const FC_T *U, int64_t cout, const FC_T *bias, FC_T *V, FC_T *M, int64_t oh0, FC_T *out,   \
                            int64_t plane, int64_t Ho, int64_t Wo, int64_t ldo) {                                      \
        enum { A = AA_, DWMAX = 8 / MM };                                                                              \
        const int64_t C = g->C, rs = g->npha * g->Wq;                                                                  \
        const int64_t ncp = (ntc + FC_VL - 1) / FC_VL, ncr = dw * ncp, nch = Rt * ncr;                                 \
        const int64_t nob = (cout + FC_WOCB - 1) / FC_WOCB;                                                            \
        int64_t xo[DWMAX][A]; /* tap j of phase pc: padded column pc + dw*j */                                         \
        for (int pc = 0; pc < dw; ++pc)                                                                                \
            for (int j = 0; j < A; ++j) xo[pc][j] = g->xoff[pc + dw * j];                                              \
        /* input transform: V[xi][c][chunk] = (B^T d B)[xi] of the chunk's tiles' patches d */                         \
        FC_T *vd = V;                       /* chunk (c, r, pc, t0) in that order */                                   \
        const int64_t vx = C * nch * FC_VL; /* V's position stride */                                                  \
        FC_V chk = (FC_V){0};               /* sum of V * 0: NaN once a value of V is not finite */                    \
        for (int64_t c = 0; c < C; ++c)                                                                                \
            for (int64_t r = 0; r < Rt; ++r)                                                                           \
                for (int pc = 0; pc < dw; ++pc)                                                                        \
                    for (int64_t t0 = 0; t0 < ntc; t0 += FC_VL, vd += FC_VL) {                                         \
                        const FC_T *b0 = band + (c * nrows + r * MM) * rs + t0;                                        \
                        FC_V e[A][A];                                                                                  \
                        _Pragma("GCC unroll 8") for (int j = 0; j < A; ++j) {                                          \
                            FC_V col[A], res[A];                                                                       \
                            _Pragma("GCC unroll 8") for (int i = 0; i < A; ++i)                                        \
                                memcpy(&col[i], b0 + i * rs + xo[pc][j], sizeof(FC_V));                                \
                            BT_(col, res);                                                                             \
                            _Pragma("GCC unroll 8") for (int i = 0; i < A; ++i) e[i][j] = res[i];                      \
                        }                                                                                              \
                        _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a) {                                          \
                            FC_V res[A];                                                                               \
                            BT_(e[a], res);                                                                            \
                            _Pragma("GCC unroll 8") for (int i = 0; i < A; ++i) chk += res[i] * (FC_T)0;               \
                            _Pragma("GCC unroll 8") for (int i = 0; i < A; ++i)                                        \
                                memcpy(vd + (a * A + i) * vx, &res[i], sizeof(FC_V));                                  \
                        }                                                                                              \
                    }                                                                                                  \
        FC_T lanes[FC_VL];                                                                                             \
        memcpy(lanes, &chk, sizeof(chk));                                                                              \
        for (int64_t l = 0; l < FC_VL; ++l)                                                                            \
            if (lanes[l] != 0) return 1;                                                                               \
        fc_wino_products(A * A, U, nob, C, V, M, nch);                                                                 \
        /* output transform: Y = A^T M A, plus the bias, for each output channel and tile; the \
         * dw phases of a chunk position together, so their columns interleave in the store */                       \
        const int64_t mx = nob * FC_WOCB * nch * FC_VL; /* M's position stride */                                      \
        for (int64_t oc = 0; oc < cout; ++oc) {                                                                        \
            const FC_T bv = bias != NULL ? bias[oc] : (FC_T)0;                                                         \
            for (int64_t r = 0; r < Rt; ++r) {                                                                         \
                const int64_t oy = oh0 + r * MM;                                                                       \
                const int64_t nr = Ho - oy < MM ? Ho - oy : MM;                                                        \
                for (int64_t k = 0; k < ncp; ++k) {                                                                    \
                    FC_V y[DWMAX * MM * MM];                                                                           \
                    for (int pc = 0; pc < dw; ++pc) {                                                                  \
                        const FC_T *ms = M + (oc * nch + r * ncr + pc * ncp + k) * FC_VL;                              \
                        FC_V f[MM][A];                                                                                 \
                        _Pragma("GCC unroll 8") for (int b = 0; b < A; ++b) {                                          \
                            FC_V col[A], res[MM];                                                                      \
                            _Pragma("GCC unroll 8") for (int a = 0; a < A; ++a)                                        \
                                memcpy(&col[a], ms + (a * A + b) * mx, sizeof(FC_V));                                  \
                            AT_(col, res);                                                                             \
                            _Pragma("GCC unroll 8") for (int i = 0; i < MM; ++i) f[i][b] = res[i];                     \
                        }                                                                                              \
                        _Pragma("GCC unroll 8") for (int i = 0; i < MM; ++i) {                                         \
                            FC_V res[MM];                                                                              \
                            AT_(f[i], res);                                                                            \
                            _Pragma("GCC unroll 8") for (int j = 0; j < MM; ++j) y[pc * MM * MM + i * MM + j] =        \
                                res[j] + bv;                                                                           \
                        }                                                                                              \
                    }                                                                                                  \
                    fc_wino_store(y, MM, dw, nr, out + oc * plane + oy * ldo, ldo, Wo, (int64_t)dw * MM * k * FC_VL);  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        return 0;                                                                                                      \
    }
FC_DEF_WINO_BAND(fc_wino_band2, 2, 4, fc_bt2, fc_at2)
FC_DEF_WINO_BAND(fc_wino_band4, 4, 6, fc_bt4, fc_at4)
#undef FC_DEF_WINO_BAND

/* One band of Rt tile rows (tile size m) of one sample and group: band holds its packed
 * padded input rows (nrows of them, geometry g of the stride-m, (m+2) x (m+2) packing), U the
 * group's transformed weights, V and M the thread's buffers: C and (C_out per group rounded
 * up to FC_WOCB) times Rt * dw * ceil(ntc / VL) chunks of (m+2)^2 vectors, laid out
 * [position][channel][chunk][lane]; ntc tiles per column phase, dw column phases.  Writes
 * the row phase's output rows oh0 .. (ldo elements apart, the phase's first row at out) of
 * the cout planes (plane elements apart; Ho rows of the phase, Wo columns each).  kind:
 * FC_KIND_WINOGRAD2 or FC_KIND_WINOGRAD4.  Returns 1 (nothing written) when the band's
 * transformed inputs are not all finite, 0 otherwise. */
static int fc_wino_band(int kind, const FC_T *band, int64_t nrows, const fc_conv_geom *g, int64_t Rt, int64_t ntc,
                        int dw, const FC_T *U, int64_t cout, const FC_T *bias, FC_T *V, FC_T *M, int64_t oh0, FC_T *out,
                        int64_t plane, int64_t Ho, int64_t Wo, int64_t ldo) {
    if (kind == FC_KIND_WINOGRAD4)
        return fc_wino_band4(band, nrows, g, Rt, ntc, dw, U, cout, bias, V, M, oh0, out, plane, Ho, Wo, ldo);
    return fc_wino_band2(band, nrows, g, Rt, ntc, dw, U, cout, bias, V, M, oh0, out, plane, Ho, Wo, ldo);
}

#endif /* FASTCONV_WINOGRAD_BAND_H */
