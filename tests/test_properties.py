"""Property-based tests (Hypothesis): random valid configurations against independent
references, random invalid ones that must raise ValueError/TypeError and nothing else."""

import numpy as np
import pytest
from scipy import signal as ss

import fastconv

from reference import avg_pool_ref, conv2d_ref, max_pool_ref, pool_out

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]


def layout(x, kind):
    """The same values in another memory layout."""
    if kind == "fortran":
        return np.asfortranarray(x)
    if kind == "negative":
        return np.ascontiguousarray(x[..., ::-1, ::-1])[..., ::-1, ::-1]
    if kind == "strided":
        big = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
        big[..., ::2] = x
        return big[..., ::2]
    if kind == "bigendian":
        return x.astype(x.dtype.newbyteorder(">"))
    if kind == "readonly":
        y = x.copy()
        y.flags.writeable = False
        return y
    return x


@st.composite
def conv_configs(draw):
    g = draw(st.sampled_from([1, 1, 2]))
    cg = draw(st.integers(1, 3))
    coutg = draw(st.integers(1, 5))
    kH, kW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    H, W = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    pads = [draw(st.integers(0, 14)) for _ in range(4)]
    pads[1] += max(0, d[0] * (kH - 1) + 1 - (H + pads[0] + pads[1]))
    pads[3] += max(0, d[1] * (kW - 1) + 1 - (W + pads[2] + pads[3]))
    return dict(
        N=draw(st.integers(0, 2)),
        C=cg * g,
        H=H,
        W=W,
        Cout=coutg * g,
        k=(kH, kW),
        s=s,
        d=d,
        pads=tuple(pads),
        g=g,
        mode=draw(st.sampled_from(MODES)),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        layout=draw(st.sampled_from(["c", "fortran", "negative", "strided", "bigendian", "readonly"])),
        special=draw(st.booleans()),
        seed=draw(st.integers(0, 2**31)),
    )


@SETTINGS
@given(conv_configs())
def test_conv2d_property(cfg):
    r = np.random.default_rng(cfg["seed"])
    x = r.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(cfg["dtype"])
    if cfg["special"] and x.size:
        x.flat[r.integers(0, x.size)] = np.inf
    w = r.standard_normal((cfg["Cout"], cfg["C"] // cfg["g"]) + cfg["k"]).astype(cfg["dtype"])
    xl = layout(x, cfg["layout"])
    before = np.array(xl, copy=True)
    t, b, l, rr = cfg["pads"]
    got = fastconv.conv2d(xl, w, None, cfg["s"], ((t, b), (l, rr)), cfg["d"], cfg["g"], cfg["mode"])
    np.testing.assert_array_equal(xl, before)
    ref = conv2d_ref(x, w, None, cfg["s"], cfg["pads"], cfg["d"], cfg["g"], cfg["mode"])
    assert got.shape == ref.shape and got.dtype == cfg["dtype"]
    tol = 1e-4 if cfg["dtype"] == np.float32 else 1e-10
    finite = np.isfinite(ref)
    np.testing.assert_allclose(got[finite], ref[finite], rtol=tol, atol=tol)
    if cfg["d"] == (1, 1):  # the reference's zero-dilated kernel turns inf * hole into NaN
        assert np.array_equal(np.isnan(got), np.isnan(ref))


@st.composite
def pool_configs(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return dict(
        k=k,
        s=(draw(st.integers(1, 5)), draw(st.integers(1, 5))),
        p=(draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))),
        d=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        ceil=draw(st.booleans()),
        H=draw(st.integers(1, 11)),
        W=draw(st.integers(1, 11)),
        N=draw(st.integers(0, 2)),
        layout=draw(st.sampled_from(["c", "fortran", "negative", "strided", "bigendian"])),
        ties=draw(st.booleans()),
        seed=draw(st.integers(0, 2**31)),
    )


@SETTINGS
@given(pool_configs())
def test_pooling_property(cfg):
    r = np.random.default_rng(cfg["seed"])
    shape = (cfg["N"], 2, cfg["H"], cfg["W"])
    x = r.integers(-2, 3, shape).astype(np.float64) if cfg["ties"] else r.standard_normal(shape)
    if x.size:
        x.flat[r.integers(0, x.size)] = np.nan
    xl = layout(x, cfg["layout"])
    k, s, p, d, ceil = cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"]
    Ho = pool_out(cfg["H"], k[0], s[0], p[0], d[0], ceil)
    Wo = pool_out(cfg["W"], k[1], s[1], p[1], d[1], ceil)
    try:
        got_v, got_i = fastconv.max_pool2d(xl, k, s, p, d, ceil, return_indices=True)
    except ValueError:
        # refused: the kernel does not fit, or some window has no input element
        if Ho >= 1 and Wo >= 1 and cfg["N"] > 0:
            with pytest.raises(TypeError):  # the reference meets a window without elements
                max_pool_ref(x, k, s, p, d, ceil)
        return
    ref_v, ref_i = max_pool_ref(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(got_v, ref_v)
    np.testing.assert_array_equal(got_i, ref_i)
    if d == (1, 1):
        for cip in (True, False):
            np.testing.assert_allclose(
                fastconv.avg_pool2d(xl, k, s, p, ceil, cip),
                avg_pool_ref(x, k, s, p, ceil, cip, None),
                rtol=1e-12,
                atol=1e-12,
            )


@SETTINGS
@given(
    H=st.integers(1, 14),
    W=st.integers(1, 14),
    kh=st.integers(1, 9),
    kw=st.integers(1, 9),
    mode=st.sampled_from(["full", "same", "valid"]),
    boundary=st.sampled_from(["fill", "wrap", "symm"]),
    fn=st.sampled_from(["correlate2d", "convolve2d"]),
    method=st.sampled_from(["auto", "direct", "fft", "separable"]),
    seed=st.integers(0, 2**31),
)
def test_signal_property(H, W, kh, kw, mode, boundary, fn, method, seed):
    r = np.random.default_rng(seed)
    a, k = r.standard_normal((H, W)), r.standard_normal((kh, kw))
    try:
        ref = getattr(ss, fn)(a, k, mode, boundary, 0.5)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(fastconv, fn)(a, k, mode, boundary, 0.5, method=method)
        return
    got = getattr(fastconv, fn)(a, k, mode, boundary, 0.5, method=method)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


junk = st.one_of(
    st.integers(-3, 5),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.none(),
    st.text(max_size=3),
    st.tuples(st.integers(-2, 4), st.integers(-2, 4)),
    st.tuples(st.integers(-2, 3)),
    st.booleans(),
    st.tuples(st.tuples(st.integers(-1, 3), st.integers(-1, 3)), st.tuples(st.integers(-1, 3), st.integers(-1, 3))),
)
shapes = st.lists(st.integers(0, 6), min_size=0, max_size=5).map(tuple)
dtypes = st.sampled_from([np.float32, np.float64, np.int8, np.complex64, np.bool_, object])


def _array(shape, dtype):
    if dtype is object:
        return np.empty(shape, dtype=object)
    return np.ones(shape, dtype=dtype)


@SETTINGS
@given(
    xs=shapes,
    ws=shapes,
    xd=dtypes,
    stride=junk,
    padding=st.one_of(junk, st.sampled_from(["same", "valid", "bad"])),
    dilation=junk,
    groups=junk,
    mode=st.sampled_from(MODES + ["nope", None]),
    nt=st.one_of(st.none(), junk),
)
def test_conv2d_invalid_raises_cleanly(xs, ws, xd, stride, padding, dilation, groups, mode, nt):
    try:
        y = fastconv.conv2d(
            _array(xs, xd), _array(ws, np.float32), None, stride, padding, dilation, groups, mode, num_threads=nt
        )
    except (ValueError, TypeError):
        return
    assert y.shape == fastconv.conv2d_output_shape(xs, ws, stride, padding, dilation)


@SETTINGS
@given(
    xs=shapes,
    xd=dtypes,
    k=junk,
    s=st.one_of(st.none(), junk),
    p=junk,
    d=junk,
    ceil=st.one_of(st.booleans(), junk),
    idx=st.booleans(),
)
def test_pooling_invalid_raises_cleanly(xs, xd, k, s, p, d, ceil, idx):
    try:
        res = fastconv.max_pool2d(_array(xs, xd), k, s, p, d, ceil, idx)
    except (ValueError, TypeError):
        return
    v = res[0] if idx else res
    assert v.shape == fastconv.pool2d_output_shape(xs, k, s, p, d, ceil)


@SETTINGS
@given(
    a=shapes,
    b=shapes,
    mode=st.sampled_from(["full", "same", "valid", "x"]),
    boundary=st.sampled_from(["fill", "wrap", "symm", "y"]),
    fill=st.one_of(st.floats(), st.text(max_size=2)),
)
def test_signal_invalid_raises_cleanly(a, b, mode, boundary, fill):
    try:
        fastconv.correlate2d(np.ones(a), np.ones(b), mode, boundary, fill)
    except (ValueError, TypeError):
        return


@SETTINGS
@given(
    H=st.integers(1, 12),
    W=st.integers(1, 12),
    k=st.integers(1, 4),
    s=st.integers(1, 4),
    extra=st.integers(-3, 3),
    seed=st.integers(0, 2**31),
)
def test_max_unpool2d_property(H, W, k, s, extra, seed):
    """Round trip from max_pool2d, with output sizes around the default: either PyTorch's size
    rule refuses it (ValueError) or every value lands at its index, zeros elsewhere."""
    r = np.random.default_rng(seed)
    x = r.permutation(2 * H * W).reshape(1, 2, H, W).astype(np.float64)
    try:
        v, i = fastconv.max_pool2d(x, k, s, return_indices=True)
    except ValueError:
        return
    size = (H + extra, W)
    try:
        out = fastconv.max_unpool2d(v, i, k, s, output_size=size)
    except ValueError:
        return  # outside PyTorch's window for output_size, or an index beyond a smaller plane
    flat = out.reshape(2, -1)
    for c in range(2):
        np.testing.assert_array_equal(flat[c, i[0, c].ravel()], v[0, c].ravel())
        assert np.count_nonzero(flat[c]) <= v[0, c].size


@SETTINGS
@given(xs=shapes, ws=shapes, stride=junk, padding=junk, dilation=junk, groups=junk, bias=st.booleans())
def test_shape_functions_raise_cleanly(xs, ws, stride, padding, dilation, groups, bias):
    for call in (
        lambda: fastconv.conv2d_output_shape(xs, ws, stride, padding, dilation),
        lambda: fastconv.conv2d_cost(xs, ws, stride, padding, dilation, groups, bias),
        lambda: fastconv.pool2d_output_shape(xs, stride, None, 0, dilation),
    ):
        try:
            call()
        except (ValueError, TypeError):
            pass
