"""
A LeNet's feature maps
======================

A LeNet-style network trained with fastconv alone (no PyTorch) on scikit-learn's
handwritten digits (8 x 8 pixels), then run on one held-out digit.  After the ReLU, each
of the six maps of the first convolution responds to a different part of the strokes;
the sixteen of the second, on the max-pooled 4 x 4 maps, to combinations of them.
:meth:`fastconv.nn.Sequential.trace` returns every layer's output.
"""

import matplotlib.pyplot as plt
import numpy as np

from fastconv import train

# a few epochs are enough for clear feature maps (fastconv train runs 30 for 98%)
model, hist = train.fit(epochs=8, seed=0)
print(f"held-out accuracy after {hist.epochs[-1]} epochs: {100 * hist.test_accuracy[-1]:.1f}%")

_, _, x_test, y_test = train.load_digits(seed=0)
x = x_test[:1]  # (1, 1, 8, 8)
model.eval()
trace = model.trace(x)
conv1 = trace[1][1][0]  # after the first ReLU: (6, 8, 8)
conv2 = trace[4][1][0]  # after the second ReLU: (16, 4, 4)
logits = trace[-1][1][0]

fig = plt.figure(figsize=(10, 5.5))
grid = fig.add_gridspec(4, 9)
ax = fig.add_subplot(grid[:2, :2])
ax.imshow(x[0, 0], cmap="gray")
ax.set_title(f"digit {y_test[0]}, predicted {int(np.argmax(logits))}")
for i in range(6):
    a = fig.add_subplot(grid[i // 3, 3 + i % 3])
    a.imshow(conv1[i], cmap="magma")
    a.set_title(f"conv1 #{i}", fontsize=8)
for i in range(16):
    a = fig.add_subplot(grid[2 + i // 8, 1 + i % 8])
    a.imshow(conv2[i], cmap="magma")
    a.set_title(f"conv2 #{i}", fontsize=8)
for a in fig.axes:
    a.set_axis_off()
fig.tight_layout()
plt.show()
