# Stub for the compiled module fastconv._winograd (driver of the winograd kernels).
# Arrays: float32 or float64, all of one dtype (the Cython fused type real_t).
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

_Real = Union[np.float32, np.float64]

def run(
    plan: Any,  # fastconv._plan.Plan of kind WINOGRAD2 or WINOGRAD4
    x: npt.NDArray[_Real],  # (N, C_in, H, W), any element strides
    w: npt.NDArray[_Real],  # (C_out, C_in // groups, kH, kW), any element strides
    bias: Optional[npt.NDArray[_Real]],  # (C_out,) contiguous, or None
    out: npt.NDArray[_Real],  # (N, C_out, H_out, W_out) C-contiguous, written
    a: Any,  # fastconv._args.ConvArgs: stride, dilation, pads, mode, groups
    fill: float,
) -> bool: ...  # False: a band met NaN or +-inf (out incomplete; rerun with plan.exact)
