"""fastconv.dask equals the in-memory functions over a grid of chunkings (smaller and larger
than the halo, uneven last chunks), kernels, strides, dilations, modes and boundaries."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

import fastconv  # noqa: E402
import fastconv.dask as fd  # noqa: E402

CHUNKS = [(1, -1, 5, 7), (2, -1, 13, 4), (3, -1, 40, 50), (3, -1, 4, 6)]  # last: smaller than the halos
MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]


@pytest.fixture(autouse=True)
def threaded():
    with dask.config.set(scheduler="threads"):
        yield


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("mode", MODES)
def test_conv2d_equals_in_memory(chunks, mode):
    r = np.random.default_rng(len(mode))
    x = r.standard_normal((3, 4, 29, 33)).astype(np.float32)
    for k, s, d, pad, g in [
        ((3, 3), (1, 1), (1, 1), 1, 1),
        ((4, 2), (2, 3), (1, 2), ((3, 0), (1, 4)), 2),
        ((5, 5), (3, 1), (2, 1), "same", 4),
        ((1, 1), (2, 2), (1, 1), 0, 1),
        ((3, 3), (1, 1), (3, 3), 9, 2),
    ]:
        w = r.standard_normal((4, 4 // g) + k).astype(np.float32)
        b = r.standard_normal(4).astype(np.float32)
        ref = fastconv.conv2d(x, w, b, s, pad, d, g, mode)
        got = fd.conv2d(da.from_array(x, chunks=chunks), w, b, s, pad, d, g, mode)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got.compute(), ref, rtol=1e-6, atol=1e-5)


def test_conv2d_unbatched_and_batch_only_chunks():
    r = np.random.default_rng(0)
    x = r.standard_normal((6, 3, 20, 20))
    w = r.standard_normal((5, 3, 3, 3))
    got = fd.conv2d(da.from_array(x, chunks=(2, 3, 20, 20)), w, padding=1)
    assert got.chunks[0] == (2, 2, 2)  # batch blocks map directly
    np.testing.assert_allclose(got.compute(), fastconv.conv2d(x, w, padding=1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        fd.conv2d(da.from_array(x[0], chunks=(3, 7, 6)), w).compute(), fastconv.conv2d(x[0], w), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("fn", ["correlate2d", "convolve2d"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_signal_equals_in_memory(fn, boundary, mode):
    r = np.random.default_rng(1)
    img = r.standard_normal((2, 3, 45, 38))
    for kshape in [(3, 3), (6, 5), (1, 7), (12, 12)]:
        k = r.standard_normal(kshape)
        ref = getattr(fastconv, fn)(img, k, mode, boundary, 0.75)
        for chunks in [(1, 2, 9, 10), (2, 3, 45, 5), (1, 1, 4, 38)]:
            got = getattr(fd, fn)(da.from_array(img, chunks=chunks), k, mode, boundary, 0.75)
            np.testing.assert_allclose(got.compute(), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("chunks", [(1, 2, 7, 9), (2, 3, 3, 4), (2, 3, 41, 37)])
@pytest.mark.parametrize(
    "k,s,p,d,ceil",
    [(2, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 3, 1, 2, True), (4, 1, 2, 1, False), (2, 3, 1, 1, True)],
)
def test_pooling_equals_in_memory_with_global_indices(chunks, k, s, p, d, ceil):
    r = np.random.default_rng(2)
    x = r.integers(-3, 4, (2, 3, 41, 37)).astype(np.float64)  # ties
    x[0, 0, 5, 5] = np.nan
    dx = da.from_array(x, chunks=chunks)
    v, i = fd.max_pool2d(dx, k, s, p, d, ceil, return_indices=True)
    V, I = fastconv.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(v.compute(), V)
    np.testing.assert_array_equal(i.compute(), I)
    if d == 1:
        for cip in (True, False):
            np.testing.assert_allclose(
                fd.avg_pool2d(dx, k, s, p, ceil, cip).compute(),
                fastconv.avg_pool2d(x, k, s, p, ceil, cip),
                rtol=1e-12,
                atol=1e-12,
            )


def test_errors_are_the_in_memory_ones():
    dx = da.zeros((1, 4, 8, 8), chunks=4)
    with pytest.raises(ValueError, match="groups=3 must divide in_channels=4"):
        fd.conv2d(dx, np.zeros((3, 1, 3, 3)), groups=3)
    with pytest.raises(ValueError, match="at most half of kernel_size"):
        fd.max_pool2d(dx, 2, padding=2)
    with pytest.raises(ValueError, match="boundary='bad'"):
        fd.correlate2d(dx, np.ones((2, 2)), boundary="bad")
    with pytest.raises(TypeError, match="must be a dask array"):
        fd.conv2d([1, 2], np.zeros((1, 1, 1, 1)))


@pytest.mark.parametrize("chunks", [(1, -1, 7), (2, -1, 3), (3, -1, 100)])  # 3: smaller than the halo
@pytest.mark.parametrize("mode", MODES)
def test_conv1d_equals_in_memory(chunks, mode):
    r = np.random.default_rng(len(mode) + 1)
    x = r.standard_normal((3, 4, 61)).astype(np.float32)
    for k, s, d, pad, g in [(3, 1, 1, 1, 1), (5, 2, 2, (4, 1), 2), (9, 1, 1, "same", 4), (4, 3, 1, "valid", 1)]:
        w = r.standard_normal((4, 4 // g, k)).astype(np.float32)
        b = r.standard_normal(4).astype(np.float32)
        ref = fastconv.conv1d(x, w, b, s, pad, d, g, mode)
        got = fd.conv1d(da.from_array(x, chunks=chunks), w, b, s, pad, d, g, mode)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got.compute(), ref, rtol=1e-6, atol=1e-5)
    unbatched = fd.conv1d(da.from_array(x[0], chunks=(4, 9)), w, b).compute()
    np.testing.assert_allclose(unbatched, fastconv.conv1d(x[0], w, b), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("chunks", [(1, -1, 3, 5, 4), (2, -1, 9, 2, 13)])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular", "symmetric"])
def test_conv3d_equals_in_memory(chunks, mode):
    """Volumes chunked along depth, height and width; halos in all three."""
    r = np.random.default_rng(len(mode) + 2)
    x = r.standard_normal((2, 3, 9, 10, 13))
    for k, s, d, pad, g in [
        ((3, 3, 3), 1, 1, 1, 1),
        ((3, 2, 3), (2, 1, 3), (1, 2, 1), ((0, 2), (1, 1), (2, 0)), 1),
        ((2, 3, 3), 1, (2, 1, 1), "same", 3),
    ]:
        w = r.standard_normal((6, 3 // g) + k)
        ref = fastconv.conv3d(x, w, None, s, pad, d, g, mode)
        got = fd.conv3d(da.from_array(x, chunks=chunks), w, None, s, pad, d, g, mode)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got.compute(), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("flip", [False, True])
def test_nd_correlate_equals_scipy(mode, flip):
    """1-D signals, (H, W, C) images filtered per channel (axes=(0, 1)) and 3-D volumes,
    chunked along every axis, against scipy.signal.correlate/convolve."""
    import scipy.signal

    r = np.random.default_rng(7)
    f, ref_f = (fd.convolve, scipy.signal.convolve) if flip else (fd.correlate, scipy.signal.correlate)
    sig, k1 = r.standard_normal(1000), r.standard_normal(31)
    np.testing.assert_allclose(f(da.from_array(sig, chunks=97), k1, mode).compute(), ref_f(sig, k1, mode), atol=1e-10)
    img, k2 = r.standard_normal((40, 50, 3)), r.standard_normal((5, 4, 1))
    got = f(da.from_array(img, chunks=(13, 17, 1)), k2, mode, axes=(0, 1)).compute()
    ref = np.stack([ref_f(img[..., c], k2[..., 0], mode) for c in range(3)], axis=-1)
    np.testing.assert_allclose(got, ref, atol=1e-10)
    vol, k3 = r.standard_normal((20, 21, 22)).astype(np.float32), r.standard_normal((3, 4, 5)).astype(np.float32)
    got = f(da.from_array(vol, chunks=(7, 8, 6)), k3, mode, method="direct").compute()
    np.testing.assert_allclose(got, ref_f(vol, k3, mode), rtol=1e-4, atol=1e-4)
    assert got.dtype == np.float32


def test_nd_errors():
    dx = da.zeros((10, 12, 3), chunks=5)
    with pytest.raises(ValueError, match="size 1 on the batch axes"):
        fd.correlate(dx, np.ones((3, 3, 3)), axes=(0, 1))
    with pytest.raises(ValueError, match="valid mode only with in2"):
        fd.correlate(dx, np.ones((11, 3, 1)), "valid")
    with pytest.raises(ValueError, match="mode='sam'"):
        fd.correlate(dx, np.ones((3, 3, 1)), "sam")
    with pytest.raises(ValueError, match="out of range"):
        fd.convolve(dx, np.ones((3, 3, 1)), axes=(0, 5))
    with pytest.raises(ValueError, match="groups=3 must divide"):
        fd.conv1d(da.zeros((1, 4, 20), chunks=5), np.zeros((3, 1, 3)), groups=3)
    with pytest.raises(ValueError, match="kernel depth"):
        fd.conv3d(da.zeros((1, 2, 2, 8, 8), chunks=4), np.zeros((1, 2, 3, 3, 3)))


@pytest.mark.parametrize("chunks", [(1, -1, 7), (2, -1, 40)])
def test_pool1d_equals_in_memory(chunks):
    r = np.random.default_rng(9)
    x = r.standard_normal((2, 3, 61)).astype(np.float32)
    dx = da.from_array(x, chunks=chunks)
    for k, s, p, d, ceil in [(3, 2, 1, 1, False), (4, None, 2, 1, True), (3, 1, 1, 2, False)]:
        v, i = fd.max_pool1d(dx, k, s, p, d, ceil, True)
        V, I = fastconv.max_pool1d(x, k, s, p, d, ceil, True)
        np.testing.assert_array_equal(v.compute(), V)
        np.testing.assert_array_equal(i.compute(), I)
        if d == 1:
            for cip in (True, False):
                got = fd.avg_pool1d(dx, k, s, p, ceil, cip).compute()
                np.testing.assert_allclose(got, fastconv.avg_pool1d(x, k, s, p, ceil, cip), rtol=1e-6)
    np.testing.assert_array_equal(fd.max_pool1d(dx[0], 3).compute(), fastconv.max_pool1d(x[0], 3))


def test_local_cluster_processes():
    distributed = pytest.importorskip("distributed")
    r = np.random.default_rng(3)
    img = r.standard_normal((256, 300)).astype(np.float32)
    k = r.standard_normal((7, 7)).astype(np.float32)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as cluster,
        distributed.Client(cluster),
    ):
        got = fd.correlate2d(da.from_array(img, chunks=(100, 120)), k, "same", "symm").compute()
        v, i = fd.max_pool2d(da.from_array(img[None, None], chunks=(1, 1, 90, 70)), 3, 2, 1, return_indices=True)
        v, i = v.compute(), i.compute()
    np.testing.assert_allclose(got, fastconv.correlate2d(img, k, "same", "symm"), rtol=1e-5, atol=1e-5)
    V, I = fastconv.max_pool2d(img[None, None], 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(v, V)
    np.testing.assert_array_equal(i, I)
