"""Pooling against explicit-loop references (and PyTorch when installed)."""

import numpy as np
import pytest

from fastconv import avg_pool2d, max_pool2d, max_unpool2d

from conftest import requires_torch
from helpers import random_pool_config
from reference import avg_pool_ref, max_pool_ref

DTYPES = [np.float32, np.float64]


def _data(shape, seed, dtype, kind):
    r = np.random.default_rng(seed)
    if kind == "ties":
        return r.integers(-2, 3, size=shape).astype(dtype)
    x = r.standard_normal(shape).astype(dtype)
    if kind == "special":
        m = r.random(shape)
        x[m < 0.08] = np.nan
        x[(m >= 0.08) & (m < 0.2)] = -np.inf
        x[(m >= 0.2) & (m < 0.25)] = np.inf
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "special"])
@pytest.mark.parametrize("seed", range(30))
def test_max_pool_grid(seed, kind, dtype):
    cfg = random_pool_config(seed)
    x = _data(cfg["shape"], seed, dtype, kind)
    try:
        ref_v, ref_i = max_pool_ref(x, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"])
    except TypeError:  # a window without any real element: must be refused
        with pytest.raises(ValueError, match="holds no input element"):
            max_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"])
        return
    v, i = max_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"], return_indices=True)
    assert v.dtype == dtype and i.dtype == np.int64
    np.testing.assert_array_equal(v, ref_v.astype(dtype))
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_array_equal(max_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"]), v)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(30))
def test_avg_pool_grid(seed, dtype):
    cfg = random_pool_config(seed)
    x = _data(cfg["shape"], seed, dtype, "normal")
    for cip in (True, False):
        for div in (None, 3):
            got = avg_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["ceil"], cip, div)
            ref = avg_pool_ref(x, cfg["k"], cfg["s"], cfg["p"], cfg["ceil"], cip, div)
            np.testing.assert_allclose(got, ref, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "special"])
@pytest.mark.parametrize("k, s, p, d", [(3, 2, 1, 1), (2, 3, 0, 1), (5, 2, 2, 2), (3, 4, 1, 1), (4, 3, 2, 2)])
def test_max_pool_strided_wide_rows(k, s, p, d, kind, dtype):
    # rows wide enough for several vector blocks of the strided (phase-split) interior,
    # also from a view with a column stride
    base = _data((2, 2, 23, 2 * 75 + 1), 7 * k + s, dtype, kind)
    for x in (base[..., :75], base[..., ::2]):
        ref_v, ref_i = max_pool_ref(x, (k, k), (s, s), (p, p), (d, d), False)
        v, i = max_pool2d(x, k, s, p, d, return_indices=True)
        np.testing.assert_array_equal(v, ref_v.astype(dtype))
        np.testing.assert_array_equal(i, ref_i)
        np.testing.assert_array_equal(max_pool2d(x, k, s, p, d), v)


@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (1, 1, 257, 129), (3, 16, 16)])
def test_max_pool_2x2_fast_path_and_layouts(shape):
    r = np.random.default_rng(3)
    x = r.standard_normal(shape).astype(np.float32)
    x[..., 5, 7] = np.nan
    xb = x if x.ndim == 4 else x[None]
    ref_v, _ = max_pool_ref(xb, (2, 2), (2, 2), (0, 0), (1, 1), False)
    ref_v = ref_v if x.ndim == 4 else ref_v[0]
    np.testing.assert_array_equal(max_pool2d(x, 2), ref_v.astype(np.float32))
    # non-contiguous and negative strides take the general kernel
    np.testing.assert_array_equal(max_pool2d(np.asfortranarray(x), 2), ref_v.astype(np.float32))
    flipped = x[..., ::-1, ::-1]
    ref_f, _ = max_pool_ref(flipped if x.ndim == 4 else flipped[None], (2, 2), (2, 2), (0, 0), (1, 1), False)
    np.testing.assert_array_equal(max_pool2d(flipped, 2), (ref_f if x.ndim == 4 else ref_f[0]).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("W", [2, 3, 9, 20, 31, 33])
def test_max_pool_2x2_short_rows_with_indices(W, dtype):
    """Rows of fewer than 16 outputs (LeNet's planes) go one padded block at a time: values
    and indices as the reference, with ties, NaN, -inf and an odd last column."""
    r = np.random.default_rng(W)
    x = r.integers(-3, 3, (3, 5, 7, W)).astype(dtype)  # many ties
    x[0, 0, 1, 0] = np.nan
    x[1, 2, :2, :2] = -np.inf
    x[2, 4, 0, W - 1] = np.nan
    ref_v, ref_i = max_pool_ref(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    v, i = max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(v, ref_v.astype(dtype))
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_array_equal(max_pool2d(x, 2), v)
    # the rows read in place and those read through a copy near the plane's end, and
    # planes whose rows lie further apart (a column crop of a wider array)
    for H in (2, 3, 10, 20):
        xs = r.integers(-3, 3, (2, 3, H, W + 5)).astype(dtype)
        xs[1, 1, H - 1, W - 1] = np.nan
        xs[0, 2, H // 2, 0] = np.inf
        for view in (xs[..., :W], np.ascontiguousarray(xs[..., :W])):
            ref_v, ref_i = max_pool_ref(view, (2, 2), (2, 2), (0, 0), (1, 1), False)
            v, i = max_pool2d(view, 2, return_indices=True)
            np.testing.assert_array_equal(v, ref_v.astype(dtype))
            np.testing.assert_array_equal(i, ref_i)


def test_textbook_examples():
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(max_pool2d(x, 2, 2)[0, 0], [[6, 8], [14, 16]])
    assert max_pool2d(np.zeros((3, 32, 32)), 2).shape == (3, 16, 16)
    assert max_pool2d(np.zeros((3, 32, 32)), 3).shape == (3, 10, 10)
    got = avg_pool2d(np.arange(49.0).reshape(1, 1, 7, 7), 2, stride=3, ceil_mode=True)
    np.testing.assert_array_equal(got[0, 0], [[4, 7, 9.5], [25, 28, 30.5], [42.5, 45.5, 48]])


def test_single_plane_split_over_threads_identical():
    x = np.random.default_rng(0).standard_normal((1, 1, 301, 203))
    for args in [(3, 2, 1), (2, 2, 0), (4, 3, 2)]:
        a1 = max_pool2d(x, *args, return_indices=True, num_threads=1)
        a2 = max_pool2d(x, *args, return_indices=True, num_threads=2)
        a5 = max_pool2d(x, *args, return_indices=True, num_threads=5)
        for a, b in ((a1, a2), (a1, a5)):
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(avg_pool2d(x, *args, num_threads=1), avg_pool2d(x, *args, num_threads=2))


@pytest.mark.parametrize("dt,expect", [(np.uint8, np.float32), (np.int64, np.float64), (np.float16, np.float32)])
def test_dtype_promotion(dt, expect):
    x = np.arange(36).reshape(1, 6, 6).astype(dt)
    v, i = max_pool2d(x, 2, return_indices=True)
    assert v.dtype == expect
    np.testing.assert_array_equal(v[0], x[0].reshape(3, 2, 3, 2).max(axis=(1, 3)))
    assert avg_pool2d(x, 2).dtype == expect


def test_input_never_modified_and_empty_batch():
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    x.flags.writeable = False
    before = x.copy()
    max_pool2d(x, 3, 1, 1, return_indices=True)
    avg_pool2d(x, 3, 1, 1)
    np.testing.assert_array_equal(x, before)
    v, i = max_pool2d(np.zeros((0, 2, 6, 6)), 2, return_indices=True)
    assert v.shape == (0, 2, 3, 3) and i.shape == (0, 2, 3, 3)
    assert avg_pool2d(np.zeros((0, 2, 6, 6)), 2).shape == (0, 2, 3, 3)


# ------------------------------------------------------------------ max_unpool2d


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (2, 1, 0), (3, 3, 1)])
def test_unpool_round_trip(k, s, p):
    r = np.random.default_rng(k * 10 + s)
    x = r.permutation(2 * 3 * 9 * 11).reshape(2, 3, 9, 11).astype(np.float64)  # distinct values
    v, i = max_pool2d(x, k, s, p, return_indices=True)
    size = x.shape[2:]
    un = max_unpool2d(v, i, k, s, p, output_size=size)
    assert un.shape == x.shape
    # every maximum is back at its index, everything else is zero
    flat = un.reshape(2, 3, -1)
    for n in range(2):
        for c in range(3):
            idx = i[n, c].ravel()
            np.testing.assert_array_equal(flat[n, c, idx], v[n, c].ravel())
            mask = np.ones(flat.shape[2], bool)
            mask[idx] = False
            assert np.all(flat[n, c, mask] == 0)
            np.testing.assert_array_equal(flat[n, c, idx], x[n, c].ravel()[idx])


def test_unpool_default_size_and_unbatched():
    v, i = max_pool2d(np.random.default_rng(0).standard_normal((3, 8, 8)), 2, return_indices=True)
    un = max_unpool2d(v, i, 2)
    assert un.shape == (3, 8, 8)


UNPOOL_BAD = [
    (
        dict(indices=np.zeros((1, 1, 2, 3), np.int64)),
        ValueError,
        r"indices shape \(1, 1, 2, 3\) must equal input shape",
    ),
    (
        dict(indices=np.full((1, 1, 2, 2), 99, np.int64)),
        ValueError,
        r"indices\(0, 0, 0, 0\)=99 is outside the output plane of 4 x 4",
    ),
    (dict(indices=np.full((1, 1, 2, 2), -1, np.int64)), ValueError, r"is outside the output plane"),
    (dict(indices=np.zeros((1, 1, 2, 2))), TypeError, r"indices must be an integer array"),
    (dict(output_size=(9, 4)), ValueError, r"output_size H=9 must be between 2 and 6"),
    (dict(output_size=(4,)), ValueError, r"must be \(H, W\) or the full output shape"),
    (dict(input=np.zeros((2, 2))), ValueError, r"input must be 3-D"),
]


@pytest.mark.parametrize("kwargs,exc,match", UNPOOL_BAD, ids=[m for _, _, m in UNPOOL_BAD])
def test_unpool_bad_inputs(kwargs, exc, match):
    kw = dict(input=np.ones((1, 1, 2, 2)), indices=np.zeros((1, 1, 2, 2), np.int64), kernel_size=2)
    kw.update(kwargs)
    if "input" in kwargs and "indices" not in kwargs:
        kw["indices"] = np.zeros(kw["input"].shape, np.int64)
    with pytest.raises(exc, match=match):
        max_unpool2d(**kw)


POOL_BAD = [
    (dict(kernel_size=0), ValueError, r"kernel_size=0 must be >= 1"),
    (dict(kernel_size=2, stride=0), ValueError, r"stride=0 must be >= 1"),
    (dict(kernel_size=2, padding=2), ValueError, r"padding=\(2, 2\) must be at most half of kernel_size"),
    (dict(kernel_size=2, padding=-1), ValueError, r"padding=-1 must be >= 0"),
    (dict(kernel_size=9), ValueError, r"does not fit the input plane"),
    (dict(kernel_size=2, dilation=0), ValueError, r"dilation=0 must be >= 1"),
    (dict(kernel_size=2, ceil_mode="yes"), TypeError, r"ceil_mode must be a bool"),
    (dict(kernel_size=2.0), TypeError, r"kernel_size must be an int"),
    (dict(kernel_size=2, num_threads=0), ValueError, r"num_threads=0 must be >= 1"),
    (dict(input=np.zeros((4, 4)), kernel_size=2), ValueError, r"input must be 3-D \(C, H, W\) or 4-D"),
    (dict(input=np.zeros((1, 4, 4), complex), kernel_size=2), TypeError, r"complex input"),
    (
        dict(input=np.zeros((1, 1, 3)), kernel_size=(1, 2), dilation=(1, 4), padding=(0, 1)),
        ValueError,
        r"holds no input element",
    ),
]


POOL_CASES = [(max_pool2d, *case) for case in POOL_BAD] + [
    (avg_pool2d, *case) for case in POOL_BAD if "dilation" not in case[0]
]  # avg has no dilation


@pytest.mark.parametrize("fn,kwargs,exc,match", POOL_CASES, ids=[f"{c[0].__name__}: {c[3]}" for c in POOL_CASES])
def test_pool_bad_inputs(fn, kwargs, exc, match):
    kw = dict(input=np.zeros((1, 6, 6)))
    kw.update(kwargs)
    with pytest.raises(exc, match=match):
        fn(**kw)


def test_divisor_override_validated():
    with pytest.raises(ValueError, match="divisor_override=0 must not be zero"):
        avg_pool2d(np.zeros((1, 4, 4)), 2, divisor_override=0)


# ------------------------------------------------------------------ PyTorch


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "special"])
@pytest.mark.parametrize("seed", range(25))
def test_vs_torch(seed, kind, dtype):
    import torch
    import torch.nn.functional as F

    cfg = random_pool_config(seed)
    x = _data(cfg["shape"], 500 + seed, dtype, kind)
    tx = torch.from_numpy(x)
    try:
        tv, ti = F.max_pool2d(tx, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"], return_indices=True)
    except RuntimeError:
        with pytest.raises(ValueError):
            max_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"])
        return
    try:
        v, i = max_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"], return_indices=True)
    except ValueError as e:  # we refuse windows with no input element; torch yields -inf there
        assert "holds no input element" in str(e)
        assert np.isneginf(tv.numpy()).any()
        return
    np.testing.assert_array_equal(v, tv.numpy())
    np.testing.assert_array_equal(i, ti.numpy())
    if kind == "normal":
        for cip in (True, False):
            for div in (None, 2):
                ta = F.avg_pool2d(tx, cfg["k"], cfg["s"], cfg["p"], cfg["ceil"], cip, div).numpy()
                np.testing.assert_allclose(
                    avg_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["ceil"], cip, div), ta, rtol=1e-6, atol=1e-6
                )
        try:
            tun = F.max_unpool2d(tv, ti, cfg["k"], cfg["s"], cfg["p"], output_size=x.shape[2:]).numpy()
        except (ValueError, RuntimeError):  # torch refuses this output_size: so must we
            with pytest.raises(ValueError, match="output_size"):
                max_unpool2d(v, i, cfg["k"], cfg["s"], cfg["p"], output_size=x.shape[2:])
            return
        un = max_unpool2d(v, i, cfg["k"], cfg["s"], cfg["p"], output_size=x.shape[2:])
        np.testing.assert_array_equal(un, tun)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "special"])
@pytest.mark.parametrize("H, W", [(1, 1), (7, 7), (3, 17), (16, 33), (67, 70)])
def test_global_pooling(H, W, kind, dtype):
    """Kernel = plane (the global-pooling kernels): values and indices as the references, for
    contiguous, row-strided and column-strided planes, with NaN, +-inf and ties."""
    seed = H * 100 + W
    base = _data((2, 3, H, 2 * W), seed, dtype, kind)
    for x in (np.ascontiguousarray(base[..., :W]), base[..., :W], base[..., ::2]):
        ref_v, ref_i = max_pool_ref(x, (H, W), (H, W), (0, 0), (1, 1), False)
        v, i = max_pool2d(x, (H, W), return_indices=True)
        np.testing.assert_array_equal(v, ref_v.astype(dtype))
        np.testing.assert_array_equal(i, ref_i)
        np.testing.assert_array_equal(max_pool2d(x, (H, W)), v)
        for div in (None, 5):
            got = avg_pool2d(x, (H, W), divisor_override=div)
            ref = avg_pool_ref(x, (H, W), (H, W), (0, 0), False, True, div)
            eps = np.finfo(dtype).eps
            # the sum's error is relative to the sum of |x| (over the divisor)
            atol = 8 * eps * np.abs(np.where(np.isfinite(x), x, 0)).sum(axis=(2, 3)).max() / (div or H * W)
            with np.errstate(invalid="ignore"):
                np.testing.assert_allclose(got, ref, rtol=4 * eps, atol=atol, equal_nan=True)


def test_global_max_pool_zero_sign_and_minus_inf():
    for row, sign in (([-0.0, 0.0], True), ([0.0, -0.0], False)):
        x = np.array(row * 20, np.float32).reshape(1, 1, 5, 8)
        v, i = max_pool2d(x, (5, 8), return_indices=True)
        assert v[0, 0, 0, 0] == 0 and np.signbit(v[0, 0, 0, 0]) == sign and i[0, 0, 0, 0] == 0
    x = np.full((1, 2, 9, 9), -np.inf)
    x[0, 1, 4, 4] = np.nan
    x[0, 1, 8, 1] = np.nan
    v, i = max_pool2d(x, 9, return_indices=True)
    assert v[0, 0, 0, 0] == -np.inf and i[0, 0, 0, 0] == 0
    assert np.isnan(v[0, 1, 0, 0]) and i[0, 1, 0, 0] == 8 * 9 + 1


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_global_pooling_against_torch(dtype):
    import torch

    x = _data((4, 64, 7, 7), 3, dtype, "special")
    v, i = max_pool2d(x, 7, return_indices=True)
    tv, ti = torch.nn.functional.max_pool2d(torch.from_numpy(x), 7, return_indices=True)
    np.testing.assert_array_equal(v, tv.numpy())
    np.testing.assert_array_equal(i, ti.numpy())
    y = _data((4, 64, 7, 7), 4, dtype, "normal")
    np.testing.assert_allclose(
        avg_pool2d(y, 7),
        torch.nn.functional.avg_pool2d(torch.from_numpy(y), 7).numpy(),
        rtol=0,
        atol=16 * np.finfo(dtype).eps * np.abs(y).mean(axis=(2, 3)).max(),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "special"])
@pytest.mark.parametrize("ceil", [False, True])
def test_max_pool_2x2_stride_2_fast_path(ceil, kind, dtype):
    """The dedicated 2x2 stride-2 kernel, with and without indices: odd sizes with
    ceil_mode (a last window cut by the edge goes to the general kernel; the 2x2 one would
    read the next plane's first row), planes whose neighbours hold larger values, NaN/inf."""
    for H in (4, 5, 6, 7):
        for W in (2, 3, 8, 9, 33):
            x = _data((3, 2, H, W), H * 100 + W, dtype, kind)
            x[1::2] += 1000  # a read past a plane's end would pick these up
            ref_v, ref_i = max_pool_ref(x, (2, 2), (2, 2), (0, 0), (1, 1), ceil)
            v, i = max_pool2d(x, 2, 2, ceil_mode=ceil, return_indices=True)
            np.testing.assert_array_equal(v, ref_v.astype(dtype))
            np.testing.assert_array_equal(i, ref_i)
            np.testing.assert_array_equal(max_pool2d(x, 2, 2, ceil_mode=ceil), v)
