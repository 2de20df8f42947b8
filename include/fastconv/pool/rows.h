/*
 * fastconv/pool/rows.h - max / average pooling and max-unpooling of one plane.  Dtype-only
 * kernels (multiversioned): part of the 32-byte variants (fastconv/variants.h).  No checking
 * is done here.
 *
 * Each output row is split into border columns (taps clipped by fc_col_ranges) and interior
 * columns [ow_lo, ow_hi) whose windows lie inside the input in width: those run loops with
 * a fixed trip count.  The running-maximum update is written branch-free (select), since
 * on real data the comparison is unpredictable.
 */
#ifndef FASTCONV_POOL_ROWS_H
#define FASTCONV_POOL_ROWS_H

FC_INLINE void fc_max_window(const FC_T *x, const fc_pool_geom *g, int64_t h0, int64_t khlo, int64_t khhi, int64_t w0,
                             int64_t kwlo, int64_t kwhi, FC_T *out, int64_t *idx) {
    const int64_t xsH = g->xsH, xsW = g->xsW, W = g->W, dH = g->dH, dW = g->dW;
    FC_T best = -(FC_T)INFINITY;
    int64_t bi = (h0 + khlo * dH) * W + (w0 + kwlo * dW);
    for (int64_t kh = khlo; kh < khhi; ++kh) {
        const int64_t h = h0 + kh * dH;
        const FC_T *row = x + (h - g->r_org) * xsH;
        for (int64_t kw = kwlo; kw < kwhi; ++kw) {
            const int64_t w = w0 + kw * dW;
            const FC_T v = row[(w - g->c_org) * xsW];
            const int take = (v > best) | (v != v);
            best = take ? v : best;
            bi = take ? h * W + w : bi;
        }
    }
    *out = best;
    if (idx) *idx = bi;
}

/* Interior columns [ow_lo, ow_hi) of one output row, tap-major: for each tap (kh, kw) the
 * whole row segment is updated, so the iterations over output columns are independent and
 * vectorise (the per-window compare/select chain would otherwise be serial).  Row-major tap
 * order is kept, so ties, NaN and -inf resolve exactly as in fc_max_window. */
FC_INLINE void fc_max_row_interior(const FC_T *x, const fc_pool_geom *g, int64_t h0, int64_t khlo, int64_t khhi,
                                   int64_t ow_lo, int64_t ow_hi, FC_T *orow, int64_t *irow) {
    const int64_t W = g->W, xsH = g->xsH, xsW = g->xsW, sW = g->sW, pW = g->pW, dW = g->dW, dH = g->dH;
    const int64_t hfirst = h0 + khlo * dH, q0 = g->q0;
    for (int64_t ow = ow_lo; ow < ow_hi; ++ow) orow[ow] = -(FC_T)INFINITY;
    if (irow)
        for (int64_t ow = ow_lo; ow < ow_hi; ++ow) irow[ow] = hfirst * W + (q0 + ow) * sW - pW;
    for (int64_t kh = khlo; kh < khhi; ++kh) {
        const int64_t h = h0 + kh * dH;
        const FC_T *row = x + (h - g->r_org) * xsH;
        for (int64_t kw = 0; kw < g->kW; ++kw) {
            /* x column read by local output ow at this tap: ow*sW + c */
            const int64_t c = q0 * sW + kw * dW - pW - g->c_org;
            if (irow) {
                const int64_t base = h * W + q0 * sW + kw * dW - pW;
                if (xsW == 1) {
                    for (int64_t ow = ow_lo; ow < ow_hi; ++ow) {
                        const FC_T v = row[ow * sW + c], b = orow[ow];
                        const int take = (v > b) | (v != v);
                        orow[ow] = take ? v : b;
                        irow[ow] = take ? base + ow * sW : irow[ow];
                    }
                } else {
                    for (int64_t ow = ow_lo; ow < ow_hi; ++ow) {
                        const FC_T v = row[(ow * sW + c) * xsW], b = orow[ow];
                        const int take = (v > b) | (v != v);
                        orow[ow] = take ? v : b;
                        irow[ow] = take ? base + ow * sW : irow[ow];
                    }
                }
            } else {
                for (int64_t ow = ow_lo; ow < ow_hi; ++ow) {
                    const FC_T v = row[(ow * sW + c) * xsW], b = orow[ow];
                    orow[ow] = ((v > b) | (v != v)) ? v : b;
                }
            }
        }
    }
}

/* Interior columns for a column stride sW > 1.  The loads row[ow * sW + c] of the
 * plain tap loop are strided and do not vectorise well, so each window row is first split
 * into its sW column phases, ph[p][j] = row[c0 + p + j * sW] (c0: tap 0 of the first
 * interior window); the tap at column offset t = kw * dW then reads the contiguous run
 * ph[t % sW][j + t / sW].  With indices, the number of the winning tap is kept in FC_T
 * lanes beside the maximum (exact, since kH * kW <= 2^24 is checked by the caller), so the
 * compare and both selects run at the full vector width; it becomes h * W + w at the end.
 * The tap loops run over whole blocks of FC_PBLK lanes in scratch rows (no scalar
 * remainder: rows here are short, e.g. 55 columns); the lanes past n are computed from
 * stale scratch and dropped.  Same tap order and update rule as fc_max_row_interior. */
FC_INLINE void fc_max_row_interior_phased(const FC_T *x, const fc_pool_geom *g, int64_t h0, int64_t khlo, int64_t khhi,
                                          int64_t ow_lo, const fc_phased_dims *d, FC_T *orow, int64_t *irow,
                                          void *scratch) {
    const int64_t W = g->W, xsH = g->xsH, xsW = g->xsW, S = g->sW, dW = g->dW, dH = g->dH, kW = g->kW;
    const int64_t n = d->n, np = d->np, L = d->L;
    const int64_t c0 = (g->q0 + ow_lo) * S - g->pW - g->c_org;
    FC_T *ph = (FC_T *)scratch, *ob = ph + S * L, *tid = ob + np;
    int64_t *offs = (int64_t *)(tid + np); /* kH * kW: h * W + kw * dW of each tap */
    int64_t *plen = offs + g->kH * g->kW;  /* S: entries of each phase the taps read */
    int64_t *tsrc = plen + S;              /* kW: where tap kw starts in ph */
    for (int64_t p = 0; p < S; ++p) plen[p] = 0;
    for (int64_t kw = 0; kw < kW; ++kw) {
        const int64_t p = (kw * dW) % S, off = (kw * dW) / S;
        tsrc[kw] = p * L + off;
        if (n + off > plen[p]) plen[p] = n + off;
    }
    for (int64_t i = 0; i < np; ++i) ob[i] = -(FC_T)INFINITY;
    if (irow)
        for (int64_t i = 0; i < np; ++i) tid[i] = 0;
    int64_t tap = 0;
    for (int64_t kh = khlo; kh < khhi; ++kh) {
        const int64_t h = h0 + kh * dH;
        const FC_T *row = x + (h - g->r_org) * xsH + c0 * xsW;
        if (S == 2 && xsW == 1) { /* the common case, with a constant stride */
            for (int64_t j = 0; j < plen[0]; ++j) ph[j] = row[2 * j];
            for (int64_t j = 0; j < plen[1]; ++j) ph[L + j] = row[2 * j + 1];
        } else {
            for (int64_t p = 0; p < S; ++p)
                for (int64_t j = 0; j < plen[p]; ++j) ph[p * L + j] = row[(p + j * S) * xsW];
        }
        for (int64_t kw = 0; kw < kW; ++kw, ++tap) {
            const FC_T *FC_RESTRICT v = ph + tsrc[kw];
            FC_T *FC_RESTRICT oo = ob;
            if (irow) {
                FC_T *FC_RESTRICT tt = tid;
                offs[tap] = h * W + kw * dW;
                const FC_T id = (FC_T)tap;
                for (int64_t i0 = 0; i0 < np; i0 += FC_PBLK)
                    for (int64_t i = i0; i < i0 + FC_PBLK; ++i) {
                        const FC_T b = oo[i];
                        const int take = (v[i] > b) | (v[i] != v[i]);
                        oo[i] = take ? v[i] : b;
                        tt[i] = take ? id : tt[i];
                    }
            } else {
                for (int64_t i0 = 0; i0 < np; i0 += FC_PBLK)
                    for (int64_t i = i0; i < i0 + FC_PBLK; ++i) {
                        const FC_T b = oo[i];
                        oo[i] = ((v[i] > b) | (v[i] != v[i])) ? v[i] : b;
                    }
            }
        }
    }
    memcpy(orow + ow_lo, ob, sizeof(FC_T) * (size_t)n);
    if (irow) {
        const int64_t col0 = (g->q0 + ow_lo) * S - g->pW;
        for (int64_t i = 0; i < n; ++i) irow[ow_lo + i] = offs[(int64_t)tid[i]] + col0 + i * S;
    }
}

/* Max pooling of output rows [oh0, oh1) of one plane; idx may be NULL. */
FC_MULTIVERSION
static void fc_max_pool_rows(const FC_T *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, FC_T *out, int64_t *idx) {
    const int64_t H = g->H, Wo = g->Wo;
    const int64_t kH = g->kH, kW = g->kW, sH = g->sH, pH = g->pH, dH = g->dH;
    const int64_t *w0s = g->w0, *wlo = g->wlo, *whi = g->whi;
    /* interior columns: the full tap range in width (a contiguous run, since the window
     * start grows with ow) */
    int64_t ow_lo = 0, ow_hi = Wo;
    while (ow_lo < Wo && (wlo[ow_lo] != 0 || whi[ow_lo] != kW)) ++ow_lo;
    while (ow_hi > ow_lo && (wlo[ow_hi - 1] != 0 || whi[ow_hi - 1] != kW)) --ow_hi;
    for (int64_t ow = ow_lo; ow < ow_hi; ++ow)
        if (wlo[ow] != 0 || whi[ow] != kW) {
            ow_hi = ow_lo;
            break;
        }
    /* strided columns: the phase-split interior, when its scratch can be had and the
     * interior fills a block of lanes (narrower rows, e.g. 4 outputs of an 8-wide plane,
     * would spend more on the rounded-up blocks and the allocation than they save) */
    void *scratch = NULL;
    const fc_phased_dims pd = fc_phased_layout(g, ow_hi - ow_lo, sizeof(FC_T));
    if (g->sW > 1 && ow_hi - ow_lo >= FC_PBLK && kH * kW <= ((int64_t)1 << 24))
        scratch = calloc(1, pd.bytes); /* zeroed: the dropped lanes read defined values */
    for (int64_t oh = oh0; oh < oh1; ++oh) {
        const int64_t h0 = oh * sH - pH;
        int64_t khlo, khhi;
        fc_tap_range(h0, kH, dH, H, &khlo, &khhi);
        FC_T *orow = out + (oh - g->o_org) * Wo;
        int64_t *irow = idx ? idx + (oh - g->o_org) * Wo : NULL;
        for (int64_t ow = 0; ow < ow_lo; ++ow)
            fc_max_window(x, g, h0, khlo, khhi, w0s[ow], wlo[ow], whi[ow], orow + ow, irow ? irow + ow : NULL);
        if (scratch)
            fc_max_row_interior_phased(x, g, h0, khlo, khhi, ow_lo, &pd, orow, irow, scratch);
        else
            fc_max_row_interior(x, g, h0, khlo, khhi, ow_lo, ow_hi, orow, irow);
        for (int64_t ow = ow_hi > ow_lo ? ow_hi : ow_lo; ow < Wo; ++ow)
            fc_max_window(x, g, h0, khlo, khhi, w0s[ow], wlo[ow], whi[ow], orow + ow, irow ? irow + ow : NULL);
    }
    free(scratch);
}

/* Outputs of a short row of the 2x2 kernel below. */
#define FC_MAX2_BLOCK 16

/* The 2x2 maximum at output u of the row pair (a0, a1), its winning tap (0 .. 3, row-major)
 * into *tap as FC_T, so that the compares and selects vectorise: (v > best || v != v) keeps
 * the later NaN, as the general kernel does. */
FC_INLINE FC_T fc_max2x2_at(const FC_T *a0, const FC_T *a1, int64_t u, FC_T *tap) {
    FC_T best = a0[2 * u], t = 0, v = a0[2 * u + 1];
    t = (v > best || v != v) ? (FC_T)1 : t;
    best = (v > best || v != v) ? v : best;
    v = a1[2 * u];
    t = (v > best || v != v) ? (FC_T)2 : t;
    best = (v > best || v != v) ? v : best;
    v = a1[2 * u + 1];
    t = (v > best || v != v) ? (FC_T)3 : t;
    best = (v > best || v != v) ? v : best;
    *tap = t;
    return best;
}

/* fc_max_pool_2x2_rows for rows of fewer than FC_MAX2_BLOCK outputs: each row one block,
 * read where it lies when the block's 2 FC_MAX2_BLOCK columns of both rows stay inside the
 * plane (the lanes past the row compute from the next rows and are not stored), else through
 * a copy (a function of its own: inside the long rows' one, the branch slowed their
 * vectorised loop).  A copy of every row cost LeNet's small planes more than the maxima. */
FC_MULTIVERSION
static void fc_max_pool_2x2_short(const FC_T *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, FC_T *out,
                                  int64_t *idx) {
    const int64_t W = g->W, n = g->Wo, span = (g->H - 1) * g->xsH + W; /* the plane: x[0, span) */
    for (int64_t oh = oh0; oh < oh1; ++oh) {
        const FC_T *r0 = x + (2 * oh) * g->xsH;
        const FC_T *r1 = r0 + g->xsH;
        FC_T t0[2 * FC_MAX2_BLOCK], t1[2 * FC_MAX2_BLOCK], ob[FC_MAX2_BLOCK], tap[FC_MAX2_BLOCK];
        if ((2 * oh + 1) * g->xsH + 2 * FC_MAX2_BLOCK > span) {
            memset(t0, 0, sizeof t0);
            memset(t1, 0, sizeof t1);
            memcpy(t0, r0, (size_t)(2 * n) * sizeof(FC_T));
            memcpy(t1, r1, (size_t)(2 * n) * sizeof(FC_T));
            r0 = t0;
            r1 = t1;
        }
        /* a constant trip count, so that the selects vectorise: rows of a few outputs went
         * through the scalar remainder of the long rows' loops, whose compares branched on
         * the data (a misprediction every other pixel) */
        for (int u = 0; u < FC_MAX2_BLOCK; ++u) ob[u] = fc_max2x2_at(r0, r1, u, &tap[u]);
        memcpy(out + oh * n, ob, (size_t)n * sizeof(FC_T));
        if (idx)
            for (int64_t u = 0; u < n; ++u) {
                const int64_t at = (int64_t)tap[u];
                idx[oh * n + u] = 2 * oh * W + 2 * u + (at & 1) + (at >> 1) * W;
            }
    }
}

/* Max pooling, 2x2 windows with stride 2, no padding or dilation, on a plane with unit
 * column stride: the most common case (idx may be NULL).  NaN handling and tap order match
 * the general kernel: (v > best || v != v) keeps the later NaN; the index of the winner is
 * h * W + w in the plane, as there.  Rows of fewer than FC_MAX2_BLOCK outputs go through
 * fc_max_pool_2x2_short. */
FC_MULTIVERSION
static void fc_max_pool_2x2_rows(const FC_T *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, FC_T *out,
                                 int64_t *idx) {
    if (g->Wo < FC_MAX2_BLOCK) {
        fc_max_pool_2x2_short(x, g, oh0, oh1, out, idx);
        return;
    }
    const int64_t W = g->W;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
        const FC_T *r0 = x + (2 * oh) * g->xsH;
        const FC_T *r1 = r0 + g->xsH;
        FC_T *orow = out + oh * g->Wo;
        if (idx) {
            /* the winning taps, then their indices h * W + w in a second pass */
            int64_t *irow = idx + oh * g->Wo;
            const int64_t base = 2 * oh * W;
            FC_T tap[256];
            for (int64_t ow0 = 0; ow0 < g->Wo; ow0 += 256) {
                const int64_t n = g->Wo - ow0 < 256 ? g->Wo - ow0 : 256;
                const FC_T *a0 = r0 + 2 * ow0, *a1 = r1 + 2 * ow0;
                FC_T *ob = orow + ow0;
                for (int64_t u = 0; u < n; ++u) ob[u] = fc_max2x2_at(a0, a1, u, &tap[u]);
                for (int64_t u = 0; u < n; ++u) {
                    const int64_t at = (int64_t)tap[u];
                    irow[ow0 + u] = base + 2 * (ow0 + u) + (at & 1) + (at >> 1) * W;
                }
            }
            continue;
        }
        for (int64_t ow = 0; ow < g->Wo; ++ow) {
            FC_T best = r0[2 * ow];
            FC_T v = r0[2 * ow + 1];
            best = (v > best || v != v) ? v : best;
            v = r1[2 * ow];
            best = (v > best || v != v) ? v : best;
            v = r1[2 * ow + 1];
            best = (v > best || v != v) ? v : best;
            orow[ow] = best;
        }
    }
}

/* Average pooling of output rows [oh0, oh1) of one plane (no dilation).  The rows of each
 * window are first summed into `acc` (one row of W, vectorisable), then each output column
 * sums its clipped column range of acc.  divisor_override != 0 replaces the divisor (a negative one too, as in PyTorch);
 * otherwise count_include_pad divides by the window clipped to the padded extent, else by
 * the number of real elements (PyTorch's rules, also for windows cut by ceil_mode).
 * acc holds W elements of scratch. */
FC_MULTIVERSION
static void fc_avg_pool_rows(const FC_T *x, const fc_pool_geom *g, int64_t oh0, int64_t oh1, int count_include_pad,
                             int64_t divisor_override, FC_T *out, FC_T *acc) {
    const int64_t H = g->H, W = g->W, Wr = g->Wr, xsH = g->xsH, xsW = g->xsW, Wo = g->Wo, kH = g->kH, kW = g->kW;
    const int64_t pH = g->pH, pW = g->pW, c_org = g->c_org;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
        const int64_t h0 = oh * g->sH - pH;
        int64_t hend = h0 + kH;
        if (hend > H + pH) hend = H + pH;
        const int64_t hs = h0 < 0 ? 0 : h0, he = hend > H ? H : hend;
        /* acc[w - c_org]: column sums of the window's rows over the columns present */
        for (int64_t w = 0; w < Wr; ++w) acc[w] = 0;
        for (int64_t h = hs; h < he; ++h) {
            const FC_T *row = x + (h - g->r_org) * xsH;
            if (xsW == 1)
                for (int64_t w = 0; w < Wr; ++w) acc[w] += row[w];
            else
                for (int64_t w = 0; w < Wr; ++w) acc[w] += row[w * xsW];
        }
        FC_T *orow = out + (oh - g->o_org) * Wo;
        /* interior columns [ow_lo, ow_hi): the window lies inside the input in width, so its
         * width and divisor are those of the row; sum tap by tap over the whole run
         * (independent iterations, vectorised), then divide */
        int64_t ow_lo = 0, ow_hi = Wo;
        while (ow_lo < Wo && g->w0[ow_lo] < 0) ++ow_lo;
        while (ow_hi > ow_lo && g->w0[ow_hi - 1] + kW > W) --ow_hi;
        if (ow_hi > ow_lo) {
            int64_t div;
            if (divisor_override != 0)
                div = divisor_override;
            else if (count_include_pad)
                div = (hend - h0) * kW;
            else
                div = (he - hs) * kW;
            const FC_T *a0 = acc + g->w0[ow_lo] - c_org;
            const int64_t st = g->sW;
            FC_T *o = orow + ow_lo;
            const int64_t n = ow_hi - ow_lo;
            for (int64_t j = 0; j < n; ++j) o[j] = a0[j * st];
            for (int64_t kw = 1; kw < kW; ++kw)
                for (int64_t j = 0; j < n; ++j) o[j] += a0[j * st + kw];
            const FC_T d = (FC_T)div;
            for (int64_t j = 0; j < n; ++j) o[j] = o[j] / d;
        } else {
            ow_lo = ow_hi = Wo;
        }
        for (int64_t ow = 0; ow < Wo; ++ow) {
            if (ow == ow_lo) {
                ow = ow_hi - 1;
                continue;
            }
            const int64_t w0 = g->w0[ow];
            int64_t wend = w0 + kW;
            if (wend > W + pW) wend = W + pW;
            const int64_t ws = w0 < 0 ? 0 : w0, we = wend > W ? W : wend;
            FC_T sum = 0;
            for (int64_t w = ws; w < we; ++w) sum += acc[w - c_org];
            int64_t div;
            if (divisor_override != 0)
                div = divisor_override;
            else if (count_include_pad)
                div = (hend - h0) * (wend - w0);
            else
                div = (he - hs) * (we - ws);
            orow[ow] = sum / (FC_T)div;
        }
    }
}

/* Scatter for max_unpool2d (accumulate 0: out[idx[i]] = v[i]) and for the max-pool input
 * gradient (accumulate 1: out[idx[i]] += v[i], so that windows sharing a maximum add up, in
 * row-major output order as PyTorch's CPU kernel), for the n entries of one plane (strided
 * input, contiguous out of `size` elements, zero-filled).  Returns -1 when every index was
 * inside [0, size), else the position i of the first index outside it (nothing written
 * from then). */
static int64_t fc_unpool_plane(const FC_T *v, int64_t vs0, int64_t vs1, const int64_t *idx, int64_t is0, int64_t is1,
                               int64_t h, int64_t w, FC_T *out, int64_t size, int accumulate) {
    for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
            const int64_t k = idx[i * is0 + j * is1];
            if (k < 0 || k >= size) return i * w + j;
            if (accumulate)
                out[k] += v[i * vs0 + j * vs1];
            else
                out[k] = v[i * vs0 + j * vs1];
        }
    return -1;
}

/* Input gradient of average pooling for one plane: every output window adds its gradient
 * over its divisor, delta = g / div, to each input element it covers (PyTorch's kernel
 * scatters them in row-major window order).  Here each input element gathers its windows'
 * deltas in that same order - window rows ascending, then window columns ascending,
 * starting from +0 - so the sums are the scatter's bit for bit, while every element is
 * written once and the rows vectorise.  g: Ho x Wo, div: the Ho x Wo divisors (the same for
 * every plane), gx: H x W, written whole (elements no window covers get 0).
 *
 * Scratch: ring holds R = ceil(kH / sH) rows of deltas, L >= max(W + kW - 1, Wo + kW - 1 -
 * pW) elements each, row oh in slot oh % R (tags: which row a slot holds), each padded with
 * zeros so that at unit column stride the window columns of input column w are the kW
 * elements from w on; owr: 2 W elements, the window-column ranges of other strides. */
static void fc_avg_pool_backward_plane(const FC_T *g, int64_t Ho, int64_t Wo, const FC_T *div, FC_T *gx, int64_t H,
                                       int64_t W, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH,
                                       int64_t pW, FC_T *ring, int64_t *tags, int64_t R, int64_t L, int64_t *owr) {
    const int64_t off = kW - 1 - pW; /* window column ow lies at ow + off in a ring row */
    for (int64_t r = 0; r < R; ++r) tags[r] = -1;
    if (sW != 1)
        for (int64_t w = 0; w < W; ++w) {
            const int64_t lo = w + pW - kW + 1, hi = (w + pW) / sW;
            owr[2 * w] = lo <= 0 ? 0 : (lo + sW - 1) / sW;
            owr[2 * w + 1] = hi < Wo - 1 ? hi : Wo - 1;
        }
    for (int64_t h = 0; h < H; ++h) {
        FC_T *FC_RESTRICT acc = gx + h * W;
        for (int64_t w = 0; w < W; ++w) acc[w] = 0;
        const int64_t lo = h + pH - kH + 1, hi = (h + pH) / sH;
        const int64_t oh0 = lo <= 0 ? 0 : (lo + sH - 1) / sH, oh1 = hi < Ho - 1 ? hi : Ho - 1;
        for (int64_t oh = oh0; oh <= oh1; ++oh) {
            FC_T *FC_RESTRICT d = ring + (oh % R) * L;
            if (tags[oh % R] != oh) { /* the window row's deltas, zero-padded */
                const FC_T *gr = g + oh * Wo, *dr = div + oh * Wo;
                for (int64_t j = 0; j < off; ++j) d[j] = 0;
                for (int64_t ow = 0; ow < Wo; ++ow) d[off + ow] = gr[ow] / dr[ow];
                for (int64_t j = off + Wo; j < L; ++j) d[j] = 0;
                tags[oh % R] = oh;
            }
            if (sW == 1) {
                for (int64_t t = 0; t < kW; ++t)
                    for (int64_t w = 0; w < W; ++w) acc[w] += d[w + t];
            } else {
                for (int64_t w = 0; w < W; ++w)
                    for (int64_t ow = owr[2 * w]; ow <= owr[2 * w + 1]; ++ow) acc[w] += d[off + ow];
            }
        }
    }
}

#endif /* FASTCONV_POOL_ROWS_H */
