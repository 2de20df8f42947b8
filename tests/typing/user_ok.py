"""A user's script that must pass ``mypy --strict`` with no error: results are NDArray,
not Any, and the Literal options accept every documented value."""

from typing import Tuple

import numpy as np
import numpy.typing as npt

import fastconv
from fastconv import grad, nn
from fastconv.typing import Boundary, PaddingMode

Array = npt.NDArray[np.float32]


def features(x: Array, w: Array, mode: PaddingMode = "reflect") -> npt.NDArray[np.generic]:
    y = fastconv.conv2d(x, w, None, 1, "same", 1, 1, mode, algorithm="auto", memory_format="preserve")
    return fastconv.avg_pool2d(y, 2)


def pooled(x: Array) -> Tuple[npt.NDArray[np.generic], npt.NDArray[np.generic]]:
    vals, idx = fastconv.max_pool2d(x, 2, return_indices=True)
    back = fastconv.max_unpool2d(vals, idx, 2)
    return back, fastconv.max_pool3d(x[None], 2)


def smooth(img: Array, k: Array, boundary: Boundary = "symm") -> npt.NDArray[np.generic]:
    a = fastconv.correlate2d(img, k, "same", boundary, method="separable")
    b = fastconv.convolve(img, k, mode="valid", method="fft", axes=(0, 1))
    return a[: b.shape[0]] + fastconv.correlate(img, k, "same")[: b.shape[0]]


def signals(x: Array, w: Array) -> npt.NDArray[np.generic]:
    y = fastconv.conv1d(x, w, padding="same", padding_mode="circular")
    v, i = fastconv.max_pool1d(y, 2, return_indices=True)
    return fastconv.max_unpool1d(v, i, 2)


def gradients(x: Array, w: Array, g: Array) -> float:
    gx = grad.conv2d_input(x.shape, w, g, padding=((0, 1), (2, 2)), padding_mode="replicate")
    gw = grad.conv2d_weight(x, w.shape, g, padding=1)
    return float(gx.sum() + gw.sum() + grad.conv2d_bias(g).sum())


def layer(x: Array) -> npt.NDArray[np.generic]:
    conv = nn.Conv2d(3, 6, 5, padding="same", padding_mode="zeros")
    y = conv(x)
    return conv.backward(np.ones_like(y))


x = np.zeros((1, 3, 8, 8), np.float32)
print(features(x, np.zeros((6, 3, 3, 3), np.float32)).shape, pooled(x)[0].shape)
