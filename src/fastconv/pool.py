"""Public pooling: :func:`max_pool2d`, :func:`avg_pool2d`, :func:`max_unpool2d` (PyTorch
semantics, CPU kernels in :mod:`fastconv._pool`, CuPy kernels in :mod:`fastconv.cuda`)."""

from __future__ import annotations

from typing import Any, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np

from fastconv import _args, _buffers, _plan, _pool
from fastconv._args import IntPair
from fastconv._omp import resolve_threads
from fastconv.typing import ArrayLike, MemoryFormat, NDArray


def _prepare(fn: str, input: Any) -> Tuple[Any, np.dtype]:
    kind = _args.array_kind(fn, input=input)
    if kind == "numpy":
        input = _args.to_numpy(input, "input", fn)
    dtype = _args.result_dtype(fn, input=input)
    return input, dtype


@overload
def max_pool2d(
    input: ArrayLike,
    kernel_size: IntPair,
    stride: Optional[IntPair] = ...,
    padding: IntPair = ...,
    dilation: IntPair = ...,
    ceil_mode: bool = ...,
    return_indices: Literal[False] = ...,
    *,
    num_threads: Optional[int] = ...,
    memory_format: MemoryFormat = ...,
) -> NDArray: ...
@overload
def max_pool2d(
    input: ArrayLike,
    kernel_size: IntPair,
    stride: Optional[IntPair] = ...,
    padding: IntPair = ...,
    dilation: IntPair = ...,
    ceil_mode: bool = ...,
    *,
    return_indices: Literal[True],
    num_threads: Optional[int] = ...,
    memory_format: MemoryFormat = ...,
) -> Tuple[NDArray, NDArray]: ...
@overload
def max_pool2d(
    input: ArrayLike,
    kernel_size: IntPair,
    stride: Optional[IntPair],
    padding: IntPair,
    dilation: IntPair,
    ceil_mode: bool,
    return_indices: Literal[True],
    *,
    num_threads: Optional[int] = ...,
    memory_format: MemoryFormat = ...,
) -> Tuple[NDArray, NDArray]: ...
@overload
def max_pool2d(
    input: ArrayLike,
    kernel_size: IntPair,
    stride: Optional[IntPair] = ...,
    padding: IntPair = ...,
    dilation: IntPair = ...,
    ceil_mode: bool = ...,
    return_indices: bool = ...,
    *,
    num_threads: Optional[int] = ...,
    memory_format: MemoryFormat = ...,
) -> Union[NDArray, Tuple[NDArray, NDArray]]: ...
def max_pool2d(
    input: ArrayLike,
    kernel_size: IntPair,
    stride: Optional[IntPair] = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    num_threads: Optional[int] = None,
    memory_format: MemoryFormat = "contiguous",
) -> Union[NDArray, Tuple[NDArray, NDArray]]:
    """2-D max pooling with PyTorch's semantics (``torch.nn.functional.max_pool2d``).

    Parameters
    ----------
    input : ndarray of shape (N, C, H, W) or (C, H, W)
        NumPy or CuPy array, any strides; never modified.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int), default 0
        Implicit -inf padding on both sides, at most half the kernel size.
    dilation : int or (int, int), default 1
    ceil_mode : bool, default False
        Round the output size up; a last window that would start in the bottom/right padding
        is dropped.
    return_indices : bool, default False
        Also return the int64 flat index ``h * W + w`` of each maximum in its input plane.
    num_threads : int, optional
        Threads for this call.
    memory_format : {"contiguous", "preserve", "channels_last"}, default "contiguous"
        Layout of the result (and indices), as for :func:`fastconv.conv2d`: "contiguous"
        C-contiguous (N, C, H_out, W_out); "channels_last" an (N, C, H_out, W_out) view of
        channels-last memory; "preserve" channels-last for a channels-last input.
        Channels-last input (``x_nhwc.transpose(0, 3, 1, 2)``, PyTorch's
        ``channels_last``) is read where it lies, the channels across the vector lanes.

    Returns
    -------
    ndarray of shape (N, C, H_out, W_out) or (C, H_out, W_out), or (values, indices)
        float32 or float64 values (other real dtypes are promoted), int64 indices.  Ties give
        the first maximum in row-major window order; a NaN in the window gives NaN and the
        index of the last NaN; a window of only -inf gives -inf and its first real index.

    Raises
    ------
    ValueError
        Bad shapes, padding above half the kernel, a window with no input element.
    TypeError
        Complex or non-numeric input, non-int parameters.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4)
    >>> fastconv.max_pool2d(x, 2)
    array([[[ 6.,  8.],
            [14., 16.]]], dtype=float32)
    """
    fn = "max_pool2d"
    _args.check_memory_format(memory_format, fn)
    x_in, dtype = _prepare(fn, input)
    batched, out_shape, k, s, p, d = _args.pool2d_geometry(
        x_in.shape, kernel_size, stride, padding, dilation, ceil_mode, fn
    )
    resolve_threads(num_threads)
    x = x_in if batched else x_in[None]
    if _args.is_cupy(x):
        from fastconv import cuda

        vals, idx = cuda.max_pool2d(x, dtype, out_shape, k, s, p, d, bool(return_indices))
    else:
        last = _args.wants_channels_last(memory_format, x, fn)
        if _plan.nhwc_pool(x, dtype):
            vals, idx = _nhwc(0, x, out_shape, dtype, k, s, p, d, bool(return_indices), True, 0, num_threads, last)
        else:
            x = _args.kernel_ready(x, dtype)
            vals = _buffers.empty(out_shape, dtype)
            idx = _buffers.empty(out_shape, np.int64) if return_indices else None
            _pool.max_pool2d(x, vals, idx, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], num_threads)
            if last:
                vals, idx = _to_channels_last(vals), None if idx is None else _to_channels_last(idx)
    if not batched:
        vals = vals[0]
        idx = idx[0] if idx is not None else None
    return (vals, idx) if return_indices else vals


def avg_pool2d(
    input: ArrayLike,
    kernel_size: IntPair,
    stride: Optional[IntPair] = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    *,
    num_threads: Optional[int] = None,
    memory_format: MemoryFormat = "contiguous",
) -> NDArray:
    """2-D average pooling with PyTorch's semantics (``torch.nn.functional.avg_pool2d``).

    Parameters
    ----------
    input : ndarray of shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int), default 0
        Zero padding on both sides, at most half the kernel size.
    ceil_mode : bool, default False
        Round the output size up (PyTorch's rule for the last window).
    count_include_pad : bool, default True
        Divide by the window clipped to the padded extent (True) or by the number of real
        elements in it (False).
    divisor_override : int, optional
        Divide every window's sum by this instead: any int but 0 (negative too, as PyTorch).
    num_threads : int, optional
    memory_format : {"contiguous", "preserve", "channels_last"}, default "contiguous"
        Layout of the result (and indices), as for :func:`fastconv.conv2d`: "contiguous"
        C-contiguous (N, C, H_out, W_out); "channels_last" an (N, C, H_out, W_out) view of
        channels-last memory; "preserve" channels-last for a channels-last input.
        Channels-last input (``x_nhwc.transpose(0, 3, 1, 2)``, PyTorch's
        ``channels_last``) is read where it lies, the channels across the vector lanes.

    Returns
    -------
    ndarray of shape (N, C, H_out, W_out) or (C, H_out, W_out), float32 or float64

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.avg_pool2d(np.arange(49.0).reshape(1, 7, 7), 2, stride=3, ceil_mode=True)[0]
    array([[ 4. ,  7. ,  9.5],
           [25. , 28. , 30.5],
           [42.5, 45.5, 48. ]])
    """
    fn = "avg_pool2d"
    _args.check_memory_format(memory_format, fn)
    x_in, dtype = _prepare(fn, input)
    batched, out_shape, k, s, p, _ = _args.pool2d_geometry(x_in.shape, kernel_size, stride, padding, 1, ceil_mode, fn)
    div = _args.avg_divisor(count_include_pad, divisor_override, fn)
    resolve_threads(num_threads)
    x = x_in if batched else x_in[None]
    if _args.is_cupy(x):
        from fastconv import cuda

        out = cuda.avg_pool2d(x, dtype, out_shape, k, s, p, bool(count_include_pad), div)
    else:
        last = _args.wants_channels_last(memory_format, x, fn)
        if _plan.nhwc_pool(x, dtype):
            out, _ = _nhwc(
                1, x, out_shape, dtype, k, s, p, (1, 1), False, bool(count_include_pad), div, num_threads, last
            )
        else:
            x = _args.kernel_ready(x, dtype)
            out = _buffers.empty(out_shape, dtype)
            _pool.avg_pool2d(x, out, k[0], k[1], s[0], s[1], p[0], p[1], bool(count_include_pad), div, num_threads)
            if last:
                out = _to_channels_last(out)
    return out if batched else out[0]


def _nhwc(
    op: int,
    x: np.ndarray,
    out_shape: Tuple[int, int, int, int],
    dtype: np.dtype,
    k: Tuple[int, int],
    s: Tuple[int, int],
    p: Tuple[int, int],
    d: Tuple[int, int],
    with_indices: bool,
    count_include_pad: bool,
    divisor: int,
    num_threads: Optional[int],
    last: bool,
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Pooling of channels-last x (N, C, H, W) read where it lies (pool/nhwc.h), op 0 max, 1
    average.  The result (and indices) are channels-last when ``last``, else C-contiguous,
    written through their transposed (N, H_out, W_out, C) views."""
    N, C, Ho, Wo = out_shape
    if last:
        vals = _buffers.empty((N, Ho, Wo, C), dtype).transpose(0, 3, 1, 2)
        idx = np.empty((N, Ho, Wo, C), np.int64).transpose(0, 3, 1, 2) if with_indices else None
    else:
        vals = _buffers.empty(out_shape, dtype)
        idx = _buffers.empty(out_shape, np.int64) if with_indices else None
    _pool.pool2d_nhwc(
        op,
        x.transpose(0, 2, 3, 1),
        vals.transpose(0, 2, 3, 1),
        None if idx is None else idx.transpose(0, 2, 3, 1),
        k[0],
        k[1],
        s[0],
        s[1],
        p[0],
        p[1],
        d[0],
        d[1],
        count_include_pad,
        divisor,
        num_threads,
    )
    return vals, idx


def _to_channels_last(a: np.ndarray) -> np.ndarray:
    """The (N, C, H, W) view of a channels-last copy of a."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def unpool_output_size(
    in_hw: Sequence[int],
    k: Tuple[int, int],
    s: Tuple[int, int],
    p: Tuple[int, int],
    output_size: Any,
    ndim: int,
    fn: str,
) -> Tuple[int, int]:
    """PyTorch's _unpool_output_size: the default ``(H_in - 1) * stride - 2 * pad + kernel``, or
    ``output_size`` (its last two entries), which must lie strictly within one stride of it."""
    default = tuple((n - 1) * s_ - 2 * p_ + k_ for n, k_, s_, p_ in zip(in_hw, k, s, p))
    if output_size is None:
        size = default
    else:
        size = tuple(output_size)
        if len(size) in (ndim, 4, 3) and len(size) > 2:
            size = size[-2:]
        if len(size) != 2:
            raise ValueError(f"{fn}: output_size={tuple(output_size)!r} must be (H, W) or the full output shape")
        size = tuple(_args.check_int(v, "output_size", fn, 1) for v in size)
        for i, axis in enumerate("HW"):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < size[i] < hi:
                raise ValueError(
                    f"{fn}: output_size {axis}={size[i]} must be between {lo} and {hi} "
                    f"(exclusive) for input size {in_hw[i]}, kernel {k[i]}, stride {s[i]}, "
                    f"padding {p[i]}"
                )
    if min(size) < 1:
        raise ValueError(f"{fn}: the output size {size} is empty")
    return (int(size[0]), int(size[1]))


def max_unpool2d(
    input: ArrayLike,
    indices: ArrayLike,
    kernel_size: IntPair,
    stride: Optional[IntPair] = None,
    padding: IntPair = 0,
    output_size: Optional[Sequence[int]] = None,
    *,
    num_threads: Optional[int] = None,
) -> NDArray:
    """Partial inverse of :func:`max_pool2d` (``torch.nn.functional.max_unpool2d``).

    Parameters
    ----------
    input : ndarray of shape (N, C, H_in, W_in) or (C, H_in, W_in)
        Pooled values.
    indices : integer ndarray of the same shape
        Flat plane indices, as returned by ``max_pool2d(..., return_indices=True)``.
    kernel_size, stride, padding
        Those of the pooling; ``stride=None`` means ``kernel_size``.
    output_size : sequence of int, optional
        ``(H, W)`` or the full output shape; by default
        ``(H_in - 1) * stride - 2 * padding + kernel_size``.
    num_threads : int, optional

    Returns
    -------
    ndarray of shape (N, C, H, W) or (C, H, W)
        Zeros, with ``input`` scattered to ``indices`` in each plane.

    Raises
    ------
    ValueError
        indices of another shape than input, an index outside the output plane, a bad
        output_size.
    TypeError
        Non-integer indices, NumPy and CuPy arrays mixed.
    """
    fn = "max_unpool2d"
    kind = _args.array_kind(fn, input=input, indices=indices)
    x_in: Any = input
    ix_in: Any = indices
    if kind == "numpy":
        x_in = _args.to_numpy(input, "input", fn)
        ix_in = _args.to_numpy(indices, "indices", fn)
    dtype = _args.result_dtype(fn, input=x_in)
    if ix_in.dtype.kind not in "iu":
        raise TypeError(f"{fn}: indices must be an integer array, got dtype {ix_in.dtype}")
    if x_in.ndim not in (3, 4):
        raise ValueError(f"{fn}: input must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {x_in.shape}")
    if tuple(ix_in.shape) != tuple(x_in.shape):
        raise ValueError(f"{fn}: indices shape {tuple(ix_in.shape)} must equal input shape {tuple(x_in.shape)}")
    k = _args.as_pair(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _args.as_pair(stride, "stride", fn, 1)
    p = _args.as_pair(padding, "padding", fn, 0)
    H, W = unpool_output_size(x_in.shape[-2:], k, s, p, output_size, x_in.ndim, fn)
    resolve_threads(num_threads)
    batched = x_in.ndim == 4
    x = x_in if batched else x_in[None]
    ix = ix_in if batched else ix_in[None]
    out_shape = (x.shape[0], x.shape[1], H, W)
    _args.check_result_size(out_shape, 8, fn, "output_size is too large")
    if kind == "cupy":
        from fastconv import cuda

        out = cuda.max_unpool2d(x, ix, dtype, out_shape)
    else:
        x = _args.kernel_ready(x, dtype)
        ix = _args.kernel_ready(ix, np.dtype(np.int64))
        out = _buffers.empty(out_shape, dtype)  # every element written
        bad = _pool.max_unpool2d(x, ix, out, num_threads)
        if bad >= 0:
            pos = np.unravel_index(bad, x.shape)
            raise ValueError(
                f"{fn}: indices{tuple(int(v) for v in pos)}={int(ix[pos])} is outside the "
                f"output plane of {H} x {W} = {H * W} elements"
            )
    return out if batched else out[0]
