/*
 * fastconv/kernels_body.h - one variant of every kernel family, and its table of entry
 * points.  Included by src/kernels/<variant>.c after FC_VARIANT_<NAME> (fastconv/variants.h).
 */
#include <stdint.h>
#include <string.h>
#include "fastconv/kernels.h"
#include "fastconv/pad.h"
#include "fastconv/variants.h"

#include "fastconv/transpose.h"
#include "fastconv/pack/band.h"
#include "fastconv/direct/sums.h"
#include "fastconv/direct/tile_columns.h"
#include "fastconv/direct/tile_lanes.h"
#include "fastconv/direct/tile_rows.h"
#include "fastconv/direct/band.h"
#include "fastconv/direct/pointwise.h"
#include "fastconv/direct/wgrad.h"
#include "fastconv/direct/wgrad_pointwise.h"
#include "fastconv/depthwise/strip.h"
#include "fastconv/depthwise/sweep.h"
#include "fastconv/depthwise/flat.h"
#include "fastconv/depthwise/plane.h"
#include "fastconv/depthwise/band.h"
#include "fastconv/depthwise/grad.h"
#include "fastconv/winograd/transform.h"
#include "fastconv/winograd/gemm.h"
#include "fastconv/winograd/band.h"
#include "fastconv/winograd/flat.h"
#include "fastconv/depthwise/nhwc.h"
#if defined(FC_VARIANT_F32) || defined(FC_VARIANT_D32)
#include "fastconv/pool/rows.h"
#include "fastconv/pool/plane.h"
#include "fastconv/pool/nhwc.h"
#define FC_POOL_ENTRIES                                                                                                \
    .max_pool_rows = fc_max_pool_rows, .max_pool_2x2_rows = fc_max_pool_2x2_rows, .avg_pool_rows = fc_avg_pool_rows,   \
    .unpool_plane = fc_unpool_plane, .max_plane = fc_max_plane, .avg_plane = fc_avg_plane,                             \
    .avg_pool_backward_plane = fc_avg_pool_backward_plane, .pool_nhwc_rows = fc_pool_nhwc_rows,
#else
#define FC_POOL_ENTRIES
#endif

/* The variant's table: src/kernels/<variant>.c defines it as fc_table_<variant>. */
#define FC_TABLE_INIT                                                                                                  \
    {.pack_band = fc_pack_band,                                                                                        \
     .pack_weights = fc_pack_weights,                                                                                  \
     .conv_band = fc_conv_band,                                                                                        \
     .pointwise = fc_pointwise,                                                                                        \
     .dw_band = fc_dw_band,                                                                                            \
     .dw_planes = fc_dw_planes,                                                                                        \
     .dw_wgrad_plane = fc_dw_wgrad_plane,                                                                              \
     .wgrad_rows = fc_wgrad_rows,                                                                                      \
     .wgrad_pointwise = fc_wgrad_pointwise,                                                                            \
     .wino_weights = fc_wino_weights,                                                                                  \
     .wino_band = fc_wino_band,                                                                                        \
     .wino_flat = fc_wino_flat,                                                                                        \
     .dw_nhwc_rows = fc_dw_nhwc_rows,                                                                                  \
     .nhwc_to_planes = fc_nhwc_to_planes,                                                                              \
     .planes_to_nhwc = fc_planes_to_nhwc,                                                                              \
     FC_POOL_ENTRIES}
