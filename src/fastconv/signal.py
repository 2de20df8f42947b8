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
    When the kernel has rank 1 (SVD, within float tolerance): a column pass then a row pass,
    ``kh + kw`` multiply-adds per pixel instead of ``kh * kw``.
"fft"
    Pad with the boundary mode, then overlap-save with ``scipy.fft`` real transforms of
    tiles of about ``FFT_TILE`` points per axis (cache-sized; rows of tiles spread over the
    threads), each thread holding one tile's buffers.
"auto" (default)
    "direct" for kernels of at most 3x3 taps; else "separable" when the kernel has rank 1;
    else "fft" when the kernel has at least ``FFT_MIN_TAPS[w]`` taps, ``w`` being the
    vector width of the direct kernels on this CPU (:func:`fastconv._conv.vector_bytes`);
    else "direct".
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from fastconv import _args, _conv
from fastconv._omp import resolve_threads

MODES = ("full", "same", "valid")
#: boundary name -> conv2d padding mode (SciPy's aliases included)
BOUNDARIES = {"fill": "zeros", "pad": "zeros", "wrap": "circular", "circular": "circular",
              "symm": "symmetric", "symmetric": "symmetric"}
METHODS = ("auto", "direct", "separable", "fft")
#: "auto" switches from the direct kernel to the FFT at this many kernel taps (non-separable),
#: by the vector width in bytes of the direct kernels: the crossovers measured on 2048^2
#: float32 images with 1 and 2 threads (AVX-512 machine, direct kernels limited to 32 bytes
#: for the second figure).
FFT_MIN_TAPS = {64: 25 * 25, 32: 19 * 19}
#: Target FFT length of the overlap-save tiles (per axis).
FFT_TILE = 384


def _check_choice(value: Any, name: str, choices: Any, fn: str) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{fn}: {name}={value!r} must be one of {', '.join(repr(c) for c in choices)}")


def _fill_value(fillvalue: Any, dtype: np.dtype, fn: str) -> float:
    if isinstance(fillvalue, (complex, np.complexfloating)) and np.imag(fillvalue) != 0:
        raise TypeError(f"{fn}: fillvalue={fillvalue!r} must be real")
    try:
        return float(np.real(fillvalue))
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: fillvalue={fillvalue!r} must be a real number") from None


def _separable(k: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(column, row) with k == outer(column, row) within float tolerance, or None."""
    if min(k.shape) == 1:
        return None  # already 1-D: the direct kernel does it in one pass
    u, s, vt = np.linalg.svd(k.astype(np.float64))
    tol = 32 * np.finfo(k.dtype).eps * max(k.shape)
    if s[0] == 0 or s[1] > tol * s[0]:
        return None
    root = np.sqrt(s[0])
    return (u[:, 0] * root).astype(k.dtype), (vt[0] * root).astype(k.dtype)


def auto_method(kernel: np.ndarray) -> str:
    """The method ``method="auto"`` uses for this 2-D kernel (see the module docstring)."""
    kh, kw = kernel.shape
    if kh * kw <= 9:
        return "direct"
    if _separable(kernel) is not None:
        return "separable"
    if kh * kw >= FFT_MIN_TAPS[_conv.vector_bytes()]:
        return "fft"
    return "direct"


def _direct(planes: np.ndarray, k: np.ndarray, pads: Tuple[int, int, int, int], mode: int, fill: float,
            out: np.ndarray, num_threads: Optional[int]) -> None:
    _conv.conv2d_direct(planes, k[None, None], None, out, 1, 1, 1, 1, 1, pads[0], pads[2], mode,
                        fill, num_threads)


def _tile_len(n_out: int, k: int) -> int:
    """FFT length along one axis for overlap-save tiles: about FFT_TILE, at least twice the
    kernel, and no longer than one transform of the whole padded axis."""
    import scipy.fft as sfft

    whole = sfft.next_fast_len(n_out + k - 1, real=True)
    return min(whole, sfft.next_fast_len(max(FFT_TILE, 2 * k), real=True))


def _fft(planes: np.ndarray, k: np.ndarray, pads: Tuple[int, int, int, int], pad_mode: Any, fill: float,
         out: np.ndarray, num_threads: Optional[int]) -> None:
    """Correlate plane (b, c) of ``planes`` (B, C, H, W) with kernel ``k[c]`` (C, kh, kw) into
    ``out[b, c]`` (B, C, Ho, Wo) by overlap-save: the padded plane is cut into overlapping
    Lh x Lw tiles, each transformed, multiplied by the kernel's transform and transformed
    back, keeping the outputs that did not wrap around.  A tile of a few hundred points stays
    in cache and costs less per output than one transform of a whole large plane.  Threads
    take whole rows of tiles (scipy.fft releases the GIL); each holds one tile's buffers."""
    import scipy.fft as sfft
    from concurrent.futures import ThreadPoolExecutor

    B, C, H, W = planes.shape
    kh, kw = k.shape[1:]
    Ho, Wo = out.shape[2], out.shape[3]
    Lh, Lw = _tile_len(Ho, kh), _tile_len(Wo, kw)
    Sh, Sw = Lh - kh + 1, Lw - kw + 1  # outputs per tile
    nth, ntw = -(-Ho // Sh), -(-Wo // Sw)
    extra = {"constant_values": fill} if pad_mode == "constant" else {}
    # the padded plane, extended to whole tiles: the extension (padded further by the same
    # mode, in one array) only feeds outputs that are dropped
    eh = (nth - 1) * Sh + Lh - (H + pads[0] + pads[1])
    ew = (ntw - 1) * Sw + Lw - (W + pads[2] + pads[3])
    ext_pads = ((pads[0], pads[1] + eh), (pads[2], pads[3] + ew))

    def tile_row(b: int, c: int, kf: np.ndarray, ext: np.ndarray, r: int) -> None:
        h0 = r * Sh
        nh = min(Sh, Ho - h0)
        for j in range(ntw):
            w0 = j * Sw
            spec = sfft.rfft2(ext[h0:h0 + Lh, w0:w0 + Lw])
            spec *= kf
            res = sfft.irfft2(spec, s=(Lh, Lw))
            nw = min(Sw, Wo - w0)
            out[b, c, h0:h0 + nh, w0:w0 + nw] = res[kh - 1:kh - 1 + nh, kw - 1:kw - 1 + nw]

    nt = min(resolve_threads(num_threads), nth)
    with ThreadPoolExecutor(max_workers=nt) if nt > 1 else _Serial() as pool:
        for c in range(C):
            kf = sfft.rfft2(k[c, ::-1, ::-1], s=(Lh, Lw))
            for b in range(B):
                ext = np.pad(planes[b, c], ext_pads, mode=pad_mode, **extra)
                list(pool.map(lambda r: tile_row(b, c, kf, ext, r), range(nth)))


class _Serial:
    """Stand-in for a thread pool with one thread: map runs in the caller."""

    def __enter__(self) -> "_Serial":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    @staticmethod
    def map(f: Any, items: Any) -> Any:
        return map(f, items)


def _run(fn: str, in1: Any, in2: Any, mode: str, boundary: str, fillvalue: Any, method: str,
         num_threads: Optional[int], flip: bool) -> Any:
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

    if mode == "valid":
        if kh <= H and kw <= W:
            pads = (0, 0, 0, 0)
        elif kh >= H and kw >= W:
            return _valid_swapped(fn, in1, in2, dtype, lead, flip, num_threads, kind)
        else:
            raise ValueError(f"{fn}: in valid mode one of in1 {(H, W)} and in2 {(kh, kw)} must be at "
                             "least as large as the other in every dimension")
    elif mode == "full":
        pads = (kh - 1, kh - 1, kw - 1, kw - 1)
    else:  # same: SciPy centres correlate2d on (k-1)//2 and convolve2d on k//2
        t = kh // 2 if flip else (kh - 1) // 2
        l = kw // 2 if flip else (kw - 1) // 2
        pads = (t, kh - 1 - t, l, kw - 1 - l)
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
    out = np.empty((planes.shape[0], 1, Ho, Wo), dtype=dtype)
    if planes.shape[0] == 0:
        return out.reshape(shape)
    if method == "auto":
        method = auto_method(kk)
    sep = _separable(kk) if method == "separable" else None
    if method == "fft":
        _fft(planes, kk[None], pads, _args.PADDING_MODES[conv_mode][1], fill, out, num_threads)
    elif sep is not None:
        col, row = sep
        mid = np.empty((planes.shape[0], 1, Ho, W + pads[2] + pads[3]), dtype=dtype)
        _conv.conv2d_direct(planes, col.reshape(1, 1, kh, 1), None, mid, 1, 1, 1, 1, 1, pads[0], pads[2],
                            code, fill, num_threads)
        _conv.conv2d_direct(mid, row.reshape(1, 1, 1, kw), None, out, 1, 1, 1, 1, 1, 0, 0, 0, 0.0,
                            num_threads)
    else:  # direct, or "separable" asked for a kernel that is not
        _direct(planes, kk, pads, code, fill, out, num_threads)
    return out.reshape(shape)


def _valid_swapped(fn: str, in1: Any, in2: Any, dtype: np.dtype, lead: Tuple[int, ...], flip: bool,
                   num_threads: Optional[int], kind: str) -> Any:
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
    out = np.empty((1, ker.shape[0], kh - H + 1, kw - W + 1), dtype=dtype)
    if ker.shape[0]:
        _conv.conv2d_direct(img, ker, None, out, 1, 1, 1, 1, 1, 0, 0, 0, 0.0, num_threads)
    res = out[0] if flip else out[0, :, ::-1, ::-1]
    return np.ascontiguousarray(res).reshape(lead + res.shape[-2:])


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0, *,
                method: str = "auto", num_threads: Optional[int] = None) -> Any:
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


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0, *,
               method: str = "auto", num_threads: Optional[int] = None) -> Any:
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
