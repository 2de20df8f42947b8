/*
 * fastconv/depthwise/grad_size.h - the work buffer of the depthwise weight gradient
 * (depthwise/grad.h), for its driver: no dtype, so Cython includes it directly.
 */
#ifndef FASTCONV_DEPTHWISE_GRAD_SIZE_H
#define FASTCONV_DEPTHWISE_GRAD_SIZE_H

#include <stdint.h>
#include "fastconv/tuning.h" /* FC_DWG_SLACK */

/* Output-gradient planes fc_dw_wgrad_plane takes at once, at most: with 64-byte vectors (vl
 * floats or doubles, vb = 64) 6 planes x 4 taps = 24 accumulators of the 32 registers;
 * with 32-byte ones 3 x 4 = 12 of 16. */
static inline int64_t fc_dwg_max_planes(int64_t vb) { return vb == 64 ? 6 : 3; }

/* Whether fc_dw_wgrad_plane forms a 3x3 kernel's column taps by lane shifts (64-byte
 * vectors, vb bytes; unit strides and unit column dilation): its rows are then padded to
 * whole vectors, so that every load is aligned. */
static inline int fc_dwg_lane_shifts(int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dW, int64_t vb) {
    return vb == 64 && kH == 3 && kW == 3 && sH == 1 && sW == 1 && dW == 1;
}

/* The planes of fc_dw_wgrad_plane's buffer: padded position (r, c) of the input plane is
 * element (r / sH) pw + c / sW of phase plane (r % sH, c % sW), each phase plane Hq x pw;
 * pw a multiple of 16 elements (one 64-byte vector of float32, two of float64) with lane
 * shifts. */
static inline void fc_dwg_dims(int64_t Ho, int64_t Wo, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t dH,
                               int64_t dW, int64_t vb, int64_t *Hq, int64_t *pw) {
    const int64_t Hp = (Ho - 1) * sH + (kH - 1) * dH + 1, Wp = (Wo - 1) * sW + (kW - 1) * dW + 1;
    *Hq = (Hp + sH - 1) / sH;
    *pw = (Wp + sW - 1) / sW;
    if (fc_dwg_lane_shifts(kH, kW, sH, sW, dW, vb)) *pw = (*pw + 15) / 16 * 16;
}

/* Elements of the buffer fc_dw_wgrad_plane needs with vb-byte vectors: sH sW phase planes,
 * a row of pw and FC_DWG_SLACK elements that runs of products read past the last plane,
 * then mo times Ho pw + FC_DWG_SLACK for mo output-gradient planes laid out with rows of pw. */
static inline int64_t fc_dwg_buffer_elems(int64_t Ho, int64_t Wo, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                                          int64_t dH, int64_t dW, int64_t mo, int64_t vb) {
    int64_t Hq, pw;
    fc_dwg_dims(Ho, Wo, kH, kW, sH, sW, dH, dW, vb, &Hq, &pw);
    return (sH * sW * Hq + 1) * pw + FC_DWG_SLACK + mo * (Ho * pw + FC_DWG_SLACK);
}

#endif /* FASTCONV_DEPTHWISE_GRAD_SIZE_H */
