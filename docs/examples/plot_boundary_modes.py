"""
Boundary modes
==============

How each ``padding_mode`` of :func:`fastconv.conv2d` fills the border, shown on a test
image blurred with a wide box filter: with ``"zeros"`` the border darkens, ``"reflect"``
and ``"symmetric"`` mirror the image (without and with the edge pixel), ``"replicate"``
repeats the edge pixel and ``"circular"`` wraps around, so the bright bar at the bottom
bleeds into the top.  Each mode equals ``numpy.pad`` followed by a valid convolution, at
any padding size.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastconv

# a test image: a gradient, a disc and a bright bar along the bottom edge
h, w = 96, 128
yy, xx = np.mgrid[0:h, 0:w]
img = (xx / w).astype(np.float32)
img[(yy - 40) ** 2 + (xx - 50) ** 2 < 18**2] = 1.0
img[-8:, :] = 1.0

k = 21
box = np.full((1, 1, k, k), 1.0 / k**2, np.float32)
modes = ["zeros", "reflect", "symmetric", "replicate", "circular"]

fig, axes = plt.subplots(2, 3, figsize=(10, 5.6))
axes[0, 0].imshow(img, cmap="gray", vmin=0, vmax=1)
axes[0, 0].set_title("input")
for ax, mode in zip(axes.flat[1:], modes):
    out = fastconv.conv2d(img[None, None], box, padding="same", padding_mode=mode)[0, 0]
    pad = np.pad(img, k // 2, mode={"zeros": "constant", "replicate": "edge", "circular": "wrap"}.get(mode, mode))
    assert np.allclose(out, fastconv.correlate2d(pad, box[0, 0], "valid"), atol=1e-5)
    ax.imshow(out, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f'padding_mode="{mode}"')
for ax in axes.flat:
    ax.set_axis_off()
fig.tight_layout()
plt.show()
