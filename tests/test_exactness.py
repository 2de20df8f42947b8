"""Exactness under adverse input: non-finite values on every algorithm, float32 accuracy of
deep sums, degenerate shapes, bounded memory, and PyTorch's and SciPy's argument forms.

References are independent of fastconv: float64 NumPy loops over the taps (IEEE arithmetic
keeps the exact pattern of NaN, +inf and -inf), SciPy, and PyTorch when installed.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv import signal as fsignal

from conftest import HAVE_TORCH, requires_torch
from reference import NUMPY_PAD

ALGORITHMS = ("auto", "direct", "winograd", "winograd4", "fft")
MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")


def loop_ref(x, w, pads=(0, 0, 0, 0), stride=(1, 1), dilation=(1, 1), groups=1, mode="zeros", fill=0.0):
    """conv2d as a float64 sum over the taps of shifted, padded input slices: every product
    a real tap makes, and no other (a zero-dilated kernel would multiply holes by inf)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    t, b, l, r = pads
    if mode == "zeros":
        xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), mode="constant", constant_values=fill)
    else:
        xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), mode=NUMPY_PAD[mode])
    N, C = x.shape[:2]
    Cout, Cg, kH, kW = w.shape
    sh, sw = stride
    dh, dw = dilation
    Ho = (xp.shape[2] - dh * (kH - 1) - 1) // sh + 1
    Wo = (xp.shape[3] - dw * (kW - 1) - 1) // sw + 1
    out = np.zeros((N, Cout, Ho, Wo))
    coutg = Cout // groups
    with np.errstate(invalid="ignore", over="ignore"):
        for o in range(Cout):
            g = o // coutg
            for c in range(Cg):
                for i in range(kH):
                    for j in range(kW):
                        sl = xp[
                            :,
                            g * Cg + c,
                            i * dh : i * dh + (Ho - 1) * sh + 1 : sh,
                            j * dw : j * dw + (Wo - 1) * sw + 1 : sw,
                        ]
                        out[:, o] += sl * w[o, c, i, j]
    return out


def pattern(a):
    a = np.asarray(a)
    return np.stack([np.isnan(a), np.isposinf(a), np.isneginf(a)])


def assert_same_pattern_and_close(got, ref, rtol, atol):
    np.testing.assert_array_equal(pattern(got), pattern(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(np.asarray(got, np.float64)[fin], ref[fin], rtol=rtol, atol=atol)


def plant(rng, a, count, values=(np.nan, np.inf, -np.inf)):
    """Put ``count`` non-finite values into the last two axes of ``a``: the four corners
    of a random plane first (borders are where padding and tiles meet), then random spots."""
    a = a.copy()
    lead = a.shape[:-2]
    H, W = a.shape[-2:]
    spots = [(0, 0), (H - 1, W - 1), (0, W - 1), (H - 1, 0)]
    spots += [(int(rng.integers(H)), int(rng.integers(W))) for _ in range(count)]
    for h, w in spots[:count]:
        idx = tuple(int(rng.integers(n)) for n in lead) + (h, w)
        a[idx] = values[int(rng.integers(len(values)))]
    return a


@pytest.fixture
def small_fft(monkeypatch):
    """Make "auto" take the FFT on small planes, with small tiles (pairs and a lone tile)."""
    monkeypatch.setattr(fastconv._tuning, "FFT_MIN_PIXELS", 1)
    monkeypatch.setattr(fastconv._tuning, "FFT_MIN_TAPS", {64: 25, 32: 25})
    monkeypatch.setattr(fastconv._tuning, "FFT_TILE", 24)
    monkeypatch.setattr(fastconv._tuning, "FFT_TILE_OVERHEAD", 0)
    fastconv._fft._tile_shapes.clear()
    yield
    fastconv._fft._tile_shapes.clear()


# --------------------------------------------------------------------------- 1. non-finite


def _layer_for(algorithm, rng, dtype):
    """(x, w, kwargs) of a layer ``algorithm`` handles."""
    if algorithm in ("winograd", "winograd4"):
        x = rng.standard_normal((2, 4, 13, 17)).astype(dtype)
        w = rng.standard_normal((5, 4, 3, 3)).astype(dtype)
        return x, w, dict(padding=1)
    if algorithm == "fft":
        x = rng.standard_normal((2, 3, 30, 41)).astype(dtype)
        w = rng.standard_normal((3, 1, 5, 6)).astype(dtype)
        return x, w, dict(padding=((2, 3), (1, 4)), groups=3)
    x = rng.standard_normal((2, 4, 15, 19)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 4)).astype(dtype)
    return x, w, dict(padding=((2, 1), (3, 2)), groups=2, stride=(1, 2), dilation=(2, 1))


def _pads(kw):
    p = kw.get("padding", 0)
    if isinstance(p, int):
        return (p, p, p, p)
    (t, b), (l, r) = p
    return (t, b, l, r)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["input", "weight", "both"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_nonfinite_pattern_every_algorithm(algorithm, where, mode, dtype, small_fft):
    rng = np.random.default_rng(hash((algorithm, where, mode)) % 2**32)
    x, w, kw = _layer_for(algorithm, rng, dtype)
    if where in ("input", "both"):
        x = plant(rng, x, 5)
    if where in ("weight", "both"):
        w = plant(rng, w, 2)
    y = fastconv.conv2d(x, w, padding_mode=mode, algorithm=algorithm, **kw)
    ref = loop_ref(x, w, _pads(kw), _pair(kw.get("stride", 1)), _pair(kw.get("dilation", 1)), kw.get("groups", 1), mode)
    assert_same_pattern_and_close(y, ref, *_tolerance(dtype, algorithm))


@pytest.mark.parametrize("shape", [(2, 16, 52, 61), (5, 16, 13, 10)], ids=["rows", "flat"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_bands_check_their_inputs(dtype, threads, shape):
    """Winograd checks the inputs as its bands transform them (no scan of the input before
    the call): one NaN or inf in any band, the first or the last of many, or finite values
    whose transform overflows, and the whole call reruns on the direct kernels.  Narrow
    planes too, whose float32 items gather tile rows of several images (Plan.flat)."""
    N, C, H, W = shape
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((24, 16, 3, 3)).astype(dtype)
    algorithm = "winograd" if dtype == np.float32 else "winograd4"
    if dtype == np.float32 and W == 10:  # 5 tiles a row fill under 0.8 of 8 or 16 lanes
        assert fastconv.explain(x0, w, padding=1, algorithm=algorithm, num_threads=threads).flat
    clean = fastconv.conv2d(x0, w, padding=1, algorithm=algorithm, num_threads=threads)
    for spot, value in [((0, 0, 0, 0), np.nan), ((N - 1, 15, H - 1, W - 1), np.inf), ((N - 1, 7, H // 2, 2), -np.inf)]:
        x = x0.copy()
        x[spot] = value
        y = fastconv.conv2d(x, w, padding=1, algorithm=algorithm, num_threads=threads)
        assert_same_pattern_and_close(y, loop_ref(x, w, (1, 1, 1, 1)), *_tolerance(dtype))
        h, c = spot[2], spot[3]  # only the outputs whose 3x3 windows read it
        windows = (min(h + 1, H - 1) - max(h - 1, 0) + 1) * (min(c + 1, W - 1) - max(c - 1, 0) + 1)
        assert (~np.isfinite(y)).sum() == 24 * windows
    # Finite values whose difference overflows: B^T d B subtracts neighbours, direct sums
    # of small products stay finite.
    big = np.finfo(dtype).max * 0.9
    x = x0.copy()
    x[1, 3, 10, 6:10] = [big, -big, big, -big]
    ws = (w * 1e-3).astype(dtype)
    y = fastconv.conv2d(x, ws, padding=1, algorithm=algorithm, num_threads=threads)
    assert np.isfinite(y).all()
    rtol, _ = _tolerance(dtype)  # (errors relative to the huge products that cancel)
    np.testing.assert_allclose(y, loop_ref(x, ws, (1, 1, 1, 1)), rtol=rtol, atol=rtol * big * np.abs(ws).max())
    # and the clean call is still Winograd's (the check leaves it alone)
    np.testing.assert_array_equal(clean, fastconv.conv2d(x0, w, padding=1, algorithm=algorithm, num_threads=threads))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(2, 16, 20, 36), (8, 16, 7, 7)], ids=["rows", "flat"])
def test_winograd_checks_its_transformed_weights(dtype, threads, shape):
    """conv2d does not scan the weights before a Winograd call: the weights' transform
    checks what it makes, and a NaN or inf weight of any block, or finite weights whose
    transform passes the dtype's range, reruns the call on the direct kernels with their
    exact pattern of non-finite values (explain, which runs nothing, still reads them)."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal(shape).astype(dtype)
    w0 = rng.standard_normal((24, 16, 3, 3)).astype(dtype)
    algorithm = "winograd" if dtype == np.float32 else "winograd4"
    for spot, value in [((0, 0, 0, 0), np.nan), ((23, 15, 2, 2), np.inf), ((11, 7, 1, 0), -np.inf)]:
        w = w0.copy()
        w[spot] = value
        y = fastconv.conv2d(x, w, padding=1, algorithm=algorithm, num_threads=threads)
        assert_same_pattern_and_close(y, loop_ref(x, w, (1, 1, 1, 1)), *_tolerance(dtype))
        assert not np.isfinite(y[:, spot[0]]).any() and np.isfinite(np.delete(y, spot[0], axis=1)).all()
        assert fastconv.explain(x, w, padding=1, algorithm=algorithm).algorithm == "direct"
    # finite weights near the dtype's largest value: F(2x2)'s G g G^T sums up to nine taps
    # halved twice (F(4x4)'s fractions keep them in range), the direct sums of their
    # products with tiny inputs stay finite
    big = np.finfo(dtype).max * 0.9
    w = (w0 * 1e-3).astype(dtype)
    w[5, 3] = big
    xs = (x * 1e-300 if dtype == np.float64 else x * 1e-30).astype(dtype)
    y = fastconv.conv2d(xs, w, padding=1, algorithm="winograd", num_threads=threads)
    assert np.isfinite(y).all()
    np.testing.assert_array_equal(y, fastconv.conv2d(xs, w, padding=1, algorithm="direct", num_threads=threads))


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _tolerance(dtype, algorithm="direct"):
    eps = np.finfo(dtype).eps
    scale = 200 if algorithm in ("fft", "winograd4") else 20
    return scale * eps, scale * eps * 10


@pytest.mark.parametrize("kernel", [(3, 3), (5, 5), (2, 7)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_nonfinite_weight_on_zero_padding_depthwise(kernel, dilation):
    """The one-channel in-place kernel left out taps on zero padding: a NaN or inf weight
    there must still make the outputs that read padding NaN (NaN * 0 and inf * 0 are NaN)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6, 20, 33)).astype(np.float32)
    w = rng.standard_normal((6, 1) + kernel).astype(np.float32)
    w[1, 0, 0, 0] = np.nan
    w[4, 0, -1, -1] = np.inf
    pads = ((kernel[0] - 1) * dilation // 2,) * 2 + ((kernel[1] - 1) * dilation // 2,) * 2
    y = fastconv.conv2d(x, w, groups=6, dilation=dilation, padding=((pads[0], pads[1]), (pads[2], pads[3])))
    ref = loop_ref(x, w, pads, dilation=(dilation, dilation), groups=6)
    assert np.isnan(y[:, 1]).all()
    assert_same_pattern_and_close(y, ref, *_tolerance(np.float32))


# (input (N, C, H, W), weight (C_out, C, kH, kW), pads, dilation): small planes with large
# zero padding, whose column tiles leave out kernel rows on the padding (flat rows and not)
SKIP_LAYERS = [
    ((4, 16, 10, 10), (6, 16, 5, 5), (4, 4, 4, 4), (1, 1)),  # LeNet's input gradient
    ((2, 3, 7, 9), (5, 3, 3, 3), (2, 2, 1, 1), (1, 1)),
    ((1, 2, 5, 60), (7, 2, 5, 5), (4, 4, 2, 2), (1, 1)),  # wide rows: not flat
    ((2, 4, 12, 6), (20, 4, 3, 3), (3, 3, 1, 1), (2, 1)),  # dilated rows
    ((2, 3, 8, 8), (13, 3, 5, 5), (4, 1, 1, 1), (1, 1)),  # padding above only
    ((1, 2, 6, 6), (3, 2, 3, 3), (0, 5, 1, 1), (1, 1)),  # below only, whole rows of it
]


@pytest.mark.parametrize("layer", SKIP_LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_rows_on_zero_padding_skipped_only_for_finite_weights(layer, dtype, vector_width):
    """The column tiles leave out the kernel rows that land on zero padding when every
    weight is finite: the sums are the loop's, NaN/+-inf inputs keep their pattern, and one
    NaN or inf weight in a kernel row that meets the padding turns the skip off, so that
    NaN * 0 still makes the outputs that read padding NaN."""
    import helpers

    xs, ws, pads, dil = layer
    rng = np.random.default_rng(11)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    cols = fastconv._plan.Kind.COLUMNS
    plan = helpers.plan(x, w, padding=padding, dilation=dil, kind=cols)
    assert plan.skip_pad_rows, str(plan)
    rtol, atol = _tolerance(dtype)
    atol *= 10
    got = helpers.conv2d(x, w, padding=padding, dilation=dil, kind=cols)
    assert_same_pattern_and_close(got, loop_ref(x, w, pads, dilation=dil), rtol, atol)
    xb = plant(rng, x, 6)
    got = helpers.conv2d(xb, w, padding=padding, dilation=dil, kind=cols)
    assert_same_pattern_and_close(got, loop_ref(xb, w, pads, dilation=dil), rtol, atol)
    for value, kh in ((np.nan, 0), (np.inf, -1), (-np.inf, 0)):
        wb = w.copy()
        wb[1, 0, kh, 1] = value
        got = helpers.conv2d(x, wb, padding=padding, dilation=dil, kind=cols)
        ref = loop_ref(x, wb, pads, dilation=dil)
        assert np.isnan(ref[:, 1]).any()
        assert_same_pattern_and_close(got, ref, rtol, atol)


@pytest.mark.parametrize("method", ["auto", "direct", "separable", "fft"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_nonfinite_correlate2d_every_method(method, boundary, mode, small_fft):
    rng = np.random.default_rng(hash((method, boundary, mode)) % 2**32)
    img = plant(rng, rng.standard_normal((3, 40, 57)), 6)
    col, row = rng.standard_normal(7), rng.standard_normal(6)
    for k in (np.outer(col, row), rng.standard_normal((7, 6))):  # separable and not
        got = fastconv.correlate2d(img, k, mode, boundary, method=method)
        ref = np.stack([ss.correlate2d(p, k, mode, boundary) for p in img])
        assert_same_pattern_and_close(got, ref, 1e-9, 1e-9)


@pytest.mark.parametrize("method", ["auto", "direct", "separable", "fft"])
@pytest.mark.parametrize("fill", [np.nan, np.inf, -np.inf])
def test_nonfinite_fillvalue(method, fill, small_fft):
    rng = np.random.default_rng(3)
    img = rng.standard_normal((50, 61))
    k = np.abs(np.outer(rng.standard_normal(5), rng.standard_normal(7))) + 0.1
    got = fastconv.correlate2d(img, k, "full", "fill", fill, method=method)
    ref = ss.correlate2d(img, k, "full", "fill", fill)
    assert_same_pattern_and_close(got, ref, 1e-9, 1e-9)
    assert np.isfinite(got[6:-6, 8:-8]).all()  # outputs that read no fill stay finite


def test_fft_nan_pixel_stays_local():
    """One NaN pixel on a big plane: the FFT path ("auto", 31 x 31) must give SciPy's 961
    NaN outputs, not a whole tile pair of them."""
    rng = np.random.default_rng(0)
    img = rng.standard_normal((1024, 1024))
    img[500, 600] = np.nan
    k = rng.standard_normal((31, 31))
    assert fsignal.auto_method(k, 1054 * 1054) == "fft"
    got = fastconv.correlate2d(img, k)
    assert np.isnan(got).sum() == 31 * 31
    assert np.isnan(got[500:531, 600:631]).all()


def test_nonfinite_kernel_with_fft_and_separable_methods():
    rng = np.random.default_rng(1)
    img = rng.standard_normal((40, 40))
    k = np.outer(np.arange(1.0, 8.0), np.arange(1.0, 6.0))
    for bad in (np.nan, np.inf, -np.inf):
        kb = k.copy()
        kb[3, 0] = bad
        assert fsignal._separable(kb) is None  # no SVD: it raised LinAlgError on NaN
        for method in ("auto", "separable", "fft"):
            got = fastconv.correlate2d(img, kb, "same", method=method)
            ref = ss.correlate2d(img, kb, "same")
            np.testing.assert_array_equal(pattern(got), pattern(ref))


# --------------------------------------------------------------------------- 2. float32 sums

# (C_in, kernel) pairs whose outputs sum 100 to 20,000 products
REDUCTIONS = [(4, 5), (16, 5), (64, 3), (40, 5), (1024, 1), (256, 3), (128, 5), (512, 3), (2048, 3), (800, 5)]


def _rms_rel(y, ref):
    return float(np.sqrt(np.mean((np.asarray(y, np.float64) - ref) ** 2) / np.mean(ref**2)))


@pytest.mark.parametrize("cin,k", REDUCTIONS, ids=[f"{c}x{k}x{k}" for c, k in REDUCTIONS])
def test_float32_deep_sums_accuracy(cin, k):
    """RMS error against float64, relative to the RMS result: below a bound derived from the
    reduction length n, and (with PyTorch) no worse than PyTorch's on the same data."""
    n = cin * k * k
    rng = np.random.default_rng(n)
    x = rng.standard_normal((2, cin, 9, 10)).astype(np.float32)
    w = rng.standard_normal((40, cin, k, k)).astype(np.float32)
    ref = loop_ref(x, w, (k // 2,) * 4)
    err = {alg: _rms_rel(fastconv.conv2d(x, w, padding=k // 2, algorithm=alg), ref) for alg in ("auto", "direct")}
    # one chain of n products would reach about 0.3 eps n; blocks of ~80 stay near
    # eps sqrt(80 n) / 2
    bound = 0.5 * np.finfo(np.float32).eps * math.sqrt(80 * n) + 2 * np.finfo(np.float32).eps
    assert max(err.values()) <= bound, (err, bound)
    if HAVE_TORCH:
        import torch
        import torch.nn.functional as F

        t = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=k // 2).numpy()
        assert max(err.values()) <= 1.05 * _rms_rel(t, ref), (err, _rms_rel(t, ref))


@pytest.mark.parametrize("data", ["normal", "relu"])
@pytest.mark.parametrize("cin,H,N", [(32, 48, 1), (64, 48, 1), (128, 48, 1), (256, 48, 1), (512, 14, 8), (256, 14, 8)])
def test_float32_auto_winograd_layers_accuracy(cin, H, N, data):
    """Layers "auto" runs with Winograd F(2x2, 3x3) (3x3, 32-512 channels, tiles filling
    their lanes, enough work; 14x14 planes flat): float32 error no worse than PyTorch's, on
    normal data and on ReLU-like data (non-negative, half zeros), where the transforms'
    rounding weighs most."""
    rng = np.random.default_rng(cin + H)
    x = rng.standard_normal((N, cin, H, 56 if H == 48 else H))
    w = rng.standard_normal((32, cin, 3, 3))
    if data == "relu":
        x, w = np.maximum(x, 0), w * 0.05
    x, w = x.astype(np.float32), w.astype(np.float32)
    a = fastconv._args.conv2d_args(x, w, None, 1, 1, 1, 1, "zeros")
    assert fastconv._plan.conv2d(a, "auto", 1).algorithm == "winograd"
    ref = loop_ref(x, w, (1, 1, 1, 1))
    err = _rms_rel(fastconv.conv2d(x, w, padding=1, num_threads=1), ref)
    n = cin * 9
    assert err <= 0.5 * np.finfo(np.float32).eps * math.sqrt(80 * n) + 2 * np.finfo(np.float32).eps
    if HAVE_TORCH:
        import torch
        import torch.nn.functional as F

        t = _rms_rel(F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy(), ref)
        assert err <= t, (err, t)


# --------------------------------------------------------------------------- 4. zero sizes


@pytest.mark.parametrize("algorithm", ["auto", "fft", "direct"])
def test_empty_batch_on_every_path(algorithm, small_fft):
    x = np.zeros((0, 2, 40, 50), np.float32)
    w = np.ones((2, 1, 7, 7), np.float32)
    y = fastconv.conv2d(x, w, groups=2, padding=3, algorithm=algorithm)
    assert y.shape == (0, 2, 40, 50)
    assert fastconv.correlate2d(np.zeros((0, 40, 50)), np.ones((7, 7)), method="fft").shape == (0, 46, 56)


def test_empty_batch_auto_fft_real_thresholds():
    assert fastconv.conv2d(np.zeros((0, 1, 536, 1048), np.float32), np.ones((1, 1, 25, 25), np.float32)).shape == (
        0,
        1,
        512,
        1024,
    )


@pytest.mark.parametrize("groups", [1, 2])
def test_zero_input_channels_give_the_bias(groups):
    x = np.zeros((3, 0, 6, 7), np.float32)
    w = np.zeros((4, 0, 3, 2), np.float32)
    b = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    y = fastconv.conv2d(x, w, b, padding=1, groups=groups)
    assert y.shape == (3, 4, 6, 8) and y.dtype == np.float32
    np.testing.assert_array_equal(y, np.broadcast_to(b[:, None, None], y.shape))
    np.testing.assert_array_equal(fastconv.conv2d(x[0], w), np.zeros((4, 4, 6)))
    assert fastconv.conv2d_output_shape((3, 0, 6, 7), (4, 0, 3, 2)) == (3, 4, 4, 6)


# --------------------------------------------------------------------------- 5. memory


def _peak_mib(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_dilated_pool_shape_in_closed_form():
    assert _peak_mib(lambda: fastconv.pool2d_output_shape((1, 1, 1, 300000), (1, 100000), stride=1, dilation=2)) < 8
    with pytest.raises(ValueError, match="holds no input element"):
        fastconv.pool2d_output_shape((1, 1, 3, 3), 2, stride=1, padding=1, dilation=4)


def test_empty_window_rule_matches_brute_force():
    from fastconv._args import _empty_window, pool_out_size

    rng = np.random.default_rng(0)
    for _ in range(4000):
        n, k, s, d = (
            int(rng.integers(1, 12)),
            int(rng.integers(1, 6)),
            int(rng.integers(1, 4)),
            int(rng.integers(2, 6)),
        )
        p, ceil = int(rng.integers(0, k // 2 + 1)), bool(rng.integers(2))
        o = pool_out_size(n, k, s, p, d, ceil)
        if o < 1:
            continue
        taps = (np.arange(o) * s - p)[:, None] + np.arange(k) * d
        empty = ~((taps >= 0) & (taps < n)).any(axis=1)
        assert _empty_window(n, o, k, s, p, d) == (int(np.argmax(empty)) if empty.any() else -1)


def test_huge_dilation_depthwise_memory_follows_the_taps():
    x = np.random.default_rng(0).random((1, 2, 8, 8)).astype(np.float32)
    w = np.random.default_rng(1).random((2, 1, 3, 3)).astype(np.float32)
    y = fastconv.conv2d(x, w, groups=2, dilation=65536, padding="same")
    np.testing.assert_allclose(y, x * w[None, :, 0, 1, 1, None, None], rtol=1e-6)  # only the centre tap reads input
    y = fastconv.conv2d(x, w, groups=2, dilation=3, padding=3)
    np.testing.assert_allclose(y, loop_ref(x, w, (3, 3, 3, 3), dilation=(3, 3), groups=2), rtol=1e-5, atol=1e-5)


def test_winograd_row_dilation_larger_than_the_plane():
    rng = np.random.default_rng(2)
    x = rng.random((1, 4, 8, 48))
    w = rng.random((4, 4, 3, 3))
    kw = dict(dilation=(2**28, 1), padding=((2**28, 2**28), (1, 1)))
    y = fastconv.conv2d(x, w, algorithm="winograd4", **kw)
    np.testing.assert_allclose(y, fastconv.conv2d(x, w, algorithm="direct", **kw), rtol=1e-12, atol=1e-12)


def test_broadcast_kernel_with_many_taps():
    x = np.broadcast_to(np.float32(1), (1, 1, 1, 2**20))
    w = np.broadcast_to(np.float32(0.5), (1, 1, 1, 2**20))
    assert fastconv.conv2d(x, w)[0, 0, 0, 0] == 2**19


def test_same_padding_size_checked():
    with pytest.raises(ValueError, match="spans"):
        fastconv.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), dilation=2**31 - 1, padding="same")


# --------------------------------------------------------------------------- 7. owned memory


def test_big_results_cannot_be_recycled_while_viewed():
    from fastconv import _buffers

    old = _buffers._set_min_bytes(4096)
    try:
        x = np.ones((1, 1, 64, 64), np.float32)
        y = fastconv.conv2d(x, np.ones((1, 1, 3, 3), np.float32))
        chain, b = [], y
        while getattr(b, "base", None) is not None:
            b = b.base
            chain.append(b)
        assert not any(isinstance(o, memoryview) for o in chain)
        assert not any(hasattr(o, "release") for o in chain)
        keep = y.copy()
        z = fastconv.conv2d(2 * x, np.ones((1, 1, 3, 3), np.float32))
        np.testing.assert_array_equal(y, keep)
        assert not np.shares_memory(y, z)
    finally:
        _buffers._set_min_bytes(old)


# --------------------------------------------------------------------------- 8. argument forms


def test_one_element_tuples_and_empty_stride():
    x = np.random.default_rng(0).random((1, 1, 9, 9)).astype(np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    np.testing.assert_array_equal(
        fastconv.conv2d(x, w, stride=(2,), padding=(1,), dilation=(1,)),
        fastconv.conv2d(x, w, stride=2, padding=1, dilation=1),
    )
    np.testing.assert_array_equal(fastconv.avg_pool2d(x, (3, 3), (1, 1), (1,)), fastconv.avg_pool2d(x, 3, 1, 1))
    np.testing.assert_array_equal(fastconv.max_pool2d(x, (3,), ()), fastconv.max_pool2d(x, 3))
    np.testing.assert_array_equal(fastconv.avg_pool2d(x, 3, []), fastconv.avg_pool2d(x, 3))
    v, i = fastconv.max_pool2d(x[..., :8, :8], 2, return_indices=True)
    np.testing.assert_array_equal(fastconv.max_unpool2d(v, i, (2,), ()), fastconv.max_unpool2d(v, i, 2))


@pytest.mark.parametrize("div", [-2, -7, 3])
def test_negative_divisor_override(div):
    x = np.random.default_rng(1).random((1, 2, 6, 7))
    got = fastconv.avg_pool2d(x, 3, 1, 1, divisor_override=div)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = sum(xp[:, :, i : i + 6, j : j + 7] for i in range(3) for j in range(3)) / div
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    with pytest.raises(ValueError, match="divisor_override"):
        fastconv.avg_pool2d(x, 3, divisor_override=0)


def test_flat_four_tuple_padding_refused():
    with pytest.raises(ValueError, match=r"\(\(1, 2\), \(3, 4\)\)"):
        fastconv.conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), padding=(1, 2, 3, 4))


def test_scipy_fillvalue_forms():
    a, k = np.arange(12.0).reshape(3, 4), np.ones((2, 2))
    np.testing.assert_array_equal(
        fastconv.correlate2d(a, k, fillvalue=np.array([2.0])), ss.correlate2d(a, k, fillvalue=np.array([2.0]))
    )
    with pytest.raises(ValueError):
        ss.correlate2d(a, k, fillvalue=np.array([1.0, 2.0]))  # SciPy's rule, which we follow
    for bad in (np.array([1.0, 2.0]), "x", None, [[1, 2]]):
        with pytest.raises(ValueError, match="fillvalue"):
            fastconv.correlate2d(a, k, fillvalue=bad)


@requires_torch
def test_argument_forms_against_torch():
    import torch
    import torch.nn.functional as F

    x = np.random.default_rng(2).random((2, 3, 9, 9)).astype(np.float32)
    t = torch.from_numpy(x)
    for args in [((3, 3), (1, 1), (1,), True, False, 2), (3, (), 0), ((3,), (2,))]:
        np.testing.assert_allclose(fastconv.avg_pool2d(x, *args), F.avg_pool2d(t, *args).numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        fastconv.avg_pool2d(x, 3, 1, 1, divisor_override=-3),
        F.avg_pool2d(t, 3, 1, 1, divisor_override=-3).numpy(),
        rtol=1e-6,
    )
    w = np.ones((2, 3, 3, 3), np.float32)
    np.testing.assert_allclose(
        fastconv.conv2d(x, w, stride=(2,), padding=(1,)),
        F.conv2d(t, torch.from_numpy(w), stride=(2,), padding=(1,)).numpy(),
        rtol=1e-5,
    )


# --------------------------------------------------------------------------- 9. separable


def _firwin_2d_taps():
    if hasattr(ss, "firwin_2d"):
        return ss.firwin_2d((31, 31), ("hamming", "hamming"), fc=0.4)
    h = ss.firwin(31, 0.4, window="hamming")
    return np.outer(h, h)


def test_auto_exact_per_element_on_firwin_2d():
    """SciPy's own impulse-response test: taps spanning 20 orders of magnitude come back to a
    few ulps each (the SVD split made near-zero taps wrong by a factor of 48)."""
    taps = _firwin_2d_taps()
    impulse = np.zeros((63, 63))
    impulse[31, 31] = 1
    for method in ("auto", "separable", "direct"):
        resp = fastconv.convolve2d(impulse, taps, mode="same", method=method)[16:47, 16:47]
        np.testing.assert_allclose(resp, taps, rtol=1e-13, atol=0)


def test_separable_only_when_the_factors_reproduce_every_tap():
    g = ss.windows.gaussian(9, 1.5)
    assert fsignal._separable(np.outer(g, g)) is not None
    assert fsignal._separable(np.outer(g, g).astype(np.float32)) is not None
    deriv = np.outer(g, np.gradient(g))  # exact zeros in its middle column
    col, row = fsignal._separable(deriv)
    assert row[4] == 0 and np.array_equal(np.outer(col, row) == 0, deriv == 0)
    near = np.outer(g, g)
    near[0, 0] *= 1 + 1e-9  # rank 1 within float tolerance, not within a few ulps of each tap
    assert fsignal._separable(near) is None
    assert fsignal.auto_method(near, 100) == "direct"


# --------------------------------------------------------------------------- 3. fork, threads

_FORK_CHILD = r"""
import multiprocessing as mp, sys, warnings
import numpy as np
import fastconv

x = np.random.default_rng(0).random((4, 16, 40, 40)).astype(np.float32)
w = np.random.default_rng(1).random((16, 16, 3, 3)).astype(np.float32)
ref = fastconv.conv2d(x, w, num_threads=2)  # the parent starts OpenMP's thread pool

def child(_):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.abs(fastconv.conv2d(x, w, num_threads=2) - ref).max())

if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as pool:
        print(max(pool.map(child, range(4))))
"""


def test_fork_child_after_parallel_calls_computes(tmp_path):
    """A fork child hung forever in its first parallel region (libgomp's pool)."""
    import subprocess
    import sys

    if not fastconv.openmp_enabled():
        pytest.skip("serial build")
    script = tmp_path / "fork_child.py"
    script.write_text(_FORK_CHILD)
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.strip()) == 0.0


def test_forked_state_runs_serially_and_warns():
    from fastconv import _omp

    x = np.ones((1, 4, 16, 16), np.float32)
    w = np.ones((4, 4, 3, 3), np.float32)
    fastconv.conv2d(x, w, num_threads=2)
    if not fastconv.openmp_enabled():
        pytest.skip("serial build")
    import os
    import sys

    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if it runs serially, warns and computes
        code = 1
        try:
            with pytest.warns(RuntimeWarning, match="forked"):
                n = _omp.resolve_threads(2, 100)
            code = (
                0
                if (
                    n == 1
                    and fastconv.get_num_threads() == 1
                    and _omp._forked_state()[1]
                    and fastconv.conv2d(x, w)[0, 0, 5, 5] == 36
                )
                else 2
            )
        finally:
            sys.stdout.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_thread_counts_capped_before_any_region():
    from fastconv import _omp

    cap = _omp.thread_cap()
    assert cap >= 4
    if fastconv.openmp_enabled():
        assert _omp.resolve_threads(4096, 10**6) == cap
    x = np.random.default_rng(0).random((2, 3, 20, 20))
    w = np.ones((2, 3, 3, 3))
    np.testing.assert_allclose(fastconv.conv2d(x, w, num_threads=4096), fastconv.conv2d(x, w, num_threads=1))


@pytest.mark.skipif(
    "asan" in __import__("os").environ.get("LD_PRELOAD", ""),
    reason="AddressSanitizer reserves terabytes of address space",
)
def test_omp_num_threads_beyond_the_system_under_a_memory_limit(tmp_path):
    """OMP_NUM_THREADS=4096 with a 3 GiB address-space limit: libgomp could not create the
    threads and ended the interpreter."""
    import os
    import subprocess
    import sys

    code = (
        "import resource, numpy as np, fastconv\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "x = np.ones((8, 8, 64, 64), np.float32); w = np.ones((8, 8, 3, 3), np.float32)\n"
        "print(fastconv.conv2d(x, w)[0, 0, 5, 5])\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="4096", OPENBLAS_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert float(res.stdout) == 72.0


# --------------------------------------------------------------------------- 6. untrusted files


def _lenet():
    from fastconv import nn

    return nn.Sequential(nn.Conv2d(3, 6, 5), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5))


def _state(model, rng):
    return {
        f"{i}.{n}": rng.random(a.shape).astype(np.float32)
        for i, layer in enumerate(model.layers)
        if hasattr(layer, "weight")
        for n, a in layer.parameters().items()
    }


class _Evil:
    ran = []

    def __reduce__(self):
        return (_Evil.ran.append, ("unpickled",))


@pytest.mark.parametrize("bad", ["object", "str", "structured", "timedelta", "complex"])
def test_load_state_dict_refuses_non_numeric_without_unpickling(tmp_path, bad):
    model = _lenet()
    st = _state(model, np.random.default_rng(0))
    before = {k: v.copy() for k, v in model.layers[0].parameters().items()}
    shape = st["2.bias"].shape
    st["2.bias"] = {
        "object": np.array([_Evil()] * shape[0], dtype=object),
        "str": np.array(["1.0"] * shape[0]),
        "structured": np.zeros(shape, dtype=[("a", "f4")]),
        "timedelta": np.zeros(shape, dtype="m8[s]"),
        "complex": np.zeros(shape, dtype=np.complex64),
    }[bad]
    path = tmp_path / "m.npz"
    np.savez(path, **st)
    with pytest.raises(ValueError, match=r"2\.bias has dtype"):
        model.load_state_dict(path)
    assert _Evil.ran == []
    for k, v in before.items():  # all or nothing: the first layer was not replaced
        np.testing.assert_array_equal(model.layers[0].parameters()[k], v)
    with pytest.raises(ValueError, match=r"2\.bias has dtype"):  # a mapping too
        model.load_state_dict({k: v for k, v in st.items()})


def test_load_state_dict_reads_only_the_needed_members(tmp_path):
    model = _lenet()
    st = _state(model, np.random.default_rng(1))
    path = tmp_path / "m.npz"
    np.savez_compressed(path, **st, unused_blob=np.zeros(2**24))  # 128 MiB unpacked, ~130 KiB packed
    assert path.stat().st_size < 2**20
    peak = _peak_mib(lambda: model.load_state_dict(path))
    assert peak < 16, peak
    np.testing.assert_array_equal(model.layers[2].weight, st["2.weight"])


def test_load_state_dict_wrong_shape_truncated_and_damaged(tmp_path):
    import zipfile

    model = _lenet()
    st = _state(model, np.random.default_rng(2))
    bad = dict(st, **{"2.weight": np.zeros((16, 6, 5, 4), np.float32)})
    np.savez(tmp_path / "shape.npz", **bad)
    with pytest.raises(ValueError, match=r"2\.weight has shape \(16, 6, 5, 4\)"):
        model.load_state_dict(tmp_path / "shape.npz")
    # a member whose header promises more data than it holds
    np.savez(tmp_path / "ok.npz", **st)
    with zipfile.ZipFile(tmp_path / "ok.npz") as zin, zipfile.ZipFile(tmp_path / "cut.npz", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item, data[:-8] if item.filename == "0.weight.npy" else data)
    with pytest.raises(ValueError, match=r"0\.weight .* truncated"):
        model.load_state_dict(tmp_path / "cut.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not an .npz"):
        model.load_state_dict(tmp_path / "junk.npz")
    with pytest.raises(KeyError, match="unexpected"):
        np.savez(tmp_path / "extra.npz", **st, **{"5.weight": np.zeros(3)})
        model.load_state_dict(tmp_path / "extra.npz")


def test_load_state_dict_damaged_header_names_the_key(tmp_path):
    import zipfile

    model = _lenet()
    st = _state(model, np.random.default_rng(3))
    np.savez(tmp_path / "ok.npz", **st)
    with zipfile.ZipFile(tmp_path / "ok.npz") as zin, zipfile.ZipFile(tmp_path / "bad.npz", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item, b"garbage!" + data[8:] if item.filename == "2.bias.npy" else data)
    with pytest.raises(ValueError, match=r"2\.bias .* cannot be read"):
        model.load_state_dict(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    "algorithm,cin,k",
    [("direct", 200, 3), ("direct", 300, 1), ("direct", 40, 5), ("winograd", 48, 3), ("winograd4", 40, 3)],
)
def test_nonfinite_across_blocked_sums(algorithm, cin, k):
    """Deep reductions run in blocks of channels (direct ~80 products, Winograd 16 channels):
    NaN/inf planted in channels of different blocks keep the pattern through the totals."""
    rng = np.random.default_rng(cin * k)
    x = rng.standard_normal((1, cin, 9, 50)).astype(np.float32)
    w = rng.standard_normal((34, cin, k, k)).astype(np.float32)
    x[0, 0, 4, 10] = np.inf  # first block
    x[0, cin - 1, 4, 10] = np.inf  # last block, same place: +inf and +inf products may cancel
    x[0, cin // 2, 2, 30] = -np.inf
    x[0, cin // 3, 8, 49] = np.nan
    w[5, cin - 2, 0, 0] = np.inf
    p = k // 2
    y = fastconv.conv2d(x, w, padding=p, algorithm=algorithm)
    ref = loop_ref(x, w, (p,) * 4)
    assert_same_pattern_and_close(y, ref, 1e-4, 1e-3)
