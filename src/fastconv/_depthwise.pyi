# Stub for the compiled module fastconv._depthwise (driver of the depthwise kernels).
# Arrays: float32 or float64, all of one dtype (the Cython fused type real_t).
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

_Real = Union[np.float32, np.float64]

def run(
    plan: Any,  # fastconv._plan.Plan of kind DW_STRIP, DW_SWEEP or DW_FLAT
    x: npt.NDArray[_Real],  # (N, C_in, H, W), any element strides
    w: npt.NDArray[_Real],  # (C_out, C_in // groups, kH, kW), any element strides
    bias: Optional[npt.NDArray[_Real]],  # (C_out,) contiguous, or None
    out: npt.NDArray[_Real],  # (N, C_out, H_out, W_out) C-contiguous, written
    a: Any,  # fastconv._args.ConvArgs: stride, dilation, pads, mode, groups
    fill: float,
) -> None: ...
def run_planes(
    plan: Any,  # fastconv._plan.Plan of kind DW_PLANE
    x: npt.NDArray[_Real],  # (N, C_in, H, W), any element strides, C_in = groups
    w: npt.NDArray[_Real],  # (C_out, 1, kH, kW), any element strides
    bias: Optional[npt.NDArray[_Real]],  # (C_out,) contiguous, or None
    out: npt.NDArray[_Real],  # (N, C_out, H_out, W_out) C-contiguous, written
    a: Any,  # fastconv._args.ConvArgs: stride, dilation, pads, mode, groups
    fill: float,
) -> None: ...
def run_nhwc(
    plan: Any,  # fastconv._plan.Plan of kind DW_NHWC
    x: npt.NDArray[_Real],  # (N, C, H, W) with channel stride one element (channels-last memory)
    w: npt.NDArray[_Real],  # (C, 1, kH, kW), any element strides
    bias: Optional[npt.NDArray[_Real]],  # (C,) contiguous, or None
    out: npt.NDArray[_Real],  # (N, C, H_out, W_out) channels-last or C-contiguous, written
    a: Any,  # fastconv._args.ConvArgs: stride, dilation, pads
    fill: float,
) -> None: ...
def weight_grad(
    x: npt.NDArray[_Real],  # (N, C_in, H, W) C-contiguous
    go: npt.NDArray[_Real],  # (N, C_out, H_out, W_out) C-contiguous
    sums: npt.NDArray[np.float64],  # (threads, C_out, C_in / groups * kH * kW * vb / itemsize), added into
    groups: int,
    kH: int,
    kW: int,
    stride: Any,  # (sH, sW)
    dilation: Any,  # (dH, dW)
    rowsrc: npt.NDArray[np.int64],  # source row of each padded row the taps read (-1: zero)
    colsrc: npt.NDArray[np.int64],  # source column of each padded column the taps read (-1: zero)
    c0: int,
    c1: int,  # padded columns [c0, c1) copy columns c - pl
    pl: int,
    vb: int,  # vector bytes of the kernel table (fastconv._plan.vector_bytes)
    num_threads: Optional[int],
    spread: bool = ...,  # a big layer's 3x3 lane-shift loop prefetches the next planes
) -> None: ...
def channels_last_to_planes(
    src: npt.NDArray[_Real],  # (N, H, W, C) C-contiguous
    dst: npt.NDArray[_Real],  # (N, C, H, W) C-contiguous, written
    vb: int,  # vector bytes of the kernel table (fastconv._plan.vector_bytes)
    num_threads: Optional[int],
) -> None: ...
def planes_to_channels_last(
    src: npt.NDArray[_Real],  # (N, C, H, W) C-contiguous
    dst: npt.NDArray[_Real],  # (N, H, W, C) C-contiguous, written
    vb: int,  # vector bytes of the kernel table (fastconv._plan.vector_bytes)
    num_threads: Optional[int],
) -> None: ...
def sum_lanes(
    sums: npt.NDArray[np.float64],  # (threads, C_out, taps, lanes) C-contiguous
    out: npt.NDArray[_Real],  # (C_out, taps) C-contiguous, written
) -> None: ...
