"""Channels-last (NHWC-strided) input and the ``memory_format`` of conv2d results."""

from __future__ import annotations

import numpy as np
import pytest

import fastconv
from fastconv import _args, _plan, _tuning

from conftest import requires_torch
from helpers import MODES


def _nhwc(x):
    """x's values in channels-last memory, as an (N, C, H, W) view."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("trial", range(60))
def test_channels_last_input_equals_nchw(trial):
    """Every layer on channels-last input (depthwise: the NHWC kernel) gives the NCHW result,
    in every memory_format."""
    rng = np.random.default_rng(trial)
    dt = (np.float32, np.float64)[trial % 2]
    C = int(rng.integers(2, 100))
    dw = trial % 3 != 0
    g = C if dw else int(rng.choice([1, 2]) if C % 2 == 0 else 1)
    cout = C if dw else g * int(rng.integers(1, 4))
    k = tuple(int(v) for v in rng.integers(1, 6, 2))
    s = tuple(int(v) for v in rng.integers(1, 3, 2))
    d = tuple(int(v) for v in rng.integers(1, 3, 2))
    p = "same" if trial % 7 == 0 else tuple(int(v) for v in rng.integers(0, 3, 2))
    mode = "zeros" if trial % 4 else MODES[trial % len(MODES)]
    x = rng.standard_normal((int(rng.integers(1, 3)), C, int(rng.integers(6, 20)), int(rng.integers(6, 20)))).astype(dt)
    w = rng.standard_normal((cout, C // g) + k).astype(dt)
    b = rng.standard_normal(cout).astype(dt)
    try:
        ref = fastconv.conv2d(x, w, b, s, p, d, g, mode)
    except ValueError:
        return
    xl = _nhwc(x)
    if dw and mode == "zeros":
        assert fastconv.explain(xl, w, b, s, p, d, g, mode).kind in (_plan.Kind.DW_NHWC, _plan.Kind.DW_PLANE)
    tol = dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for fmt in ("contiguous", "preserve", "channels_last"):
        res = fastconv.conv2d(xl, w, b, s, p, d, g, mode, memory_format=fmt)
        np.testing.assert_allclose(res, ref, **tol)
        if fmt == "contiguous":
            assert res.flags.c_contiguous
        else:
            assert res.transpose(0, 2, 3, 1).flags.c_contiguous
    assert fastconv.conv2d(x, w, b, s, p, d, g, mode, memory_format="preserve").flags.c_contiguous
    np.testing.assert_allclose(fastconv.conv2d(xl[0], w, b, s, p, d, g, mode, memory_format="preserve"), ref[0], **tol)


@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["LANES", "COLUMNS", "WINOGRAD2"])
def test_channels_last_bands_and_lane_stores_are_exact(kind, dt, vb):
    """Channels-last input is packed VL channels x VL columns at a time (pack/band.h) and
    the channel-lane tiles store a channels-last result straight from their accumulators:
    both give the NCHW path's bits, at channel counts around the square size (remainder
    channels and columns element by element), strides 1-3 (phases), every padding mode,
    reversed views, groups, partial channel blocks and NaN/inf inputs.  Winograd's bands
    come from the same packer."""
    rng = np.random.default_rng(vb + (dt == np.float64) + len(kind))
    force = _plan.Force(kind=_plan.Kind[kind], vector_bytes=vb)
    vl = vb // np.dtype(dt).itemsize
    shapes = [(vl, 1), (vl + 3, 1), (2 * vl, 2), (3, 1), (2 * vl + 1, 1)]
    for trial, (C, g) in enumerate(shapes):
        s = 1 if kind == "WINOGRAD2" else int(rng.integers(1, 4))
        k = 3 if kind == "WINOGRAD2" else int(rng.integers(1, 5))
        mode = MODES[trial % len(MODES)]
        x = rng.standard_normal((2, C, int(rng.integers(5, 12)), int(rng.integers(vl - 2, 3 * vl + 3)))).astype(dt)
        if kind != "WINOGRAD2":  # (Winograd leaves non-finite layers to the direct kernels)
            x[0, C - 1, 1, -1] = np.nan
            x[1, 0, -1, 0] = np.inf
        cout = g * int(rng.integers(3, 3 * vl // g + 3))
        w = rng.standard_normal((cout, C // g, k, k)).astype(dt)
        b = rng.standard_normal(cout).astype(dt)
        xl = _nhwc(x)
        for xin in (xl, xl[:, :, ::-1, ::-1]):
            ref = fastconv.conv._conv2d(
                np.ascontiguousarray(xin), w, b, s, k // 2, 1, g, mode, None, None, "auto", force
            )
            for fmt in ("contiguous", "channels_last"):
                got = fastconv.conv._conv2d(
                    xin, w, b, s, k // 2, 1, g, mode, None, None, "auto", force, memory_format=fmt
                )
                np.testing.assert_array_equal(got, ref, err_msg=f"{kind} {C} {g} {cout} {s} {k} {mode} {fmt}")


@pytest.mark.parametrize("nt", [1, 2])
@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_channel_lanes_streamed_channels_last_results_are_exact(dt, vb, nt):
    """Channel-lane tiles storing a channels-last result with streaming stores
    (CHANNELS_LAST_STREAM_MIN_BYTES 0; 64-byte vectors and pixels on vector boundaries
    only) or without give the NCHW result's bits: several and one block of output
    channels, channel counts off the vectors, odd band heights, narrow planes whose rows go
    in pairs, strides, groups, bias, NaN/inf."""
    rng = np.random.default_rng(vb + nt + (dt == np.float64))
    force = _plan.Force(kind=_plan.Kind.LANES, vector_bytes=vb)
    streamed = _plan.Force(kind=_plan.Kind.LANES, vector_bytes=vb, tuning={"CHANNELS_LAST_STREAM_MIN_BYTES": 0})
    # (N, C, H, W, cout, k, stride, groups)
    cases = [
        (2, 16, 9, 11, 96, 1, 1, 1),
        (1, 8, 7, 5, 40, 3, 1, 1),
        (2, 12, 13, 6, 72, 3, 2, 2),
        (1, 6, 5, 3, 5, 3, 1, 1),
        (2, 64, 6, 9, 37, 3, 1, 1),
        (1, 24, 5, 7, 48, 3, 1, 1),
    ]
    for N, C, H, W, cout, k, s, g in cases:
        x = rng.standard_normal((N, C, H, W)).astype(dt)
        x[0, C - 1, H // 2, W - 1] = np.nan
        x[-1, 0, H - 1, 0] = -np.inf
        w = rng.standard_normal((cout, C // g, k, k)).astype(dt)
        b = rng.standard_normal(cout).astype(dt)
        ref = fastconv.conv._conv2d(x, w, b, s, k // 2, 1, g, "zeros", None, nt, "auto", force)
        for f in (force, streamed):
            a = fastconv._args.conv2d_args(_nhwc(x), w, b, s, k // 2, 1, g, "zeros")
            plan = _plan.conv2d(a, "auto", nt, f, True)
            assert plan.stream == (f is streamed and plan.vector_bytes == 64 and cout * x.itemsize % 64 == 0), plan
            got = fastconv.conv._conv2d(
                _nhwc(x), w, b, s, k // 2, 1, g, "zeros", None, nt, "auto", f, memory_format="channels_last"
            )
            assert got.transpose(0, 2, 3, 1).flags.c_contiguous
            np.testing.assert_array_equal(got, ref, err_msg=f"{N} {C} {H} {W} {cout} {k} {s} {g} {plan.stream}")


def test_channel_lanes_stream_rule():
    """The channel-lane tiles stream a channels-last result of at least
    CHANNELS_LAST_STREAM_MIN_BYTES with 64-byte vectors and pixels on vector boundaries,
    never a smaller one or a channels-first result (planned, not run: the arrays are
    empty)."""
    lanes = _plan.Force(kind=_plan.Kind.LANES)
    w = np.ones((96, 16, 1, 1), np.float32)

    def stream(n, hw, last):
        x = np.empty((n, hw, hw, 16), np.float32).transpose(0, 3, 1, 2)
        return _plan.conv2d(_args.conv2d_args(x, w, None, 1, 0, 1, 1, "zeros"), "auto", 1, lanes, last).stream

    big = 8 * 96 * 112 * 112 * 4
    assert big >= _tuning.CHANNELS_LAST_STREAM_MIN_BYTES > 96 * 56 * 56 * 4
    assert stream(8, 112, True) == (_plan.vector_bytes() == 64)
    assert not stream(8, 112, False) and not stream(1, 56, True)
    assert _plan.channels_last_stream(1 << 30, 48, 4, 64, 1) and _plan.channels_last_stream(1 << 30, 8, 8, 64, 1)
    assert not _plan.channels_last_stream(1 << 30, 21, 4, 64, 1) and not _plan.channels_last_stream(
        1 << 30, 48, 4, 32, 1
    )
    assert not _plan.channels_last_stream(1 << 20, 48, 4, 64, 2 << 20)


@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_depthwise_planes_on_channels_last_data_are_exact(dt, vb):
    """DW_PLANE reads channels-last input a pixel's VL channels at a time and writes a
    channels-last result the same way (no transposes): the NCHW path's bits for channel
    counts around VL (a partial last block), strides, dilation, every padding mode, bias,
    NaN/inf inputs and weights; its rule takes unit-stride small planes."""
    rng = np.random.default_rng(vb + (dt == np.float64))
    force = _plan.Force(kind=_plan.Kind.DW_PLANE, vector_bytes=vb)
    vl = vb // np.dtype(dt).itemsize
    for trial, C in enumerate((2, vl, vl + 3, 2 * vl + 1)):
        mode = MODES[trial % len(MODES)]
        k = (3, 3) if trial % 2 else (2, 5)
        s, d = (1 + trial % 2, 1), (1, 1 + trial % 3)
        x = rng.standard_normal((2, C, int(rng.integers(9, 15)), int(rng.integers(9, 15)))).astype(dt)
        x[0, C - 1, 0, 0] = np.nan
        x[1, 0, -1, -1] = -np.inf
        w = rng.standard_normal((C, 1) + k).astype(dt)
        w[C // 2, 0, 0, 0] = np.inf
        b = rng.standard_normal(C).astype(dt)
        args = (w, b, s, (1, 2), d, C, mode, None, None, "auto", force)
        ref = fastconv.conv._conv2d(x, *args)
        for fmt in ("contiguous", "channels_last"):
            got = fastconv.conv._conv2d(_nhwc(x), *args, memory_format=fmt)
            np.testing.assert_array_equal(got, ref, err_msg=f"{C} {k} {s} {d} {mode} {fmt}")
    xl = _nhwc(np.zeros((1, 96, 14, 14), np.float32))
    w = np.zeros((96, 1, 3, 3), np.float32)
    assert fastconv.explain(xl, w, padding=1, groups=96).kind == _plan.Kind.DW_PLANE
    # a channels-last result: DW_NHWC where it applies (zero padding, finite weights)
    for fmt in ("preserve", "channels_last"):
        assert fastconv.explain(xl, w, padding=1, groups=96, memory_format=fmt).kind == _plan.Kind.DW_NHWC
    assert fastconv.explain(xl, w, padding=1, groups=96, padding_mode="reflect", memory_format="preserve").kind == (
        _plan.Kind.DW_PLANE
    )
    assert fastconv.explain(xl, w, stride=2, padding=1, groups=96).kind == _plan.Kind.DW_NHWC
    assert fastconv.explain(_nhwc(np.zeros((1, 96, 56, 56), np.float32)), w, padding=1, groups=96).kind == (
        _plan.Kind.DW_NHWC
    )


@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nhwc_depthwise_blocks_at_their_edges(dt, vb):
    """The channels-last depthwise kernel (DW_NHWC) at both vector widths: channel counts
    around its blocks (whole vectors in blocks of up to 4, the rest one by one), rows whose
    interior is not a whole number of pixel groups, strides, dilations, bias, NaN/inf
    inputs, both result layouts, against the NCHW kernels."""
    rng = np.random.default_rng(vb + (dt == np.float64))
    vl = vb // np.dtype(dt).itemsize
    force = _plan.Force(kind=_plan.Kind.DW_NHWC, vector_bytes=vb)
    for C in (2, vl - 1, vl, vl + 1, 2 * vl + 3, 4 * vl - 1, 4 * vl, 5 * vl + 2, 9 * vl):
        s = int(rng.integers(1, 3))
        d = int(rng.integers(1, 3))
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 5)))
        x = rng.standard_normal((2, C, int(rng.integers(4, 12)), int(rng.integers(4, 23)))).astype(dt)
        x[0, C - 1, 1, -1] = np.nan
        x[1, 0, 0, 1] = np.inf
        w = rng.standard_normal((C, 1) + k).astype(dt)
        b = rng.standard_normal(C).astype(dt)
        pads = (k[0] // 2, k[1] // 2)
        ref = fastconv.conv2d(x, w, b, s, pads, d, C, algorithm="direct")
        tol = dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
        for fmt in ("contiguous", "channels_last"):
            got = fastconv.conv._conv2d(
                _nhwc(x), w, b, s, pads, d, C, "zeros", None, None, "auto", force, memory_format=fmt
            )
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"C={C} {fmt}")
            np.testing.assert_allclose(got, ref, **tol, err_msg=f"C={C} k={k} s={s} d={d} {fmt}")


@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nhwc_depthwise_channels_first_result_in_row_blocks(dt, vb):
    """DW_NHWC with a channels-first result: blocks of output rows small enough for the
    per-thread channels-last buffer (several per work item on these rows of up to 61 pixels
    of 9 vectors of channels), transposed into the planes in vector squares with edges of
    fewer pixels and channels than a vector, NaN and inf included, against the NCHW
    kernels, on one and two threads."""
    rng = np.random.default_rng(7 * vb + (dt == np.float64))
    vl = vb // np.dtype(dt).itemsize
    force = _plan.Force(kind=_plan.Kind.DW_NHWC, vector_bytes=vb)
    for C, H, W, s in ((9 * vl, 23, 61, 1), (9 * vl + 5, 17, 40, 2), (3, 9, 50, 1), (vl + 1, 5, 7, 1)):
        x = rng.standard_normal((2, C, H, W)).astype(dt)
        x[1, C - 1, H // 2, 3] = np.nan
        x[0, 0, 0, W - 1] = -np.inf
        w = rng.standard_normal((C, 1, 3, 3)).astype(dt)
        b = rng.standard_normal(C).astype(dt)
        ref = fastconv.conv2d(x, w, b, s, 1, 1, C, algorithm="direct")
        tol = dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
        for nt in (1, 2):
            got = fastconv.conv._conv2d(_nhwc(x), w, b, s, 1, 1, C, "zeros", None, nt, "auto", force)
            assert got.flags.c_contiguous
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"C={C} nt={nt}")
            np.testing.assert_allclose(got, ref, **tol, err_msg=f"C={C} H={H} W={W} s={s} nt={nt}")


def _depthwise_reference(x, w, b, s, ph, pw):
    """Depthwise cross-correlation in float64 by NumPy slices: zero padding ph rows and pw
    columns each side, stride s."""
    N, C, H, W = x.shape
    kH, kW = w.shape[2:]
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = (H + 2 * ph - kH) // s + 1, (W + 2 * pw - kW) // s + 1
    out = np.zeros((N, C, Ho, Wo)) + (0.0 if b is None else b.astype(np.float64)[:, None, None])
    for kh in range(kH):
        for kw in range(kW):
            tap = xp[:, :, kh : kh + (Ho - 1) * s + 1 : s, kw : kw + (Wo - 1) * s + 1 : s]
            out += tap * w[None, :, 0, kh, kw, None, None].astype(np.float64)
    return out


@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nhwc_depthwise_stride2_rows_of_every_width(dt, vb):
    """DW_NHWC at stride 2 (MobileNetV2's downsampling layers), 1 to 3 kernel rows of 3
    taps: output widths 1 to 21 (interiors of no pixel group, one, several and a rest),
    channel counts below, at and around the vector blocks, bias or none, NaN and inf inputs
    at the borders, both result layouts, aligned and unaligned pixels, against a float64
    NumPy reference."""
    rng = np.random.default_rng(11 * vb + (dt == np.float64))
    vl = vb // np.dtype(dt).itemsize
    force = _plan.Force(kind=_plan.Kind.DW_NHWC, vector_bytes=vb)
    tol = dict(rtol=2e-5, atol=2e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for W in range(1, 43, 2):
        C = (3, vl, 2 * vl, 2 * vl + 3, 4 * vl + 1, 5 * vl)[W % 6]
        kh = int(rng.integers(1, 4))
        H = int(rng.integers(max(kh, 2), 9))
        x = rng.standard_normal((2, C, H, W)).astype(dt)
        x[0, C - 1, 0, 0] = np.nan
        x[1, 0, H - 1, W - 1] = np.inf
        x[1, C // 2, H // 2, W // 2] = -np.inf
        w = rng.standard_normal((C, 1, kh, 3)).astype(dt)
        b = rng.standard_normal(C).astype(dt) if W % 4 == 1 else None
        pads = (1 if kh == 3 else 0, 1)
        ref = _depthwise_reference(x, w, b, 2, *pads)
        for fmt in ("contiguous", "channels_last"):
            for offset in (0, np.dtype(dt).itemsize):
                got = fastconv.conv._conv2d(
                    _nhwc_at(x, offset), w, b, 2, pads, 1, C, "zeros", None, None, "auto", force, memory_format=fmt
                )
                err = f"W={W} C={C} kh={kh} {fmt} offset={offset}"
                np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=err)
                np.testing.assert_allclose(got, ref, **tol, err_msg=err)


def _nhwc_at(x, offset):
    """x's values in channels-last memory that starts ``offset`` bytes past a 64-byte
    boundary, as an (N, C, H, W) view."""
    raw = np.empty(x.nbytes + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    y = raw[start : start + x.nbytes].view(x.dtype).reshape(x.shape[0], x.shape[2], x.shape[3], x.shape[1])
    y[...] = x.transpose(0, 2, 3, 1)
    return y.transpose(0, 3, 1, 2)


@pytest.mark.parametrize("in_place", [False, True])
@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nhwc_depthwise_unaligned_pixels_and_sliding_blocks(dt, vb, in_place, monkeypatch):
    """DW_NHWC on input whose pixels do not start on a vector boundary (read in place, or
    copied a few rows at a time into an aligned buffer: the planner's choice by CPU vendor,
    both forced here) gives the very numbers of aligned input, and both agree with the
    NCHW kernels: 3x3 and 5x5 kernels (the sliding blocks of unit stride and dilation in
    width) and others, strides, dilations, padding taller than the copied rows, NaN/inf
    inputs, bias, channel counts around the vector blocks, both result layouts."""
    vendors = () if in_place else (fastconv._omp.cpu_vendor(),)
    monkeypatch.setattr(_tuning, "NHWC_ALIGNED_COPY_VENDORS", vendors)
    monkeypatch.setattr(_tuning, "NHWC_IN_PLACE_CPUS", {})
    rng = np.random.default_rng(7 + vb + (dt == np.float64))
    isz = np.dtype(dt).itemsize
    vl = vb // isz
    force = _plan.Force(kind=_plan.Kind.DW_NHWC, vector_bytes=vb)
    cases = [(3, 1, 1), (5, 1, 1), (3, 2, 1), (5, 1, 2), (3, 1, 3), (4, 1, 1), (7, 2, 2)]
    for trial, (k, s, d) in enumerate(cases):
        C = (vl, 2 * vl, 3 * vl + 1, 8 * vl, 2 * vl - 1, 5 * vl, 9 * vl + 3)[trial]
        H, W = int(rng.integers(k * d, 30)), int(rng.integers(k * d, 30))
        x = rng.standard_normal((2, C, H, W)).astype(dt)
        x[0, C - 1, H // 2, W - 1] = np.nan
        x[1, 0, H - 1, 0] = -np.inf
        w = rng.standard_normal((C, 1, k, k)).astype(dt)
        b = rng.standard_normal(C).astype(dt) if trial % 2 else None
        pads = (k // 2 + trial % 3, k // 2)
        ref = fastconv.conv2d(x, w, b, s, pads, d, C, algorithm="direct")
        tol = dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
        for fmt in ("contiguous", "channels_last"):
            got = {}
            for offset in (0, isz, 16, vb - isz):
                xo = _nhwc_at(x, offset)
                plan = fastconv.explain(xo, w, b, s, pads, d, C, memory_format=fmt)
                assert plan.kind != _plan.Kind.DW_NHWC or plan.read_in_place == in_place
                got[offset] = fastconv.conv._conv2d(
                    xo, w, b, s, pads, d, C, "zeros", None, None, "auto", force, memory_format=fmt
                )
                np.testing.assert_array_equal(got[offset], got[0], err_msg=f"C={C} k={k} offset={offset} {fmt}")
            np.testing.assert_array_equal(np.isnan(got[0]), np.isnan(ref))
            np.testing.assert_allclose(got[0], ref, **tol, err_msg=f"C={C} k={k} s={s} d={d} {fmt}")


def test_nhwc_in_place_rule_by_cpu_and_input_size(monkeypatch):
    """Where DW_NHWC reads unaligned pixels in place: always on a vendor outside
    NHWC_ALIGNED_COPY_VENDORS; on a listed vendor only for a strided layer, a (vendor,
    family, vector bytes) of NHWC_IN_PLACE_CPUS and an input up to its size, whatever the
    machine running this."""
    monkeypatch.setattr(_plan, "_CPU_VENDOR", "AuthenticAMD")
    monkeypatch.setattr(_plan, "_CPU_FAMILY", 25)
    vb = _plan.vector_bytes()
    w = np.ones((64, 1, 3, 3), np.float32)

    def in_place(shape, tuning, stride=2):
        x = np.empty((shape[0], shape[2], shape[3], shape[1]), np.float32).transpose(0, 3, 1, 2)
        a = fastconv._args.conv2d_args(x, w, None, stride, 1, 1, 64, "zeros")
        plan = _plan.conv2d(a, "direct", 1, _plan.Force(kind=_plan.Kind.DW_NHWC, tuning=tuning), True)
        assert plan.kind == _plan.Kind.DW_NHWC
        return plan.read_in_place

    small, big = (8, 64, 56, 56), (1, 64, 400, 400)  # 6.4 MB, 41 MB
    rule = {"NHWC_IN_PLACE_CPUS": {("AuthenticAMD", 25, vb): 32 << 20}}
    assert in_place(small, rule) and not in_place(big, rule)
    assert not in_place(small, {"NHWC_IN_PLACE_CPUS": {("AuthenticAMD", 26, vb): 32 << 20}})
    assert not in_place(small, {"NHWC_IN_PLACE_CPUS": {}})
    assert in_place(big, {**rule, "NHWC_ALIGNED_COPY_VENDORS": ("GenuineIntel",)})
    assert not in_place(small, rule, stride=1)  # unit stride: the copy
    assert in_place(small, {**rule, "NHWC_ALIGNED_COPY_VENDORS": ()}, stride=1)
    # the shipped table: Zen 4's strided 64-byte plans read up to 32 MB in place
    assert in_place(small, {}) == (vb == 64) and not in_place(big, {})
    # and Zen 5's (family 26) up to 40 MiB
    monkeypatch.setattr(_plan, "_CPU_FAMILY", 26)
    assert in_place(big, {}) == (vb == 64) and not in_place((1, 64, 460, 460), {})  # 39 and 54 MB


def test_nhwc_prefetch_rule_and_exactness(monkeypatch):
    """DW_NHWC prefetches the next output row's input rows from NHWC_PREFETCH_MIN_BYTES of
    input on: the rule by size, and prefetching kernels give the very numbers of plain ones
    for aligned, unaligned (read in place) and pixel-strided input (a channel slice of a
    wider channels-last array), strides, dilations and both result layouts.  A CPU listed in
    NHWC_PREFETCH_MIN_BYTES_CPUS takes its own size."""
    monkeypatch.setattr(_tuning, "NHWC_ALIGNED_COPY_VENDORS", ())  # unaligned read in place
    monkeypatch.setattr(_plan, "_CPU_VENDOR", "AuthenticAMD")
    rng = np.random.default_rng(11)
    w128 = np.ones((128, 1, 3, 3), np.float32)
    for family in (25, 26):
        monkeypatch.setattr(_plan, "_CPU_FAMILY", family)
        monkeypatch.setattr(_plan, "_memo", {})  # plans memoised for another CPU
        least = _tuning.NHWC_PREFETCH_MIN_BYTES_CPUS.get(("AuthenticAMD", family), _tuning.NHWC_PREFETCH_MIN_BYTES)
        for shape in ((8, 128, 56, 56), (8, 128, 14, 14), (16, 128, 56, 56)):  # 12.8, 0.8, 25.7 MB
            x = _nhwc(np.zeros(shape, np.float32))
            plan = fastconv.explain(x, w128, None, 1, 1, 1, 128, memory_format="preserve")
            assert plan.kind == _plan.Kind.DW_NHWC and plan.prefetch == (x.nbytes >= least), (family, shape)
            assert ("prefetched" in str(plan)) == plan.prefetch
    assert _tuning.NHWC_PREFETCH_MIN_BYTES <= 8 * 128 * 56 * 56 * 4  # the 12.8 MB input prefetches on Zen 4
    monkeypatch.setattr(_tuning, "NHWC_PREFETCH_MIN_BYTES_CPUS", {})  # the size below decides
    for trial, (C, k, s, d) in enumerate([(64, 3, 1, 1), (40, 3, 2, 1), (96, 5, 1, 1), (33, 3, 1, 2), (128, 4, 2, 1)]):
        H, W = int(rng.integers(9, 40)), int(rng.integers(9, 40))
        wide = rng.standard_normal((2, H, W, C + 5)).astype(np.float32)
        wide[0, H // 2, W - 1, C - 1] = np.nan
        wide[1, 0, 0, 0] = np.inf
        views = {
            "aligned": _nhwc_at(wide[..., :C].transpose(0, 3, 1, 2).copy(), 0),
            "unaligned": _nhwc_at(wide[..., :C].transpose(0, 3, 1, 2).copy(), 4),
            "pixel-strided": wide[..., 2 : 2 + C].transpose(0, 3, 1, 2),
        }
        w = rng.standard_normal((C, 1, k, k)).astype(np.float32)
        b = rng.standard_normal(C).astype(np.float32)
        for name, x in views.items():
            for fmt in ("preserve", "contiguous"):
                got = {}
                for on in (True, False):
                    force = _plan.Force(
                        kind=_plan.Kind.DW_NHWC, tuning={"NHWC_PREFETCH_MIN_BYTES": 0 if on else 1 << 60}
                    )
                    args = _args.conv2d_args(x, w, b, s, k // 2, d, C, "zeros")
                    assert _plan.conv2d(args, "auto", None, force, fmt == "preserve").prefetch == on
                    got[on] = fastconv.conv._conv2d(
                        x, w, b, s, k // 2, d, C, "zeros", None, 2, "auto", force, memory_format=fmt
                    )
                np.testing.assert_array_equal(got[True], got[False], err_msg=f"{name} {fmt} trial {trial}")
                ref = fastconv.conv2d(np.ascontiguousarray(x), w, b, s, k // 2, d, C, algorithm="direct")
                np.testing.assert_array_equal(np.isnan(got[True]), np.isnan(ref))
                np.testing.assert_allclose(got[True], ref, rtol=1e-5, atol=1e-5, err_msg=f"{name} {fmt}")


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nhwc_depthwise_big_result_streams(dt):
    """A channels-last result past NHWC_STREAM_MIN_BYTES is stored with streaming stores
    (64-byte vectors): the same numbers as a small one's ordinary stores, from aligned and
    unaligned input, channel counts with and without a partial vector, against NCHW."""
    rng = np.random.default_rng(3)
    isz = np.dtype(dt).itemsize
    force = _plan.Force(kind=_plan.Kind.DW_NHWC)
    for C in (64, 67):
        x = rng.standard_normal((2, C, 97, 96)).astype(dt)
        x[1, 3, 50, 50] = np.nan
        w = rng.standard_normal((C, 1, 3, 3)).astype(dt)
        b = rng.standard_normal(C).astype(dt)
        assert x.nbytes >= _plan._tuning.NHWC_STREAM_MIN_BYTES
        ref = fastconv.conv2d(x, w, b, 1, 1, 1, C, algorithm="direct")
        tol = dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
        for offset in (0, 2 * isz):
            xl = _nhwc_at(x, offset)
            # a partial vector of channels: "auto" transposes into planes; DW_NHWC forced here
            assert fastconv.explain(xl, w, b, 1, 1, 1, C).to_planes == (C % (_plan.vector_bytes() // isz) != 0)
            args = _args.conv2d_args(xl, w, b, 1, 1, 1, C, "zeros")
            plan = _plan.conv2d(args, "auto", None, force, channels_last_result=True)
            # (streamed only where every pixel starts on a vector boundary)
            assert plan.kind == _plan.Kind.DW_NHWC
            assert plan.stream == (_plan.vector_bytes() == 64 and C * isz % 64 == 0)

            def run(xin, w=w, b=b, C=C):
                return fastconv.conv._conv2d(
                    xin, w, b, 1, 1, 1, C, "zeros", None, None, "auto", force, memory_format="preserve"
                )

            got = run(xl)
            assert got.strides[1] == isz  # channels-last, written by the kernel
            small = np.stack([run(xl[i : i + 1])[0] for i in (0, 1)])
            np.testing.assert_array_equal(got, small)  # one image is under the threshold
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            np.testing.assert_allclose(got, ref, **tol)


def test_nhwc_depthwise_keeps_non_finite_patterns():
    """Non-finite weights with zero padding leave the NHWC kernel (skipped padding taps are
    not 0 * inf); NaN and inf inputs propagate as in the NCHW kernels."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 8, 9, 10)).astype(np.float32)
    x[0, 3, 4, 5] = np.nan
    x[1, 2, 0, 0] = np.inf
    w = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    xl = _nhwc(x)
    ref = fastconv.conv2d(x, w, None, 1, 1, 1, 8)
    np.testing.assert_array_equal(np.isnan(fastconv.conv2d(xl, w, None, 1, 1, 1, 8)), np.isnan(ref))
    w[2, 0, 0, 0] = np.inf
    assert fastconv.explain(xl, w, None, 1, 1, 1, 8).kind != _plan.Kind.DW_NHWC
    ref = fastconv.conv2d(x, w, None, 1, 1, 1, 8)
    np.testing.assert_array_equal(np.isnan(fastconv.conv2d(xl, w, None, 1, 1, 1, 8)), np.isnan(ref))


def test_memory_format_is_checked():
    with pytest.raises(ValueError, match="memory_format"):
        fastconv.conv2d(np.ones((1, 2, 4, 4)), np.ones((2, 1, 3, 3)), groups=2, memory_format="nhwc")


@requires_torch
def test_matches_torch_channels_last():
    import torch

    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 32, 14, 14)).astype(np.float32)
    w = rng.standard_normal((32, 1, 3, 3)).astype(np.float32)
    tx = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    ref = torch.nn.functional.conv2d(tx, torch.from_numpy(w), None, 2, 1, 1, 32)
    res = fastconv.conv2d(_nhwc(x), w, None, 2, 1, 1, 32, memory_format="preserve")
    np.testing.assert_allclose(res, ref.numpy(), rtol=1e-5, atol=1e-5)
    assert res.strides == tuple(s * 4 for s in ref.stride())


def _random_pool(rng):
    N, C, H, W = int(rng.integers(0, 3)), int(rng.integers(2, 80)), int(rng.integers(1, 12)), int(rng.integers(1, 12))
    k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    p = (int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1)))
    d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    dtype = np.float32 if rng.integers(0, 2) else np.float64
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    if rng.integers(0, 3) == 0:
        x[rng.random(x.shape) < 0.1] = np.nan
    if rng.integers(0, 3) == 0:
        x[rng.random(x.shape) < 0.05] = -np.inf
    if rng.integers(0, 3) == 0:
        x = np.round(x)  # ties: the first maximum wins
    return x.transpose(0, 3, 1, 2), k, s, p, d, bool(rng.integers(0, 2))


@pytest.mark.parametrize("trial", range(4))
def test_channels_last_pooling_equals_nchw(trial):
    """Pooling reads channels-last input where it lies (pool/nhwc.h): values, indices, NaN,
    -inf and ties as the NCHW kernels, for every result layout."""
    rng = np.random.default_rng(100 + trial)
    ran = 0
    for _ in range(60):
        xcl, k, s, p, d, ceil = _random_pool(rng)
        assert _plan.nhwc_pool(xcl, xcl.dtype) or xcl.size == 0  # the kernel under test runs
        xc = np.ascontiguousarray(xcl)
        try:
            ref_v, ref_i = fastconv.max_pool2d(xc, k, s, p, d, ceil, True)
        except ValueError:
            continue
        ran += 1
        for fmt in ("contiguous", "preserve", "channels_last"):
            v, i = fastconv.max_pool2d(xcl, k, s, p, d, ceil, True, memory_format=fmt)
            np.testing.assert_array_equal(v, ref_v)
            np.testing.assert_array_equal(i, ref_i)
            assert (v.transpose(0, 2, 3, 1) if fmt != "contiguous" else v).flags.c_contiguous
            np.testing.assert_array_equal(fastconv.max_pool2d(xcl, k, s, p, d, ceil, memory_format=fmt), ref_v)
            for cip, div in ((True, None), (False, None), (True, 3)):
                try:
                    ref_a = fastconv.avg_pool2d(xc, k, s, p, ceil, cip, div)
                except ValueError:
                    continue
                got = fastconv.avg_pool2d(xcl, k, s, p, ceil, cip, div, memory_format=fmt)
                np.testing.assert_allclose(got, ref_a, rtol=1e-6, atol=1e-6)
    assert ran > 20


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_channels_last_pooling_whole_windows_across_channel_blocks(dt):
    """Channels-last pooling (pool/nhwc.h) with whole 2x2 and 3x3 windows beside border
    and padded ones: channel counts around whole vectors and the 64-channel blocks,
    pixel-strided input, NaN, -inf and ties, both result layouts, against the NCHW
    kernels."""
    rng = np.random.default_rng(21)
    for C in (1, 15, 16, 17, 63, 64, 65, 130, 200):
        wide = np.round(rng.standard_normal((2, 13, 14, C + 3)) * 2).astype(dt)  # ties
        wide[0, 3, 4, :C:3] = np.nan
        wide[1, 5, 6, 1::2] = -np.inf
        xcl = wide[..., 1 : 1 + C].transpose(0, 3, 1, 2)
        xc = np.ascontiguousarray(xcl)
        for k, s, p in ((2, 2, 0), (2, 1, 1), (3, 2, 1), (3, 1, 0), (3, 3, 1)):
            ref = fastconv.max_pool2d(xc, k, s, p)
            ref_a = fastconv.avg_pool2d(xc, k, s, p, count_include_pad=False)
            for fmt in ("preserve", "contiguous"):
                np.testing.assert_array_equal(fastconv.max_pool2d(xcl, k, s, p, memory_format=fmt), ref)
                got = fastconv.avg_pool2d(xcl, k, s, p, count_include_pad=False, memory_format=fmt)
                np.testing.assert_allclose(got, ref_a, rtol=1e-6, atol=1e-6, err_msg=f"C={C} k={k} {fmt}")


def test_pool_memory_format():
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)  # NCHW input
    y = fastconv.max_pool2d(x, 2, memory_format="channels_last")
    assert y.transpose(0, 2, 3, 1).flags.c_contiguous
    np.testing.assert_array_equal(y, fastconv.max_pool2d(x, 2))
    assert fastconv.avg_pool2d(x, 2, memory_format="preserve").flags.c_contiguous
    with pytest.raises(ValueError, match="memory_format='nhwc'"):
        fastconv.max_pool2d(x, 2, memory_format="nhwc")
    with pytest.raises(ValueError, match="memory_format='nhwc'"):
        fastconv.avg_pool2d(x, 2, memory_format="nhwc")


@requires_torch
def test_channels_last_pooling_matches_torch():
    import torch

    F = torch.nn.functional
    rng = np.random.default_rng(7)
    for _ in range(30):
        xcl, k, s, p, d, ceil = _random_pool(rng)
        tx = torch.from_numpy(np.ascontiguousarray(xcl)).contiguous(memory_format=torch.channels_last)
        try:
            v, i = fastconv.max_pool2d(xcl, k, s, p, d, ceil, True, memory_format="preserve")
        except ValueError:
            continue
        tv, ti = F.max_pool2d(tx, k, s, p, d, ceil, True)
        np.testing.assert_array_equal(v, tv.numpy())
        np.testing.assert_array_equal(i, ti.numpy())
        a = fastconv.avg_pool2d(xcl, k, s, p, ceil, False, memory_format="preserve")
        np.testing.assert_allclose(a, F.avg_pool2d(tx, k, s, p, ceil, False).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("vb", [32, 64])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_planes_to_channels_last_is_a_transpose(dt, vb):
    """The register-square transpose that gives a channels-first kind's result its
    channels-last layout: pixel and channel counts below, at and past whole vectors and
    past a work item's pixels, NaN and inf carried bit for bit, 1 and 2 threads, against
    NumPy's transpose."""
    from fastconv import _depthwise

    rng = np.random.default_rng(vb)
    vb = _plan.vector_bytes(_plan.Force(vector_bytes=vb))  # this CPU's, at most
    vl = vb // np.dtype(dt).itemsize
    for shape in ((1, 1, 1, 1), (3, vl - 1, 5, 3), (2, vl, 4, vl), (1, 2 * vl + 3, 33, 37), (2, 5, 40, 30)):
        src = rng.standard_normal(shape).astype(dt)
        src.flat[:: max(1, src.size // 5)] = np.nan
        src.flat[-1] = -np.inf
        for nt in (1, 2):
            dst = np.full((shape[0], shape[2], shape[3], shape[1]), 7, dt)
            _depthwise.planes_to_channels_last(src, dst, vb, nt)
            np.testing.assert_array_equal(dst, src.transpose(0, 2, 3, 1), err_msg=f"{shape} nt={nt}")
    with pytest.raises(ValueError, match="dst"):
        _depthwise.planes_to_channels_last(np.zeros((1, 2, 3, 4), dt), np.zeros((1, 3, 4, 3), dt), vb, 1)


def test_kernel_entries_refuse_a_vector_width_this_cpu_lacks():
    """The compiled entries that take a vector width (a plan's, or the transposes') refuse
    one that is not 32 or 64 bytes, or that this CPU cannot run (64 without AVX-512), with
    a ValueError instead of an illegal instruction; the planner never hands one out."""
    from dataclasses import replace

    from fastconv import _depthwise, _direct, _engine
    from fastconv._args import conv2d_args

    cpu = _direct.cpu_vector_bytes()
    bad = [16, 48, 128] + ([64] if cpu < 64 else [])
    src = np.zeros((1, 2, 3, 4), np.float32)
    x = np.ones((1, 16, 8, 8), np.float32)
    w = np.ones((16, 16, 3, 3), np.float32)
    a = conv2d_args(x, w, None, 1, 1, 1, 1, "zeros", "conv2d")
    plan = _plan.conv2d(a, "direct", 1)
    assert plan.vector_bytes == cpu
    for vb in bad:
        with pytest.raises(ValueError, match="vector bytes"):
            _depthwise.planes_to_channels_last(src, np.zeros((1, 3, 4, 2), np.float32), vb, 1)
        with pytest.raises(ValueError, match="vector bytes"):
            _depthwise.channels_last_to_planes(np.zeros((1, 3, 4, 2), np.float32), src.copy(), vb, 1)
        with pytest.raises(ValueError, match="vector bytes"):
            _engine.run(replace(plan, vector_bytes=vb), a, np.empty(a.out_shape, np.float32))
    out = np.empty(a.out_shape, np.float32)
    _engine.run(plan, a, out)
    np.testing.assert_allclose(out, fastconv.conv2d(x, w, padding=1), rtol=1e-6)


def test_depthwise_channels_off_the_vectors_in_place():
    """Which depthwise layers on channels-last input with channels off the vectors go
    through planes: fewer channels than a vector, or a channels-first result of a
    unit-stride plane beyond DW_PLANE_MAX_ELEMS_UNIT; a channels-last result, strides and
    small planes run in place (DW_NHWC or DW_PLANE), the same numbers as the NCHW call with
    NaN/inf and bias, the channels past the last whole vector included."""
    vl = _plan.vector_bytes() // 4
    rng = np.random.default_rng(11)
    # (C, plane, stride, channels-last result, through planes)
    cases = [
        (vl + vl // 2, 40, 1, False, True),
        (vl + vl // 2, 40, 1, True, False),
        (vl + vl // 2, 40, 2, False, False),
        (2 * vl + 3, 12, 1, False, False),
        (vl - 1, 12, 2, True, True),
    ]
    for C, hw, s, last, planes in cases:
        x = rng.standard_normal((2, C, hw, hw)).astype(np.float32)
        x[0, C - 1, hw // 2, 0] = np.nan
        x[1, C - 2, 0, hw - 1] = np.inf
        w = rng.standard_normal((C, 1, 3, 3)).astype(np.float32)
        b = rng.standard_normal(C).astype(np.float32)
        fmt = "preserve" if last else "contiguous"
        plan = fastconv.explain(_nhwc(x), w, b, s, 1, 1, C, memory_format=fmt)
        assert plan.to_planes == planes, (C, hw, s, last, plan)
        got = fastconv.conv2d(_nhwc(x), w, b, s, 1, 1, C, memory_format=fmt)
        ref = fastconv.conv2d(x, w, b, s, 1, 1, C, algorithm="direct")
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=f"{C} {hw} {s} {last}")


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_depthwise_channels_not_whole_vectors_go_through_planes(dt):
    """A depthwise layer on C-contiguous channels-last input whose channels are not whole
    vectors runs on the input transposed into channel planes (Plan.to_planes) where it has
    fewer channels than a vector or a padding mode other than zeros (DW_NHWC takes the rest
    of these small planes, test_depthwise_channels_off_the_vectors_in_place): every padding
    mode, strides, dilations, bias, NaN/inf, each memory_format and out=, the same numbers
    as the NCHW call, the caller's input untouched; whole vectors of channels and sliced
    channels-last views keep the channels-last kernels."""
    rng = np.random.default_rng(5)
    vl = _plan.vector_bytes() // np.dtype(dt).itemsize
    for trial, C in enumerate((3, vl // 2, vl + 3, 2 * vl - 1, 3 * vl + 2)):
        mode = MODES[trial % len(MODES)]
        s, d, k = 1 + trial % 2, 1 + (trial // 2) % 2, (3, 5, 3, 7, 3)[trial]
        x = rng.standard_normal((2, C, 19, 23)).astype(dt)
        x[1, C - 1, 4, 5] = np.nan
        x[0, 0, 7, 0] = np.inf
        w = rng.standard_normal((C, 1, k, k)).astype(dt)
        b = rng.standard_normal(C).astype(dt)
        p = (k // 2) * d
        ref = fastconv.conv2d(x, w, b, s, p, d, C, mode, algorithm="direct")
        xl = _nhwc(x)
        before = xl.copy()
        assert fastconv.explain(xl, w, b, s, p, d, C, mode).to_planes == (C < vl or mode != "zeros")
        tol = dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
        for fmt in ("contiguous", "preserve", "channels_last"):
            got = fastconv.conv2d(xl, w, b, s, p, d, C, mode, memory_format=fmt)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"C={C} {mode} {fmt}")
            np.testing.assert_allclose(got, ref, **tol, err_msg=f"C={C} {mode} {fmt}")
            assert got.flags.c_contiguous if fmt == "contiguous" else got.transpose(0, 2, 3, 1).flags.c_contiguous
        out = np.empty_like(ref)
        assert fastconv.conv2d(xl, w, b, s, p, d, C, mode, out=out) is out
        np.testing.assert_allclose(out, ref, **tol)
        np.testing.assert_array_equal(xl, before)
    x = rng.standard_normal((2, 2 * vl, 9, 9)).astype(dt)
    w = rng.standard_normal((2 * vl, 1, 3, 3)).astype(dt)
    assert not fastconv.explain(_nhwc(x), w, None, 1, 1, 1, 2 * vl).to_planes
    sliced = _nhwc(rng.standard_normal((2, 3, 9, 9)).astype(dt))[:, :, ::2]
    assert not fastconv.explain(sliced, w[:3], None, 1, 1, 1, 3).to_planes
    np.testing.assert_allclose(
        fastconv.conv2d(sliced, w[:3], None, 1, 1, 1, 3), fastconv.conv2d(sliced.copy(), w[:3], None, 1, 1, 1, 3)
    )
