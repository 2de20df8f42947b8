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
    Overlap-save with ``scipy.fft``: tiles of at most ``FFT_TILE`` points per axis (sized
    by a cost model) are cut from the plane padded by the boundary mode, two at a time
    into one complex transform done in place, and shared out over the threads; each thread
    holds one tile's buffer.
"auto" (default)
    "direct" for kernels of at most 3x3 taps; else "separable" when the kernel is an outer
    product as above; else "fft" when the kernel has at least ``FFT_MIN_TAPS[w]`` taps,
    ``w`` being the vector width of the direct kernels on this CPU
    (:func:`fastconv._conv.vector_bytes`), and the output planes have at least
    ``FFT_MIN_PIXELS`` pixels; else "direct".

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

import itertools
import math
import os
import threading
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from fastconv import _args, _buffers, _conv
from fastconv._omp import resolve_threads

MODES = ("full", "same", "valid")
#: boundary name -> conv2d padding mode (SciPy's aliases included)
BOUNDARIES = {"fill": "zeros", "pad": "zeros", "wrap": "circular", "circular": "circular",
              "symm": "symmetric", "symmetric": "symmetric"}
METHODS = ("auto", "direct", "separable", "fft")
#: "auto" switches from the direct kernel to the FFT at this many kernel taps (not
#: separable), by the vector width in bytes of the direct kernels, on output planes of at
#: least FFT_MIN_PIXELS.  Measured against the direct kernels on one float32 plane,
#: AVX-512, 1 / 2 threads: 25x25 1.2x / 0.8x on 512^2, 1.2x / 1.07x on 1024^2, 1.2x / 1.1x
#: on 2048^2; 31x31 1.8x / 1.2x on 512^2, 2.0x / 1.2x on 1024^2, 1.8x / 1.7x on 2048^2;
#: 19x19 at most 0.9x; on 256^2 planes the direct kernels were 1.2-7x faster.  The second
#: width's figure: the crossover on 2048^2 images with the direct kernels limited to 32
#: bytes.
FFT_MIN_TAPS = {64: 25 * 25, 32: 19 * 19}
FFT_MIN_PIXELS = 512 * 1024
#: Longest FFT of the overlap-save tiles (per axis) unless the kernel needs more.  One
#: scipy.fft round trip costs about 3.4 ns per point from 128 to 384 points per axis, 3.6-3.9
#: from 576 to 768 (float32, AVX-512 machine); 2 threads scaled best (1.7-1.8x on 2048^2
#: planes) with tiles up to 384-480.
FFT_TILE = 480
#: Fixed cost of one tile (transforms' set-up, the Python around them: about 17 us) in
#: points of tile length per axis: sqrt(17 us / 3.4 ns).
FFT_TILE_OVERHEAD = 72
#: Cost, in points, of spreading the tiles over threads (waking them, sharing the GIL):
#: measured about 200 us (four 90 x 90 tiles on 2 threads took 0.31 ms, one 160 x 160 tile
#: on one 0.17 ms).
FFT_THREADS_COST = 60000
#: "separable" needs the product of its factors within this many units in the last place of
#: every tap (in the kernel's dtype).  The factors are a column and a row of the kernel, so
#: an outer product of two vectors, rounded to the dtype, passes with 1-3 ulps.
SEPARABLE_ULPS = 8


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
    return _conv.all_finite(a.reshape((1, 1) + a.shape))


def _separable(k: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(column, row) of ``k``'s dtype whose outer product reproduces every tap to within
    ``SEPARABLE_ULPS`` units in the last place of that tap, or None.

    The factors are the column and the row through the largest tap (divided by it): the
    exact factors of an exact outer product, with the zeros and signs of the taps, so near-
    zero taps (a windowed filter's taps span 20 orders of magnitude) keep their value, and
    NaN/inf inputs give the direct method's pattern.  An SVD spreads its rounding over every
    tap alike and made near-zero taps wrong by a factor of 48."""
    if min(k.shape) == 1 or not _finite(k):
        return None  # already 1-D, or a NaN/inf tap: the direct method
    k64 = k.astype(np.float64)
    i0, j0 = np.unravel_index(int(np.argmax(np.abs(k64))), k.shape)
    if k64[i0, j0] == 0:
        return None
    col = k64[:, j0].astype(k.dtype)
    row = (k64[i0, :] / k64[i0, j0]).astype(k.dtype)
    with np.errstate(over="ignore", under="ignore"):
        prod = np.outer(col.astype(np.float64), row.astype(np.float64))
    ulp = np.spacing(np.abs(k)).astype(np.float64)
    if not np.all(np.abs(prod - k64) <= SEPARABLE_ULPS * ulp):
        return None
    return col, row


def fft_pays(taps: int, pixels: int) -> bool:
    """Whether "auto" takes the FFT for a kernel of ``taps`` taps (not separable) on output
    planes of ``pixels`` pixels: the crossovers measured above."""
    return taps >= FFT_MIN_TAPS[_conv.vector_bytes()] and pixels >= FFT_MIN_PIXELS


def auto_method(kernel: np.ndarray, out_pixels: int) -> str:
    """The method ``method="auto"`` uses for this 2-D kernel on output planes of
    ``out_pixels`` pixels (see the module docstring)."""
    kh, kw = kernel.shape
    if kh * kw <= 9 or not _finite(kernel):
        return "direct"
    if _separable(kernel) is not None:
        return "separable"
    if fft_pays(kh * kw, out_pixels):
        return "fft"
    return "direct"


def _direct(planes: np.ndarray, k: np.ndarray, pads: Tuple[int, int, int, int], mode: int, fill: float,
            out: np.ndarray, num_threads: Optional[int]) -> None:
    _conv.conv2d_direct(planes, k[None, None], None, out, 1, 1, 1, 1, 1, pads[0], pads[2], mode,
                        fill, num_threads)


def _smooth_lengths(lo: int, hi: int) -> List[int]:
    """The lengths in [lo, hi] with no prime factor above 5 (the ones scipy.fft transforms
    fastest, ``next_fast_len(n, real=True)``), ascending."""
    found = []
    p2 = 1
    while p2 <= hi:
        p3 = p2
        while p3 <= hi:
            p5 = p3
            while p5 <= hi:
                if p5 >= lo:
                    found.append(p5)
                p5 *= 5
            p3 *= 3
        p2 *= 2
    return sorted(found)


def _axis_lengths(n_out: int, k: int, longest: int) -> List[Tuple[int, int]]:
    """(tiles, L) for the FFT lengths L worth trying along one axis of ``n_out`` outputs with
    a kernel of ``k`` taps: lengths scipy.fft handles fast, from k (one output per tile) up
    to ``max(longest, 2 k)`` or one tile over the whole axis, without powers of two from 512
    up (their columns fall in the same cache sets: 512 took 1.3x the time per point of 480
    and 540)."""
    whole = _smooth_lengths(n_out + k - 1, 2 * (n_out + k))[0]  # one tile covers the axis
    found = [(-(-n_out // (L - k + 1)), L) for L in _smooth_lengths(k, min(whole, max(longest, 2 * k)))
             if L < 512 or L & (L - 1) or L == whole]
    # the few with the least work along this axis, a tile's fixed cost counted in
    found.sort(key=lambda tl: tl[0] * (tl[1] + FFT_TILE_OVERHEAD))
    return found[:6]


_tile_shapes: Dict[Tuple[int, ...], Tuple[int, int, int]] = {}


def _tile_shape(Ho: int, kh: int, Wo: int, kw: int, n_planes: int, nt: int, longest: int,
                threads_cost: int) -> Tuple[int, int, int]:
    """(Lh, Lw, threads) for the overlap-save tiles, at most ``longest`` (``FFT_TILE``) per
    axis unless the kernel needs more, with the least estimated time, in points: the pairs
    of tiles over all planes (one complex transform each, see _fft) shared out over 1 or
    ``nt`` threads, ``ceil(pairs / threads) * (2 Lh Lw + FFT_TILE_OVERHEAD ** 2)``, plus
    ``threads_cost`` (``FFT_THREADS_COST``) for using more than one thread.  Remembered per
    shape (the search takes about 0.1 ms)."""
    key = (Ho, kh, Wo, kw, n_planes, nt, longest, threads_cost)
    if key in _tile_shapes:
        return _tile_shapes[key]
    best, best_cost = (0, 0, 1), math.inf
    for th, Lh in _axis_lengths(Ho, kh, longest):
        for tw, Lw in _axis_lengths(Wo, kw, longest):
            pairs = -(-n_planes * th * tw // 2)
            for t in sorted({1, min(nt, pairs)}):
                cost = -(-pairs // t) * (2 * Lh * Lw + FFT_TILE_OVERHEAD ** 2) + (t > 1) * threads_cost
                if cost < best_cost:
                    best, best_cost = (Lh, Lw, t), cost
    if len(_tile_shapes) >= 1024:
        _tile_shapes.clear()
    _tile_shapes[key] = best
    return best


def _fft(planes: np.ndarray, k: np.ndarray, pads: Tuple[int, int, int, int], mode: int, fill: float,
         out: np.ndarray, num_threads: Optional[int]) -> None:
    """Correlate plane (b, c) of ``planes`` (B, C, H, W) with kernel ``k[c]`` (C, kh, kw) into
    ``out[b, c]`` (B, C, Ho, Wo) by overlap-save: the plane, padded by ``mode`` (FC_PAD_*
    code) with ``pads`` (top, bottom, left, right), is cut into overlapping Lh x Lw tiles,
    each transformed, multiplied by the kernel's transform and transformed back, keeping the
    outputs that did not wrap around.

    Two tiles of a channel go through one complex transform, one as its real part and one
    as its imaginary part: the kernel is real, so the two results come back apart, as the
    real and imaginary parts.  That costs what two real transforms cost, but works in place
    in one buffer per thread: the real transforms' fresh result arrays would be faulted in
    again on most tiles whenever malloc hands freed memory back to the system (up to 2x the
    time).  Tiles are cut from the plane as they are needed (no padded copy of the plane is
    made) and pairs are shared out one at a time over the threads (scipy.fft releases the
    GIL)."""
    import scipy.fft as sfft

    B, C = planes.shape[:2]
    kh, kw = k.shape[1:]
    Ho, Wo = out.shape[2], out.shape[3]
    if B == 0 or C == 0 or Ho == 0 or Wo == 0:
        return
    if not _conv.all_finite(k[None]):  # a NaN/inf tap reaches every output: the direct kernels
        _conv.conv2d_direct(planes, k[:, None], None, out, C, 1, 1, 1, 1, pads[0], pads[2], mode, fill,
                            num_threads)
        return
    Lh, Lw, nt = _tile_shape(Ho, kh, Wo, kw, B, resolve_threads(num_threads), FFT_TILE, FFT_THREADS_COST)
    Sh, Sw = Lh - kh + 1, Lw - kw + 1  # outputs per tile
    nth, ntw = -(-Ho // Sh), -(-Wo // Sw)
    per_plane = nth * ntw
    n_tiles = B * per_plane
    n_pairs = n_tiles // 2  # and the last tile alone when the count is odd
    cdtype = np.result_type(planes.dtype, np.complex64)
    bufs: dict = {}  # thread -> its transform buffer, kept over the channels

    def place(i: int) -> Tuple[int, int, int]:
        b, t = divmod(i, per_plane)
        return b, (t // ntw) * Sh, (t % ntw) * Sw

    def cut(c: int, i: int, dst: np.ndarray) -> bool:
        # the tile's last rows and columns may run past the padded plane: they only feed
        # outputs that are dropped.  False when a value written is NaN or +-inf.
        b, h0, w0 = place(i)
        return _conv.pad_window(planes[b, c], dst, h0 - pads[0], w0 - pads[2], mode, fill)

    def keep(c: int, i: int, res: np.ndarray) -> None:
        b, h0, w0 = place(i)
        nh, nw = min(Sh, Ho - h0), min(Sw, Wo - w0)
        out[b, c, h0:h0 + nh, w0:w0 + nw] = res[kh - 1:kh - 1 + nh, kw - 1:kw - 1 + nw]

    def exact(c: int, i: int, tile: np.ndarray) -> None:
        # a tile holding NaN or +-inf: its outputs from the direct kernels (the transform would
        # spread the value over the whole tile); ``tile`` is its padded window, so a valid
        # correlation of it gives exactly the tile's outputs
        b, h0, w0 = place(i)
        nh, nw = min(Sh, Ho - h0), min(Sw, Wo - w0)
        res = np.empty((1, 1, Sh, Sw), planes.dtype)
        _conv.conv2d_direct(tile[None, None], k[c][None, None], None, res, 1, 1, 1, 1, 1, 0, 0, 0, 0.0, 1)
        out[b, c, h0:h0 + nh, w0:w0 + nw] = res[0, 0, :nh, :nw]

    def pair(c: int, kf: np.ndarray, p: int) -> None:
        buf = bufs.get(threading.get_ident())
        if buf is None:
            buf = bufs[threading.get_ident()] = np.empty((Lh, Lw), cdtype)
        ok = (cut(c, 2 * p, buf.real), cut(c, 2 * p + 1, buf.imag))
        for i, part, fine in ((2 * p, buf.real, ok[0]), (2 * p + 1, buf.imag, ok[1])):
            if not fine:
                exact(c, i, np.ascontiguousarray(part))
                part[...] = 0  # leaves the other tile's transform alone
        if not (ok[0] or ok[1]):
            return
        spec = sfft.fft2(buf, overwrite_x=True, workers=1)  # in place
        spec *= kf
        res = sfft.ifft2(spec, overwrite_x=True, workers=1)
        if ok[0]:
            keep(c, 2 * p, res.real)
        if ok[1]:
            keep(c, 2 * p + 1, res.imag)

    def alone(c: int) -> None:  # the last tile of an odd count: real transforms
        tile = np.empty((Lh, Lw), planes.dtype)
        if not cut(c, n_tiles - 1, tile):
            exact(c, n_tiles - 1, tile)
            return
        spec = sfft.rfft2(tile)
        spec *= sfft.rfft2(k[c, ::-1, ::-1], s=(Lh, Lw))
        keep(c, n_tiles - 1, sfft.irfft2(spec, s=(Lh, Lw)))

    def item(c: int, kf: Optional[np.ndarray], p: int) -> None:
        if p < n_pairs:
            assert kf is not None
            pair(c, kf, p)
        else:
            alone(c)

    for c in range(C):
        kf = sfft.fft2(k[c, ::-1, ::-1].astype(cdtype), s=(Lh, Lw)) if n_pairs else None
        _share(nt, n_pairs + n_tiles % 2, lambda p: item(c, kf, p))


_pool: Optional[Any] = None
_pool_pid = -1
_pool_lock = threading.Lock()


def _helpers(n: int) -> Any:
    """A thread pool of at least ``n`` threads, kept across calls (rebuilt in a forked
    child): a pool started per call made the first tiles of every call slow (fresh threads,
    fresh malloc arenas to fault in; 2048^2 with 31x31 on 2 threads: 20 ms against 12)."""
    global _pool, _pool_pid
    from concurrent.futures import ThreadPoolExecutor

    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < n:
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="fastconv-fft")
            _pool_pid = os.getpid()
        return _pool


def _share(nt: int, n_items: int, work: Any) -> None:
    """Run ``work(i)`` for i in range(n_items) on ``nt`` threads, the caller being one of
    them; each takes the next item when done with one (items may differ in cost)."""
    if nt <= 1:
        for i in range(n_items):
            work(i)
        return
    from concurrent.futures import wait

    items = itertools.count()  # next() on it is atomic under the GIL
    failed: list = []  # set when a thread fails

    def drain() -> None:
        for i in items:
            if i >= n_items or failed:
                return
            try:
                work(i)
            except BaseException:
                failed.append(True)  # the other threads stop at their next item
                raise

    helpers = [_helpers(nt - 1).submit(drain) for _ in range(nt - 1)]
    try:
        drain()
    finally:  # never return (or raise) while a helper may still write into the result
        wait(helpers)
    for h in helpers:
        h.result()  # raises what a helper raised


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
    out = _buffers.empty((planes.shape[0], 1, Ho, Wo), dtype)
    if planes.shape[0] == 0:
        return out.reshape(shape)
    if method == "auto":
        method = auto_method(kk, Ho * Wo)
    sep = _separable(kk) if method == "separable" else None
    if method == "fft":
        _fft(planes, kk[None], pads, code, fill, out, num_threads)
    elif sep is not None:
        col, row = sep
        mid = _buffers.empty((planes.shape[0], 1, Ho, W + pads[2] + pads[3]), dtype)
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
    out = _buffers.empty((1, ker.shape[0], kh - H + 1, kw - W + 1), dtype)
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
