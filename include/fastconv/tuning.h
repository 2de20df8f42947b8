/*
 * fastconv/tuning.h - every tile size and threshold the C kernels use, one line of reason
 * each: the rule, and the benchmark case (benchmarks/results/README.md) that justifies it.
 * The thresholds that choose a kernel live in the planner's table, src/fastconv/_tuning.py;
 * the tile sizes here reach it through fastconv._direct.tile_sizes().  Measurements and
 * their history: benchmarks/results/README.md and the commit log.
 */
#ifndef FASTCONV_TUNING_H
#define FASTCONV_TUNING_H

/* ---- sums (accuracy) ---- */
/* Products per register-held partial sum of the direct tiles: the float32 error of a sum of
 * n products in blocks of b is least near b = sqrt(n); 80 suits real layers (C3, C5). */
#define FC_SUM_BLOCK 80
/* ... and FC_SUM_BLOCK_WIDE for kernels of at least FC_SUM_WIDE_TAPS taps: 5x5 layers stay
 * well below PyTorch's float32 error with the wider blocks and flush half as often (C3);
 * 3x3 layers keep FC_SUM_BLOCK, where the wider blocks reached PyTorch's error
 * (benchmarks/results). */
#define FC_SUM_WIDE_TAPS 25
#define FC_SUM_BLOCK_WIDE 160
/* Blocks per group, the third level: sums of 10^4 products add a few dozen groups (C3). */
#define FC_SUM_GROUP 16
/* Input channels per register-held sum of the Winograd products.  Each block's end adds
 * the tile's registers into its group's sum on the stack (a load, an add and a store per
 * vector), so short blocks cost: C5 5-10% longer with blocks of 16 than of 32.  RMS float32
 * error against PyTorch's on 3x3 layers of 32-512 channels, ReLU-like inputs (non-negative,
 * half zeros): 1.08-1.15x with blocks of 32 (0.92-0.99x on normal inputs), 0.94-0.98x with
 * 16 in groups of 4; one chain 1.2-2.2x. */
#define FC_WINO_SUM_BLOCK 16
/* Blocks per group, the second level of the Winograd sums (winograd/gemm.h): groups of 8
 * left 128 channels at 1.00-1.01x PyTorch's error on ReLU-like inputs. */
#define FC_WINO_SUM_GROUP 4

/* ---- packing (pack/band.h) ---- */
/* Channels ahead whose rows the packer prefetches: short rows a plane apart escape the
 * hardware prefetcher (C6). */
#define FC_PACK_AHEAD 4
/* Phases and band rows whose limits and source rows the packer works out once per call. */
#define FC_PACK_MAXQ 16
#define FC_PACK_MAXR 64
/* Taps of every channel per step of the element-by-element weight packer: 64 taps of a
 * 12-channel block are 3 kB of destination, which stays in L1 while the step writes it. */
#define FC_PACK_TAPS 64
/* Packed weights: a thread per this many elements at most (a parallel region's start costs
 * about as much as packing them; ResNet-18's 512 -> 512 3x3 has 2.4 million). */
#define FC_PACK_THREAD_ELEMS 65536

/* ---- direct tiles (direct/) ---- */
/* Column tile: output channels x vectors of columns.  6 x 2 fills 12 of the 16 AVX2
 * registers, 12 x 2 24 of the 32 AVX-512 ones (C3, C5). */
#define FC_OCB_WIDE_32 6
#define FC_OCB_WIDE_V4 12
#define FC_NV_WIDE 2
/* Smaller tiles for a last, partial block of channels (C2: 16 = 12 + 4). */
#define FC_OCB_MID_32 3
#define FC_OCB_SMALL_32 2
#define FC_OCB_MID_V4 8
#define FC_OCB_SMALL_V4 4
/* ... and of 6, for 5-6 channels left: LeNet's 6 output channels (C1, and C2's input
 * gradient) filled 6 of the 8 rows of the mid tile. */
#define FC_OCB_SIX_V4 6
/* Narrow column tile: one channel x 4 vectors (one-channel layers, C8). */
#define FC_OCB_NARROW 1
#define FC_NV_NARROW 4
/* Channel-lane tile: most output columns per tile (6 x 2 vectors in 16 registers, 14 x 2
 * in 32; C4, LeNet C2). */
#define FC_NCOL_32 6
#define FC_NCOL_V4 14
/* Most taps whose offsets a channel-lane tile tabulates (one flat loop over them): 7x7. */
#define FC_CTILE_TAPS 49
/* Row tile: output rows per tile of the one-channel row-blocked kernel and of the depthwise
 * strips (C8, C7). */
#define FC_RB 4
/* ... and the row tile's vectors of columns: 4 rows x 4 vectors are 16 of the 32 AVX-512
 * registers, so that each tap's loads (a vector per column block and a weight per row)
 * keep up with its multiply-adds; 4 x 2 in AVX2's 16 (3-D volumes, whose depth taps are
 * input channels, V1). */
#define FC_NV_ROWS_32 2
#define FC_NV_ROWS_V4 4

/* Weight-gradient tile (direct/wgrad.h): output channels x vectors of input channels in
 * registers, 6 x 4 = 24 accumulators of the 32 AVX-512 registers with 4 input vectors and a
 * broadcast; 6 x 2 = 12 of AVX2's 16 (C5, C6, C10). */
#define FC_WG_MR_V4 6
#define FC_WG_NV_V4 4
#define FC_WG_MR_32 6
#define FC_WG_NV_32 2
/* ... and the taller tile of AVX-512, 8 x 3, for a broadcast side that 6 would pad more: 32
 * channels pad to 36 in tiles of 6, an eighth of the arithmetic wasted (C10). */
#define FC_WG_MR8_NV_V4 3

/* Pointwise weight-gradient tile (direct/wgrad_pointwise.h): output x input channels of
 * vector sums across pixels, 4 x 4 = 16 of the 32 AVX-512 registers with 4 input vectors
 * (6 x 4 ran slower: its row pointers and vectors spilled); 3 x 3 = 9 of AVX2's 16. */
#define FC_WGP_MO_V4 4
#define FC_WGP_NC_V4 4
#define FC_WGP_MO_32 3
#define FC_WGP_NC_32 3
/* ... its runs' output gradients packed for the tiles up to this many bytes per row (longer
 * runs read the rows in place; the driver's runs, WEIGHT_GRAD_POINTWISE_RUN_BYTES, fit). */
#define FC_WGP_PACK_BYTES 4096

/* ---- depthwise (depthwise/) ---- */
/* Accumulator chains per output row of the 5x5 sweep: one chain was bound by FMA latency
 * (C9: 4.2 -> 3.3 ns per output vector); 3x3 keeps one (memory-bound). */
#define FC_SWEEP_NC 3
/* Flat kernel: h * W * sizeof(T) at most (h = k / 2), which bounds its border copy; beyond
 * it the row sweep, which shares loads between rows, wins (C7). */
#define FC_FLAT_MAX_BYTES 1024
/* Most taps of the kernel of VL depthwise planes (depthwise/plane.h), whose offsets and
 * weight vectors it holds in arrays; the planner's DW_PLANE_MAX_TAPS is at most this. */
#define FC_DW_PLANE_TAPS 49
/* ... which goes a band of output rows at a time where its padded plane is bigger than this
 * many bytes: the band's padded rows stay in cache from their copy to the sums (MobileNetV2's
 * 96-channel 3x3/2 on 112x112, 1 thread: 1.4-1.6x the whole plane at once; 16-128 kB within
 * 10% of each other there). */
#define FC_DW_PLANE_BAND_BYTES ((int64_t)64 << 10)
/* Channels-last kernel (depthwise/nhwc.h) on input whose pixels are not vector-aligned:
 * output rows per copy of their input rows into the aligned per-thread buffer (the copy's
 * rows stay in the second-level cache while the rows it feeds are computed). */
#define FC_NHWC_COPY_ROWS 8
/* ... and for a channels-first result: most bytes of the per-thread channels-last block of
 * output rows that is computed and then transposed into the channel planes (it stays in the
 * second-level cache between the two). */
#define FC_NHWC_PLANE_BYTES ((int64_t)128 << 10)
/* Weight gradient (depthwise/grad.h): elements past a padded plane that the masked last
 * vector of a row may read, at least the widest vector's lanes (16 floats). */
#define FC_DWG_SLACK 64
/* Weight gradient: input and output gradient of more bytes than this prefetch their next
 * planes non-temporally (past what the third-level cache keeps between calls; below it
 * ordinary prefetches win). */
#define FC_DWG_STREAM_BYTES ((int64_t)16 << 20)

/* ---- pooling (pool/) ---- */
/* Lanes per block of the phase-split max-pool interior (P1, P2). */
#define FC_PBLK 16
/* Global average pooling: elements per vector partial sum before it is added in double; the
 * float32 error of a plane's mean then stays that of a 256-element sum (an exactness rule). */
#define FC_PLANE_BLOCK 256

/* ---- Winograd (winograd/) ---- */
/* Output channels of the product tile, 3 vectors of tiles each: 24 of the 32 AVX-512
 * registers, 12 of the 16 AVX2 ones (C5, C10). */
#define FC_WOCB_V4 8
#define FC_WOCB_32 4

#endif /* FASTCONV_TUNING_H */
