"""
Max-pool indices routed back
============================

:func:`fastconv.max_pool2d` with ``return_indices=True`` returns, for every window, the
flat index ``h * W + w`` of its maximum in the input plane (PyTorch's convention).
:func:`fastconv.max_unpool2d` puts each pooled value back at that position and zeros
elsewhere; :func:`fastconv.grad.max_pool2d_input` routes a gradient the same way (and adds
up where overlapping windows share a maximum), which is how a max pool learns.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastconv
from fastconv import grad

rng = np.random.default_rng(3)
yy, xx = np.mgrid[0:48, 0:48]
img = (np.sin(xx / 5.0) * np.cos(yy / 7.0) + 0.3 * rng.standard_normal((48, 48))).astype(np.float32)
x = img[None, None]

pooled, idx = fastconv.max_pool2d(x, 4, return_indices=True)
unpooled = fastconv.max_unpool2d(pooled, idx, 4)
# overlapping windows (kernel 5, stride 2): one pixel may be the maximum of several
_, idx_overlap = fastconv.max_pool2d(x, 5, stride=2, return_indices=True)
counts = grad.max_pool2d_input(np.ones(idx_overlap.shape, np.float32), idx_overlap, x.shape)

assert np.array_equal(unpooled.ravel()[idx.ravel()], pooled.ravel())
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
panels = [
    (img, "input (48 x 48)"),
    (pooled[0, 0], "max_pool2d, kernel 4"),
    (np.ma.masked_equal(unpooled[0, 0], 0), "max_unpool2d: maxima back in place"),
    (counts[0, 0], "gradient of ones, kernel 5 stride 2:\nwindows won per pixel"),
]
for ax, (a, title) in zip(axes, panels):
    im = ax.imshow(a, cmap="magma" if a is counts[0, 0] else "viridis")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
fig.colorbar(im, ax=axes[-1], fraction=0.046)
fig.tight_layout()
plt.show()
