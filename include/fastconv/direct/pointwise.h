/*
 * fastconv/direct/pointwise.h - 1x1 unit-stride layers as a matrix product (FC_KIND_POINTWISE):
 * the pixels across the vector lanes, each plane read as one row, a panel of pixels copied
 * at a time.  Part of a variant (fastconv/variants.h); no checking is done here.
 */
#ifndef FASTCONV_DIRECT_POINTWISE_H
#define FASTCONV_DIRECT_POINTWISE_H

/* Output pixels [j0, j1) of the `cout` output channels of one group of one sample: x the
 * group's first input plane (g->C channels xsC apart, each one row of pixels xsP apart:
 * 1, or for channels-last input of one group g->C, with xsC = 1), wpack its
 * packed weights (blocks of ocb channels), out its first output plane (planes `plane`
 * apart).  Per panel of FC_NV_WIDE vectors of pixels, every input channel's run of the
 * panel is copied into `panel` (g->C rows of FC_NV_WIDE * VL, zeros past j1), whence the
 * column tiles of every output-channel block read it: one run per channel in the
 * first-level cache, where reading in place took a line from each of C planes a plane
 * apart per input channel, a pattern the hardware prefetchers do not follow.  Channels-last
 * pixels are transposed into the panel (fc_nhwc_to_planes).  j0 is a multiple of the panel
 * width and j1 is the plane's end or one. */
FC_ATTR static void fc_pointwise(const FC_T *x, int64_t xsC, int64_t xsP, const FC_T *wpack, int64_t ocb,
                                 const FC_T *bias, int64_t cout, const fc_conv_geom *g, int64_t j0, int64_t j1,
                                 FC_T *out, int64_t plane, FC_T *panel) {
    const int64_t C = g->C, vw = FC_NV_WIDE * FC_VL, nob = (cout + ocb - 1) / ocb;
    const int64_t icb = fc_sum_channels(1), zero = 0;
    FC_V tot[FC_SUM_VECS]; /* the tiles' running totals (see fc_sum_flush) */
    /* the tiles' geometry: one tap at offset 0, stores clipped at j1 */
    fc_conv_geom gp = *g;
    gp.kH = 1;
    gp.kW = 1;
    gp.rstep = 0;
    gp.xoff = &zero;
    gp.Wo = j1;
    gp.osH = 0;
    gp.skip_rows = 0;
    for (int64_t jt = j0; jt < j1; jt += vw) {
        const int64_t n = j1 - jt < vw ? j1 - jt : vw;
        const FC_T *xp = x + jt * xsP;
        if (xsP != 1) {
            fc_nhwc_to_planes(xp, n, C, panel, vw);
            for (int64_t c = 0; c < C && n < vw; ++c) memset(panel + c * vw + n, 0, (size_t)(vw - n) * sizeof(FC_T));
        } else if (n == vw) {
            /* the next panel's lines on their way meanwhile (C streams: too many for the
             * hardware prefetchers) */
            for (int64_t c = 0; c < C; ++c, xp += xsC) {
                __builtin_prefetch(xp + vw, 0, 3);
                __builtin_prefetch((const char *)(xp + vw) + 64, 0, 3);
                memcpy(panel + c * vw, xp, (size_t)vw * sizeof(FC_T));
            }
        } else {
            for (int64_t c = 0; c < C; ++c, xp += xsC) {
                memcpy(panel + c * vw, xp, (size_t)n * sizeof(FC_T));
                memset(panel + c * vw + n, 0, (size_t)(vw - n) * sizeof(FC_T));
            }
        }
        const int one = n <= FC_VL;
        for (int64_t ob = 0; ob < nob; ++ob) {
            const int64_t left = cout - ob * ocb < ocb ? cout - ob * ocb : ocb;
            fc_column_tile(panel, vw, &zero, wpack + ob * C * ocb, ocb, &gp, bias, ob * ocb, cout, out, plane, 0, jt,
                           left, one, icb, tot, 0, 1);
        }
    }
}

#endif /* FASTCONV_DIRECT_POINTWISE_H */
