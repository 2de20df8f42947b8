"""correlate2d / convolve2d against scipy.signal over a grid of shapes, modes, boundaries,
dtypes and methods."""

import numpy as np
import pytest
from scipy import signal as ss

import fastconv
from fastconv import conv2d, convolve2d, correlate2d

IMAGES = [(1, 1), (1, 7), (7, 1), (5, 5), (6, 9), (17, 12), (40, 33)]
KERNELS = [(1, 1), (3, 3), (2, 2), (4, 5), (1, 4), (5, 1), (6, 8), (11, 9)]
METHODS = ["direct", "separable", "fft", "auto"]
TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-9, atol=1e-9)}


def _scipy(fn, a, k, mode, boundary, fill=0.0):
    return getattr(ss, fn)(a.astype(np.float64), k.astype(np.float64), mode=mode, boundary=boundary, fillvalue=fill)


@pytest.mark.parametrize("fn", ["correlate2d", "convolve2d"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("ishape", IMAGES)
def test_grid_vs_scipy(fn, mode, boundary, ishape):
    r = np.random.default_rng(hash((fn, mode, boundary, ishape)) % 2**32)
    f = getattr(fastconv, fn)
    for kshape in KERNELS:
        a = r.standard_normal(ishape)
        k = r.standard_normal(kshape)
        try:
            ref = _scipy(fn, a, k, mode, boundary, 1.25)
        except ValueError:
            with pytest.raises(ValueError, match="valid mode"):
                f(a, k, mode, boundary, 1.25)
            continue
        for dtype in (np.float32, np.float64):
            for method in ("direct", "fft"):
                got = f(a.astype(dtype), k.astype(dtype), mode, boundary, 1.25, method=method)
                assert got.dtype == dtype and got.shape == ref.shape, (kshape, method)
                scale = np.abs(a).max() * np.abs(k).sum()
                np.testing.assert_allclose(
                    got,
                    ref,
                    rtol=TOL[dtype]["rtol"],
                    atol=TOL[dtype]["atol"] * max(scale, 1),
                    err_msg=str((kshape, method)),
                )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("kshape", [(3, 3), (7, 7), (5, 9), (15, 15)])
def test_separable_kernels_every_method(method, boundary, kshape):
    r = np.random.default_rng(5)
    col, row = r.standard_normal(kshape[0]), r.standard_normal(kshape[1])
    k = np.outer(col, row)
    a = r.standard_normal((3, 50, 41))
    for fn in ("correlate2d", "convolve2d"):
        got = getattr(fastconv, fn)(a, k, "same", boundary, method=method)
        for i in range(3):
            ref = _scipy(fn, a[i], k, "same", boundary)
            np.testing.assert_allclose(got[i], ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("nt", [1, 2])
@pytest.mark.parametrize("fn", ["correlate2d", "convolve2d"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_fft_overlap_save_many_tiles(fn, mode, boundary, nt, monkeypatch):
    # small tiles, so that these images need many tiles with partial ones at the edges

    monkeypatch.setattr(fastconv._tuning, "FFT_TILE", 16)
    monkeypatch.setattr(fastconv._tuning, "FFT_THREADS_COST", 0)  # nt threads even for these small tiles
    r = np.random.default_rng(7)
    f = getattr(fastconv, fn)
    for ishape, kshape in [((3, 61, 45), (5, 7)), ((1, 40, 33), (11, 9)), ((2, 37, 80), (1, 12)), ((1, 9, 70), (9, 2))]:
        a = r.standard_normal(ishape)
        k = r.standard_normal(kshape)
        got = f(a, k, mode=mode, boundary=boundary, fillvalue=0.5, method="fft", num_threads=nt)
        for b in range(ishape[0]):
            ref = _scipy(fn, a[b], k, mode, boundary, 0.5)
            np.testing.assert_allclose(got[b], ref, **TOL[np.float64])


def test_batched_stack_equals_plane_by_plane():
    r = np.random.default_rng(1)
    stack = r.standard_normal((2, 3, 20, 25)).astype(np.float32)
    k = r.standard_normal((5, 4)).astype(np.float32)
    got = correlate2d(stack, k, mode="same", boundary="wrap")
    assert got.shape == (2, 3, 20, 25)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(
                got[i, j], _scipy("correlate2d", stack[i, j], k, "same", "wrap"), rtol=1e-4, atol=1e-4
            )
    assert correlate2d(np.zeros((0, 8, 8)), k).shape == (0, 12, 11)


@pytest.mark.parametrize("fn", ["correlate2d", "convolve2d"])
def test_valid_swap_rule_batched(fn):
    r = np.random.default_rng(2)
    small = r.standard_normal((3, 4, 5))
    big = r.standard_normal((9, 11))
    got = getattr(fastconv, fn)(small, big, mode="valid")
    for i in range(3):
        np.testing.assert_allclose(got[i], _scipy(fn, small[i], big, "valid", "fill"), rtol=1e-10, atol=1e-10)


def test_integer_inputs_promoted_not_wrapped():
    a = np.full((4, 4), 200, np.uint8)
    k = np.full((3, 3), 200, np.uint8)
    got = correlate2d(a, k, mode="valid")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.full((2, 2), 9 * 200 * 200, np.float32))
    assert correlate2d(a.astype(np.int64), k).dtype == np.float64


def test_conv2d_and_correlate2d_agree():
    """Where the semantics overlap: zeros/fill, circular/wrap, symmetric/symm."""
    r = np.random.default_rng(3)
    a = r.standard_normal((4, 13, 17))
    k = r.standard_normal((3, 5))
    for boundary, pmode in (("fill", "zeros"), ("wrap", "circular"), ("symm", "symmetric")):
        c = correlate2d(a, k, mode="same", boundary=boundary)
        v = conv2d(a[:, None], k[None, None], padding=((1, 1), (2, 2)), padding_mode=pmode)[:, 0]
        np.testing.assert_allclose(c, v, rtol=1e-12, atol=1e-12)
        full = correlate2d(a, k, mode="full", boundary=boundary)
        v = conv2d(a[:, None], k[None, None], padding=((2, 2), (4, 4)), padding_mode=pmode)[:, 0]
        np.testing.assert_allclose(full, v, rtol=1e-12, atol=1e-12)


def test_layouts_and_input_untouched():
    r = np.random.default_rng(4)
    base = r.standard_normal((30, 40))
    k = r.standard_normal((4, 4))
    for a in (base[::-1, ::2], np.asfortranarray(base), base.astype(">f8")):
        ro = np.array(a)
        a2 = a.copy() if a.flags.writeable else a
        got = correlate2d(a2, k, "same", "symm")
        np.testing.assert_array_equal(a2, ro)
        np.testing.assert_allclose(got, _scipy("correlate2d", ro, k, "same", "symm"), rtol=1e-10, atol=1e-10)


def test_threads_identical():
    a = np.random.default_rng(6).standard_normal((3, 64, 80)).astype(np.float32)
    k = np.random.default_rng(7).standard_normal((5, 5)).astype(np.float32)
    np.testing.assert_array_equal(correlate2d(a, k, num_threads=1), correlate2d(a, k, num_threads=2))


BAD = [
    (dict(mode="circular"), ValueError, r"mode='circular' must be one of 'full', 'same', 'valid'"),
    (dict(boundary="reflect"), ValueError, r"boundary='reflect' must be one of"),
    (dict(method="winograd"), ValueError, r"method='winograd' must be one of"),
    (dict(in2=np.ones(3)), ValueError, r"in2 must be 2-D"),
    (dict(in2=np.ones((1, 2, 2))), ValueError, r"in2 must be 2-D"),
    (dict(in2=np.ones((0, 3))), ValueError, r"in2 is empty"),
    (dict(in1=np.ones(5)), ValueError, r"in1 must be 2-D"),
    (dict(in1=np.ones((5, 5), complex)), TypeError, r"complex input"),
    (dict(in2=np.ones((2, 2), complex)), TypeError, r"complex input"),
    (dict(fillvalue=1j), TypeError, r"fillvalue=1j must be real"),
    (dict(fillvalue="x"), ValueError, r"fillvalue='x' must be a real scalar"),
    (dict(in2=np.ones((2, 9)), mode="valid"), ValueError, r"valid mode one of in1"),
    (dict(num_threads=0), ValueError, r"num_threads=0 must be >= 1"),
]


@pytest.mark.parametrize("fn", [correlate2d, convolve2d])
@pytest.mark.parametrize("kwargs,exc,match", BAD, ids=[m for _, _, m in BAD])
def test_bad_inputs(fn, kwargs, exc, match):
    kw = dict(in1=np.ones((5, 5)), in2=np.ones((2, 2)))
    kw.update(kwargs)
    with pytest.raises(exc, match=match):
        fn(**kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "symmetric", "replicate", "circular"])
def test_pad_window_equals_numpy_pad(mode, dtype):
    """The FFT path cuts its tiles with _pack.pad_window: every window of the padded plane,
    also far outside it, from strided and reversed views, into strided parts of complex
    arrays, equals numpy.pad."""
    from fastconv import _args, _pack

    code, np_mode = _args.PADDING_MODES[mode]
    r = np.random.default_rng(11)
    base = r.standard_normal((12, 40)).astype(dtype)
    planes = [
        base[:1, :1],
        base[:1, :9],
        base[:7, :1],
        base[:5, :6],
        base[::2, 1::3],
        base[::-1, ::-2],
        base[2:9, 3:30],
    ]
    for plane in planes:
        H, W = plane.shape
        m = 45  # padding on every side, larger than every plane
        extra = {"constant_values": 2.5} if np_mode == "constant" else {}
        ref = np.pad(plane, m, mode=np_mode, **extra)
        for _ in range(25):
            h, w = r.integers(1, 30, size=2)
            r0 = int(r.integers(-m, H + m - h + 1))
            c0 = int(r.integers(-m, W + m - w + 1))
            # a plain array, and the imaginary part of a complex one (the FFT path's pairs)
            whole = np.full((h, w), np.nan, np.result_type(dtype, np.complex64))
            dst = np.full((h, w), np.nan, dtype) if r.integers(2) else whole.imag
            before = plane.copy()
            _pack.pad_window(plane, dst, r0, c0, code, 2.5)
            np.testing.assert_array_equal(
                dst,
                ref[r0 + m : r0 + m + h, c0 + m : c0 + m + w],
                err_msg=str((plane.shape, plane.strides, r0, c0, h, w)),
            )
            np.testing.assert_array_equal(plane, before)


def test_fft_threads_stop_and_raise_on_failure():
    """A tile that fails stops the other threads and its error reaches the caller, who
    returns only after every thread is done."""
    import threading
    import time

    done = []
    lock = threading.Lock()

    def work(i):
        if i == 3:
            raise MemoryError("tile 3")
        time.sleep(0.002)
        with lock:
            done.append(i)

    for nt in (1, 2, 3):
        done.clear()
        with pytest.raises(MemoryError, match="tile 3"):
            fastconv._fft._share(nt, 1000, work)
        count = len(done)
        time.sleep(0.05)
        assert len(done) == count < 20, nt  # nothing ran after the call returned
    done.clear()
    fastconv._fft._share(2, 50, lambda i: done.append(i))
    assert sorted(done) == list(range(50))


def test_auto_method_rule():
    """ "auto": direct up to 3x3, separable for rank-1 kernels, the FFT from FFT_MIN_TAPS
    taps on planes of FFT_MIN_PIXELS, else direct; the pick runs and agrees with SciPy."""
    from fastconv import _plan, _tuning
    from fastconv import signal as fs

    r = np.random.default_rng(4)
    big = _tuning.FFT_MIN_PIXELS
    taps = _tuning.FFT_MIN_TAPS[_plan.vector_bytes()]
    side = int(np.ceil(np.sqrt(taps)))
    k = r.standard_normal((side, side))
    assert fs.auto_method(k, big) == "fft"
    assert fs.auto_method(k, big - 1) == "direct"
    assert fs.auto_method(k[:, : side - 2], big) == "direct" or side * (side - 2) >= taps
    assert fs.auto_method(r.standard_normal((3, 3)), big) == "direct"
    assert fs.auto_method(np.outer(r.standard_normal(side), r.standard_normal(side)), big) == "separable"
    a = r.standard_normal((520, 1010)).astype(np.float32)  # same-mode output: 525200 pixels
    got = correlate2d(a, k.astype(np.float32), mode="same", boundary="symm")
    ref = _scipy("correlate2d", a, k, "same", "symm")
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6 * np.abs(ref).max())
