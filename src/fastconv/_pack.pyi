# Stub for the compiled module fastconv._pack (finiteness scan, padded window, volume and
# strided-pixel copies, ReLU).
from typing import Optional, Union

import numpy as np
import numpy.typing as npt

_Real = Union[np.float32, np.float64]

def all_finite(x: npt.NDArray[_Real]) -> bool: ...  # x: 4-D, any element strides
def pad_window(
    plane: npt.NDArray[_Real],  # (H, W), any element strides, not empty
    dst: npt.NDArray[_Real],  # (h, w), any element strides, written
    r0: int,  # Py_ssize_t
    c0: int,
    mode: int,  # C int, FC_PAD_* code
    fill: float,
) -> bool: ...
def flip_transpose(
    w: npt.NDArray[_Real],  # (C_out, C_in / groups, kH, kW), any element strides
    out: npt.NDArray[_Real],  # (C_in, C_out / groups, kH, kW), contiguous, written
    groups: int,
) -> bool: ...
def pad_volume(
    src: npt.NDArray[_Real],  # (B, D, H, W), C-contiguous rows
    dst: npt.NDArray[_Real],  # (B, D', H', W'), C-contiguous rows, written
    d0: int,  # Py_ssize_t
    h0: int,
    w0: int,
    num_threads: Optional[int],
) -> None: ...
def subsample(
    x: npt.NDArray[_Real],  # (N, C, H, W), any element strides
    dst: npt.NDArray[_Real],  # (N, C, Ho, Wo), any element strides, written
    sh: int,  # Py_ssize_t
    sw: int,
    num_threads: Optional[int],
    per_thread: int,
) -> None: ...
def relu(
    x: npt.NDArray[_Real],  # 1-D, contiguous
    out: npt.NDArray[_Real],  # 1-D, contiguous, x's size and dtype, written
    num_threads: Optional[int],
    per_thread: int,
) -> npt.NDArray[_Real]: ...
def relu_backward(
    g: npt.NDArray[_Real],  # 1-D, contiguous
    y: npt.NDArray[_Real],  # 1-D, contiguous, g's size and dtype
    out: npt.NDArray[_Real],  # 1-D, contiguous, written
    num_threads: Optional[int],
    per_thread: int,
) -> npt.NDArray[_Real]: ...
