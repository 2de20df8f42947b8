/*
 * fastconv/winograd/gemm.h - the Winograd products: for each transform position, a matrix
 * product of the transformed weights U and inputs V into M, in register tiles of FC_WOCB
 * output channels x up to 3 vectors of tiles.  Part of a variant (fastconv/variants.h); no
 * checking is done here.
 */
#ifndef FASTCONV_WINOGRAD_GEMM_H
#define FASTCONV_WINOGRAD_GEMM_H

/* Product tile: M[o][k] (FC_WOCB output channels o, NV_ vectors k of tiles) = sum over the
 * C input channels c of U[c][o] * V[c][k], for one transform position.  u: the block's
 * transformed weights [C][FC_WOCB]; V's vectors lie kst apart along k and ldv apart along c,
 * M's kst apart along k and ldm apart along o.  The sums have three levels: the registers
 * sum blocks of FC_WINO_SUM_BLOCK channels, a group of FC_WINO_SUM_GROUP blocks is summed
 * in grp (on the stack), and M holds the running total of the groups.  One chain over
 * hundreds of channels has 2-3x PyTorch's float32 error, and a running total of every
 * block lets the error grow again past 256 channels.  The channel loop is unrolled four
 * times: a block's loop is short, and its exit and the next block's start showed in the
 * time. */
#define FC_DEF_WGEMM(NAME, NV_)                                                                                        \
    FC_ATTR __attribute__((noinline)) static void NAME(const FC_T *FC_RESTRICT u, const FC_T *FC_RESTRICT v,           \
                                                       int64_t ldv, int64_t kst, int64_t C, FC_T *FC_RESTRICT mo,      \
                                                       int64_t ldm) {                                                  \
        FC_V acc[FC_WOCB][NV_], grp[FC_WOCB][NV_];                                                                     \
        _Pragma("GCC unroll 16") for (int o = 0; o < FC_WOCB; ++o)                                                     \
            _Pragma("GCC unroll 16") for (int k = 0; k < NV_; ++k) acc[o][k] = grp[o][k] = (FC_V){0};                  \
        for (int64_t c0 = 0; c0 < C; c0 += FC_WINO_SUM_BLOCK) {                                                        \
            const int64_t c1 = C - c0 <= FC_WINO_SUM_BLOCK ? C : c0 + FC_WINO_SUM_BLOCK;                               \
            _Pragma("GCC unroll 4") for (int64_t c = c0; c < c1; ++c, v += ldv, u += FC_WOCB) {                        \
                FC_V xv[NV_];                                                                                          \
                _Pragma("GCC unroll 16") for (int k = 0; k < NV_; ++k) memcpy(&xv[k], v + k * kst, sizeof(FC_V));      \
                _Pragma("GCC unroll 16") for (int o = 0; o < FC_WOCB; ++o) {                                           \
                    const FC_T uo = u[o];                                                                              \
                    _Pragma("GCC unroll 16") for (int k = 0; k < NV_; ++k) acc[o][k] += xv[k] * uo;                    \
                }                                                                                                      \
            }                                                                                                          \
            /* the block's sums into its group's (grp), a group's into M (the running total) */                        \
            const int64_t blk = c0 / FC_WINO_SUM_BLOCK;                                                                \
            const int first = blk % FC_WINO_SUM_GROUP == 0;                                                            \
            const int last = blk % FC_WINO_SUM_GROUP == FC_WINO_SUM_GROUP - 1 || c1 == C;                              \
            _Pragma("GCC unroll 16") for (int o = 0; o < FC_WOCB; ++o)                                                 \
                _Pragma("GCC unroll 16") for (int k = 0; k < NV_; ++k) {                                               \
                FC_V s = acc[o][k];                                                                                    \
                if (!first) s += grp[o][k];                                                                            \
                if (!last) {                                                                                           \
                    grp[o][k] = s;                                                                                     \
                } else {                                                                                               \
                    if (blk >= FC_WINO_SUM_GROUP) {                                                                    \
                        FC_V prev;                                                                                     \
                        memcpy(&prev, mo + o * ldm + k * kst, sizeof(FC_V));                                           \
                        s += prev;                                                                                     \
                    }                                                                                                  \
                    memcpy(mo + o * ldm + k * kst, &s, sizeof(FC_V));                                                  \
                }                                                                                                      \
                acc[o][k] = (FC_V){0};                                                                                 \
            }                                                                                                          \
        }                                                                                                              \
    }
FC_DEF_WGEMM(fc_wgemm1, 1)
FC_DEF_WGEMM(fc_wgemm2, 2)
FC_DEF_WGEMM(fc_wgemm3, 3)
#undef FC_DEF_WGEMM

/* All products of one band of nch vector chunks of tiles: V is laid out [xi][c][chunk][VL]
 * and M [xi][oc][chunk][VL] (AA positions xi, C input channels, nob * FC_WOCB output
 * channels), so the panel of one position is contiguous: the products of a position read
 * its V panel once per block of output channels, and with the position innermost (the
 * panel's channels a power-of-two multiple of 1 KiB apart) those reads fell on a few cache
 * sets and missed where the panel fitted the cache.  For each position and block of
 * FC_WOCB output channels, the chunks in groups of 3 (the last group smaller). */
FC_INLINE void fc_wino_products(int64_t AA, const FC_T *U, int64_t nob, int64_t C, const FC_T *V, FC_T *M,
                                int64_t nch) {
    const int64_t ld = nch * FC_VL;
    for (int64_t xi = 0; xi < AA; ++xi)
        for (int64_t ob = 0; ob < nob; ++ob) {
            const FC_T *u = U + (xi * nob + ob) * C * FC_WOCB;
            const FC_T *v = V + xi * C * ld;
            FC_T *mo = M + (xi * nob + ob) * FC_WOCB * ld;
            int64_t k = 0;
            for (; k + 3 <= nch; k += 3) fc_wgemm3(u, v + k * FC_VL, ld, FC_VL, C, mo + k * FC_VL, ld);
            if (nch - k == 2) fc_wgemm2(u, v + k * FC_VL, ld, FC_VL, C, mo + k * FC_VL, ld);
            if (nch - k == 1) fc_wgemm1(u, v + k * FC_VL, ld, FC_VL, C, mo + k * FC_VL, ld);
        }
}

#endif /* FASTCONV_WINOGRAD_GEMM_H */
