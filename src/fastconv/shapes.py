"""Shapes and cost of convolutions and pooling: pure functions, no arrays needed.

Part of the public API (re-exported by :mod:`fastconv`); they validate their arguments with
the same rules, and the same messages, as the functions whose results they describe.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple

from fastconv._args import IntPair, conv2d_geometry, pool2d_geometry
from fastconv.typing import Padding

__all__ = ["ConvCost", "conv2d_cost", "conv2d_output_shape", "pool2d_output_shape"]


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
    fn = "conv2d_output_shape"
    in_shape, w_shape = tuple(input_shape), tuple(weight_shape)
    if len(w_shape) != 4:
        raise ValueError(f"{fn}: weight_shape must have 4 entries, got {w_shape}")
    if len(in_shape) not in (3, 4):
        raise ValueError(f"{fn}: input_shape must have 3 or 4 entries, got {in_shape}")
    C = in_shape[-3]
    if w_shape[1] == 0 and C == 0:
        groups = 1  # no input channel: any group count gives the same shape
    elif w_shape[1] < 1 or C % w_shape[1]:
        raise ValueError(f"{fn}: weight_shape[1]={w_shape[1]} must divide in_channels={C}")
    else:
        groups = C // w_shape[1]
    batched, shape, *_ = conv2d_geometry(in_shape, w_shape, stride, padding, dilation, groups, fn)
    return shape if batched else shape[1:]


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
    fn = "conv2d_cost"
    batched, shape, *_ = conv2d_geometry(tuple(input_shape), tuple(weight_shape), stride, padding, dilation, groups, fn)
    Cout, Cg, kH, kW = (int(v) for v in weight_shape)
    N, _, Ho, Wo = shape
    params = Cout * Cg * kH * kW + (Cout if bias else 0)
    macs = N * Cout * Ho * Wo * Cg * kH * kW
    return ConvCost(shape if batched else shape[1:], params, macs, 2 * macs)
