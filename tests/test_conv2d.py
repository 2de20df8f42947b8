"""conv2d against the SciPy reference (and PyTorch when installed)."""

import numpy as np
import pytest

import fastconv
from fastconv import _pack, _plan, _tuning

import helpers
from conftest import requires_torch
from helpers import MODES, conv2d, random_config
from reference import NUMPY_PAD, conv2d_ref

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def _close(got, ref, dtype, terms):
    """Per-dtype tolerance, scaled with the number of accumulated terms."""
    atol = {np.float32: 3e-6, np.float64: 1e-13}[dtype] * max(terms, 1) ** 0.5 * 4
    np.testing.assert_allclose(got, ref, rtol=RTOL[dtype], atol=atol)


def check_config_vs_reference(cfg, seed, dtype):
    """Run conv2d on random data for one random_config against the float64 reference;
    return the result."""
    r = np.random.default_rng(seed)
    x = r.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(dtype)
    w = r.standard_normal((cfg["Cout"], cfg["C"] // cfg["groups"]) + cfg["k"]).astype(dtype)
    b = r.standard_normal(cfg["Cout"]).astype(dtype) if cfg["bias"] else None
    t, bo, l, rr = cfg["pads"]
    got = conv2d(
        x,
        w,
        b,
        stride=cfg["stride"],
        padding=((t, bo), (l, rr)),
        dilation=cfg["dilation"],
        groups=cfg["groups"],
        padding_mode=cfg["mode"],
    )
    ref = conv2d_ref(x, w, b, cfg["stride"], cfg["pads"], cfg["dilation"], cfg["groups"], cfg["mode"])
    assert got.dtype == dtype and got.shape == ref.shape
    assert got.flags.c_contiguous
    _close(got, ref, dtype, w[0].size)
    return got


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(60))
def test_random_grid_vs_scipy(seed, dtype, vector_width):
    check_config_vs_reference(random_config(seed), 1000 + seed, dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pad", [0, 1, 4, 9, 23])
def test_any_padding_size_equals_numpy_pad(mode, pad, rng):
    """Every mode at padding sizes up to several times the input equals numpy.pad."""
    x = rng.standard_normal((1, 2, 5, 4))
    w = rng.standard_normal((3, 2, 3, 2))
    got = conv2d(x, w, padding=pad, padding_mode=mode)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode=NUMPY_PAD[mode])
    ref = conv2d_ref(xp, w)
    _close(got, ref, np.float64, 12)


@pytest.mark.parametrize("mode", MODES)
def test_one_pixel_input_all_modes(mode):
    x = np.array([[[[3.0]]]])
    w = np.ones((1, 1, 3, 3))
    got = conv2d(x, w, padding=1, padding_mode=mode)
    ref = conv2d_ref(x, w, pads=(1, 1, 1, 1), padding_mode=mode)
    _close(got, ref, np.float64, 9)


@pytest.mark.parametrize(
    "shape,k,stride,dilation",
    [
        ((1, 1, 1, 50), (1, 3), 1, 1),  # 1 x N image
        ((1, 1, 50, 1), (3, 1), 1, 1),  # N x 1 image
        ((2, 3, 7, 7), (7, 7), 1, 1),  # kernel = input
        ((1, 2, 9, 9), (2, 2), 5, 1),  # stride > kernel
        ((1, 1, 40, 40), (3, 3), 1, 15),  # huge dilation
        ((1, 1, 30, 300), (2, 3), (7, 97), 1),  # huge stride
        ((1, 4, 3, 70), (3, 3), 1, (1, 30)),  # dilation needing the tap layout
    ],
)
def test_extreme_geometry(shape, k, stride, dilation, rng, vector_width):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((3, shape[1]) + k)
    got = conv2d(x, w, stride=stride, dilation=dilation)
    s = stride if isinstance(stride, tuple) else (stride, stride)
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    _close(got, conv2d_ref(x, w, stride=s, dilation=d), np.float64, w[0].size)


def test_huge_zero_padding_with_huge_stride(rng):
    """Padding and stride far larger than the image: only the rows/columns read are packed."""
    x = rng.standard_normal((1, 1, 3, 3))
    w = rng.standard_normal((1, 1, 2, 2))
    got = conv2d(x, w, stride=10**6, padding=10**6 - 1)
    # windows start at -999999 (all padding) and at 1 (real pixels 1..2 on each axis)
    ref = np.zeros((1, 1, 2, 2))
    ref[0, 0, 1, 1] = np.sum(x[0, 0, 1:3, 1:3] * w[0, 0])
    np.testing.assert_allclose(got, ref, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_depthwise_and_wide_channels(dtype, rng, vector_width):
    x = rng.standard_normal((2, 16, 12, 37)).astype(dtype)
    w = rng.standard_normal((32, 1, 3, 3)).astype(dtype)  # depthwise multiplier 2
    b = rng.standard_normal(32).astype(dtype)
    got = conv2d(x, w, b, padding=1, groups=16)
    _close(got, conv2d_ref(x, w, b, pads=(1, 1, 1, 1), groups=16), dtype, 9)
    w2 = rng.standard_normal((13, 16, 3, 3)).astype(dtype)
    got2 = conv2d(x, w2, stride=2, padding="same")
    _close(got2, conv2d_ref(x, w2, stride=(2, 2), pads=(0, 1, 1, 1)), dtype, 144)


# --------------------------------------------------------------- padding strings


@pytest.mark.parametrize(
    "H,k,s,d", [(28, 5, 1, 1), (28, 4, 1, 1), (7, 3, 2, 1), (10, 3, 3, 2), (9, 4, 2, 3), (5, 1, 4, 1)]
)
def test_same_padding(H, k, s, d, rng):
    x = rng.standard_normal((1, 2, H, H + 3))
    w = rng.standard_normal((2, 2, k, k))
    got = conv2d(x, w, stride=s, dilation=d, padding="same")
    assert got.shape[2:] == (-(-H // s), -(-(H + 3) // s))
    pads = []
    for n in (H, H + 3):
        out = -(-n // s)
        total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
        pads += [total // 2, total - total // 2]
    _close(got, conv2d_ref(x, w, stride=(s, s), pads=tuple(pads), dilation=(d, d)), np.float64, 2 * k * k)


def test_valid_padding_and_pair_forms(rng):
    x = rng.standard_normal((1, 1, 8, 9))
    w = rng.standard_normal((1, 1, 3, 3))
    np.testing.assert_array_equal(conv2d(x, w, padding="valid"), conv2d(x, w))
    np.testing.assert_array_equal(conv2d(x, w, padding=(1, 2)), conv2d(x, w, padding=((1, 1), (2, 2))))
    np.testing.assert_array_equal(conv2d(x, w, padding=[2, 2]), conv2d(x, w, padding=2))


# --------------------------------------------------------------- textbook examples


def test_textbook_two_input_channels():
    X = np.array([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], dtype=np.float32)
    K = np.array([[[0, 1], [2, 3]], [[1, 2], [3, 4]]], dtype=np.float32)
    np.testing.assert_array_equal(conv2d(X, K[None])[0], [[56, 72], [104, 120]])
    stacked = np.stack([K, K + 1, K + 2])
    np.testing.assert_array_equal(
        conv2d(X, stacked), [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]]
    )


def test_one_by_one_is_matmul(rng):
    x = rng.standard_normal((2, 5, 6, 7))
    w = rng.standard_normal((4, 5, 1, 1))
    ref = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x)
    np.testing.assert_allclose(conv2d(x, w), ref, rtol=1e-12, atol=1e-12)


def test_output_sizes():
    x = np.zeros((1, 1, 7, 7))
    w = np.zeros((1, 1, 3, 3))
    assert conv2d(x, w).shape == (1, 1, 5, 5)
    assert conv2d(x, w, stride=2).shape == (1, 1, 3, 3)
    assert conv2d(np.zeros((1, 28, 28)), np.zeros((1, 1, 5, 5)), padding="same").shape == (1, 28, 28)


# --------------------------------------------------------------- arrays, dtypes, out=


def test_unbatched_and_empty_batch(rng):
    x = rng.standard_normal((3, 10, 10)).astype(np.float32)
    w = rng.standard_normal((6, 3, 5, 5)).astype(np.float32)
    y = conv2d(x, w)
    assert y.shape == (6, 6, 6)
    np.testing.assert_array_equal(y, conv2d(x[None], w)[0])
    empty = conv2d(np.zeros((0, 3, 10, 10), np.float32), w)
    assert empty.shape == (0, 6, 6, 6) and empty.dtype == np.float32


@pytest.mark.parametrize("layout", ["fortran", "negative", "sliced", "bigendian", "unaligned", "readonly", "broadcast"])
def test_any_input_layout(layout, rng):
    base = rng.standard_normal((2, 3, 11, 13))
    w = rng.standard_normal((4, 3, 3, 3))
    if layout == "fortran":
        x = np.asfortranarray(base)
    elif layout == "negative":
        x = base[:, ::-1, ::-1, ::-1]
    elif layout == "sliced":
        big = rng.standard_normal((4, 6, 22, 39))
        x = big[::2, ::2, ::2, ::3]
    elif layout == "bigendian":
        x = base.astype(">f8")
    elif layout == "unaligned":
        raw = np.zeros(base.nbytes + 1, dtype=np.uint8)
        x = raw[1:].view(np.float64).reshape(base.shape)
        x[...] = base
        assert not x.flags.aligned
    elif layout == "readonly":
        x = base.copy()
        x.flags.writeable = False
    else:  # broadcast: zero strides
        x = np.broadcast_to(base[:1, :1], base.shape)
    before = np.array(x, copy=True)
    got = conv2d(x, w, padding=1, padding_mode="reflect")
    np.testing.assert_array_equal(x, before)  # the input is untouched
    ref = conv2d_ref(np.array(x), w, pads=(1, 1, 1, 1), padding_mode="reflect")
    _close(got, ref, np.float64, 27)
    # also through a strided weight
    got2 = conv2d(x, np.asfortranarray(w)[:, :, ::-1, ::-1], padding=1)
    _close(got2, conv2d_ref(np.array(x), w[:, :, ::-1, ::-1], pads=(1, 1, 1, 1)), np.float64, 27)


@pytest.mark.parametrize(
    "dt,expect",
    [
        (np.uint8, np.float32),
        (np.int16, np.float32),
        (np.int32, np.float64),
        (np.int64, np.float64),
        (np.float16, np.float32),
        (np.bool_, np.float32),
    ],
)
def test_dtype_promotion(dt, expect, rng):
    x = rng.integers(0, 2 if dt is np.bool_ else 50, size=(1, 2, 6, 6)).astype(dt)
    w = rng.integers(0, 2 if dt is np.bool_ else 5, size=(2, 2, 3, 3)).astype(dt)
    got = conv2d(x, w)
    assert got.dtype == expect
    # small integers: exact in float32 and float64
    np.testing.assert_array_equal(got, conv2d_ref(x, w))


def test_mixed_float_dtypes(rng):
    x = rng.standard_normal((1, 1, 5, 5)).astype(np.float32)
    w = rng.standard_normal((1, 1, 2, 2))
    assert conv2d(x, w).dtype == np.float64
    assert conv2d(x, w.astype(np.float16)).dtype == np.float32


def test_out_argument(rng):
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    ref = conv2d(x, w)
    out = np.full(ref.shape, np.nan, np.float32)
    res = conv2d(x, w, out=out)
    assert res is out
    np.testing.assert_array_equal(out, ref)
    # a non-contiguous out is filled through a temporary
    big = np.zeros((2, 4, 7, 14), np.float32)
    res = conv2d(x, w, out=big[:, :, :, ::2])
    np.testing.assert_array_equal(big[:, :, :, ::2], ref)
    assert np.all(big[:, :, :, 1::2] == 0)
    # unbatched out
    out1 = np.empty(ref.shape[1:], np.float32)
    np.testing.assert_array_equal(conv2d(x[0], w, out=out1), ref[0])


def test_out_overlapping_input(rng):
    x = rng.standard_normal((1, 2, 8, 8))
    w = rng.standard_normal((2, 2, 1, 1))
    ref = conv2d(x, w)
    conv2d(x, w, out=x)  # in place: same shape, overlapping
    np.testing.assert_allclose(x, ref)


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_give_identical_results(dtype, rng):
    x = rng.standard_normal((3, 8, 40, 37)).astype(dtype)
    w = rng.standard_normal((10, 8, 3, 3)).astype(dtype)
    one = conv2d(x, w, padding=1, num_threads=1)
    two = conv2d(x, w, padding=1, num_threads=2)
    many = conv2d(x, w, padding=1, num_threads=7)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, many)


def test_openmp_not_silently_lost():
    """A normal build on a machine with OpenMP must be parallel."""
    import os

    if os.environ.get("FASTCONV_NO_OPENMP"):
        pytest.skip("built with FASTCONV_NO_OPENMP")
    assert fastconv.openmp_enabled(), "the extension was built without OpenMP"


def test_set_num_threads_roundtrip():
    old = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(1)
        assert fastconv.get_num_threads() == 1
        fastconv.set_num_threads(3)
        assert fastconv.get_num_threads() == 3
    finally:
        fastconv.set_num_threads(None)
    assert fastconv.get_num_threads() == old
    with pytest.raises(ValueError, match="n=0 must be >= 1"):
        fastconv.set_num_threads(0)
    with pytest.raises(TypeError, match="must be an int"):
        fastconv.set_num_threads(2.5)


def test_threadpoolctl_limits_default_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fastconv.get_num_threads() == 1


# --------------------------------------------------------------- bad inputs

X4 = np.zeros((1, 4, 8, 8))
W4 = np.zeros((2, 4, 3, 3))

BAD = [
    (dict(input=np.zeros((8, 8))), ValueError, r"input must be 3-D .* or 4-D"),
    (dict(input=np.zeros((1, 1, 4, 8, 8))), ValueError, r"input must be 3-D"),
    (dict(weight=np.zeros((2, 4, 3))), ValueError, r"weight must be 4-D"),
    (dict(weight=np.zeros((2, 3, 3, 3))), ValueError, r"weight.shape\[1\]=3 must equal in_channels / groups"),
    (dict(groups=3), ValueError, r"groups=3 must divide in_channels=4"),
    (dict(groups=4, weight=np.zeros((6, 1, 3, 3))), ValueError, r"groups=4 must divide out_channels=6"),
    (dict(groups=0), ValueError, r"groups=0 must be >= 1"),
    (dict(stride=0), ValueError, r"stride=0 must be >= 1"),
    (dict(stride=(1, -2)), ValueError, r"stride=-2 must be >= 1"),
    (dict(stride=1.5), TypeError, r"stride must be an int"),
    (dict(stride=(1, 2, 3)), ValueError, r"stride=\(1, 2, 3\) must be an int, a pair"),
    (dict(dilation=0), ValueError, r"dilation=0 must be >= 1"),
    (dict(padding=-1), ValueError, r"padding=-1 must be >= 0"),
    (dict(padding=((1, -1), (0, 0))), ValueError, r"padding=-1 must be >= 0"),
    (dict(padding="full"), ValueError, r"padding='full' must be 'valid', 'same'"),
    (dict(padding=10**12), ValueError, r"padding=1000000000000 is too large"),
    (dict(padding=10**9), ValueError, r"result would have shape .* padding=1000000000 is too large"),
    (dict(padding_mode="mirror"), ValueError, r"padding_mode='mirror' must be one of"),
    (dict(bias=np.zeros(3)), ValueError, r"bias must have shape \(C_out,\) = \(2,\), got \(3,\)"),
    (dict(input=np.zeros((1, 4, 8, 8), complex)), TypeError, r"complex input"),
    (dict(weight=W4.astype(np.complex64)), TypeError, r"complex input"),
    (dict(input=np.array([["a"]])), TypeError, r"input must be a numeric array"),
    (dict(input=np.zeros((1, 4, 8, 8), np.longdouble)), TypeError, r"promote to .*float32 and float64"),
    (dict(input=np.zeros((1, 4, 2, 2))), ValueError, r"larger than the padded input"),
    (dict(dilation=4), ValueError, r"spans \(9, 9\), larger than the padded input \(8, 8\)"),
    (dict(input=np.zeros((1, 4, 0, 8))), ValueError, r"empty spatial dimension"),
    (dict(num_threads=0), ValueError, r"num_threads=0 must be >= 1"),
    (dict(num_threads="2"), TypeError, r"num_threads must be an int"),
    (
        dict(out=np.zeros((1, 2, 5, 5))),
        ValueError,
        r"out has shape \(1, 2, 5, 5\), the result has shape \(1, 2, 6, 6\)",
    ),
    (dict(out=np.zeros((1, 2, 6, 6), np.float32)), TypeError, r"out has dtype float32, the result has dtype float64"),
    (dict(out=[0.0]), TypeError, r"out must be a NumPy ndarray"),
    (dict(algorithm="winograd9"), ValueError, r"algorithm='winograd9' must be one of"),
]


@pytest.mark.parametrize("kwargs,exc,match", BAD, ids=[m for _, _, m in BAD])
def test_bad_inputs(kwargs, exc, match):
    kw = dict(input=X4, weight=W4)
    kw.update(kwargs)
    with pytest.raises(exc, match=match):
        conv2d(**kw)


def test_readonly_out_rejected():
    out = np.zeros((1, 2, 6, 6))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        conv2d(X4, W4, out=out)


# --------------------------------------------------------------- PyTorch


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(40))
def test_random_grid_vs_torch(seed, dtype, vector_width):
    import torch
    import torch.nn.functional as F

    cfg = random_config(seed)
    r = np.random.default_rng(2000 + seed)
    x = r.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(dtype)
    w = r.standard_normal((cfg["Cout"], cfg["C"] // cfg["groups"]) + cfg["k"]).astype(dtype)
    b = r.standard_normal(cfg["Cout"]).astype(dtype) if cfg["bias"] else None
    t, bo, l, rr = cfg["pads"]
    mode = cfg["mode"]
    if mode == "symmetric" or (mode == "reflect" and max(t, bo) >= cfg["H"] or max(l, rr) >= cfg["W"]):
        mode = "zeros"  # torch lacks symmetric and limits reflect to pads < size
    if mode == "circular" and (max(t, bo) > cfg["H"] or max(l, rr) > cfg["W"]):
        mode = "zeros"
    got = conv2d(
        x,
        w,
        b,
        stride=cfg["stride"],
        padding=((t, bo), (l, rr)),
        dilation=cfg["dilation"],
        groups=cfg["groups"],
        padding_mode=mode,
    )
    tx = torch.from_numpy(x)
    tmode = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect", "circular": "circular"}[mode]
    tx = F.pad(tx, (l, rr, t, bo), mode=tmode)
    ref = F.conv2d(
        tx,
        torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        stride=cfg["stride"],
        dilation=cfg["dilation"],
        groups=cfg["groups"],
    ).numpy()
    assert got.shape == ref.shape
    _close(got, ref, dtype, w[0].size)


@requires_torch
def test_float32_error_no_worse_than_torch():
    """float32 accumulation error against float64 is of PyTorch's order on a deep reduction."""
    import torch
    import torch.nn.functional as F

    r = np.random.default_rng(7)
    x = r.standard_normal((1, 128, 20, 20)).astype(np.float32)
    w = r.standard_normal((16, 128, 5, 5)).astype(np.float32)
    ref = conv2d(x.astype(np.float64), w.astype(np.float64), padding=2)
    ours = np.abs(conv2d(x, w, padding=2) - ref).max()
    theirs = np.abs(F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=2).numpy() - ref).max()
    assert ours <= 4 * theirs + 1e-5, (ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "N,C,H,W,Cout,k,groups,stride,dilation,pad",
    [
        (2, 3, 19, 37, 3, (5, 3), 3, (1, 2), (1, 2), (2, 1)),  # depthwise, tall kernel
        (1, 1, 9, 70, 1, (7, 7), 1, 1, 1, 3),  # one channel, fewer rows than a tile
        (1, 2, 40, 33, 2, (15, 4), 2, (1, 3), 1, (7, 0)),  # 15 rows, several tiles per band
        (1, 1, 5, 5, 1, (5, 5), 1, 1, 1, 0),  # a single output row
    ],
)
def test_one_channel_row_blocked_path(dtype, mode, N, C, H, W, Cout, k, groups, stride, dilation, pad, rng):
    """kH >= 5 with stride and dilation 1 in height and one output channel per group takes the
    row-blocked tile."""
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((Cout, C // groups) + k).astype(dtype)
    b = rng.standard_normal(Cout).astype(dtype)
    got = conv2d(x, w, b, stride, pad, dilation, groups, mode)
    s = stride if isinstance(stride, tuple) else (stride, stride)
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    p = pad if isinstance(pad, tuple) else (pad, pad)
    _close(got, conv2d_ref(x, w, b, s, (p[0], p[0], p[1], p[1]), d, groups, mode), dtype, w[0].size)


def test_geometry_memo_keeps_validation():
    """The memoised geometry of plain parameters must not let equal-hashing values through
    (True == 1), nor change any result."""
    from fastconv import _args

    x = np.ones((1, 2, 9, 9), np.float32)
    w = np.ones((3, 2, 3, 3), np.float32)
    a = conv2d(x, w, stride=1, padding=1)
    with pytest.raises(TypeError, match="stride must be an int"):
        conv2d(x, w, stride=True, padding=1)
    with pytest.raises(TypeError, match="padding must be an int"):
        conv2d(x, w, stride=1, padding=(True, 1))
    np.testing.assert_array_equal(conv2d(x, w, stride=np.int64(1), padding=[1, 1]), a)
    _args._GEOMETRY_CACHE.clear()
    np.testing.assert_array_equal(conv2d(x, w, stride=(1, 1), padding=((1, 1), (1, 1))), a)
    for shape in [(1, 2, 9, 9), (1, 2, 9, 10), (2, 9, 9)]:  # same parameters, other shapes
        got = conv2d(np.ones(shape, np.float32), w, stride=1, padding=1)
        assert got.shape[-1] == shape[-1]


@pytest.fixture
def channel_lanes_everywhere():
    """Let the channel-lane tiles take every shape whose channels fill them."""
    over = {"LANES_MIN_TAPS": 0, "LANES_ONE_VECTOR_FILL": 1.01, "LANES_MIXED_FILL": 1.01}
    helpers.FORCING["tuning"].update(over)
    try:
        yield
    finally:
        for k in over:
            helpers.FORCING["tuning"].pop(k, None)


@pytest.mark.parametrize("blocks", ["one", "two", "mixed"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(24))
def test_channel_lane_tiles_random_grid(seed, dtype, blocks, vector_width, channel_lanes_everywhere):
    """Channel-lane tiles (output channels in the vector lanes) over the random geometry grid:
    channels per group one vector, a multiple of two vectors, or an odd number of vectors
    (two-vector blocks and a one-vector last block), every padding mode, stride, dilation,
    group count, and widths that leave a narrower last tile (or none)."""
    cfg = random_config(700 + seed)
    vl = vector_width // np.dtype(dtype).itemsize
    k = int(np.random.default_rng(seed).integers(1, 3))
    coutg = {"one": vl, "two": 2 * vl * k, "mixed": vl * (2 * k + 1)}[blocks]
    cfg["Cout"] = coutg * cfg["groups"]
    got = check_config_vs_reference(cfg, 2000 + seed, dtype)
    kh, kw = cfg["k"]
    assert _plan.lane_vectors(coutg, 1, got.shape[-1], vl, kh * kw == 1, helpers.table()) == (
        1 if blocks == "one" else 2
    )


@pytest.mark.parametrize("lanes", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(12))
def test_one_by_one_any_channel_count(seed, dtype, lanes, vector_width):
    """1x1 kernels on the channel-lane tiles (forced) with every class of channel count (a
    partial last vector, a one-vector last block after two-vector ones, fewer channels than
    one vector), reading the input in place where no padding is read, also through odd
    strides; and on the column tiles (lanes=False).  Against the float64 reference."""
    r = np.random.default_rng(900 + seed)
    vl = vector_width // np.dtype(dtype).itemsize
    coutg = [1, 3, vl - 1, vl, vl + 1, 2 * vl - 3, 2 * vl, 2 * vl + 5, 3 * vl, 3 * vl + vl // 2, 5 * vl, 4 * vl + 1][
        seed
    ]
    groups = int(r.choice([1, 1, 2]))
    cg = int(r.integers(1, 40))
    N, H, W = int(r.integers(1, 3)), int(r.integers(1, 20)), int(r.integers(1, 60))
    in_place = seed % 2 == 0
    stride = (1, 1) if in_place else tuple(int(v) for v in r.choice([1, 2, 3], size=2))
    pads = (0, 0, 0, 0) if in_place else tuple(int(v) for v in r.integers(0, 3, size=4))
    mode = MODES[seed % len(MODES)]
    # an input that is a view: channels and rows far apart (and reversed rows), columns
    # contiguous, as the in-place tiles need
    big = r.standard_normal((N, 2 * cg * groups, H + 3, W + 5)).astype(dtype)
    x = big[:, ::2, ::-1][:, :, 1 : H + 1, 2 : W + 2]
    x_before = x.copy()
    w = r.standard_normal((coutg * groups, cg, 1, 1)).astype(dtype)
    b = r.standard_normal(coutg * groups).astype(dtype) if seed % 3 else None
    helpers.FORCING["tuning"]["LANES_1X1"] = 2 if lanes else 0
    try:
        if lanes:
            assert _plan.lane_vectors(coutg, cg, W, vl, True, helpers.table()) == (2 if coutg > vl else 1)
        got = conv2d(
            x, w, b, stride=stride, padding=((pads[0], pads[1]), (pads[2], pads[3])), groups=groups, padding_mode=mode
        )
    finally:
        helpers.FORCING["tuning"].pop("LANES_1X1")
    ref = conv2d_ref(x, w, b, stride, pads, (1, 1), groups, mode)
    _close(got, ref, dtype, cg)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_channel_lane_tiles_default_threshold(dtype, vector_width, rng):
    """A channel-heavy shape that takes the channel-lane tiles by default, against SciPy."""
    vl = vector_width // np.dtype(dtype).itemsize
    x = rng.standard_normal((2, 32, 13, 23)).astype(dtype)
    w = rng.standard_normal((4 * vl, 32, 3, 3)).astype(dtype)
    b = rng.standard_normal(4 * vl).astype(dtype)
    assert _plan.lane_vectors(4 * vl, 32 * 9, 23, vl) == 2
    assert _plan.lane_vectors(vl, 6 * 25, vl * 5 // 8, vl) == 1  # narrow rows (LeNet conv2: 10 in 16)
    assert _plan.lane_vectors(3 * vl, 64 * 9, 4 * vl, vl) == 0  # column tiles fill every lane
    assert _plan.lane_vectors(3 * vl, 64 * 9, 3 * vl + vl // 2, vl) == 2  # 87.5%: mixed blocks
    # 1x1: any channel count from half a vector where the input channels and rows make
    # the channel-lane tiles pay (the rule), not with few input channels on wide rows
    assert _plan.lane_vectors(3 * vl + 1, 64, 16 * vl, vl, True) == 2
    assert _plan.lane_vectors(vl // 2, 16, 3 * vl + vl // 2, vl, True) == 1
    assert _plan.lane_vectors(3 * vl, 4, 2 * vl + vl // 2, vl, True) == 2
    assert _plan.lane_vectors(3 * vl, 4, 16 * vl, vl, True) == 0
    # whole vectors of output channels from LANES_1X1_MIN_CHANNELS input channels, any rows
    assert _plan.lane_vectors(vl, 16, 16 * vl, vl, True) == 1
    assert _plan.lane_vectors(vl, 8, 16 * vl, vl, True) == 0
    assert _plan.lane_vectors(6 * vl, 16, 7 * vl, vl, True) == 2
    assert _plan.lane_vectors(vl // 2, 16, 7 * vl, vl, True) == 0  # half a vector: column tiles
    assert _plan.lane_vectors(vl // 2 - 1, 64, 3 * vl + vl // 2, vl, True) == 0
    got = conv2d(x, w, b, padding=1, padding_mode="reflect")
    ref = conv2d_ref(x, w, b, (1, 1), (1, 1, 1, 1), (1, 1), 1, "reflect")
    _close(got, ref, dtype, w[0].size)


@pytest.mark.parametrize("nov", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(16))
def test_channel_lane_tiles_unpadded_in_place(seed, dtype, nov, vector_width, channel_lanes_everywhere, in_place):
    """Unpadded convolutions with column stride 1, where the channel-lane tiles read the input
    in place (no packed band), against the same with bands and the float64 reference: row
    stride and dilation, column dilation, groups, bottom padding that the last row does or
    does not reach, and views with a negative, sliced or reversed channel or row stride."""
    r = np.random.default_rng(5000 + seed)
    vl = vector_width // np.dtype(dtype).itemsize
    groups = int(r.choice([1, 2]))
    cg = int(r.integers(1, 5))
    coutg = 2 * vl if nov == 2 else vl
    kH, kW = (int(v) for v in r.integers(1, 5, size=2))
    sh, dh, dw = (int(v) for v in r.choice([1, 1, 2, 3], size=3))
    H = int(r.integers(dh * (kH - 1) + 1, 30))
    W = int(r.integers(dw * (kW - 1) + 1, 45))
    bottom = int(r.integers(0, 2)) * sh  # a row stride > 1 may never reach the padded rows
    base = r.standard_normal((3, 2 * cg * groups, H + 2, W)).astype(dtype)
    views = [
        base[:2, : cg * groups, :H],
        base[::2, ::2, 1 : H + 1],
        base[1:, cg * groups - 1 :: -1, H - 1 :: -1],
        base[:, cg * groups :, 2:][:, :, ::-1],
    ]
    x = views[seed % len(views)]
    w = r.standard_normal((coutg * groups, cg, kH, kW)).astype(dtype)
    b = r.standard_normal(coutg * groups).astype(dtype) if seed % 3 else None
    x_before = x.copy()
    got = conv2d(x, w, b, stride=(sh, 1), padding=((0, bottom), (0, 0)), dilation=(dh, dw), groups=groups)
    ref = conv2d_ref(np.ascontiguousarray(x), w, b, (sh, 1), (0, bottom, 0, 0), (dh, dw), groups)
    _close(got, ref, dtype, w[0].size)
    np.testing.assert_array_equal(x, x_before)


# ------------------------------------------------- in-place kernel (one input channel)


@pytest.fixture(params=[2, 0], ids=["in_place", "bands"])
def in_place(request):
    """Run a test with the in-place kernels for every shape whose layout allows them (one
    input channel per output channel; channel-lane tiles that read no padding), then with
    packed bands only, so both paths serve the convolutions under test."""
    helpers.FORCING["tuning"]["IN_PLACE"] = request.param
    try:
        yield request.param
    finally:
        helpers.FORCING["tuning"].pop("IN_PLACE")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(30))
def test_one_input_channel_random_grid(seed, dtype, vector_width, in_place):
    """Depthwise and single-channel convolutions (one input channel per output channel) over
    the random geometry grid, mostly with column stride 1 (the in-place kernel's domain)."""
    cfg = random_config(3000 + seed)
    cfg["C"] = cfg["groups"]
    if seed % 4:
        cfg["stride"] = (cfg["stride"][0], 1)
    check_config_vs_reference(cfg, 4000 + seed, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape,k,pad,mode,stride,dilation,groups,cout",
    [
        ((2, 3, 9, 5), (3, 3), 1, "zeros", 1, 1, 3, 3),  # rows narrower than a vector
        ((1, 2, 11, 40), (3, 5), 20, "reflect", 1, 1, 2, 2),  # padding wider than a vector
        ((1, 1, 40, 37), (5, 2), (3, 9), "circular", 1, (2, 7), 1, 1),  # dilated, uneven pads
        ((1, 2, 21, 3000), (3, 3), 1, "symmetric", 1, 1, 2, 2),  # wide rows: several row groups
        ((1, 1, 200, 70), (4, 3), 2, "replicate", (3, 1), (2, 1), 1, 1),  # row stride, dilation
        ((2, 4, 30, 33), (3, 3), 1, "zeros", 1, 1, 4, 12),  # channel multiplier 3
        ((1, 1, 3000, 17), (2, 1), 0, "zeros", 1, 1, 1, 1),  # one plane cut into row bands
    ],
)
def test_one_input_channel_edge_cases(
    shape, k, pad, mode, stride, dilation, groups, cout, dtype, vector_width, in_place, rng
):
    """Shapes that stress the in-place kernel's edge chunks, row groups and row bands."""
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((cout, 1) + k).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    x_before = x.copy()
    got = conv2d(x, w, b, stride=stride, padding=pad, dilation=dilation, groups=groups, padding_mode=mode)
    p = (pad, pad) if isinstance(pad, int) else pad
    s = (stride, stride) if isinstance(stride, int) else stride
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    ref = conv2d_ref(x, w, b, s, (p[0], p[0], p[1], p[1]), d, groups, mode)
    _close(got, ref, dtype, w[0].size)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_input_channel_strided_views(dtype, vector_width, in_place, rng):
    """Views: reversed rows (negative row stride) and columns (not contiguous: bands),
    a channel-sliced input, and a constant fill through correlate2d's fillvalue."""
    base = rng.standard_normal((2, 6, 19, 41)).astype(dtype)
    w = rng.standard_normal((3, 1, 3, 3)).astype(dtype)
    for x in (base[:, ::2, ::-1, :], base[:, 1:4, :, ::-1], base[:, :3, 2:, 1:-1]):
        got = conv2d(x, w, padding=1, groups=3)
        _close(got, conv2d_ref(np.ascontiguousarray(x), w, pads=(1, 1, 1, 1), groups=3), dtype, 9)
    from scipy import signal as ss

    img = base[0, 0]
    k = rng.standard_normal((3, 5)).astype(dtype)
    got = fastconv.correlate2d(img, k, mode="same", boundary="fill", fillvalue=2.5, method="direct")
    ref = ss.correlate2d(img.astype(np.float64), k.astype(np.float64), mode="same", boundary="fill", fillvalue=2.5)
    _close(got, ref, dtype, k.size)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(12))
def test_one_input_channel_3x3_constant_fill(seed, dtype, vector_width, in_place):
    """3x3 unit-stride depthwise layers with zero or constant padding, whose edge chunks read
    shifted vectors instead of edge buffers: widths around one and two vectors, paddings up
    to the kernel's reach and past it, uneven left/right padding, a constant fill."""
    r = np.random.default_rng(6000 + seed)
    vl = vector_width // np.dtype(dtype).itemsize
    W = int(r.choice([vl, vl + 1, vl + 2, 2 * vl - 1, 2 * vl + 3, 3 * vl + 5]))
    H = int(r.integers(1, 12))
    pads = (int(r.integers(0, 3)), int(r.integers(0, 3)), int(r.integers(0, 4)), int(r.integers(0, 4)))
    pads = (pads[0], pads[1] + max(0, 3 - H - pads[0] - pads[1]), pads[2], pads[3])
    x = r.standard_normal((2, 3, H, W)).astype(dtype)
    w = r.standard_normal((3, 1, 3, 3)).astype(dtype)
    b = r.standard_normal(3).astype(dtype)
    got = conv2d(x, w, b, padding=((pads[0], pads[1]), (pads[2], pads[3])), groups=3)
    _close(got, conv2d_ref(x, w, b, pads=pads, groups=3), dtype, 9)
    from scipy import signal as ss

    img = x[seed % 2, seed % 3]
    got = fastconv.correlate2d(img, w[0, 0], mode="full", boundary="fill", fillvalue=-1.5, method="direct")
    ref = ss.correlate2d(
        img.astype(np.float64), w[0, 0].astype(np.float64), mode="full", boundary="fill", fillvalue=-1.5
    )
    _close(got, ref, dtype, 9)


@pytest.fixture(params=["rule", "always", "streaming"])
def sweep_everywhere(request):
    """Run a test with the row sweep chosen by its measured width rule, then for every 3x3
    and 5x5 unit-stride layer whatever its width, so small planes cover the sweep's edge
    chunks, tails and row groups, then so again with streaming stores (AVX-512) whatever the
    output's size."""
    over = {}
    if request.param != "rule":
        over["SWEEP_MIN_ROW_BYTES"] = {3: 0, 5: 0}
    if request.param == "streaming":
        over["STREAM_MIN_BYTES"] = 0
    helpers.FORCING["tuning"].update(over)
    try:
        yield request.param
    finally:
        for k in over:
            helpers.FORCING["tuning"].pop(k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(16))
def test_one_input_channel_row_sweep(seed, dtype, vector_width, sweep_everywhere):
    """3x3 and 5x5 unit-stride layers with one input channel per output channel, swept
    along the rows: widths around one, two and three vectors (where the two-load chunks
    give way to the shifted last chunk) and past the width rule, heights that are not a
    multiple of the row block, output rows of whole vectors (streaming stores), every padding
    mode with uneven and over-wide paddings, reversed and sliced views, and a constant fill
    through correlate2d."""
    r = np.random.default_rng(7000 + seed)
    vl = vector_width // np.dtype(dtype).itemsize
    k = 3 if seed % 2 else 5
    W = int(r.choice([vl + k - 1, 2 * vl + k - 2, 2 * vl + k, 3 * vl + 1, 300, 1100]))
    H = int(r.integers(1, 14)) if W < 1000 else int(r.integers(1, 6))
    mode = MODES[seed % len(MODES)]
    if mode != "zeros":  # the reflecting modes pad by less than the plane's size
        H = max(H, k)
    top, left = int(r.integers(0, k)), int(r.integers(0, k))
    bottom = int(r.integers(0, k)) + max(0, k - H - top - int(r.integers(0, k)))
    right = int(r.integers(0, k + vl)) if mode == "zeros" else int(r.integers(0, k))
    if seed % 3 == 0:  # output rows a whole number of vectors: streaming stores apply
        W += -(W + left + right - k + 1) % vl
    pads = (top, bottom, left, right)
    base = r.standard_normal((2, 4, H + 2, W + 3)).astype(dtype)
    w = r.standard_normal((4, 1, k, k)).astype(dtype)
    b = r.standard_normal(4).astype(dtype)
    x_before = base.copy()
    for x in (base[:, :, 1:-1, 2:-1], base[:, ::-1, ::-1, :W]):
        got = conv2d(x, w, b, padding=((top, bottom), (left, right)), groups=4, padding_mode=mode)
        ref = conv2d_ref(np.ascontiguousarray(x), w, b, pads=pads, groups=4, padding_mode=mode)
        _close(got, ref, dtype, k * k)
    np.testing.assert_array_equal(base, x_before)
    from scipy import signal as ss

    img = base[0, 1, :H, :W]
    got = fastconv.correlate2d(img, w[1, 0], mode="same", boundary="fill", fillvalue=0.75, method="direct")
    ref = ss.correlate2d(
        img.astype(np.float64), w[1, 0].astype(np.float64), mode="same", boundary="fill", fillvalue=0.75
    )
    _close(got, ref, dtype, k * k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(16))
def test_one_input_channel_flat(seed, dtype, vector_width, in_place):
    """3x3 and 5x5 "same" layers with zero or constant padding and contiguous rows, which the
    in-place kernel walks as one long row per plane (column masks where taps cross a row
    end, a copy with fill for the rows at the top and bottom): widths at the edges of that
    rule (a vector plus the kernel's half-width less one; the byte limit), heights from one
    row (all border) to many, row bands (one plane on two threads), a channel multiplier, a
    constant fill through correlate2d, and a view with a row stride, which the rule leaves
    out."""
    r = np.random.default_rng(8000 + seed)
    isz = np.dtype(dtype).itemsize
    vl = vector_width // isz
    k = 3 if seed % 2 else 5
    h = k // 2
    wmax = 1024 // (h * isz)
    W = int(r.choice([vl + h - 2, vl + h - 1, vl + h, 2 * vl + 3, 56, wmax, wmax + 1]))
    H = int(r.choice([1, 2, k, int(r.integers(3, 13)), 40]))
    N, C, mult = (1, 1, 1) if seed % 4 == 0 else (2, 3, 1 + seed % 3 // 2)
    threads = int(r.choice([1, 2]))
    base = r.standard_normal((N, C, H, W + 2)).astype(dtype)
    w = r.standard_normal((C * mult, 1, k, k)).astype(dtype)
    b = r.standard_normal(C * mult).astype(dtype)
    before = base.copy()
    for x in (np.ascontiguousarray(base[..., 1:-1]), base[..., 1:-1]):
        got = conv2d(x, w, b, padding=h, groups=C, num_threads=threads)
        ref = conv2d_ref(np.ascontiguousarray(x), w, b, pads=(h, h, h, h), groups=C)
        _close(got, ref, dtype, k * k)
    np.testing.assert_array_equal(base, before)
    from scipy import signal as ss

    img = np.ascontiguousarray(base[0, 0, :, :W])
    got = fastconv.correlate2d(img, w[0, 0], mode="same", boundary="fill", fillvalue=-0.625, method="direct")
    ref = ss.correlate2d(
        img.astype(np.float64), w[0, 0].astype(np.float64), mode="same", boundary="fill", fillvalue=-0.625
    )
    _close(got, ref, dtype, k * k)


def test_in_place_rule():
    """The in-place kernel is chosen only where it was measured faster: small kernels on rows
    of moderate width, one input channel, column stride 1, contiguous columns."""
    assert _plan.in_place_ok(1, 1, 4, 3, 3, 56, 4)  # C7 (depthwise 3x3, 56 wide)
    assert _plan.in_place_ok(1, 1, 4, 5, 5, 224, 4)
    assert _plan.in_place_ok(1, 1, 4, 5, 5, 4096, 4)  # C9: wide rows, swept
    assert _plan.in_place_ok(1, 1, 4, 3, 3, 4096, 4)
    assert not _plan.in_place_ok(1, 1, 4, 5, 5, 4096, 4, 2)  # row stride 2: not swept
    assert not _plan.in_place_ok(1, 1, 4, 3, 3, 4096, 4, 1, 2)  # dilated rows: not swept
    assert not _plan.in_place_ok(1, 1, 4, 5, 3, 4096, 4)  # not square: not swept
    assert not _plan.in_place_ok(1, 1, 4, 15, 15, 1024, 4)  # C8: big kernel
    assert not _plan.in_place_ok(1, 1, 4, 7, 1, 512, 4)  # separable 7x1 column pass
    assert not _plan.in_place_ok(2, 1, 4, 3, 3, 56, 4)  # two input channels
    assert _plan.in_place_ok(1, 2, 4, 3, 3, 56, 4)  # column stride 2: one shuffle a tap
    assert not _plan.in_place_ok(1, 3, 4, 3, 3, 56, 4)  # column stride 3
    assert _plan.in_place_ok(1, 2, 4, 5, 5, 4096, 4, 2)  # column stride 2: wide rows too
    assert not _plan.in_place_ok(1, 2, 4, 7, 7, 4096, 4, 2)  # ... but not a 7x7 kernel
    assert not _plan.in_place_ok(1, 1, 8, 3, 3, 56, 4)  # columns not contiguous
    with pytest.raises(ValueError, match="not a fastconv._tuning name"):
        fastconv.conv._conv2d(
            np.ones((1, 1, 4, 4)),
            np.ones((1, 1, 3, 3)),
            None,
            1,
            0,
            1,
            1,
            "zeros",
            None,
            None,
            "auto",
            _plan.Force(tuning={"IN_PLACE_MODE": 2}),
        )


# ---- Winograd: algorithm="winograd" (F(2x2, 3x3)) and "winograd4" (F(4x4, 3x3)) ----

WINOGRAD = ["winograd", "winograd4"]
# F(4x4, 3x3) scales by up to 8 and 1/24 in its transforms: its float32 rounding error is
# about ten times the direct kernels' (14x measured over 64 channels), as documented.
WINOGRAD_ERR = {"winograd": 1, "winograd4": 16}


def winograd_ref(x, w, b, pads, groups, mode, dilation=(1, 1)):
    """3x3, unit stride, in float64: numpy.pad, then a NumPy sum over the nine (dilated) taps
    of each group's channel contraction (independent of the kernels and of SciPy)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    t, bo, l, r = pads
    dh, dw = dilation
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)), mode=NUMPY_PAD[mode])
    N, C, Hp, Wp = xp.shape
    Cout, Cg = w.shape[:2]
    Ho, Wo = Hp - 2 * dh, Wp - 2 * dw
    out = np.zeros((N, Cout, Ho, Wo))
    og = Cout // groups
    for g in range(groups):
        xs = xp[:, g * Cg : (g + 1) * Cg]
        ws = w[g * og : (g + 1) * og]
        for i in range(3):
            for j in range(3):
                out[:, g * og : (g + 1) * og] += np.einsum(
                    "oc,nchw->nohw", ws[:, :, i, j], xs[:, :, i * dh : i * dh + Ho, j * dw : j * dw + Wo]
                )
    if b is not None:
        out += np.asarray(b, np.float64)[None, :, None, None]
    return out


def winograd_config(seed):
    """Random 3x3 unit-stride layers: output blocks cut by the tile size, tile rows around
    one to three vectors of tiles, partial channel blocks, every padding mode and size."""
    r = np.random.default_rng(seed)
    groups = int(r.choice([1, 1, 2, 3]))
    cg = int(r.integers(1, 12)) if r.random() < 0.6 else int(r.integers(12, 40))
    coutg = int(r.integers(1, 12)) if r.random() < 0.6 else int(r.integers(12, 40))
    if groups > 1:
        cg, coutg = min(cg, 12), min(coutg, 12)
    H = int(r.integers(1, 24))
    W = int(r.integers(1, 24)) if r.random() < 0.5 else int(r.integers(24, 140))
    pads = [int(v) for v in r.integers(0, 4, size=4)]
    if r.random() < 0.15:
        pads = [int(v) for v in r.integers(0, 30, size=4)]
    pads[1] += max(0, 3 - (H + pads[0] + pads[1]))
    pads[3] += max(0, 3 - (W + pads[2] + pads[3]))
    return dict(
        N=int(r.integers(1, 3)),
        C=cg * groups,
        H=H,
        W=W,
        Cout=coutg * groups,
        pads=tuple(pads),
        groups=groups,
        mode=MODES[seed % len(MODES)],
        bias=bool(r.integers(0, 2)),
    )


def check_winograd(cfg, seed, dtype, algorithm):
    r = np.random.default_rng(seed)
    x = r.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(dtype)
    w = r.standard_normal((cfg["Cout"], cfg["C"] // cfg["groups"], 3, 3)).astype(dtype)
    b = r.standard_normal(cfg["Cout"]).astype(dtype) if cfg["bias"] else None
    t, bo, l, rr = cfg["pads"]
    x0, w0 = x.copy(), w.copy()
    dil = cfg.get("dilation", (1, 1))
    got = conv2d(
        x,
        w,
        b,
        padding=((t, bo), (l, rr)),
        dilation=dil,
        groups=cfg["groups"],
        padding_mode=cfg["mode"],
        algorithm=algorithm,
    )
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    ref = winograd_ref(x, w, b, cfg["pads"], cfg["groups"], cfg["mode"], dil)
    assert got.dtype == dtype and got.shape == ref.shape
    terms = w[0].size
    if dtype == np.float32:
        atol = 3e-6 * terms**0.5 * 4 * WINOGRAD_ERR[algorithm]
        np.testing.assert_allclose(got, ref, rtol=RTOL[dtype] * WINOGRAD_ERR[algorithm], atol=atol)
    else:
        _close(got, ref, dtype, terms)
    return got


@pytest.mark.parametrize("algorithm", WINOGRAD)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(40))
def test_winograd_random_grid(seed, dtype, algorithm, vector_width):
    check_winograd(winograd_config(seed), 5000 + seed, dtype, algorithm)


WINOGRAD_COLUMN_DILATIONS = {"winograd": (1, 2, 4), "winograd4": (1, 2)}


def winograd_dilated_config(seed, algorithm):
    """A random layer of winograd_config with a dilation: any row dilation, a column one that
    the algorithm handles, planes from smaller than one tile per phase to several vectors."""
    cfg = winograd_config(seed)
    r = np.random.default_rng(seed + 100)
    dh = int(r.choice([1, 2, 3, 5]))
    dw = int(r.choice(WINOGRAD_COLUMN_DILATIONS[algorithm][1:]))
    if r.random() < 0.3:
        dh, dw = dw, 1 if r.random() < 0.5 else dw
    pads = list(cfg["pads"])
    pads[1] += max(0, 2 * dh + 1 - (cfg["H"] + pads[0] + pads[1]))
    pads[3] += max(0, 2 * dw + 1 - (cfg["W"] + pads[2] + pads[3]))
    return dict(cfg, pads=tuple(pads), dilation=(dh, dw))


@pytest.mark.parametrize("algorithm", WINOGRAD)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(30))
def test_winograd_dilated_random_grid(seed, dtype, algorithm, vector_width):
    check_winograd(winograd_dilated_config(seed, algorithm), 7000 + seed, dtype, algorithm)


@pytest.mark.parametrize(
    "algorithm,dilation",
    [
        (alg, d)
        for alg in WINOGRAD
        for d in [(2, 2), (1, 2), (3, 2), (2, 4), (4, 4)]
        if d[1] in WINOGRAD_COLUMN_DILATIONS[alg]
    ],
)
@pytest.mark.parametrize("W", [1, 3, 5, 31, 32, 33, 64, 97])
def test_winograd_dilated_widths(algorithm, dilation, W, vector_width):
    """Planes around the phase width that fills a vector of tiles, the phases uneven (odd
    widths) or empty (fewer columns than the dilation), symmetric padding of the dilation."""
    dh, dw = dilation
    pads = (dh, dh, dw, dw)
    cfg = dict(
        N=2, C=5, H=2 * dh + 3, W=W, Cout=10, pads=pads, groups=1, mode="symmetric", bias=True, dilation=dilation
    )
    check_winograd(cfg, W + dh, np.float64, algorithm)
    check_winograd(cfg, W + dw, np.float32, algorithm)


@pytest.mark.parametrize("algorithm", WINOGRAD)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape", [(1, 1, 1, 1), (1, 2, 1, 9), (2, 3, 9, 1), (1, 4, 3, 3), (1, 5, 5, 5), (1, 3, 4, 66), (1, 9, 18, 130)]
)
@pytest.mark.parametrize("pad", [0, 1, 7])
def test_winograd_edge_shapes(shape, pad, dtype, algorithm, vector_width):
    """Planes smaller than one tile, exact tile multiples, single rows and columns."""
    N, C, H, W = shape
    pads = [pad] * 4
    pads[1] += max(0, 3 - (H + 2 * pad))
    pads[3] += max(0, 3 - (W + 2 * pad))
    cfg = dict(N=N, C=C, H=H, W=W, Cout=11, pads=tuple(pads), groups=1, mode="reflect", bias=True)
    check_winograd(cfg, sum(shape) + pad, dtype, algorithm)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("band_bytes", [1, 1 << 20, 1 << 30])
@pytest.mark.parametrize(
    "N,C,H,W,pads,mode",
    [
        (1, 3, 1, 1, (1, 1, 1, 1), "zeros"),
        (3, 9, 7, 7, (1, 1, 1, 1), "zeros"),
        (5, 17, 14, 14, (1, 1, 1, 1), "reflect"),
        (2, 33, 13, 9, (0, 2, 1, 0), "circular"),
        (4, 6, 2, 29, (1, 1, 1, 1), "replicate"),
        (7, 5, 6, 5, (2, 1, 0, 3), "symmetric"),
        (1, 40, 30, 12, (1, 1, 1, 1), "zeros"),
    ],
)
def test_winograd_flat_items(N, C, H, W, pads, mode, band_bytes, dtype, vector_width):
    """Planes with fewer F(2x2) tiles per row than vector lanes run flat: items of tile rows
    counted over the batch, cut inside an image or spanning several, the lanes past an
    item's tiles, one tile row per item (band_bytes 1) up to the whole batch in one item."""
    a = fastconv._args.conv2d_args(
        np.zeros((N, C, H, W), dtype), np.zeros((8, C, 3, 3), dtype), None, 1, (pads[:2], pads[2:]), 1, 1, mode
    )
    plan = _plan.conv2d(a, "winograd", 1, helpers.force(WINOGRAD_FLAT_BAND_BYTES=band_bytes))
    vl, ntc = vector_width // np.dtype(dtype).itemsize, -(-a.out_shape[3] // 2)
    assert plan.flat == (ntc < vl and ntc / vl < _tuning.WINOGRAD_MIN_LANE_FILL)
    helpers.FORCING["tuning"]["WINOGRAD_FLAT_BAND_BYTES"] = band_bytes
    try:
        for groups in (1, 2) if C % 2 == 0 else (1,):
            cfg = dict(N=N, C=C, H=H, W=W, Cout=11 * groups, pads=pads, groups=groups, mode=mode, bias=True)
            one = check_winograd(cfg, N * C + H + W, dtype, "winograd")
            x = np.random.default_rng(N * C + H + W).standard_normal((N, C, H, W)).astype(dtype)
            w = np.random.default_rng(N * C + H + W).standard_normal((cfg["Cout"], C // groups, 3, 3)).astype(dtype)
            kw = dict(padding=((pads[0], pads[1]), (pads[2], pads[3])), groups=groups, padding_mode=mode)
            np.testing.assert_array_equal(
                conv2d(x, w, **kw, algorithm="winograd", num_threads=1),
                conv2d(x, w, **kw, algorithm="winograd", num_threads=3),
            )
            assert one.shape[0] == N
    finally:
        helpers.FORCING["tuning"].pop("WINOGRAD_FLAT_BAND_BYTES")


@pytest.mark.parametrize("algorithm", WINOGRAD)
@pytest.mark.parametrize("layout", ["fortran", "negative", "sliced", "broadcast"])
def test_winograd_any_layout_and_out(algorithm, layout, rng):
    base = rng.standard_normal((2, 6, 13, 37)).astype(np.float32)
    w = rng.standard_normal((9, 6, 3, 3)).astype(np.float32)
    x = {
        "fortran": np.asfortranarray(base),
        "negative": base[:, ::-1, ::-1, ::-1],
        "sliced": np.repeat(base, 2, axis=3)[:, :, :, ::2],
        "broadcast": np.broadcast_to(base[:1, :1], base.shape),
    }[layout]
    ref = winograd_ref(x, w[:, :, ::-1], None, (1, 2, 0, 3), 1, "circular")
    out = np.full(ref.shape, np.nan, np.float32)
    got = conv2d(x, w[:, :, ::-1], padding=((1, 2), (0, 3)), padding_mode="circular", out=out, algorithm=algorithm)
    assert got is out
    np.testing.assert_allclose(
        got, ref, rtol=2e-5 * WINOGRAD_ERR[algorithm], atol=3e-6 * 54**0.5 * 4 * WINOGRAD_ERR[algorithm]
    )


@pytest.mark.parametrize("algorithm", WINOGRAD)
@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_threads_give_identical_results(algorithm, dtype, rng):
    x = rng.standard_normal((3, 20, 41, 70)).astype(dtype)
    w = rng.standard_normal((19, 20, 3, 3)).astype(dtype)
    one = conv2d(x, w, padding=1, num_threads=1, algorithm=algorithm)
    for nt in (2, 3, 7):
        np.testing.assert_array_equal(one, conv2d(x, w, padding=1, num_threads=nt, algorithm=algorithm))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(weight=np.zeros((2, 4, 5, 5))), r"algorithm='winograd' needs a 3x3 kernel .* got a 5x5 kernel"),
        (dict(weight=np.zeros((2, 4, 3, 1))), r"got a 3x1 kernel"),
        (dict(stride=(1, 2)), r"stride \(1, 2\)"),
        (dict(dilation=3), r"column dilation of 1, 2 or 4, got .* dilation \(3, 3\)"),
        (dict(dilation=(1, 8)), r"dilation \(1, 8\)"),
        (
            dict(dilation=(1, 4), algorithm="winograd4"),
            r"algorithm='winograd4' needs .* column dilation of 1 or 2, .* dilation \(1, 4\)",
        ),
    ],
)
def test_winograd_rejects_other_layers(kwargs, match):
    kw = dict(input=np.zeros((1, 4, 40, 40)), weight=np.zeros((2, 4, 3, 3)), algorithm="winograd")
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        conv2d(**kw)


def test_auto_algorithm_rule():
    from fastconv import _args

    def pick(x_shape, w_shape, dtype=np.float32, stride=1, dilation=1, groups=1):
        a = _args.conv2d_args(
            np.zeros(x_shape, dtype), np.zeros(w_shape, dtype), None, stride, dilation, dilation, groups, "zeros"
        )  # 3x3: "same" size
        return _plan.conv2d(a, "auto", 1).algorithm

    # float32 takes F(2x2, 3x3) up to 512 input channels per group (its error stays below
    # PyTorch's there), past 128 only on enough pixels; float64 F(4x4, 3x3) by the same
    # channel, lane-fill and work rule
    assert pick((8, 64, 56, 56), (64, 64, 3, 3)) == "winograd"  # ResNet 3x3 (C5)
    assert pick((4, 32, 64, 64), (32, 32, 3, 3), dilation=2) == "winograd"  # C10
    assert pick((1, 128, 56, 56), (64, 128, 3, 3)) == "winograd"
    assert pick((1, 256, 56, 56), (64, 256, 3, 3)) == "winograd"
    assert pick((1, 1024, 56, 56), (64, 1024, 3, 3)) == "direct"  # deep: error unmeasured
    assert pick((1, 256, 14, 14), (256, 256, 3, 3)) == "direct"  # deep, few pixels
    # 784 pixels: enough with 32-byte vectors, half-rate 64-byte ones and the CPUs of
    # WINOGRAD_DEEP_MIN_PIXELS_CPUS, not with other full-rate 64-byte ones
    # (WINOGRAD_DEEP_MIN_PIXELS, WINOGRAD_HALF_RATE)
    vb = _plan.vector_bytes()
    few = 28 * 28 < _plan.deep_min_pixels(vb, _plan.winograd_tuning(vb))
    assert pick((1, 256, 28, 28), (256, 256, 3, 3)) == ("direct" if few else "winograd")
    assert pick((2, 256, 28, 28), (256, 256, 3, 3)) == "winograd"
    assert pick((1, 256, 56, 56), (64, 256, 3, 3), np.float64) == "winograd4"
    f64 = np.float64
    assert pick((8, 64, 56, 56), (64, 64, 3, 3), f64) == "winograd4"
    assert pick((1, 32, 48, 56), (32, 32, 3, 3), f64) == "winograd4"  # 14 F(4x4) tiles in 16 lanes
    # 10 tiles: in 16 lanes with 64-byte vectors, in 12 with 32-byte ones (AVX2)
    assert pick((1, 32, 64, 40), (32, 32, 3, 3), f64) == ("direct" if _plan.vector_bytes() == 64 else "winograd4")
    assert pick((1, 32, 10, 56), (32, 32, 3, 3), f64) == "direct"  # too little work
    assert pick((1, 16, 64, 64), (32, 16, 3, 3), f64) == "direct"  # few input channels
    assert pick((1, 64, 64, 64), (16, 64, 3, 3), f64) == "direct"  # few output channels
    assert pick((1, 64, 64, 64), (64, 32, 3, 3), f64, groups=2) == "winograd4"
    assert pick((1, 64, 64, 64), (64, 16, 3, 3), f64, groups=4) == "direct"  # 16 per group
    assert pick((1, 64, 120, 120), (64, 64, 3, 3), f64, stride=2) == "direct"
    assert pick((1, 64, 120, 120), (64, 64, 3, 3), f64, dilation=2) == "winograd4"  # 59-wide phases
    assert pick((4, 32, 64, 64), (32, 32, 3, 3), f64, dilation=2) == "winograd4"  # 32-wide
    assert pick((4, 32, 64, 48), (32, 32, 3, 3), f64, dilation=2) == "direct"  # 24-wide phases
    assert pick((4, 32, 64, 64), (32, 32, 3, 3), f64, dilation=(4, 1)) == "winograd4"
    assert pick((4, 32, 64, 128), (32, 32, 3, 3), f64, dilation=4) == "direct"
    assert pick((4, 32, 64, 64), (32, 32, 3, 3), dilation=3) == "direct"
    assert pick((1, 64, 64, 64), (64, 64, 5, 5)) == "direct"


@pytest.mark.parametrize("dtype", DTYPES)
def test_auto_winograd_matches_reference(dtype, rng):
    """A layer auto runs with Winograd keeps the direct kernels' tolerance."""
    x = rng.standard_normal((2, 32, 9, 50)).astype(dtype)
    w = rng.standard_normal((33, 32, 3, 3)).astype(dtype)
    b = rng.standard_normal(33).astype(dtype)
    got = conv2d(x, w, b, padding=1, padding_mode="replicate")
    _close(got, winograd_ref(x, w, b, (1, 1, 1, 1), 1, "replicate"), dtype, w[0].size)


@requires_torch
@pytest.mark.parametrize("algorithm", WINOGRAD)
def test_winograd_float32_error_against_torch(algorithm):
    """float32 error against float64 on a ResNet-like layer, next to PyTorch's: "winograd" of
    the same order, "winograd4" within its documented factor."""
    import torch
    import torch.nn.functional as F

    r = np.random.default_rng(11)
    x = r.standard_normal((2, 64, 30, 30)).astype(np.float32)
    w = r.standard_normal((32, 64, 3, 3)).astype(np.float32)
    ref = winograd_ref(x, w, None, (1, 1, 1, 1), 1, "zeros")
    ours = np.abs(conv2d(x, w, padding=1, algorithm=algorithm) - ref).max()
    theirs = np.abs(F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy() - ref).max()
    assert ours <= 4 * WINOGRAD_ERR[algorithm] * theirs + 1e-5, (ours, theirs)


# ---- algorithm="fft": one input channel per output channel, stride 1, no dilation ----


def fft_ref(x, w, b, pads, mode):
    """Float64 reference of a one-channel-per-output layer: numpy.pad, then SciPy's FFT
    correlation of each plane with its channel's kernel (independent of fastconv's tiling)."""
    from scipy.signal import correlate

    t, bo, l, r = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (t, bo), (l, r)), mode=NUMPY_PAD[mode])
    out = np.stack(
        [
            np.stack(
                [correlate(xp[n, c], w[c, 0].astype(np.float64), mode="valid", method="fft") for c in range(x.shape[1])]
            )
            for n in range(x.shape[0])
        ]
    )
    return out if b is None else out + b.astype(np.float64)[:, None, None]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        # N, C, H, W, k, pads (t, b, l, r), mode; tiles of at most 480 points per axis:
        # several per axis on the larger planes, one over the whole plane on the small ones; odd
        # and even tile counts (two tiles share a complex transform, an odd one goes alone)
        (2, 1, 40, 57, (25, 25), (12, 12, 12, 12), "zeros"),
        (3, 4, 30, 31, (26, 9), (3, 30, 0, 40), "reflect"),
        (1, 3, 700, 420, (25, 31), (1, 2, 3, 4), "circular"),
        (2, 2, 64, 800, (27, 27), (13, 13, 13, 13), "replicate"),
        (1, 1, 25, 25, (25, 25), (0, 0, 0, 0), "symmetric"),
        (1, 2, 5, 6, (9, 8), (40, 3, 2, 50), "symmetric"),
        (2, 1, 1, 1, (3, 3), (1, 1, 1, 1), "zeros"),
    ],
)
def test_fft_vs_reference(case, dtype, rng, monkeypatch):
    """algorithm="fft" equals the float64 reference for every padding mode, any padding
    size, bias, depthwise groups, thread counts, and writes into out=."""

    monkeypatch.setattr(fastconv._tuning, "FFT_THREADS_COST", 0)  # 2 threads even for small tiles
    N, C, H, W, k, pads, mode = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((C, 1) + k).astype(dtype)
    b = rng.standard_normal(C).astype(dtype)
    ref = fft_ref(x, w, b, pads, mode)
    t, bo, l, r = pads
    scale = np.abs(ref).max()
    tol = {np.float32: 2e-6, np.float64: 1e-13}[dtype] * scale
    for nt in (1, 2):
        got = conv2d(x, w, b, padding=((t, bo), (l, r)), groups=C, padding_mode=mode, num_threads=nt, algorithm="fft")
        assert got.dtype == dtype and got.shape == ref.shape and got.flags.c_contiguous
        np.testing.assert_allclose(got, ref, rtol=0, atol=tol)
    out = np.full(ref.shape, np.nan, dtype=dtype)
    x0 = x.copy()
    res = conv2d(x, w, None, padding=((t, bo), (l, r)), groups=C, padding_mode=mode, algorithm="fft", out=out)
    assert res is out
    np.testing.assert_allclose(out, ref - b.astype(np.float64)[:, None, None], rtol=0, atol=tol)
    np.testing.assert_array_equal(x, x0)


def test_fft_strided_view_and_unbatched(rng):
    """A non-contiguous view and an unbatched input through "fft" (float32 promoted from
    int16), against the reference."""
    base = rng.integers(-50, 50, size=(2, 90, 130)).astype(np.int16)
    x = base[:, ::-2, 1::2]  # (2, 45, 65), negative row stride
    w = rng.standard_normal((2, 1, 31, 30)).astype(np.float32)
    got = conv2d(x, w, padding="same", groups=2, algorithm="fft")
    assert got.dtype == np.float32 and got.shape == (2, 45, 65)
    ref = fft_ref(x[None].astype(np.float32), w, None, (15, 15, 14, 15), "zeros")[0]
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6 * np.abs(ref).max())


@pytest.mark.parametrize(
    "wshape,groups,kwargs",
    [
        ((2, 1, 25, 25), 2, dict(stride=2)),  # strided
        ((2, 1, 25, 25), 2, dict(dilation=2)),  # dilated
        ((2, 2, 25, 25), 1, {}),  # two input channels per output channel
        ((4, 1, 25, 25), 2, {}),  # a channel multiplier of 2
    ],
)
def test_fft_rejects_layers_it_does_not_handle(wshape, groups, kwargs, rng):
    x = rng.standard_normal((1, 2, 60, 60)).astype(np.float32)
    w = rng.standard_normal(wshape).astype(np.float32)
    with pytest.raises(
        ValueError,
        match=r"algorithm='fft' needs one input channel per output "
        r"channel.*stride.*dilation",
    ):
        conv2d(x, w, groups=groups, algorithm="fft", **kwargs)


def test_auto_picks_fft_for_big_one_channel_kernels():
    """correlate2d's measured rule: >= 25x25 taps (19x19 with 256-bit direct kernels) on
    output planes of >= 512 x 1024 pixels, one input channel per output channel, unit
    stride and dilation."""
    from fastconv import _args

    def pick(xs, ws, vb=None, **kw):
        x = np.empty(xs, np.float32)
        # random taps: a kernel of equal taps (np.empty's fill under AddressSanitizer) is an
        # outer product, which "auto" runs as two separable passes before the FFT
        w = np.random.default_rng(0).standard_normal(ws).astype(np.float32)
        groups = kw.pop("groups", 1)
        a = _args.conv2d_args(
            x, w, None, kw.pop("stride", 1), kw.pop("padding", "same"), kw.pop("dilation", 1), groups, "zeros"
        )
        return _plan.conv2d(a, "auto", force=_plan.Force(vector_bytes=vb)).algorithm

    assert pick((1, 1, 2048, 2048), (1, 1, 31, 31)) == "fft"
    assert pick((2, 3, 1024, 1100), (3, 1, 41, 33), groups=3) == "fft"
    assert pick((1, 1, 511, 1024), (1, 1, 31, 31)) == "direct"
    if _plan.vector_bytes() == 64:
        assert pick((1, 1, 512, 1024), (1, 1, 25, 25)) == "fft"
        assert pick((1, 1, 2048, 2048), (1, 1, 24, 26)) == "direct"
    assert pick((1, 1, 2048, 2048), (1, 1, 19, 19), vb=32) == "fft"
    assert pick((1, 1, 2048, 2048), (1, 1, 18, 20), vb=32) == "direct"
    assert pick((1, 1, 2048, 2048), (1, 1, 31, 31), stride=2) == "direct"
    assert pick((1, 1, 2048, 2048), (1, 1, 31, 31), dilation=2) == "direct"
    assert pick((1, 2, 2048, 2048), (1, 2, 31, 31)) == "direct"
    assert pick((1, 2, 2048, 2048), (4, 1, 31, 31), groups=2) == "direct"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,W", [((25, 25), 4096), ((15, 9), 3000), ((7, 7), 8192)])
def test_wide_one_channel_bands(k, W, dtype, rng):
    """Wide one-channel planes with tall kernels: the packed bands hold at least kH - 1 output
    rows beyond the budget of BAND_BYTES (a 4096-float row of 16 KiB with a 25-row kernel)."""
    H = k[0] + 20
    x = rng.standard_normal((1, 1, H, W)).astype(dtype)
    w = rng.standard_normal((1, 1) + k).astype(dtype)
    pads = (k[0] // 2, k[0] // 2, 0, 3)
    for nt in (1, 2):
        got = conv2d(
            x,
            w,
            padding=((pads[0], pads[1]), (pads[2], pads[3])),
            padding_mode="reflect",
            num_threads=nt,
            algorithm="direct",
        )
        ref = fft_ref(x, w, None, pads, "reflect")
        _close(got, ref, dtype, w[0].size)


@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("kind", ["COLUMNS", "COLUMNS_NARROW", "ROWS", "LANES"])
def test_column_chunks_are_exact(kind, vb):
    """Wide rows are split into column chunks, each its own work item and band (the
    geometry of a narrower plane whose left padding is shifted): the whole-row path's bits
    for every padding mode (a chunk's band maps its padded columns to the same source
    columns), strides and dilations (phases), asymmetric padding, a last partial chunk,
    1 and 2 threads, and NaN/inf at the plane's and the chunks' edges."""
    rng = np.random.default_rng(vb + len(kind))
    dt = np.float32 if kind in ("COLUMNS", "ROWS") else np.float64
    chunked = {"COLUMN_CHUNK_MIN": 16, "BAND_BYTES": 256}
    for trial in range(6):
        mode = MODES[trial % len(MODES)]
        s = 1 if kind == "ROWS" else int(rng.integers(1, 4))
        d = 1 if kind == "ROWS" else int(rng.integers(1, 3))
        k = (int(rng.integers(5, 8)) if kind == "ROWS" else int(rng.integers(1, 6)), int(rng.integers(1, 8)))
        C, cout = int(rng.integers(1, 4)), (int(rng.integers(3, 40)) if kind != "ROWS" else 1)
        H, W = int(rng.integers(k[0] * d, 12)), int(rng.integers(300, 900))
        x = rng.standard_normal((2, C, H, W)).astype(dt)
        for col in (0, W - 1, 64 * s, 128 * s + 1, int(rng.integers(0, W))):
            x[int(rng.integers(0, 2)), int(rng.integers(0, C)), int(rng.integers(0, H)), col] = rng.choice(
                [np.nan, np.inf, -np.inf]
            )
        w = rng.standard_normal((cout, C) + k).astype(dt)
        b = rng.standard_normal(cout).astype(dt)
        pad = ((k[0] // 2, k[0] // 2), (int(rng.integers(0, k[1])), int(rng.integers(0, k[1]))))
        args = (x, w, b, s, pad, d, 1, mode, None)
        whole = _plan.Force(kind=_plan.Kind[kind], vector_bytes=vb)
        split = _plan.Force(kind=_plan.Kind[kind], vector_bytes=vb, tuning=chunked)
        for nt in (1, 2):
            a = fastconv._args.conv2d_args(x, w, b, s, pad, d, 1, mode)
            plan = _plan.conv2d(a, "direct", nt, split)
            assert plan.column_chunk and plan.column_chunk < a.out_shape[3], plan
            ref = fastconv.conv._conv2d(*args, nt, "direct", whole)
            got = fastconv.conv._conv2d(*args, nt, "direct", split)
            np.testing.assert_array_equal(got, ref, err_msg=f"{kind} {mode} s={s} d={d} k={k} {pad} nt={nt}")


def _aligned_rows(x, pitch_bytes=64):
    """x's values in an array whose rows start on pitch_bytes boundaries (a view of wider
    rows of a 64-byte aligned buffer), and in one whose rows do not (one element in)."""
    N, C, H, W = x.shape
    per = pitch_bytes // x.itemsize
    pitch = -(-W // per) * per + per
    views = []
    for shift in (0, 1):
        raw = np.zeros(N * C * H * pitch + 2 * per, dtype=x.dtype)
        start = (-raw.ctypes.data % 64) // x.itemsize + shift
        views.append(raw[start : start + N * C * H * pitch].reshape(N, C, H, pitch)[..., :W])
        views[-1][...] = x
    return views[0], views[1]


@pytest.mark.parametrize("vb", [32, 64])
def test_row_tiles_on_aligned_rows(vb):
    """The row tiles on rows that start on vector boundaries (5x5 and 7x7 kernels: lane
    shifts of once-loaded vectors on the 64-byte variants; a read of the input in place
    where no padding is read and the tiles cover the output columns exactly, else packed
    rows of a rounded-up width): the bits of the same data on unaligned rows, for partial
    row tiles, odd widths, non-square kernels, bias, 1 and 2 threads, and NaN/inf; and
    within float tolerance of the float64 reference."""
    rng = np.random.default_rng(vb)
    vb = _plan.vector_bytes(_plan.Force(vector_bytes=vb))  # this CPU's, at most
    vl_cols = _direct_rows_cols(vb)
    for trial in range(10):
        dt = (np.float32, np.float64)[trial % 2]
        k = [(5, 5), (7, 7), (5, 7), (6, 5)][trial % 4]
        C = int(rng.integers(1, 5))
        Ho = int(rng.integers(2, 14))  # (at least one input row and column when padded)
        Wo = int(rng.choice([vl_cols[dt], 2 * vl_cols[dt], int(rng.integers(2, 150))]))
        pad = (0, 0) if trial % 3 else (k[0] // 2, k[1] // 2)
        H, W = Ho + k[0] - 1 - 2 * pad[0], Wo + k[1] - 1 - 2 * pad[1]
        x = rng.standard_normal((2, C, H, W)).astype(dt)
        for _ in range(3):
            x[tuple(int(rng.integers(0, n)) for n in x.shape)] = rng.choice([np.nan, np.inf, -np.inf])
        w = rng.standard_normal((1, C) + k).astype(dt)
        b = rng.standard_normal(1).astype(dt)
        al, off = _aligned_rows(x)
        f = _plan.Force(kind=_plan.Kind.ROWS, vector_bytes=vb)
        a = fastconv._args.conv2d_args(al, w, b, 1, pad, 1, 1, "zeros")
        plan = _plan.conv2d(a, "direct", 1, f)
        assert plan.read_in_place == (pad == (0, 0) and Wo % vl_cols[dt] == 0), plan
        assert plan.read_in_place or plan.layout[2] % (vb // x.itemsize) == 0, plan  # packed rows aligned
        ref = conv2d_ref(
            x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), pads=(pad[0], pad[0], pad[1], pad[1])
        )
        for nt in (1, 2):
            got = fastconv.conv._conv2d(al, w, b, 1, pad, 1, 1, "zeros", None, nt, "direct", f)
            other = fastconv.conv._conv2d(off, w, b, 1, pad, 1, 1, "zeros", None, nt, "direct", f)
            np.testing.assert_array_equal(got, other, err_msg=f"k={k} C={C} {Ho}x{Wo} pad={pad} nt={nt}")
            finite = np.isfinite(ref)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            np.testing.assert_array_equal(got[~finite], ref[~finite])
            _close(got[finite], ref[finite], dt, C * k[0] * k[1])


@pytest.mark.parametrize("vb", [32, 64])
def test_square_row_tiles_match_the_generic_tile(vb):
    """The straight-line row tiles of square 5x5 and 7x7 kernels (whole tiles of 4 rows,
    any row alignment with 32-byte vectors, lane shifts on aligned rows with 64-byte ones)
    add the same products in the same order as the tile of any kernel: a K x K kernel gives
    the bits of the same kernel with a column of zeros appended (K x (K + 1): the generic
    tile), on finite data, for partial row tiles, widths around the tile's columns, several
    input channels, padding, bias and 1 and 2 threads; and within float tolerance of the
    float64 reference."""
    rng = np.random.default_rng(vb + 7)
    vb = _plan.vector_bytes(_plan.Force(vector_bytes=vb))  # this CPU's, at most
    cols = _direct_rows_cols(vb)
    f = _plan.Force(kind=_plan.Kind.ROWS, vector_bytes=vb)
    for trial in range(12):
        dt = (np.float32, np.float64)[trial % 2]
        K = (5, 7)[(trial // 2) % 2]
        # channels within one block of the two-level sums (direct/sums.h) for both kernels,
        # whose blocks follow their tap counts: 6 and 5 channels for 25 and 30 taps, 3 and
        # 2 for 49 and 56
        C = int(rng.integers(1, 6 if K == 5 else 3))
        Ho = int(rng.integers(1, 15))
        Wo = int(rng.choice([cols[dt], cols[dt] + 1, 2 * cols[dt] - 1, int(rng.integers(1, 100))]))
        p = int(rng.integers(0, K // 2 + 1))
        H, W = Ho + K - 1 - 2 * p, Wo + K - 1 - 2 * p
        if H < 1 or W < 1:
            continue
        x = rng.standard_normal((2, C, H, W)).astype(dt)
        w = rng.standard_normal((1, C, K, K)).astype(dt)
        b = rng.standard_normal(1).astype(dt)
        wz = np.concatenate([w, np.zeros((1, C, K, 1), dt)], axis=3)
        for nt in (1, 2):
            sq = fastconv.conv._conv2d(x, w, b, 1, p, 1, 1, "zeros", None, nt, "direct", f)
            # the extra column reads one more padded column on the right
            wide = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, 1)))
            generic = fastconv.conv._conv2d(wide, wz, b, 1, p, 1, 1, "zeros", None, nt, "direct", f)
            assert generic.shape == sq.shape
            np.testing.assert_array_equal(sq, generic, err_msg=f"K={K} C={C} {Ho}x{Wo} p={p} nt={nt} {dt}")
            ref = conv2d_ref(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), pads=(p, p, p, p))
            _close(sq, ref, dt, C * K * K)


def _direct_rows_cols(vb):
    """The output columns of one row tile, per dtype."""
    from fastconv import _direct

    n = _direct.tile_sizes(vb)["nv_rows"]
    return {np.float32: n * vb // 4, np.float64: n * vb // 8}


@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("kind", ["COLUMNS", "COLUMNS_NARROW"])
def test_flat_rows_are_exact(kind, vb):
    """Column tiles at unit stride run a band's rows as one flat row of the padded width
    (taps kh * dh * Wp + kw * dw apart; the columns past the plane dropped, the last tiles
    reading zeroed slack past the band): the row-by-row path's bits for every padding mode,
    dilations, groups, bias, partial bands and channel blocks, 1 and 2 threads, and NaN/inf
    at the plane's corners and edges (which flat rows put next to the row before's)."""
    rng = np.random.default_rng(vb + len(kind))
    flat = _plan.Force(kind=_plan.Kind[kind], vector_bytes=vb, tuning={"FLAT_MIN_GAIN": 0.0})
    rows = _plan.Force(kind=_plan.Kind[kind], vector_bytes=vb, tuning={"FLAT_MIN_GAIN": 1e9})
    for trial in range(8):
        dt = (np.float32, np.float64)[trial % 2]
        mode = MODES[trial % len(MODES)]
        dh, dw = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        k = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        g = int(rng.integers(1, 3))
        C = g * int(rng.integers(1, 5))
        cout = g * (int(rng.integers(3, 20)) if kind == "COLUMNS" else 1)
        H, W = int(rng.integers(k[0] * dh, 20)), int(rng.integers(k[1] * dw, 20))
        x = rng.standard_normal((int(rng.integers(1, 4)), C, H, W)).astype(dt)
        for r, c in ((0, 0), (H - 1, W - 1), (0, W - 1), (H - 1, 0), (H // 2, W - 1), (H // 2, 0)):
            x[0, int(rng.integers(0, C)), r, c] = rng.choice([np.nan, np.inf, -np.inf])
        w = rng.standard_normal((cout, C // g) + k).astype(dt)
        b = rng.standard_normal(cout).astype(dt)
        pad = ((int(rng.integers(0, k[0])), int(rng.integers(0, k[0]))), (int(rng.integers(0, k[1])), 1))
        args = (x, w, b, 1, pad, (dh, dw), g, mode, None)
        a = fastconv._args.conv2d_args(x, w, b, 1, pad, (dh, dw), g, mode)
        for nt in (1, 2):
            assert _plan.conv2d(a, "direct", nt, flat).flat
            assert not _plan.conv2d(a, "direct", nt, rows).flat
            ref = fastconv.conv._conv2d(*args, nt, "direct", rows)
            got = fastconv.conv._conv2d(*args, nt, "direct", flat)
            np.testing.assert_array_equal(got, ref, err_msg=f"{kind} {mode} d={dh, dw} k={k} {pad} g={g} nt={nt}")


def _same_up_to_rounding(got, ref, msg):
    """Equal NaN/+inf/-inf patterns and finite values within the rounding of the dtype: two
    plans whose tiles add the bias at another point of the sum."""
    for mask in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(mask(got), mask(ref), err_msg=msg)
    fin = np.isfinite(ref)
    tol = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got[fin], ref[fin], rtol=tol, atol=tol, err_msg=msg)


def _pointwise_plans_agree(x, w, b, s, g, flag, on, off):
    """The 1x1 layer (stride s, groups g, no padding) plans with ``flag`` set under Force
    ``on`` (1 thread) and not under ``off``, and both give the same result on 1 and 2
    threads, contiguous and channels-last."""
    a = fastconv._args.conv2d_args(x, w, b, s, 0, 1, g, "zeros")
    assert getattr(_plan.conv2d(a, "auto", 1, on), flag)
    assert not getattr(_plan.conv2d(a, "auto", 1, off), flag)
    for nt in (1, 2):
        for fmt in ("contiguous", "channels_last"):
            args = (x, w, b, s, 0, 1, g, "zeros", None, nt, "auto")
            got = fastconv.conv._conv2d(*args, on, memory_format=fmt)
            ref = fastconv.conv._conv2d(*args, off, memory_format=fmt)
            _same_up_to_rounding(got, ref, f"{x.shape} {w.shape} s={s} g={g} {fmt} nt={nt}")


def test_strided_pointwise_layers_subsample_first(rng):
    """A strided 1x1 layer without padding copies the pixels it reads into a compact array
    (in the input's layout) and runs the unit-stride layer on it: the strided plan's result
    (the same NaN/inf pattern; the bias may join the sum elsewhere) for odd plane sizes,
    unequal strides, channels-last and reversed input, channels-last results, groups, bias,
    NaN/inf and 1 and 2 threads; padded layers keep the strided plan."""
    on = _plan.Force()
    off = _plan.Force(tuning={"SUBSAMPLE_POINTWISE": 0})
    for trial in range(8):
        dt = (np.float32, np.float64)[trial % 2]
        g = 1 + trial % 3
        C, cout = g * int(rng.integers(2, 40)), g * int(rng.integers(2, 40))
        s = [(2, 2), (3, 1), (1, 2), (2, 3)][trial % 4]
        x = rng.standard_normal((int(rng.integers(1, 4)), C, int(rng.integers(1, 30)), int(rng.integers(1, 30))))
        x = x.astype(dt)
        x.flat[rng.integers(0, x.size, 3)] = [np.nan, np.inf, -np.inf]
        w = rng.standard_normal((cout, C // g, 1, 1)).astype(dt)
        b = rng.standard_normal(cout).astype(dt)
        views = (x, x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2), x[:, :, ::-1, ::-1])
        for xin in views:
            _pointwise_plans_agree(xin, w, b, s, g, "subsample", on, off)
        ref64 = conv2d_ref(x, w, b, s, (0, 0, 0, 0), (1, 1), g)
        np.testing.assert_allclose(conv2d(x, w, b, s, groups=g), ref64, rtol=1e-4, atol=1e-4)
        a = fastconv._args.conv2d_args(x, w, b, s, 1, 1, g, "zeros")
        assert not _plan.conv2d(a, "auto", 1, on).subsample


def test_subsample_copies_the_strided_pixels(rng):
    """_pack.subsample is NumPy's strided slice, for the stride-2 planes of its constant-step
    loop (input columns two elements apart, compact rows out) and any other strides, into
    C-contiguous and channels-last results, on 1 to 3 threads of a few elements each."""
    for dt in (np.float32, np.float64):
        x = rng.standard_normal((2, 5, 13, 17)).astype(dt)
        for xin, sh, sw in ((x, 2, 2), (x, 1, 2), (x, 3, 1), (x[:, :, :, ::2], 2, 1), (x[:, :, ::-1, ::-1], 2, 2)):
            want = xin[:, :, ::sh, ::sw]
            for layout in ("planes", "channels-last"):
                for nt in (1, 2, 3):
                    if layout == "planes":
                        dst = np.full(want.shape, np.nan, dt)
                    else:
                        dst = np.full(want.shape[:1] + want.shape[2:] + want.shape[1:2], np.nan, dt).transpose(
                            0, 3, 1, 2
                        )
                    _pack.subsample(xin, dst, sh, sw, nt, 16)
                    np.testing.assert_array_equal(dst, want)


def test_strided_pointwise_plans_as_its_unit_stride_layer_for_either_result_layout():
    """A subsampled strided 1x1 layer takes the plan of the unit-stride layer on its pixels,
    under the same result layout (a channels-last result on channels-last input picks the
    kinds that write that result in place), for NCHW and channels-last input."""
    for N, C, H, cout in ((1, 64, 56, 128), (8, 128, 28, 256), (2, 24, 30, 32), (8, 256, 14, 512)):
        for x in (np.zeros((N, C, H, H), np.float32), np.zeros((N, H, H, C), np.float32).transpose(0, 3, 1, 2)):
            w = np.ones((cout, C, 1, 1), np.float32)
            a = fastconv._args.conv2d_args(x, w, None, 2, 0, 1, 1, "zeros")
            for last in (False, True):
                plan = _plan.conv2d(a, "auto", 2, None, last)
                unit = _plan.conv2d(_plan.subsampled_layer(a), "auto", 2, None, last)
                assert plan.subsample and not unit.subsample
                assert (plan.kind, plan.stream, plan.channel_block) == (unit.kind, unit.stream, unit.channel_block)


def test_subsample_copy_threads_and_layouts(rng):
    """The compact copy of a strided 1x1 layer's pixels (_pack.subsample) equals NumPy's
    strided slice (NaN, -0.0 and -inf where they were), for channels-first, channels-last and
    strided destinations, input views of any strides, one channel, and 1-3 threads of as little as
    one element each."""
    for trial in range(12):
        dt = (np.float32, np.float64)[trial % 2]
        N, C = int(rng.integers(1, 4)), (1, 3, 17)[trial % 3]
        H, W = int(rng.integers(1, 20)), int(rng.integers(1, 20))
        sh, sw = [(2, 2), (3, 1), (1, 2), (2, 3)][trial % 4]
        x = rng.standard_normal((N, C, H, W)).astype(dt)
        x.flat[rng.integers(0, x.size, 3)] = [np.nan, -0.0, -np.inf]
        views = (x, x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2), x[:, :, ::-1, ::-1], x[:, ::-1])
        Ho, Wo = (H - 1) // sh + 1, (W - 1) // sw + 1
        for xin in views:
            want = xin[:, :, ::sh, ::sw]
            for cl in (False, True):
                for nt in (1, 2, 3):
                    if cl:
                        dst = np.full((N, Ho, Wo, C), 7, dt).transpose(0, 3, 1, 2)
                    else:
                        dst = np.full((N, C, Ho, Wo), 7, dt)
                    if nt == 3:  # a view into a bigger array: any strides
                        dst = np.full((N + 1, C, Ho + 2, 2 * Wo), 7, dt)[1:, :, 1:-1, ::2]
                    _pack.subsample(xin, dst, sh, sw, nt, 1)
                    assert np.array_equal(dst, want, equal_nan=True), (x.shape, sh, sw, cl, nt)
                    assert np.array_equal(np.signbit(dst), np.signbit(want)), (x.shape, sh, sw, cl, nt)


def test_pointwise_planes_run_as_rows(rng, monkeypatch):
    """A unit-stride 1x1 layer without padding on narrow planes runs each plane as one row
    of H * W pixels (and a strided one after its copy): the row-by-row path's result (as
    in the test above) for channels-last input and results, groups, bias, NaN/inf, 1 and 2
    threads; planes whose rows do not lie one after the other keep the plane; a transposed
    convolution whose stride phases are 1x1 layers writing strided views of its result
    runs them through a buffer."""
    on = _plan.Force(tuning={"POINTWISE": 0})  # (POINTWISE takes the planes of 100 pixels on)
    off = _plan.Force(tuning={"POINTWISE_ROW_FILL": 0, "POINTWISE": 0})
    for trial in range(6):
        dt = (np.float32, np.float64)[trial % 2]
        g = 1 + trial % 2
        C, cout = g * int(rng.integers(2, 30)), g * int(rng.integers(2, 40))
        H, W = [(7, 7), (10, 10), (13, 5), (3, 9), (7, 7), (5, 8)][trial]
        s = 2 if trial == 4 else 1
        x = rng.standard_normal((int(rng.integers(1, 4)), C, s * H, s * W)).astype(dt)
        x.flat[rng.integers(0, x.size, 3)] = [np.nan, np.inf, -np.inf]
        w = rng.standard_normal((cout, C // g, 1, 1)).astype(dt)
        b = rng.standard_normal(cout).astype(dt)
        for xin in (x, x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)):
            _pointwise_plans_agree(xin, w, b, s, g, "plane_row", on, off)
        if s == 1:  # (a strided layer's copy is compact whatever its input)
            a = fastconv._args.conv2d_args(x[:, :, :, :-1], w, b, s, 0, 1, g, "zeros")
            assert not _plan.conv2d(a, "auto", 1, on).plane_row
    # channels-last planes whose width is not a whole number of vectors: each plane one row
    # whatever the tiles' fill (the packing's columns past the last vector go one by one)
    vl = _plan.vector_bytes() // 4
    for W in (vl - 2, 2 * vl - 4, 2 * vl):
        x = rng.standard_normal((2, 24, 5, W)).astype(np.float32)
        x[1, 3, 2, W - 1] = np.nan
        w = rng.standard_normal((40, 24, 1, 1)).astype(np.float32)
        xl = x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)
        for xin in (x, xl):
            a = fastconv._args.conv2d_args(xin, w, None, 1, 0, 1, 1, "zeros")
            ncol = fastconv._direct.tile_sizes(_plan.vector_bytes())["ncol"]
            full = W / (-(-W // ncol) * ncol) >= fastconv._tuning.POINTWISE_ROW_FILL
            expect = not full or (xin is xl and W % vl != 0)
            assert _plan.conv2d(a, "auto", 1, on).plane_row == expect, (W, xin is xl)
        if W % vl:
            _pointwise_plans_agree(xl, w, None, 1, 1, "plane_row", on, off)
    # conv_transpose2d with a 2x2 kernel at stride 2: four 1x1 phases into strided views
    x = rng.standard_normal((2, 24, 7, 7)).astype(np.float32)
    w = rng.standard_normal((24, 40, 2, 2)).astype(np.float32)
    got = fastconv.conv_transpose2d(x, w, stride=2)
    monkeypatch.setattr(fastconv._tuning, "POINTWISE_ROW_FILL", 0)
    np.testing.assert_array_equal(got, fastconv.conv_transpose2d(x, w, stride=2))


def test_one_row_signal_is_shared_by_the_threads(rng):
    """A 1-D signal is one plane row: its column chunks are the threads' work items (the
    planner's default tuning), with SciPy's result and non-finite pattern."""
    import scipy.signal

    x = rng.standard_normal(40_000)
    k = rng.standard_normal(101)
    x[[0, 17, 5_000, 20_480, 39_999]] = [np.nan, np.inf, -np.inf, np.nan, np.inf]
    a = fastconv._args.conv2d_args(x[None, None, None], k[None, None, None], None, 1, (0, 50), 1, 1, "zeros")
    assert _plan.conv2d(a, "direct", 2).column_chunk > 0
    ref = scipy.signal.correlate(x, k, "same", method="direct")
    for nt in (1, 2):
        got = fastconv.correlate(x, k, "same", method="direct", num_threads=nt)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref))
        fin = np.isfinite(ref)
        np.testing.assert_allclose(got[fin], ref[fin], rtol=1e-10, atol=1e-10)
