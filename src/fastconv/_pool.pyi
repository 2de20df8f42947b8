# Stub for the compiled module fastconv._pool (typed nogil pooling kernels).
# Value arrays are float32 or float64, all of one dtype (the Cython fused type real_t).
from typing import Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

_Real = Union[np.float32, np.float64]

def max_pool2d(
    x: npt.NDArray[_Real],  # (N, C, H, W), any element strides
    out: npt.NDArray[_Real],  # (N, C, H_out, W_out) C-contiguous, written
    indices: Optional[npt.NDArray[np.int64]],  # like out, or None
    kH: int,
    kW: int,
    sH: int,
    sW: int,
    pH: int,
    pW: int,
    dH: int,
    dW: int,  # Py_ssize_t
    num_threads: Optional[int],
    region: Optional[Tuple[int, int, int, int, int, int]] = ...,  # (H, W, r_org, c_org, o_org, q0)
) -> None: ...
def avg_pool2d(
    x: npt.NDArray[_Real],
    out: npt.NDArray[_Real],
    kH: int,
    kW: int,
    sH: int,
    sW: int,
    pH: int,
    pW: int,
    count_include_pad: bool,
    divisor_override: int,  # int64; 0 means none
    num_threads: Optional[int],
    region: Optional[Tuple[int, int, int, int, int, int]] = ...,
) -> None: ...
def max_unpool2d(
    v: npt.NDArray[_Real],  # (N, C, h, w)
    indices: npt.NDArray[np.int64],  # (N, C, h, w)
    out: npt.NDArray[_Real],  # (N, C, H, W) C-contiguous, written whole
    num_threads: Optional[int],
) -> int: ...  # -1, or the flat position of the first index outside the plane
def max_pool2d_backward(
    g: npt.NDArray[_Real],  # (N, C, h, w) gradient of the pooled values
    indices: npt.NDArray[np.int64],  # (N, C, h, w)
    out: npt.NDArray[_Real],  # (N, C, H, W) C-contiguous, written whole
    num_threads: Optional[int],
) -> int: ...  # -1, or the flat position of the first index outside the plane
def avg_pool2d_backward(
    g: npt.NDArray[_Real],  # (N, C, H_out, W_out) C-contiguous
    div: npt.NDArray[_Real],  # (H_out, W_out) C-contiguous: each window's divisor
    out: npt.NDArray[_Real],  # (N, C, H, W) C-contiguous, written whole
    kH: int,
    kW: int,
    sH: int,
    sW: int,
    pH: int,
    pW: int,
    num_threads: Optional[int],
) -> None: ...
def pool2d_nhwc(
    op: int,  # 0: max, 1: average
    x: npt.NDArray[_Real],  # (N, H, W, C) with unit channel stride
    out: npt.NDArray[_Real],  # (N, H_out, W_out, C), any strides
    indices: Optional[npt.NDArray[np.int64]],  # the same layout as out, or None
    kH: int,
    kW: int,
    sH: int,
    sW: int,
    pH: int,
    pW: int,
    dH: int,
    dW: int,
    count_include_pad: bool,
    divisor_override: int,  # int64; 0 means none
    num_threads: Optional[int],
) -> None: ...
