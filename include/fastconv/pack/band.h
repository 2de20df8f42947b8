/*
 * fastconv/pack/band.h - packing shared by the direct kernels and Winograd: padded input
 * bands and weight blocks.  Part of a variant (fastconv/variants.h); no checking is done here.
 *
 * A work item is (sample, group, band of output rows).  The thread first *packs* the padded
 * input rows that band reads into a private buffer laid out [C][rows][npha][Wq]: the padding
 * mode is applied there (fc_pad_index, only at the borders), and each row is split into
 * column phases, phase q holding padded columns pstart[q] + j*sw.  With one phase per
 * residue of kw*dw mod sw ("phase" layout) or one per kernel column ("tap" layout, chosen by
 * the planner when strides/dilations are so large that phases would be mostly unused), every
 * kernel tap of every output row becomes a contiguous, unit-stride vector load at offset
 * xoff[kw], whatever the stride, dilation or padding: the hot loop has no branch.
 * Rows are packed from a caller-made list too, so huge row strides/dilations pack only the
 * rows that are read; ridx[r*kH + kh] says where output row r's tap kh lies in the band
 * (fc_band_rows, fastconv/geom.h).
 */
#ifndef FASTCONV_PACK_BAND_H
#define FASTCONV_PACK_BAND_H

/* Where phase p (its first padded column) of a packed row stops being left padding (lim[0]),
 * stops being real columns (lim[1]) and stops being right padding a kept output reads
 * (lim[2]); past lim[2] the row is zeroed. */
static inline void fc_pack_limits(const fc_conv_geom *g, int64_t p, int64_t lim[3]) {
    const int64_t sw = g->sw, Wq = g->Wq;
    const int64_t col_lo = g->pl, col_hi = g->pl + g->W;
    int64_t jlo = col_lo - p <= 0 ? 0 : (col_lo - p + sw - 1) / sw;
    int64_t jhi = col_hi - p <= 0 ? 0 : (col_hi - p + sw - 1) / sw;
    if (jhi > Wq) jhi = Wq;
    if (jlo > jhi) jlo = jhi;
    int64_t jw = g->Wp - p <= 0 ? 0 : (g->Wp - p + sw - 1) / sw;
    if (jw > Wq) jw = Wq;
    if (jw < jhi) jw = jhi;
    lim[0] = jlo;
    lim[1] = jhi;
    lim[2] = jw;
}

/* n elements from s to d (apart): rows of 16 to 64 bytes by two overlapping moves of a
 * fixed size, longer ones by memcpy (a library call per row of LeNet's 10 columns costs
 * more than the copy). */
FC_INLINE void fc_copy_row(FC_T *d, const FC_T *s, int64_t n) {
    const size_t nb = (size_t)n * sizeof(FC_T);
    char a[32], b[32];
    if (nb >= 16 && nb <= 32) {
        memcpy(a, s, 16);
        memcpy(b, (const char *)s + nb - 16, 16);
        memcpy(d, a, 16);
        memcpy((char *)d + nb - 16, b, 16);
    } else if (nb > 32 && nb <= 64) {
        memcpy(a, s, 32);
        memcpy(b, (const char *)s + nb - 32, 32);
        memcpy(d, a, 32);
        memcpy((char *)d + nb - 32, b, 32);
    } else {
        memcpy(d, s, nb);
    }
}

/* Pack the padded rows rowsrc[0 .. nrows) of all g->C channels of one group (x points at the
 * group's first channel of one sample) into dst[C][nrows][npha][Wq]. */
FC_ATTR static void fc_pack_band(const FC_T *x, const fc_conv_geom *g, const int64_t *rowsrc, int64_t nrows, FC_T fill,
                                 FC_T *dst) {
    const int64_t sw = g->sw, Wq = g->Wq, npha = g->npha;
    const int64_t col_lo = g->pl;
    /* The limits of each phase and the source row of each band row are the same for every
     * channel: worked out once here, not per row and channel (three 64-bit divisions per row
     * and phase). */
    int64_t lims[FC_PACK_MAXQ][3];
    int64_t srows[FC_PACK_MAXR];
    for (int64_t q = 0; q < npha && q < FC_PACK_MAXQ; ++q) fc_pack_limits(g, g->pstart[q], lims[q]);
    for (int64_t rr = 0; rr < nrows && rr < FC_PACK_MAXR; ++rr)
        srows[rr] = fc_pad_index(rowsrc[rr] - g->pt, g->H, g->mode);
#define FC_PACK_SRC_ROW(rr) ((rr) < FC_PACK_MAXR ? srows[rr] : fc_pad_index(rowsrc[rr] - g->pt, g->H, g->mode))
    /* Unit column stride, contiguous rows and zero padding (most layers): a row is a fill,
     * one copy and a fill, with none of the general loop's per-phase work, which took as
     * long as the copy on small planes (LeNet's 10-column rows) */
    if (npha == 1 && sw == 1 && g->xsW == 1 && g->mode == FC_PAD_ZEROS && nrows <= FC_PACK_MAXR) {
        const int64_t jlo = lims[0][0], jhi = lims[0][1], jw = lims[0][2];
        const int64_t off = jhi > jlo ? jlo + g->pstart[0] - col_lo : 0; /* first real column */
        for (int64_t c = 0; c < g->C; ++c) {
            if (c + FC_PACK_AHEAD < g->C)
                for (int64_t rr = 0; rr < nrows; ++rr)
                    if (srows[rr] >= 0)
                        fc_prefetch_bytes(x + off + (c + FC_PACK_AHEAD) * g->xsC + srows[rr] * g->xsH,
                                          (jhi - jlo) * (int64_t)sizeof(FC_T));
            for (int64_t rr = 0; rr < nrows; ++rr) {
                FC_T *d = dst + (c * nrows + rr) * Wq;
                const int64_t sr = srows[rr];
                if (sr < 0) {
                    for (int64_t j = 0; j < Wq; ++j) d[j] = fill;
                    continue;
                }
                for (int64_t j = 0; j < jlo; ++j) d[j] = fill;
                fc_copy_row(d + jlo, x + off + c * g->xsC + sr * g->xsH, jhi - jlo);
                for (int64_t j = jhi; j < jw; ++j) d[j] = fill;
                if (Wq > jw) memset(d + jw, 0, (size_t)(Wq - jw) * sizeof(FC_T));
            }
        }
        return;
    }
    /* Stride 2 with the two phases of adjacent columns (3x3 and 5x5 stride-2 layers, the
     * bands of Winograd F(2x2, 3x3)): the columns both phases hold real input, [jc0, jc1),
     * are split from one pass over the row. */
    const int fuse2 = sw == 2 && g->xsW == 1 && npha == 2 && g->pstart[1] == g->pstart[0] + 1;
    int64_t jc0 = 0, jc1 = 0;
    if (fuse2) {
        jc0 = lims[0][0] > lims[1][0] ? lims[0][0] : lims[1][0];
        jc1 = lims[0][1] < lims[1][1] ? lims[0][1] : lims[1][1];
        if (jc1 < jc0) jc1 = jc0;
    }
    /* Channels-last input (channel stride 1): the real columns of the first csq channels go
     * in VL x VL squares below; here only their padding. */
    const int64_t csq = g->xsC == 1 && g->xsW != 1 ? g->C / FC_VL * FC_VL : 0;
    /* zero padding: every padded column outside [jlo, jhi) is the fill, no index map */
    const int zeros = g->mode == FC_PAD_ZEROS;
    for (int64_t c = 0; c < g->C; ++c) {
        /* the rows of the channel FC_PACK_AHEAD on, prefetched: short rows of channels a
         * plane apart escape the hardware prefetcher, and packing then waits on each miss in
         * turn */
        if (c + FC_PACK_AHEAD < g->C && g->xsW == 1)
            for (int64_t rr = 0; rr < nrows; ++rr) {
                const int64_t sr = FC_PACK_SRC_ROW(rr);
                if (sr < 0) continue;
                fc_prefetch_bytes(x + (c + FC_PACK_AHEAD) * g->xsC + sr * g->xsH, g->W * (int64_t)sizeof(FC_T));
            }
        for (int64_t rr = 0; rr < nrows; ++rr) {
            FC_T *d0 = dst + ((c * nrows + rr) * npha) * Wq;
            const int64_t sr = FC_PACK_SRC_ROW(rr);
            if (sr < 0) {
                for (int64_t j = 0; j < npha * Wq; ++j) d0[j] = fill;
                continue;
            }
            const FC_T *srow = x + c * g->xsC + sr * g->xsH;
            if (fuse2 && jc1 > jc0) {
                const FC_T *s = srow + jc0 * 2 + g->pstart[0] - col_lo;
                FC_T *da = d0 + jc0, *db = d0 + Wq + jc0;
                for (int64_t j = 0; j < jc1 - jc0; ++j) {
                    da[j] = s[2 * j];
                    db[j] = s[2 * j + 1];
                }
            }
            for (int64_t q = 0; q < npha; ++q) {
                FC_T *d = d0 + q * Wq;
                const int64_t p = g->pstart[q];
                int64_t lim_q[3];
                const int64_t *lim = lims[q];
                if (q >= FC_PACK_MAXQ) {
                    fc_pack_limits(g, p, lim_q);
                    lim = lim_q;
                }
                /* packed positions whose padded column is a real column: [jlo, jhi) */
                const int64_t jlo = lim[0], jhi = lim[1], jw = lim[2];
                if (zeros) {
                    for (int64_t j = 0; j < jlo; ++j) d[j] = fill;
                } else {
                    for (int64_t j = 0; j < jlo; ++j) {
                        const int64_t s = fc_pad_index(j * sw + p - col_lo, g->W, g->mode);
                        d[j] = s < 0 ? fill : srow[s * g->xsW];
                    }
                }
                const int64_t base = jlo * sw + p - col_lo;
                if (c < csq) {
                    /* in squares below */
                } else if (fuse2) { /* the real columns the fused pass left: those only this phase
                              * reaches (at most one each side), or all when none is shared */
                    const int64_t e0 = jc0 < jhi ? jc0 : jhi, e1 = jc1 > jlo ? jc1 : jlo;
                    for (int64_t j = jlo; j < e0; ++j) d[j] = srow[j * 2 + p - col_lo];
                    for (int64_t j = e1; j < jhi; ++j) d[j] = srow[j * 2 + p - col_lo];
                } else if (sw == 1 && g->xsW == 1) {
                    if (jhi > jlo) memcpy(d + jlo, srow + base, (size_t)(jhi - jlo) * sizeof(FC_T));
                } else if (sw == 2 && g->xsW == 1) { /* constant stride: vectorised gather */
                    const FC_T *s = srow + base;
                    FC_T *dd = d + jlo;
                    for (int64_t j = 0; j < jhi - jlo; ++j) dd[j] = s[2 * j];
                } else if (sw == 4 && g->xsW == 1) { /* (Winograd F(4x4, 3x3) bands) */
                    const FC_T *s = srow + base;
                    FC_T *dd = d + jlo;
                    for (int64_t j = 0; j < jhi - jlo; ++j) dd[j] = s[4 * j];
                } else {
                    const int64_t step = sw * g->xsW;
                    const FC_T *s = srow + base * g->xsW;
                    for (int64_t j = jlo; j < jhi; ++j, s += step) d[j] = *s;
                }
                /* right padding up to the last padded column a kept output reads (Wp); the
                 * row tail past it only feeds dropped lanes: zeroed in one go */
                if (zeros) {
                    for (int64_t j = jhi; j < jw; ++j) d[j] = fill;
                } else {
                    for (int64_t j = jhi; j < jw; ++j) {
                        const int64_t s = fc_pad_index(j * sw + p - col_lo, g->W, g->mode);
                        d[j] = s < 0 ? fill : srow[s * g->xsW];
                    }
                }
                if (Wq > jw) memset(d + jw, 0, (size_t)(Wq - jw) * sizeof(FC_T));
            }
        }
    }
    /* The real columns of channels-last rows, VL channels x VL columns at a time: VL vector
     * loads (a column's channels), a transpose in registers, VL vector stores (a channel's
     * columns).  Channel by channel, each element came from its own cache line, and a band
     * of C5's rows (64 channels x 56 columns x 5 rows, 70 kB) no longer fit L1 between one
     * channel's pass and the next. */
    const int64_t cst = nrows * npha * Wq; /* between channels of the band */
    for (int64_t rr = 0; rr < nrows && csq > 0; ++rr) {
        const int64_t sr = FC_PACK_SRC_ROW(rr);
        if (sr < 0) continue;
        for (int64_t q = 0; q < npha; ++q) {
            int64_t lim[3];
            fc_pack_limits(g, g->pstart[q], lim);
            const int64_t jlo = lim[0], jhi = lim[1], step = sw * g->xsW;
            const FC_T *s0 = x + sr * g->xsH + (jlo * sw + g->pstart[q] - col_lo) * g->xsW; /* column jlo */
            FC_T *d0 = dst + (rr * npha + q) * Wq;
            for (int64_t c0 = 0; c0 < csq; c0 += FC_VL) {
                int64_t j = jlo;
                for (; j + FC_VL <= jhi; j += FC_VL) {
                    FC_V t[FC_VL];
#pragma GCC unroll 16
                    for (int i = 0; i < FC_VL; ++i) memcpy(&t[i], s0 + (j - jlo + i) * step + c0, sizeof(FC_V));
                    fc_zipn(t, FC_VL);
#pragma GCC unroll 16
                    for (int i = 0; i < FC_VL; ++i) memcpy(d0 + (c0 + i) * cst + j, &t[i], sizeof(FC_V));
                }
                for (; j < jhi; ++j)
                    for (int i = 0; i < FC_VL; ++i) d0[(c0 + i) * cst + j] = s0[(j - jlo) * step + c0 + i];
            }
        }
    }
#undef FC_PACK_SRC_ROW
}

/* Taps [j0, j0 + VL) of a block of ocb < 2 VL channels (the first nval with weights, rows
 * ws0 apart in src, taps contiguous) into its rows blk[j][0 .. ocb), as NSQ squares across
 * the block transposed in registers (see fc_pack_weights). */
FC_INLINE void fc_pack_squares(const FC_T *src, int64_t ws0, int64_t nval, int64_t ocb, int64_t taps, int64_t j0,
                               FC_T *blk, const int NSQ) {
    FC_V t[2][FC_VL];
#pragma GCC unroll 2
    for (int h = 0; h < NSQ; ++h) {
#pragma GCC unroll 16
        for (int c = 0; c < FC_VL; ++c) {
            t[h][c] = (FC_V){0};
            if (h * FC_VL + c < nval) memcpy(&t[h][c], src + (h * FC_VL + c) * ws0 + j0, sizeof(FC_V));
        }
        fc_zipn(t[h], FC_VL);
    }
#pragma GCC unroll 16
    for (int k = 0; k < FC_VL; ++k) {
        FC_T *row = blk + (j0 + k) * ocb;
        if ((j0 + k) * ocb + NSQ * FC_VL > taps * ocb) { /* vectors past the block's end */
            const int64_t n0 = ocb < FC_VL ? ocb : FC_VL;
            memcpy(row, &t[0][k], (size_t)n0 * sizeof(FC_T));
            if (NSQ == 2) memcpy(row + FC_VL, &t[1][k], (size_t)(ocb - FC_VL) * sizeof(FC_T));
        } else {
#pragma GCC unroll 2
            for (int h = 0; h < NSQ; ++h) memcpy(row + h * FC_VL, &t[h][k], sizeof(FC_V));
        }
    }
}

/* Pack the weights of one group, w[oc][ic][kh][kw] with element strides ws[4], into
 * dst[ob][ic][kh][kw][ocb] with zeros for the output channels past cout. */
FC_ATTR static void fc_pack_weights(const FC_T *w, const int64_t *ws, int64_t cout, int64_t cin, int64_t kH, int64_t kW,
                                    int64_t ocb, FC_T *dst) {
    const int64_t nob = (cout + ocb - 1) / ocb;
    if (ws[3] == 1 && ws[2] == kW && ws[1] == kH * kW) {
        /* Each output channel's taps are one contiguous run, and the block wants them
         * transposed: blk[j][o] = run_o[j].  A VL x VL square at a time (VL runs, VL taps
         * each) is transposed in registers and stored as VL whole vectors; lane by lane
         * stores a block apart missed L1 on every element (ResNet-18's 512 -> 512 3x3 at
         * batch 1 spent as long packing as convolving).  Blocks narrower than two vectors
         * but not a multiple of VL (the column tiles': 6 channels, or 12 of float64 in
         * 8-lane vectors) take the same squares, one or two of them per VL taps, each tap's
         * row stored as whole vectors in increasing tap order: the lanes past the block's
         * width spill into the next taps' rows, which their own stores then overwrite, and
         * the rows whose vectors would pass the block's end are stored exactly (the next
         * block may be another thread's, or past a per-thread buffer).  The last taps go
         * element by element, a few taps of every channel at a time, so that the block's
         * rows being written stay in L1. */
        const int64_t taps = cin * kH * kW;
        for (int64_t ob = 0; ob < nob; ++ob) {
            FC_T *blk = dst + ob * taps * ocb;
            const int64_t nval = cout - ob * ocb < ocb ? cout - ob * ocb : ocb; /* channels with weights */
            const FC_T *src = w + ob * ocb * ws[0];
            int64_t j0 = 0;
            if (ocb % FC_VL == 0) {
                /* VL channels' runs at a time from their first tap to their last: VL streams */
                const int64_t jend = taps / FC_VL * FC_VL;
                for (int64_t o0 = 0; o0 < ocb; o0 += FC_VL)
                    for (int64_t jj = 0; jj < jend; jj += FC_VL) {
                        FC_V t[FC_VL];
#pragma GCC unroll 16
                        for (int c = 0; c < FC_VL; ++c) {
                            t[c] = (FC_V){0};
                            if (o0 + c < nval) {
                                const FC_T *run = src + (o0 + c) * ws[0] + jj;
                                memcpy(&t[c], run, sizeof(FC_V));
                                /* the run 8 lines on: VL streams a run apart, more than the
                                 * hardware prefetchers follow, each load waited on the
                                 * third-level cache */
                                __builtin_prefetch((const char *)run + 512, 0, 1);
                            }
                        }
                        fc_zipn(t, FC_VL);
#pragma GCC unroll 16
                        for (int k = 0; k < FC_VL; ++k) memcpy(blk + (jj + k) * ocb + o0, &t[k], sizeof(FC_V));
                    }
                j0 = jend;
            } else if (ocb < 2 * FC_VL)
                for (; j0 + FC_VL <= taps; j0 += FC_VL) {
                    if (ocb > FC_VL)
                        fc_pack_squares(src, ws[0], nval, ocb, taps, j0, blk, 2);
                    else
                        fc_pack_squares(src, ws[0], nval, ocb, taps, j0, blk, 1);
                }
            for (; j0 < taps; j0 += FC_PACK_TAPS) {
                const int64_t j1 = taps - j0 < FC_PACK_TAPS ? taps : j0 + FC_PACK_TAPS;
                for (int64_t o = 0; o < ocb; ++o) {
                    const FC_T *run = src + o * ws[0];
                    for (int64_t j = j0; j < j1; ++j) blk[j * ocb + o] = o < nval ? run[j] : (FC_T)0;
                }
            }
        }
        return;
    }
    for (int64_t ob = 0; ob < nob; ++ob)
        for (int64_t ic = 0; ic < cin; ++ic)
            for (int64_t kh = 0; kh < kH; ++kh)
                for (int64_t kw = 0; kw < kW; ++kw)
                    for (int64_t o = 0; o < ocb; ++o) {
                        const int64_t oc = ob * ocb + o;
                        *dst++ = oc < cout ? w[oc * ws[0] + ic * ws[1] + kh * ws[2] + kw * ws[3]] : (FC_T)0;
                    }
}

#endif /* FASTCONV_PACK_BAND_H */
