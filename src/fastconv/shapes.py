"""Shapes and cost of convolutions and pooling: pure functions, no arrays needed.

Part of the public API (re-exported by :mod:`fastconv`); they validate their arguments with
the same rules, and the same messages, as the functions whose results they describe.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Optional, Sequence, Tuple

from fastconv import _args
from fastconv._args import IntPair, conv2d_geometry, pool2d_geometry
from fastconv.typing import Padding

__all__ = [
    "ConvCost",
    "conv1d_cost",
    "conv1d_output_shape",
    "conv2d_cost",
    "conv2d_output_shape",
    "conv3d_cost",
    "conv3d_output_shape",
    "pool1d_output_shape",
    "pool2d_output_shape",
    "pool3d_output_shape",
]


class ConvCost(NamedTuple):
    """Output shape, parameter count, multiply-adds and flops (2 per multiply-add)."""

    output_shape: Tuple[int, ...]
    params: int
    macs: int
    flops: int


def conv2d_output_shape(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
) -> Tuple[int, ...]:
    """Shape of ``conv2d(input, weight, ...)`` without computing it.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, kH, kW)``; ``groups`` is inferred as
        ``C_in // weight_shape[1]``.
    stride, padding, dilation
        As for :func:`fastconv.conv2d`.

    Returns
    -------
    tuple of int
        ``(N, C_out, H_out, W_out)``, or ``(C_out, H_out, W_out)`` for an unbatched shape.
    """
    return _conv_shape(input_shape, weight_shape, stride, padding, dilation, None, 2, "conv2d_output_shape")


def _shapes(input_shape: Sequence[int], weight_shape: Sequence[int], nd: int, fn: str) -> Tuple[Tuple[int, ...], ...]:
    in_shape, w_shape = tuple(int(v) for v in input_shape), tuple(int(v) for v in weight_shape)
    if len(w_shape) != nd + 2:
        raise ValueError(f"{fn}: weight_shape must have {nd + 2} entries, got {w_shape}")
    if len(in_shape) not in (nd + 1, nd + 2):
        raise ValueError(f"{fn}: input_shape must have {nd + 1} or {nd + 2} entries, got {in_shape}")
    return in_shape, w_shape


def _groups(C: int, w_shape: Tuple[int, ...], fn: str) -> int:
    """The group count a weight shape implies for C input channels."""
    if w_shape[1] == 0 and C == 0:
        return 1  # no input channel: any group count gives the same shape
    if w_shape[1] < 1 or C % w_shape[1]:
        raise ValueError(f"{fn}: weight_shape[1]={w_shape[1]} must divide in_channels={C}")
    return C // w_shape[1]


def _conv_shape(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Optional[int],
    nd: int,
    fn: str,
) -> Tuple[int, ...]:
    """Output shape of a 1-D, 2-D or 3-D convolution, by the in-memory functions' own rules
    (1-D: a unit row of the 2-D geometry; 3-D: the depth of conv3d, then the 2-D geometry of
    each slice).  ``groups=None`` infers it from the shapes."""
    from fastconv import nd as _nd

    in_shape, w_shape = _shapes(input_shape, weight_shape, nd, fn)
    g = _groups(in_shape[-nd - 1], w_shape, fn) if groups is None else groups
    if nd == 2:
        batched, shape, *_ = conv2d_geometry(in_shape, w_shape, stride, padding, dilation, g, fn)
        return tuple(shape) if batched else tuple(shape[1:])
    if nd == 1:
        s, d = _nd._one(stride, "stride", fn, 1), _nd._one(dilation, "dilation", fn, 1)
        flat = _conv_shape(
            in_shape[:-1] + (1, in_shape[-1]),
            w_shape[:-1] + (1, w_shape[-1]),
            (1, s),
            _nd.pad1d_as_2d(padding, fn),
            (1, d),
            g,
            2,
            fn,
        )
        return flat[:-2] + flat[-1:]
    s3, d3 = _nd._triple(stride, "stride", fn, 1), _nd._triple(dilation, "dilation", fn, 1)
    D, kD = in_shape[-3], w_shape[2]
    if D < 1 or kD < 1:
        raise ValueError(f"{fn}: input depth {D} and kernel depth {kD} must be >= 1")
    _, hw_pad, Do = _nd.conv3d_depth(padding, D, kD, s3[0], d3[0], fn)
    plane = _conv_shape(in_shape[:-3] + in_shape[-2:], w_shape[:2] + w_shape[3:], s3[1:], hw_pad, d3[1:], g, 2, fn)
    return plane[:-2] + (Do,) + plane[-2:]


def conv1d_output_shape(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
) -> Tuple[int, ...]:
    """Shape of ``conv1d(input, weight, ...)`` without computing it.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, L)`` or ``(C_in, L)``.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, k)``; ``groups`` is inferred from the shapes.
    stride, padding, dilation
        As for :func:`fastconv.conv1d`.

    Returns
    -------
    tuple of int
        ``(N, C_out, L_out)``, or ``(C_out, L_out)`` for an unbatched shape.

    Examples
    --------
    >>> from fastconv import conv1d_output_shape
    >>> conv1d_output_shape((32, 64, 4096), (64, 64, 9), stride=2, padding="same")
    (32, 64, 2048)
    """
    return _conv_shape(input_shape, weight_shape, stride, padding, dilation, None, 1, "conv1d_output_shape")


def conv3d_output_shape(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
) -> Tuple[int, ...]:
    """Shape of ``conv3d(input, weight, ...)`` without computing it.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, kD, kH, kW)``; ``groups`` is inferred from the shapes.
    stride, padding, dilation
        As for :func:`fastconv.conv3d`.

    Returns
    -------
    tuple of int
        ``(N, C_out, D_out, H_out, W_out)``, or without ``N`` for an unbatched shape.

    Examples
    --------
    >>> from fastconv import conv3d_output_shape
    >>> conv3d_output_shape((2, 16, 16, 112, 112), (32, 16, 3, 3, 3), stride=(1, 2, 2), padding=1)
    (2, 32, 16, 56, 56)
    """
    return _conv_shape(input_shape, weight_shape, stride, padding, dilation, None, 3, "conv3d_output_shape")


def pool2d_output_shape(
    input_shape: Sequence[int],
    kernel_size: IntPair,
    stride: Optional[IntPair] = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> Tuple[int, ...]:
    """Shape of ``max_pool2d``/``avg_pool2d`` on ``input_shape`` without computing it.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C, H, W)`` or ``(C, H, W)``.
    kernel_size, stride, padding, dilation, ceil_mode
        As for :func:`fastconv.max_pool2d` (``stride=None`` means ``kernel_size``).

    Returns
    -------
    tuple of int
        ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)``.
    """
    batched, shape, *_ = pool2d_geometry(
        input_shape, kernel_size, stride, padding, dilation, ceil_mode, "pool2d_output_shape"
    )
    return shape if batched else shape[1:]


def pool1d_output_shape(
    input_shape: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tuple[int, ...]:
    """Shape of ``max_pool1d``/``avg_pool1d`` on ``input_shape`` (``(N, C, L)`` or
    ``(C, L)``) without computing it; arguments as for :func:`fastconv.max_pool1d`.

    Examples
    --------
    >>> from fastconv import pool1d_output_shape
    >>> pool1d_output_shape((8, 64, 1000), 3, 2, ceil_mode=True)
    (8, 64, 500)
    """
    from fastconv import nd as _nd

    fn = "pool1d_output_shape"
    shape = tuple(int(v) for v in input_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"{fn}: input_shape must have 2 or 3 entries, got {shape}")
    k = _nd._one(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _nd._one(stride, "stride", fn, 1)
    p, d = _nd._one(padding, "padding", fn, 0), _nd._one(dilation, "dilation", fn, 1)
    flat = pool2d_output_shape(shape[:-1] + (1, shape[-1]), (1, k), (1, s), (0, p), (1, d), ceil_mode)
    return tuple(flat[:-2]) + tuple(flat[-1:])


def pool3d_output_shape(
    input_shape: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tuple[int, ...]:
    """Shape of ``max_pool3d``/``avg_pool3d`` on ``input_shape`` (``(N, C, D, H, W)`` or
    ``(C, D, H, W)``) without computing it; arguments as for :func:`fastconv.max_pool3d`.

    Examples
    --------
    >>> from fastconv import pool3d_output_shape
    >>> pool3d_output_shape((2, 32, 16, 56, 56), 2)
    (2, 32, 8, 28, 28)
    """
    from fastconv import nd as _nd

    fn = "pool3d_output_shape"
    shape = tuple(int(v) for v in input_shape)
    if len(shape) not in (4, 5):
        raise ValueError(f"{fn}: input_shape must have 4 or 5 entries, got {shape}")
    k = _nd._triple(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _nd._triple(stride, "stride", fn, 1)
    p, d = _nd._triple(padding, "padding", fn, 0), _nd._triple(dilation, "dilation", fn, 1)
    if shape[-3] < 1:
        raise ValueError(f"{fn}: input shape {shape} has an empty depth")
    Do, _ = _nd._depth_windows(shape[-3], k[0], s[0], p[0], d[0], ceil_mode, fn)
    plane = pool2d_output_shape(shape[:-3] + shape[-2:], k[1:], s[1:], p[1:], d[1:], ceil_mode)
    return tuple(plane[:-2]) + (Do,) + tuple(plane[-2:])


def conv2d_cost(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    bias: bool = True,
) -> ConvCost:
    """Output shape, parameters, multiply-adds and flops of a convolution.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, kH, kW)``.
    stride, padding, dilation, groups
        As for :func:`fastconv.conv2d`.
    bias : bool, default True
        Count ``C_out`` bias parameters.

    Returns
    -------
    ConvCost
        ``(output_shape, params, macs, flops)`` with ``flops == 2 * macs``.

    Examples
    --------
    >>> from fastconv import conv2d_cost
    >>> conv2d_cost((1, 128, 100, 100), (256, 128, 5, 5), padding=2)[1:3]
    (819456, 8192000000)
    """
    return _cost(input_shape, weight_shape, stride, padding, dilation, groups, bias, 2, "conv2d_cost")


def _cost(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    bias: bool,
    nd: int,
    fn: str,
) -> ConvCost:
    """Each output element is one sum of C_in/groups x prod(kernel) products."""
    shape = _conv_shape(input_shape, weight_shape, stride, padding, dilation, groups, nd, fn)
    w = tuple(int(v) for v in weight_shape)
    per_output = math.prod(w[1:])
    params = math.prod(w) + (w[0] if bias else 0)
    macs = math.prod(shape) * per_output
    return ConvCost(shape, params, macs, 2 * macs)


def conv1d_cost(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    bias: bool = True,
) -> ConvCost:
    """Output shape, parameters, multiply-adds and flops of :func:`fastconv.conv1d`
    (arguments as there; shapes as :func:`conv1d_output_shape`).

    Examples
    --------
    >>> from fastconv import conv1d_cost
    >>> conv1d_cost((32, 64, 4096), (64, 64, 9), padding=4).macs
    4831838208
    """
    return _cost(input_shape, weight_shape, stride, padding, dilation, groups, bias, 1, "conv1d_cost")


def conv3d_cost(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    bias: bool = True,
) -> ConvCost:
    """Output shape, parameters, multiply-adds and flops of :func:`fastconv.conv3d`
    (arguments as there; shapes as :func:`conv3d_output_shape`).

    Examples
    --------
    >>> from fastconv import conv3d_cost
    >>> conv3d_cost((2, 16, 16, 112, 112), (32, 16, 3, 3, 3), padding=1)[1:3]
    (13856, 5549064192)
    """
    return _cost(input_shape, weight_shape, stride, padding, dilation, groups, bias, 3, "conv3d_cost")
