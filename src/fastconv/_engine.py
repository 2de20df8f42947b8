"""Runs a plan: the one place that maps a :class:`fastconv._plan.Kind` to its driver.

The public front (:mod:`fastconv.conv`, :mod:`fastconv.signal`) validates, asks
:mod:`fastconv._plan` for a plan and hands it here with the output buffer; the FFT engine
(:mod:`fastconv._fft`) runs its own kind and comes back here for the tiles it computes
with the direct kernels.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Tuple

import numpy as np

from fastconv import _buffers, _depthwise, _direct, _plan, _winograd
from fastconv._args import ConvArgs
from fastconv._omp import resolve_threads
from fastconv._plan import Kind, Plan

_DRIVERS = {
    Kind.COLUMNS: _direct.run,
    Kind.COLUMNS_NARROW: _direct.run,
    Kind.ROWS: _direct.run,
    Kind.LANES: _direct.run,
    Kind.DW_STRIP: _depthwise.run,
    Kind.DW_SWEEP: _depthwise.run,
    Kind.DW_FLAT: _depthwise.run,
    Kind.DW_PLANE: _depthwise.run_planes,
    Kind.WINOGRAD2: _winograd.run,
    Kind.WINOGRAD4: _winograd.run,
    Kind.DW_NHWC: _depthwise.run_nhwc,
    Kind.POINTWISE: _direct.run_pointwise,
}


def run(plan: Plan, a: ConvArgs, out: np.ndarray, fill: float = 0.0) -> None:
    """Compute the layer ``a`` into ``out`` (its exact shape, C-contiguous) with the compiled
    kernels of ``plan`` (any kind but FFT, SEPARABLE and BIAS_ONLY) on at most ``plan.threads``
    threads; ``fill`` is the constant of zero padding.  DW_NHWC and DW_PLANE write ``out``
    in either layout (C-contiguous, or channels-last: ``out.transpose(0, 2, 3, 1)``
    C-contiguous), LANES with any strides; every other kind needs it C-contiguous."""
    if plan.to_planes:  # channels-last input into channel planes, then the planes' plan
        planes = _buffers.empty(a.x.shape, a.x.dtype)
        _depthwise.channels_last_to_planes(a.x.transpose(0, 2, 3, 1), planes, plan.vector_bytes, plan.threads)
        run(replace(plan, to_planes=False), _plan.planes_layer(a, planes), out, fill)
        return
    if plan.subsample:
        a = _plan.subsampled_layer(a, _plan.subsample(a, plan.threads))
    if plan.plane_row:
        a1 = _plan.plane_row_layer(a)
        if _plan.rows_merge(out):
            _DRIVERS[plan.kind](plan, a1.x, a.w, a.bias, out.reshape(a1.out_shape), a1, fill)
        else:  # a strided view (a stride phase of a transposed convolution)
            rows = _buffers.empty(a1.out_shape, out.dtype)
            _DRIVERS[plan.kind](plan, a1.x, a.w, a.bias, rows, a1, fill)
            np.copyto(out, rows.reshape(out.shape))
        return
    if plan.exact is not None:  # Winograd: rerun exactly when a band met NaN or +-inf
        if not _winograd.run(plan, a.x, a.w, a.bias, out, a, fill):
            run(plan.exact, a, out, fill)
        return
    _DRIVERS[plan.kind](plan, a.x, a.w, a.bias, out, a, fill)


def layer(
    x: np.ndarray, w: np.ndarray, pads: Tuple[int, int, int, int], mode: int, out: np.ndarray, groups: int = 1
) -> ConvArgs:
    """The layer of an internal call (correlate2d's planes, the FFT's exact tiles): unit
    stride and dilation, no bias, ``out``'s shape."""
    return ConvArgs(x, w, None, x.dtype, True, tuple(out.shape), (1, 1), (1, 1), pads, mode, groups)


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    pads: Tuple[int, int, int, int],
    mode: int,
    fill: float,
    out: np.ndarray,
    num_threads: Optional[int],
    groups: int = 1,
) -> None:
    """``out`` = the direct kernels' correlation of ``x`` (B, C, H, W) with ``w``
    (C_out, C / groups, kh, kw), padded by ``mode`` with ``pads`` (and ``fill``)."""
    a = layer(x, w, pads, mode, out, groups)
    nt = _plan.small_call_threads(a, resolve_threads(num_threads))
    run(_plan.direct(a, _plan.vector_bytes(), nt), a, out, fill)


def separable(
    x: np.ndarray,
    cols: np.ndarray,
    rows: np.ndarray,
    pads: Tuple[int, int, int, int],
    mode: int,
    fill: float,
    out: np.ndarray,
    num_threads: Optional[int],
) -> None:
    """``out`` (N, C, Ho, Wo) = channel c of ``x`` (N, C, H, W), padded by ``mode`` with
    ``pads`` (and ``fill``), correlated with ``outer(cols[c], rows[c])``: a column pass into
    a buffer of padded width, then a row pass."""
    N, C = x.shape[:2]
    kh, kw = cols.shape[1], rows.shape[1]
    mid = _buffers.empty((N, C, out.shape[2], x.shape[3] + pads[2] + pads[3]), out.dtype)
    correlate(x, cols.reshape(C, 1, kh, 1), pads, mode, fill, mid, num_threads, groups=C)
    correlate(mid, rows.reshape(C, 1, 1, kw), (0, 0, 0, 0), 0, 0.0, out, num_threads, groups=C)
