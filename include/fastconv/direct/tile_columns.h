/*
 * fastconv/direct/tile_columns.h - column tiles of the direct kernels (FC_KIND_COLUMNS and
 * FC_KIND_COLUMNS_NARROW).  Part of a variant (fastconv/variants.h); no checking is done here.
 *
 * The microkernel keeps an OCB x (NV vectors) tile of outputs in registers - OCB output
 * channels times NV*VL adjacent output columns - and streams FMAs over (input channel,
 * kernel row, kernel column): per tap NV loads of input, OCB weight broadcasts and OCB*NV
 * FMAs.  Weights are pre-packed so the OCB weights of one tap are adjacent.
 */
#ifndef FASTCONV_DIRECT_TILE_COLUMNS_H
#define FASTCONV_DIRECT_TILE_COLUMNS_H

/* One OCB x NV*VL output tile: output row oh (band row whose taps are ridx[0..kH)), columns
 * [j0, j0 + NV*VL), channels [oc0, oc0 + OCB), over kernel rows [kh0, kh1) (all of them but
 * those on zero padding, see fc_tile_kh).  xcol = band start + j0.  The weights of one tap
 * are wst apart (the packing block, >= OCB: a smaller OCB serves a last, partial block). */
FC_INLINE void fc_tile(const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst,
                       const fc_conv_geom *g, const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out, int64_t plane,
                       int64_t oh, int64_t j0, int64_t ic0, int64_t ic1, int64_t icb, FC_V *tot, int64_t kh0,
                       int64_t kh1, const int OCB, const int NV, const int PW) {
    FC_V acc[FC_MAX_OCB][FC_MAX_NV];
#pragma GCC unroll 16
    for (int o = 0; o < OCB; ++o) {
        const FC_T b = (ic0 == 0 && bias != NULL && oc0 + o < cout) ? bias[oc0 + o] : (FC_T)0;
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[o][v] = (FC_V){0} + b;
    }
    /* PW: a 1x1 kernel at offset 0 (POINTWISE's panels), the tap loops gone at compile time */
    const int64_t kH = PW ? 1 : g->kH, kW = PW ? 1 : g->kW, rowstep = PW ? 0 : g->rstep;
    if (PW) kh0 = 0, kh1 = 1;
    for (int64_t ic = ic0; ic < ic1; ++ic) {
        const FC_T *w = wblk + (ic * kH + kh0) * kW * wst;
        for (int64_t kh = kh0; kh < kh1; ++kh) {
            const FC_T *xr = xcol + ic * cstep + (PW ? 0 : ridx[kh] * rowstep);
            for (int64_t kw = 0; kw < kW; ++kw, w += wst) {
                const FC_T *xp = xr + (PW ? 0 : g->xoff[kw]);
                FC_V xv[FC_MAX_NV];
#pragma GCC unroll 16
                for (int v = 0; v < NV; ++v) memcpy(&xv[v], xp + v * FC_VL, sizeof(FC_V));
#pragma GCC unroll 16
                for (int o = 0; o < OCB; ++o) {
                    const FC_T wo = w[o];
#pragma GCC unroll 16
                    for (int v = 0; v < NV; ++v) acc[o][v] += xv[v] * wo;
                }
            }
        }
    }
    if (fc_sum_flush(tot, &acc[0][0], OCB, NV, FC_MAX_NV, ic0, ic1, icb, g->C)) return;
    const int64_t n = g->Wo - j0 < NV * FC_VL ? g->Wo - j0 : NV * FC_VL;
    FC_T *dst = out + oc0 * plane + oh * g->osH + j0;
    if (n == NV * FC_VL) {
#pragma GCC unroll 16
        for (int o = 0; o < OCB; ++o) {
            if (oc0 + o >= cout) break;
            memcpy(dst + o * plane, &acc[o][0], (size_t)NV * sizeof(FC_V));
        }
        return;
    }
    /* A clipped tile: every row to memory before the first copy of variable length, a
     * library call that no accumulator may live across (else the compiler may keep one in
     * memory through the whole channel loop: a store and a reload per input channel). */
    FC_V rows[FC_MAX_OCB][FC_MAX_NV];
#pragma GCC unroll 16
    for (int o = 0; o < OCB; ++o)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) rows[o][v] = acc[o][v];
    for (int o = 0; o < OCB && oc0 + o < cout; ++o) memcpy(dst + o * plane, &rows[o][0], (size_t)n * sizeof(FC_T));
}

/* The tile shapes used, each its own function: inlined together into one caller, the
 * variants left the register allocator spilling accumulators of the smaller ones. */
#define FC_DEF_TILE_PW(NAME, OCB_, NV_, PW_)                                                                           \
    FC_ATTR __attribute__((noinline)) static void NAME(                                                                \
        const FC_T *xcol, int64_t cstep, const int64_t *ridx, const FC_T *wblk, int64_t wst, const fc_conv_geom *g,    \
        const FC_T *bias, int64_t oc0, int64_t cout, FC_T *out, int64_t plane, int64_t oh, int64_t j0, int64_t ic0,    \
        int64_t ic1, int64_t icb, FC_V *tot, int64_t kh0, int64_t kh1) {                                               \
        fc_tile(xcol, cstep, ridx, wblk, wst, g, bias, oc0, cout, out, plane, oh, j0, ic0, ic1, icb, tot, kh0, kh1,    \
                OCB_, NV_, PW_);                                                                                       \
    }
/* ... and POINTWISE's (_pw): one tap, so one loop over the input channels */
#define FC_DEF_TILE(NAME, OCB_, NV_)                                                                                   \
    FC_DEF_TILE_PW(NAME, OCB_, NV_, 0)                                                                                 \
    FC_DEF_TILE_PW(NAME##_pw, OCB_, NV_, 1)
FC_DEF_TILE(fc_tile_full, FC_OCBW, FC_NV_WIDE)
FC_DEF_TILE(fc_tile_full1, FC_OCBW, 1)
FC_DEF_TILE(fc_tile_mid, FC_OCB_M, FC_NV_WIDE)
FC_DEF_TILE(fc_tile_mid1, FC_OCB_M, 1)
FC_DEF_TILE(fc_tile_small, FC_OCB_S, FC_NV_WIDE)
FC_DEF_TILE(fc_tile_small1, FC_OCB_S, 1)
#ifdef FC_OCB_SIX
FC_DEF_TILE(fc_tile_six, FC_OCB_SIX, FC_NV_WIDE)
FC_DEF_TILE(fc_tile_six1, FC_OCB_SIX, 1)
#endif
FC_DEF_TILE_PW(fc_tile_narrow, FC_OCB_NARROW, FC_NV_NARROW, 0)
#undef FC_DEF_TILE
#undef FC_DEF_TILE_PW

#endif /* FASTCONV_DIRECT_TILE_COLUMNS_H */
