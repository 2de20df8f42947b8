"""1-D and 3-D convolution and pooling with ``torch.nn.functional`` semantics, on the 2-D engine.

One engine, not three copies: a 1-D convolution is a 2-D one with a unit row (the kernel,
padding and indices of the row axis are trivial), and a 3-D convolution is a sum over kernel
depth of 2-D convolutions, each of which runs every output depth slice as one batch of
images (the depth slices that tap reads, gathered once per tap).  3-D pooling reduces the
2-D pooling of each tap's depth slices over the kernel depth, with the 2-D kernels' tie,
NaN and divisor rules carried over exactly (they factor by axis).
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Sequence, Tuple, Union, cast, overload

import numpy as np

from fastconv import _args, _buffers, _pack, _plan, _pool
from fastconv.pool import avg_pool2d, max_pool2d, max_unpool2d
from fastconv.typing import ArrayLike, NDArray, Padding, PaddingMode

__all__ = [
    "avg_pool1d",
    "avg_pool3d",
    "conv1d",
    "conv3d",
    "max_pool1d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool3d",
]

Int1 = Union[int, Tuple[int]]
Int3 = Union[int, Tuple[int, int, int]]


def _one(value: Any, name: str, fn: str, minimum: int) -> int:
    """``v`` or ``(v,)`` -> v."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{fn}: {name}={tuple(value)!r} must be an int or a one-element tuple")
        value = value[0]
    return _args.check_int(value, name, fn, minimum)


def _triple(value: Any, name: str, fn: str, minimum: int) -> Tuple[int, int, int]:
    """``v``, ``(v,)`` or ``(d, h, w)``."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = value[0]
        elif len(value) == 3:
            a, b, c = (_args.check_int(v, name, fn, minimum) for v in value)
            return (a, b, c)
        else:
            raise ValueError(f"{fn}: {name}={tuple(value)!r} must be an int or a triple (d, h, w)")
    v = _args.check_int(value, name, fn, minimum)
    return (v, v, v)


def pad1d_as_2d(padding: Any, fn: str) -> Any:
    """conv1d's ``padding`` as the conv2d padding of a unit row: an int, ``(p,)`` or
    ``(left, right)``, or "valid"/"same" as they are."""
    if isinstance(padding, str):
        return padding
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        return ((0, 0), (_args.check_int(padding[0], "padding", fn, 0), _args.check_int(padding[1], "padding", fn, 0)))
    p = _one(padding, "padding", fn, 0)
    return ((0, 0), (p, p))


def conv3d_depth(padding: Any, D: int, kD: int, sD: int, dD: int, fn: str) -> Tuple[Tuple[int, int], Any, int]:
    """conv3d's ``padding`` split into the depth padding (front, back), the conv2d padding
    of each slice, and the output depth (validated: the kernel must fit)."""
    if isinstance(padding, str):
        pads = _args.normalize_padding(padding, (kD, 1), (sD, 1), (dD, 1), (D, 1), fn)
        pd = (pads[0], pads[1])
        hw_pad: Any = padding
    elif (
        isinstance(padding, (tuple, list)) and len(padding) == 3 and all(isinstance(p, (tuple, list)) for p in padding)
    ):
        (f0, f1), ph, pw = cast(Any, padding)
        pd = (_args.check_int(f0, "padding", fn, 0), _args.check_int(f1, "padding", fn, 0))
        hw_pad = (tuple(ph), tuple(pw))
    else:
        p3 = _triple(padding, "padding", fn, 0)
        pd = (p3[0], p3[0])
        hw_pad = (p3[1], p3[2])
    Do = _args.conv_out_size(D, pd[0], pd[1], kD, sD, dD)
    if Do < 1:
        raise ValueError(
            f"{fn}: kernel depth {kD} with dilation {dD} spans {dD * (kD - 1) + 1}, more than the "
            f"padded depth {D + pd[0] + pd[1]}"
        )
    return pd, hw_pad, Do


def _check_rank(x: Any, ranks: Tuple[int, int], what: str, fn: str) -> None:
    if np.ndim(x) not in ranks:
        raise ValueError(f"{fn}: input must be {ranks[0]}-D or {ranks[1]}-D {what}, got shape {np.shape(x)}")


def _finish(res: np.ndarray, out: Optional[np.ndarray], fn: str) -> np.ndarray:
    if out is None:
        return res
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{fn}: out must be a NumPy ndarray, got {type(out).__name__}")
    if out.shape != res.shape or out.dtype != res.dtype:
        raise ValueError(
            f"{fn}: out has shape {out.shape} and dtype {out.dtype}, the result {res.shape} and {res.dtype}"
        )
    np.copyto(out, res)
    return out


def _numpy(fn: str, **arrays: Any) -> None:
    if _args.array_kind(fn, **arrays) == "cupy":
        raise TypeError(f"{fn}: CuPy arrays are not supported by the 1-D and 3-D functions yet; pass NumPy arrays")


# --------------------------------------------------------------------------- convolution


def conv1d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: Optional[ArrayLike] = None,
    stride: Int1 = 1,
    padding: Padding = 0,
    dilation: Int1 = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    out: Optional[NDArray] = None,
    num_threads: Optional[int] = None,
) -> NDArray:
    """1-D convolution (cross-correlation) with ``torch.nn.functional.conv1d``'s semantics.

    Parameters
    ----------
    input : ndarray of shape (N, C_in, L) or (C_in, L)
    weight : ndarray of shape (C_out, C_in // groups, k)
    bias : ndarray of shape (C_out,), optional
    stride, dilation : int or (int,)
    padding : int, (int,), (left, right), "valid" or "same"
        "same" keeps ``L_out = ceil(L / stride)`` (the odd pixel on the right).
    groups : int
    padding_mode : {"zeros", "reflect", "replicate", "circular", "symmetric"}
        Any padding size (``numpy.pad`` semantics), as for :func:`fastconv.conv2d`.
    out : ndarray, optional
    num_threads : int, optional

    Returns
    -------
    ndarray of shape (N, C_out, L_out) or (C_out, L_out)

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.conv1d(np.arange(5.0).reshape(1, 5), np.ones((1, 1, 2)))
    array([[1., 3., 5., 7.]])
    """
    from fastconv.conv import _conv2d

    fn = "conv1d"
    _numpy(fn, input=input, weight=weight, bias=bias)
    _check_rank(input, (2, 3), "(C_in, L) or (N, C_in, L)", fn)
    if np.ndim(weight) != 3:
        raise ValueError(f"{fn}: weight must be 3-D (C_out, C_in/groups, k), got shape {np.shape(weight)}")
    s = _one(stride, "stride", fn, 1)
    d = _one(dilation, "dilation", fn, 1)
    pad = pad1d_as_2d(padding, fn)
    x = np.asarray(input)
    res = _conv2d(
        x[..., None, :],
        np.asarray(weight)[:, :, None, :],
        bias,
        (1, s),
        pad,
        (1, d),
        groups,
        padding_mode,
        None,
        num_threads,
        "auto",
        None,
        fn,
    )
    return _finish(res[..., 0, :], out, fn)


def conv3d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: Optional[ArrayLike] = None,
    stride: Int3 = 1,
    padding: Padding = 0,
    dilation: Int3 = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    out: Optional[NDArray] = None,
    num_threads: Optional[int] = None,
) -> NDArray:
    """3-D convolution (cross-correlation) with ``torch.nn.functional.conv3d``'s semantics.

    Runs as a sum over kernel depth of 2-D convolutions (:func:`fastconv.conv2d`, whose
    kernels, threads and float32 accuracy it inherits), each over every output depth slice
    at once.

    Parameters
    ----------
    input : ndarray of shape (N, C_in, D, H, W) or (C_in, D, H, W)
    weight : ndarray of shape (C_out, C_in // groups, kD, kH, kW)
    bias : ndarray of shape (C_out,), optional
    stride, dilation : int or (int, int, int)
    padding : int, (pD, pH, pW), ((front, back), (top, bottom), (left, right)), "valid" or "same"
    groups : int
    padding_mode : {"zeros", "reflect", "replicate", "circular", "symmetric"}
        Any padding size, ``numpy.pad`` semantics on each axis.
    out : ndarray, optional
    num_threads : int, optional

    Returns
    -------
    ndarray of shape (N, C_out, D_out, H_out, W_out) or (C_out, D_out, H_out, W_out)

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.conv3d(np.ones((1, 3, 3, 3)), np.ones((1, 1, 2, 2, 2)))[0, 0]
    array([[8., 8.],
           [8., 8.]])
    """
    from fastconv.conv import _conv2d

    fn = "conv3d"
    _numpy(fn, input=input, weight=weight, bias=bias)
    _check_rank(input, (4, 5), "(C_in, D, H, W) or (N, C_in, D, H, W)", fn)
    x = _args.to_numpy(input, "input", fn)
    w = _args.to_numpy(weight, "weight", fn)
    if w.ndim != 5:
        raise ValueError(f"{fn}: weight must be 5-D (C_out, C_in/groups, kD, kH, kW), got shape {w.shape}")
    batched = x.ndim == 5
    x5 = x if batched else x[None]
    N, C, D, H, W = x5.shape
    kD = w.shape[2]
    s = _triple(stride, "stride", fn, 1)
    d = _triple(dilation, "dilation", fn, 1)
    if D < 1:
        raise ValueError(f"{fn}: input shape {x.shape} has an empty depth")
    if kD < 1:
        raise ValueError(f"{fn}: weight shape {w.shape} has an empty dimension")
    _args.padding_mode_code(padding_mode, fn)
    mode = str(padding_mode)
    pd, hw_pad, Do = conv3d_depth(padding, D, kD, s[0], d[0], fn)
    if groups == 1 and d[0] == 1 and kD > 1:
        full = _conv3d_depth_channels(x5, w, bias, s, hw_pad, d, pd, Do, mode, num_threads)
        return _finish(full if batched else full[0], out, fn)
    res: Optional[np.ndarray] = None
    od = np.arange(Do)
    for kd in range(kD):
        src = _args.pad_index(od * s[0] + kd * d[0] - pd[0], D, mode)
        valid = src >= 0
        sl = np.zeros((N, C, Do, H, W), dtype=np.result_type(x5, w, np.float32)) if not valid.all() else None
        if sl is None:
            sl = x5[:, :, src]
        else:
            sl[:, :, valid] = x5[:, :, src[valid]]
        # (N, C, Do, H, W) -> (N * Do, C, H, W): each output depth slice is one image
        imgs = np.ascontiguousarray(sl.transpose(0, 2, 1, 3, 4)).reshape(N * Do, C, H, W)
        y = _conv2d(
            imgs,
            w[:, :, kd],
            bias if kd == 0 else None,
            s[1:],
            hw_pad,
            d[1:],
            groups,
            padding_mode,
            None,
            num_threads,
            "auto",
            None,
            fn,
        )
        if res is None:
            res = y
        else:
            res += y
    assert res is not None
    Cout, Ho, Wo = res.shape[1:]
    full = np.ascontiguousarray(res.reshape(N, Do, Cout, Ho, Wo).transpose(0, 2, 1, 3, 4))
    return _finish(full if batched else full[0], out, fn)


def _conv3d_depth_channels(
    x5: np.ndarray,
    w: np.ndarray,
    bias: Any,
    s: Tuple[int, int, int],
    hw_pad: Any,
    d: Tuple[int, int, int],
    pd: Tuple[int, int],
    Do: int,
    mode: str,
    num_threads: Optional[int],
) -> np.ndarray:
    """conv3d (groups 1, depth dilation 1) as one conv2d per image whose input channels are
    the (kernel depth, channel) pairs an output slice reads: with the input copied once to
    (N, D + padding, C, H, W), the kD consecutive slices of C channels are one run of kD * C
    planes, a strided view, so the direct and Winograd kernels sum over depth and channels
    in one reduction (instead of one pass over the result per depth tap)."""
    from fastconv.conv import conv2d

    N, C, D, H, W = x5.shape
    O, _, kD, kH, kW = w.shape
    dtype = np.result_type(x5, w, np.float32)
    if C == 1 and O == 1 and mode == "zeros":
        return _conv3d_single(x5, w, bias, s, hw_pad, d, pd, Do, num_threads, dtype)
    src = _args.pad_index(np.arange(-pd[0], D + pd[1]), D, mode)
    # from the block cache, as the result below: big fresh arrays fault in page by page
    xs = _buffers.empty((N, len(src), C, H, W), dtype)
    inside = src >= 0
    xs[:, ~inside] = 0
    xs[:, inside] = x5[:, :, src[inside]].transpose(0, 2, 1, 3, 4)
    w2 = np.ascontiguousarray(w.transpose(0, 2, 1, 3, 4), dtype=dtype).reshape(O, kD * C, kH, kW)
    plane = C * H * W * xs.itemsize
    # the output planes' size (and the validation of their arguments), from an empty batch
    Ho, Wo = conv2d(
        np.empty((0, kD * C, H, W), dtype), w2, bias, s[1:], hw_pad, d[1:], 1, cast(PaddingMode, mode)
    ).shape[2:]
    res = _buffers.empty((N, O, Do, Ho, Wo), dtype)
    for n in range(N):
        view = np.lib.stride_tricks.as_strided(
            xs[n], shape=(Do, kD * C, H, W), strides=(s[0] * plane,) + xs[n].strides[1:], writeable=False
        )
        y = conv2d(view, w2, bias, s[1:], hw_pad, d[1:], 1, cast(PaddingMode, mode), num_threads=num_threads)
        res[n] = y.transpose(1, 0, 2, 3)
    return res


def rows_in_place(
    planes: np.ndarray, w2: np.ndarray, stride: Any, hw_pad: Any, dilation: Any, num_threads: Optional[int], Wo: int
) -> bool:
    """Whether conv2d of ``planes`` (a strided view of a volume's slices, kD of them per
    image) runs the row tiles and these cover its ``Wo`` output columns exactly
    (``_plan.rows_cover``): a zero-padded copy of the volume is then read in place, one copy
    instead of a packed band of each plane for every output slice that reads it."""
    from fastconv.conv import explain

    sw, dw = (v[1] if isinstance(v, tuple) else v for v in (stride, dilation))
    if w2.shape[1] < 2 or sw != 1 or dw != 1:  # (one plane per output slice: as many copies either way)
        return False
    p = explain(planes, w2, None, stride, hw_pad, dilation, num_threads=num_threads)
    return p.kind == _plan.Kind.ROWS and _plan.rows_cover(Wo, p.vector_bytes, planes.itemsize)


def zero_padded(vol: np.ndarray, pads: Any, dtype: np.dtype, num_threads: Optional[int]) -> np.ndarray:
    """vol (B, D, H, W) with ``pads`` ((front, back), (top, bottom), (left, right)) of zeros
    around its last three axes, from the block cache, written in one parallel pass.  Its
    rows start on 64-byte boundaries (a view of wider rows), as the row tiles' aligned loads
    want."""
    B, D, H, W = vol.shape
    (d0, d1), (h0, h1), (w0, w1) = pads
    Wp = W + w0 + w1
    per = 64 // dtype.itemsize
    res = _buffers.empty((B, D + d0 + d1, H + h0 + h1, -(-Wp // per) * per), dtype)
    _pack.pad_volume(np.ascontiguousarray(vol, dtype=dtype), res, d0, h0, w0, num_threads)
    return res[..., :Wp]


def _conv3d_single(
    x5: np.ndarray,
    w: np.ndarray,
    bias: Any,
    s: Tuple[int, int, int],
    hw_pad: Any,
    d: Tuple[int, int, int],
    pd: Tuple[int, int],
    Do: int,
    num_threads: Optional[int],
    dtype: np.dtype,
) -> np.ndarray:
    """_conv3d_depth_channels for one input and one output channel with zero padding (big
    single-channel volumes): the output slices whose kD planes all lie in the volume read a
    strided view of it, no copy, and write their planes of the result in place; the few at
    the ends read a zero-padded copy of their planes.  Or, where the row tiles read padded
    planes in place (``rows_in_place``), every slice reads one zero-padded copy."""
    from fastconv.conv import conv2d

    N, _, D, H, W = x5.shape
    kD = w.shape[2]
    vol = _args.kernel_ready(x5, dtype)
    w2 = np.ascontiguousarray(w[:, 0], dtype=dtype)  # (1, kD, kH, kW): the depth taps as channels
    Ho, Wo = conv2d(np.empty((0, kD, H, W), dtype), w2, bias, s[1:], hw_pad, d[1:]).shape[2:]
    res = _buffers.empty((N, 1, Do, Ho, Wo), dtype)
    s0, p0 = s[0], pd[0]
    # output slices o whose planes o*s0 - p0 .. o*s0 - p0 + kD - 1 are all in the volume
    lo = min(-(-p0 // s0), Do)
    hi = max(lo, min(Do, (D - kD + p0) // s0 + 1))
    if hi > lo and N > 0:
        sd = vol.strides[2]
        inner = np.lib.stride_tricks.as_strided(
            vol[0, 0, lo * s0 - p0 :],
            shape=(hi - lo, kD, H, W),
            strides=(s0 * sd, sd) + vol.strides[3:],
            writeable=False,
        )
        if rows_in_place(inner, w2, s[1:], hw_pad, d[1:], num_threads, Wo):
            kH, kW = w.shape[3:]
            t, b, le, r = _args.normalize_padding(hw_pad, (kH, kW), s[1:], d[1:], (H, W), "conv3d")
            padded = zero_padded(vol[:, 0], (pd, (t, b), (le, r)), dtype, num_threads)
            sd = padded.strides[1]
            for n in range(N):
                view = np.lib.stride_tricks.as_strided(
                    padded[n],
                    shape=(Do, kD) + padded.shape[2:],
                    strides=(s0 * sd, sd) + padded.strides[2:],
                    writeable=False,
                )
                conv2d(view, w2, bias, s[1:], 0, d[1:], num_threads=num_threads, out=res[n, 0, :, None])
            return res
    for n in range(N):
        planes = vol[n, 0]
        sd = planes.strides[0]
        if hi > lo:
            view = np.lib.stride_tricks.as_strided(
                planes[lo * s0 - p0 :],
                shape=(hi - lo, kD, H, W),
                strides=(s0 * sd, sd) + planes.strides[1:],
                writeable=False,
            )
            conv2d(view, w2, bias, s[1:], hw_pad, d[1:], num_threads=num_threads, out=res[n, 0, lo:hi, None])
        for o in list(range(lo)) + list(range(hi, Do)):
            first = o * s0 - p0
            ends = np.zeros((1, kD, H, W), dtype)
            a, e = max(first, 0), min(first + kD, D)
            if e > a:
                ends[0, a - first : e - first] = planes[a:e]
            conv2d(ends, w2, bias, s[1:], hw_pad, d[1:], num_threads=num_threads, out=res[n, 0, o : o + 1, None])
    return res


# --------------------------------------------------------------------------- pooling


@overload
def max_pool1d(
    input: ArrayLike,
    kernel_size: Int1,
    stride: Optional[Int1] = ...,
    padding: Int1 = ...,
    dilation: Int1 = ...,
    ceil_mode: bool = ...,
    return_indices: Literal[False] = ...,
    *,
    num_threads: Optional[int] = ...,
) -> NDArray: ...
@overload
def max_pool1d(
    input: ArrayLike,
    kernel_size: Int1,
    stride: Optional[Int1] = ...,
    padding: Int1 = ...,
    dilation: Int1 = ...,
    ceil_mode: bool = ...,
    *,
    return_indices: Literal[True],
    num_threads: Optional[int] = ...,
) -> Tuple[NDArray, NDArray]: ...
@overload
def max_pool1d(
    input: ArrayLike,
    kernel_size: Int1,
    stride: Optional[Int1],
    padding: Int1,
    dilation: Int1,
    ceil_mode: bool,
    return_indices: Literal[True],
    *,
    num_threads: Optional[int] = ...,
) -> Tuple[NDArray, NDArray]: ...
@overload
def max_pool1d(
    input: ArrayLike,
    kernel_size: Int1,
    stride: Optional[Int1] = ...,
    padding: Int1 = ...,
    dilation: Int1 = ...,
    ceil_mode: bool = ...,
    return_indices: bool = ...,
    *,
    num_threads: Optional[int] = ...,
) -> Union[NDArray, Tuple[NDArray, NDArray]]: ...


def max_pool1d(
    input: ArrayLike,
    kernel_size: Int1,
    stride: Optional[Int1] = None,
    padding: Int1 = 0,
    dilation: Int1 = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    num_threads: Optional[int] = None,
) -> Union[NDArray, Tuple[NDArray, NDArray]]:
    """1-D max pooling (``torch.nn.functional.max_pool1d``): input (N, C, L) or (C, L);
    indices are positions along L.  Ties, NaN and ceil_mode as :func:`fastconv.max_pool2d`.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.max_pool1d(np.array([[1.0, 3.0, 2.0, 5.0]]), 2, return_indices=True)
    (array([[3., 5.]]), array([[1, 3]]))
    """
    fn = "max_pool1d"
    _numpy(fn, input=input)
    _check_rank(input, (2, 3), "(C, L) or (N, C, L)", fn)
    k = _one(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _one(stride, "stride", fn, 1)
    res: Any = max_pool2d(
        np.asarray(input)[..., None, :],
        (1, k),
        (1, s),
        (0, _one(padding, "padding", fn, 0)),
        (1, _one(dilation, "dilation", fn, 1)),
        ceil_mode,
        return_indices,
        num_threads=num_threads,
    )
    if return_indices:
        return res[0][..., 0, :], res[1][..., 0, :]
    return res[..., 0, :]


def avg_pool1d(
    input: ArrayLike,
    kernel_size: Int1,
    stride: Optional[Int1] = None,
    padding: Int1 = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    *,
    num_threads: Optional[int] = None,
) -> NDArray:
    """1-D average pooling (``torch.nn.functional.avg_pool1d``), divisor rules as
    :func:`fastconv.avg_pool2d`.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.avg_pool1d(np.array([[1.0, 3.0, 2.0, 6.0]]), 2)
    array([[2., 4.]])
    """
    fn = "avg_pool1d"
    _numpy(fn, input=input)
    _check_rank(input, (2, 3), "(C, L) or (N, C, L)", fn)
    k = _one(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _one(stride, "stride", fn, 1)
    res = avg_pool2d(
        np.asarray(input)[..., None, :],
        (1, k),
        (1, s),
        (0, _one(padding, "padding", fn, 0)),
        ceil_mode,
        count_include_pad,
        None,
        num_threads=num_threads,
    )
    return res[..., 0, :]


def max_unpool1d(
    input: ArrayLike,
    indices: ArrayLike,
    kernel_size: Int1,
    stride: Optional[Int1] = None,
    padding: Int1 = 0,
    output_size: Optional[Sequence[int]] = None,
) -> NDArray:
    """``torch.nn.functional.max_unpool1d``: scatter into zeros of length
    ``(L_in - 1) * stride - 2 * padding + kernel_size`` (or ``output_size``)."""
    fn = "max_unpool1d"
    _numpy(fn, input=input, indices=indices)
    _check_rank(input, (2, 3), "(C, L) or (N, C, L)", fn)
    k = _one(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _one(stride, "stride", fn, 1)
    size = None
    if output_size is not None:
        size = (1, tuple(output_size)[-1])
    res = max_unpool2d(
        np.asarray(input)[..., None, :],
        np.asarray(indices)[..., None, :],
        (1, k),
        (1, s),
        (0, _one(padding, "padding", fn, 0)),
        size,
    )
    return res[..., 0, :]


def _depth_windows(D: int, kD: int, sD: int, pD: int, dD: int, ceil_mode: bool, fn: str) -> Tuple[int, np.ndarray]:
    if pD * 2 > kD:
        raise ValueError(f"{fn}: padding {pD} must be at most half of the kernel depth {kD}")
    Do = _args.pool_out_size(D, kD, sD, pD, dD, bool(ceil_mode))
    if Do < 1:
        raise ValueError(f"{fn}: the kernel depth {kD} does not fit the input depth {D}")
    if dD > 1 and _args._empty_window(D, Do, kD, sD, pD, dD) >= 0:
        raise ValueError(f"{fn}: with these depth parameters a window holds no input element")
    return Do, np.arange(Do) * sD - pD


@overload
def max_pool3d(
    input: ArrayLike,
    kernel_size: Int3,
    stride: Optional[Int3] = ...,
    padding: Int3 = ...,
    dilation: Int3 = ...,
    ceil_mode: bool = ...,
    return_indices: Literal[False] = ...,
    *,
    num_threads: Optional[int] = ...,
) -> NDArray: ...
@overload
def max_pool3d(
    input: ArrayLike,
    kernel_size: Int3,
    stride: Optional[Int3] = ...,
    padding: Int3 = ...,
    dilation: Int3 = ...,
    ceil_mode: bool = ...,
    *,
    return_indices: Literal[True],
    num_threads: Optional[int] = ...,
) -> Tuple[NDArray, NDArray]: ...
@overload
def max_pool3d(
    input: ArrayLike,
    kernel_size: Int3,
    stride: Optional[Int3],
    padding: Int3,
    dilation: Int3,
    ceil_mode: bool,
    return_indices: Literal[True],
    *,
    num_threads: Optional[int] = ...,
) -> Tuple[NDArray, NDArray]: ...
@overload
def max_pool3d(
    input: ArrayLike,
    kernel_size: Int3,
    stride: Optional[Int3] = ...,
    padding: Int3 = ...,
    dilation: Int3 = ...,
    ceil_mode: bool = ...,
    return_indices: bool = ...,
    *,
    num_threads: Optional[int] = ...,
) -> Union[NDArray, Tuple[NDArray, NDArray]]: ...


def max_pool3d(
    input: ArrayLike,
    kernel_size: Int3,
    stride: Optional[Int3] = None,
    padding: Int3 = 0,
    dilation: Int3 = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    num_threads: Optional[int] = None,
) -> Union[NDArray, Tuple[NDArray, NDArray]]:
    """3-D max pooling (``torch.nn.functional.max_pool3d``): input (N, C, D, H, W) or
    (C, D, H, W); indices are flat ``d * H * W + h * W + w``.  Ties go to the first maximum
    in (d, h, w) order, a NaN gives NaN and the last NaN's index, as in PyTorch.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> v, i = fastconv.max_pool3d(np.arange(8.0).reshape(1, 2, 2, 2), 2, return_indices=True)
    >>> v.ravel(), i.ravel()
    (array([7.]), array([7]))
    """
    fn = "max_pool3d"
    _numpy(fn, input=input)
    _check_rank(input, (4, 5), "(C, D, H, W) or (N, C, D, H, W)", fn)
    x = _args.to_numpy(input, "input", fn)
    dtype = _args.result_dtype(fn, input=x)
    x5 = x if x.ndim == 5 else x[None]
    N, C, D, H, W = x5.shape
    k = _triple(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _triple(stride, "stride", fn, 1)
    p = _triple(padding, "padding", fn, 0)
    dl = _triple(dilation, "dilation", fn, 1)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{fn}: ceil_mode must be a bool, got {ceil_mode!r}")
    if min(N * C, 1) and (C < 1 or D < 1):
        raise ValueError(f"{fn}: input shape {x.shape} has an empty channel or depth")
    Do, starts = _depth_windows(D, k[0], s[0], p[0], dl[0], ceil_mode, fn)
    best: Optional[np.ndarray] = None
    idx: Optional[np.ndarray] = None
    seen = np.zeros(Do, dtype=bool)
    for kd in range(k[0]):
        src = starts + kd * dl[0]
        ok = (src >= 0) & (src < D)
        if not ok.any():
            continue
        sl = x5[:, :, src[ok]].reshape(N, C * int(ok.sum()), H, W)
        v, i = max_pool2d(sl, k[1:], s[1:], p[1:], dl[1:], ceil_mode, True, num_threads=num_threads)
        Ho, Wo = v.shape[2:]
        v = v.reshape(N, C, int(ok.sum()), Ho, Wo)
        i = i.reshape(N, C, int(ok.sum()), Ho, Wo) + (src[ok] * H * W)[None, None, :, None, None]
        if best is None:
            best = np.full((N, C, Do, Ho, Wo), -np.inf, dtype=dtype)
            idx = np.zeros((N, C, Do, Ho, Wo), dtype=np.int64)
        assert idx is not None
        first = ~seen[ok]
        cur_b, cur_i = best[:, :, ok], idx[:, :, ok]
        take = (v > cur_b) | np.isnan(v) | first[None, None, :, None, None]
        best[:, :, ok] = np.where(take, v, cur_b)
        idx[:, :, ok] = np.where(take, i, cur_i)
        seen |= ok
    assert best is not None and idx is not None
    if x.ndim == 4:
        best, idx = best[0], idx[0]
    return (best, idx) if return_indices else best


def avg_pool3d(
    input: ArrayLike,
    kernel_size: Int3,
    stride: Optional[Int3] = None,
    padding: Int3 = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    *,
    num_threads: Optional[int] = None,
) -> NDArray:
    """3-D average pooling (``torch.nn.functional.avg_pool3d``), PyTorch's divisor rules:
    the window clipped to the padded extent (``count_include_pad``) or to the input, or
    ``divisor_override``.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.avg_pool3d(np.arange(8.0).reshape(1, 2, 2, 2), 2).ravel()
    array([3.5])
    """
    fn = "avg_pool3d"
    _numpy(fn, input=input)
    _check_rank(input, (4, 5), "(C, D, H, W) or (N, C, D, H, W)", fn)
    x = _args.to_numpy(input, "input", fn)
    dtype = _args.result_dtype(fn, input=x)
    x5 = x if x.ndim == 5 else x[None]
    N, C, D, H, W = x5.shape
    k = _triple(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _triple(stride, "stride", fn, 1)
    p = _triple(padding, "padding", fn, 0)
    div = _args.avg_divisor(count_include_pad, divisor_override, fn)
    Do, starts = _depth_windows(D, k[0], s[0], p[0], 1, ceil_mode, fn)
    total: Optional[np.ndarray] = None
    for kd in range(k[0]):
        src = starts + kd
        ok = (src >= 0) & (src < D)
        if not ok.any():
            continue
        sl = x5[:, :, src[ok]].reshape(N, C * int(ok.sum()), H, W)
        # window sums of each slice (divisor 1), summed over the kernel depth below
        v = avg_pool2d(sl, k[1:], s[1:], p[1:], ceil_mode, True, 1, num_threads=num_threads)
        Ho, Wo = v.shape[2:]
        if total is None:
            total = np.zeros((N, C, Do, Ho, Wo), dtype=dtype)
        total[:, :, ok] += v.reshape(N, C, int(ok.sum()), Ho, Wo)
    assert total is not None
    if div:
        total /= dtype.type(div)
    else:
        total /= _args.avg_window_sizes((D, H, W), total.shape[2:], k, s, p, count_include_pad).astype(dtype)
    return total if x.ndim == 5 else total[0]


def max_unpool3d(
    input: ArrayLike,
    indices: ArrayLike,
    kernel_size: Int3,
    stride: Optional[Int3] = None,
    padding: Int3 = 0,
    output_size: Optional[Sequence[int]] = None,
) -> NDArray:
    """``torch.nn.functional.max_unpool3d``: scatter into zeros of
    ``(D_in - 1) * stride - 2 * padding + kernel_size`` per axis (or ``output_size``, within
    one stride of it), at the flat ``d * H * W + h * W + w`` indices."""
    fn = "max_unpool3d"
    _numpy(fn, input=input, indices=indices)
    _check_rank(input, (4, 5), "(C, D, H, W) or (N, C, D, H, W)", fn)
    v = _args.to_numpy(input, "input", fn)
    ix = _args.to_numpy(indices, "indices", fn)
    dtype = _args.result_dtype(fn, input=v)
    if ix.dtype.kind not in "iu":
        raise TypeError(f"{fn}: indices must be an integer array, got dtype {ix.dtype}")
    if ix.shape != v.shape:
        raise ValueError(f"{fn}: indices shape {ix.shape} must equal input shape {v.shape}")
    k = _triple(kernel_size, "kernel_size", fn, 1)
    s = k if _args.default_stride(stride) else _triple(stride, "stride", fn, 1)
    p = _triple(padding, "padding", fn, 0)
    default = tuple((n - 1) * s_ - 2 * p_ + k_ for n, k_, s_, p_ in zip(v.shape[-3:], k, s, p))
    if output_size is None:
        size = default
    else:
        size = tuple(_args.check_int(n, "output_size", fn, 1) for n in tuple(output_size)[-3:])
        if len(size) != 3 or any(not dv - ss < n < dv + ss for n, dv, ss in zip(size, default, s)):
            raise ValueError(
                f"{fn}: output_size={tuple(output_size)!r} must be (D, H, W) within one stride of {default}"
            )
    if min(size) < 1:
        raise ValueError(f"{fn}: the output size {size} is empty")
    v5 = v if v.ndim == 5 else v[None]
    i5 = ix if ix.ndim == 5 else ix[None]
    N, C = v5.shape[:2]
    plane = size[0] * size[1] * size[2]
    _args.check_result_size((N, C, plane), 8, fn, "output_size is too large")
    res = _buffers.empty((N, C, 1, plane), dtype)  # every element written
    n_in = int(np.prod(v5.shape[2:]))
    vk = _args.kernel_ready(v5.reshape(N, C, 1, n_in), dtype)
    ik = _args.kernel_ready(i5.reshape(N, C, 1, n_in), np.dtype(np.int64))
    bad = _pool.max_unpool2d(vk, ik, res, None)
    if bad >= 0:
        pos = np.unravel_index(bad, v5.shape)
        raise ValueError(
            f"{fn}: indices{tuple(int(q) for q in pos)}={int(i5[pos])} is outside the output volume "
            f"of {size[0]} x {size[1]} x {size[2]} = {plane} elements"
        )
    out = res.reshape((N, C) + size)
    return out if v.ndim == 5 else out[0]
