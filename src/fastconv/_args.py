"""The one argument front shared by every back end (CPU, CUDA, Dask).

Everything that decides what a call means lives here: int/pair normalisation, padding to
``(top, bottom, left, right)``, the dtype policy, output shapes and the error messages.  The
back ends receive plain ints and validated arrays and never decide a shape themselves.
"""

from __future__ import annotations

import math
import operator
from typing import Any, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from fastconv import _buffers

IntPair = Union[int, Tuple[int, int]]

#: padding_mode name -> (C code in include/fastconv/pad.h, numpy.pad mode)
PADDING_MODES = {
    "zeros": (0, "constant"),
    "reflect": (1, "reflect"),
    "symmetric": (2, "symmetric"),
    "replicate": (3, "edge"),
    "circular": (4, "wrap"),
}

#: Every size, stride, dilation and padding must stay below this, so that all index
#: arithmetic in the kernels (int64) is free of overflow.
MAX_DIM = 2**31 - 1
#: Results larger than this many bytes are refused before any allocation.
MAX_RESULT_BYTES = 2**48


# --------------------------------------------------------------------------- array kinds


def is_cupy(a: Any) -> bool:
    """True for a CuPy ndarray, decided without importing CuPy."""
    t = type(a)
    return t is not np.ndarray and t.__module__.split(".", 1)[0] == "cupy"


def array_kind(fn: str, **arrays: Any) -> str:
    """Return ``"cupy"`` or ``"numpy"`` for the arrays of one call; mixing is a TypeError."""
    for a in arrays.values():  # fast path: NumPy arrays only
        if a is not None and type(a) is not np.ndarray:
            break
    else:
        return "numpy"
    kinds = {name: ("cupy" if is_cupy(a) else "numpy") for name, a in arrays.items() if a is not None}
    found = set(kinds.values())
    if len(found) > 1:
        desc = ", ".join(f"{n} is a {'CuPy' if k == 'cupy' else 'NumPy'} array" for n, k in kinds.items())
        raise TypeError(
            f"{fn}: cannot mix NumPy and CuPy arrays in one call ({desc}); move them to the same device first"
        )
    return found.pop() if found else "numpy"


# --------------------------------------------------------------------------- scalars


def check_int(value: Any, name: str, fn: str, minimum: int = 0) -> int:
    """An int (or NumPy integer) >= minimum; bools and floats are a TypeError."""
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__index__"):
        raise TypeError(f"{fn}: {name} must be an int, got {value!r} ({type(value).__name__})")
    v = operator.index(value)
    if v < minimum:
        raise ValueError(f"{fn}: {name}={v} must be >= {minimum}")
    if v > MAX_DIM:
        raise ValueError(f"{fn}: {name}={v} is too large (must be <= {MAX_DIM})")
    return v


def as_pair(value: Any, name: str, fn: str, minimum: int = 1) -> Tuple[int, int]:
    """``v`` or ``(v,)`` -> ``(v, v)`` (PyTorch's forms); a pair is checked element-wise."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            v = check_int(value[0], name, fn, minimum)
            return (v, v)
        if len(value) != 2:
            raise ValueError(
                f"{fn}: {name}={tuple(value)!r} must be an int, a pair (h, w) or a "
                "one-element tuple (v,) meaning (v, v)"
            )
        return (check_int(value[0], name, fn, minimum), check_int(value[1], name, fn, minimum))
    v = check_int(value, name, fn, minimum)
    return (v, v)


def default_stride(stride: Any) -> bool:
    """Whether a pooling ``stride`` means "the kernel size": None, or PyTorch's ``()``/``[]``."""
    return stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)


# --------------------------------------------------------------------------- dtypes


def result_dtype(fn: str, **arrays: Any) -> np.dtype:
    """The dtype policy, shared by every function: ``np.result_type(*arrays, np.float32)``,
    which must be float32 or float64.  Complex and non-numeric inputs are a TypeError."""
    fast = _F32
    for a in arrays.values():  # fast path: float32/float64 arrays only
        if a is None:
            continue
        dt = getattr(a, "dtype", None)
        if dt is _F64:
            fast = _F64
        elif dt is not _F32:
            break
    else:
        return fast
    dts = []
    for name, a in arrays.items():
        if a is None:
            continue
        dt = a.dtype
        if dt.kind == "c":
            raise TypeError(
                f"{fn}: complex input ({name} has dtype {dt}) is not supported; pass "
                "real arrays (e.g. the .real and .imag parts separately)"
            )
        if dt.kind not in "biuf":
            raise TypeError(f"{fn}: {name} must be a numeric array, got dtype {dt}")
        dts.append(dt)
    dt = np.result_type(*dts, np.float32)
    if dt not in (np.float32, np.float64):
        raise TypeError(
            f"{fn}: inputs of dtypes {', '.join(map(str, dts))} promote to {dt}; "
            "only float32 and float64 are computed (cast to one of them)"
        )
    return np.dtype(dt)


_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def to_numpy(a: Any, name: str, fn: str) -> np.ndarray:
    """np.asarray with a clear TypeError for things that are not numeric arrays."""
    if isinstance(a, np.ndarray):
        return a
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{fn}: {name} must be an array, got {type(a).__name__} ({exc})") from None
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{fn}: {name} must be a numeric array, got dtype {arr.dtype}")
    return arr


def kernel_ready(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """View or copy of ``a`` the kernels can read: the computation dtype in native byte
    order, aligned, with strides that are whole elements.  Strides may be anything else
    (negative, Fortran, broadcast); the caller's array is never written."""
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned:  # fast path
        return a
    if a.dtype != dtype:
        return a.astype(dtype)
    if not a.flags.aligned or any(s % dtype.itemsize for s in a.strides):
        return np.array(a, dtype=dtype, order="C")
    return a


# --------------------------------------------------------------------------- geometry


def conv_out_size(n: int, p0: int, p1: int, k: int, s: int, d: int) -> int:
    """floor((n + p0 + p1 - d*(k-1) - 1) / s) + 1 (may be <= 0 when the kernel does not fit)."""
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def normalize_padding(
    padding: Any,
    ksize: Tuple[int, int],
    stride: Tuple[int, int],
    dilation: Tuple[int, int],
    in_hw: Tuple[int, int],
    fn: str,
) -> Tuple[int, int, int, int]:
    """``padding`` (int, (pH, pW), ((top, bottom), (left, right)), "valid" or "same") ->
    (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            pads = []
            for n, k, s, d in zip(in_hw, ksize, stride, dilation):
                out = -(-n // s)
                total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
                pads += [total // 2, total - total // 2]
            return (pads[0], pads[1], pads[2], pads[3])
        raise ValueError(
            f"{fn}: padding={padding!r} must be 'valid', 'same', an int, (pH, pW) or ((top, bottom), (left, right))"
        )
    if isinstance(padding, (tuple, list)):
        if len(padding) == 2 and all(isinstance(p, (tuple, list)) for p in padding):
            (t, b), (l, r) = [_pad_side(p, fn) for p in padding]
            return (t, b, l, r)
        if len(padding) == 4 and not any(isinstance(p, (tuple, list)) for p in padding):
            # torch.nn.functional.pad reads a flat 4-tuple as (left, right, top, bottom),
            # numpy-style code as (top, bottom, left, right): refuse the ambiguity
            t, b, l, r = padding
            raise ValueError(
                f"{fn}: padding={tuple(padding)!r} is ambiguous (F.pad reads a flat "
                f"4-tuple as (left, right, top, bottom)); write the sides nested: "
                f"((top, bottom), (left, right)), e.g. padding=(({t}, {b}), ({l}, {r})) "
                "for top, bottom, left, right in that order"
            )
        ph, pw = as_pair(padding, "padding", fn, minimum=0)
        return (ph, ph, pw, pw)
    p = check_int(padding, "padding", fn, 0)
    return (p, p, p, p)


def _pad_side(p: Sequence[Any], fn: str) -> Tuple[int, int]:
    if len(p) != 2:
        raise ValueError(f"{fn}: padding={tuple(p)!r}: asymmetric padding is ((top, bottom), (left, right))")
    return (check_int(p[0], "padding", fn, 0), check_int(p[1], "padding", fn, 0))


def padding_mode_code(padding_mode: Any, fn: str) -> int:
    try:
        return PADDING_MODES[padding_mode][0]
    except (KeyError, TypeError):
        raise ValueError(
            f"{fn}: padding_mode={padding_mode!r} must be one of {', '.join(repr(m) for m in PADDING_MODES)}"
        ) from None


def check_result_size(shape: Tuple[int, ...], itemsize: int, fn: str, hint: str) -> None:
    size = math.prod(shape)
    if size * itemsize > MAX_RESULT_BYTES:
        raise ValueError(f"{fn}: the result would have shape {shape} ({size} elements); {hint}")


# --------------------------------------------------------------------------- conv2d


class ConvArgs(NamedTuple):
    """Everything a back end needs for one conv2d call."""

    x: Any  # (N, C_in, H, W), kernel-ready
    w: Any  # (C_out, C_in/groups, kH, kW), kernel-ready
    bias: Any  # (C_out,) contiguous or None
    dtype: np.dtype
    batched: bool
    out_shape: Tuple[int, int, int, int]
    stride: Tuple[int, int]
    dilation: Tuple[int, int]
    pads: Tuple[int, int, int, int]  # top, bottom, left, right
    mode: int
    groups: int


def _plain(v: Any) -> bool:
    """True for values whose hash and equality decide their meaning here: Python ints (not
    bools, which are refused), strings, and tuples of those (one level of nesting)."""
    t = type(v)
    if t is int or t is str:
        return True
    if t is tuple:
        return all(type(e) is int or (type(e) is tuple and all(type(f) is int for f in e)) for e in v)
    return False


_GEOMETRY_CACHE: dict = {}


def conv2d_geometry(
    in_shape: Sequence[int], w_shape: Sequence[int], stride: Any, padding: Any, dilation: Any, groups: Any, fn: str
):
    """Validate shapes and parameters of a convolution; return
    (batched, out_shape (4-D), stride, dilation, pads, groups).

    Results for plain parameters (ints, strings, tuples of ints) are memoised: the small
    calls of a training loop repeat the same geometry and should cost microseconds."""
    if _plain(stride) and _plain(padding) and _plain(dilation) and _plain(groups):
        key = (tuple(in_shape), tuple(w_shape), stride, padding, dilation, groups, fn)
        hit = _GEOMETRY_CACHE.get(key)
        if hit is None:
            hit = _conv2d_geometry(key[0], key[1], stride, padding, dilation, groups, fn)
            if len(_GEOMETRY_CACHE) >= 512:
                _GEOMETRY_CACHE.clear()
            _GEOMETRY_CACHE[key] = hit
        return hit
    return _conv2d_geometry(in_shape, w_shape, stride, padding, dilation, groups, fn)


def _conv2d_geometry(
    in_shape: Sequence[int], w_shape: Sequence[int], stride: Any, padding: Any, dilation: Any, groups: Any, fn: str
):
    in_shape = tuple(in_shape)
    w_shape = tuple(w_shape)
    if len(in_shape) not in (3, 4):
        raise ValueError(f"{fn}: input must be 3-D (C_in, H, W) or 4-D (N, C_in, H, W), got shape {in_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"{fn}: weight must be 4-D (C_out, C_in/groups, kH, kW), got shape {w_shape}")
    batched = len(in_shape) == 4
    N, C, H, W = in_shape if batched else (1,) + in_shape
    Cout, Cg, kH, kW = w_shape
    g = check_int(groups, "groups", fn, 1)
    if H < 1 or W < 1:
        raise ValueError(
            f"{fn}: input shape {in_shape} has an empty spatial dimension; only "
            "the batch and channel dimensions may be 0"
        )
    if Cout < 1 or kH < 1 or kW < 1:
        raise ValueError(f"{fn}: weight shape {w_shape} has an empty dimension")
    if C % g:
        raise ValueError(f"{fn}: groups={g} must divide in_channels={C}")
    if Cout % g:
        raise ValueError(f"{fn}: groups={g} must divide out_channels={Cout}")
    if Cg * g != C:
        raise ValueError(
            f"{fn}: weight.shape[1]={Cg} must equal in_channels / groups = "
            f"{C} / {g} = {C // g} (input shape {in_shape}, weight shape {w_shape})"
        )
    s = as_pair(stride, "stride", fn, 1)
    d = as_pair(dilation, "dilation", fn, 1)
    for k_, d_, axis in ((kH, d[0], "height"), (kW, d[1], "width")):
        if d_ * (k_ - 1) + 1 > MAX_DIM:
            raise ValueError(
                f"{fn}: the kernel's {axis} {k_} with dilation {d_} spans "
                f"{d_ * (k_ - 1) + 1} elements, more than {MAX_DIM}"
            )
    pads = normalize_padding(padding, (kH, kW), s, d, (H, W), fn)
    if max(pads) > MAX_DIM:
        raise ValueError(
            f"{fn}: padding={padding!r} gives padding {pads} (top, bottom, left, right); each must be <= {MAX_DIM}"
        )
    Ho = conv_out_size(H, pads[0], pads[1], kH, s[0], d[0])
    Wo = conv_out_size(W, pads[2], pads[3], kW, s[1], d[1])
    if Ho < 1 or Wo < 1:
        raise ValueError(
            f"{fn}: kernel size ({kH}, {kW}) with dilation {d} spans "
            f"({d[0] * (kH - 1) + 1}, {d[1] * (kW - 1) + 1}), larger than the padded input "
            f"({H + pads[0] + pads[1]}, {W + pads[2] + pads[3]})"
        )
    out_shape = (N, Cout, Ho, Wo)
    check_result_size(out_shape, 8, fn, f"padding={padding!r} is too large")
    return batched, out_shape, s, d, pads, g


def check_bias(bias: Any, cout: int, fn: str) -> None:
    if bias is not None and tuple(bias.shape) != (cout,):
        raise ValueError(f"{fn}: bias must have shape (C_out,) = ({cout},), got {tuple(bias.shape)}")


def conv2d_args(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    padding_mode: Any,
    fn: str = "conv2d",
) -> ConvArgs:
    """Validate and normalise a conv2d call (NumPy or CuPy arrays)."""
    dtype = input.dtype if type(input) is np.ndarray else None
    if not (
        # fast path, the common call of a network's layer: NumPy arrays of one computed dtype
        # (what array_kind, to_numpy and result_dtype would conclude, at a fraction of their
        # cost on calls of a few microseconds)
        (dtype is _F32 or dtype is _F64)
        and type(weight) is np.ndarray
        and weight.dtype is dtype
        and (bias is None or (type(bias) is np.ndarray and bias.dtype is dtype))
    ):
        kind = array_kind(fn, input=input, weight=weight, bias=bias)
        if kind == "numpy":
            input = to_numpy(input, "input", fn)
            weight = to_numpy(weight, "weight", fn)
            if bias is not None:
                bias = to_numpy(bias, "bias", fn)
        dtype = result_dtype(fn, input=input, weight=weight, bias=bias)
    mode = padding_mode_code(padding_mode, fn)
    batched, out_shape, s, d, pads, g = conv2d_geometry(
        input.shape, weight.shape, stride, padding, dilation, groups, fn
    )
    check_bias(bias, out_shape[1], fn)
    x = input if batched else input[None]
    if not is_cupy(x):
        x = kernel_ready(x, dtype)
        weight = kernel_ready(weight, dtype)
        if bias is not None:
            bias = np.ascontiguousarray(bias, dtype=dtype)
    return ConvArgs(x, weight, bias, dtype, batched, out_shape, s, d, pads, mode, g)


def result_buffer(
    out: Any, shape: Tuple[int, ...], batched_shape: Tuple[int, ...], dtype: np.dtype, fn: str, inputs: Sequence[Any]
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Return (buffer the kernel writes, C-contiguous, in batched_shape; user's out or None).

    ``out`` must be a writeable ndarray of exactly ``shape`` and ``dtype``.  When it is not
    C-contiguous or may overlap an input, the kernel writes a temporary that is copied into
    ``out`` afterwards (see :func:`finish`)."""
    if out is None:
        return _buffers.empty(batched_shape, dtype), None
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{fn}: out must be a NumPy ndarray, got {type(out).__name__}")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{fn}: out has shape {tuple(out.shape)}, the result has shape {tuple(shape)}")
    if out.dtype != dtype:
        raise TypeError(f"{fn}: out has dtype {out.dtype}, the result has dtype {dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{fn}: out is read-only")
    direct = (
        out.flags.c_contiguous
        and out.flags.aligned
        and out.dtype.isnative
        and not any(a is not None and np.may_share_memory(out, a) for a in inputs)
    )
    if direct:
        return out.reshape(batched_shape), out
    return _buffers.empty(batched_shape, dtype), out


def fill_bias(a: ConvArgs, out: Any, shape: Tuple[int, ...], fn: str, inputs: Sequence[Any]) -> Any:
    """The result of a convolution over zero input channels: every output is an empty sum,
    0, plus the bias (PyTorch's result)."""
    if is_cupy(a.x):
        import cupy

        res = cupy.zeros(a.out_shape, dtype=a.dtype)
        if a.bias is not None:
            res += a.bias.astype(a.dtype)[:, None, None]
        res = res.reshape(shape)
        if out is None:
            return res
        out[...] = res
        return out
    buf, user_out = result_buffer(out, shape, a.out_shape, a.dtype, fn, inputs)
    buf[...] = 0 if a.bias is None else a.bias[:, None, None]
    return finish(buf, user_out, shape)


def finish(buf: np.ndarray, user_out: Optional[np.ndarray], shape: Tuple[int, ...]) -> np.ndarray:
    """Give the result its public shape, copying into the user's ``out`` when needed."""
    res = buf.reshape(shape)
    if user_out is None:
        return res
    if not np.may_share_memory(user_out, buf):
        np.copyto(user_out, res)
    return user_out


# --------------------------------------------------------------------------- pooling


def pool_out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size: floor((n + 2p - d(k-1) - 1 [+ s-1 with ceil_mode]) / s) + 1,
    then, with ceil_mode, one less when the last window would start in the right padding.
    (With ceil_mode a kernel one larger than n + 2p still gives one clipped window.)"""
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def pool2d_geometry(
    in_shape: Sequence[int], kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any, fn: str
):
    """Validate a pooling configuration; return (batched, out_shape 4-D, k, s, p, d)."""
    in_shape = tuple(in_shape)
    if len(in_shape) not in (3, 4):
        raise ValueError(f"{fn}: input must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {in_shape}")
    batched = len(in_shape) == 4
    N, C, H, W = in_shape if batched else (1,) + in_shape
    if C < 1 or H < 1 or W < 1:
        raise ValueError(
            f"{fn}: input shape {in_shape} has an empty channel or spatial dimension; only the batch dimension may be 0"
        )
    k = as_pair(kernel_size, "kernel_size", fn, 1)
    s = k if default_stride(stride) else as_pair(stride, "stride", fn, 1)
    if isinstance(padding, str):
        raise ValueError(f"{fn}: padding={padding!r} must be an int or a pair (pH, pW)")
    p = as_pair(padding, "padding", fn, 0)
    d = as_pair(dilation, "dilation", fn, 1)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{fn}: ceil_mode must be a bool, got {ceil_mode!r}")
    for i, axis in enumerate("hw"):
        if p[i] * 2 > k[i]:
            raise ValueError(
                f"{fn}: padding={p} must be at most half of kernel_size={k} (axis {axis}: {p[i]} > {k[i]} / 2)"
            )
    Ho = pool_out_size(H, k[0], s[0], p[0], d[0], bool(ceil_mode))
    Wo = pool_out_size(W, k[1], s[1], p[1], d[1], bool(ceil_mode))
    if Ho < 1 or Wo < 1:
        raise ValueError(
            f"{fn}: kernel_size={k} with dilation={d} and padding={p} does not fit "
            f"the input plane ({H}, {W}): the output would be ({Ho}, {Wo})"
        )
    # Every window must hold at least one real element (PyTorch would read -inf).  With
    # dilation 1 that follows from padding <= kernel/2 and the ceil_mode rule; dilated taps
    # can step over the whole input (see _empty_window).
    for n_, o, k_, s_, p_, d_, axis in ((H, Ho, k[0], s[0], p[0], d[0], "h"), (W, Wo, k[1], s[1], p[1], d[1], "w")):
        if d_ > 1:
            bad = _empty_window(n_, o, k_, s_, p_, d_)
            if bad >= 0:
                raise ValueError(
                    f"{fn}: with kernel_size={k}, stride={s}, padding={p}, dilation={d}, "
                    f"window {bad} along {axis} holds no input element"
                )
    out_shape = (N, C, Ho, Wo)
    check_result_size(out_shape, 8, fn, "the configuration is too large")
    return batched, out_shape, k, s, p, d


def avg_window_sizes(
    size: Sequence[int], out_size: Sequence[int], k: Sequence[int], s: Sequence[int], p: Sequence[int], count_pad: Any
) -> np.ndarray:
    """PyTorch's divisor of every average-pooling window without divisor_override, an int64
    array of ``out_size`` (any number of axes): the window clipped to the padded input
    (count_include_pad) or to the input, the product of the axes' lengths."""
    res = np.ones((), dtype=np.int64)
    for n, o, kk, ss, pp in zip(size, out_size, k, s, p):
        a0 = np.arange(o, dtype=np.int64) * ss - pp
        aend = np.minimum(a0 + kk, n + pp)
        side = aend - a0 if count_pad else np.minimum(aend, n) - np.maximum(a0, 0)
        res = np.multiply.outer(res, side)
    return res


def avg_divisor(count_include_pad: Any, divisor_override: Any, fn: str) -> int:
    """Check average pooling's ``count_include_pad`` (a bool) and ``divisor_override``
    (PyTorch's rule: any int but 0, a negative one too); return the override, 0 for none."""
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"{fn}: count_include_pad must be a bool, got {count_include_pad!r}")
    if divisor_override is None:
        return 0
    div = check_int(divisor_override, "divisor_override", fn, -MAX_DIM)
    if div == 0:
        raise ValueError(f"{fn}: divisor_override=0 must not be zero")
    return div


def _empty_window(n: int, o: int, k: int, s: int, p: int, d: int) -> int:
    """The first of the ``o`` dilated windows (window i starts at ``i * s - p``, its ``k``
    taps ``d`` apart) with no tap in ``[0, n)``, or -1, without a window-by-tap table.

    A window starting at a >= 0 has its first tap inside, because every output window
    starts before n (pool_out_size's ceil_mode rule).  One starting at a < 0 has its first
    tap at or after 0 at ``a mod d``, which must be below n and not past its last tap
    ``a + (k - 1) d``.  Only windows i < ceil(p / s) start before 0: at most k / 2 + 1 of
    them (p <= k / 2), so the work follows the kernel, not the output."""
    lead = min(o, -(-p // s))
    if lead <= 0:
        return -1
    a = np.arange(lead, dtype=np.int64) * s - p
    first = a % d
    empty = (first >= n) | (first > a + (k - 1) * d)
    return int(np.argmax(empty)) if empty.any() else -1


# --------------------------------------------------------------------------- padding rules


def pad_index(i: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Source index of padded positions i (may be negative) in [0, n); -1 for a constant fill:
    the padding-index rule of the Python side (the Dask back end gathers with it), the same
    maps as include/fastconv/pad.h and kernels.cu, i.e. numpy.pad at any padding size."""
    i = np.asarray(i, dtype=np.int64)
    if mode == "zeros":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return np.mod(i, n)
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(i)
        p = 2 * (n - 1)
        m = np.mod(i, p)
        return np.where(m >= n, p - m, m)
    p = 2 * n  # symmetric
    m = np.mod(i, p)
    return np.where(m >= n, p - 1 - m, m)


def correlate_pads(mode: str, kh: int, kw: int, flip: bool) -> Tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of correlate2d/convolve2d's ``mode`` for a kh x kw
    kernel: "full" kh - 1 and kw - 1 each side; "same" centred as SciPy centres correlate2d
    ((k - 1) // 2 before) and convolve2d (``flip``: k // 2 before); "valid" none."""
    if mode == "full":
        return (kh - 1, kh - 1, kw - 1, kw - 1)
    if mode == "same":
        t = kh // 2 if flip else (kh - 1) // 2
        l = kw // 2 if flip else (kw - 1) // 2
        return (t, kh - 1 - t, l, kw - 1 - l)
    return (0, 0, 0, 0)


#: Accepted values of ``memory_format`` (conv2d, max_pool2d, avg_pool2d).
MEMORY_FORMATS = ("contiguous", "preserve", "channels_last")


def is_channels_last(x: Any) -> bool:
    """Whether x (N, C, H, W) lies in channels-last memory: channel stride one element and
    more than one channel (PyTorch's ``channels_last``, ``x.transpose(0, 2, 3, 1)`` views)."""
    return x.shape[1] > 1 and x.strides[1] == x.itemsize and x.strides[3] >= x.shape[1] * x.itemsize


def check_memory_format(memory_format: Any, fn: str) -> None:
    if not isinstance(memory_format, str) or memory_format not in MEMORY_FORMATS:
        raise ValueError(
            f"{fn}: memory_format={memory_format!r} must be one of {', '.join(repr(m) for m in MEMORY_FORMATS)}"
        )


def wants_channels_last(memory_format: Any, x: Any, fn: str) -> bool:
    """Validate ``memory_format``; whether the result of an op on x (N, C, H, W) is to be
    channels-last ("channels_last", or "preserve" with a channels-last x)."""
    check_memory_format(memory_format, fn)
    return memory_format == "channels_last" or (memory_format == "preserve" and is_channels_last(x))
