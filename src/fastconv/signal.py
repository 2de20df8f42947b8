"""SciPy-compatible :func:`correlate2d` and :func:`convolve2d`, batched and parallel.

Results equal ``scipy.signal.correlate2d`` / ``convolve2d`` on 2-D real inputs; beyond
SciPy, ``in1`` may have leading batch dimensions ``(..., H, W)`` (each plane filtered with
the same kernel in one parallel call), float32 stays float32 and integers are promoted to
float (never accumulated with wrap-around).

Methods
-------
"direct"
    The register-blocked direct kernel of :func:`fastconv.conv2d` (one input channel).
"separable"
    When the kernel is an outer product (a column times a row that reproduce every tap to
    within ``SEPARABLE_ULPS`` units in the last place of that tap, so near-zero taps keep
    their value): a column pass then a row pass, ``kh + kw`` multiply-adds per pixel instead
    of ``kh * kw``.
"fft"
    Overlap-save with ``scipy.fft`` (``fastconv._fft``): tiles of at most 480 points per axis
    (sized by a cost model) are cut from the plane padded by the boundary mode, two at a
    time into one complex transform done in place, and shared out over the threads; each
    thread holds one tile's buffer.
"auto" (default)
    "direct" for kernels of at most 3x3 taps; else "separable" when the kernel is an outer
    product as above; else "fft" for big kernels on big planes (from 25x25 taps, 19x19 with
    256-bit direct kernels, on output planes of at least 512 x 1024 pixels); else "direct".
    The thresholds are the planner's (``FFT_MIN_TAPS``, ``FFT_MIN_PIXELS`` and
    ``DIRECT_MAX_TAPS`` in ``fastconv._tuning``; see ``docs/architecture.md``).

Accuracy and non-finite values
------------------------------
"direct" and "separable" are exact per element: each output's rounding error is a small
multiple of the unit roundoff times the sum of its products' magnitudes, so small outputs
next to large ones stay accurate.  "fft" is exact per maximum: its error is relative to the
largest values of the plane and kernel, so outputs many orders of magnitude below them may
lose their digits.  Every method gives exactly the direct method's pattern of NaN, +inf and
-inf: a kernel holding NaN or +-inf runs "direct" whatever the method; the FFT computes a
tile that holds a non-finite input (or fill) value with the direct kernels, and the
separable split keeps the pattern by construction (its factors have the signs and zeros of
the taps).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from fastconv import _args, _buffers, _engine, _fft, _pack, _plan
from fastconv import _separable as _separable_mod
from fastconv._omp import resolve_threads
from fastconv.typing import ArrayLike, Boundary, Correlate2DMethod, CorrelateMethod, Mode, NDArray

MODES = ("full", "same", "valid")
#: boundary name -> conv2d padding mode (SciPy's aliases included)
BOUNDARIES = {
    "fill": "zeros",
    "pad": "zeros",
    "wrap": "circular",
    "circular": "circular",
    "symm": "symmetric",
    "symmetric": "symmetric",
}
METHODS = ("auto", "direct", "separable", "fft")


def _check_choice(value: Any, name: str, choices: Any, fn: str) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{fn}: {name}={value!r} must be one of {', '.join(repr(c) for c in choices)}")


def _fill_value(fillvalue: Any, dtype: np.dtype, fn: str) -> float:
    """SciPy's rule: a scalar or an array of one element, else a ValueError; a complex value
    with an imaginary part is a TypeError (complex data is not computed)."""
    try:
        arr = np.asarray(fillvalue)
    except Exception:
        arr = np.asarray(None)
    if arr.dtype.kind == "c":
        if arr.size == 1 and np.imag(arr).item() == 0:
            arr = np.real(arr)
        else:
            raise TypeError(f"{fn}: fillvalue={fillvalue!r} must be real")
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise ValueError(f"{fn}: fillvalue={fillvalue!r} must be a real scalar or an array with one element")
    return float(arr.reshape(()))


def _finite(a: np.ndarray) -> bool:
    """No NaN or +-inf in ``a`` (2-D, float32/float64), in one pass without a copy."""
    return _pack.all_finite(a.reshape((1, 1) + a.shape))


#: The factors test (tests and the planner's callers).
_separable = _separable_mod.factors2d


def auto_method(kernel: np.ndarray, out_pixels: int) -> str:
    """The method ``method="auto"`` uses for this 2-D kernel on output planes of
    ``out_pixels`` pixels (see the module docstring): the planner's choice."""
    kind, _ = _plan.correlate2d(kernel, out_pixels, "auto", _separable)
    return {_plan.Kind.FFT: "fft", _plan.Kind.SEPARABLE: "separable"}.get(kind, "direct")


def _run(
    fn: str,
    in1: Any,
    in2: Any,
    mode: str,
    boundary: str,
    fillvalue: Any,
    method: str,
    num_threads: Optional[int],
    flip: bool,
) -> Any:
    kind = _args.array_kind(fn, in1=in1, in2=in2)
    if kind == "numpy":
        in1 = _args.to_numpy(in1, "in1", fn)
        in2 = _args.to_numpy(in2, "in2", fn)
    _check_choice(mode, "mode", MODES, fn)
    _check_choice(boundary, "boundary", tuple(BOUNDARIES), fn)
    _check_choice(method, "method", METHODS, fn)
    dtype = _args.result_dtype(fn, in1=in1, in2=in2)
    fill = _fill_value(fillvalue, dtype, fn)
    resolve_threads(num_threads)
    if in2.ndim != 2:
        raise ValueError(f"{fn}: in2 must be 2-D (kH, kW), got shape {tuple(in2.shape)}")
    if in1.ndim < 2:
        raise ValueError(f"{fn}: in1 must be 2-D (H, W) or batched (..., H, W), got shape {tuple(in1.shape)}")
    if in2.size == 0:
        raise ValueError(f"{fn}: in2 is empty (shape {tuple(in2.shape)})")
    H, W = in1.shape[-2:]
    if H == 0 or W == 0:
        raise ValueError(f"{fn}: in1 planes are empty (shape {tuple(in1.shape)})")
    lead = tuple(in1.shape[:-2])
    kh, kw = in2.shape
    k = in2[::-1, ::-1] if flip else in2  # convolution = correlation with the flipped kernel

    if mode == "valid" and not (kh <= H and kw <= W):
        if kh >= H and kw >= W:
            return _valid_swapped(fn, in1, in2, dtype, lead, flip, num_threads, kind)
        raise ValueError(
            f"{fn}: in valid mode one of in1 {(H, W)} and in2 {(kh, kw)} must be at "
            "least as large as the other in every dimension"
        )
    pads = _args.correlate_pads(mode, kh, kw, flip)
    conv_mode = BOUNDARIES[boundary]
    code = _args.PADDING_MODES[conv_mode][0]
    Ho, Wo = H + pads[0] + pads[1] - kh + 1, W + pads[2] + pads[3] - kw + 1
    shape = lead + (Ho, Wo)
    _args.check_result_size(shape, dtype.itemsize, fn, "the inputs are too large")
    if kind == "cupy":
        from fastconv import cuda

        return cuda.correlate2d(in1, k, dtype, pads, code, fill, shape)

    return _planes(in1.reshape((-1, 1, H, W)), k, pads, code, fill, method, num_threads, dtype).reshape(shape)


def _planes(
    planes: np.ndarray,
    k: np.ndarray,
    pads: Tuple[int, int, int, int],
    code: int,
    fill: float,
    method: str,
    num_threads: Optional[int],
    dtype: np.dtype,
) -> np.ndarray:
    """Correlate every plane of ``planes`` (B, 1, H, W) with the 2-D kernel ``k``, padded by
    ``pads`` (top, bottom, left, right) in padding mode ``code``: (B, 1, H_out, W_out), by
    the method the planner picks for ``method``."""
    planes = _args.kernel_ready(planes, dtype)
    kh, kw = k.shape
    Ho = planes.shape[2] + pads[0] + pads[1] - kh + 1
    Wo = planes.shape[3] + pads[2] + pads[3] - kw + 1
    kk = np.ascontiguousarray(k, dtype=dtype)
    out = _buffers.empty((planes.shape[0], 1, Ho, Wo), dtype)
    if planes.shape[0] == 0:
        return out
    how, _ = _plan.correlate2d(kk, Ho * Wo, method, _separable)
    if how == _plan.Kind.FFT:
        _fft.overlap_save(planes, kk[None], pads, code, fill, out, num_threads)
    elif how == _plan.Kind.SEPARABLE:
        factors = _separable_mod.factors(kk[None])
        assert factors is not None  # the planner took this kind because it is not
        _engine.separable(planes, *factors, pads, code, fill, out, num_threads)
    else:  # direct, or "separable" asked for a kernel that is not
        _engine.correlate(planes, kk[None, None], pads, code, fill, out, num_threads)
    return out


def _valid_swapped(
    fn: str,
    in1: Any,
    in2: Any,
    dtype: np.dtype,
    lead: Tuple[int, ...],
    flip: bool,
    num_threads: Optional[int],
    kind: str,
) -> Any:
    """SciPy's valid mode when in2 is the larger: each plane of in1 slides over in2.
    correlate2d returns correlate2d(in2, plane) reversed; convolve2d(in2, plane).  All planes
    at once: in2 is one input channel, the planes are the output channels' kernels."""
    H, W = in1.shape[-2:]
    kh, kw = in2.shape
    if kind == "cupy":
        from fastconv import conv2d

        ker = in1.reshape((-1, 1, H, W))
        ker = ker[:, :, ::-1, ::-1] if flip else ker
        res = conv2d(in2[None, None], ker)[0]
        res = res if flip else res[:, ::-1, ::-1]
        return res.reshape(lead + res.shape[-2:])
    ker = _args.kernel_ready(in1.reshape((-1, 1, H, W)), dtype)
    if flip:
        ker = ker[:, :, ::-1, ::-1]
    img = _args.kernel_ready(in2[None, None], dtype)
    out = _buffers.empty((1, ker.shape[0], kh - H + 1, kw - W + 1), dtype)
    if ker.shape[0]:
        _engine.correlate(img, ker, (0, 0, 0, 0), 0, 0.0, out, num_threads)
    res = out[0] if flip else out[0, :, ::-1, ::-1]
    return np.ascontiguousarray(res).reshape(lead + res.shape[-2:])


def correlate2d(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: Mode = "full",
    boundary: Boundary = "fill",
    fillvalue: Any = 0,
    *,
    method: Correlate2DMethod = "auto",
    num_threads: Optional[int] = None,
) -> NDArray:
    """Cross-correlate 2-D planes with a 2-D kernel, like ``scipy.signal.correlate2d``.

    Parameters
    ----------
    in1 : ndarray of shape (H, W) or (..., H, W)
        The image, or a stack of images (every leading dimension is a batch dimension).
        NumPy or CuPy, any strides, never modified.
    in2 : ndarray of shape (kH, kW)
        The kernel.
    mode : {"full", "same", "valid"}, default "full"
        Output size: full ``(H + kH - 1, W + kW - 1)``; same ``(H, W)`` (centred as SciPy
        does); valid ``(H - kH + 1, W - kW + 1)`` (or, when in2 is the larger in every
        dimension, SciPy's swapped result).
    boundary : {"fill", "wrap", "symm"}, default "fill"
        Constant ``fillvalue``, periodic, or mirrored with the edge repeated; at any kernel
        size.
    fillvalue : scalar, default 0
    method : {"auto", "direct", "separable", "fft"}, default "auto"
        See the module documentation; every method gives the same result within float
        tolerance.
    num_threads : int, optional

    Returns
    -------
    ndarray of shape (..., H_out, W_out)
        float32 or float64 (``np.result_type(in1, in2, np.float32)``).

    Raises
    ------
    ValueError
        Unknown mode/boundary/method, in2 not 2-D or empty, valid mode with neither input
        the larger.
    TypeError
        Complex or non-numeric input, a complex fillvalue.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.correlate2d(np.arange(9.0).reshape(3, 3), np.ones((2, 2)), mode="valid")
    array([[ 8., 12.],
           [20., 24.]])
    """
    return _run("correlate2d", in1, in2, mode, boundary, fillvalue, method, num_threads, flip=False)


def convolve2d(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: Mode = "full",
    boundary: Boundary = "fill",
    fillvalue: Any = 0,
    *,
    method: Correlate2DMethod = "auto",
    num_threads: Optional[int] = None,
) -> NDArray:
    """Convolve 2-D planes with a 2-D kernel, like ``scipy.signal.convolve2d``.

    Same parameters, results and errors as :func:`correlate2d`; the kernel is flipped, and
    "same" is centred as SciPy centres convolve2d.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.convolve2d(np.eye(3), np.array([[1.0, 2.0]]), mode="same")
    array([[1., 2., 0.],
           [0., 1., 2.],
           [0., 0., 1.]])
    """
    return _run("convolve2d", in1, in2, mode, boundary, fillvalue, method, num_threads, flip=True)


# --------------------------------------------------------------------------- N-D


def correlate(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: Mode = "full",
    method: CorrelateMethod = "auto",
    *,
    axes: Any = None,
    num_threads: Optional[int] = None,
) -> NDArray:
    """N-dimensional cross-correlation, a drop-in for ``scipy.signal.correlate`` on real
    arrays, with ``axes`` (as ``scipy.signal.fftconvolve``'s) for batch axes.

    Parameters
    ----------
    in1, in2 : ndarray
        Real arrays of the same number of dimensions (1-D signals, images, volumes, ...).
    mode : {"full", "valid", "same"}, default "full"
        SciPy's modes: "same" has in1's shape, centred on the full result as SciPy centres
        it; "valid" needs one input at least as large as the other on every correlated axis
        (when in2 is the larger the inputs swap and the result is reversed, as in SciPy).
    method : {"auto", "direct", "fft"}, default "auto"
        "direct": the direct kernels; "fft": overlap-save FFT on each 2-D plane; "auto":
        the planner's choice per plane (direct, separable passes, or FFT for big kernels),
        as :func:`correlate2d`.  Every method gives the same result within float tolerance.
    axes : int or sequence of int, optional
        The axes to correlate over (default: all).  On the other axes ("batch" axes) in1 and
        in2 must have equal sizes or size 1 (broadcast): ``correlate(img_hwc, k[:, :, None],
        "same", axes=(0, 1))`` filters each channel of an (H, W, C) image.
    num_threads : int, optional

    Returns
    -------
    ndarray
        float32 when both inputs are float32, else float64 (integers are promoted, never
        accumulated with wrap-around; SciPy keeps integer dtypes).

    Notes
    -----
    1-D correlation runs as 2-D with a unit row; 3-D and higher as a sum, over the kernel's
    taps on the leading correlated axes, of 2-D correlations of all the matching planes at
    once (see :mod:`fastconv.nd`).

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    return _nd("correlate", in1, in2, mode, method, axes, num_threads, flip=False)


def convolve(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: Mode = "full",
    method: CorrelateMethod = "auto",
    *,
    axes: Any = None,
    num_threads: Optional[int] = None,
) -> NDArray:
    """N-dimensional convolution, a drop-in for ``scipy.signal.convolve`` on real arrays;
    arguments as :func:`correlate` (the kernel is flipped on the correlated axes; "valid"
    with in2 the larger swaps the inputs, as convolution commutes).

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return _nd("convolve", in1, in2, mode, method, axes, num_threads, flip=True)


ND_METHODS = ("auto", "direct", "fft")


def nd_axes(axes: Any, nd: int, fn: str) -> List[int]:
    """The correlated axes of ``axes=`` (None: all), as distinct non-negative ints."""
    if axes is None:
        return list(range(nd))
    raw = [axes] if not isinstance(axes, (tuple, list)) else list(axes)
    ax = []
    for v in raw:
        i = _args.check_int(v, "axes", fn, -nd) if not isinstance(v, (bool, np.bool_)) else v
        if isinstance(i, (bool, np.bool_)) or not -nd <= i < nd:
            raise ValueError(f"{fn}: axes={axes!r}: axis {v!r} is out of range for {nd}-D inputs")
        ax.append(i % nd)
    if len(set(ax)) != len(ax) or not ax:
        raise ValueError(f"{fn}: axes={axes!r} must name distinct axes, at least one")
    return ax


def mode_pads(mode: str, k: Sequence[int]) -> List[Tuple[int, int]]:
    """Zero padding (before, after) of each correlated axis for SciPy's modes; "same" is
    centred on the full result, as SciPy does: (K - 1) // 2 after."""
    if mode == "full":
        return [(kk - 1, kk - 1) for kk in k]
    if mode == "same":
        return [(kk // 2, (kk - 1) // 2) for kk in k]
    return [(0, 0) for _ in k]


def _nd(
    fn: str, in1: Any, in2: Any, mode: str, method: str, axes: Any, num_threads: Optional[int], flip: bool
) -> np.ndarray:
    if _args.array_kind(fn, in1=in1, in2=in2) == "cupy":
        raise TypeError(f"{fn}: CuPy arrays are not supported by the N-D functions yet; pass NumPy arrays")
    a = _args.to_numpy(in1, "in1", fn)
    b = _args.to_numpy(in2, "in2", fn)
    _check_choice(mode, "mode", MODES, fn)
    _check_choice(method, "method", ND_METHODS, fn)
    dtype = _args.result_dtype(fn, in1=a, in2=b)
    resolve_threads(num_threads)
    if a.ndim != b.ndim:
        raise ValueError(f"{fn}: in1 and in2 must have the same number of dimensions, got {a.ndim} and {b.ndim}")
    if a.ndim == 0:
        raise ValueError(f"{fn}: in1 and in2 must be at least 1-D, got 0-D arrays")
    nd = a.ndim
    ax = nd_axes(axes, nd, fn)
    batch = [i for i in range(nd) if i not in ax]
    for i in batch:
        if a.shape[i] != b.shape[i] and 1 not in (a.shape[i], b.shape[i]):
            raise ValueError(
                f"{fn}: in1 {a.shape} and in2 {b.shape} differ on batch axis {i}; they must be equal or 1 there"
            )
    if a.size == 0 or b.size == 0:
        return np.array([], dtype=dtype)
    n = [a.shape[i] for i in ax]
    k = [b.shape[i] for i in ax]
    if mode == "valid" and not all(x >= y for x, y in zip(n, k)):
        if not all(y >= x for x, y in zip(n, k)):
            raise ValueError(
                f"{fn}: in valid mode one of in1 {tuple(n)} and in2 {tuple(k)} must be at least as large as "
                "the other on every correlated axis"
            )
        res = _nd(fn, b, a, mode, method, axes, num_threads, flip)
        return res if flip else np.ascontiguousarray(np.flip(res, axis=tuple(ax)))
    # correlated axes last, batch axes first
    am = np.moveaxis(a, ax, range(nd - len(ax), nd))
    bm = np.moveaxis(b, ax, range(nd - len(ax), nd))
    if flip:
        bm = np.flip(bm, axis=tuple(range(nd - len(ax), nd)))
    pads = mode_pads(mode, k)
    nb = len(batch)
    lead_a, lead_b = am.shape[:nb], bm.shape[:nb]
    lead = tuple(max(x, y) for x, y in zip(lead_a, lead_b))
    out_sp = tuple(x + p0 + p1 - kk + 1 for x, (p0, p1), kk in zip(n, pads, k))
    _args.check_result_size(lead + out_sp, dtype.itemsize, fn, "the inputs are too large")
    if all(v == 1 for v in lead_b):  # one kernel for every batch entry
        res = _core(np.broadcast_to(am, lead + tuple(n)), bm.reshape(k), pads, method, num_threads, dtype)
    else:
        ab = np.broadcast_to(am, lead + tuple(n))
        bb = np.broadcast_to(bm, lead + tuple(k))
        res = np.empty(lead + out_sp, dtype=dtype)
        for idx in np.ndindex(*lead):
            res[idx] = _core(ab[idx], bb[idx], pads, method, num_threads, dtype)
    # back to the caller's axis order
    return np.ascontiguousarray(np.moveaxis(res, range(nd - len(ax), nd), ax))


def _core(
    x: np.ndarray, k: np.ndarray, pads: Any, method: str, num_threads: Optional[int], dtype: np.dtype
) -> np.ndarray:
    """Zero-padded correlation of x (batch..., n_1 .. n_m) with k (k_1 .. k_m) over the last
    m axes."""
    m = k.ndim
    lead = x.shape[: x.ndim - m]
    n = x.shape[x.ndim - m :]
    out_sp = tuple(v + p0 + p1 - kk + 1 for v, (p0, p1), kk in zip(n, pads, k.shape))
    if m == 1:
        res = _planes(x.reshape(-1, 1, 1, n[0]), k[None], (0, 0) + tuple(pads[0]), 0, 0.0, method, num_threads, dtype)
        return res.reshape(lead + out_sp)
    if m == 2:
        p = tuple(pads[0]) + tuple(pads[1])
        return _planes(x.reshape((-1, 1) + n), k, p, 0, 0.0, method, num_threads, dtype).reshape(lead + out_sp)
    if m == 3 and method != "fft" and (method == "direct" or auto_method(k[0], out_sp[1] * out_sp[2]) == "direct"):
        return _volume_direct(x, k, pads, num_threads, dtype).reshape(lead + out_sp)
    # m >= 3: for each tap of the leading correlated axes, the 2-D correlation of the
    # planes it reads (a block of the leading axes) lands on a block of the output
    out = np.zeros(lead + out_sp, dtype=dtype)
    nl = len(lead)
    H, W = n[-2:]
    for tap in np.ndindex(*k.shape[:-2]):
        src, dst = [], []
        for t, v, o, (p0, _) in zip(tap, n[:-2], out_sp[:-2], pads[:-2]):
            lo, hi = max(0, p0 - t), min(o, v + p0 - t)
            src.append(slice(lo + t - p0, hi + t - p0))
            dst.append(slice(lo, hi))
        if any(s.stop <= s.start for s in src):
            continue
        block = x[(Ellipsis,) + tuple(src) + (slice(None), slice(None))]
        p = tuple(pads[-2]) + tuple(pads[-1])
        r = _planes(block.reshape((-1, 1, H, W)), k[tap], p, 0, 0.0, method, num_threads, dtype)
        out[(slice(None),) * nl + tuple(dst)] += r.reshape(block.shape[:-2] + out_sp[-2:])
    return out


def _volume_direct(x: np.ndarray, k: np.ndarray, pads: Any, num_threads: Optional[int], dtype: np.dtype) -> np.ndarray:
    """3-D correlation of x (batch..., D, H, W) with k (kD, kH, kW) as conv2d calls whose
    kD input channels are the kD consecutive depth slices an output slice reads: a strided
    view of x, no copy, so that the direct kernels sum over kernel depth in registers instead
    of one pass over the result per depth tap.  Output slices whose window reaches into the
    depth padding read a small zero-padded copy of the planes at the ends; or, where the row
    tiles read padded planes in place, every slice reads one zero-padded copy of the volume
    (see ``nd.rows_in_place``)."""
    from fastconv.conv import conv2d
    from fastconv.nd import rows_in_place, zero_padded

    D, H, W = x.shape[-3:]
    kD = k.shape[0]
    (p0, p1), ph, pw = pads
    Do = D + p0 + p1 - kD + 1
    vol = _args.kernel_ready(np.ascontiguousarray(x.reshape((-1, D, H, W))), dtype)
    w = np.ascontiguousarray(k[None], dtype=dtype)
    hw = (tuple(ph), tuple(pw))
    Ho, Wo = H + ph[0] + ph[1] - k.shape[1] + 1, W + pw[0] + pw[1] - k.shape[2] + 1
    out = _buffers.empty((vol.shape[0], Do, Ho, Wo), dtype)  # (a big fresh result faults in page by page)
    lo, hi = min(p0, Do), max(min(Do, D - kD + 1 + p0), min(p0, Do))

    def run(planes: np.ndarray, first: int, count: int, dst: slice, b: int, hw_pad: Any = hw) -> None:
        sd = planes.strides[0]
        view = np.lib.stride_tricks.as_strided(
            planes[first:], shape=(count, kD) + planes.shape[1:], strides=(sd, sd) + planes.strides[1:], writeable=False
        )
        conv2d(view, w, None, 1, hw_pad, num_threads=num_threads, out=out[b, dst, None])  # written in place

    if hi > lo and vol.shape[0] > 0:
        sd = vol.strides[1]
        inner = np.lib.stride_tricks.as_strided(
            vol[0, lo - p0 :], shape=(hi - lo, kD, H, W), strides=(sd, sd) + vol.strides[2:], writeable=False
        )
        if rows_in_place(inner, w, 1, hw, 1, num_threads, Wo):
            padded = zero_padded(vol, ((p0, p1), ph, pw), dtype, num_threads)
            for b in range(vol.shape[0]):
                run(padded[b], 0, Do, slice(0, Do), b, 0)
            return out
    for b in range(vol.shape[0]):
        if hi > lo:
            run(vol[b], lo - p0, hi - lo, slice(lo, hi), b)
        for a, e in ((0, lo), (hi, Do)):
            if e <= a:
                continue
            ends = np.zeros((e - a + kD - 1, H, W), dtype=dtype)  # planes a - p0 .. e - 1 - p0 + kD - 1
            s0 = a - p0
            src_lo, src_hi = max(s0, 0), min(s0 + ends.shape[0], D)
            if src_hi > src_lo:
                ends[src_lo - s0 : src_hi - s0] = vol[b, src_lo:src_hi]
            run(ends, 0, e - a, slice(a, e), b)
    return out
