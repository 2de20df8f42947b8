"""The planner's table: every threshold that chooses a kernel or sizes its blocks.

One entry per name, each with its rule and the benchmark case that justifies it (the cases
of ``benchmarks/``; their measurements and history are in ``benchmarks/results/README.md``
and the commit log, not here).  The tile sizes of the C kernels are in
``include/fastconv/tuning.h`` and reach the planner through
:func:`fastconv._direct.tile_sizes`.  The planner reads these values at each call, and a
per-call :class:`fastconv._plan.Force` may override any of them by name (the tests do).
"""

from __future__ import annotations

import sys
import types
from typing import Any, Dict, Tuple

# ---- which algorithm: Winograd (conv2d "auto") ------------------------------------------
#: Winograd for 3x3 unit-stride layers with at least this many channels per group, input
#: and output: F(2x2, 3x3) float32 1.1-1.5x the direct kernels from 32 (C5), slower at 16.
WINOGRAD_MIN_CHANNELS = 32
#: float32 "auto" Winograd up to this many input channels per group: the RMS error against
#: float64, with the sums in blocks of 16 channels and groups of 4 blocks
#: (winograd/gemm.h), is 0.94-0.98x PyTorch's on ReLU-like inputs (non-negative, half
#: zeros) and 0.78-0.85x on normal ones from 32 to 512 channels; measured no further.
WINOGRAD_MAX_CHANNELS_F32 = 512
#: ... (undilated) where a tile row's tiles fill at least this share of the vector lanes
#: they take (ceil(W_out / m) tiles in whole vectors): Winograd's gain over the direct
#: kernels follows that fill, not the plane's width (28- and 56-wide planes fill 7/8 of
#: their lanes and gain, 36-wide ones 9/16 and lose; benchmarks/results) ...
WINOGRAD_MIN_LANE_FILL = 0.8
#: ... and at least this many multiply-adds per thread: below it the transforms and bands
#: cost more than they save ...
WINOGRAD_MIN_THREAD_MACS = 20_000_000
#: ... or, where the threads share the planes of fewer images than there are threads, this
#: many, by the vector width of the direct kernels (64-byte: float32 F(2x2) at batch 1 on 2
#: threads 1.12-1.67x the direct kernels from 29 million per thread on 28- to 112-wide
#: planes with 24-128 channels, level on 128 channels on 28x28 (Intel Xeon; below 200
#: million it lost before Winograd's position-major buffers); 32-byte: 1.05-1.5x from 58
#: million per thread on 56- and 112-wide planes, 0.9x on 128 channels on 28x28, below
#: 0.9x under 30 million; float64 F(4x4) gains sooner).
WINOGRAD_SHARED_MIN_MACS: Dict[int, Dict[str, int]] = {
    64: {"winograd": 25_000_000, "winograd4": 40_000_000},
    32: {"winograd": 50_000_000, "winograd4": 40_000_000},
}
#: ... and, float32 with more input channels per group than this (by the vector width), ...
WINOGRAD_DEEP_CHANNELS: Dict[int, int] = {64: 128, 32: 64}
#: ... at least this many output pixels over the batch: the weights' transform (and its
#: reading by every band) costs the same for every tile, the products save in proportion
#: to the tiles (64-byte vectors, 256 and 512 channels at batch 1: 28x28 and 14x14 planes
#: 0.6-0.8x, 56x56 1.3-1.4x; 128 channels at batch 1 on 28x28 still 1.2x on one thread;
#: 32-byte vectors, 96-256 channels: 196 and 392 pixels 0.6-0.96x, 784 pixels 1.0-1.5x) ...
WINOGRAD_DEEP_MIN_PIXELS: Dict[int, int] = {64: 1024, 32: 512}
#: ... or this many on the CPUs listed, by (CPUID vendor, display family) and vector bytes:
#: AMD Zen 5 (family 26, full-rate 64-byte vectors; forced kinds interleaved in one
#: process, F(2x2) / direct): 256 channels on 14x14 at batch 2 and 4 (392, 784 pixels)
#: 0.65-0.84x on 1 and 2 threads, on 28x28 at batch 1 0.70-0.72x, 192 on 14x14 at batch
#: 2 0.84x, 512 on 14x14 at batch 2 0.92x on 1 thread (1.06x on 2); at 196 pixels 256
#: channels 0.94x, 512 channels 1.15-1.30x.
WINOGRAD_DEEP_MIN_PIXELS_CPUS: Dict[Tuple[str, int, int], int] = {("AuthenticAMD", 26, 64): 392}
#: ... or, column-dilated, phases ceil(W_out / dilation) at least this wide: a full vector
#: of F(2x2) tiles (C10 1.19x; 24-wide phases 0.9x).
WINOGRAD_MIN_PHASE_WIDTH = 32
#: Column dilations each Winograd handles: the dw column phases of a tile row interleave by
#: a perfect shuffle of m * dw vectors, so m * dw must be 2, 4 or 8 (any row dilation).
WINOGRAD_COLUMN_DILATIONS: Dict[str, Tuple[int, ...]] = {"winograd": (1, 2, 4), "winograd4": (1, 2)}
#: Bytes of transformed inputs and products (V and M) one thread keeps per band: about half
#: an L2 cache (C5, C10).
WINOGRAD_BAND_BYTES = 524288
#: ... and per flat item (narrow planes, several tile rows and images in the lanes): the
#: run of tile rows is the one that best fills whole vectors within this (ResNet-18's 3x3
#: layers at batch 8 on a 2 MiB L2: 256 channels on 14x14 and 512 on 7x7 fastest with
#: 1.5-2 MiB, 1.1-1.2x slower with 0.5 MiB, up to 1.4x slower from 4 MiB).
WINOGRAD_FLAT_BAND_BYTES = 2097152
#: "auto" runs a layer flat only with this many input channels per group, ...
WINOGRAD_FLAT_MIN_CHANNELS = 128
#: ... this many tiles per row (F(2x2): output width 13 and up) ...
WINOGRAD_FLAT_MIN_TILES = 7
#: ... and this many multiply-adds per thread: below these the transforms, the gathering
#: and the weights' transform (once per call) cost more than the products save (flat
#: against the direct kernels, 1 and 2 threads: 128-256 channels on 14x14 and 20x20
#: planes 1.1-1.4x from batch 8; 64 channels, 7x7 planes or batch 1 0.3-0.95x).
WINOGRAD_FLAT_MIN_THREAD_MACS = 100_000_000
#: Narrower planes (fewer tiles per row than WINOGRAD_FLAT_MIN_TILES: 7x7) run flat with at
#: least this many tiles over the batch per thread, whatever WINOGRAD_DEEP_MIN_PIXELS says:
#: each block of transformed weights then serves enough tiles (ResNet-18's 512 channels on
#: 7x7 at batch 8: 1.1-1.3x the direct kernels on one thread; 64 tiles per thread
#: 0.85-1.15x, with 256 or 512 channels, on one or two threads) ...
WINOGRAD_FLAT_NARROW_MIN_TILES = 128
#: ... and this many multiply-adds per thread (128 channels, 16 images on 7x7, one thread:
#: 115 million, 0.93x; 256 channels, 8 images: 231 million, 1.1x).
WINOGRAD_FLAT_NARROW_MIN_THREAD_MACS = 200_000_000
#: CPUs (CPUID vendor, display family) whose cores run a 64-byte vector operation as two
#: 32-byte halves (AMD Zen 4): with 64-byte vectors the direct kernels' multiply-adds cost
#: them twice what they cost a core of full-width units (the Intel Xeon the rules above
#: were measured on), and F(2x2)'s saving weighs more than its transforms ...
WINOGRAD_HALF_RATE_CPUS: Tuple[Tuple[str, int], ...] = (("AuthenticAMD", 25),)
#: ... so their 64-byte plans take these values of the rules above (_plan.winograd_tuning;
#: Zen 4, forced kinds interleaved in one process, F(2x2) / direct: 0.63-0.71x on one
#: thread on 160-256 channels on 28x28 and 256 on 14x14 at batch 2, level on 14x14 at
#: batch 1; at batch 1 on two threads 0.67-0.93x from 19 million multiply-adds per
#: thread on 28- to 112-wide planes, 0.93-1.13x at 14.5 million; flat, 128 channels on
#: 12x12 and 14x14: 0.67-0.90x from 58 million per thread; flat on 7x7 with 64 tiles per
#: thread: 0.84-0.97x on 128-512 channels from 29 million per thread, 32 tiles 1.01x; 64
#: channels on 7x7 still 1.06-1.35x).
WINOGRAD_HALF_RATE: Dict[str, Any] = {
    "WINOGRAD_SHARED_MIN_MACS": {64: {"winograd": 16_000_000, "winograd4": 40_000_000}},
    "WINOGRAD_DEEP_MIN_PIXELS": {64: 392},
    "WINOGRAD_FLAT_MIN_THREAD_MACS": 50_000_000,
    "WINOGRAD_FLAT_NARROW_MIN_TILES": 64,
    "WINOGRAD_FLAT_NARROW_MIN_THREAD_MACS": 25_000_000,
}

# ---- which direct tile -------------------------------------------------------------------
#: Channel-lane tiles when the channels per group fill whole two-vector tiles and each output
#: sums at least this many products (the transposed store is then hidden): faster than the
#: column tiles from 32 taps (C3, C5, C6, C10), slower at 27 (3x3 over 3 channels, C1).
LANES_MIN_TAPS = 32
#: One-vector channel-lane tiles where the column tiles would fill less than this share of
#: their lanes (narrow rows: LeNet C2's 10 columns in 16 lanes).
LANES_ONE_VECTOR_FILL = 0.7
#: Channels a multiple of one vector but not of two, more than two vectors (48, 80, 112):
#: two-vector blocks and a one-vector last one where the column tiles fill less than this
#: share of their lanes (64 -> 48 and 64 -> 112 channels on 56 columns).
LANES_MIXED_FILL = 0.9
#: 1x1 kernels take the channel-lane tiles from half a vector of output channels: by the
#: rule of ``_plan.lane_vectors`` (1), never (0) or always (2).  The column tiles pack the
#: whole input for little arithmetic (C4).
LANES_1X1 = 1
#: ... with at least a vector of output channels, from this many input channels on any
#: rows (112-wide planes: faster than the column tiles from 8 input channels with 64-byte
#: vectors, from 16 with 32-byte ones; benchmarks/results); with half a vector of output
#: channels, half the lanes idle, the column tiles stay ahead.
LANES_1X1_MIN_CHANNELS = 16
#: The row-blocked one-channel tile from this kernel height (C8; shorter kernels reuse too
#: few loaded rows to pay for it).
ROWS_MIN_KH = 5

# ---- one input channel per output channel: the in-place kernels -----------------------------
#: In-place strips for kernels up to this size with kW * row bytes <= IN_PLACE_MAX_ROW_BYTES
#: at unit column stride (C7: 3x3 and 5x5 1.2-2.2x the packed bands up to 224 columns);
#: 7x7 and wider, wide rows and 7x1 columns (I3's separable pass) take the packed bands.
IN_PLACE_MAX_K = 5
IN_PLACE_MAX_ROW_BYTES = 6144
#: Dilations that spread the taps wider than this many vectors take the packed bands: the
#: in-place edge buffers grow with the dilation (a 3x3 with dilation 128 on 512 columns).
IN_PLACE_MAX_SPREAD_VECTORS = 4
#: 1: the rule above; 0: never; 2: whenever the layout allows it (tests).
IN_PLACE = 1
#: Row sweep (3x3, 5x5, unit stride and dilation) from this many bytes a row: 5x5 0.4-0.9x
#: the strips' time from 224 columns (C9), 3x3 0.6-0.8x from 448 columns.
SWEEP_MIN_ROW_BYTES: Dict[int, int] = {3: 1024, 5: 400}
#: Streaming stores in the sweep (64-byte vectors) from this output size: far bigger than
#: the caches, its lines would be read only to be overwritten (C9 with out=, 2 threads).
STREAM_MIN_BYTES = 32 << 20
#: Streaming stores of the channels-last depthwise kernel (DW_NHWC, 64-byte vectors, a
#: channels-last result) from this result size: past the second-level caches, the stores
#: of whole pixels' channels waited on reading lines only to overwrite them (V5/C7).
NHWC_STREAM_MIN_BYTES = 4 << 20
#: DW_NHWC reading its input in place prefetches the input rows of the next output row from
#: this input size (bytes, whole array).  AMD Zen 4, 3x3 at batch 8 on 56x56
#: (13-15 MB): 0.76-0.89x the time on one thread, 0.95x on two; from 3.6 MB down (14x14,
#: 7x7 planes) the prefetches cost 5-10%.
NHWC_PREFETCH_MIN_BYTES = 8 << 20
#: ... or this size on the CPUs listed, by (CPUID vendor, display family).  AMD Zen 5 (32
#: MiB third-level cache), 3x3 stride 2 at batch 8 read in place: without the prefetches
#: 0.88-0.93x the time on 14 and 19 MB inputs (144 and 192 channels on 56x56, 1 and 2
#: threads); from 26 MB on one thread they win, 0.75-0.93x.
NHWC_PREFETCH_MIN_BYTES_CPUS: Dict[Tuple[str, int], int] = {("AuthenticAMD", 26): 24 << 20}
#: Streaming stores of a channels-last result of the channel-lane tiles (64-byte vectors,
#: every pixel on a vector boundary) of at least this size: each pixel's channels are
#: whole lines, which plain stores first read from memory.  AMD Zen 4, 1x1 layers at batch
#: 8 on 1-2 threads: 0.45-0.65x the time with 38 MB results (16 -> 96 channels on
#: 112x112), 0.74-0.83x with 9.6 MB (64 -> 384 on 28x28); a 4.8 MB result (batch 1) level,
#: and then left in the caches for the next layer.
CHANNELS_LAST_STREAM_MIN_BYTES = 8 << 20
#: CPU vendors (CPUID) on which DW_NHWC copies the input rows of channels-last pixels that do
#: not start on a vector boundary (NumPy aligns big arrays to 16 bytes) into an aligned
#: buffer instead of reading them in place: on the Zen 5 host the loads straddling two cache
#: lines took up to twice the time; on the Intel Xeon host the copy was the slower.
NHWC_ALIGNED_COPY_VENDORS: Tuple[str, ...] = ("AuthenticAMD",)
#: Exceptions to that copy for strided layers, by (CPUID vendor, display family, vector
#: bytes): the input size (bytes, whole array) up to which DW_NHWC reads unaligned pixels
#: in place there.  AMD Zen 4, 64-byte vectors, batch 8, 3x3 stride 2: in place 0.7-0.8x
#: the copy's time on 14x14 to 56x56 planes of 144-576 channels (inputs of 1.5-15 MB, the
#: copy a whole extra pass over them); from 38 MB (96 channels on 112x112, past the 32 MB
#: third-level cache) the copy's sequential reads from memory win, 0.6-0.75x the in-place
#: time.  At unit stride the copy stays: in place 1.05-1.5x its time on one thread on
#: 56x56 planes of 128-144 channels (level on two).  AMD Zen 5 (family 26), same layers: in
#: place 0.85-0.95x the copy's time on 1.5-38 MB inputs (1-2 threads); on 77 MB (192
#: channels on 112x112) the copy wins, 0.8x.
NHWC_IN_PLACE_CPUS: Dict[Tuple[str, int, int], int] = {
    ("AuthenticAMD", 25, 64): 32 << 20,
    ("AuthenticAMD", 26, 64): 40 << 20,
}
#: Bytes of edge buffers (the padded columns next to the borders) per thread.
DW_EDGE_BYTES = 262144
#: Bytes of input rows one row group of the strips reads (kept in cache while the strips
#: walk across them).
DW_GROUP_BYTES = 262144
#: Bytes of output rows the strips compute before copying them out (C7).
DW_TMP_BYTES = 32768
#: The next item's input rows are prefetched when they are at most this big (C7: small
#: planes are otherwise read row by row at the latency of each miss).
DW_PREFETCH_BYTES = 262144

#: VL planes at a time with the channels across the lanes (depthwise/plane.h) for padded
#: planes of at most this many elements and at most DW_PLANE_MAX_TAPS taps (<=
#: FC_DW_PLANE_TAPS): against the row kernels, 1 thread, 3x3 960 ch on 7x7 3.5x, 576 on
#: 14x14 1.8x (stride 2: 3.2x), stride 2 on 56x56 1.7x and on 112x112 1.4x (MobileNetV2's
#: largest plane; its buffers then outgrow L2), 7x7 kernels on 20x20 2.5x.  The flat kernel
#: keeps the 3x3 "same" planes it takes (0.56-0.69x there) and the 5x5 ones beyond
#: DW_PLANE_MAX_FLAT5_ELEMS (28x28: 1.5x, 64x64: 0.87x).  At unit stride the strips keep
#: planes beyond DW_PLANE_MAX_ELEMS_UNIT (56x56 with 32-byte vectors: 0.9x, 64x64 0.7x;
#: 28x28 1.1x).  On channels-last input with a channels-first result the same unit-stride
#: limit picks it over DW_NHWC, which writes such a result channel by channel (384
#: channels on 14x14 at batch 1: 0.05 against 0.09 ms); a channels-last result runs
#: DW_NHWC (0.4-0.85x DW_PLANE's time from 7x7 to 28x28 planes at batches 1 and 8, on the
#: Intel Xeon host; the Zen 5 host once had DW_PLANE 1.25x faster on 384 channels on
#: 14x14 and 960 on 7x7; AMD Zen 4 0.43-0.94x, 1 and 2 threads).  Channels-last layers
#: whose channels are not whole vectors go through planes (_plan.planes_depthwise) with a
#: channels-first result beyond this limit: 1.05-1.45x faster than DW_NHWC on 56x56.
DW_PLANE_MAX_ELEMS = 16384
DW_PLANE_MAX_ELEMS_UNIT = 1024
DW_PLANE_MAX_TAPS = 49
DW_PLANE_MAX_FLAT5_ELEMS = 2048

#: One input channel per output channel with a column stride up to this: the in-place
#: kernels, a stride-2 tap one shuffle of two loads (depthwise/strip.h), on rows of any
#: width (the packed one-channel tiles took 1.2-1.8x their time on 1024- to 4000-wide
#: single-channel images with 3x3 and 5x5 kernels; IN_PLACE_MAX_K still holds: 7x7 ran
#: level or slower).
IN_PLACE_MAX_COLUMN_STRIDE = 2

# ---- band sizes of the packed kernels -------------------------------------------------------
#: Bytes of packed input one thread keeps per band: about half an L2 cache (C3, C5, C6;
#: Intel Xeon, 1 MiB and more of L2 per core) ...
BAND_BYTES = 393216
#: ... and, for the channel-lane tiles, at most SMALL_L2_BAND_BYTES where a core's L2
#: cache (CPUID) is under SMALL_L2_BYTES and holds a group's weights, since the band and
#: the weights then no longer stay in it together (_plan.band_bytes): AMD Zen 3 (512 KiB),
#: 64 -> 128 channels 3x3 / 2 on 56x56 (ResNet-18, C6) 1.06-1.15x on 1 and 2 threads.
#: Weights beyond the cache are read once per band, and shorter bands read them more
#: often: 256 -> 512 channels on 14x14 (4.7 MB) 1.1x on 1 thread but 0.75x on 2.  The
#: column and row tiles ran 0.93-0.94x with the shorter bands (C8; 8 -> 8 channels 3x3 on
#: 1024x1024), whose extra kernel rows are packed once more per band.
SMALL_L2_BYTES = 1048576
SMALL_L2_BAND_BYTES = 131072
#: Work items per thread the planner aims for (load balance; C4 on 2 threads).
ITEMS_PER_THREAD = 4
#: Packed weights of a group from this size on: bands as tall as BAND_BYTES allows (every
#: band streams all the weights once), and the threads share each band's output channels
#: instead of more, shorter bands (ResNet-18's 256- and 512-channel 3x3 layers on 14x14 and
#: 7x7 planes at batch 1: 2 threads ran no faster than 1, streaming 9.4 MB of weights per
#: 1-row band).
SPLIT_CHANNELS_MIN_WEIGHT_BYTES = 262144
#: ... and so do the threads of any layer whose output planes have at most this many pixels
#: where the load balance would cut them into bands: bands of a few rows of a small plane
#: end inside a cache line of every output plane, which two threads then write in turn
#: (MobileNetV2's 1x1 layers on 14x14 at batch 1 on 2 threads ran no faster than on 1;
#: whole planes per thread 1.1-2.4x the bands' speed from 7x7 to 32x32, level on 36x36 and
#: 40x40, 0.88x on 56x56; benchmarks/results).  Such planes also keep the one-row form of
#: 1x1 layers with fewer samples than threads (shared by channel blocks; channels-last
#: pixels at batch 1: 1.4-1.8x the row bands).
SPLIT_CHANNELS_MAX_PLANE_PIXELS = 1024
#: Big weights (SPLIT_CHANNELS_MIN_WEIGHT_BYTES) and several samples: one work item holds
#: the bands of as many samples as fit this many bytes and runs them block by block of
#: output channels, each block of packed weights read from memory once for them all
#: (ResNet-18's 256- and 512-channel layers at batch 8 streamed every weight once per
#: sample).
SAMPLE_GROUP_BYTES = 524288
#: Output rows of a channel-lane band read in place (no band to size): at most this many.
IN_PLACE_BAND_ROWS = 16
#: Wide rows (1-D signals, very wide planes): the packed kinds split rows of at least twice
#: this many output columns into chunks of at least this many, so that a band of one chunk
#: stays near BAND_BYTES and a plane of a few rows gives every thread items (V3: one
#: 10^7-sample row was one band of 40 MB, packed and read back from memory by one thread).
COLUMN_CHUNK_MIN = 1024
#: Strided 1x1 layers without padding (ResNet's downsampling shortcuts): 1 copies the
#: pixels they read into a compact array and runs the unit-stride layer on it, whose
#: kernels read in place instead of packing a band of every other column; 0 never.
SUBSAMPLE_POINTWISE = 1
#: Unit-stride 1x1 layers without padding on planes whose rows fill less than this share of
#: the channel-lane tiles' columns (FC_NCOL: 7 of 14 on 7x7 planes) run each plane as one
#: row of H * W pixels, whose tiles are full (MobileNetV2's and ResNet-18's 1x1 layers on
#: 7x7; benchmarks/results), and so do channels-last planes whose width is not a whole
#: number of vectors, whose packing then goes one column at a time past the last whole
#: vector (AMD Zen 4: 0.71-0.79x the time on 14x14, 0.93-0.97x on 28x28 and 56x56), unless
#: the planes alone would give the threads under ITEMS_PER_THREAD items each (C4: one
#: 100x100 plane ran on one thread); 0 never.
POINTWISE_ROW_FILL = 0.9
#: 1x1 unit-stride layers without padding whose planes are rows of contiguous pixels run
#: as a matrix product (POINTWISE: panels of pixels copied, column tiles over the output
#: channels) from POINTWISE_MIN_CHANNELS input channels per group on planes of at least
#: POINTWISE_MIN_PIXELS pixels (POINTWISE_MIN_PIXELS_32 with 32-byte vectors), with vectors
#: of at least POINTWISE_MIN_VECTOR_BYTES; 0 never.  Faster than the channel-lane tiles on
#: MobileNetV2's 1x1 layers on 56x56 and 112x112 planes and on C4 (1.1-1.35x on 1 thread,
#: 1.2-1.5x on 2, Intel Xeon; 32-byte vectors on AMD Zen 3 1.05-1.6x and 1.15-2.7x, float64
#: 1.2-1.7x), level on 28x28 (Intel, 64-byte vectors).  With 32-byte vectors (Zen 3) also
#: on 10x10 to 14x14 planes (16 to 576 channels: 1.05-1.3x on 1 and 2 threads, batch 1
#: and 8, float64 1.0-1.4x; level on 96 -> 576 and 128 -> 256); slower on single 7x7 to
#: 9x9 planes on 2 threads (0.6-0.95x), where a plane is a few panels with an empty part
#: in the last (for several, see POINTWISE_FLAT).
POINTWISE = 1
POINTWISE_MIN_CHANNELS = 16
POINTWISE_MIN_PIXELS = 784
POINTWISE_MIN_PIXELS_32 = 100
POINTWISE_MIN_VECTOR_BYTES = 32
#: ... and for a channels-last result, on any plane, with at most this many vectors of
#: output channels per group: the channel-lane tiles, which write that result in place,
#: leave most of their lanes empty there, and POINTWISE's result plus its transpose took
#: 0.4-0.8x their time on 8-32 output channels (1x1 layers on channels-last input, 7x7 to
#: 112x112 planes, 1 and 2 threads, Intel Xeon), level on 16 input channels, 3x on 144
#: output channels.
POINTWISE_CL_RESULT_MAX_VECTORS = 2
#: Several threads on fewer items (planes, or runs over the batch) than threads share out
#: the pixels in chunks of whole panels, except that with at least this many blocks of output
#: channels per thread for each panel of such a chunk, each thread takes a chunk of the
#: blocks over every pixel instead: a pixel chunk ends inside a cache line of every output
#: plane, a cost the chunk's length spreads, while each thread then copies every panel,
#: which its blocks spread (2 threads, Intel Xeon: chunks of 4 panels 1.06-1.22x from 4
#: blocks a thread, 0.95x with 1.5; of 7 panels 1.12-1.23x from 8 blocks, 0.9-0.97x with 3
#: and 4; of 25 panels 0.97x with 8).
POINTWISE_SPLIT_BLOCKS_PER_PANEL = 1
#: POINTWISE copies runs of panels of pixels of at most POINTWISE_PANEL_BYTES and runs one
#: block of output channels after the other over them (each block's stores a few streams of
#: consecutive lines) on layers of at most POINTWISE_PANELS_MAX_CHANNELS input channels per
#: group and at least POINTWISE_PANELS_MIN_BLOCKS blocks of output channels, where one panel
#: at a time wrote a line to every output plane in turn: 16 -> 96 on 112x112 1.35-1.5x,
#: 16 -> 64 1.25-1.35x, 24 -> 144 on 56x56 1.1x (1 thread; 2 threads 1.1-1.3x), level from
#: 48 input channels or with 2 blocks, where the stores are a smaller share (Intel Xeon).
POINTWISE_PANEL_BYTES = 65536
POINTWISE_PANELS_MAX_CHANNELS = 32
POINTWISE_PANELS_MIN_BLOCKS = 4
#: POINTWISE counts the pixels over the batch (Plan.flat: panels span samples) when a
#: plane's pixels are not whole panels and there are several samples, and so does
#: POINTWISE_MIN_PIXELS*; 0 never.  1x1 layers of MobileNetV2 and ResNet-18 on 7x7 and
#: 14x14, batch 2 to 8 (Zen 3, 32-byte vectors): 0.77-0.98x the time of the planes apart
#: on 1 thread, 0.87-1.08x on 2, and 0.69-0.94x the channel-lane tiles' on 7x7 (float64
#: 0.7x), where the planes apart took 3 panels and a one-vector tile each.
POINTWISE_FLAT = 1
#: Column tiles at unit stride run a band's rows as one flat row of padded width (the taps
#: kh * Wp + kw apart, the columns past Wo dropped) where that fills at least this many
#: times the lanes whole rows fill: narrow planes waste most of a 32-column tile (LeNet's
#: 6 -> 16 input gradient on 14 columns: 44% of the lanes, flat 78%).
FLAT_MIN_GAIN = 1.25
#: Column tiles leave out the kernel rows that land on zero padding (exact: their products
#: are zeros) where at least this share of a layer's row taps does, and the weights are all
#: finite (one pass over the packed weights says so; a NaN or +-inf weight times a padded
#: zero is NaN, kept): small planes with large padding, as in LeNet's input gradients, whose
#: full correlation reads 4 padded rows of 18; 1.0 never.
SKIP_PAD_ROWS_MIN = 0.1

# ---- correlate2d "auto", and the FFT ---------------------------------------------------------
#: "auto" switches from the direct kernels to the FFT at this many kernel taps (not
#: separable), by the vector width of the direct kernels, on output planes of at least
#: FFT_MIN_PIXELS (I2: 31x31 1.2-2x; 19x19 at most 0.9x; 256^2 planes: direct 1.2-7x).
FFT_MIN_TAPS: Dict[int, int] = {64: 25 * 25, 32: 19 * 19}
FFT_MIN_PIXELS = 512 * 1024
#: Longest FFT of the overlap-save tiles per axis unless the kernel needs more: scipy.fft
#: costs about 3.4 ns a point up to 384 points, and 2 threads scaled best up to 384-480 (I2).
FFT_TILE = 480
#: Fixed cost of one tile (transforms' set-up, the Python around them: about 17 us) in
#: points of tile length per axis: sqrt(17 us / 3.4 ns).
FFT_TILE_OVERHEAD = 72
#: Cost, in points, of spreading the tiles over threads (about 200 us).
FFT_THREADS_COST = 60000
#: Kernels of at most this many taps always take the direct kernels in "auto" (no separable
#: split, no FFT): their direct cost is a few multiply-adds a pixel (I1's 5x5 is above it).
DIRECT_MAX_TAPS = 9
#: A kernel is separable when a column and a row of it reproduce every tap to within this
#: many units in the last place of that tap (in the kernel's dtype): an outer product of two
#: vectors, rounded to the dtype, passes with 1-3 ulps (an exactness rule, not a speed one).
SEPARABLE_ULPS = 8

# ---- threads -------------------------------------------------------------------------------
#: A convolution of fewer multiply-adds than this runs on one thread: starting and joining a
#: parallel region costs more than the second thread saves (LeNet-sized calls, C1 and C2
#: at batch 1; benchmarks/results/README.md, "Threads for small calls").
PARALLEL_MIN_MACS = 500_000
#: ... and one of one input channel per group (depthwise) from this many: their kernels
#: spend more time per multiply-add, on the planes' transposes and loads (2 threads, Intel
#: Xeon: 3x3 layers of 0.11-0.42 million multiply-adds on 7x7 to 56x56 planes 1.1-1.6x
#: faster than on one, 0.03-0.06 million level).
PARALLEL_MIN_MACS_DEPTHWISE = 100_000
#: Global pooling (the window is the plane): a thread per this many input elements at most
#: (global pooling of (64, 512, 7, 7); benchmarks/results/README.md, "Global pooling").
POOL_PLANE_THREAD_ELEMS = 65536
#: nn.ReLU and its gradient: a thread per this many elements at most (the ReLUs of a LeNet
#: training step on 2 threads ran single-threaded in NumPy beside parallel convolutions).
RELU_THREAD_ELEMS = 65536
#: A strided 1x1 layer's compact copy of the pixels it reads: a thread per this many
#: copied elements at most (2 threads, Intel Xeon: ResNet-18's stride-2 copies at batch 1,
#: 19-100 thousand elements, 1.2-2.2x faster than on one thread).
SUBSAMPLE_THREAD_ELEMS = 8192
#: Windowed pooling, unpooling and the pooling gradients: a thread per this many window taps
#: (or scattered elements) at most.  Below it a call runs on one thread: the calls of a small
#: training step take microseconds, and a second OpenMP team, spinning after them, competes
#: with NumPy's BLAS threads for the cores (benchmarks/results/README.md, "Gradients").
POOL_THREAD_TAPS = 65536

# ---- CUDA (cuda/) ---------------------------------------------------------------------------
#: The implicit-GEMM kernel from this many multiply-adds per output (C_in/groups * kH * kW)
#: with at least CUDA_GEMM_MIN_COUT output channels per group; below, the direct kernel (one
#: thread per output, shared-memory tiles), whose work per output is small anyway (C3-C6 on
#: the GPU, benchmarks/gpu.py).
CUDA_GEMM_MIN_K = 64
CUDA_GEMM_MIN_COUT = 16


# ---- gradients (grad.conv2d_weight) -------------------------------------------------------
#: Most (output channel, input channel) pairs per group for which the weight gradient runs
#: plane by plane (depthwise/grad.h) rather than in register tiles or through BLAS: the
#: plane kernel's speed does not grow with the channels, the tiles' does.
WEIGHT_GRAD_PLANES_MAX_PAIRS = 32
#: ... and up to this many pairs on output rows at least WEIGHT_GRAD_PLANES_WIDE_WIDTH wide,
#: where the plane kernel's long rows beat the tiles (3 -> 16 and 6 -> 8 layers; on 10-wide
#: rows the tiles win, and at 64 pairs it depends on the shape).
WEIGHT_GRAD_PLANES_WIDE_PAIRS = 48
WEIGHT_GRAD_PLANES_WIDE_WIDTH = 24
#: 1x1 unit-stride kernels with fewer output pixels than this (all images together) reduce
#: through NumPy's BLAS, which the tiles' per-thread float64 sums of every channel pair
#: outweigh there (512 -> 512 on one 7x7 image: 0.6-0.7x); from it on, the tiles
#: (C4's weight gradient: 1.5x BLAS at 1 and 2 threads, 392 pixels of 7x7: 1.2-1.9x).
WEIGHT_GRAD_MATMUL_MAX_PIXELS = 300
#: The "pointwise" weight gradient (1x1 unit-stride kernels without padding, from
#: WEIGHT_GRAD_MATMUL_MAX_PIXELS pixels on, the planes read in place) where C_in * C_out /
#: (C_in + C_out) per group, the products per element the tiles transpose, is at most
#: this: below it the transposes cost the tiles more than the in-place reads cost the
#: pointwise kernel (ahead from 16 -> 96 to 40 -> 240, level at 64 -> 128, behind from
#: 256 -> 256 on; figures in benchmarks/results).
WEIGHT_GRAD_POINTWISE_MAX_SHARE = 40
#: ... in work items of rows this long: a tile block's output-gradient rows of the run,
#: packed, stay in the first-level cache while the input rows stream past (shorter runs
#: sum the tiles' lanes more often, longer ones leave the first-level cache).
WEIGHT_GRAD_POINTWISE_RUN_BYTES = 4096
#: CPU vendors (CPUID) on which the plane-by-plane weight gradient of a big layer prefetches
#: the next plane pair along its 3x3 lane-shift loop (depthwise/grad.h, stream = 2): on the
#: Zen 5 host C7's weight gradient 1.55 -> 1.4 ms and 5.5 -> 3.4 ms at batch 16; on the
#: Intel Xeon host the same prefetches took it from 2.1 to 7.6 ms (its hardware
#: prefetchers keep up alone, and the prefetches held the loads up).
WEIGHT_GRAD_SPREAD_VENDORS: Tuple[str, ...] = ("AuthenticAMD",)
#: Most output rows per work item of the tiled weight gradient: its float32 row sums go into
#: float64 once per band.
WEIGHT_GRAD_BAND_ROWS = 8
#: ... and with at most this many items over several threads, bands as short as half that
#: when they share the rows more evenly (C3 at 2 threads).
WEIGHT_GRAD_BALANCE_ITEMS = 64


# ---- the version --------------------------------------------------------------------------
#: Bumped by every assignment to a name of this module (a test's monkeypatch): the planner's
#: memo of plans keys on it.  Mutating a dict value in place does not bump it.
version = 0


class _Module(types.ModuleType):
    """This module's type: setting an attribute bumps ``version``."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name != "version":
            super().__setattr__("version", self.version + 1)


sys.modules[__name__].__class__ = _Module
