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

from typing import Any, Optional, Tuple

import numpy as np

from fastconv import _args, _buffers, _engine, _fft, _pack, _plan
from fastconv import _separable as _separable_mod
from fastconv._omp import resolve_threads

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

    planes = _args.kernel_ready(in1.reshape((-1, 1, H, W)), dtype)
    kk = np.ascontiguousarray(k, dtype=dtype)
    out = _buffers.empty((planes.shape[0], 1, Ho, Wo), dtype)
    if planes.shape[0] == 0:
        return out.reshape(shape)
    how, _ = _plan.correlate2d(kk, Ho * Wo, method, _separable)
    if how == _plan.Kind.FFT:
        _fft.overlap_save(planes, kk[None], pads, code, fill, out, num_threads)
    elif how == _plan.Kind.SEPARABLE:
        factors = _separable_mod.factors(kk[None])
        assert factors is not None  # the planner took this kind because it is not
        _engine.separable(planes, *factors, pads, code, fill, out, num_threads)
    else:  # direct, or "separable" asked for a kernel that is not
        _engine.correlate(planes, kk[None, None], pads, code, fill, out, num_threads)
    return out.reshape(shape)


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
    in1: Any,
    in2: Any,
    mode: str = "full",
    boundary: str = "fill",
    fillvalue: Any = 0,
    *,
    method: str = "auto",
    num_threads: Optional[int] = None,
) -> Any:
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
    in1: Any,
    in2: Any,
    mode: str = "full",
    boundary: str = "fill",
    fillvalue: Any = 0,
    *,
    method: str = "auto",
    num_threads: Optional[int] = None,
) -> Any:
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
