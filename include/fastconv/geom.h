/*
 * fastconv/geom.h - the geometry of one convolution, shared by the packer, the direct and
 * depthwise kernels and Winograd.
 *
 * Glossary: C input channels of a group; H x W the unpadded input plane; Ho x Wo the output
 * plane; kH x kW the kernel; sh, sw the convolution stride and dh, dw its dilation; xsC, xsH,
 * xsW the input's element strides (channel, row, column); pt, pl the padding before the first
 * row and column; Wp the padded columns read; a packed row holds npha column phases of Wq
 * elements, phase q holding padded columns pstart[q] + j*sw; xoff[kw] is kernel column kw's
 * offset inside a packed row; rstep the elements between band rows.
 */
#ifndef FASTCONV_GEOM_H
#define FASTCONV_GEOM_H

#include <stdint.h>

typedef struct {
    int64_t C;              /* input channels read by one output channel (C_in / groups) */
    int64_t H, W;           /* unpadded input plane */
    int64_t xsC, xsH, xsW;  /* input strides, in elements (may be negative) */
    int64_t kH, kW;         /* kernel */
    int64_t sh, sw, dh, dw; /* convolution stride and dilation */
    int64_t Ho, Wo;         /* output plane */
    int64_t pt, pl;         /* padding before the first row / column */
    int64_t Wp;             /* padded columns read */
    int mode;               /* FC_PAD_* */
    int64_t npha;           /* column phases packed per row */
    const int64_t *pstart;  /* padded column where phase q starts (then every sw-th column) */
    int64_t Wq;             /* length of one packed phase (>= what the kernels read) */
    const int64_t *xoff;    /* per kernel column: offset of its tap inside a packed row */
    int64_t rstep;          /* elements between band rows: npha * Wq, or xsH when the
                                * kernels read the input in place */
    int64_t osH, osW;       /* output row and column strides, in elements: Wo and 1; osH
                                * more than Wo where Wo is one column chunk of a wider plane;
                                * any (channel-lane tiles only: a channels-last result, or
                                * every stride-th column of a strided layer's input gradient) */
    int64_t skip_rows;      /* nonzero: the column tiles leave out the kernel rows that land on
                             * zero padding (the driver sets it for finite weights and a zero
                             * fill, whose products there are zeros) */
    int64_t flat_oh0;       /* flat rows: the output row the band's flat row starts at; -1
                             * when the band's rows are not flat */
    int64_t stream;         /* nonzero: the channel-lane tiles store a channels-last result's
                             * whole vectors with streaming stores where aligned (a result
                             * beyond the caches: its lines are not read only to be
                             * overwritten); the band ends with a store fence */
} fc_conv_geom;

/* Build the row list of a band: the padded rows read by output rows [oh0, oh0 + R).
 * "contiguous" (every row of the span, when taps overlap or sit close) or one row per
 * (output row, kernel row).  Returns the number of band rows; fills ridx[R*kH]. */
static inline int64_t fc_band_rows(const fc_conv_geom *g, int64_t oh0, int64_t R, int contiguous, int64_t *rowsrc,
                                   int64_t *ridx) {
    const int64_t r0 = oh0 * g->sh;
    if (contiguous) {
        const int64_t span = (R - 1) * g->sh + (g->kH - 1) * g->dh + 1;
        for (int64_t i = 0; i < span; ++i) rowsrc[i] = r0 + i;
        for (int64_t r = 0; r < R; ++r)
            for (int64_t kh = 0; kh < g->kH; ++kh) ridx[r * g->kH + kh] = r * g->sh + kh * g->dh;
        return span;
    }
    for (int64_t r = 0; r < R; ++r)
        for (int64_t kh = 0; kh < g->kH; ++kh) {
            rowsrc[r * g->kH + kh] = r0 + r * g->sh + kh * g->dh;
            ridx[r * g->kH + kh] = r * g->kH + kh;
        }
    return R * g->kH;
}

#endif /* FASTCONV_GEOM_H */
