/*
 * fastconv/depthwise/grad.h - the weight gradient of a convolution one plane pair at a
 * time: depthwise layers, and groups with few channel pairs.
 *
 * For an output channel o and an input channel of its group, the gradient of tap (p, q) is
 *     sum over images and output pixels (i, j) of g[i, j] * xpad[i sH + p dH, j sW + q dW],
 * the input padded as the forward call pads it.  The input plane's padded rows and
 * columns are first made in a buffer (explicit fill values, so a non-finite output
 * gradient meets the zeros of the padding exactly as autograd multiplies them), split into
 * sH x sW phase planes: padded position (r, c) lies in phase plane (r % sH, c % sW) at
 * row r / sH, column c / sW, rows of pw.  The output gradient is copied into rows of pw
 * too, zeros past column Wo.  Tap (p, q) then multiplies it element by element with the
 * run of its phase plane that starts at (p dH / sH) pw + q dW / sW: when the input plane
 * is finite, as one run of Ho pw products (the extra columns meet zeros); otherwise row by
 * row with the lanes past Wo masked, so no product outside the exact sum is formed.  Up to
 * FC_DWG_Q taps share each load of the gradient; each run of FC_DWG_RUN products is added
 * into the caller's float64 sums lane by lane.  A 3x3 kernel at unit strides with 64-byte
 * vectors pads the rows to whole vectors and forms each row's three column taps from one
 * aligned load by lane shifts (fc_dwg_sum_shift3).  A plane stays in the buffer for the
 * next output channel of the same input channel (fill = 0).
 *
 * No checking is done here: the driver (_depthwise.pyx) passes the padding maps of the
 * layer's padding mode and a buffer of fc_dwg_buffer_elems elements.
 */
#ifndef FASTCONV_DEPTHWISE_GRAD_H
#define FASTCONV_DEPTHWISE_GRAD_H

#include <stdint.h>
#include <string.h>
#include "fastconv/simd.h"
#include "fastconv/depthwise/grad_size.h"

/* Taps summed together: 2 x FC_DWG_Q accumulators, 2 vectors of g and the loaded input
 * vector stay in the registers (16 in AVX2, 32 in AVX-512); a 3x3 kernel's 9 taps go in
 * one group of FC_DWG_Q9 (21 registers), where 8 + 1 streamed the gradient twice and ran
 * a loop of one multiply-add per two loads for the ninth tap. */
#if defined(FC_VARIANT_F64) || defined(FC_VARIANT_D64)
#define FC_DWG_Q 8
#define FC_DWG_Q9 9
#else
#define FC_DWG_Q 4
#define FC_DWG_Q9 4
#endif
/* With several output-gradient planes at once (fc_dwg_sum_mo): up to FC_DWG_MO planes x
 * FC_DWG_QM taps of accumulators, the planes' gradient vectors and an input vector
 * (fc_dwg_max_planes of grad_size.h). */
#if defined(FC_VARIANT_F64) || defined(FC_VARIANT_D64)
#define FC_DWG_MO 6
#else
#define FC_DWG_MO 3
#endif
#define FC_DWG_QM 4
/* Elements of one run of products that a vector lane sums before the run goes into the
 * double sums: a lane's float32 running sum then has at most FC_DWG_RUN / (2 FC_VL) terms. */
#define FC_DWG_RUN 1024

/* FC_VL doubles: a vector of products' lanes widened for the float64 sums. */
typedef double fc_dwg_dv __attribute__((vector_size(sizeof(FC_V) / sizeof(FC_T) * sizeof(double))));

FC_INLINE FC_V fc_dwg_load(const FC_T *p) {
    FC_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

FC_INLINE FC_T fc_dwg_hsum(FC_V v) {
    FC_T lanes[FC_VL];
    memcpy(lanes, &v, sizeof lanes);
    FC_T s = 0;
    for (int64_t k = 0; k < FC_VL; ++k) s += lanes[k];
    return s;
}

/* All bits set in the lanes below n % FC_VL: the columns of a row's last partial vector. */
FC_INLINE fc_sel fc_dwg_tail(int64_t n) {
    FC_T lane[FC_VL];
    for (int64_t u = 0; u < FC_VL; ++u) lane[u] = (FC_T)u;
    return fc_dwg_load(lane) < (FC_T)(n % FC_VL);
}

/* s[lane] += v's lane, widened to double: a run's sums into the caller's, lane by lane
 * (summed over the lanes at the very end) and added as vectors: on a small plane the runs
 * are short, and an add per lane cost as much as the products. */
FC_INLINE void fc_dwg_add(double *s, FC_V v) {
    fc_dwg_dv t;
    memcpy(&t, s, sizeof t);
    t += __builtin_convertvector(v, fc_dwg_dv);
    memcpy(s, &t, sizeof t);
}

/* sums[t FC_VL + lane] += lane's share of the sum over rows i < nr, columns j < n of
 * g[i gs + j] x[i xs + off[t] + j] (the lanes of tap t add up to its sum), for
 * t < nq (a compile-time constant at each call).  Rows of g hold zeros from column n up
 * to the next multiple of FC_VL; the last partial vector of a row reads x up to FC_VL - 1
 * elements further and masks those lanes to zero, so whatever lies there (a NaN of the
 * next column) adds exactly nothing. */
FC_INLINE void fc_dwg_sum(const FC_T *g, int64_t gs, int64_t nr, int64_t n, const FC_T *x, int64_t xs,
                          const int64_t *off, const int nq, double *sums) {
    FC_V a0[FC_DWG_Q9], a1[FC_DWG_Q9];
    for (int q = 0; q < nq; ++q) {
        a0[q] = (FC_V){0};
        a1[q] = (FC_V){0};
    }
    const fc_sel tail = fc_dwg_tail(n);
    int64_t run = 0;
    for (int64_t i = 0; i < nr; ++i) {
        const FC_T *gr = g + i * gs;
        const FC_T *xr = x + i * xs;
        int64_t j = 0;
        for (; j + 2 * FC_VL <= n; j += 2 * FC_VL) {
            const FC_V g0 = fc_dwg_load(gr + j), g1 = fc_dwg_load(gr + j + FC_VL);
            for (int q = 0; q < nq; ++q) {
                a0[q] += g0 * fc_dwg_load(xr + off[q] + j);
                a1[q] += g1 * fc_dwg_load(xr + off[q] + j + FC_VL);
            }
        }
        if (j + FC_VL <= n) {
            const FC_V g0 = fc_dwg_load(gr + j);
            for (int q = 0; q < nq; ++q) a0[q] += g0 * fc_dwg_load(xr + off[q] + j);
            j += FC_VL;
        }
        if (j < n) {
            const FC_V g0 = fc_dwg_load(gr + j);
            for (int q = 0; q < nq; ++q) a1[q] += g0 * (FC_V)((fc_sel)fc_dwg_load(xr + off[q] + j) & tail);
        }
        run += n;
        if (run >= FC_DWG_RUN || i == nr - 1) {
            for (int q = 0; q < nq; ++q) {
                fc_dwg_add(sums + q * FC_VL, a0[q] + a1[q]);
                a0[q] = (FC_V){0};
                a1[q] = (FC_V){0};
            }
            run = 0;
        }
    }
}

/* fc_dwg_sum for MO output-gradient planes at once, plane m at g + m gms adding into
 * sums + m sms (MO and nq compile-time constants): each load of the input serves the MO
 * planes and each load of a gradient the nq taps, where one plane at a time loads an input
 * vector per multiply-add (LeNet's 3 -> 6 channels: twice the loads of the arithmetic). */
FC_INLINE void fc_dwg_sum_mo(const FC_T *g, int64_t gms, int64_t gs, int64_t nr, int64_t n, const FC_T *x, int64_t xs,
                             const int64_t *off, const int MO, const int nq, double *sums, int64_t sms) {
    FC_V a[FC_DWG_MO][FC_DWG_QM];
    for (int m = 0; m < MO; ++m)
        for (int q = 0; q < nq; ++q) a[m][q] = (FC_V){0};
    const fc_sel tail = fc_dwg_tail(n);
    int64_t run = 0;
    for (int64_t i = 0; i < nr; ++i) {
        const FC_T *gr = g + i * gs;
        const FC_T *xr = x + i * xs;
        int64_t j = 0;
        for (; j + FC_VL <= n; j += FC_VL) {
            FC_V gv[FC_DWG_MO];
            for (int m = 0; m < MO; ++m) gv[m] = fc_dwg_load(gr + m * gms + j);
            for (int q = 0; q < nq; ++q) {
                const FC_V xv = fc_dwg_load(xr + off[q] + j);
                for (int m = 0; m < MO; ++m) a[m][q] += gv[m] * xv;
            }
        }
        if (j < n) {
            FC_V gv[FC_DWG_MO];
            for (int m = 0; m < MO; ++m) gv[m] = fc_dwg_load(gr + m * gms + j);
            for (int q = 0; q < nq; ++q) {
                const FC_V xv = (FC_V)((fc_sel)fc_dwg_load(xr + off[q] + j) & tail);
                for (int m = 0; m < MO; ++m) a[m][q] += gv[m] * xv;
            }
        }
        run += n;
        if (run >= FC_DWG_RUN || i == nr - 1) {
            for (int m = 0; m < MO; ++m)
                for (int q = 0; q < nq; ++q) {
                    fc_dwg_add(sums + m * sms + q * FC_VL, a[m][q]);
                    a[m][q] = (FC_V){0};
                }
            run = 0;
        }
    }
}

/* The next call's planes, prefetched along a plane's runs of products (fc_dwg_sum_shift3). */
typedef struct {
    const char *x, *g;    /* the next input and output-gradient planes, or NULL */
    int64_t nx, ng;       /* their bytes */
    int64_t sx, sg;       /* bytes per element of this plane's run, in 1/65536 */
    int64_t donex, doneg; /* bytes prefetched so far */
} fc_dwg_spread;

/* Prefetch, non-temporally, the lines of the n bytes at p below byte `upto`, from *done
 * on (NULL p: nothing). */
FC_INLINE void fc_dwg_prefetch_upto(const char *p, int64_t n, int64_t upto, int64_t *done) {
    if (!p) return;
    for (upto = upto < n ? upto : n; *done < upto; *done += 64) __builtin_prefetch(p + *done, 0, 0);
}

#ifdef FC_ALIGNR
/* fc_dwg_sum for the 9 taps of a 3x3 kernel, tap (p, q) at offset p rs + q, over n elements
 * (a multiple of FC_VL) of g and x, both vector-aligned, rs a multiple of FC_VL: each row
 * of taps loads one aligned input vector per step and makes its two shifted neighbours with
 * lane shifts, where nine loads straddled cache lines.  Two vectors a step, each tap in two
 * accumulators like fc_dwg_sum (a lane's running sum then has the same number of terms).
 * l0: this run's first element in the plane; pf: the next planes to prefetch, or NULL. */
FC_INLINE void fc_dwg_sum_shift3(const FC_T *g, int64_t n, const FC_T *x, int64_t rs, double *sums, int64_t l0,
                                 fc_dwg_spread *pf) {
    FC_V a0[9], a1[9];
    for (int t = 0; t < 9; ++t) {
        a0[t] = (FC_V){0};
        a1[t] = (FC_V){0};
    }
    FC_V lo[3];
    for (int p = 0; p < 3; ++p) lo[p] = fc_dwg_load(x + p * rs);
    int64_t j = 0;
    for (; j + 2 * FC_VL <= n; j += 2 * FC_VL) {
        if (pf) { /* the next planes in step with this run: a few lines per step */
            fc_dwg_prefetch_upto(pf->x, pf->nx, ((l0 + j + 2 * FC_VL) * pf->sx) >> 16, &pf->donex);
            fc_dwg_prefetch_upto(pf->g, pf->ng, ((l0 + j + 2 * FC_VL) * pf->sg) >> 16, &pf->doneg);
        }
        const FC_V g0 = fc_dwg_load(g + j), g1 = fc_dwg_load(g + j + FC_VL);
        for (int p = 0; p < 3; ++p) {
            const FC_V mid = fc_dwg_load(x + p * rs + j + FC_VL), hi = fc_dwg_load(x + p * rs + j + 2 * FC_VL);
            a0[3 * p] += g0 * lo[p];
            a0[3 * p + 1] += g0 * FC_ALIGNR(lo[p], mid, 1);
            a0[3 * p + 2] += g0 * FC_ALIGNR(lo[p], mid, 2);
            a1[3 * p] += g1 * mid;
            a1[3 * p + 1] += g1 * FC_ALIGNR(mid, hi, 1);
            a1[3 * p + 2] += g1 * FC_ALIGNR(mid, hi, 2);
            lo[p] = hi;
        }
    }
    if (j < n) {
        const FC_V g0 = fc_dwg_load(g + j);
        for (int p = 0; p < 3; ++p) {
            const FC_V mid = fc_dwg_load(x + p * rs + j + FC_VL);
            a0[3 * p] += g0 * lo[p];
            a0[3 * p + 1] += g0 * FC_ALIGNR(lo[p], mid, 1);
            a0[3 * p + 2] += g0 * FC_ALIGNR(lo[p], mid, 2);
        }
    }
    for (int t = 0; t < 9; ++t) fc_dwg_add(sums + t * FC_VL, a0[t] + a1[t]);
}
#endif

/* sums[m sms + (p kW + q) FC_VL + lane] += lane's share of the gradient of tap (p, q) from
 * one input plane and output-gradient plane m < mo (mo <= FC_DWG_MO planes g + m Ho Wo; the
 * caller sums over the lanes).  x: the input plane, row stride xsH, column stride 1; rowsrc[r] / colsrc[c]: the
 * source row / column of padded row r < Hp / column c < Wp (-1: the zero fill) of the
 * padded positions the taps read; padded columns [c0, c1) copy columns c - pl (the
 * interior, copied as a run); g: the (Ho, Wo) output gradient, contiguous; buf:
 * fc_dwg_buffer_elems elements, zeroed by the caller before its first plane (the fills
 * below write the same positions every time, the zeros around them stay); nx / ng: nxn /
 * ngn elements of the next call's input and output-gradient planes to prefetch, or NULL;
 * stream: 0, prefetch them into the first-level cache in bursts, a slice per group of taps;
 * 1, non-temporally (the whole input and gradient are more than the caches keep, and each
 * plane is read once), except on the 3x3 lane-shift path, which leaves them to the
 * hardware prefetchers; 2, as 1, but the lane-shift path prefetches them a few lines per
 * step of its loop (the planner's choice by CPU: where the hardware keeps up, these
 * prefetches only take the fill buffers the loop's own loads need).
 * fill = 0: the buffer still holds this input plane from the previous call (the next output
 * channel of the same input channel), whose finiteness that call left in *finite_x. 
 *
 * With the output gradient in rows of pw (zeros from column Wo), tap (p, q) multiplies it
 * element by element with the run of its phase plane starting at (p dH / sH) pw + q dW / sW:
 * one run of Ho pw products per tap when the input plane is finite (the extra columns
 * meet zeros), row by row with the masked columns otherwise. */
FC_ATTR
static void fc_dw_wgrad_plane(const FC_T *x, int64_t xsH, const int64_t *rowsrc, const int64_t *colsrc, int64_t c0,
                              int64_t c1, int64_t pl, const FC_T *g, int64_t Ho, int64_t Wo, int64_t kH, int64_t kW,
                              int64_t sH, int64_t sW, int64_t dH, int64_t dW, FC_T *buf, double *sums, int64_t mo,
                              int64_t sms, int fill, int *finite_x, const FC_T *nx, int64_t nxn, const FC_T *ng,
                              int64_t ngn, int stream) {
    const int64_t Hp = (Ho - 1) * sH + (kH - 1) * dH + 1, Wp = (Wo - 1) * sW + (kW - 1) * dW + 1;
    int64_t Hq, pw;
    fc_dwg_dims(Ho, Wo, kH, kW, sH, sW, dH, dW, (int64_t)sizeof(FC_V), &Hq, &pw);
    const int64_t pstep = Hq * pw; /* one phase plane */
    FC_T *gb = buf + (sH * sW * Hq + 1) * pw + FC_DWG_SLACK;
    for (int64_t r = 0; r < Hp && fill; ++r) {
        const int64_t sr = rowsrc[r];
        for (int64_t f = 0; f < sW; ++f) {
            FC_T *FC_RESTRICT d = buf + ((r % sH) * sW + f) * pstep + (r / sH) * pw;
            if (sr < 0) {
                for (int64_t k = 0; k < pw; ++k) d[k] = 0;
                continue;
            }
            const FC_T *FC_RESTRICT src = x + sr * xsH;
            /* phase columns [klo, khi) lie in the interior run [c0, c1) */
            const int64_t klo = c0 > f ? (c0 - f + sW - 1) / sW : 0;
            const int64_t khi = c1 > f ? (c1 - f + sW - 1) / sW : 0;
            for (int64_t k = 0; k < klo && k < pw; ++k) {
                const int64_t c = k * sW + f;
                d[k] = (c >= Wp || colsrc[c] < 0) ? (FC_T)0 : src[colsrc[c]];
            }
            if (khi > klo) {
                const FC_T *FC_RESTRICT s = src + (klo * sW + f - pl);
                const int64_t n = khi - klo;
                if (sW == 1) /* constant strides the compiler vectorises */
                    for (int64_t u = 0; u < n; ++u) d[klo + u] = s[u];
                else if (sW == 2)
                    for (int64_t u = 0; u < n; ++u) d[klo + u] = s[2 * u];
                else
                    for (int64_t u = 0; u < n; ++u) d[klo + u] = s[u * sW];
            }
            for (int64_t k = khi > klo ? khi : klo; k < pw; ++k) {
                const int64_t c = k * sW + f;
                d[k] = (c >= Wp || colsrc[c] < 0) ? (FC_T)0 : src[colsrc[c]];
            }
        }
    }
    if (fill) {
        /* the phase planes are one run: x - x sums to NaN once a non-finite value was copied */
        FC_V bad = (FC_V){0}, bad1 = (FC_V){0}; /* two chains: the adds' latency, not one chain */
        FC_T badt = 0;
        const int64_t nx_all = sH * sW * pstep;
        int64_t k = 0;
        for (; k + 2 * FC_VL <= nx_all; k += 2 * FC_VL) {
            const FC_V v = fc_dwg_load(buf + k), v1 = fc_dwg_load(buf + k + FC_VL);
            bad += v - v;
            bad1 += v1 - v1;
        }
        bad += bad1;
        for (; k + FC_VL <= nx_all; k += FC_VL) {
            const FC_V v = fc_dwg_load(buf + k);
            bad += v - v;
        }
        for (; k < nx_all; ++k) badt += buf[k] - buf[k];
        *finite_x = fc_dwg_hsum(bad) + badt == 0;
    }
    const int64_t gms = Ho * pw + FC_DWG_SLACK; /* one output-gradient plane in gb */
    for (int64_t m = 0; m < mo; ++m)
        for (int64_t i = 0; i < Ho; ++i) {
            const FC_T *FC_RESTRICT s = g + (m * Ho + i) * Wo;
            FC_T *FC_RESTRICT d = gb + m * gms + i * pw;
            for (int64_t j = 0; j < Wo; ++j) d[j] = s[j];
        }
    const int finite = *finite_x;
    const int64_t L = Ho * pw, Q = mo > 1 ? FC_DWG_QM : kH * kW == FC_DWG_Q9 ? FC_DWG_Q9 : FC_DWG_Q;
    int64_t off[FC_DWG_Q9];
    const int64_t ngroups = (kH * kW + Q - 1) / Q;
    for (int64_t t0 = 0; t0 < kH * kW; t0 += Q) {
        const int nq = (int)(kH * kW - t0 < Q ? kH * kW - t0 : Q);
        /* a slice of the next plane pair per group of taps: the reads of the next call then
         * come from the cache, not from a cold stream per plane */
        const int64_t gi = t0 / Q, isz = (int64_t)sizeof(FC_T);
        const int64_t xa = gi * nxn / ngroups, xb = (gi + 1) * nxn / ngroups;
        const int64_t ga = gi * ngn / ngroups, gz = (gi + 1) * ngn / ngroups;
        /* the lane-shift path of a big layer prefetches along its loop, if at all: a burst
         * of a plane's lines waits on the few misses a core keeps in flight */
        const int shifts = finite && mo == 1 && fc_dwg_lane_shifts(kH, kW, sH, sW, dW, (int64_t)sizeof(FC_V));
        if (stream && !shifts) {
            if (nx) fc_prefetch_stream(nx + xa, (xb - xa) * isz);
            if (ng) fc_prefetch_stream(ng + ga, (gz - ga) * isz);
        } else if (!stream) {
            if (nx) fc_prefetch_bytes(nx + xa, (xb - xa) * isz);
            if (ng) fc_prefetch_bytes(ng + ga, (gz - ga) * isz);
        }
        for (int t = 0; t < nq; ++t) {
            const int64_t eh = (t0 + t) / kW * dH, ew = (t0 + t) % kW * dW;
            off[t] = ((eh % sH) * sW + ew % sW) * pstep + (eh / sH) * pw + ew / sW;
        }
#define FC_DWG_CALL(NQ)                                                                                                \
    do {                                                                                                               \
        if (finite)                                                                                                    \
            for (int64_t l0 = 0; l0 < L; l0 += FC_DWG_RUN)                                                             \
                fc_dwg_sum(gb + l0, 0, 1, L - l0 < FC_DWG_RUN ? L - l0 : FC_DWG_RUN, buf + l0, 0, off, NQ,             \
                           sums + t0 * FC_VL);                                                                         \
        else                                                                                                           \
            fc_dwg_sum(gb, pw, Ho, Wo, buf, pw, off, NQ, sums + t0 * FC_VL);                                           \
    } while (0)
#define FC_DWG_CALL_MO(MO, NQ)                                                                                         \
    do {                                                                                                               \
        if (finite)                                                                                                    \
            for (int64_t l0 = 0; l0 < L; l0 += FC_DWG_RUN)                                                             \
                fc_dwg_sum_mo(gb + l0, gms, 0, 1, L - l0 < FC_DWG_RUN ? L - l0 : FC_DWG_RUN, buf + l0, 0, off, MO, NQ, \
                              sums + t0 * FC_VL, sms);                                                                 \
        else                                                                                                           \
            fc_dwg_sum_mo(gb, gms, pw, Ho, Wo, buf, pw, off, MO, NQ, sums + t0 * FC_VL, sms);                          \
    } while (0)
#define FC_DWG_TAPS_MO(MO)                                                                                             \
    do {                                                                                                               \
        switch (nq) {                                                                                                  \
        case 4: FC_DWG_CALL_MO(MO, 4); break;                                                                          \
        case 3: FC_DWG_CALL_MO(MO, 3); break;                                                                          \
        case 2: FC_DWG_CALL_MO(MO, 2); break;                                                                          \
        default: FC_DWG_CALL_MO(MO, 1); break;                                                                         \
        }                                                                                                              \
    } while (0)
#ifdef FC_ALIGNR
        if (shifts) {
            fc_dwg_spread spread = {0};
            spread.x = (const char *)nx;
            spread.g = (const char *)ng;
            spread.nx = nxn * isz;
            spread.ng = ngn * isz;
            spread.sx = (spread.nx << 16) / L + 1;
            spread.sg = (spread.ng << 16) / L + 1;
            for (int64_t l0 = 0; l0 < L; l0 += FC_DWG_RUN)
                fc_dwg_sum_shift3(gb + l0, L - l0 < FC_DWG_RUN ? L - l0 : FC_DWG_RUN, buf + l0, dH * pw, sums, l0,
                                  stream == 2 ? &spread : NULL);
            continue;
        }
#endif
        switch (mo) { /* constant plane and tap counts: the accumulators stay in registers */
#if FC_DWG_MO == 6
        case 6: FC_DWG_TAPS_MO(6); continue;
        case 5: FC_DWG_TAPS_MO(5); continue;
        case 4: FC_DWG_TAPS_MO(4); continue;
#endif
        case 3: FC_DWG_TAPS_MO(3); continue;
        case 2: FC_DWG_TAPS_MO(2); continue;
        default: break;
        }
        switch (nq) {
#if FC_DWG_Q9 == 9
        case 9: FC_DWG_CALL(9); break;
#endif
#if FC_DWG_Q == 8
        case 8: FC_DWG_CALL(8); break;
        case 7: FC_DWG_CALL(7); break;
        case 6: FC_DWG_CALL(6); break;
        case 5: FC_DWG_CALL(5); break;
#endif
        case 4: FC_DWG_CALL(4); break;
        case 3: FC_DWG_CALL(3); break;
        case 2: FC_DWG_CALL(2); break;
        default: FC_DWG_CALL(1); break;
        }
#undef FC_DWG_CALL
#undef FC_DWG_CALL_MO
#undef FC_DWG_TAPS_MO
    }
}

#endif /* FASTCONV_DEPTHWISE_GRAD_H */
