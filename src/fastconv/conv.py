"""Public convolution: :func:`conv2d` (PyTorch ``torch.nn.functional.conv2d`` semantics)."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from fastconv import _args, _buffers, _depthwise, _engine, _fft, _plan, _separable
from fastconv._args import IntPair
from fastconv.typing import Algorithm, ArrayLike, MemoryFormat, NDArray, Padding, PaddingMode

#: Accepted values of ``algorithm``; every one gives the same result within float tolerance.
ALGORITHMS = _plan.ALGORITHMS
#: Accepted values of ``memory_format``.
MEMORY_FORMATS = _args.MEMORY_FORMATS


def conv2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: Optional[ArrayLike] = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    out: Optional[NDArray] = None,
    num_threads: Optional[int] = None,
    algorithm: Algorithm = "auto",
    memory_format: MemoryFormat = "contiguous",
) -> NDArray:
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
        "direct": the direct kernels (handles every configuration; which tile or in-place
        kernel runs is the planner's choice, see :func:`fastconv.explain`); its float32
        sums run in blocks of about 80 products, with an error no larger than PyTorch's.
        "winograd": Winograd F(2x2, 3x3), 4 instead of 9 multiply-adds per output and input
        channel; its float32 error is 0.94-0.98x PyTorch's on ReLU-like inputs and
        0.78-0.85x on normal ones from 32 to 512 input channels (sums in blocks of 16
        channels, groups of 4 blocks); narrow planes share the vector lanes among the tiles
        of several rows and images; "winograd4": F(4x4, 3x3), 2.25
        multiply-adds, about ten times the float32 rounding error of "direct".  Both need a
        3x3 kernel with
        stride 1 (any padding, mode or groups); a dilated layer runs as one undilated
        Winograd convolution per row and column phase of the output, for any row dilation
        and a column dilation of 1, 2 or 4 ("winograd4": 1 or 2).  "auto" picks Winograd for
        such layers with at least 32 channels per group in and out whose tiles fill the
        vector lanes and with enough work (column-dilated: phases ``ceil(W_out / dilation)``
        at least 32 wide; see :func:`fastconv.explain`): "winograd" for float32 up to 512
        input channels per group, "winograd4" for float64.  "fft": overlap-save FFT (as
        :func:`fastconv.correlate2d`'s), for layers with one input channel per output channel
        (``C_in / groups == 1`` and ``C_out == groups``), stride 1 and dilation 1, any
        padding; "auto" picks it for such layers where correlate2d does (big kernels on
        big planes), and before it, like correlate2d, the separable passes (a column pass
        then a row pass of the direct kernels) when every kernel of such a layer has more
        than 9 taps and is an outer product to 8 ulps of every tap (Gaussian and box
        filters).  "direct" otherwise.  Every algorithm gives the direct kernels' pattern of
        NaN, +inf and -inf: Winograd calls with a non-finite input or weight, and FFT tiles
        or kernels holding one, run the direct kernels.  "direct" is exact per element (each
        output's error is relative to the sum of its products' magnitudes); "winograd",
        "winograd4" and "fft" per maximum (relative to the largest values of a tile or
        plane).  CuPy arrays always run the CUDA direct kernel.
    memory_format : {"contiguous", "preserve", "channels_last"}, default "contiguous"
        Layout of the result (ignored with ``out``): "contiguous" a C-contiguous (N, C, H,
        W) array; "channels_last" an (N, C, H, W) view of channels-last memory (the array
        ``y.transpose(0, 2, 3, 1)`` is C-contiguous), PyTorch's ``channels_last``;
        "preserve" channels-last for a channels-last input (channel stride one element,
        e.g. ``x_nhwc.transpose(0, 3, 1, 2)``), else contiguous.  Channels-last input is
        read where it lies; depthwise layers on it run a kernel with the channels across
        the vector lanes, fastest with a channels-last result.

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
    return _conv2d(
        input,
        weight,
        bias,
        stride,
        padding,
        dilation,
        groups,
        padding_mode,
        out,
        num_threads,
        algorithm,
        None,
        memory_format=memory_format,
    )


def _conv2d(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    padding_mode: str,
    out: Optional[np.ndarray],
    num_threads: Optional[int],
    algorithm: str,
    force: Optional[_plan.Force],
    fn: str = "conv2d",
    memory_format: str = "contiguous",
) -> Any:
    """conv2d with a :class:`fastconv._plan.Force` (tests): validate, plan, run.  ``fn``
    names the public function in error messages (conv1d and conv3d run through here)."""
    _args.check_memory_format(memory_format, fn)  # before any kind returns
    a = _args.conv2d_args(input, weight, bias, stride, padding, dilation, groups, padding_mode, fn)
    last = out is None and a.out_shape[1] > 1 and _args.wants_channels_last(memory_format, a.x, fn)
    plan = _plan.conv2d(a, algorithm, num_threads, force, last, run_checks_weights=True)
    shape = a.out_shape if a.batched else a.out_shape[1:]
    if plan.kind == _plan.Kind.BIAS_ONLY:
        return _args.fill_bias(a, out, shape, fn, (input, weight, bias))
    if _args.is_cupy(a.x):
        from fastconv import cuda

        return cuda.conv2d(a, out=out, kernel=cuda.KIND_KERNELS[plan.kind])
    if last:
        # a channels-last result: (N, C, H, W) view of (N, H, W, C) memory, which DW_NHWC,
        # DW_PLANE and the channel-lane tiles write directly and every other kind through a
        # copy of its C-contiguous result
        N, C, Ho, Wo = a.out_shape
        nhwc = _buffers.empty((N, Ho, Wo, C), a.dtype).transpose(0, 3, 1, 2)
        if plan.kind in (_plan.Kind.DW_NHWC, _plan.Kind.DW_PLANE, _plan.Kind.LANES):
            if nhwc.size:
                _engine.run(plan, a, nhwc, 0.0)
        else:
            res = _run(plan, a, None, shape, fn, (input, weight, bias), num_threads).reshape(a.out_shape)
            _depthwise.planes_to_channels_last(res, nhwc.transpose(0, 2, 3, 1), _plan.vector_bytes(), num_threads)
        return nhwc if a.batched else nhwc[0]
    return _run(plan, a, out, shape, fn, (input, weight, bias), num_threads)


def _run_checked(a: _args.ConvArgs, num_threads: Optional[int] = None) -> np.ndarray:
    """conv2d of NumPy arguments already validated and kernel-ready (``a.batched``), into a
    new C-contiguous result: the gradients' internal convolutions, which need none of
    conv2d's argument handling."""
    plan = _plan.conv2d(a, "auto", num_threads, run_checks_weights=True)
    if plan.kind == _plan.Kind.BIAS_ONLY:
        return _args.fill_bias(a, None, a.out_shape, "conv2d", (a.x, a.w))
    if plan.kind in (_plan.Kind.SEPARABLE, _plan.Kind.FFT):
        return _run(plan, a, None, a.out_shape, "conv2d", (a.x, a.w), num_threads)
    # the engine's kinds straight into a new result: none of _run's handling of a user's out,
    # per-call work that shows on LeNet-sized gradients
    buf = _buffers.empty(a.out_shape, a.dtype)
    if buf.size:
        _engine.run(plan, a, buf, 0.0)
    return buf


def _run(
    plan: _plan.Plan,
    a: _args.ConvArgs,
    out: Optional[np.ndarray],
    shape: Tuple[int, ...],
    fn: str,
    inputs: Tuple[Any, ...],
    num_threads: Optional[int],
) -> np.ndarray:
    """Run a NumPy plan into ``out`` (or a new C-contiguous result) of public ``shape``."""
    buf, user_out = _args.result_buffer(out, shape, a.out_shape, a.dtype, fn, inputs)
    if buf.size == 0:
        return _args.finish(buf, user_out, shape)
    if plan.kind == _plan.Kind.SEPARABLE:
        factors = _separable.factors(a.w[:, 0])
        assert factors is not None  # the planner took this kind because it is not
        _engine.separable(a.x, *factors, a.pads, a.mode, 0.0, buf, plan.threads)
        if a.bias is not None:
            buf += a.bias[:, None, None]
    elif plan.kind == _plan.Kind.FFT:
        _fft.overlap_save(a.x, a.w[:, 0], a.pads, a.mode, 0.0, buf, num_threads)
        if a.bias is not None:
            buf += a.bias[:, None, None]
    else:
        _engine.run(plan, a, buf, 0.0)
    return _args.finish(buf, user_out, shape)


def explain(
    input: ArrayLike,
    weight: ArrayLike,
    bias: Optional[ArrayLike] = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    num_threads: Optional[int] = None,
    algorithm: Algorithm = "auto",
    dtype: Any = np.float32,
    memory_format: MemoryFormat = "contiguous",
) -> _plan.Plan:
    """Which kernel :func:`conv2d` runs for these arguments, and why.

    Takes conv2d's arguments (arrays, or shapes as tuples of ints, which stand for
    C-contiguous arrays of zeros of ``dtype``) and returns the planner's :class:`~fastconv._plan.Plan`
    without computing anything: ``plan.kind`` names the kernel, ``plan.reason`` the rule that
    chose it, and ``print(plan)`` shows both with the block sizes.  The choice depends on
    the shapes, strides, dtype, thread count and CPU, and for Winograd and the in-place
    kernels on whether the arrays hold NaN or +-inf; ``docs/architecture.md`` tabulates it.

    Parameters
    ----------
    input, weight, bias, stride, padding, dilation, groups, padding_mode, num_threads, algorithm, memory_format
        As for :func:`conv2d` (without ``out=``).
    dtype : dtype, default float32
        The dtype of the arrays that shapes stand for.

    Returns
    -------
    fastconv._plan.Plan

    Raises
    ------
    ValueError, TypeError
        As :func:`conv2d` would for these arguments.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.explain((8, 64, 56, 56), (64, 64, 3, 3), padding=1, num_threads=1).algorithm
    'winograd'
    >>> fastconv.explain((1, 1, 512, 512), (1, 1, 3, 3), padding=1).kind.name
    'DW_SWEEP'
    """

    def stand_in(v: Any, name: str) -> Any:
        if isinstance(v, tuple) and all(type(d) is int for d in v):
            if any(d < 0 for d in v):
                raise ValueError(f"explain: {name} shape {v} has a negative dimension")
            return np.zeros(v, dtype)  # pages of zeros are mapped on first read only
        return v

    a = _args.conv2d_args(
        stand_in(input, "input"),
        stand_in(weight, "weight"),
        stand_in(bias, "bias"),
        stride,
        padding,
        dilation,
        groups,
        padding_mode,
        fn="explain",
    )
    last = a.out_shape[1] > 1 and _args.wants_channels_last(memory_format, a.x, "explain")
    plan = _plan.conv2d(a, algorithm, num_threads, None, last)
    if plan.exact is not None and not _plan.all_finite(a.x):  # what Winograd falls back to
        return plan.exact
    return plan


def conv_transpose2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: Optional[ArrayLike] = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
    *,
    out: Optional[NDArray] = None,
    num_threads: Optional[int] = None,
) -> NDArray:
    """2-D transposed convolution with PyTorch's semantics (``F.conv_transpose2d``).

    The adjoint of :func:`conv2d`: each input pixel scatters ``weight``, scaled by its
    value, into the output at ``stride`` spacing; equivalently the gradient of a conv2d
    with respect to its input.  ``padding`` crops that many rows and columns from each
    side of the full result and ``output_padding`` adds rows and columns at the bottom and
    right (receiving only the bias), to pick one of the input sizes a strided conv2d maps
    to the same output size.

    Parameters
    ----------
    input : ndarray of shape (N, C_in, H, W) or (C_in, H, W)
    weight : ndarray of shape (C_in, C_out // groups, kH, kW)
        PyTorch's layout for transposed convolutions (in and out swapped against conv2d).
    bias : ndarray of shape (C_out,), optional
    stride, padding, output_padding, dilation : int or (int, int)
        ``stride`` and ``dilation`` >= 1, ``padding`` and ``output_padding`` >= 0, and
        ``output_padding`` smaller than the stride or the dilation of its axis.
    groups : int, default 1
        Must divide C_in; each group maps C_in / groups channels to C_out / groups.
    out : ndarray, optional
        Destination of the result's exact shape and dtype.
    num_threads : int, optional
        Threads for this call.

    Returns
    -------
    ndarray of shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
        ``H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1``;
        float32 or float64.  It runs as one :func:`conv2d` per phase of the stride (see
        :mod:`fastconv.grad`), so the work equals a conv2d's with the same weight.

    Raises
    ------
    ValueError
        Bad shapes, channel/group mismatch, an output_padding not below the stride or the
        dilation, an empty output, a wrong ``out``.
    TypeError
        Complex or non-numeric arrays, CuPy arrays, non-int parameters.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.ones((1, 2, 2), dtype=np.float32)
    >>> fastconv.conv_transpose2d(x, np.ones((1, 1, 2, 2), dtype=np.float32), stride=1)[0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    from fastconv import grad

    fn = "conv_transpose2d"
    if _args.array_kind(fn, input=input, weight=weight, bias=bias) == "cupy":
        raise TypeError(f"{fn}: CuPy arrays are not supported yet; pass NumPy arrays")
    input = _args.to_numpy(input, "input", fn)
    weight = _args.to_numpy(weight, "weight", fn)
    if bias is not None:
        bias = _args.to_numpy(bias, "bias", fn)
    dtype = _args.result_dtype(fn, input=input, weight=weight, bias=bias)
    if input.ndim not in (3, 4):
        raise ValueError(f"{fn}: input must be 3-D (C_in, H, W) or 4-D (N, C_in, H, W), got shape {input.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{fn}: weight must be 4-D (C_in, C_out/groups, kH, kW), got shape {weight.shape}")
    batched = input.ndim == 4
    x = input if batched else input[None]
    N, C, H, W = x.shape
    Cw, og, kH, kW = weight.shape
    g = _args.check_int(groups, "groups", fn, 1)
    if H < 1 or W < 1:
        raise ValueError(f"{fn}: input shape {input.shape} has an empty spatial dimension")
    if Cw != C:
        raise ValueError(f"{fn}: weight.shape[0]={Cw} must equal in_channels={C} (input shape {input.shape})")
    if C % g:
        raise ValueError(f"{fn}: groups={g} must divide in_channels={C}")
    if og < 1 or kH < 1 or kW < 1:
        raise ValueError(f"{fn}: weight shape {weight.shape} has an empty dimension")
    s = _args.as_pair(stride, "stride", fn, 1)
    d = _args.as_pair(dilation, "dilation", fn, 1)
    p = _args.as_pair(padding, "padding", fn, 0)
    op = _args.as_pair(output_padding, "output_padding", fn, 0)
    for i, axis in enumerate("hw"):
        if op[i] >= max(s[i], d[i]):
            raise ValueError(
                f"{fn}: output_padding={op} must be smaller than the stride {s[i]} or the dilation {d[i]} along {axis}"
            )
    full = ((H - 1) * s[0] + d[0] * (kH - 1) + 1, (W - 1) * s[1] + d[1] * (kW - 1) + 1)
    Ho = full[0] - 2 * p[0] + op[0]
    Wo = full[1] - 2 * p[1] + op[1]
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{fn}: padding={p} leaves an empty output ({Ho}, {Wo}) for input size ({H}, {W})")
    Cout = og * g
    _args.check_bias(bias, Cout, fn)
    out_shape = (N, Cout, Ho, Wo)
    _args.check_result_size(out_shape, 8, fn, "the configuration is too large")
    shape = out_shape if batched else out_shape[1:]
    buf, user_out = _args.result_buffer(out, shape, out_shape, dtype, fn, (input, weight, bias))
    if buf.size and C:
        xk = _args.kernel_ready(x, dtype)
        wk = _args.kernel_ready(weight, dtype)
        # the transposed convolution of x is conv2d's input gradient for a conv2d whose
        # weight is `weight` (C_in "outputs", C_out / groups "inputs"): rows p.. of the
        # full result land in the output, the output_padding rows past it are zero
        grad._transpose_into(xk, wk, s, d, g, buf, num_threads, (p[0], p[1]))
    else:
        buf[...] = 0
    if bias is not None:
        buf += np.asarray(bias, dtype=dtype)[:, None, None]
    return _args.finish(buf, user_out, shape)
