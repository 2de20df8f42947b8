/*
 * fastconv/direct/pointwise.h - 1x1 unit-stride layers as a matrix product (FC_KIND_POINTWISE):
 * the pixels across the vector lanes, each plane read as one row, a panel of pixels copied
 * at a time.  Part of a variant (fastconv/variants.h); no checking is done here.
 */
#ifndef FASTCONV_DIRECT_POINTWISE_H
#define FASTCONV_DIRECT_POINTWISE_H

/* Copy the panel of pixels [jt, jt + n) (n <= vw) of the C channels of x (xsC apart, pixels
 * xsP apart) into `panel`: C rows of vw, zeros past n.  Channels-last pixels are transposed
 * (fc_nhwc_to_planes); runs of channel planes are copied with the next panel's lines
 * prefetched meanwhile (C streams: too many for the hardware prefetchers). */
FC_INLINE void fc_pointwise_panel(const FC_T *x, int64_t C, int64_t xsC, int64_t xsP, int64_t jt, int64_t n, int64_t vw,
                                  FC_T *panel) {
    const FC_T *xp = x + jt * xsP;
    if (xsP != 1) {
        fc_nhwc_to_planes(xp, n, C, panel, vw);
        for (int64_t c = 0; c < C && n < vw; ++c) memset(panel + c * vw + n, 0, (size_t)(vw - n) * sizeof(FC_T));
    } else if (n == vw) {
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
}

/* Copy the panel of pixels [jt, jt + n) (n <= vw) of a run of samples xsN apart, P pixels
 * each (pixel j: sample j / P, pixel j % P), into `panel` as fc_pointwise_panel: a panel
 * that spans samples is copied a sample's part at a time. */
FC_INLINE void fc_pointwise_gather(const FC_T *x, int64_t C, int64_t xsC, int64_t xsP, int64_t xsN, int64_t P,
                                   int64_t jt, int64_t n, int64_t vw, FC_T *panel) {
    int64_t s = jt / P, p = jt - s * P;
    if (p + n <= P) {
        fc_pointwise_panel(x + s * xsN, C, xsC, xsP, p, n, vw, panel);
        return;
    }
    for (int64_t off = 0; off < n; ++s, p = 0) {
        const int64_t len = n - off < P - p ? n - off : P - p;
        const FC_T *xp = x + s * xsN + p * xsP;
        if (xsP != 1)
            fc_nhwc_to_planes(xp, len, C, panel + off, vw);
        else
            for (int64_t c = 0; c < C; ++c) memcpy(panel + c * vw + off, xp + c * xsC, (size_t)len * sizeof(FC_T));
        off += len;
    }
    for (int64_t c = 0; c < C && n < vw; ++c) memset(panel + c * vw + n, 0, (size_t)(vw - n) * sizeof(FC_T));
}

/* Output pixels [j0, j1) of the `cout` output channels of one group of a run of samples:
 * pixel j is pixel j % P of sample j / P (for one sample, j0 and j1 lie in [0, P]).  x the
 * group's first input plane of the first sample (g->C channels xsC apart, each one row of
 * P pixels xsP apart: 1, or for channels-last input of one group g->C, with xsC = 1;
 * samples xsN apart), wpack its packed weights (blocks of ocb channels), out its first
 * output plane (planes P apart, samples osN apart).  Runs of up to npan panels of
 * FC_NV_WIDE vectors of pixels are copied into `panel` (npan * g->C rows of
 * FC_NV_WIDE * VL, fc_pointwise_gather), whence the column tiles of one output-channel
 * block after the other read them, as a matrix product packs a block of its right-hand
 * side: every input channel's run in the cache, where reading in place took a line from
 * each of C planes a plane apart per input channel, a pattern the hardware prefetchers do
 * not follow; and each block's stores a few streams of consecutive lines, where one panel
 * at a time wrote a line to every output plane in turn.  Counting pixels over the samples
 * (Plan.flat) fills the panels of planes whose pixels are not whole panels: a 7 x 7 plane
 * alone is 3 panels and a one-vector tile.  A tile whose panel spans samples stores into
 * `rows` (ocb rows of FC_NV_WIDE * VL), copied out a sample's part at a time.  j0 is a
 * multiple of the panel width and j1 is the run's end or one. */
FC_ATTR static void fc_pointwise(const FC_T *x, int64_t xsC, int64_t xsP, int64_t xsN, const FC_T *wpack, int64_t ocb,
                                 const FC_T *bias, int64_t cout, const fc_conv_geom *g, int64_t j0, int64_t j1,
                                 FC_T *out, int64_t P, int64_t osN, FC_T *panel, int64_t npan, FC_T *rows) {
    const int64_t C = g->C, vw = FC_NV_WIDE * FC_VL, nob = (cout + ocb - 1) / ocb;
    const int64_t icb = fc_sum_channels(1), zero = 0;
    FC_V tot[FC_SUM_VECS]; /* the tiles' running totals (see fc_sum_flush) */
    /* the tiles' geometry: one tap at offset 0, stores clipped at Wo (set per tile) */
    fc_conv_geom gp = *g;
    gp.kH = 1;
    gp.kW = 1;
    gp.rstep = 0;
    gp.xoff = &zero;
    gp.osH = 0;
    gp.skip_rows = 0;
    for (int64_t jr = j0; jr < j1; jr += npan * vw) {
        const int64_t jr1 = j1 - jr < npan * vw ? j1 : jr + npan * vw;
        for (int64_t jt = jr; jt < jr1; jt += vw)
            fc_pointwise_gather(x, C, xsC, xsP, xsN, P, jt, jr1 - jt < vw ? jr1 - jt : vw, vw,
                                panel + (jt - jr) / vw * C * vw);
        for (int64_t ob = 0; ob < nob; ++ob) {
            const int64_t left = cout - ob * ocb < ocb ? cout - ob * ocb : ocb;
            const FC_T *wb = wpack + ob * C * ocb;
            for (int64_t jt = jr; jt < jr1; jt += vw) {
                const FC_T *pan = panel + (jt - jr) / vw * C * vw;
                const int64_t n = jr1 - jt < vw ? jr1 - jt : vw, s = jt / P, p = jt - s * P;
                if (p + n <= P) { /* within one sample */
                    gp.Wo = p + n;
                    fc_column_tile(pan, vw, &zero, wb, ocb, &gp, bias, ob * ocb, cout, out + s * osN, P, 0, p, left,
                                   n <= FC_VL, icb, tot, 0, 1, 1);
                    continue;
                }
                gp.Wo = n;
                fc_column_tile(pan, vw, &zero, wb, ocb, &gp, bias != NULL ? bias + ob * ocb : NULL, 0, left, rows, vw,
                               0, 0, left, n <= FC_VL, icb, tot, 0, 1, 1);
                for (int64_t off = 0, ss = s, pp = p; off < n; ++ss, pp = 0) {
                    const int64_t len = n - off < P - pp ? n - off : P - pp;
                    FC_T *dst = out + ss * osN + ob * ocb * P + pp;
                    for (int64_t o = 0; o < left; ++o)
                        memcpy(dst + o * P, rows + o * vw + off, (size_t)len * sizeof(FC_T));
                    off += len;
                }
            }
        }
    }
}

#endif /* FASTCONV_DIRECT_POINTWISE_H */
