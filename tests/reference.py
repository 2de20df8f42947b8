"""Independent references for the tests: SciPy and plain float64 NumPy loops.

Nothing here calls fastconv, so a bug in the library cannot hide in its own reference.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate

NUMPY_PAD = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
    "symmetric": "symmetric",
}


def conv2d_ref(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, padding_mode="zeros"):
    """conv2d in float64: numpy.pad, then scipy.signal.correlate (method="direct") of each
    (output channel, input channel) pair, summed over the group's input channels, subsampled
    by the stride, plus bias.  x is 4-D, pads (t, b, l, r).  A dilated kernel is correlated
    with each (row, column) dilation phase of the padded input, so that only the kernel's
    taps form products (a zero-dilated kernel would multiply the input between taps by 0,
    and a NaN or inf there would spoil outputs that never read it)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    N, C, H, W = x.shape
    Cout, Cg, kH, kW = w.shape
    t, bo, l, r = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)), mode=NUMPY_PAD[padding_mode])
    dh, dw = dilation
    coutg = Cout // groups
    sh, sw = stride
    Hv = xp.shape[2] - dh * (kH - 1)  # rows and columns of the unit-stride result
    Wv = xp.shape[3] - dw * (kW - 1)
    Ho = (Hv - 1) // sh + 1
    Wo = (Wv - 1) // sw + 1
    out = np.zeros((N, Cout, Ho, Wo))
    for n in range(N):
        for o in range(Cout):
            g = o // coutg
            acc = np.zeros((Hv, Wv))
            for c in range(Cg):
                for ph in range(min(dh, Hv)):
                    for pw in range(min(dw, Wv)):
                        # rows ph, ph + dh, ... of the result read rows ph + (a + kh) dh
                        y = correlate(xp[n, g * Cg + c, ph::dh, pw::dw], w[o, c], mode="valid", method="direct")
                        acc[ph::dh, pw::dw] += y
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


def pool_out(n, k, s, p, d, ceil):
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def max_pool_ref(x, k, s, p, d, ceil):
    """Max pooling by explicit loops over a -inf padded float64 copy.  Returns values and
    PyTorch-convention indices (first max wins; NaN wins and the last NaN's index is kept;
    an all -inf window keeps its first real element's index)."""
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    Ho, Wo = pool_out(H, k[0], s[0], p[0], d[0], ceil), pool_out(W, k[1], s[1], p[1], d[1], ceil)
    vals = np.empty((N, C, Ho, Wo))
    idx = np.empty((N, C, Ho, Wo), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                for ow in range(Wo):
                    best, bi = -np.inf, None
                    for i in range(k[0]):
                        h = oh * s[0] - p[0] + i * d[0]
                        if not 0 <= h < H:
                            continue
                        for j in range(k[1]):
                            w = ow * s[1] - p[1] + j * d[1]
                            if not 0 <= w < W:
                                continue
                            v = x[n, c, h, w]
                            if bi is None:
                                bi = h * W + w
                            if v > best or np.isnan(v):
                                best, bi = v, h * W + w
                    vals[n, c, oh, ow], idx[n, c, oh, ow] = best, bi
    return vals, idx


def avg_pool_ref(x, k, s, p, ceil, count_include_pad, divisor_override):
    """Average pooling by explicit loops (PyTorch's divisor rules)."""
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    Ho, Wo = pool_out(H, k[0], s[0], p[0], 1, ceil), pool_out(W, k[1], s[1], p[1], 1, ceil)
    out = np.empty((N, C, Ho, Wo))
    for oh in range(Ho):
        for ow in range(Wo):
            h0, w0 = oh * s[0] - p[0], ow * s[1] - p[1]
            h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
            hs, ws, he, we = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            total = x[:, :, hs:he, ws:we].sum(axis=(2, 3))
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = (h1 - h0) * (w1 - w0)
            else:
                div = (he - hs) * (we - ws)
            out[:, :, oh, ow] = total / div
    return out
