"""The overlap-save FFT engine (Plan kind FFT), used by :func:`fastconv.correlate2d` and
:func:`fastconv.conv2d`: tiles of the padded planes transformed with ``scipy.fft``, two at a
time in one complex transform, shared out over the threads.  Tiles or kernels holding NaN or
+-inf are computed with the direct kernels (:mod:`fastconv._engine`), so every method keeps
their pattern of non-finite values.  The tile sizes follow :mod:`fastconv._tuning`'s
FFT_TILE, FFT_TILE_OVERHEAD and FFT_THREADS_COST, read at each call."""

from __future__ import annotations

import itertools
import math
import os
import threading
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from fastconv import _engine, _pack, _tuning
from fastconv._omp import resolve_threads


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
    found = [
        (-(-n_out // (L - k + 1)), L)
        for L in _smooth_lengths(k, min(whole, max(longest, 2 * k)))
        if L < 512 or L & (L - 1) or L == whole
    ]
    # the few with the least work along this axis, a tile's fixed cost counted in
    found.sort(key=lambda tl: tl[0] * (tl[1] + _tuning.FFT_TILE_OVERHEAD))
    return found[:6]


_tile_shapes: Dict[Tuple[int, ...], Tuple[int, int, int]] = {}


def tile_shape(
    Ho: int, kh: int, Wo: int, kw: int, n_planes: int, nt: int, longest: int, threads_cost: int
) -> Tuple[int, int, int]:
    """(Lh, Lw, threads) for the overlap-save tiles, at most ``longest`` (FFT_TILE) per
    axis unless the kernel needs more, with the least estimated time, in points: the pairs
    of tiles over all planes (one complex transform each, see _fft) shared out over 1 or
    ``nt`` threads, ``ceil(pairs / threads) * (2 Lh Lw + _tuning.FFT_TILE_OVERHEAD ** 2)``, plus
    ``threads_cost`` (``FFT_THREADS_COST``) for using more than one thread.  Remembered per
    shape (the search takes about 0.1 ms)."""
    key = (Ho, kh, Wo, kw, n_planes, nt, longest, threads_cost, _tuning.FFT_TILE_OVERHEAD)
    if key in _tile_shapes:
        return _tile_shapes[key]
    best, best_cost = (0, 0, 1), math.inf
    for th, Lh in _axis_lengths(Ho, kh, longest):
        for tw, Lw in _axis_lengths(Wo, kw, longest):
            pairs = -(-n_planes * th * tw // 2)
            for t in sorted({1, min(nt, pairs)}):
                cost = -(-pairs // t) * (2 * Lh * Lw + _tuning.FFT_TILE_OVERHEAD**2) + (t > 1) * threads_cost
                if cost < best_cost:
                    best, best_cost = (Lh, Lw, t), cost
    if len(_tile_shapes) >= 1024:
        _tile_shapes.clear()
    _tile_shapes[key] = best
    return best


def overlap_save(
    planes: np.ndarray,
    k: np.ndarray,
    pads: Tuple[int, int, int, int],
    mode: int,
    fill: float,
    out: np.ndarray,
    num_threads: Optional[int],
) -> None:
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
    if not _pack.all_finite(k[None]):  # a NaN/inf tap reaches every output: the direct kernels
        _engine.correlate(planes, k[:, None], pads, mode, fill, out, num_threads, groups=C)
        return
    Lh, Lw, nt = tile_shape(Ho, kh, Wo, kw, B, resolve_threads(num_threads), _tuning.FFT_TILE, _tuning.FFT_THREADS_COST)
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
        return _pack.pad_window(planes[b, c], dst, h0 - pads[0], w0 - pads[2], mode, fill)

    def keep(c: int, i: int, res: np.ndarray) -> None:
        b, h0, w0 = place(i)
        nh, nw = min(Sh, Ho - h0), min(Sw, Wo - w0)
        out[b, c, h0 : h0 + nh, w0 : w0 + nw] = res[kh - 1 : kh - 1 + nh, kw - 1 : kw - 1 + nw]

    def exact(c: int, i: int, tile: np.ndarray) -> None:
        # a tile holding NaN or +-inf: its outputs from the direct kernels (the transform would
        # spread the value over the whole tile); ``tile`` is its padded window, so a valid
        # correlation of it gives exactly the tile's outputs
        b, h0, w0 = place(i)
        nh, nw = min(Sh, Ho - h0), min(Sw, Wo - w0)
        res = np.empty((1, 1, Sh, Sw), planes.dtype)
        _engine.correlate(tile[None, None], k[c][None, None], (0, 0, 0, 0), 0, 0.0, res, 1)
        out[b, c, h0 : h0 + nh, w0 : w0 + nw] = res[0, 0, :nh, :nw]

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
        _share(nt, n_pairs + n_tiles % 2, lambda p, c=c, kf=kf: item(c, kf, p))


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
