# Stub for the compiled module fastconv._conv (typed nogil convolution kernels).
# Arrays: float32 or float64, all of one dtype (the Cython fused type real_t).
from typing import Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

_Real = Union[np.float32, np.float64]

def vector_bytes() -> int: ...
def all_finite(x: npt.NDArray[_Real]) -> bool: ...  # x: 4-D, any element strides
def _set_vector_bytes_cap(cap: int) -> int: ...
def _channel_lanes(coutg: int, taps: int, Wo: int, vl: int, one_by_one: bool = ...) -> int: ...
def _set_channel_lanes_min_taps(
    n: int, one_vector_fill: float = ..., mixed_fill: float = ...
) -> Tuple[int, float, float]: ...
def _set_channel_lanes_1x1(mode: int) -> int: ...
def _sweeps(kH: int, kW: int, sh: int, dh: int, dw: int, W: int, isz: int) -> bool: ...
def _use_in_place(
    Cg: int,
    sw: int,
    sW: int,
    kH: int,
    kW: int,
    W: int,
    isz: int,
    sh: int = ...,
    dh: int = ...,
    dw: int = ...,
    finite_weights: bool = ...,
) -> bool: ...
def _set_in_place(mode: int) -> int: ...
def _layout(
    kW: int, sw: int, dw: int, wo_pad: int
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]: ...
def conv2d_direct(
    x: npt.NDArray[_Real],  # (N, C_in, H, W), any element strides
    w: npt.NDArray[_Real],  # (C_out, C_in // groups, kH, kW), any element strides
    bias: Optional[npt.NDArray[_Real]],  # (C_out,) contiguous, or None
    out: npt.NDArray[_Real],  # (N, C_out, H_out, W_out) C-contiguous, written
    groups: int,  # Py_ssize_t
    sh: int,
    sw: int,
    dh: int,
    dw: int,
    pt: int,
    pl: int,
    mode: int,  # C int, FC_PAD_* code
    fill: float,
    num_threads: Optional[int],
) -> None: ...
def conv2d_winograd(
    x: npt.NDArray[_Real],  # (N, C_in, H, W), any element strides
    w: npt.NDArray[_Real],  # (C_out, C_in // groups, 3, 3), any element strides
    bias: Optional[npt.NDArray[_Real]],  # (C_out,) contiguous, or None
    out: npt.NDArray[_Real],  # (N, C_out, H_out, W_out) C-contiguous, written
    groups: int,  # Py_ssize_t
    pt: int,
    pl: int,
    dh: int,
    dw: int,  # m * dw in (2, 4, 8)
    mode: int,  # C int, FC_PAD_* code
    fill: float,
    m: int,  # C int, 2 or 4
    num_threads: Optional[int],
) -> None: ...
def pad_window(
    plane: npt.NDArray[_Real],  # (H, W), any element strides, not empty
    dst: npt.NDArray[_Real],  # (h, w), any element strides, written
    r0: int,  # Py_ssize_t
    c0: int,
    mode: int,  # C int, FC_PAD_* code
    fill: float,
) -> bool: ...
