"""A user's script with deliberate mistakes, each on a line marked ``# error``:
``mypy --strict`` must report an error on every marked line and on no other."""

import numpy as np
import numpy.typing as npt

import fastconv
from fastconv import grad, nn, optim

x = np.zeros((1, 3, 8, 8), np.float32)
w = np.zeros((6, 3, 3, 3), np.float32)
img = np.zeros((64, 64), np.float32)

fastconv.conv2d(x, w, padding_mode="reflection")  # error
fastconv.conv2d(x, w, algorithm="winograd3")  # error
fastconv.conv2d(x, w, memory_format="nhwc")  # error
fastconv.conv2d(x, w, padding="full")  # error
fastconv.conv2d(x, w, groups="1")  # error
fastconv.conv2d(x, w, num_threads=2.0)  # error
fastconv.correlate2d(img, img, mode="sam")  # error
fastconv.correlate2d(img, img, boundary="reflect")  # error
fastconv.correlate2d(img, img, method="overlap-add")  # error
fastconv.correlate(img, img, method="separable")  # error
fastconv.conv1d(x[0], w[:, :, 0], stride=(1, 2))  # error
pooled: npt.NDArray[np.float32] = fastconv.max_pool2d(x, 2, return_indices=True)  # error
print(fastconv.max_pool3d(x[None], 2, return_indices=True).shape)  # error
grad.conv2d_input((1, 3, 8, 8), w, x, padding_mode="wrap")  # error
nn.Conv2d(3, 6, 5, padding_mode="zero")  # error
nn.CrossEntropyLoss(reduction="average")  # error
optim.SGD(nn.Sequential(), lr="0.1")  # error


def channels(y: npt.NDArray[np.float32]) -> int:
    return fastconv.conv2d(y, w)  # error


fastconv.conv2d(x, w, padding="same", padding_mode="circular")
print(channels(x))
