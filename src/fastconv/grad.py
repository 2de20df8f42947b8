"""Gradients of convolution and pooling, mirroring ``torch.nn.grad``.

Each function returns what ``torch.autograd`` computes for the same forward call:

- :func:`conv2d_input`, :func:`conv2d_weight`, :func:`conv2d_bias`: the gradients of
  :func:`fastconv.conv2d` with respect to its input, weight and bias, for every argument
  form conv2d accepts (``padding="same"`` at any stride, asymmetric padding, every
  ``padding_mode``: the gradient reaching a padded pixel is added to the source pixel the
  padding copied, as autograd through ``numpy.pad``/``F.pad`` does);
- :func:`max_pool2d_input` and :func:`avg_pool2d_input`: the gradients of the pooling
  functions with respect to their input (overlapping windows accumulate).

How they run.  The input gradient is a transposed convolution.  It is computed by the
forward engine (:func:`fastconv.conv2d`), one call per phase of the stride: the input rows
``a`` with ``a % stride == r`` receive contributions only from the kernel taps ``p`` with
``p * dilation % stride == r``, which form a correlation of ``grad_output`` with that
sub-kernel, flipped, at dilation ``dilation / gcd(dilation, stride)``.  Every multiply-add
it runs is one of the transposed convolution's, so the work equals the forward pass's.
The phases own disjoint pixels: where the channel-lane tiles run a phase, they write it
straight into its strided view of the result, else its result is added in.
Zero padding of ``grad_output`` multiplies weights by zero, which is not what the exact
sum does for a weight of +-inf or NaN: such weights run a tap-by-tap exact loop instead.
The weight gradient is a reduction over batch and output pixels: blocks of at most
:data:`WEIGHT_BLOCK_BYTES` of input windows are unfolded and reduced with NumPy's
matrix product (BLAS), so no im2col-sized temporary is ever made.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from fastconv import _args, _buffers, _pack, _plan, _pool
from fastconv import shapes as _shapes
from fastconv._args import IntPair
from fastconv.conv import _run_checked
from fastconv.typing import ArrayLike, NDArray, Padding, PaddingMode

__all__ = [
    "avg_pool1d_input",
    "avg_pool2d_input",
    "avg_pool3d_input",
    "conv1d_input",
    "conv1d_weight",
    "conv2d_bias",
    "conv2d_input",
    "conv2d_weight",
    "conv3d_input",
    "conv3d_weight",
    "max_pool1d_input",
    "max_pool2d_input",
    "max_pool3d_input",
]

#: Largest block of unfolded input windows (bytes) that :func:`conv2d_weight` makes at once.
WEIGHT_BLOCK_BYTES = 32 * 2**20

_MODE_NAMES = {code: name for name, (code, _) in _args.PADDING_MODES.items()}


# --------------------------------------------------------------------------- validation


def _shape_arg(shape: Any, name: str, fn: str) -> Tuple[int, ...]:
    """A shape given as a sequence of non-negative ints."""
    if type(shape) is tuple and all(type(v) is int and 0 <= v <= _args.MAX_DIM for v in shape):
        return shape  # the common case, without check_int's conversions
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{fn}: {name} must be a tuple of ints, got {shape!r}")
    return tuple(_args.check_int(v, name, fn, 0) for v in shape)


def _numpy_arrays(fn: str, **arrays: Any) -> List[np.ndarray]:
    kind = _args.array_kind(fn, **arrays)
    if kind == "cupy":
        raise TypeError(f"{fn}: CuPy arrays are not supported by the gradient functions yet; pass NumPy arrays")
    return [_args.to_numpy(a, name, fn) for name, a in arrays.items()]


def _check_grad_shape(
    grad_output: np.ndarray, expected: Tuple[int, ...], what: str, fn: str, shape: Any = None
) -> None:
    """``what`` names the forward call in the message, followed by `` {shape}`` if given
    (formatted only for the message)."""
    if tuple(grad_output.shape) != tuple(expected):
        what = what if shape is None else f"{what} {shape}"
        raise ValueError(f"{fn}: grad_output has shape {tuple(grad_output.shape)}, but {what} gives {tuple(expected)}")


# --------------------------------------------------------------------------- convolution


def conv2d_input(
    input_shape: Sequence[int],
    weight: ArrayLike,
    grad_output: ArrayLike,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
) -> NDArray:
    """Gradient of :func:`fastconv.conv2d` with respect to its input.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, H, W)`` or ``(C_in, H, W)``: the shape of the forward call's input.
    weight : ndarray of shape (C_out, C_in // groups, kH, kW)
    grad_output : ndarray
        Gradient of the loss with respect to the forward result; exactly the shape
        ``conv2d`` gives for these arguments.
    stride, padding, dilation, groups, padding_mode
        As for :func:`fastconv.conv2d` (every padding form and mode).

    Returns
    -------
    ndarray of shape ``input_shape``
        float32 or float64 (``np.result_type(weight, grad_output, np.float32)``).

    Raises
    ------
    ValueError
        A configuration conv2d refuses, or ``grad_output`` of another shape than the
        forward result.
    TypeError
        Non-numeric or complex arrays, CuPy arrays.

    Examples
    --------
    >>> import numpy as np, fastconv.grad
    >>> w = np.ones((1, 1, 2, 2))
    >>> fastconv.grad.conv2d_input((1, 1, 3, 3), w, np.ones((1, 1, 2, 2)))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    fn = "conv2d_input"
    in_shape = _shape_arg(input_shape, "input_shape", fn)
    weight, grad_output = _numpy_arrays(fn, weight=weight, grad_output=grad_output)
    dtype = _args.result_dtype(fn, weight=weight, grad_output=grad_output)
    mode = _args.padding_mode_code(padding_mode, fn)
    batched, out_shape, s, d, pads, g = _args.conv2d_geometry(
        in_shape, weight.shape, stride, padding, dilation, groups, fn
    )
    _check_grad_shape(grad_output, out_shape if batched else out_shape[1:], "conv2d of input_shape", fn, in_shape)
    N, C, H, W = in_shape if batched else (1,) + in_shape
    w = _args.kernel_ready(weight, dtype)
    go = _args.kernel_ready(grad_output if batched else grad_output[None], dtype)
    t, b, l, r = pads
    if s == (1, 1) and go.size:
        Cout, Cg, kH, kW = w.shape
        wt = np.empty((g * Cg, Cout // g, kH, kW), dtype=dtype)
        if _pack.flip_transpose(w, wt, g):  # and every weight finite
            res = _unit_stride_input_grad(go, wt, d, g, (H, W), pads, _MODE_NAMES[mode])
            return res if batched else res[0]
    if _MODE_NAMES[mode] == "zeros":  # the padding's gradient is dropped: not computed
        res = np.empty((N, C, H, W), dtype=dtype)
        if res.size:
            _transpose_into(go, w, s, d, g, res, None, (t, l))
        return res if batched else res[0]
    gx = np.empty((N, C, H + t + b, W + l + r), dtype=dtype)
    if gx.size:
        _transpose_into(go, w, s, d, g, gx, None)
    res = _fold_padding(gx, (H, W), pads, _MODE_NAMES[mode])
    return res if batched else res[0]


def _unit_stride_input_grad(
    go: np.ndarray,
    wt: np.ndarray,
    d: Tuple[int, int],
    groups: int,
    hw: Tuple[int, int],
    pads: Tuple[int, int, int, int],
    mode: str,
) -> np.ndarray:
    """The input gradient of a unit-stride layer with finite weights: one conv2d of
    ``go`` with the flipped, transposed weight ``wt`` (:func:`fastconv._pack.flip_transpose`).
    Its "full" result is the gradient of the padded image; zero padding within the kernel's
    reach is cropped by conv2d's own padding instead (no padded gradient, no copy), other
    modes fold the padded result."""
    Cg = wt.shape[0] // groups
    kH, kW = wt.shape[2:]
    eh, ew = (kH - 1) * d[0], (kW - 1) * d[1]
    t, b, l, r = pads
    N, _, Ho, Wo = go.shape
    if mode == "zeros" and max(t, b) <= eh and max(l, r) <= ew:
        cut = (eh - t, eh - b, ew - l, ew - r)
        out_shape = (N, groups * Cg) + hw
        return _run_checked(_args.ConvArgs(go, wt, None, go.dtype, True, out_shape, (1, 1), d, cut, 0, groups))
    out_shape = (N, groups * Cg, Ho + eh, Wo + ew)
    full = (eh, eh, ew, ew)
    gx = _run_checked(_args.ConvArgs(go, wt, None, go.dtype, True, out_shape, (1, 1), d, full, 0, groups))
    return _fold_padding(gx, hw, pads, mode)


def conv2d_weight(
    input: ArrayLike,
    weight_shape: Sequence[int],
    grad_output: ArrayLike,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
) -> NDArray:
    """Gradient of :func:`fastconv.conv2d` with respect to its weight.

    Parameters
    ----------
    input : ndarray of shape (N, C_in, H, W) or (C_in, H, W)
        The forward call's input.
    weight_shape : tuple of int
        ``(C_out, C_in // groups, kH, kW)``.
    grad_output : ndarray
        Gradient with respect to the forward result, of exactly its shape.
    stride, padding, dilation, groups, padding_mode
        As for :func:`fastconv.conv2d`.

    Returns
    -------
    ndarray of shape ``weight_shape``
        float32 or float64 (``np.result_type(input, grad_output, np.float32)``).  Compiled
        kernels (register tiles over channels-last bands; plane pairs for depthwise layers)
        sum short float32 runs into float64; a 1x1 unit-stride kernel over few output
        pixels is one matrix product through NumPy's BLAS (in blocks of at most
        :data:`WEIGHT_BLOCK_BYTES` of unfolded input in general).  The padding is
        explicit, as with autograd through ``F.pad``: an infinite ``grad_output`` meeting
        padded zeros gives NaN.

    Raises
    ------
    ValueError
        A configuration conv2d refuses, or ``grad_output`` of another shape than the
        forward result.
    TypeError
        Non-numeric or complex arrays, CuPy arrays.

    Examples
    --------
    >>> import numpy as np, fastconv.grad
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> fastconv.grad.conv2d_weight(x, (1, 1, 2, 2), np.ones((1, 1, 2, 2)))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    fn = "conv2d_weight"
    w_shape = _shape_arg(weight_shape, "weight_shape", fn)
    input, grad_output = _numpy_arrays(fn, input=input, grad_output=grad_output)
    dtype = _args.result_dtype(fn, input=input, grad_output=grad_output)
    mode = _args.padding_mode_code(padding_mode, fn)
    batched, out_shape, s, d, pads, g = _args.conv2d_geometry(
        input.shape, w_shape, stride, padding, dilation, groups, fn
    )
    _check_grad_shape(grad_output, out_shape if batched else out_shape[1:], "conv2d of input", fn, input.shape)
    x = input if batched else input[None]
    go = grad_output if batched else grad_output[None]
    return _weight_grad(x, go, w_shape, s, d, pads, _MODE_NAMES[mode], g, dtype)


def conv2d_bias(grad_output: ArrayLike) -> NDArray:
    """Gradient of :func:`fastconv.conv2d` with respect to its bias.

    Parameters
    ----------
    grad_output : ndarray of shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)

    Returns
    -------
    ndarray of shape (C_out,)
        The sum of ``grad_output`` over batch and pixels (float32 or float64; NumPy's
        pairwise summation).

    Examples
    --------
    >>> import numpy as np, fastconv.grad
    >>> fastconv.grad.conv2d_bias(np.ones((2, 3, 4, 5)))
    array([40., 40., 40.])
    """
    fn = "conv2d_bias"
    (go,) = _numpy_arrays(fn, grad_output=grad_output)
    dtype = _args.result_dtype(fn, grad_output=go)
    if go.ndim not in (3, 4):
        raise ValueError(f"{fn}: grad_output must be 3-D (C_out, H, W) or 4-D (N, C_out, H, W), got shape {go.shape}")
    axes = (0, 2, 3) if go.ndim == 4 else (1, 2)
    return np.asarray(go.sum(axis=axes, dtype=dtype), dtype=dtype)


def _phase_taps(k: int, d: int, s: int, r: int) -> List[int]:
    """Kernel taps p whose offset p * d falls in phase r of the stride s."""
    return [p for p in range(k) if (p * d) % s == r]


def _transpose_into(
    go: np.ndarray,
    w: np.ndarray,
    s: Tuple[int, int],
    d: Tuple[int, int],
    groups: int,
    gx: np.ndarray,
    num_threads: Optional[int],
    origin: Tuple[int, int] = (0, 0),
) -> None:
    """Write the transposed convolution of ``go`` (N, C_out, Ho, Wo) with the conv2d weight
    ``w`` (C_out, C_in / groups, kH, kW) into ``gx`` (N, C_in, Hg, Wg), every element of it:
    the adjoint of the unpadded ("valid") conv2d, its rows ``origin[0]`` .. and columns
    ``origin[1]`` .. (a padded layer's gradient without the padding, a cropped transposed
    convolution, with no padded temporary).

    Phase r of the rows (a = s * A + r) takes the taps p of :func:`_phase_taps`, whose
    offsets are p * d = s * P + r with P = P0 + m * d' (m = 0 .. M-1, d' = d / gcd(d, s));
    then ``gx[s * A + r] = sum_m go[A - P0 - m d'] w[p_m]``, a correlation with the flipped
    sub-kernel, padded by P0 + (M - 1) d' above: rows A0 .. of it for the window, the
    padding shortened (or ``go`` cut) by A0.  A phase with no tap is zero."""
    from fastconv.conv import conv2d

    N, Cout, Ho, Wo = go.shape
    _, Cg, kH, kW = w.shape
    og = Cout // groups
    if not np.isfinite(w).all():  # tap by tap into a zeroed full-size result
        full = np.zeros(gx.shape[:2] + (gx.shape[2] + origin[0], gx.shape[3] + origin[1]), dtype=gx.dtype)
        _transpose_exact(go, w, s, d, groups, full)
        gx[...] = full[:, :, origin[0] :, origin[1] :]
        return
    # per group: (C_in/groups, C_out/groups) blocks, as the conv2d weight of grad_output
    wt = w.reshape(groups, og, Cg, kH, kW).transpose(0, 2, 1, 3, 4)
    for rh in range(s[0]):
        th = _phase_taps(kH, d[0], s[0], rh)
        for rw in range(s[1]):
            tw = _phase_taps(kW, d[1], s[1], rw)
            first: List[int] = []  # the phase's first row and column in gx
            n_out: List[int] = []
            pad: List[Tuple[int, int]] = []
            cut: List[slice] = []
            dil: List[int] = []
            for taps, dd, ss, r, n_win, org, n_go in (
                (th, d[0], s[0], rh, gx.shape[2], origin[0], Ho),
                (tw, d[1], s[1], rw, gx.shape[3], origin[1], Wo),
            ):
                a0 = max(0, -((r - org) // ss))  # first phase index at or after the origin
                i0 = ss * a0 + r - org
                n = -(-(n_win - i0) // ss) if n_win > i0 else 0
                first.append(i0)
                n_out.append(n)
                if not taps:
                    continue
                dil.append(dd // math.gcd(dd, ss))
                p0 = (taps[0] * dd - r) // ss
                last = (taps[-1] * dd - r) // ss
                top, bottom = last - a0, a0 + n - p0 - n_go  # may be negative: cut go instead
                pad.append((max(top, 0), max(bottom, 0)))
                cut.append(slice(max(-top, 0), n_go + min(bottom, 0)))
            if n_out[0] <= 0 or n_out[1] <= 0:
                continue
            dst = gx[:, :, first[0] :: s[0], first[1] :: s[1]][:, :, : n_out[0], : n_out[1]]
            if not th or not tw or cut[0].stop <= cut[0].start or cut[1].stop <= cut[1].start:
                dst[...] = 0  # no tap, or none of go reaches the window
                continue
            sub = wt[:, :, :, th][:, :, :, :, tw][:, :, :, ::-1, ::-1]
            sub = np.ascontiguousarray(sub).reshape(groups * Cg, og, len(th), len(tw))
            gc = go[:, :, cut[0], cut[1]]
            if not _phase_in_place(gc, sub, (pad[0], pad[1]), (dil[0], dil[1]), groups, dst, num_threads):
                dst[...] = conv2d(gc, sub, None, 1, (pad[0], pad[1]), (dil[0], dil[1]), groups, num_threads=num_threads)


def _phase_in_place(
    go: np.ndarray,
    sub: np.ndarray,
    pads: Tuple[Tuple[int, int], Tuple[int, int]],
    dil: Tuple[int, int],
    groups: int,
    dst: np.ndarray,
    num_threads: Optional[int],
) -> bool:
    """Write one stride phase of a transposed convolution straight into ``dst``, the
    strided view of the (zeroed) result that the phase owns, where the channel-lane tiles
    run it and its output is exactly ``dst``'s shape; False (nothing written) otherwise.
    The phases own disjoint pixels, so writing is adding; this saves a result per phase
    and its single-threaded strided addition."""
    from fastconv import _engine

    a = _args.conv2d_args(go, sub, None, 1, pads, dil, groups, "zeros", "conv_transpose2d")
    if a.out_shape != dst.shape:
        return False
    plan = _plan.conv2d(a, "auto", num_threads)
    if plan.kind != _plan.Kind.LANES:
        return False
    _engine.run(plan, a, dst, 0.0)
    return True


def _transpose_exact(
    go: np.ndarray, w: np.ndarray, s: Tuple[int, int], d: Tuple[int, int], groups: int, gx: np.ndarray
) -> None:
    """:func:`_transpose_into` tap by tap, summing only the products that exist (weights
    holding +-inf or NaN: zero padding would add 0 * inf = NaN where the exact sum has no
    term)."""
    N, Cout, Ho, Wo = go.shape
    _, Cg, kH, kW = w.shape
    og = Cout // groups
    Hp, Wp = gx.shape[2], gx.shape[3]
    for g in range(groups):
        gg = go[:, g * og : (g + 1) * og]
        for p in range(kH):
            for q in range(kW):
                r0, c0 = p * d[0], q * d[1]
                nh = min(Ho, (Hp - r0 + s[0] - 1) // s[0])
                nw = min(Wo, (Wp - c0 + s[1] - 1) // s[1])
                if nh <= 0 or nw <= 0:
                    continue
                contrib = np.einsum("nohw,oc->nchw", gg[:, :, :nh, :nw], w[g * og : (g + 1) * og, :, p, q])
                gx[
                    :, g * Cg : (g + 1) * Cg, r0 : r0 + s[0] * (nh - 1) + 1 : s[0], c0 : c0 + s[1] * (nw - 1) + 1 : s[1]
                ] += contrib


def _fold_padding(gx: np.ndarray, hw: Tuple[int, int], pads: Tuple[int, int, int, int], mode: str) -> np.ndarray:
    """Gradient of the padded image (N, C, Hp, Wp) -> gradient of the image (N, C, H, W): the
    adjoint of numpy.pad, adding each padded pixel's gradient to the pixel it copies
    (nothing for zeros)."""
    H, W = hw
    t, _, l, _ = pads
    if mode == "zeros":
        return np.ascontiguousarray(gx[:, :, t : t + H, l : l + W])
    rows = _fold_axis(gx, 2, H, t, mode)
    return np.ascontiguousarray(_fold_axis(rows, 3, W, l, mode))


def _fold_axis(a: np.ndarray, axis: int, n: int, before: int, mode: str) -> np.ndarray:
    size = a.shape[axis]
    res = np.array(np.take(a, np.arange(before, before + n), axis=axis))
    if size == n:
        return res
    src = _args.pad_index(np.arange(size) - before, n, mode)
    sel: List[Any] = [slice(None)] * a.ndim
    dst: List[Any] = [slice(None)] * a.ndim
    for i in list(range(before)) + list(range(before + n, size)):
        sel[axis] = i
        dst[axis] = int(src[i])
        res[tuple(dst)] += a[tuple(sel)]
    return res


def _weight_grad(
    x: np.ndarray,
    go: np.ndarray,
    w_shape: Tuple[int, ...],
    s: Tuple[int, int],
    d: Tuple[int, int],
    pads: Tuple[int, int, int, int],
    mode: str,
    groups: int,
    dtype: np.dtype,
) -> np.ndarray:
    """sum over n, i, j of go[n, o, i, j] * xpad[n, c, i s + p d, j s + q d], unfolding blocks
    of (images, output rows) of at most WEIGHT_BLOCK_BYTES and reducing them with matmul."""
    Cout, Cg, kH, kW = w_shape
    N, C, H, W = x.shape
    _, _, Ho, Wo = go.shape
    og = Cout // groups
    gw = np.zeros((groups, og, Cg * kH * kW), dtype=dtype)
    if N == 0 or Cg == 0:
        return gw.reshape(w_shape)
    x = _args.kernel_ready(x, dtype)
    go = _args.kernel_ready(go, dtype)
    engine = _plan.weight_grad(
        Cg, og, kH * kW, s, dtype.itemsize, _plan.vector_bytes(), out_width=Wo, pixels=N * Ho * Wo, padded=any(pads)
    )
    if engine != "matmul":  # the compiled drivers read C-contiguous planes
        x, go = np.ascontiguousarray(x), np.ascontiguousarray(go)
    if engine == "pointwise":
        return _pointwise_weight_grad(x, go, w_shape, groups, dtype)
    if engine != "matmul":
        a = _WeightGrad(x, go, w_shape, s, d, pads, mode, groups, dtype)
        return _plane_weight_grad(a) if engine == "planes" else _tile_weight_grad(a, engine == "tiles_out")
    isz = dtype.itemsize
    per_row = Cg * kH * kW * Wo * isz  # unfolded bytes of one output row of one image and group
    rows = max(1, min(Ho, WEIGHT_BLOCK_BYTES // max(per_row, 1)))
    imgs = max(1, min(N, WEIGHT_BLOCK_BYTES // max(per_row * Ho, 1))) if rows == Ho else 1
    for n0 in range(0, N, imgs):
        n1 = min(N, n0 + imgs)
        for i0 in range(0, Ho, rows):
            i1 = min(Ho, i0 + rows)
            # the padded input rows this block of output rows reads
            r0 = i0 * s[0]
            r1 = (i1 - 1) * s[0] + d[0] * (kH - 1) + 1
            xp = _padded_rows(x[n0:n1], pads, mode, r0, r1)
            ni, nr = n1 - n0, i1 - i0
            for g in range(groups):
                xg = xp[:, g * Cg : (g + 1) * Cg]
                sN, sC, sH, sW = (st // isz for st in xg.strides)
                # per image, (taps, pixels) with the pixels (rows of output columns) last: the
                # copy's inner loop runs along input rows, and one matrix product per image
                # (C_out/groups x pixels times pixels x taps) beats one long product over
                # every image, whose tiny result shape leaves BLAS memory-bound
                win = np.lib.stride_tricks.as_strided(
                    xg,
                    shape=(ni, Cg, kH, kW, nr, Wo),
                    strides=tuple(v * isz for v in (sN, sC, d[0] * sH, d[1] * sW, s[0] * sH, s[1] * sW)),
                    writeable=False,
                )
                cols = win.reshape(ni, Cg * kH * kW, nr * Wo)
                gm = go[n0:n1, g * og : (g + 1) * og, i0:i1].reshape(ni, og, nr * Wo)
                with np.errstate(invalid="ignore", over="ignore"):  # non-finite data: NaN/inf, silently
                    gw[g] += np.matmul(gm, cols.transpose(0, 2, 1)).sum(axis=0)
    return gw.reshape(w_shape)


def _pointwise_weight_grad(
    x: np.ndarray, go: np.ndarray, w_shape: Tuple[int, ...], groups: int, dtype: np.dtype
) -> np.ndarray:
    """:func:`_weight_grad` of a 1x1 unit-stride kernel without padding (x and go
    C-contiguous, of the result dtype) by direct/wgrad_pointwise.h: the planes read in
    place, (image, group, run of pixels) items over the threads, each thread's float64 sums
    added here."""
    from fastconv import _direct, _omp

    N, C, H, W = x.shape
    Cout = go.shape[1]
    og, Cg = Cout // groups, C // groups
    run = _plan.weight_grad_run(dtype.itemsize)
    nt = _omp.resolve_threads(None, N * groups * -(-(H * W) // run))
    tot = np.zeros((nt, groups, og, Cg))
    _direct.weight_grad_pointwise(
        x.reshape(N, C, H * W), go.reshape(N, Cout, H * W), tot, groups, run, _plan.vector_bytes(), nt
    )
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf across threads is NaN, as in one sum
        return np.asarray(tot.sum(axis=0), dtype=dtype).reshape(w_shape)


class _WeightGrad(NamedTuple):
    """One conv2d_weight call for the compiled engines: x and go C-contiguous in the result
    dtype, the padding resolved."""

    x: np.ndarray
    go: np.ndarray
    w_shape: Tuple[int, ...]
    s: Tuple[int, int]
    d: Tuple[int, int]
    pads: Tuple[int, int, int, int]
    mode: str
    groups: int
    dtype: np.dtype


def _tap_maps(a: _WeightGrad) -> Tuple[np.ndarray, np.ndarray, int, int]:
    """What the compiled engines read of the padding: the source row of every padded row
    and the source column of every padded column the taps reach (-1: the zero fill), and
    the interior run [c0, c1) of padded columns that copy column c - left."""
    _, _, kH, kW = a.w_shape
    H, W = a.x.shape[2:]
    Ho, Wo = a.go.shape[2:]
    t, _, l, _ = a.pads
    Hp = (Ho - 1) * a.s[0] + (kH - 1) * a.d[0] + 1
    Wp = (Wo - 1) * a.s[1] + (kW - 1) * a.d[1] + 1
    return _pad_map(Hp, t, H, a.mode), _pad_map(Wp, l, W, a.mode), min(l, Wp), min(l + W, Wp)


_PAD_MAPS: Dict[Tuple[int, int, int, str], np.ndarray] = {}


def _pad_map(count: int, before: int, n: int, mode: str) -> np.ndarray:
    """The source index of each of ``count`` padded positions that start ``before`` ahead of
    a line of ``n`` (-1: the zero fill), read-only and kept: a training loop asks for the
    same few maps every step, and on small layers making them is a visible part of a call."""
    key = (count, before, n, mode)
    m = _PAD_MAPS.get(key)
    if m is None:
        m = np.ascontiguousarray(_args.pad_index(np.arange(count) - before, n, mode), dtype=np.int64)
        m.flags.writeable = False
        if len(_PAD_MAPS) >= 64:  # a bounded cache: start over
            _PAD_MAPS.clear()
        _PAD_MAPS[key] = m
    return m


def _plane_weight_grad(a: _WeightGrad) -> np.ndarray:
    """:func:`_weight_grad` plane by plane: each (image, input channel) against the output
    channels of its group, a few gradient planes at a time, summed by the depthwise/grad.h
    kernel into float64 sums per tap, vector lane and thread, added here."""
    from fastconv import _depthwise, _omp

    Cout, Cg, kH, kW = a.w_shape
    vb = _plan.vector_bytes()
    nt = _omp.resolve_threads(None, a.x.shape[0] * a.x.shape[1])
    sums = np.zeros((nt, Cout, Cg * kH * kW, vb // a.dtype.itemsize))
    if a.go.size:
        rowsrc, colsrc, c0, c1 = _tap_maps(a)
        flat = sums.reshape(nt, Cout, -1)
        spread = _plan.weight_grad_spread()
        _depthwise.weight_grad(
            a.x, a.go, flat, a.groups, kH, kW, a.s, a.d, rowsrc, colsrc, c0, c1, a.pads[2], vb, nt, spread
        )
    gw = np.empty((Cout, Cg * kH * kW), a.dtype)
    _depthwise.sum_lanes(sums, gw)  # inf - inf across lanes is NaN, as in one sum
    return gw.reshape(a.w_shape)


def _tile_weight_grad(a: _WeightGrad, vec_out: bool) -> np.ndarray:
    """:func:`_weight_grad` by register tiles (direct/wgrad.h): bands of output rows of one
    image and group over the threads, each thread's sums in float64 slices added here;
    ``vec_out``: the output channels across the vector lanes, else the input channels."""
    from fastconv import _direct, _omp

    Cout, Cg, kH, kW = a.w_shape
    N, groups, Ho = a.x.shape[0], a.groups, a.go.shape[2]
    og = Cout // groups
    vb = _plan.vector_bytes()
    Cp, Op, _ = _direct.weight_tile_sizes(vb, a.dtype.itemsize, Cg, og, vec_out)
    rowsrc, colsrc, c0, c1 = _tap_maps(a)
    nt = _omp.resolve_threads(None, N * groups * Ho)
    rows = _plan.weight_grad_band_rows(N * groups, Ho, nt)
    tot = np.zeros((nt, groups, kH * kW, Op * Cp))
    _direct.weight_grad(
        a.x, a.go, tot, groups, kH, kW, a.s, a.d, rowsrc, colsrc, c0, c1, a.pads[2], vec_out, rows, vb, nt
    )
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf across threads is NaN, as in one sum
        sums = tot.sum(axis=0)
    if vec_out:  # [group][tap][input channel][output channel]
        gw = sums.reshape(groups, kH, kW, Cp, Op)[:, :, :, :Cg, :og].transpose(0, 4, 3, 1, 2)
    else:  # [group][tap][output channel][input channel]
        gw = sums.reshape(groups, kH, kW, Op, Cp)[:, :, :, :og, :Cg].transpose(0, 3, 4, 1, 2)
    return np.ascontiguousarray(gw, dtype=a.dtype).reshape(a.w_shape)


def _padded_rows(x: np.ndarray, pads: Tuple[int, int, int, int], mode: str, r0: int, r1: int) -> np.ndarray:
    """Rows [r0, r1) of numpy.pad(x, pads, mode), shape (N, C, r1 - r0, W + l + r), made from
    the rows of x they copy (a block, never the whole padded image; a view when no padding
    is involved)."""
    t, _, l, r = pads
    H = x.shape[2]
    idx = _args.pad_index(np.arange(r0, r1) - t, H, mode)
    if idx[0] >= 0 and np.array_equal(idx, idx[0] + np.arange(len(idx))):
        rows = x[:, :, idx[0] : idx[0] + len(idx)]
    elif mode == "zeros":
        inside = idx >= 0
        rows = np.zeros(x.shape[:2] + (len(idx), x.shape[3]), dtype=x.dtype)
        rows[:, :, inside] = x[:, :, idx[inside]]
    else:
        rows = x[:, :, idx]
    if l or r:
        rows = np.pad(rows, ((0, 0), (0, 0), (0, 0), (l, r)), mode=_args.PADDING_MODES[mode][1])  # type: ignore[call-overload]
    return rows


# --------------------------------------------------------------------------- pooling


def max_pool2d_input(grad_output: ArrayLike, indices: ArrayLike, input_shape: Sequence[int]) -> NDArray:
    """Gradient of :func:`fastconv.max_pool2d` with respect to its input.

    Each ``grad_output`` element is added to the input element its window's maximum came
    from; windows that share a maximum (overlapping windows) accumulate.

    Parameters
    ----------
    grad_output : ndarray of shape (N, C, H_out, W_out) or (C, H_out, W_out)
    indices : integer ndarray of the same shape
        From ``max_pool2d(..., return_indices=True)``: flat indices ``h * W + w``.
    input_shape : tuple of int
        ``(N, C, H, W)`` or ``(C, H, W)``, the pooled input's shape.

    Returns
    -------
    ndarray of shape ``input_shape``, float32 or float64

    Raises
    ------
    ValueError
        ``indices`` of another shape than ``grad_output``, an index outside the ``H * W``
        input plane, or an ``input_shape`` whose batch and channels differ from
        ``grad_output``'s.
    TypeError
        Non-integer indices, non-numeric or CuPy arrays.

    Examples
    --------
    >>> import numpy as np, fastconv, fastconv.grad
    >>> x = np.array([[[1.0, 5.0, 2.0], [0.0, 3.0, 4.0]]])
    >>> y, i = fastconv.max_pool2d(x, 2, stride=1, return_indices=True)
    >>> fastconv.grad.max_pool2d_input(np.ones_like(y), i, x.shape)
    array([[[0., 2., 0.],
            [0., 0., 0.]]])
    """
    fn = "max_pool2d_input"
    in_shape = _shape_arg(input_shape, "input_shape", fn)
    go, idx = _numpy_arrays(fn, grad_output=grad_output, indices=indices)
    dtype = _args.result_dtype(fn, grad_output=go)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{fn}: indices must be an integer array, got dtype {idx.dtype}")
    if go.ndim not in (3, 4):
        raise ValueError(f"{fn}: grad_output must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {go.shape}")
    if tuple(idx.shape) != tuple(go.shape):
        raise ValueError(f"{fn}: indices shape {tuple(idx.shape)} must equal grad_output shape {tuple(go.shape)}")
    if len(in_shape) != go.ndim or in_shape[:-2] != tuple(go.shape[:-2]):
        raise ValueError(
            f"{fn}: input_shape {in_shape} must have grad_output's batch and channels {tuple(go.shape[:-2])} "
            "followed by (H, W)"
        )
    H, W = in_shape[-2:]
    if H < 1 or W < 1:
        raise ValueError(f"{fn}: input_shape {in_shape} has an empty spatial dimension")
    batched = go.ndim == 4
    g4 = _args.kernel_ready(go if batched else go[None], dtype)
    i4 = _args.kernel_ready(idx if batched else idx[None], np.dtype(np.int64))
    out = _buffers.empty((g4.shape[0], g4.shape[1], H, W), dtype)  # every element written
    bad = _pool.max_pool2d_backward(g4, i4, out, None)
    if bad >= 0:
        pos = np.unravel_index(bad, g4.shape)
        pos = pos if batched else pos[1:]
        raise ValueError(
            f"{fn}: indices{tuple(int(v) for v in pos)}={int(idx[pos])} is outside the input "
            f"plane of {H} x {W} = {H * W} elements (indices from another configuration?)"
        )
    return out if batched else out[0]


def avg_pool2d_input(
    grad_output: ArrayLike,
    input_shape: Sequence[int],
    kernel_size: IntPair,
    stride: Optional[IntPair] = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
) -> NDArray:
    """Gradient of :func:`fastconv.avg_pool2d` with respect to its input.

    Each window adds ``grad_output / divisor`` to every input element it covers, with the
    forward call's divisor (``count_include_pad``, ``divisor_override``, windows cut by
    ``ceil_mode``); overlapping windows accumulate.

    Parameters
    ----------
    grad_output : ndarray of shape (N, C, H_out, W_out) or (C, H_out, W_out)
    input_shape : tuple of int
        ``(N, C, H, W)`` or ``(C, H, W)``.
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As for :func:`fastconv.avg_pool2d`.

    Returns
    -------
    ndarray of shape ``input_shape``, float32 or float64

    Raises
    ------
    ValueError
        A configuration avg_pool2d refuses, or ``grad_output`` of another shape than the
        pooling of ``input_shape`` gives.

    Examples
    --------
    >>> import numpy as np, fastconv.grad
    >>> fastconv.grad.avg_pool2d_input(np.ones((1, 1, 1)), (1, 2, 2), 2)
    array([[[0.25, 0.25],
            [0.25, 0.25]]])
    """
    fn = "avg_pool2d_input"
    in_shape = _shape_arg(input_shape, "input_shape", fn)
    (go,) = _numpy_arrays(fn, grad_output=grad_output)
    dtype = _args.result_dtype(fn, grad_output=go)
    batched, out_shape, k, s, p, _ = _args.pool2d_geometry(in_shape, kernel_size, stride, padding, 1, ceil_mode, fn)
    _check_grad_shape(go, out_shape if batched else out_shape[1:], f"avg_pool2d of input_shape {in_shape}", fn)
    div = _args.avg_divisor(count_include_pad, divisor_override, fn)
    g4 = _args.kernel_ready(go if batched else go[None], dtype)
    N, C, H, W = in_shape if batched else (1,) + in_shape
    out = _buffers.empty((N, C, H, W), dtype)  # every element written
    # each window's divisor, converted from int64 as PyTorch does
    if div:
        divisors = np.full(out_shape[2:], div, dtype=dtype)
    else:
        divisors = _args.avg_window_sizes((H, W), out_shape[2:], k, s, p, count_include_pad).astype(dtype)
    _pool.avg_pool2d_backward(g4, divisors, out, k[0], k[1], s[0], s[1], p[0], p[1], None)
    return out if batched else out[0]


# --------------------------------------------------------------------------- 1-D and 3-D
#
# A 1-D convolution or pooling is the 2-D one of a unit row, so its gradients are the 2-D
# gradients of that row.  A 3-D convolution is a sum over the kernel depth of 2-D
# convolutions of depth slices (fastconv.nd), so its input gradient is the sum of the 2-D
# input gradients of those slices, added back at the depth each slice was read from (a
# padded depth that maps to a source slice folds onto it, as numpy.pad's adjoint does), and
# its weight gradient is, depth tap by depth tap, a 2-D weight gradient.


def _unit_row(shape: Tuple[int, ...]) -> Tuple[int, ...]:
    return shape[:-1] + (1, shape[-1])


def conv1d_input(
    input_shape: Sequence[int],
    weight: ArrayLike,
    grad_output: ArrayLike,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
) -> NDArray:
    """Gradient of :func:`fastconv.conv1d` with respect to its input
    (``torch.nn.grad.conv1d_input``).

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, L)`` or ``(C_in, L)``.
    weight : ndarray of shape (C_out, C_in // groups, k)
    grad_output : ndarray
        Exactly the shape conv1d gives for these arguments.
    stride, padding, dilation, groups, padding_mode
        As for :func:`fastconv.conv1d`.

    Returns
    -------
    ndarray of shape ``input_shape``
    """
    from fastconv import nd

    fn = "conv1d_input"
    w, go = _numpy_arrays(fn, weight=weight, grad_output=grad_output)
    shape = _shape_arg(input_shape, "input_shape", fn)
    _check_grad_shape(go, _shapes._conv_shape(shape, w.shape, stride, padding, dilation, groups, 1, fn), "conv1d", fn)
    s, d = nd._one(stride, "stride", fn, 1), nd._one(dilation, "dilation", fn, 1)
    res = conv2d_input(
        _unit_row(shape),
        w[..., None, :],
        go[..., None, :],
        (1, s),
        nd.pad1d_as_2d(padding, fn),
        (1, d),
        groups,
        padding_mode,
    )
    return res[..., 0, :]


def conv1d_weight(
    input: ArrayLike,
    weight_shape: Sequence[int],
    grad_output: ArrayLike,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
) -> NDArray:
    """Gradient of :func:`fastconv.conv1d` with respect to its weight
    (``torch.nn.grad.conv1d_weight``); arguments as :func:`conv1d_input`, with the forward
    call's ``input`` and the weight's shape ``(C_out, C_in // groups, k)``.

    Returns
    -------
    ndarray of shape ``weight_shape``
    """
    from fastconv import nd

    fn = "conv1d_weight"
    x, go = _numpy_arrays(fn, input=input, grad_output=grad_output)
    wshape = _shape_arg(weight_shape, "weight_shape", fn)
    _check_grad_shape(go, _shapes._conv_shape(x.shape, wshape, stride, padding, dilation, groups, 1, fn), "conv1d", fn)
    s, d = nd._one(stride, "stride", fn, 1), nd._one(dilation, "dilation", fn, 1)
    res = conv2d_weight(
        x[..., None, :],
        _unit_row(wshape),
        go[..., None, :],
        (1, s),
        nd.pad1d_as_2d(padding, fn),
        (1, d),
        groups,
        padding_mode,
    )
    return res[..., 0, :]


def _conv3d_setup(
    fn: str,
    in_shape: Tuple[int, ...],
    w_shape: Tuple[int, ...],
    go: np.ndarray,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    padding_mode: str,
) -> Tuple[bool, Tuple[int, ...], np.ndarray, Any, Any, Any, np.ndarray]:
    """Checks; then (batched, 5-D input shape, grad as (N * D_out, C_out, H_out, W_out)
    images, 2-D stride, 2-D padding, 2-D dilation, the source depth of each (tap, output
    depth) pair: -1 where it reads zero padding)."""
    from fastconv import nd

    out = _shapes._conv_shape(in_shape, w_shape, stride, padding, dilation, groups, 3, fn)
    _check_grad_shape(go, out, "conv3d", fn)
    _args.padding_mode_code(padding_mode, fn)
    batched = len(in_shape) == 5
    shape5 = in_shape if batched else (1,) + in_shape
    g5 = go if batched else go[None]
    N, O, Do, Ho, Wo = g5.shape
    s, d = nd._triple(stride, "stride", fn, 1), nd._triple(dilation, "dilation", fn, 1)
    kD = w_shape[2]
    pd, hw_pad, _ = nd.conv3d_depth(padding, shape5[2], kD, s[0], d[0], fn)
    od = np.arange(Do)
    src = np.stack([_args.pad_index(od * s[0] + kd * d[0] - pd[0], shape5[2], padding_mode) for kd in range(kD)])
    g2 = np.ascontiguousarray(g5.transpose(0, 2, 1, 3, 4)).reshape(N * Do, O, Ho, Wo)
    return batched, shape5, g2, s[1:], hw_pad, d[1:], src


def conv3d_input(
    input_shape: Sequence[int],
    weight: ArrayLike,
    grad_output: ArrayLike,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
) -> NDArray:
    """Gradient of :func:`fastconv.conv3d` with respect to its input
    (``torch.nn.grad.conv3d_input``).

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``.
    weight : ndarray of shape (C_out, C_in // groups, kD, kH, kW)
    grad_output : ndarray
        Exactly the shape conv3d gives for these arguments.
    stride, padding, dilation, groups, padding_mode
        As for :func:`fastconv.conv3d` (every padding form and mode).

    Returns
    -------
    ndarray of shape ``input_shape``
    """
    fn = "conv3d_input"
    w, go = _numpy_arrays(fn, weight=weight, grad_output=grad_output)
    shape = _shape_arg(input_shape, "input_shape", fn)
    batched, (N, C, D, H, W), g2, s2, pad2, d2, src = _conv3d_setup(
        fn, shape, w.shape, go, stride, padding, dilation, groups, padding_mode
    )
    Do = src.shape[1]
    dtype = _args.result_dtype(fn, weight=w, grad_output=go)
    gx = np.zeros((N, C, D, H, W), dtype=dtype)
    for kd in range(w.shape[2]):
        if (src[kd] < 0).all():
            continue
        gi = conv2d_input((N * Do, C, H, W), w[:, :, kd], g2, s2, pad2, d2, groups, padding_mode)
        gi = gi.reshape(N, Do, C, H, W)
        for o in np.flatnonzero(src[kd] >= 0):  # one output depth may fold onto a source twice
            gx[:, :, src[kd, o]] += gi[:, o]
    return gx if batched else gx[0]


def conv3d_weight(
    input: ArrayLike,
    weight_shape: Sequence[int],
    grad_output: ArrayLike,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
) -> NDArray:
    """Gradient of :func:`fastconv.conv3d` with respect to its weight
    (``torch.nn.grad.conv3d_weight``); arguments as :func:`conv3d_input`, with the forward
    call's ``input`` and the weight's shape ``(C_out, C_in // groups, kD, kH, kW)``.

    Returns
    -------
    ndarray of shape ``weight_shape``
    """
    fn = "conv3d_weight"
    x, go = _numpy_arrays(fn, input=input, grad_output=grad_output)
    wshape = _shape_arg(weight_shape, "weight_shape", fn)
    batched, (N, C, D, H, W), g2, s2, pad2, d2, src = _conv3d_setup(
        fn, tuple(x.shape), wshape, go, stride, padding, dilation, groups, padding_mode
    )
    x5 = x if batched else x[None]
    Do = src.shape[1]
    dtype = _args.result_dtype(fn, input=x, grad_output=go)
    gw = np.zeros(wshape, dtype=dtype)
    for kd in range(wshape[2]):
        ok = src[kd] >= 0
        if not ok.any():
            continue
        sl = np.zeros((N, C, Do, H, W), dtype=dtype)
        sl[:, :, ok] = x5[:, :, src[kd, ok]]
        imgs = np.ascontiguousarray(sl.transpose(0, 2, 1, 3, 4)).reshape(N * Do, C, H, W)
        gw[:, :, kd] = conv2d_weight(imgs, wshape[:2] + wshape[3:], g2, s2, pad2, d2, groups, padding_mode)
    return gw


def max_pool1d_input(grad_output: ArrayLike, indices: ArrayLike, input_shape: Sequence[int]) -> NDArray:
    """Gradient of :func:`fastconv.max_pool1d` with respect to its input: each
    ``grad_output`` element added at its window's maximum (``indices``: positions along L).

    Returns
    -------
    ndarray of shape ``input_shape`` (``(N, C, L)`` or ``(C, L)``)
    """
    fn = "max_pool1d_input"
    go, ix = _numpy_arrays(fn, grad_output=grad_output, indices=indices)
    shape = _shape_arg(input_shape, "input_shape", fn)
    if len(shape) not in (2, 3) or go.ndim != len(shape):
        raise ValueError(f"{fn}: input_shape {shape} and grad_output {go.shape} must both be (C, L) or (N, C, L)")
    res = max_pool2d_input(go[..., None, :], ix[..., None, :], _unit_row(shape))
    return res[..., 0, :]


def max_pool3d_input(grad_output: ArrayLike, indices: ArrayLike, input_shape: Sequence[int]) -> NDArray:
    """Gradient of :func:`fastconv.max_pool3d` with respect to its input: each
    ``grad_output`` element added at its window's maximum (``indices``: flat
    ``(d * H + h) * W + w`` positions in the volume, PyTorch's).

    Returns
    -------
    ndarray of shape ``input_shape`` (``(N, C, D, H, W)`` or ``(C, D, H, W)``)
    """
    fn = "max_pool3d_input"
    go, ix = _numpy_arrays(fn, grad_output=grad_output, indices=indices)
    shape = _shape_arg(input_shape, "input_shape", fn)
    if len(shape) not in (4, 5) or go.ndim != len(shape):
        raise ValueError(
            f"{fn}: input_shape {shape} and grad_output {go.shape} must both be (C, D, H, W) or (N, C, D, H, W)"
        )
    lead, vol = shape[:-3], int(np.prod(shape[-3:]))
    flat = (*go.shape[:-3], 1, int(np.prod(go.shape[-3:])))
    if tuple(ix.shape) != tuple(go.shape):
        raise ValueError(f"{fn}: indices shape {tuple(ix.shape)} must equal grad_output shape {tuple(go.shape)}")
    res = max_pool2d_input(go.reshape(flat), ix.reshape(flat), lead + (1, vol))
    return res.reshape(shape)


def avg_pool1d_input(
    grad_output: ArrayLike,
    input_shape: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> NDArray:
    """Gradient of :func:`fastconv.avg_pool1d` with respect to its input (arguments as
    there; ``input_shape`` ``(N, C, L)`` or ``(C, L)``).

    Returns
    -------
    ndarray of shape ``input_shape``
    """
    from fastconv import nd

    fn = "avg_pool1d_input"
    (go,) = _numpy_arrays(fn, grad_output=grad_output)
    shape = _shape_arg(input_shape, "input_shape", fn)
    if len(shape) not in (2, 3) or go.ndim != len(shape):
        raise ValueError(f"{fn}: input_shape {shape} and grad_output {go.shape} must both be (C, L) or (N, C, L)")
    k = nd._one(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else nd._one(stride, "stride", fn, 1)
    p = nd._one(padding, "padding", fn, 0)
    res = avg_pool2d_input(go[..., None, :], _unit_row(shape), (1, k), (1, s), (0, p), ceil_mode, count_include_pad)
    return res[..., 0, :]


def avg_pool3d_input(
    grad_output: ArrayLike,
    input_shape: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
) -> NDArray:
    """Gradient of :func:`fastconv.avg_pool3d` with respect to its input (arguments as
    there; ``input_shape`` ``(N, C, D, H, W)`` or ``(C, D, H, W)``).

    avg_pool3d is the window sums of the 2-D slices, summed over the kernel depth and
    divided by each window's divisor; its gradient divides first, then routes each depth
    tap's share back through the 2-D window sums.

    Returns
    -------
    ndarray of shape ``input_shape``
    """
    from fastconv import nd

    fn = "avg_pool3d_input"
    (go,) = _numpy_arrays(fn, grad_output=grad_output)
    shape = _shape_arg(input_shape, "input_shape", fn)
    if len(shape) not in (4, 5):
        raise ValueError(f"{fn}: input_shape must be (C, D, H, W) or (N, C, D, H, W), got {shape}")
    expected = _shapes.pool3d_output_shape(shape, kernel_size, stride, padding, 1, ceil_mode)
    _check_grad_shape(go, expected, "avg_pool3d", fn)
    dtype = _args.result_dtype(fn, grad_output=go)
    g5 = (go if len(shape) == 5 else go[None]).astype(dtype)
    N, C, D, H, W = shape if len(shape) == 5 else (1,) + shape
    _, _, Do, Ho, Wo = g5.shape
    k = nd._triple(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else nd._triple(stride, "stride", fn, 1)
    p = nd._triple(padding, "padding", fn, 0)
    div = _args.avg_divisor(count_include_pad, divisor_override, fn)
    if div:
        g5 = g5 / dtype.type(div)
    else:  # the divisors avg_pool3d uses
        g5 = g5 / _args.avg_window_sizes((D, H, W), (Do, Ho, Wo), k, s, p, count_include_pad).astype(dtype)
    _, starts = nd._depth_windows(D, k[0], s[0], p[0], 1, ceil_mode, fn)
    gx = np.zeros((N, C, D, H, W), dtype=dtype)
    for kd in range(k[0]):
        src = starts + kd
        ok = np.flatnonzero((src >= 0) & (src < D))
        if not len(ok):
            continue
        gi = avg_pool2d_input(
            g5[:, :, ok].reshape(N, C * len(ok), Ho, Wo),
            (N, C * len(ok), H, W),
            k[1:],
            s[1:],
            p[1:],
            ceil_mode,
            True,
            1,
        )
        gx[:, :, src[ok]] += gi.reshape(N, C, len(ok), H, W)  # distinct depths for one tap
    return gx if len(shape) == 5 else gx[0]
