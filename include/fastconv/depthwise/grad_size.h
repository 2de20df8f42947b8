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

/* Elements of the buffer fc_dw_wgrad_plane needs: sH sW phase planes, a row of pw and
 * FC_DWG_SLACK elements that runs of products read past the last plane, then mo times Ho
 * pw + FC_DWG_SLACK for mo output-gradient planes laid out with rows of pw. */
static inline int64_t fc_dwg_buffer_elems(int64_t Ho, int64_t Wo, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                                          int64_t dH, int64_t dW, int64_t mo) {
    const int64_t Hp = (Ho - 1) * sH + (kH - 1) * dH + 1, Wp = (Wo - 1) * sW + (kW - 1) * dW + 1;
    const int64_t Hq = (Hp + sH - 1) / sH, pw = (Wp + sW - 1) / sW;
    return (sH * sW * Hq + 1) * pw + FC_DWG_SLACK + mo * (Ho * pw + FC_DWG_SLACK);
}

#endif /* FASTCONV_DEPTHWISE_GRAD_SIZE_H */
