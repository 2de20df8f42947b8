"""The public API on CuPy arrays against the CPU path (runs where CuPy sees a GPU)."""

import numpy as np
import pytest

import fastconv
import fastconv.cuda

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not fastconv.cuda.is_available(), reason="CuPy with a CUDA device is not available"),
]


@pytest.fixture
def cp():
    import cupy

    return cupy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular", "symmetric"])
@pytest.mark.parametrize(
    "s,d,g,pad", [(1, 1, 1, 1), (2, 1, 2, "same"), ((1, 3), (2, 1), 1, ((2, 0), (1, 3))), (1, 1, 4, 1), (4, 9, 1, 9)]
)
def test_conv2d(cp, dtype, mode, s, d, g, pad):
    r = np.random.default_rng(0)
    x = r.standard_normal((2, 4, 37, 29)).astype(dtype)
    w = r.standard_normal((8, 4 // g, 3, 4)).astype(dtype)
    b = r.standard_normal(8).astype(dtype)
    ref = fastconv.conv2d(x, w, b, s, pad, d, g, mode)
    got = fastconv.conv2d(cp.asarray(x)[:, :, ::1], cp.asarray(w), cp.asarray(b), s, pad, d, g, mode)
    assert isinstance(got, cp.ndarray)
    np.testing.assert_allclose(got.get(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel", ["fc_conv2d", "fc_conv2d_igemm"])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
@pytest.mark.parametrize("s,d,g", [(1, 1, 1), (2, 1, 2), ((1, 2), (2, 1), 1), (1, 1, 4)])
def test_conv2d_both_kernels(cp, kernel, mode, s, d, g):
    from fastconv import _args
    from fastconv import cuda as fcuda

    r = np.random.default_rng(1)
    x = r.standard_normal((3, 32, 23, 41)).astype(np.float32)
    w = r.standard_normal((72, 32 // g, 3, 3)).astype(np.float32)
    b = r.standard_normal(72).astype(np.float32)
    ref = fastconv.conv2d(x, w, b, s, 1, d, g, mode)
    a = _args.conv2d_args(cp.asarray(x), cp.asarray(w), cp.asarray(b), s, 1, d, g, mode)
    got = fcuda.conv2d(a, kernel=kernel)
    np.testing.assert_allclose(got.get(), ref, rtol=2e-4, atol=2e-4)


def test_pooling_and_unpool(cp):
    x = np.random.default_rng(1).integers(-3, 4, (2, 3, 33, 31)).astype(np.float32)
    x[0, 0, 3, 3] = np.nan
    for k, s, p, dil, ceil in [(2, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False)]:
        V, I = fastconv.max_pool2d(x, k, s, p, dil, ceil, return_indices=True)
        v, i = fastconv.max_pool2d(cp.asarray(x), k, s, p, dil, ceil, return_indices=True)
        np.testing.assert_array_equal(v.get(), V)
        np.testing.assert_array_equal(i.get(), I)
        if dil == 1:
            np.testing.assert_allclose(
                fastconv.avg_pool2d(cp.asarray(x), k, s, p, ceil, False).get(),
                fastconv.avg_pool2d(x, k, s, p, ceil, False),
                rtol=1e-6,
            )
    V, I = fastconv.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(
        fastconv.max_unpool2d(cp.asarray(V), cp.asarray(I), 2).get(), fastconv.max_unpool2d(V, I, 2)
    )


@pytest.mark.parametrize("fn", ["correlate2d", "convolve2d"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_signal(cp, fn, mode, boundary):
    r = np.random.default_rng(2)
    img = r.standard_normal((3, 64, 50))
    k = r.standard_normal((5, 6))
    ref = getattr(fastconv, fn)(img, k, mode, boundary, 0.25)
    got = getattr(fastconv, fn)(cp.asarray(img), cp.asarray(k), mode, boundary, 0.25)
    np.testing.assert_allclose(got.get(), ref, rtol=1e-10, atol=1e-10)


def test_mixing_numpy_and_cupy_is_a_type_error(cp):
    with pytest.raises(TypeError, match="input is a CuPy array, weight is a NumPy array"):
        fastconv.conv2d(cp.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)))
