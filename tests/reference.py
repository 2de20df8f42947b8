"""Independent references for the tests: SciPy and plain float64 NumPy loops.

Nothing here calls fastconv, so a bug in the library cannot hide in its own reference.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate

NUMPY_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap", "symmetric": "symmetric"}


def conv2d_ref(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1,
               padding_mode="zeros"):
    """conv2d in float64: numpy.pad, then scipy.signal.correlate (method="direct") of each
    (output channel, input channel) pair with the zero-dilated kernel, summed over the group's
    input channels, subsampled by the stride, plus bias.  x is 4-D, pads (t, b, l, r)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    N, C, H, W = x.shape
    Cout, Cg, kH, kW = w.shape
    t, bo, l, r = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)), mode=NUMPY_PAD[padding_mode])
    dh, dw = dilation
    wd = np.zeros((Cout, Cg, dh * (kH - 1) + 1, dw * (kW - 1) + 1))
    wd[:, :, ::dh, ::dw] = w
    coutg = Cout // groups
    sh, sw = stride
    Ho = (xp.shape[2] - wd.shape[2]) // sh + 1
    Wo = (xp.shape[3] - wd.shape[3]) // sw + 1
    out = np.zeros((N, Cout, Ho, Wo))
    for n in range(N):
        for o in range(Cout):
            g = o // coutg
            acc = np.zeros((xp.shape[2] - wd.shape[2] + 1, xp.shape[3] - wd.shape[3] + 1))
            for c in range(Cg):
                acc += correlate(xp[n, g * Cg + c], wd[o, c], mode="valid", method="direct")
            out[n, o] = acc[::sh, ::sw][:Ho, :Wo]
            if b is not None:
                out[n, o] += float(b[o])
    return out


def tol(dtype, scale=1.0, terms=1):
    """(rtol, atol) for comparing a result of ``dtype`` with a float64 reference whose
    entries are sums of ``terms`` products of magnitude about ``scale``."""
    eps = np.finfo(dtype).eps
    atol = 8 * eps * scale * max(terms, 1) ** 0.5 * 4
    return 8 * eps * 16, atol
