"""The block cache of big results and temporaries (fastconv.set_buffer_cache).

Results cut from cached blocks must be correct (against the float64 references), never share
memory with an array still alive, and the cache must stay within its limit.  The smallest
array served from blocks is lowered for most tests so that small shapes exercise it.
"""

import gc
import pickle
import threading
import tracemalloc

import numpy as np
import pytest
from scipy import ndimage

import fastconv
from fastconv import _buffers

from reference import avg_pool_ref, conv2d_ref, max_pool_ref, tol


@pytest.fixture
def small_blocks():
    """Serve arrays from 4 KiB on from blocks, with a clean cache of the default limit."""
    old_min = _buffers._set_min_bytes(4096)
    old_limit = fastconv.set_buffer_cache(0)
    fastconv.set_buffer_cache(256 << 20)
    try:
        yield
    finally:
        gc.collect()
        _buffers._set_min_bytes(old_min)
        fastconv.set_buffer_cache(0)
        fastconv.set_buffer_cache(old_limit)


def _calls(rng):
    """(name, call(x), float64 reference(x), input shape): every front that takes blocks."""
    w = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    k5 = rng.standard_normal((5, 5))
    g = np.outer([1.0, 4.0, 6.0, 4.0, 1.0], [1.0, 2.0, 1.0]) / 64.0  # separable

    def corr_ref(x, k, mode):
        return ndimage.correlate(np.asarray(x, np.float64), k, mode=mode, cval=0.0, axes=(-2, -1))

    return [
        (
            "conv2d",
            lambda x: fastconv.conv2d(x, w, b, padding=1),
            lambda x: conv2d_ref(x, w, b, pads=(1, 1, 1, 1)),
            (2, 3, 40, 50),
        ),
        (
            "conv2d strided",
            lambda x: fastconv.conv2d(x, w, None, stride=2, padding=(1, 2)),
            lambda x: conv2d_ref(x, w, None, stride=(2, 2), pads=(1, 1, 2, 2)),
            (2, 3, 63, 70),
        ),
        (
            "correlate2d direct",
            lambda x: fastconv.correlate2d(x, k5, mode="same"),
            lambda x: corr_ref(x, k5, "constant"),
            (96, 80),
        ),
        (
            "correlate2d separable",
            lambda x: fastconv.correlate2d(x, g, mode="same", boundary="wrap"),
            lambda x: corr_ref(x, g, "wrap"),
            (3, 70, 90),
        ),
        (
            "correlate2d fft",
            lambda x: fastconv.correlate2d(x, k5, mode="same", boundary="symm", method="fft"),
            lambda x: corr_ref(x, k5, "reflect"),
            (90, 100),
        ),
        (
            "max_pool2d",
            lambda x: fastconv.max_pool2d(x, 3, 2, 1),
            lambda x: max_pool_ref(np.asarray(x, np.float64), (3, 3), (2, 2), (1, 1), (1, 1), False)[0],
            (2, 4, 50, 60),
        ),
        (
            "avg_pool2d",
            lambda x: fastconv.avg_pool2d(x, 3, 1, 1),
            lambda x: avg_pool_ref(np.asarray(x, np.float64), (3, 3), (1, 1), (1, 1), False, True, None),
            (2, 4, 30, 40),
        ),
    ]


def _check(res, ref):
    rtol, atol = tol(np.float32, 1.0, 75)
    np.testing.assert_allclose(res, ref, rtol=rtol, atol=atol)


@pytest.mark.usefixtures("small_blocks")
def test_results_from_blocks_are_correct_and_independent(rng):
    for name, call, ref, shape in _calls(rng):
        x1 = rng.standard_normal(shape).astype(np.float32)
        x2 = rng.standard_normal(shape).astype(np.float32)
        r1 = call(x1)
        keep = r1.copy()
        r2 = call(x2)  # r1 is alive: a new block
        assert not np.shares_memory(r1, r2), name
        np.testing.assert_array_equal(r1, keep, err_msg=name)
        _check(r1, ref(x1))
        _check(r2, ref(x2))
        assert r2.flags.c_contiguous and r2.flags.writeable and r2.flags.aligned, name
        before = fastconv.buffer_cache_info()["hits"]
        del r1
        r3 = call(x1)  # r1's block is free again
        assert fastconv.buffer_cache_info()["hits"] > before, name
        assert not np.shares_memory(r2, r3), name
        _check(r3, ref(x1))
        _check(r2, ref(x2))
        r3[...] = 0  # results are the caller's: writable, and pickled by value
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(r2)), r2)


@pytest.mark.usefixtures("small_blocks")
def test_pooling_indices_from_blocks(rng):
    x = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
    vals, idx = fastconv.max_pool2d(x, 2, return_indices=True)
    ref_vals, ref_idx = max_pool_ref(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    vals2, idx2 = fastconv.max_pool2d(-x, 2, return_indices=True)
    assert not np.shares_memory(idx, idx2) and not np.shares_memory(vals, idx2)
    np.testing.assert_array_equal(vals, ref_vals)
    np.testing.assert_array_equal(idx, ref_idx)
    assert idx.dtype == np.int64


@pytest.mark.usefixtures("small_blocks")
def test_views_keep_their_block(rng):
    """A view outliving its result keeps the block: later results never write into it."""
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    x = rng.standard_normal((1, 2, 64, 64)).astype(np.float32)
    r = fastconv.conv2d(x, w)
    views = [r[0, 1], r[:, ::2], r.reshape(-1), memoryview(r)]
    keep = r.copy()
    del r
    gc.collect()
    for _ in range(5):
        s = fastconv.conv2d(-x, w)
        for v in views[:3]:
            assert not np.shares_memory(v, s)
    np.testing.assert_array_equal(np.asarray(views[3]), keep)
    np.testing.assert_array_equal(views[0], keep[0, 1])
    np.testing.assert_array_equal(views[2], keep.reshape(-1))


@pytest.mark.usefixtures("small_blocks")
def test_out_into_a_view_goes_through_a_block(rng):
    """out= that the kernel cannot write directly: a temporary block, copied into it."""
    w = rng.standard_normal((3, 3, 3, 3)).astype(np.float32)
    x = rng.standard_normal((2, 3, 40, 40)).astype(np.float32)
    big = np.full((2, 3, 38, 76), np.nan, np.float32)
    out = big[..., ::2]
    res = fastconv.conv2d(x, w, out=out)
    assert res is out
    _check(out, conv2d_ref(x, w))
    assert np.isnan(big[..., 1::2]).all()


def test_limit_and_info():
    old_min = _buffers._set_min_bytes(4096)
    old = fastconv.set_buffer_cache(1 << 20)
    try:
        info = fastconv.buffer_cache_info()
        assert info["limit"] == 1 << 20 and info["min_bytes"] == 4096
        arrays = [_buffers.empty((64, 1024), np.float32) for _ in range(6)]  # 256 KiB each
        del arrays
        info = fastconv.buffer_cache_info()
        assert info["held"] <= 1 << 20 and info["blocks"] == 4
        a = _buffers.empty((64, 1024), np.float32)
        assert fastconv.buffer_cache_info()["blocks"] == 3
        big = _buffers.empty((1024, 1024), np.float32)  # 4 MiB: freed on release, not kept
        del big
        assert fastconv.buffer_cache_info()["held"] <= 1 << 20
        assert fastconv.set_buffer_cache(0) == 1 << 20
        info = fastconv.buffer_cache_info()
        assert info["held"] == 0 and info["blocks"] == 0
        misses = info["misses"]
        del a
        assert fastconv.buffer_cache_info()["held"] == 0
        b = _buffers.empty((64, 1024), np.float32)  # the cache is off: NumPy's memory
        assert isinstance(_owner(b), np.ndarray) and fastconv.buffer_cache_info()["misses"] == misses
    finally:
        _buffers._set_min_bytes(old_min)
        fastconv.set_buffer_cache(old)


def _owner(a):
    """The object at the end of a's base chain: the array or block that holds its memory."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


@pytest.mark.parametrize("shape", [(7,), (3, 5, 7), (64, 1024), (1 << 22,), (4, 56, 56, 3), (4, 6, 14, 14)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_empty_is_aligned_for_vectors(shape, dtype):
    """Results and scratch arrays of 16 KiB or more start on a 64-byte boundary (NumPy's own
    arrays only on 16), from NumPy's memory below the block threshold and from blocks above
    it, C-contiguous, writeable, of the asked shape and dtype; smaller ones are NumPy's."""
    for _ in range(64):  # NumPy's allocations land at several offsets from 64 bytes
        a = _buffers.empty(shape, dtype)
        assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
        if a.nbytes >= 16384:
            assert a.ctypes.data % 64 == 0
        owner = _owner(a)
        if isinstance(owner, np.ndarray):  # the view lies inside the memory that holds it
            start = owner.__array_interface__["data"][0]
            assert start <= a.ctypes.data and a.ctypes.data + a.nbytes <= start + owner.nbytes
        a[...] = 1  # the whole of it is ours to write
        assert a.sum() == a.size


def test_default_threshold_serves_big_results(rng):
    """A 16 MiB result comes from a block at the default settings, and is right."""
    x = rng.standard_normal((2048, 2048)).astype(np.float32)
    k = rng.standard_normal((3, 3))
    info = fastconv.buffer_cache_info()
    r = fastconv.correlate2d(x, k, mode="same")
    assert not r.flags.owndata and r.nbytes >= info["min_bytes"]
    after = fastconv.buffer_cache_info()
    assert after["hits"] + after["misses"] == info["hits"] + info["misses"] + 1
    np.testing.assert_allclose(r, ndimage.correlate(x.astype(np.float64), k, mode="constant"), rtol=1e-5, atol=1e-4)


@pytest.mark.usefixtures("small_blocks")
def test_blocks_are_traced_by_tracemalloc():
    tracemalloc.start()
    try:
        a = _buffers.empty((512, 1024), np.float32)
        assert tracemalloc.get_traced_memory()[0] >= a.nbytes
    finally:
        tracemalloc.stop()


@pytest.mark.usefixtures("small_blocks")
def test_python_threads_share_the_cache(rng):
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    xs = [rng.standard_normal((1, 3, 48, 48)).astype(np.float32) for _ in range(4)]
    refs = [conv2d_ref(x, w, pads=(1, 1, 1, 1)) for x in xs]
    errors = []

    def work(i):
        try:
            for _ in range(30):
                r = fastconv.conv2d(xs[i], w, padding=1, num_threads=1)
                _check(r, refs[i])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.parametrize(
    "bad, exc", [(-1, ValueError), (1.5, TypeError), ("1", TypeError), (True, TypeError), (None, TypeError)]
)
def test_set_buffer_cache_rejects(bad, exc):
    with pytest.raises(exc, match="max_bytes"):
        fastconv.set_buffer_cache(bad)
