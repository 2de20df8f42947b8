/*
 * fastconv/plan.h - the kernel kinds.
 *
 * The planner (src/fastconv/_plan.py) names the kernel of every call with one of these
 * values; the drivers pass it down and the kernels switch on it.  No kernel infers a kind
 * from sizes or NULL pointers.  The values are those of fastconv._plan.Kind (a test checks).
 */
#ifndef FASTCONV_PLAN_H
#define FASTCONV_PLAN_H

enum fc_kind {
    /* direct kernels over packed bands (direct/band.h) */
    FC_KIND_COLUMNS = 1,        /* column tiles: FC_OCBW channels x 2 vectors of columns */
    FC_KIND_COLUMNS_NARROW = 2, /* column tiles of one channel x 4 vectors */
    FC_KIND_ROWS = 3,           /* one channel, FC_RB output rows per tile */
    FC_KIND_LANES = 4,          /* channel-lane tiles: output channels in the vector lanes */
    /* one input channel per output channel, read in place (depthwise/band.h) */
    FC_KIND_DW_STRIP = 5, /* vertical strips of one vector of columns, via a buffer */
    FC_KIND_DW_SWEEP = 6, /* 3x3 / 5x5 swept along wide rows, written in place */
    FC_KIND_DW_FLAT = 7,  /* 3x3 / 5x5 "same" planes read as one long row */
    /* Winograd F(m x m, 3 x 3) (winograd/band.h) */
    FC_KIND_WINOGRAD2 = 8,
    FC_KIND_WINOGRAD4 = 9,
    /* Python-side engines, listed so that every kind has one number */
    FC_KIND_FFT = 10,       /* overlap-save FFT (fastconv/_fft.py) */
    FC_KIND_SEPARABLE = 11, /* a column pass then a row pass of the direct kernels */
    FC_KIND_BIAS_ONLY = 12, /* no input channel: the bias broadcast */
    /* CuPy arrays: the CUDA kernels (fastconv/cuda/kernels.cu) */
    FC_KIND_CUDA_DIRECT = 13, /* fc_conv2d: one thread per output, shared-memory tiles */
    FC_KIND_CUDA_IGEMM = 14,  /* fc_conv2d_igemm: implicit GEMM for channel-heavy layers */
    /* channels-last depthwise (depthwise/nhwc.h) */
    FC_KIND_DW_NHWC = 15, /* channels across the vector lanes, NHWC data read in place */
    /* one input channel per output channel, small or strided planes (depthwise/plane.h) */
    FC_KIND_DW_PLANE = 16, /* VL planes transposed: the channels across the vector lanes */
    /* 1x1 unit-stride layers as a matrix product (direct/pointwise.h) */
    FC_KIND_POINTWISE = 17 /* column tiles over panels of pixels copied from planes run as rows */
};

#endif /* FASTCONV_PLAN_H */
