"""Public convolution: :func:`conv2d` (PyTorch ``torch.nn.functional.conv2d`` semantics)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastconv import _args, _conv, signal
from fastconv._omp import resolve_threads
from fastconv._args import IntPair

#: Accepted values of ``algorithm``; every one gives the same result within float tolerance.
ALGORITHMS = ("auto", "direct", "winograd", "winograd4", "fft")

#: Tile size m of the Winograd F(m x m, 3 x 3) algorithms.
_WINOGRAD_TILE = {"winograd": 2, "winograd4": 4}
#: Column dilations each handles: the dw column phases of a tile row are interleaved by a
#: perfect shuffle of m * dw vectors, so m * dw must be 2, 4 or 8 (any row dilation).
_WINOGRAD_COLUMN_DILATIONS = {"winograd": (1, 2, 4), "winograd4": (1, 2)}

# "auto" uses Winograd for 3x3 layers with unit stride from these channel counts (per group,
# input and output) and output width (dilated layers: below).  Measured on AVX-512 (1 and 2
# threads) against the direct kernels: F(2x2, 3x3) in float32 1.1-1.5x faster with >= 32
# channels on planes >= 56 wide, slower with 16 channels or on 14-28 wide planes (0.5-1.0x);
# F(4x4, 3x3) in float64 1.1-1.7x on the same shapes.
_WINOGRAD_MIN_CHANNELS = 32
# float32 results must be no less accurate than PyTorch's.  F(2x2, 3x3) sums its products in
# blocks of 16 channels, but its transforms add rounding the direct kernels do not have: RMS
# error against float64, relative to PyTorch's, 0.75 with 32 input channels, 0.83 with 128,
# 0.89 with 256, 0.99 with 512 (the direct kernels: 0.74-0.77).  So float32 "auto" takes it up
# to this many input channels per group; F(4x4, 3x3), with about ten times the error, float64
# only.
_WINOGRAD_MAX_CHANNELS_F32 = 128
_WINOGRAD_MIN_WIDTH = 48
# A column dilation dw splits each output row into dw phases ceil(W_out / dw) wide, each a
# run of tiles in the vector lanes; "auto" wants them at least this wide (a full 16-lane
# vector of F(2x2) tiles).  C10 (32 channels, 64 wide, dilation 2): 1.19x the direct kernels
# on 1 and 2 threads; 24-wide phases 0.9x, 16-wide 0.6x; 64 channels 1.3x; float64 with
# F(4x4, 3x3) 1.5-1.9x on 32-wide phases.
_WINOGRAD_MIN_PHASE_WIDTH = 32


def _winograd_ok(a: _args.ConvArgs, algorithm: str) -> bool:
    """Whether the Winograd ``algorithm`` handles the layer: a 3x3 kernel, unit stride, any
    row dilation and a column dilation of ``_WINOGRAD_COLUMN_DILATIONS``."""
    return (a.w.shape[2:] == (3, 3) and a.stride == (1, 1)
            and a.dilation[1] in _WINOGRAD_COLUMN_DILATIONS[algorithm])


def _fft_ok(a: _args.ConvArgs) -> bool:
    """Whether "fft" handles the layer: each output channel reads exactly one input channel
    (one channel, or depthwise without a channel multiplier), unit stride and dilation."""
    cout, cg = a.w.shape[:2]
    return cg == 1 and cout == a.groups and a.stride == (1, 1) and a.dilation == (1, 1)


def _algorithm(a: _args.ConvArgs, algorithm: str) -> str:
    """The algorithm that runs: ``algorithm`` checked against the layer, or auto's choice."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv2d: algorithm={algorithm!r} must be one of "
                         f"{', '.join(repr(x) for x in ALGORITHMS)}")
    cout, cg, kh, kw = a.w.shape
    if algorithm == "auto":
        # one-channel layers: correlate2d's rule (signal.fft_pays: the crossovers of the
        # FFT and the direct kernels they share)
        if _fft_ok(a) and signal.fft_pays(kh * kw, a.out_shape[2] * a.out_shape[3]):
            return "fft"
        pick = "winograd" if a.dtype == np.float32 else "winograd4"
        dw = a.dilation[1]
        width = -(-a.out_shape[3] // dw)
        if (_winograd_ok(a, pick) and cg >= _WINOGRAD_MIN_CHANNELS
                and (a.dtype == np.float64 or cg <= _WINOGRAD_MAX_CHANNELS_F32)
                and cout // a.groups >= _WINOGRAD_MIN_CHANNELS
                and width >= (_WINOGRAD_MIN_WIDTH if dw == 1 else _WINOGRAD_MIN_PHASE_WIDTH)):
            return pick
        return "direct"
    if algorithm == "fft" and not _fft_ok(a):
        raise ValueError(f"conv2d: algorithm='fft' needs one input channel per output channel "
                         f"(C_in / groups = 1 and C_out = groups) with stride 1 and dilation 1, got "
                         f"weight shape {tuple(a.w.shape)}, groups={a.groups}, stride {a.stride}, "
                         f"dilation {a.dilation}")
    if algorithm not in ("direct", "fft") and not _winograd_ok(a, algorithm):
        *most, last = (str(d) for d in _WINOGRAD_COLUMN_DILATIONS[algorithm])
        dws = f"{', '.join(most)} or {last}"
        raise ValueError(f"conv2d: algorithm={algorithm!r} needs a 3x3 kernel with stride 1 and a "
                         f"column dilation of {dws}, got a {kh}x{kw} kernel, stride {a.stride}, "
                         f"dilation {a.dilation}")
    return algorithm


def _exact_for_nonfinite(a: _args.ConvArgs, method: str) -> str:
    """``method``, or "direct" where it would not keep the direct kernels' pattern of NaN and
    +-inf: Winograd mixes every input of a tile into every output of it (an infinite pixel
    became NaN, in F(4x4, 3x3) beyond the windows that read it), so a non-finite input or
    weight takes the direct kernels.  The FFT handles its own non-finite tiles (see
    :func:`fastconv.signal._fft`).  One pass over the input, Winograd calls only."""
    if method in _WINOGRAD_TILE and not (_conv.all_finite(a.w) and _conv.all_finite(a.x)):
        return "direct"
    return method


def conv2d(input: Any, weight: Any, bias: Any = None, stride: IntPair = 1, padding: Any = 0,
           dilation: IntPair = 1, groups: int = 1, padding_mode: str = "zeros", *,
           out: Optional[np.ndarray] = None, num_threads: Optional[int] = None,
           algorithm: str = "auto") -> Any:
    """2-D convolution (cross-correlation, no kernel flip) with PyTorch's semantics.

    Each output channel ``o`` of group ``g`` is the sum over that group's input channels of
    the correlation of the (padded) input plane with ``weight[o, c]``, sampled every
    ``stride`` and with the kernel taps ``dilation`` apart, plus ``bias[o]``.

    Parameters
    ----------
    input : ndarray of shape (N, C_in, H, W) or (C_in, H, W)
        NumPy or CuPy array, any strides; never modified.  An unbatched input gives an
        unbatched result.  ``N`` may be 0 (an empty result) and ``C_in`` may be 0 (as in
        PyTorch: every output is an empty sum, so the result is the bias, or zeros).
    weight : ndarray of shape (C_out, C_in // groups, kH, kW)
    bias : ndarray of shape (C_out,), optional
    stride : int or (int, int), default 1
        Step between output samples, each >= 1.
    padding : int, (pH, pW), ((top, bottom), (left, right)), "valid" or "same", default 0
        "same" keeps ``H_out = ceil(H / stride)``; the odd extra pixel goes bottom/right.
    dilation : int or (int, int), default 1
        Spacing between kernel taps, each >= 1.
    groups : int, default 1
        Must divide C_in and C_out; ``groups == C_in`` is a depthwise convolution.
    padding_mode : {"zeros", "reflect", "replicate", "circular", "symmetric"}, default "zeros"
        How the border is filled; any padding size is allowed and equals
        ``numpy.pad(input, pads, mode)`` with constant/reflect/edge/wrap/symmetric.
    out : ndarray, optional
        Destination of the result's exact shape and dtype.
    num_threads : int, optional
        Threads for this call; None uses :func:`fastconv.get_num_threads`.
    algorithm : {"auto", "direct", "winograd", "winograd4", "fft"}, default "auto"
        "direct": register-blocked direct convolution over packed input bands (handles every
        configuration); its float32 sums run in blocks of about 80 products, with an error
        no larger than PyTorch's.  "winograd": Winograd F(2x2, 3x3), 4 instead of 9
        multiply-adds per output and input channel; its float32 error is 0.75-0.83x
        PyTorch's up to 128 input channels, 0.99x with 512 (sums in blocks of 16 channels);
        "winograd4": F(4x4, 3x3), 2.25 multiply-adds, about ten times the float32 rounding
        error of "direct".  Both need a 3x3 kernel with
        stride 1 (any padding, mode or groups); a dilated layer runs as one undilated
        Winograd convolution per row and column phase of the output, for any row dilation
        and a column dilation of 1, 2 or 4 ("winograd4": 1 or 2).  "auto" picks Winograd for
        such layers with at least 32 channels per group in and out on planes at least 48 wide
        (column-dilated: phases ``ceil(W_out / dilation)`` at least 32 wide): "winograd" for
        float32 up to 128 input channels per group, "winograd4" for float64.  "fft": overlap-save FFT (as
        :func:`fastconv.correlate2d`'s), for layers with one input channel per output channel
        (``C_in / groups == 1`` and ``C_out == groups``), stride 1 and dilation 1, any
        padding; "auto" picks it for such layers where correlate2d does: from 25x25 kernel
        taps (19x19 with 256-bit direct kernels) on output planes of at least 512 x 1024
        pixels.  "direct" otherwise.  Every algorithm gives the direct kernels' pattern of
        NaN, +inf and -inf: Winograd calls with a non-finite input or weight, and FFT tiles
        or kernels holding one, run the direct kernels.  "direct" is exact per element (each
        output's error is relative to the sum of its products' magnitudes); "winograd",
        "winograd4" and "fft" per maximum (relative to the largest values of a tile or
        plane).  CuPy arrays always run the CUDA direct kernel.

    Returns
    -------
    ndarray of shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        dtype float32 or float64 (``np.result_type(input, weight, np.float32)``), with
        ``H_out = floor((H + pad_top + pad_bottom - dilation*(kH-1) - 1) / stride) + 1``.

    Raises
    ------
    ValueError
        Bad shapes, channel/group mismatch, strides/dilations < 1, negative padding, unknown
        padding or padding_mode, a kernel larger than the padded input, a wrong ``out``, an
        unknown ``algorithm`` or a Winograd or FFT one for a layer it does not handle.
    TypeError
        Complex or non-numeric input, NumPy and CuPy arrays mixed, non-int parameters.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 3, 3), dtype=np.float32)
    >>> fastconv.conv2d(x, w)[0, 0]
    array([[45., 54.],
           [81., 90.]], dtype=float32)
    """
    a = _args.conv2d_args(input, weight, bias, stride, padding, dilation, groups, padding_mode)
    resolve_threads(num_threads)
    method = _algorithm(a, algorithm)
    shape = a.out_shape if a.batched else a.out_shape[1:]
    if a.x.shape[1] == 0:  # no input channel: every output is the empty sum, 0, plus the bias
        return _args.fill_bias(a, out, shape, "conv2d", (input, weight, bias))
    if _args.is_cupy(a.x):
        from fastconv import cuda

        return cuda.conv2d(a, out=out)
    buf, user_out = _args.result_buffer(out, shape, a.out_shape, a.dtype, "conv2d", (input, weight, bias))
    if buf.size == 0:
        return _args.finish(buf, user_out, shape)
    method = _exact_for_nonfinite(a, method)
    if method == "direct":
        _conv.conv2d_direct(a.x, a.w, a.bias, buf, a.groups, a.stride[0], a.stride[1],
                            a.dilation[0], a.dilation[1], a.pads[0], a.pads[2], a.mode, 0.0,
                            num_threads)
    elif method == "fft":
        signal._fft(a.x, a.w[:, 0], a.pads, a.mode, 0.0, buf, num_threads)
        if a.bias is not None:
            buf += a.bias[:, None, None]
    else:
        _conv.conv2d_winograd(a.x, a.w, a.bias, buf, a.groups, a.pads[0], a.pads[2],
                              a.dilation[0], a.dilation[1], a.mode, 0.0, _WINOGRAD_TILE[method],
                              num_threads)
    return _args.finish(buf, user_out, shape)
