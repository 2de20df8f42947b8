# Stub for the compiled module fastconv._direct (driver of the direct kernels).
# Arrays: float32 or float64, all of one dtype (the Cython fused type real_t).
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

_Real = Union[np.float32, np.float64]

def cpu_vector_bytes() -> int: ...
def tile_sizes(vb: int) -> Dict[str, Any]: ...  # ints; "ocb_tiles": a tuple of ints
def dw_plane_band_rows(Ho: int, Wp: int, kH: int, sH: int, dH: int, vb: int) -> int: ...
def kinds() -> Dict[str, int]: ...
def run(
    plan: Any,  # fastconv._plan.Plan of kind COLUMNS, COLUMNS_NARROW, ROWS or LANES
    x: npt.NDArray[_Real],  # (N, C_in, H, W), any element strides
    w: npt.NDArray[_Real],  # (C_out, C_in // groups, kH, kW), any element strides
    bias: Optional[npt.NDArray[_Real]],  # (C_out,) contiguous, or None
    out: npt.NDArray[_Real],  # (N, C_out, H_out, W_out) C-contiguous (or channels-last for LANES), written
    a: Any,  # fastconv._args.ConvArgs: stride, dilation, pads, mode, groups
    fill: float,
) -> None: ...
def packed_weights(
    plan: Any,  # fastconv._plan.Plan: vector_bytes, threads
    w: npt.NDArray[_Real],  # (C_out, C_in // groups, kH, kW), any element strides
    G: int,  # groups
    ocb: int,  # output channels per block
) -> npt.NDArray[Any]: ...  # 1-D, w's dtype
def run_pointwise(
    plan: Any,  # fastconv._plan.Plan of kind POINTWISE
    x: npt.NDArray[_Real],  # (N, C_in, 1, P), contiguous pixels
    w: npt.NDArray[_Real],  # (C_out, C_in // groups, 1, 1), any element strides
    bias: Optional[npt.NDArray[_Real]],  # (C_out,) contiguous, or None
    out: npt.NDArray[_Real],  # (N, C_out, 1, P) C-contiguous, written
    a: Any,  # fastconv._args.ConvArgs: groups
    fill: float = ...,
) -> None: ...
def weight_tile_sizes(vb: int, isz: int, cin_g: int, cout_g: int, vec_out: bool) -> Tuple[int, int, int]: ...
def weight_grad_pointwise(
    x: npt.NDArray[_Real],  # (N, C_in, P), pixels contiguous, C-contiguous
    go: npt.NDArray[_Real],  # (N, C_out, P), C-contiguous
    tot: npt.NDArray[np.float64],  # (threads, groups, C_out / groups, C_in / groups) C-contiguous, added into
    groups: int,
    run: int,  # pixels per work item
    vb: int,  # vector bytes of the kernel table (fastconv._plan.vector_bytes)
    num_threads: Optional[int],
) -> None: ...
def weight_grad(
    x: npt.NDArray[_Real],  # (N, C_in, H, W) C-contiguous
    go: npt.NDArray[_Real],  # (N, C_out, H_out, W_out) C-contiguous
    tot: npt.NDArray[np.float64],  # (threads, groups, kH * kW, Op * Cp) C-contiguous, added into
    groups: int,
    kH: int,
    kW: int,
    stride: Any,  # (sH, sW)
    dilation: Any,  # (dH, dW)
    rowsrc: npt.NDArray[np.int64],  # source row of every padded row (-1: zero)
    colsrc: npt.NDArray[np.int64],  # source column of each padded column the taps read (-1: zero)
    c0: int,
    c1: int,  # padded columns [c0, c1) copy columns c - pl
    pl: int,
    vec_out: bool,  # the output channels across the vector lanes (else the input channels)
    band_rows: int,
    vb: int,  # vector bytes of the kernel table (fastconv._plan.vector_bytes)
    num_threads: Optional[int],
) -> None: ...
