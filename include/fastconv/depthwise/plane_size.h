/*
 * fastconv/depthwise/plane_size.h - the bands and work buffer of the kernel of VL depthwise
 * planes (depthwise/plane.h), for it and its driver: no dtype, so Cython includes it directly.
 */
#ifndef FASTCONV_DEPTHWISE_PLANE_SIZE_H
#define FASTCONV_DEPTHWISE_PLANE_SIZE_H

#include <stdint.h>
#include "fastconv/tuning.h" /* FC_DW_PLANE_BAND_BYTES */

/* Output rows per band of fc_dw_planes with vb-byte vectors: all Ho where the padded plane
 * (Hp rows of Wp pixels, a vector each) is at most FC_DW_PLANE_BAND_BYTES, else those
 * whose padded rows fit it (reach = (kH - 1) dH + 1 rows for one output row), at least one. */
static inline int64_t fc_dw_plane_band_rows(int64_t Ho, int64_t Wp, int64_t kH, int64_t sH, int64_t dH, int64_t vb) {
    const int64_t reach = (kH - 1) * dH + 1, rowb = Wp * vb, Hp = (Ho - 1) * sH + reach;
    if (Hp * rowb <= FC_DW_PLANE_BAND_BYTES) return Ho;
    const int64_t fit = FC_DW_PLANE_BAND_BYTES / rowb;
    const int64_t R = fit > reach ? (fit - reach) / sH + 1 : 1;
    return R < Ho ? R : Ho;
}

/* Elements (of vl lanes per vector) of fc_dw_planes's buffer for a plane of W columns and
 * Ho x Wo outputs: an input row of W pixels and the fill, the band's padded rows, and its
 * outputs. */
static inline int64_t fc_dw_plane_buffer_elems(int64_t W, int64_t Ho, int64_t Wo, int64_t kH, int64_t kW, int64_t sH,
                                               int64_t sW, int64_t dH, int64_t dW, int64_t vl, int64_t vb) {
    const int64_t Wp = (Wo - 1) * sW + (kW - 1) * dW + 1, R = fc_dw_plane_band_rows(Ho, Wp, kH, sH, dH, vb);
    const int64_t PR = (R - 1) * sH + (kH - 1) * dH + 1;
    return ((W + 1) + PR * Wp + R * Wo) * vl;
}

#endif /* FASTCONV_DEPTHWISE_PLANE_SIZE_H */
