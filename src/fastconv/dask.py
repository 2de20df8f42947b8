"""Dask back end: convolution and pooling of arrays larger than memory, lazily, block by block.

Every function takes a ``dask.array`` and returns a lazy ``dask.array`` equal to the in-memory
function's result.  Validation (and so every error message) is the in-memory front's
(:mod:`fastconv._args`), run eagerly on the shapes.

How blocks are formed
---------------------
The batch axes map block to block.  Spatially, the output is cut into blocks that follow the
input's chunks, and each output block is computed from exactly the input it reads (its halo):
for convolution the rows ``o0*stride .. (o1-1)*stride + dilation*(k-1)`` of the *padded*
input, gathered with the same index maps as the CPU kernels (:func:`fastconv._args.pad_index`, equal to
``numpy.pad``), so every padding mode - reflect without the edge included, which Dask's
``map_overlap`` boundaries cannot express - is exact at the outer edges and absent between
blocks.  Output blocks need not line up with input chunks or with the stride.  Pooling blocks
read the real rows their windows cover and run the CPU kernel with the block's global origin,
so indices are global plane indices and border windows keep PyTorch's padding rules.

Threads
-------
Dask already runs blocks in parallel (one per worker thread), so by default each block call
uses ``num_threads=1``: with the threaded scheduler or ``LocalCluster(threads_per_worker=n)``
the machine's cores are used once.  With process workers of one thread each (distributed's
workers start with ``OMP_NUM_THREADS=1``), pass ``num_threads`` to let each block use more.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from fastconv import _args, _pool
from fastconv import conv as _conv_mod
from fastconv import signal as _sig
from fastconv.typing import Boundary, Correlate2DMethod, CorrelateMethod, Mode, PaddingMode

Origin = Tuple[int, int, int, int, int, int]  # (H, W, r_org, c_org, o_org, q0), see fastconv._pool

__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv3d",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "max_pool1d",
    "max_pool2d",
]


def _da() -> Any:
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - exercised only without dask
        raise ImportError("fastconv.dask needs Dask: pip install 'fastconv[dask]'") from exc
    return da


def _as_dask(x: Any, name: str, fn: str) -> Any:
    da = _da()
    if isinstance(x, da.Array):
        return x
    if _args.is_cupy(x) or isinstance(x, np.ndarray):
        return da.from_array(x)
    raise TypeError(f"{fn}: {name} must be a dask array (or a NumPy array), got {type(x).__name__}")


def _concrete(a: Any) -> Any:
    """Small operands (weights, kernels) are used in memory."""
    if a is None:
        return None
    return a.compute() if hasattr(a, "compute") and not isinstance(a, np.ndarray) else np.asarray(a)


def _conv_operands(fn: str, input: Any, weight: Any, bias: Any) -> Tuple[Any, np.ndarray, Optional[np.ndarray]]:
    """A convolution's operands: the input as a dask array, weight and bias in memory."""
    x = _as_dask(input, "input", fn)
    w = _args.to_numpy(_concrete(weight), "weight", fn)
    b = None if bias is None else _args.to_numpy(_concrete(bias), "bias", fn)
    return x, w, b


def _kernel_operands(w: np.ndarray, b: Optional[np.ndarray], dtype: np.dtype) -> Tuple[np.ndarray, Any]:
    """Weight and bias in the result dtype, made once for every block."""
    return _args.kernel_ready(w, dtype), None if b is None else np.ascontiguousarray(b, dtype=dtype)


def _take(x: Any, axis: int, idx: np.ndarray, fill: float) -> Any:
    """x gathered along ``axis`` at idx (with -1 meaning ``fill``), as cheap slices where the
    indices form runs."""
    da = _da()
    pieces = []
    start = 0
    while start < len(idx):
        v = idx[start]
        end = start + 1
        if v < 0:
            while end < len(idx) and idx[end] < 0:
                end += 1
            shape = list(x.shape)
            shape[axis] = end - start
            pieces.append(da.full(shape, fill, dtype=x.dtype, chunks=-1))
        else:
            step = 0
            if end < len(idx) and idx[end] >= 0 and idx[end] - v in (1, -1):
                step = int(idx[end] - v)
                while end < len(idx) and idx[end] >= 0 and idx[end] - idx[end - 1] == step:
                    end += 1
            sl: List[Any] = [slice(None)] * x.ndim
            if step == -1:
                stop = int(idx[end - 1]) - 1
                sl[axis] = slice(int(v), stop if stop >= 0 else None, -1)
            else:
                sl[axis] = slice(int(v), int(idx[end - 1]) + 1)
            pieces.append(x[tuple(sl)])
        start = end
    return pieces[0] if len(pieces) == 1 else da.concatenate(pieces, axis=axis)


def _out_bounds(chunks: Sequence[int], n_out: int, pad_before: int, stride: int) -> List[int]:
    """Output block boundaries that follow the input chunk boundaries."""
    bounds = [0]
    pos = 0
    for c in chunks[:-1]:
        pos += c
        b = min(n_out, max(0, (pos + pad_before) // stride))
        if b > bounds[-1]:
            bounds.append(b)
    if bounds[-1] < n_out:
        bounds.append(n_out)
    return bounds


def _spatial_blocks(
    x: Any,
    Ho: int,
    Wo: int,
    pads: Tuple[int, int, int, int],
    ext: Tuple[int, int],
    stride: Tuple[int, int],
    mode: str,
    fill: float,
    block: Callable[[Any], Any],
    dtype: np.dtype,
    out_channels: Optional[int] = None,
) -> Any:
    """The 2-D case of :func:`_blocks_nd`: x is (..., H, W), pads (top, bottom, left, right)."""
    return _blocks_nd(x, (Ho, Wo), (pads[0], pads[2]), ext, stride, mode, fill, block, dtype, out_channels)


def _blocks_nd(
    x: Any,
    out_sizes: Sequence[int],
    pads_before: Sequence[int],
    ext: Sequence[int],
    stride: Sequence[int],
    mode: str,
    fill: float,
    block: Callable[[Any], Any],
    dtype: np.dtype,
    out_channels: Optional[int] = None,
) -> Any:
    """Assemble the result from output blocks, each computed by ``block`` on the padded input
    region it reads.  x: (lead..., S_1 .. S_m) dask array with m = len(out_sizes) spatial
    axes; along spatial axis i an output block [o0, o1) reads the padded positions
    ``o0 * stride .. (o1 - 1) * stride + ext - 1`` (ext: the dilated kernel's extent), gathered
    through the padding mode's index map.  The leading axes keep their chunks, but axis 1
    becomes ``out_channels`` (the convolutions)."""
    da = _da()
    m = len(out_sizes)
    lead = x.ndim - m
    bounds = [_out_bounds(x.chunks[lead + i], out_sizes[i], pads_before[i], stride[i]) for i in range(m)]

    def build(xr: Any, i: int, sizes: Tuple[int, ...]) -> Any:
        if i == m:
            region = xr.rechunk(x.chunks[:lead] + (-1,) * m)
            chunks = list(region.chunks[:lead])
            if out_channels is not None:
                chunks[1] = (out_channels,)
            return region.map_blocks(block, dtype=dtype, chunks=tuple(chunks) + tuple((n,) for n in sizes))
        axis, n = lead + i, x.shape[lead + i]
        parts = []
        for o0, o1 in zip(bounds[i][:-1], bounds[i][1:]):
            idx = _args.pad_index(np.arange(o0 * stride[i], (o1 - 1) * stride[i] + ext[i]) - pads_before[i], n, mode)
            parts.append(build(_take(xr, axis, idx, fill), i + 1, sizes + (o1 - o0,)))
        return parts

    return da.block(_nest(build(x, 0, ()), lead))


def _nest(rows: List[Any], lead: int) -> Any:
    """da.block wants one list level per axis: wrap the grid of the spatial axes for the lead axes."""
    grid: Any = rows
    for _ in range(lead):
        grid = [grid]
    return grid


# ----------------------------------------------------------------------------- public


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.conv2d` of a dask array ``(N, C_in, H, W)`` or ``(C_in, H, W)``.

    The batch axis maps block to block; H and W may be chunked (see the module docs); the
    channel axis is brought into one chunk.  ``weight`` and ``bias`` are used in memory.

    Returns
    -------
    dask.array of shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)
    """
    fn = "conv2d"
    x, w, b = _conv_operands(fn, input, weight, bias)
    dtype = _args.result_dtype(fn, input=x, weight=w, bias=b)
    _args.padding_mode_code(padding_mode, fn)
    batched, out_shape, st, dil, pads, g = _args.conv2d_geometry(
        x.shape, w.shape, stride, padding, dilation, groups, fn
    )
    _args.check_bias(b, out_shape[1], fn)
    wk, bk = _kernel_operands(w, b, dtype)
    N, Cout, Ho, Wo = out_shape
    xb = (x if batched else x[None]).rechunk({1: -1}).astype(dtype)
    kH, kW = wk.shape[2:]
    ext = (dil[0] * (kH - 1) + 1, dil[1] * (kW - 1) + 1)

    def block(region: np.ndarray) -> np.ndarray:
        return _conv_mod.conv2d(region, wk, bk, st, 0, dil, g, num_threads=num_threads)

    res = _spatial_blocks(xb, Ho, Wo, pads, ext, st, padding_mode, 0.0, block, dtype, out_channels=Cout)
    return res if batched else res[0]


def _signal(
    fn: str,
    in1: Any,
    in2: Any,
    mode: Mode,
    boundary: Boundary,
    fillvalue: Any,
    method: Correlate2DMethod,
    num_threads: Optional[int],
    flip: bool,
) -> Any:
    x = _as_dask(in1, "in1", fn)
    k = _concrete(in2)
    if k is None or np.ndim(k) != 2:
        raise ValueError(f"{fn}: in2 must be 2-D (kH, kW), got shape {np.shape(k)}")
    # validate everything (and get dtype and output shape) with the in-memory front on a
    # zero-batch stand-in of the same plane size
    probe = getattr(_sig, fn)(
        np.empty((0,) + tuple(x.shape[-2:]), x.dtype),
        k,
        mode,
        boundary,
        fillvalue,
        method=method,
        num_threads=num_threads,
    )
    if x.ndim < 2:
        raise ValueError(f"{fn}: in1 must be 2-D (H, W) or batched (..., H, W), got shape {tuple(x.shape)}")
    H, W = x.shape[-2:]
    kh, kw = k.shape
    if mode == "valid" and (kh > H or kw > W):
        raise ValueError(
            f"{fn}: the dask back end computes valid mode only with in2 no larger than the "
            f"planes of in1 ({(kh, kw)} vs {(H, W)}); use the in-memory function for the swap"
        )
    dtype = probe.dtype
    pads = _args.correlate_pads(mode, kh, kw, flip)
    Ho, Wo = H + pads[0] + pads[1] - kh + 1, W + pads[2] + pads[3] - kw + 1
    kk = np.ascontiguousarray(k[::-1, ::-1] if flip else k, dtype=dtype)
    mode_name = _sig.BOUNDARIES[boundary]
    fill = float(np.real(fillvalue))

    def block(region: np.ndarray) -> np.ndarray:
        return _sig.correlate2d(region, kk, "valid", method=method, num_threads=num_threads)

    return _spatial_blocks(x.astype(dtype), Ho, Wo, pads, (kh, kw), (1, 1), mode_name, fill, block, dtype)


def correlate2d(
    in1: Any,
    in2: Any,
    mode: Mode = "full",
    boundary: Boundary = "fill",
    fillvalue: Any = 0,
    *,
    method: Correlate2DMethod = "auto",
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.correlate2d` of a dask array ``(..., H, W)``; leading axes map
    block to block, H and W may be chunked.  Valid mode needs in2 no larger than the planes."""
    return _signal("correlate2d", in1, in2, mode, boundary, fillvalue, method, num_threads, flip=False)


def convolve2d(
    in1: Any,
    in2: Any,
    mode: Mode = "full",
    boundary: Boundary = "fill",
    fillvalue: Any = 0,
    *,
    method: Correlate2DMethod = "auto",
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.convolve2d` of a dask array ``(..., H, W)``."""
    return _signal("convolve2d", in1, in2, mode, boundary, fillvalue, method, num_threads, flip=True)


def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.conv1d` of a dask array ``(N, C_in, L)`` or ``(C_in, L)``.

    The batch axis maps block to block, L may be chunked (each output block computed from the
    input it reads, every padding mode exact at the outer edges); the channel axis is brought
    into one chunk.  ``weight`` and ``bias`` are used in memory.

    Returns
    -------
    dask.array of shape (N, C_out, L_out) or (C_out, L_out)
    """
    from fastconv import nd as _nd

    fn = "conv1d"
    x, w, b = _conv_operands(fn, input, weight, bias)
    if x.ndim not in (2, 3):
        raise ValueError(f"{fn}: input must be (C_in, L) or (N, C_in, L), got shape {tuple(x.shape)}")
    # every check, the dtype and the output length by the in-memory function, on an empty batch
    probe = _nd.conv1d(
        np.empty((0,) + tuple(x.shape[-2:]), x.dtype), w, b, stride, padding, dilation, groups, padding_mode
    )
    dtype, (Cout, Lo) = probe.dtype, probe.shape[1:]
    s, d = _nd._one(stride, "stride", fn, 1), _nd._one(dilation, "dilation", fn, 1)
    k = w.shape[-1]
    pads = _args.normalize_padding(_nd.pad1d_as_2d(padding, fn), (1, k), (1, s), (1, d), (1, x.shape[-1]), fn)
    wk, bk = _kernel_operands(w, b, dtype)
    batched = x.ndim == 3
    xb = (x if batched else x[None]).rechunk({1: -1}).astype(dtype)

    def block(region: np.ndarray) -> np.ndarray:
        return _nd.conv1d(region, wk, bk, s, 0, d, groups, num_threads=num_threads)

    res = _blocks_nd(xb, (Lo,), (pads[2],), (d * (k - 1) + 1,), (s,), padding_mode, 0.0, block, dtype, Cout)
    return res if batched else res[0]


def conv3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.conv3d` of a dask array ``(N, C_in, D, H, W)`` or
    ``(C_in, D, H, W)``: volumes bigger than memory, chunked along D, H and W.

    Each output block is computed from exactly the input it reads (its halo), with the
    padding mode applied only at the volume's outer faces; the channel axis is brought into
    one chunk; ``weight`` and ``bias`` are used in memory.

    Returns
    -------
    dask.array of shape (N, C_out, D_out, H_out, W_out), or without N for unbatched input
    """
    from fastconv import nd as _nd

    fn = "conv3d"
    x, w, b = _conv_operands(fn, input, weight, bias)
    if x.ndim not in (4, 5):
        raise ValueError(f"{fn}: input must be (C_in, D, H, W) or (N, C_in, D, H, W), got shape {tuple(x.shape)}")
    probe = _nd.conv3d(
        np.empty((0,) + tuple(x.shape[-4:]), x.dtype), w, b, stride, padding, dilation, groups, padding_mode
    )
    dtype, (Cout, Do, Ho, Wo) = probe.dtype, probe.shape[1:]
    s, d = _nd._triple(stride, "stride", fn, 1), _nd._triple(dilation, "dilation", fn, 1)
    D, H, W = x.shape[-3:]
    kD, kH, kW = w.shape[2:]
    pd, hw_pad, _ = _nd.conv3d_depth(padding, D, kD, s[0], d[0], fn)
    hw = _args.normalize_padding(hw_pad, (kH, kW), s[1:], d[1:], (H, W), fn)
    wk, bk = _kernel_operands(w, b, dtype)
    batched = x.ndim == 5
    xb = (x if batched else x[None]).rechunk({1: -1}).astype(dtype)
    ext = tuple(dd * (kk - 1) + 1 for dd, kk in zip(d, (kD, kH, kW)))

    def block(region: np.ndarray) -> np.ndarray:
        return _nd.conv3d(region, wk, bk, s, 0, d, groups, num_threads=num_threads)

    res = _blocks_nd(xb, (Do, Ho, Wo), (pd[0], hw[0], hw[2]), ext, s, padding_mode, 0.0, block, dtype, Cout)
    return res if batched else res[0]


def _nd_signal(
    fn: str, in1: Any, in2: Any, mode: Mode, method: CorrelateMethod, axes: Any, num_threads: Optional[int], flip: bool
) -> Any:
    da = _da()
    x = _as_dask(in1, "in1", fn)
    k = _args.to_numpy(_concrete(in2), "in2", fn)
    _sig._check_choice(mode, "mode", _sig.MODES, fn)
    _sig._check_choice(method, "method", _sig.ND_METHODS, fn)
    dtype = _args.result_dtype(fn, in1=x, in2=k)
    if x.ndim != k.ndim or x.ndim == 0:
        raise ValueError(f"{fn}: in1 and in2 must have the same number of dimensions (>= 1), got {x.ndim} and {k.ndim}")
    nd = x.ndim
    ax = _sig.nd_axes(axes, nd, fn)
    batch = [i for i in range(nd) if i not in ax]
    if any(k.shape[i] != 1 for i in batch):
        raise ValueError(
            f"{fn}: the dask back end takes one kernel for every batch entry: in2 {k.shape} must have size 1 "
            f"on the batch axes {batch}"
        )
    if x.size == 0 or k.size == 0:
        return da.from_array(np.array([], dtype=dtype))
    n, kk = [x.shape[i] for i in ax], [k.shape[i] for i in ax]
    if mode == "valid" and any(a < b for a, b in zip(n, kk)):
        raise ValueError(
            f"{fn}: the dask back end computes valid mode only with in2 {tuple(kk)} no larger than in1 "
            f"{tuple(n)} on every correlated axis; use the in-memory function for the swap"
        )
    m = len(ax)
    tail = tuple(range(nd - m, nd))
    km = np.moveaxis(k, ax, tail).reshape(kk)
    km = np.ascontiguousarray(np.flip(km) if flip else km, dtype=dtype)
    pads = _sig.mode_pads(mode, kk)
    out = [v + p0 + p1 - q + 1 for v, (p0, p1), q in zip(n, pads, kk)]
    none = [(0, 0)] * m

    def block(region: np.ndarray) -> np.ndarray:
        return _sig._core(region, km, none, method, num_threads, dtype)

    xm = da.moveaxis(x, ax, tail).astype(dtype)
    res = _blocks_nd(xm, out, [p[0] for p in pads], kk, (1,) * m, "zeros", 0.0, block, dtype)
    return da.moveaxis(res, tail, ax)


def correlate(
    in1: Any,
    in2: Any,
    mode: Mode = "full",
    method: CorrelateMethod = "auto",
    *,
    axes: Any = None,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.correlate` (``scipy.signal.correlate`` in any number of
    dimensions) of a dask array: 1-D signals, images, 3-D volumes, chunked along any axis.

    ``in2`` is used in memory and must have size 1 on the batch axes (the axes not in
    ``axes``): one kernel for every batch entry, e.g. ``axes=(0, 1)`` on an ``(H, W, C)``
    image with a ``(kH, kW, 1)`` kernel.  Valid mode needs ``in2`` no larger than ``in1`` on
    the correlated axes.  Each output block is computed from the input it reads.

    Returns
    -------
    dask.array
        Equal to the in-memory result.
    """
    return _nd_signal("correlate", in1, in2, mode, method, axes, num_threads, flip=False)


def convolve(
    in1: Any,
    in2: Any,
    mode: Mode = "full",
    method: CorrelateMethod = "auto",
    *,
    axes: Any = None,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.convolve` (``scipy.signal.convolve``) of a dask array; as
    :func:`correlate`, with the kernel flipped."""
    return _nd_signal("convolve", in1, in2, mode, method, axes, num_threads, flip=True)


def _pool_blocks(
    fn: str,
    input: Any,
    k: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    kernel: Callable[..., Any],
    with_idx: bool,
) -> Any:
    da = _da()
    x = _as_dask(input, "input", fn)
    dtype = _args.result_dtype(fn, input=x)
    batched, out_shape, kk, s, p, d = _args.pool2d_geometry(x.shape, k, stride, padding, dilation, ceil_mode, fn)
    xb = (x if batched else x[None]).astype(dtype)
    N, C, Ho, Wo = out_shape
    H, W = xb.shape[2:]
    rb = _out_bounds(xb.chunks[2], Ho, p[0], s[0])
    cb = _out_bounds(xb.chunks[3], Wo, p[1], s[1])
    ext = (d[0] * (kk[0] - 1) + 1, d[1] * (kk[1] - 1) + 1)
    vals_rows, idx_rows = [], []
    for o0, o1 in zip(rb[:-1], rb[1:]):
        r0, r1 = max(0, o0 * s[0] - p[0]), min(H, (o1 - 1) * s[0] - p[0] + ext[0])
        vrow, irow = [], []
        for q0, q1 in zip(cb[:-1], cb[1:]):
            c0, c1 = max(0, q0 * s[1] - p[1]), min(W, (q1 - 1) * s[1] - p[1] + ext[1])
            region = xb[:, :, r0:r1, c0:c1].rechunk({2: -1, 3: -1})
            origin: Origin = (H, W, r0, c0, o0, q0)
            shape_chunks = (region.chunks[0], region.chunks[1], (o1 - o0,), (q1 - q0,))

            def vals(reg: np.ndarray, origin: Origin = origin, n: int = o1 - o0, m: int = q1 - q0) -> Any:
                return kernel(reg, n, m, origin)[0]

            vrow.append(region.map_blocks(vals, dtype=dtype, chunks=shape_chunks))
            if with_idx:

                def idxs(reg: np.ndarray, origin: Origin = origin, n: int = o1 - o0, m: int = q1 - q0) -> Any:
                    return kernel(reg, n, m, origin)[1]

                irow.append(region.map_blocks(idxs, dtype=np.int64, chunks=shape_chunks))
        vals_rows.append(vrow)
        idx_rows.append(irow)
    v = da.block([[vals_rows]])
    v = v if batched else v[0]
    if not with_idx:
        return v
    i = da.block([[idx_rows]])
    return v, (i if batched else i[0])


def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.max_pool2d` of a dask array; with ``return_indices`` the indices
    are global ``h * W + w`` plane indices, as in memory."""
    fn = "max_pool2d"
    x = _as_dask(input, "input", fn)
    _, _, kk, s, p, d = _args.pool2d_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, fn)

    def kernel(reg: np.ndarray, n: int, m: int, origin: Origin) -> Tuple[Any, Any]:
        reg = _args.kernel_ready(reg, reg.dtype)
        v = np.empty(reg.shape[:2] + (n, m), reg.dtype)
        i = np.empty(v.shape, np.int64) if return_indices else None
        _pool.max_pool2d(reg, v, i, kk[0], kk[1], s[0], s[1], p[0], p[1], d[0], d[1], num_threads, origin)
        return v, i

    return _pool_blocks(fn, x, kernel_size, stride, padding, dilation, ceil_mode, kernel, bool(return_indices))


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    *,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.avg_pool2d` of a dask array."""
    fn = "avg_pool2d"
    x = _as_dask(input, "input", fn)
    _, _, kk, s, p, _ = _args.pool2d_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode, fn)
    div = 0 if divisor_override is None else _args.check_int(divisor_override, "divisor_override", fn, 1)

    def kernel(reg: np.ndarray, n: int, m: int, origin: Origin) -> Tuple[Any, Any]:
        reg = _args.kernel_ready(reg, reg.dtype)
        v = np.empty(reg.shape[:2] + (n, m), reg.dtype)
        _pool.avg_pool2d(
            reg, v, kk[0], kk[1], s[0], s[1], p[0], p[1], bool(count_include_pad), div, num_threads, origin
        )
        return v, None

    return _pool_blocks(fn, x, kernel_size, stride, padding, 1, ceil_mode, kernel, False)


def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.max_pool1d` of a dask array ``(N, C, L)`` or ``(C, L)``, L
    chunked or not: the 2-D pooling of a unit row; indices are global positions along L."""
    from fastconv import nd

    fn = "max_pool1d"
    x = _as_dask(input, "input", fn)
    if x.ndim not in (2, 3):
        raise ValueError(f"{fn}: input must be (C, L) or (N, C, L), got shape {tuple(x.shape)}")
    k = nd._one(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else nd._one(stride, "stride", fn, 1)
    p, d = nd._one(padding, "padding", fn, 0), nd._one(dilation, "dilation", fn, 1)
    res = max_pool2d(
        x[..., None, :], (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices, num_threads=num_threads
    )
    if return_indices:
        return res[0][..., 0, :], res[1][..., 0, :]
    return res[..., 0, :]


def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    *,
    num_threads: Optional[int] = 1,
) -> Any:
    """Lazy :func:`fastconv.avg_pool1d` of a dask array ``(N, C, L)`` or ``(C, L)``."""
    from fastconv import nd

    fn = "avg_pool1d"
    x = _as_dask(input, "input", fn)
    if x.ndim not in (2, 3):
        raise ValueError(f"{fn}: input must be (C, L) or (N, C, L), got shape {tuple(x.shape)}")
    k = nd._one(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else nd._one(stride, "stride", fn, 1)
    p = nd._one(padding, "padding", fn, 0)
    res = avg_pool2d(x[..., None, :], (1, k), (1, s), (0, p), ceil_mode, count_include_pad, num_threads=num_threads)
    return res[..., 0, :]
