# Stub for the compiled module fastconv._pack (finiteness scan, padded window copy).
from typing import Union

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
