/*
 * fastconv/depthwise/sweep.h - the row sweep (FC_KIND_DW_SWEEP): 3x3 and 5x5 unit-stride
 * kernels swept along wide rows with the taps in registers, written straight to the output.
 * Part of a variant (fastconv/variants.h); no checking is done here.
 */
#ifndef FASTCONV_DEPTHWISE_SWEEP_H
#define FASTCONV_DEPTHWISE_SWEEP_H

/* The sweep below sums each output row in FC_SWEEP_NC accumulators, tap row kh going to
 * accumulator kh % FC_SWEEP_NC: with one, the RB rows are RB chains of KS * KS dependent
 * FMAs, and the FMA latency, not their throughput, sets the pace.  The taps then no longer
 * all fit in registers beside the 12 accumulators, and are read from memory as FMA
 * operands.  3x3 (9 FMAs a row) is bound by memory traffic instead and keeps one chain. */
FC_INLINE void fc_sweep_init(FC_V acc[][FC_SWEEP_NC], FC_V bv, const int RB, const int NC) {
#pragma GCC unroll 16
    for (int i = 0; i < RB; ++i) {
        acc[i][0] = bv;
#pragma GCC unroll 4
        for (int k = 1; k < NC; ++k) acc[i][k] = (FC_V){0};
    }
}
FC_INLINE void fc_sweep_fold(FC_V *acc, const int NC) { /* the sum into acc[0] */
#pragma GCC unroll 4
    for (int k = 1; k < NC; ++k) acc[0] += acc[k];
}

/* Wide rows: RB output rows (dst rows ldd apart) of a KS x KS unit-stride kernel swept
 * across output columns [a, e), e - a >= VL, whose taps all fall inside the input rows
 * (output column c, tap kw reads input column c - pl + kw of rows[i + kh]).  Walking along
 * the rows instead of down a strip keeps the RB + KS - 1 input rows as a few sequential
 * streams and stores whole output rows in order, so no buffer is needed however wide the
 * plane; each shifted input vector is loaded once and feeds up to KS output rows (5x5: 40
 * loads for 100 FMAs), and the taps are broadcast once per sweep (3x3: kept in registers;
 * 5x5: FMA memory operands, see above).  nt: store the two-load chunks with streaming
 * (non-temporal) stores where FC_STREAM exists, the chunks after the first moved to
 * vector-aligned outputs; for outputs far bigger than the caches, whose lines would
 * otherwise be read from memory before being overwritten.  The caller fences. */
FC_INLINE void fc_dw_sweep_block(const FC_T *const *rows, const FC_V *wv, FC_V bv, int64_t W, int64_t pl, int64_t a,
                                 int64_t e, FC_T *dst, int64_t ldd, const int RB, const int KS, int nt) {
    const FC_T *xr[FC_RB + 7];
#pragma GCC unroll 16
    for (int q = 0; q < RB + KS - 1; ++q) xr[q] = rows[q] - pl; /* indexed from column pl on */
    const int NC = KS >= 5 ? FC_SWEEP_NC : 1;                   /* accumulator chains a row */
    int64_t c = a;
#ifdef FC_STREAM
    /* streaming stores: the chunks after the first start at vector-aligned outputs */
    int64_t next = a + FC_VL;
    if (nt) {
        const int64_t off = (int64_t)(((uintptr_t)(dst + a) / sizeof(FC_T)) % FC_VL);
        if (off) next = a + FC_VL - off;
    }
#else
    (void)nt;
    const int64_t next = a + FC_VL;
#endif
    /* chunks whose next VL input columns are inside the row too: two loads per row, the
     * KS shifted vectors taken from the pair by lane shifts (valignd on AVX-512) */
    for (; c + FC_VL <= e && c - pl + 2 * FC_VL <= W; c = c == a ? next : c + FC_VL) {
        FC_V acc[FC_RB][FC_SWEEP_NC];
        fc_sweep_init(acc, bv, RB, NC);
#pragma GCC unroll 16
        for (int q = 0; q < RB + KS - 1; ++q) {
            FC_V lo, hi;
            memcpy(&lo, xr[q] + c, sizeof(FC_V));
            memcpy(&hi, xr[q] + c + FC_VL, sizeof(FC_V));
#pragma GCC unroll 8
            for (int kw = 0; kw < KS; ++kw) {
#ifdef FC_ALIGNR
                const FC_V v = FC_ALIGNR(lo, hi, kw);
#else
                fc_sel sel;
#pragma GCC unroll 16
                for (int l = 0; l < FC_VL; ++l) sel[l] = l + kw;
                const FC_V v = kw == 0 ? lo : FC_SHUFFLE2(lo, hi, sel);
#endif
#pragma GCC unroll 8
                for (int kh = 0; kh < KS; ++kh)
                    if (q - kh >= 0 && q - kh < RB) acc[q - kh][kh % NC] += v * wv[kh * KS + kw];
            }
        }
#ifdef FC_STREAM
        if (nt && ((uintptr_t)(dst + c) & (sizeof(FC_V) - 1)) == 0) {
#pragma GCC unroll 16
            for (int i = 0; i < RB; ++i) {
                fc_sweep_fold(acc[i], NC);
                FC_STREAM(dst + i * ldd + c, acc[i][0]);
            }
            continue;
        }
#endif
#pragma GCC unroll 16
        for (int i = 0; i < RB; ++i) {
            fc_sweep_fold(acc[i], NC);
            memcpy(dst + i * ldd + c, &acc[i][0], sizeof(FC_V));
        }
    }
    if (c >= e) return;
    for (;; c += FC_VL) {
        if (c + FC_VL > e) c = e - FC_VL; /* the last chunk shifted left to end at e */
        FC_V acc[FC_RB][FC_SWEEP_NC];
        fc_sweep_init(acc, bv, RB, NC);
#pragma GCC unroll 16
        for (int q = 0; q < RB + KS - 1; ++q)
#pragma GCC unroll 8
            for (int kw = 0; kw < KS; ++kw) {
                FC_V v;
                memcpy(&v, xr[q] + c + kw, sizeof(FC_V));
#pragma GCC unroll 8
                for (int kh = 0; kh < KS; ++kh)
                    if (q - kh >= 0 && q - kh < RB) acc[q - kh][kh % NC] += v * wv[kh * KS + kw];
            }
#pragma GCC unroll 16
        for (int i = 0; i < RB; ++i) {
            fc_sweep_fold(acc[i], NC);
            memcpy(dst + i * ldd + c, &acc[i][0], sizeof(FC_V));
        }
        if (c + FC_VL >= e) break;
    }
}

/* n output rows of the sweep; rows[r + kh] is output row r's tap row kh. */
#define FC_DEF_DW_SWEEP(NAME, KS)                                                                                      \
    FC_ATTR __attribute__((noinline)) static void NAME(const FC_T *const *rows, int64_t n, const FC_T *w, FC_T b,      \
                                                       int64_t W, int64_t pl, int64_t a, int64_t e, FC_T *dst,         \
                                                       int64_t ldd, int nt) {                                          \
        FC_V wv[KS * KS];                                                                                              \
        _Pragma("GCC unroll 32") for (int t = 0; t < KS * KS; ++t) wv[t] = (FC_V){0} + w[t];                           \
        const FC_V bv = (FC_V){0} + b;                                                                                 \
        int64_t r = 0;                                                                                                 \
        for (; r + FC_RB <= n; r += FC_RB)                                                                             \
            fc_dw_sweep_block(rows + r, wv, bv, W, pl, a, e, dst + r * ldd, ldd, FC_RB, KS, nt);                       \
        for (; r < n; ++r) fc_dw_sweep_block(rows + r, wv, bv, W, pl, a, e, dst + r * ldd, ldd, 1, KS, nt);            \
    }
FC_DEF_DW_SWEEP(fc_dw_sweep_sq3, 3)
FC_DEF_DW_SWEEP(fc_dw_sweep_sq5, 5)
#undef FC_DEF_DW_SWEEP

/* The stride-2 sweep: RB output rows (dst rows ldd apart) of a 3x3 kernel at stride 2 in
 * both directions, swept across output columns [a, e), e - a >= VL, whose taps all fall
 * inside the input rows (output column c, tap kw reads input column 2c - pl + kw of
 * rows[2i + kh] for output row i).  Each tap's VL columns, one in two, are the even lanes
 * of 2VL - 1 columns loaded as two vectors VL - 1 apart and gathered by one two-source
 * shuffle (sel2), as in fc_dw_block; an input row shared by two output rows (kh = 2 of one,
 * kh = 0 of the next) is gathered once for both, and the rows are walked along as a few
 * sequential streams where the strips walked down them a chunk at a time.  The products
 * of an output are summed in the strips' order (kh, then kw), so the bits are theirs. */
FC_INLINE void fc_dw_sweep_s2_block(const FC_T *const *rows, const FC_V *wv, FC_V bv, int64_t pl, int64_t a, int64_t e,
                                    FC_T *dst, int64_t ldd, const int RB, const fc_sel sel2) {
    const FC_T *xr[2 * FC_RB + 1];
#pragma GCC unroll 16
    for (int q = 0; q < 2 * RB + 1; ++q) xr[q] = rows[q] - pl; /* indexed from padded column pl on */
    for (int64_t c = a;; c += FC_VL) {
        if (c + FC_VL > e) c = e - FC_VL; /* the last chunk shifted left to end at e */
        FC_V acc[FC_RB];
#pragma GCC unroll 16
        for (int i = 0; i < RB; ++i) acc[i] = bv;
#pragma GCC unroll 16
        for (int q = 0; q < 2 * RB + 1; ++q)
#pragma GCC unroll 4
            for (int kw = 0; kw < 3; ++kw) {
                FC_V lo, hi;
                memcpy(&lo, xr[q] + 2 * c + kw, sizeof(FC_V));
                memcpy(&hi, xr[q] + 2 * c + kw + FC_VL - 1, sizeof(FC_V));
                const FC_V v = FC_SHUFFLE2(lo, hi, sel2);
#pragma GCC unroll 4
                for (int kh = 0; kh < 3; ++kh)
                    if ((q - kh) % 2 == 0 && q - kh >= 0 && (q - kh) / 2 < RB) acc[(q - kh) / 2] += v * wv[kh * 3 + kw];
            }
#pragma GCC unroll 16
        for (int i = 0; i < RB; ++i) memcpy(dst + i * ldd + c, &acc[i], sizeof(FC_V));
        if (c + FC_VL >= e) break;
    }
}

/* n output rows of the stride-2 sweep; rows[2r + kh] is output row r's tap row kh. */
FC_ATTR __attribute__((noinline)) static void fc_dw_sweep_s2(const FC_T *const *rows, int64_t n, const FC_T *w, FC_T b,
                                                             int64_t pl, int64_t a, int64_t e, FC_T *dst, int64_t ldd) {
    FC_V wv[9];
#pragma GCC unroll 16
    for (int t = 0; t < 9; ++t) wv[t] = (FC_V){0} + w[t];
    const FC_V bv = (FC_V){0} + b;
    fc_sel sel2;
    for (int l = 0; l < FC_VL; ++l) sel2[l] = 2 * l < FC_VL ? 2 * l : 2 * l + 1;
    int64_t r = 0;
    for (; r + FC_RB <= n; r += FC_RB)
        fc_dw_sweep_s2_block(rows + 2 * r, wv, bv, pl, a, e, dst + r * ldd, ldd, FC_RB, sel2);
    for (; r < n; ++r) fc_dw_sweep_s2_block(rows + 2 * r, wv, bv, pl, a, e, dst + r * ldd, ldd, 1, sel2);
}

#endif /* FASTCONV_DEPTHWISE_SWEEP_H */
