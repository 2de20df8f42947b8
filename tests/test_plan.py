"""The planner: its kinds match the C enum, its table matches the architecture document, and
every kernel kind, forced per call, is exact at its tile edges (widths and channel counts
equal to, one below and one above each tile size) against the float64 reference."""

import os
import re

import numpy as np
import pytest

import fastconv
from fastconv import _direct, _plan, _tuning
from fastconv._plan import Force, Kind

from reference import conv2d_ref

HERE = os.path.dirname(os.path.abspath(__file__))
CPU_VB = _plan.vector_bytes()
WIDTHS = [vb for vb in (64, 32) if vb <= CPU_VB]
DTYPES = [np.float32, np.float64]


def test_kinds_match_the_c_enum():
    assert _direct.kinds() == {k.name: int(k) for k in Kind}
    assert set(_plan.DESCRIPTIONS) == set(Kind)


@pytest.mark.parametrize("vb", WIDTHS)
def test_architecture_table_is_the_planners(vb):
    """docs/architecture.md's "which kernel runs when" tables are what the planner does."""
    with open(os.path.join(HERE, "..", "docs", "architecture.md")) as f:
        doc = f.read()
    heading = {64: "### 64-byte vectors", 32: "### 32-byte vectors"}[vb]
    section = doc[doc.index(heading) :]
    table = "\n".join(re.findall(r"^\|.*\|$", section.split("\n### ")[0], flags=re.M))
    assert table == _plan.kernel_table(vb)


def _edge(n):
    return sorted({max(1, n - 1), n, n + 1})


def _check(x, w, b, kind, vb, stride=1, padding=0, dilation=1, groups=1, mode="zeros", algorithm="auto"):
    force = Force(kind=kind, vector_bytes=vb)
    a = fastconv._args.conv2d_args(x, w, b, stride, padding, dilation, groups, mode)
    plan = _plan.conv2d(a, algorithm, None, force)
    assert plan.kind == kind and plan.vector_bytes == vb
    got = fastconv.conv._conv2d(x, w, b, stride, padding, dilation, groups, mode, None, None, algorithm, force)
    s = a.stride
    ref = conv2d_ref(x, w, b, s, a.pads, a.dilation, groups, mode)
    eps = np.finfo(x.dtype).eps
    finite = ref[np.isfinite(ref)]  # NaN and inf must match exactly (assert_allclose)
    scale = np.sqrt(w[0].size) * (np.abs(finite).max() if finite.size else 0) + 1
    tol = {Kind.WINOGRAD4: 64}.get(kind, 8) * eps * scale
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_columns_at_tile_edges(vb, dtype):
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    r = np.random.default_rng(1)
    # (5-8 and 12 + 5, 12 + 6 channels: the last blocks the tiles of 4, 6 and 8 take)
    for coutg in _edge(sz["ocb_wide"]) + [2 * sz["ocb_wide"] + 1, 5, 6, 7, 8, 17, 18]:
        for W in _edge(sz["nv_wide"] * vl) + _edge(vl):
            if coutg < 3:
                continue
            x = r.standard_normal((1, 5, 6, W)).astype(dtype)
            w = r.standard_normal((coutg, 5, 3, 3)).astype(dtype)
            _check(x, w, r.standard_normal(coutg).astype(dtype), Kind.COLUMNS, vb, padding=1, mode="reflect")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_lanes_at_tile_edges(vb, dtype):
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    r = np.random.default_rng(2)
    for coutg in _edge(vl) + _edge(2 * vl) + [3 * vl]:
        for W in _edge(sz["ncol"]) + [2 * sz["ncol"] + 1]:
            for k, pad in ((3, 1), (1, 0)):
                x = r.standard_normal((1, 4, 5, W)).astype(dtype)
                w = r.standard_normal((coutg, 4, k, k)).astype(dtype)
                _check(x, w, None, Kind.LANES, vb, padding=pad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_lanes_row_pairs(vb, dtype):
    """Output rows at most ncol / 2 wide: two rows per channel-lane tile.  Every such width,
    odd and even row counts (a last row alone), strides, dilation, a band of rows listed per
    tap, reading in place, a channels-last result and NaN / inf, against the reference."""
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    r = np.random.default_rng(23)
    for Wo in range(1, sz["ncol"] // 2 + 2):
        for Ho in (1, 2, 5):
            for k, pad, stride, dil in ((3, 1, 1, 1), (3, 1, 2, 1), (3, 2, 1, 2), (3, 0, 1, 1), (2, 0, 1, 3)):
                H = (Ho - 1) * stride + (k - 1) * dil + 1 - 2 * pad
                W = (Wo - 1) * stride + (k - 1) * dil + 1 - 2 * pad
                x = r.standard_normal((2, 3, H, W)).astype(dtype)
                w = r.standard_normal((2 * vl + 3, 3, k, k)).astype(dtype)
                b = r.standard_normal(w.shape[0]).astype(dtype)
                x[1, 2, H - 1, W - 1] = np.nan
                x[0, 0, 0, W // 2] = -np.inf
                _check(x, w, b, Kind.LANES, vb, stride, pad, dil)
                force = Force(kind=Kind.LANES, vector_bytes=vb)
                got = fastconv.conv._conv2d(
                    x, w, b, stride, pad, dil, 1, "zeros", None, None, "direct", force, memory_format="channels_last"
                )
                want = fastconv.conv._conv2d(x, w, b, stride, pad, dil, 1, "zeros", None, None, "direct", force)
                np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_weight_packing_paths(vb, dtype):
    """The weight packer (pack/band.h): whole VL x VL squares transposed in registers (the
    column blocks of 12 or 6 channels as squares whose rows spill into the next taps') plus a
    tail of taps in steps of FC_PACK_TAPS element by element, partial last blocks, and
    strided weights (the general path);
    180 taps per output channel, with NaN and inf weights in the squares and the tail."""
    r = np.random.default_rng(5)
    x = r.standard_normal((1, 20, 6, 9)).astype(dtype)
    for cout in (37, 2 * (vb // np.dtype(dtype).itemsize)):
        w = r.standard_normal((cout, 40, 3, 3)).astype(dtype)
        w[3, 2, 1, 1] = np.nan  # tap 19: a transposed square
        w[cout - 1, 39, 2, 2] = np.inf  # the last tap, of the last channel
        for ws in (w[:, ::2], np.ascontiguousarray(w[:, ::2])):
            for kind in (Kind.LANES, Kind.COLUMNS):
                _check(x, ws, None, kind, vb, padding=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_packed_weights_every_block_width(vb, dtype):
    """The packed weights, [group][block][tap][channel of the block] with zeros past a
    group's last channel, against a NumPy packing: every block width from 1 to two vectors
    and one more (the squares of blocks narrower than two vectors store whole vectors that
    spill into the next taps' rows, and exactly near the block's end), tap counts around
    whole squares, partial last blocks, groups, strided weights, NaN and inf in place,
    packed in one call block after block."""
    from types import SimpleNamespace

    r = np.random.default_rng(41)
    vl = vb // np.dtype(dtype).itemsize
    for ocb in range(1, 2 * vl + 2):
        for cg, k in ((1, 1), (vl - 1, 1), (vl, 1), (vl + 1, 1), (2 * vl + 3, 1), (3, 3), (vl, 3)):
            for coutg, groups in ((ocb, 1), (2 * ocb + 1, 2), (max(1, ocb - 1), 1)):
                w = r.standard_normal((coutg * groups, cg, k, k)).astype(dtype)
                w.reshape(-1)[r.integers(0, w.size, 2)] = (np.nan, -np.inf)
                nob = -(-coutg // ocb)
                want = np.zeros((groups, nob * ocb, cg * k * k), dtype)
                want[:, :coutg] = w.reshape(groups, coutg, -1)
                want = want.reshape(groups, nob, ocb, -1).transpose(0, 1, 3, 2).reshape(-1)
                for ws in (w, w[:, ::-1]):
                    if ws is not w:
                        want = want.reshape(groups, nob, cg, k * k, ocb)[:, :, ::-1].reshape(-1)
                    got = _direct.packed_weights(SimpleNamespace(vector_bytes=vb, threads=1), ws, groups, ocb)
                    np.testing.assert_array_equal(got, want, err_msg=str((ocb, cg, k, coutg)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_pointwise_at_tile_edges(vb, dtype):
    """POINTWISE: output channels at the column tiles' block sizes, pixels per plane at the
    panel and vector widths (the last panel part empty), input channels at the sum blocks'
    edges, groups, a batch, a bias and NaN / inf among the inputs and the weights."""
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    vw = sz["nv_wide"] * vl
    blk = sz["sum_block"]
    r = np.random.default_rng(7)
    for coutg in _edge(sz["ocb_wide"]) + [1, 2, 5, 6, 7, 8, 2 * sz["ocb_wide"] + 1]:
        for P in _edge(vw) + _edge(vl) + [3 * vw + 1, 1]:
            x = r.standard_normal((2, 5, 1, P)).astype(dtype)
            w = r.standard_normal((coutg, 5, 1, 1)).astype(dtype)
            _check(x, w, r.standard_normal(coutg).astype(dtype), Kind.POINTWISE, vb)
    for cg in _edge(blk) + [2 * blk + 1]:
        for H, W in ((3, vw - 3), (5, 7)):
            x = r.standard_normal((1, 2 * cg, H, W)).astype(dtype)
            w = r.standard_normal((26, cg, 1, 1)).astype(dtype)
            x[0, cg - 1, H - 1, W - 1] = np.nan  # the last panel's last pixel
            x[0, 2 * cg - 1, 0, 0] = np.inf
            w[3, cg // 2, 0, 0] = -np.inf
            _check(x, w, None, Kind.POINTWISE, vb, groups=2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_pointwise_on_channels_last_input(vb, dtype):
    """POINTWISE on channels-last input (one group): the panels transposed from the pixels,
    input channels below, at and past whole vectors (the last ones moved as whole vectors
    reading into the next pixels, as far as the plane allows), pixels at the panel and
    vector widths, NaN / inf, a bias, the batch; the auto plan takes it where it takes the
    NCHW layer, and a grouped channels-last layer does not."""
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    vw = sz["nv_wide"] * vl
    r = np.random.default_rng(9)
    for C in (2, 3, vl - 1, vl, vl + 1, 2 * vl + 5):
        for P in (1, vl - 1, vw, vw + 1, 3 * vw - 2):
            x = r.standard_normal((2, C, 1, P)).astype(dtype)
            x[1, C - 1, 0, P - 1] = np.nan
            x[0, 0, 0, 0] = -np.inf
            xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
            w = r.standard_normal((7, C, 1, 1)).astype(dtype)
            _check(xl, w, r.standard_normal(7).astype(dtype), Kind.POINTWISE, vb)
    x = r.standard_normal((2, 32, 30, 30)).astype(dtype)
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = r.standard_normal((16, 32, 1, 1)).astype(dtype)
    assert fastconv.explain(xl, w).kind == fastconv.explain(x, w).kind
    assert fastconv.explain(xl, w[:, :16], groups=2).kind != Kind.POINTWISE


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_pointwise_panel_runs(vb, dtype):
    """POINTWISE runs of several panels (POINTWISE_PANELS_*), each block of output channels
    over them in turn: runs that end inside the plane, a last run of one part-empty panel,
    channels-last input, groups, several threads and NaN / inf give exactly the result of
    one panel at a time; the planner takes runs on few input channels and many blocks."""
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    vw = sz["nv_wide"] * vl
    isz = np.dtype(dtype).itemsize
    r = np.random.default_rng(10)
    for C, P, groups in ((5, 7 * vw + 3, 1), (9, 6 * vw, 2), (3, vw - 1, 1), (8, 4 * vw + vl, 1)):
        x = r.standard_normal((2, C * groups, 1, P)).astype(dtype)
        x[1, C - 1, 0, P - 1] = np.nan
        x[0, 0, 0, min(vw + 1, P - 2)] = np.inf
        w = r.standard_normal(((5 * sz["ocb_wide"] + 1) * groups, C, 1, 1)).astype(dtype)
        w[2, C - 1, 0, 0] = -np.inf
        b = r.standard_normal(w.shape[0]).astype(dtype)
        views = [x]
        if groups == 1:
            views.append(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
        for xv in views:
            one = Force(kind=Kind.POINTWISE, vector_bytes=vb, tuning={"POINTWISE_PANELS_MAX_CHANNELS": 0})
            want = fastconv.conv._conv2d(xv, w, b, 1, 0, 1, groups, "zeros", None, 1, "direct", one)
            runs = {
                "POINTWISE_PANEL_BYTES": 3 * C * vw * isz,
                "POINTWISE_PANELS_MAX_CHANNELS": C,
                "POINTWISE_PANELS_MIN_BLOCKS": 2,
                "PARALLEL_MIN_MACS": 0,
            }
            force = Force(kind=Kind.POINTWISE, vector_bytes=vb, tuning=runs)
            for nt in (1, 2, 3):
                a = fastconv._args.conv2d_args(xv, w, b, 1, 0, 1, groups, "zeros")
                plan = _plan.conv2d(a, "direct", nt, force)
                span = P * x.shape[0] if plan.flat else P  # (flat: the pixels over the batch)
                assert plan.panels == min(3, -(-(plan.column_chunk or span) // vw))
                got = fastconv.conv._conv2d(xv, w, b, 1, 0, 1, groups, "zeros", None, nt, "direct", force)
                np.testing.assert_array_equal(got, want)
    t = fastconv._tuning
    if CPU_VB >= t.POINTWISE_MIN_VECTOR_BYTES:
        c = t.POINTWISE_PANELS_MAX_CHANNELS
        few = fastconv.explain((1, c, 112, 112), (96, c, 1, 1))
        assert few.kind == Kind.POINTWISE and few.panels > 1
        many = fastconv.explain((1, 2 * c, 112, 112), (96, 2 * c, 1, 1))
        assert many.kind == Kind.POINTWISE and many.panels == 1
        two = fastconv.explain((1, 16, 112, 112), (16, 16, 1, 1))
        assert two.kind == Kind.POINTWISE and two.panels == 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_pointwise_flat_over_the_batch(vb, dtype):
    """POINTWISE with the pixels counted over the batch (Plan.flat, planes that are not whole
    panels): panels spanning two and many samples (planes of 1 pixel up to a few panels),
    the tiles' one-vector and output-block edges, groups, channels-last input, samples not
    adjacent in memory, runs of several panels, 1 to 3 threads, a bias and NaN / inf at the
    samples' edges give exactly the result of the planes taken one at a time, and agree with
    the reference."""
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    vw = sz["nv_wide"] * vl
    isz = np.dtype(dtype).itemsize
    r = np.random.default_rng(11)
    cases = [(N, P, 5, 1) for N in (2, 3, 17) for P in (1, 2, vl - 1, vl + 1, vw - 1, vw + 1, 2 * vw + 3)]
    cases += [(4, 49, 2 * sz["sum_block"] + 3, 1), (3, vw + 5, 6, 2), (2, 3 * vw, 4, 1)]
    for N, P, C, groups in cases:
        x = r.standard_normal((2 * N, C * groups, 1, P)).astype(dtype)[::2]  # samples apart
        x[0, C - 1, 0, P - 1] = np.nan  # the first sample's last pixel
        x[N - 1, 0, 0, 0] = np.inf  # the last sample's first pixel
        coutg = [1, sz["ocb_wide"] + 1, 2 * sz["ocb_wide"] + vl][(N + P) % 3]
        w = r.standard_normal((coutg * groups, C, 1, 1)).astype(dtype)
        w[-1, C // 2, 0, 0] = -np.inf
        b = r.standard_normal(w.shape[0]).astype(dtype) if P % 2 else None
        views = [x, np.ascontiguousarray(x)]
        if groups == 1 and C > 1:
            views.append(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
        ref = conv2d_ref(x, w, b, (1, 1), (0, 0, 0, 0), (1, 1), groups, "zeros")
        finite = ref[np.isfinite(ref)]
        tol = 8 * np.finfo(dtype).eps * (np.sqrt(C) * np.abs(finite).max(initial=0) + 1)
        apart = Force(kind=Kind.POINTWISE, vector_bytes=vb, tuning={"POINTWISE_FLAT": 0})
        for xv in views:
            want = fastconv.conv._conv2d(xv, w, b, 1, 0, 1, groups, "zeros", None, 1, "direct", apart)
            np.testing.assert_allclose(want, ref, rtol=0, atol=tol)
            for nt, runs in ((1, 1), (2, 3), (3, 2)):
                tuning = {"PARALLEL_MIN_MACS": 0, "POINTWISE_PANEL_BYTES": runs * C * vw * isz}
                tuning.update(POINTWISE_PANELS_MAX_CHANNELS=C, POINTWISE_PANELS_MIN_BLOCKS=1)
                force = Force(kind=Kind.POINTWISE, vector_bytes=vb, tuning=tuning)
                a = fastconv._args.conv2d_args(xv, w, b, 1, 0, 1, groups, "zeros")
                plan = _plan.conv2d(a, "direct", nt, force)
                assert plan.flat == (P % vw != 0)
                got = fastconv.conv._conv2d(xv, w, b, 1, 0, 1, groups, "zeros", None, nt, "direct", force)
                np.testing.assert_array_equal(got, want, err_msg=str((N, P, C, groups, nt, runs)))
    single = fastconv._args.conv2d_args(x[:1], w, b, 1, 0, 1, groups, "zeros")
    assert not _plan.conv2d(single, "direct", 1, Force(kind=Kind.POINTWISE, vector_bytes=vb)).flat
    t = fastconv._tuning
    if CPU_VB >= t.POINTWISE_MIN_VECTOR_BYTES:  # the auto plan counts the batch's pixels
        batch = fastconv.explain((8, 960, 7, 7), (160, 960, 1, 1))
        pays = 8 * 49 >= _plan.pointwise_min_pixels(CPU_VB)
        assert (batch.kind == Kind.POINTWISE and batch.flat) == pays
        assert fastconv.explain((1, 960, 7, 7), (160, 960, 1, 1)).kind != Kind.POINTWISE


@pytest.mark.parametrize("dtype", DTYPES)
def test_pointwise_items_over_threads(dtype):
    """The planner's chunks of panels and of output-channel blocks, on 1 to 3 threads, give the
    one-thread result exactly; a strided 1x1 layer runs on its subsampled pixels."""
    r = np.random.default_rng(8)
    # (the last two: chunks of output-channel blocks over every pixel, one a thread)
    shapes = (((1, 20, 28, 28), 40), ((1, 32, 9, 9), 100), ((3, 17, 30, 31), 13), ((1, 24, 14, 14), 300))
    for shape, cout in shapes + (((2, 24, 14, 14), 301),):
        x = r.standard_normal(shape).astype(dtype)
        w = r.standard_normal((cout, shape[1], 1, 1)).astype(dtype)
        b = r.standard_normal(cout).astype(dtype)
        force = Force(kind=Kind.POINTWISE, tuning={"PARALLEL_MIN_MACS": 0})
        one = fastconv.conv._conv2d(x, w, b, 1, 0, 1, 1, "zeros", None, 1, "auto", force)
        ref = conv2d_ref(x, w, b, (1, 1), (0, 0, 0, 0), (1, 1), 1, "zeros")
        np.testing.assert_allclose(one, ref, rtol=0, atol=32 * np.finfo(dtype).eps * np.abs(ref).max())
        for nt in (2, 3):
            a = fastconv._args.conv2d_args(x, w, b, 1, 0, 1, 1, "zeros")
            plan = _plan.conv2d(a, "auto", nt, force)
            assert plan.kind == Kind.POINTWISE and plan.threads == nt
            if cout >= 300:
                assert plan.column_chunk == 0 and plan.channel_chunks == -(-nt // (1 if plan.flat else shape[0]))
            got = fastconv.conv._conv2d(x, w, b, 1, 0, 1, 1, "zeros", None, nt, "auto", force)
            np.testing.assert_array_equal(got, one)
    x = r.standard_normal((2, 24, 57, 57)).astype(dtype)
    w = r.standard_normal((30, 24, 1, 1)).astype(dtype)
    a = fastconv._args.conv2d_args(x, w, None, 2, 0, 1, 1, "zeros")
    assert _plan.conv2d(a, "auto", 2).subsample
    force = Force(kind=Kind.POINTWISE)
    plan = _plan.conv2d(a, "auto", 2, force)
    assert plan.kind == Kind.POINTWISE and plan.subsample
    ref = conv2d_ref(x, w, None, (2, 2), (0, 0, 0, 0), (1, 1), 1, "zeros")
    for got in (
        fastconv.conv2d(x, w, stride=2, num_threads=2),
        fastconv.conv._conv2d(x, w, None, 2, 0, 1, 1, "zeros", None, 2, "auto", force),
    ):
        np.testing.assert_allclose(got, ref, rtol=0, atol=32 * np.finfo(dtype).eps * np.abs(ref).max())


def test_pointwise_threads_split_channels_where_pixel_chunks_are_short(monkeypatch):
    """Fewer items than threads: pixel chunks of k panels with at least
    POINTWISE_SPLIT_BLOCKS_PER_PANEL * k blocks per thread become one chunk of blocks a
    thread; longer pixel chunks, fewer blocks or one thread keep the pixel chunks (their
    evened-out size here: the threads' balance is the next test's)."""
    t = _tuning
    monkeypatch.setattr(_plan, "_balanced_panels", lambda panels, most, *rest: most)

    def plan(shape, cout, nt, **tuning):
        x = np.zeros(shape, np.float32)
        w = np.zeros((cout, shape[1], 1, 1), np.float32)
        a = fastconv._args.conv2d_args(x, w, None, 1, 0, 1, 1, "zeros")
        return _plan.conv2d(a, "auto", nt, Force(kind=Kind.POINTWISE, tuning=dict(tuning, PARALLEL_MIN_MACS=0)))

    p = plan((1, 64, 28, 28), 512, 2)
    cw = plan((1, 64, 28, 28), 512, 2, POINTWISE_SPLIT_BLOCKS_PER_PANEL=1 << 30).column_chunk
    vw = _direct.tile_sizes(p.vector_bytes)["nv_wide"] * p.vector_bytes // 4
    need = 2 * t.POINTWISE_SPLIT_BLOCKS_PER_PANEL * (cw // vw)  # blocks, for 2 threads
    assert cw > 0 and -(-512 // p.channel_block) >= need
    assert p.column_chunk == 0 and p.channel_chunks == 2
    assert plan((1, 64, 28, 28), need * p.channel_block, 2).channel_chunks == 2
    assert plan((1, 64, 28, 28), (need - 1) * p.channel_block, 2).column_chunk == cw
    assert plan((1, 64, 112, 112), 512, 2).column_chunk > 0  # long chunks
    assert plan((1, 64, 28, 28), 512, 1).channel_chunks == 1


def test_pointwise_pixel_chunks_share_the_threads_evenly():
    """The pixel chunks of a POINTWISE plan: of the evened-out chunk size down to half of it,
    the size whose busiest thread (OpenMP's static schedule) has the fewest panels, checked
    against a brute-force count; MobileNetV2's 576 -> 96 on 14x14 at batch 8 (49 panels) on
    2 threads gets 25 and 24 panels (7 chunks of 7 gave 28 and 21), with the very numbers of
    the unsplit layer."""

    def static(loads, nt):  # libgomp's static schedule, thread by thread
        q, r = divmod(len(loads), nt)
        starts = np.cumsum([0] + [q + (k < r) for k in range(nt)])
        return max(sum(loads[starts[k] : starts[k + 1]]) for k in range(nt))

    def load(size, panels, items, chunks, nt):  # the busiest thread's panels
        row = [min(size, panels - c * size) for c in range(-(-panels // size))]
        return static([n for n in row for _ in range(chunks)] * items, nt)

    rng = np.random.default_rng(5)
    for _ in range(300):
        panels, items, chunks, nt = (int(v) for v in rng.integers(1, [200, 5, 4, 9]))
        most = int(rng.integers(1, panels + 1))
        size = _plan._balanced_panels(panels, most, items, chunks, nt)
        assert (most + 1) // 2 <= size <= most
        loads = {k: load(k, panels, items, chunks, nt) for k in range((most + 1) // 2, most + 1)}
        assert loads[size] == min(loads.values())
        assert all(loads[k] > loads[size] for k in range(size + 1, most + 1))
        work = [int(v) for v in rng.integers(0, 9, int(rng.integers(0, 30)))]
        assert _plan._static_makespan(work, nt) == (static(work, nt) if work else 0)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 576, 14, 14)).astype(np.float32)
    w = rng.standard_normal((96, 576, 1, 1)).astype(np.float32)
    a = fastconv._args.conv2d_args(x, w, None, 1, 0, 1, 1, "zeros")
    p = _plan.conv2d(a, "auto", 2, Force(kind=Kind.POINTWISE, tuning={"PARALLEL_MIN_MACS": 0}))
    vw = _direct.tile_sizes(p.vector_bytes)["nv_wide"] * p.vector_bytes // 4
    if p.vector_bytes == 64:
        assert p.flat and p.channel_chunks == 1 and p.column_chunk == 5 * vw  # 10 chunks: 25 and 24 panels
    one = fastconv.conv._conv2d(x, w, None, 1, 0, 1, 1, "zeros", None, 1, "auto", Force(kind=Kind.POINTWISE))
    two = fastconv.conv._conv2d(
        x, w, None, 1, 0, 1, 1, "zeros", None, 2, "auto", Force(kind=Kind.POINTWISE, tuning={"PARALLEL_MIN_MACS": 0})
    )
    np.testing.assert_array_equal(two, one)
    np.testing.assert_allclose(one, conv2d_ref(x, w, None, (1, 1), (0, 0, 0, 0), (1, 1), 1), rtol=1e-4, atol=1e-4)


def test_band_bytes_follow_the_l2_cache():
    """The channel-lane tiles' packed bands are BAND_BYTES, capped at SMALL_L2_BAND_BYTES on
    a smaller L2 cache than SMALL_L2_BYTES that holds the weights; an unknown size (0) keeps
    BAND_BYTES; the planner's bands follow."""
    t = _tuning
    l2 = t.SMALL_L2_BYTES // 2
    capped = min(t.BAND_BYTES, t.SMALL_L2_BAND_BYTES)
    assert _plan.band_bytes(1024, t, 0) == t.BAND_BYTES
    assert _plan.band_bytes(1024, t, t.SMALL_L2_BYTES) == t.BAND_BYTES
    assert _plan.band_bytes(1024, t, t.SMALL_L2_BYTES - 1024) == capped
    assert _plan.band_bytes(l2, t, l2) == capped
    assert _plan.band_bytes(l2 + 4, t, l2) == t.BAND_BYTES  # weights beyond the cache
    small = Force(tuning={"BAND_BYTES": 1024})  # a forced band below the cap is kept
    assert _plan.band_bytes(1024, _plan._Table(small), l2) == 1024
    # a strided 3x3 layer, packed: its band height follows band_bytes
    x = np.zeros((1, 64, 56, 56), np.float32)
    w = np.zeros((128, 64, 3, 3), np.float32)
    a = fastconv._args.conv2d_args(x, w, None, 2, 1, 1, 1, "zeros")
    rows = {}
    for size in (0, l2):
        old = _plan._CPU_L2_BYTES
        _plan._CPU_L2_BYTES = size
        try:
            rows[size] = _plan.conv2d(a, "direct", 1, Force(kind=Kind.LANES)).band_rows
        finally:
            _plan._CPU_L2_BYTES = old
    assert rows[0] > rows[l2] >= 1


def test_pointwise_rule():
    """POINTWISE takes unit-stride unpadded 1x1 layers on planes of contiguous pixel rows (or
    of channels-last pixels one after the other) from POINTWISE_MIN_PIXELS pixels
    (POINTWISE_MIN_PIXELS_32 with 32-byte vectors) and
    POINTWISE_MIN_CHANNELS input channels, and nothing else."""
    t = _tuning

    def kind(shape, cin=t.POINTWISE_MIN_CHANNELS, k=1, padding=0, view=None):
        x = np.zeros((1, cin) + shape, np.float32)
        if view is not None:
            x = view(x)
        w = np.zeros((8, x.shape[1], k, k), np.float32)
        a = fastconv._args.conv2d_args(x, w, None, 1, padding, 1, 1, "zeros")
        return _plan.conv2d(a, "direct", 1, Force(vector_bytes=vb)).kind

    vb = t.POINTWISE_MIN_VECTOR_BYTES
    if vb > CPU_VB:
        pytest.skip(f"POINTWISE runs with {vb}-byte vectors; this CPU has {CPU_VB}")

    side = int(np.ceil(_plan.pointwise_min_pixels(vb) ** 0.5))
    assert kind((side, side)) == Kind.POINTWISE
    for vb in WIDTHS:  # the threshold of the vector width (32-byte vectors measured apart)
        if vb >= t.POINTWISE_MIN_VECTOR_BYTES:
            least = t.POINTWISE_MIN_PIXELS_32 if vb == 32 else t.POINTWISE_MIN_PIXELS
            assert kind((1, least)) == Kind.POINTWISE
            assert kind((1, least - 1)) != Kind.POINTWISE
    vb = t.POINTWISE_MIN_VECTOR_BYTES
    assert kind((side, side), cin=t.POINTWISE_MIN_CHANNELS - 1) != Kind.POINTWISE
    assert kind((side, side), k=3, padding=1) != Kind.POINTWISE
    assert kind((side, side), padding=1) != Kind.POINTWISE
    assert kind((side, 2 * side), view=lambda x: x[:, :, :, ::2]) != Kind.POINTWISE  # strided pixels
    assert kind((side, side + 5), view=lambda x: x[:, :, :, :side]) != Kind.POINTWISE  # rows apart
    x = np.zeros((1, t.POINTWISE_MIN_CHANNELS, side, side), np.float32)
    w = np.zeros((8, t.POINTWISE_MIN_CHANNELS, 1, 1), np.float32)
    a = fastconv._args.conv2d_args(x, w, None, 1, 0, 1, 1, "zeros")
    # a channels-last result: POINTWISE (then transposed) for few output channels, on any plane
    assert _plan.conv2d(a, "direct", 1, Force(vector_bytes=vb), True).kind == Kind.POINTWISE
    x2 = np.zeros((1, 2, 2, t.POINTWISE_MIN_CHANNELS), np.float32).transpose(0, 3, 1, 2)
    small = fastconv._args.conv2d_args(x2, w, None, 1, 0, 1, 1, "zeros")
    assert _plan.conv2d(small, "direct", 1, Force(vector_bytes=vb), True).kind == Kind.POINTWISE
    many = t.POINTWISE_CL_RESULT_MAX_VECTORS * vb // 4 + 1
    wide = fastconv._args.conv2d_args(x, np.zeros((many,) + w.shape[1:], np.float32), None, 1, 0, 1, 1, "zeros")
    assert _plan.conv2d(wide, "direct", 1, Force(vector_bytes=vb), True).kind == Kind.LANES
    x = np.zeros((1, side, side, t.POINTWISE_MIN_CHANNELS), np.float32).transpose(0, 3, 1, 2)  # channels-last
    w = np.zeros((8, t.POINTWISE_MIN_CHANNELS, 1, 1), np.float32)
    a = fastconv._args.conv2d_args(x, w, None, 1, 0, 1, 1, "zeros")
    assert _plan.conv2d(a, "direct", 1, Force(vector_bytes=vb)).kind == Kind.POINTWISE  # panels transposed
    a = fastconv._args.conv2d_args(x[:, :, :, : side - 1], w, None, 1, 0, 1, 1, "zeros")
    assert _plan.conv2d(a, "direct", 1, Force(vector_bytes=vb)).kind != Kind.POINTWISE  # rows apart


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_depthwise_planes_at_tile_edges(vb, dtype):
    """VL planes at a time (depthwise/plane.h): channel counts around one and two blocks of VL,
    planes whose pixel counts leave a partial transpose square in and out, output rows that
    leave 1-3 pixels after the groups of four, strides, dilation, channel multipliers, every
    padding mode, strided input views, with and without bias; NaN in the input and inf in
    the weights (with zero padding an inf tap on the padding makes NaN, as PyTorch's)."""
    vl = vb // np.dtype(dtype).itemsize
    r = np.random.default_rng(6)
    shapes = [  # (C_in, multiplier, H, W, k, stride, padding, dilation, mode)
        (vl - 1, 1, 7, 7, 3, 1, 1, 1, "zeros"),
        (vl, 1, 5, 6, 3, 2, 1, 1, "reflect"),
        (vl + 1, 1, 9, 5, 5, 1, 2, 1, "circular"),
        (2 * vl + 1, 1, 4, 4, 3, 1, 1, 1, "replicate"),
        (3, 2, 11, 13, 3, (2, 3), (0, 2), 2, "zeros"),
        (vl // 2 + 1, 2, 6, 9, 7, 1, 3, 1, "zeros"),
        (5, 1, 1, 1, 3, 1, 1, 1, "zeros"),
        (vl + 3, 1, 12, 10, 3, 2, (1, 2), 1, "zeros"),  # the fill: sides of the inside rows
        (2, 1, 3, 3, 3, 2, 4, 1, "zeros"),  # padding wider than the plane
    ]
    for cin, mult, H, W, k, s, p, d, mode in shapes:
        x = r.standard_normal((2, cin, H, W)).astype(dtype)
        w = r.standard_normal((cin * mult, 1, k, k)).astype(dtype)
        b = r.standard_normal(cin * mult).astype(dtype)
        x[1, cin - 1, H // 2, W - 1] = np.nan
        w[0, 0, 0, 0] = np.inf
        w[-1, 0, k - 1, k // 2] = -np.inf
        for xs in (x, x[:, :, ::-1, :], np.asfortranarray(x)):
            for bias in (b, None):
                _check(xs, w, bias, Kind.DW_PLANE, vb, s, p, d, cin, mode)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_depthwise_planes_in_bands(vb, dtype):
    """Padded planes bigger than the band (depthwise/plane_size.h) go a band of output rows at
    a time, each band's padded rows made again from the input rows: one-row bands on wide
    rows, a short last band, rows narrower than a vector (no transpose squares), widths that
    leave an overlapping last square, strides 1-3, dilation, every padding mode, strided
    views and channels-last data, NaN and inf on the rows that two bands share."""
    band = _direct.tile_sizes(vb)["dw_plane_band_bytes"]
    vl = vb // np.dtype(dtype).itemsize
    force = Force(kind=Kind.DW_PLANE, vector_bytes=vb)

    def _nhwc_copy(x):
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)

    r = np.random.default_rng(7)
    shapes = [  # (C, H, W, k, stride, padding, dilation, mode)
        (vl, 48, 50, 3, 2, 1, 1, "zeros"),
        (vl + 2, 41, 57, 3, 1, 1, 1, "reflect"),
        (vl - 1, 23, 4 * band // vb, 3, 1, 1, 1, "zeros"),  # one output row a band
        (2, 4 * band // vb // 3, 3, 3, 1, 1, 1, "circular"),  # 3-wide rows
        (vl + 1, 90, 29, 5, 3, 2, 2, "replicate"),
        (3, 70, 45, (3, 1), (2, 1), 0, 1, "zeros"),
    ]
    for C, H, W, k, s, p, d, mode in shapes:
        kh, kw = (k, k) if isinstance(k, int) else k
        x = r.standard_normal((2, C, H, W)).astype(dtype)
        a = fastconv._args.conv2d_args(x, np.zeros((C, 1, kh, kw), dtype), None, s, p, d, C, mode)
        Ho, Wo = a.out_shape[2:]
        Hp = (Ho - 1) * a.stride[0] + (kh - 1) * a.dilation[0] + 1
        Wp = (Wo - 1) * a.stride[1] + (kw - 1) * a.dilation[1] + 1
        assert Hp * Wp * vb > band, (C, H, W)  # more than one band
        R = _plan.conv2d(a, "auto", None, force).band_rows  # the kernel's bands
        reach = (kh - 1) * a.dilation[0] + 1
        assert R < Ho and (R == 1 or ((R - 1) * a.stride[0] + reach) * Wp * vb <= band)
        row = max(0, R * a.stride[0] - a.pads[0])  # the first row the first two bands share
        x[0, 0, row : row + 2, :] = np.nan
        x[1, C - 1, H // 2, W // 3] = np.inf
        x[1, 0, H - 1, W - 1] = -np.inf
        w = r.standard_normal((C, 1, kh, kw)).astype(dtype)
        w[C // 2, 0, kh - 1, 0] = np.inf
        b = r.standard_normal(C).astype(dtype)
        for xs in (x, x[:, :, ::-1, :], _nhwc_copy(x)):
            _check(xs, w, b, Kind.DW_PLANE, vb, s, p, d, C, mode)
        args = (w, b, s, p, d, C, mode, None, None, "auto", force)
        ref = fastconv.conv._conv2d(x, *args)
        got = fastconv.conv._conv2d(_nhwc_copy(x), *args, memory_format="channels_last")
        np.testing.assert_array_equal(got, ref)  # pixels' channels in and out: the same bits


def test_depthwise_planes_rule():
    """plane_depthwise: small and strided depthwise planes, not the flat kernel's 3x3 ones."""
    t = fastconv._tuning

    def kind(C, H, k, s):
        x = np.zeros((1, C, H, H), np.float32)
        w = np.zeros((C, 1, k, k), np.float32)
        return fastconv.explain(x, w, padding=k // 2, stride=s, groups=C).kind

    assert kind(960, 7, 3, 1) == Kind.DW_PLANE
    assert kind(576, 14, 3, 2) == Kind.DW_PLANE
    assert kind(64, 20, 7, 1) == Kind.DW_PLANE
    side = int(t.DW_PLANE_MAX_ELEMS**0.5)
    assert kind(8, side + 8, 3, 2) != Kind.DW_PLANE
    side = int(t.DW_PLANE_MAX_ELEMS_UNIT**0.5)
    assert kind(8, side + 8, 3, 1) != Kind.DW_PLANE
    if CPU_VB == 64:
        assert kind(144, 28, 3, 1) == Kind.DW_FLAT


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_rows_and_narrow_at_tile_edges(vb, dtype):
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    r = np.random.default_rng(3)
    for kind, cols in ((Kind.ROWS, sz["nv_rows"] * vl), (Kind.COLUMNS_NARROW, sz["nv_narrow"] * vl)):
        for H in _edge(sz["rb"]) + [2 * sz["rb"] + 1]:
            for W in _edge(cols):
                x = r.standard_normal((2, 2, H + 4, W)).astype(dtype)
                w = r.standard_normal((2, 1, 5, 5)).astype(dtype)
                _check(x, w, None, kind, vb, padding=(0, 2), groups=2, mode="circular")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_depthwise_kinds_at_tile_edges(vb, dtype):
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    r = np.random.default_rng(4)
    for k in (3, 5):
        h = k // 2
        for H in _edge(sz["rb"]):
            for W in sorted(set(_edge(vl) + _edge(vl + h - 1) + _edge(2 * vl) + [3 * vl + 1])):
                x = r.standard_normal((1, 3, H, W)).astype(dtype)
                w = r.standard_normal((3, 1, k, k)).astype(dtype)
                b = r.standard_normal(3).astype(dtype)
                _check(x, w, b, Kind.DW_STRIP, vb, padding=h, groups=3, mode="symmetric")
                if W - (k - 1) >= vl:  # the sweep needs an interior of one vector
                    _check(x, w, b, Kind.DW_SWEEP, vb, padding=h, groups=3)
                flat_ok = vb == 64 and W >= vl + h - 1 and h * W * np.dtype(dtype).itemsize <= sz["flat_max_bytes"]
                if flat_ok:
                    _check(x, w, b, Kind.DW_FLAT, vb, padding=h, groups=3)
                else:
                    with pytest.raises(ValueError, match="DW_FLAT"):
                        _check(x, w, b, Kind.DW_FLAT, vb, padding=h, groups=3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("kind", [Kind.WINOGRAD2, Kind.WINOGRAD4])
def test_winograd_at_tile_edges(kind, vb, dtype):
    sz = _direct.tile_sizes(vb)
    vl = vb // np.dtype(dtype).itemsize
    m = 2 if kind == Kind.WINOGRAD2 else 4
    r = np.random.default_rng(5)
    for coutg in _edge(sz["wino_ocb"]):
        for W in _edge(m * vl):
            x = r.standard_normal((1, 3, 2 * m + 1, W)).astype(dtype)
            w = r.standard_normal((coutg, 3, 3, 3)).astype(dtype)
            _check(x, w, None, kind, vb, padding=1)


def test_force_refuses_what_a_layer_cannot_take():
    x = np.ones((1, 2, 8, 8), np.float32)
    w = np.ones((2, 2, 5, 5), np.float32)
    a = fastconv._args.conv2d_args(x, w, None, 1, 0, 1, 1, "zeros")
    for kind in (Kind.WINOGRAD2, Kind.FFT, Kind.DW_STRIP, Kind.COLUMNS):
        with pytest.raises(ValueError, match=kind.name):
            _plan.conv2d(a, "auto", None, Force(kind=kind))
    with pytest.raises(ValueError, match="not a fastconv._tuning name"):
        _plan.conv2d(a, "auto", None, Force(tuning={"NO_SUCH_VALUE": 1}))
    with pytest.raises(ValueError, match="32 or 64"):
        _plan.conv2d(a, "auto", None, Force(vector_bytes=16))


def test_deep_winograd_pixels_by_cpu(monkeypatch):
    """The output pixels from which deep float32 layers take Winograd: WINOGRAD_DEEP_MIN_PIXELS
    by vector width, the entry of WINOGRAD_DEEP_MIN_PIXELS_CPUS for a listed (vendor,
    family, vector bytes), the half-rate values on a CPU of WINOGRAD_HALF_RATE_CPUS; a
    listed CPU's 256 -> 256 on 14x14 at batch 2 (392 pixels) takes Winograd, another's not."""
    t = _tuning
    for vendor, family in (("AuthenticAMD", 26), ("GenuineIntel", 6), ("AuthenticAMD", 25)):
        monkeypatch.setattr(_plan, "_CPU_VENDOR", vendor)
        monkeypatch.setattr(_plan, "_CPU_FAMILY", family)
        for vb in (32, 64):
            got = _plan.deep_min_pixels(vb, _plan.winograd_tuning(vb))
            if (vendor, family, vb) in t.WINOGRAD_DEEP_MIN_PIXELS_CPUS:
                assert got == t.WINOGRAD_DEEP_MIN_PIXELS_CPUS[vendor, family, vb]
            elif _plan.half_rate(vb):
                assert got == t.WINOGRAD_HALF_RATE["WINOGRAD_DEEP_MIN_PIXELS"][vb]
            else:
                assert got == t.WINOGRAD_DEEP_MIN_PIXELS[vb]
    monkeypatch.setattr(_plan, "_CPU_VENDOR", "AuthenticAMD")
    monkeypatch.setattr(_plan, "_CPU_FAMILY", 26)
    if _plan.vector_bytes() != 64:
        return  # the planner's choice on 64-byte vectors
    listed = {"WINOGRAD_DEEP_MIN_PIXELS_CPUS": {("AuthenticAMD", 26, 64): 392}}
    for tuning, algo in ((listed, "winograd"), ({"WINOGRAD_DEEP_MIN_PIXELS_CPUS": {}}, "direct")):
        x = np.zeros((2, 256, 14, 14), np.float32)
        a = fastconv._args.conv2d_args(x, np.zeros((256, 256, 3, 3), np.float32), None, 1, 1, 1, 1, "zeros")
        plan = _plan.conv2d(a, "auto", 1, Force(tuning=tuning))
        assert (plan.kind == Kind.WINOGRAD2) == (algo == "winograd"), (tuning, plan.kind)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_auto_winograd_follows_lane_fill_and_work(dtype):
    """ "auto" takes Winograd where a tile row's tiles fill WINOGRAD_MIN_LANE_FILL of their
    vector lanes (28 and 56 wide: 14 or 28 F(2x2) tiles in 16 or 32 lanes, 7 or 14 F(4x4)
    tiles in 8 or 16) and the threads get enough work, not by the plane's width."""
    algo = "winograd" if dtype == np.float32 else "winograd4"
    vb = _plan.vector_bytes()

    def pick(shape, nt):
        return fastconv.explain(shape, (shape[1], shape[1], 3, 3), padding=1, num_threads=nt, dtype=dtype).algorithm

    def fill(W):
        a = fastconv._args.conv2d_args(
            np.zeros((1, 1, 3, W), dtype), np.zeros((1, 1, 3, 3), dtype), None, 1, 1, 1, 1, "zeros"
        )
        return _plan.winograd_lane_fill(a, algo, vb)

    t = _plan.winograd_tuning(vb)
    vl = vb // np.dtype(dtype).itemsize
    for W in (14, 20, 24, 28, 36, 40, 56, 64):
        big = (8, 128, W, W)
        macs = 8 * 128 * 128 * 9 * W * W
        row = fill(W) >= t.WINOGRAD_MIN_LANE_FILL
        # F(2x2) tile rows narrower than a vector that a row alone fills badly: flat, all
        # the batch's tiles in the lanes (float32's "winograd" only)
        flat = (
            algo == "winograd"
            and not row
            and -(-W // 2) < vl
            and 128 >= t.WINOGRAD_FLAT_MIN_CHANNELS
            and -(-W // 2) >= t.WINOGRAD_FLAT_MIN_TILES
            and macs >= t.WINOGRAD_FLAT_MIN_THREAD_MACS
        )
        want = algo if (row or flat) and macs >= t.WINOGRAD_MIN_THREAD_MACS else "direct"
        assert pick(big, 1) == want, W
        if want == algo:
            plan = fastconv.explain(big, (128, 128, 3, 3), padding=1, num_threads=1, dtype=dtype)
            assert plan.flat == flat
    # flat only with enough channels, tiles per row and work (where 7 tiles fill a row's
    # vectors badly: 16 lanes)
    if algo == "winograd" and fill(14) < t.WINOGRAD_MIN_LANE_FILL:
        assert pick((8, 128, 14, 14), 1) == algo and pick((8, 64, 14, 14), 1) == "direct"
        # 6 tiles a row: the narrow planes' rule
        narrow = 8 * 36 >= t.WINOGRAD_FLAT_NARROW_MIN_TILES and 8 * 128 * 128 * 9 * 144 >= (
            t.WINOGRAD_FLAT_NARROW_MIN_THREAD_MACS
        )
        assert pick((8, 128, 12, 12), 1) == (algo if narrow else "direct")
        assert pick((1, 128, 14, 14), 1) == "direct"
    assert pick((8, 128, 28, 28), 1) == algo and pick((8, 128, 36, 36), 1) == "direct"
    assert pick((1, 32, 28, 28), 1) == "direct"  # too little work for the transforms
    # one image on two threads: the shared threshold
    macs = 128 * 128 * 9 * 28 * 28
    assert pick((1, 128, 28, 28), 2) == (algo if macs // 2 >= t.WINOGRAD_SHARED_MIN_MACS[vb][algo] else "direct")
    assert pick((2, 128, 28, 28), 2) == algo
    # float32 beyond WINOGRAD_DEEP_CHANNELS input channels: enough output pixels over the
    # batch for the weights' transform (256 channels on 28x28 and 14x14 planes, 1 thread)
    if algo == "winograd":
        for shape in ((1, 256, 28, 28), (1, 256, 14, 14), (2, 256, 14, 14), (8, 256, 14, 14)):
            pixels = shape[0] * shape[2] * shape[3]
            assert 256 > t.WINOGRAD_DEEP_CHANNELS[vb]
            assert pick(shape, 1) == (algo if pixels >= _plan.deep_min_pixels(vb, t) else "direct"), shape
        # at or below the deep channels, the pixels do not count
        cg = t.WINOGRAD_DEEP_CHANNELS[vb]
        assert pick((1, cg, 28, 28), 1) == algo


def test_winograd_rules_on_half_rate_cpus():
    """On a CPU of WINOGRAD_HALF_RATE_CPUS (64-byte vectors as two halves) Winograd's rules
    read WINOGRAD_HALF_RATE's values; other CPUs and 32-byte vectors keep the table's.
    Decided for 64-byte plans whatever this machine's vectors."""
    t = _tuning
    me = (_plan._CPU_VENDOR, _plan._CPU_FAMILY)
    # (without the per-CPU pixels, which would decide the deep layers below on their CPUs)
    on = _plan._Override(t, WINOGRAD_HALF_RATE_CPUS=(me,), WINOGRAD_DEEP_MIN_PIXELS_CPUS={})
    off = _plan._Override(t, WINOGRAD_HALF_RATE_CPUS=(), WINOGRAD_DEEP_MIN_PIXELS_CPUS={})
    assert _plan.half_rate(64, on) and not _plan.half_rate(64, off) and not _plan.half_rate(32, on)
    assert _plan.half_rate(64) == (me in t.WINOGRAD_HALF_RATE_CPUS)
    for name, value in t.WINOGRAD_HALF_RATE.items():
        assert hasattr(t, name)
        assert getattr(_plan.winograd_tuning(64, on), name) == value
        assert getattr(_plan.winograd_tuning(64, off), name) == getattr(t, name)
        assert getattr(_plan.winograd_tuning(32, on), name) == getattr(t, name)

    def pays(shape, nt, tt):
        a = fastconv._args.conv2d_args(
            np.zeros(shape, np.float32), np.zeros((shape[1], shape[1], 3, 3), np.float32), None, 1, 1, 1, 1, "zeros"
        )
        return _plan.winograd_pays(a, "winograd", 64, nt, tt)

    # the layers the half-rate values were measured on take Winograd there, not elsewhere:
    # deep channels on 28x28 and 14x14 planes, flat on 7x7 to 14x14; one image on two
    # threads takes it on both from about 30 million multiply-adds per thread
    for shape in ((1, 64, 56, 56), (1, 128, 28, 28)):
        assert pays(shape, 2, on) and pays(shape, 2, off), shape
    for shape, nt in (
        ((1, 256, 28, 28), 1),
        ((2, 256, 14, 14), 1),
        ((8, 512, 7, 7), 2),
        ((8, 256, 7, 7), 2),
        ((8, 128, 7, 7), 2),
        ((2, 128, 14, 14), 1),
        ((8, 128, 12, 12), 2),
    ):
        assert pays(shape, nt, on) and not pays(shape, nt, off), (shape, nt)
    # too few pixels, tiles, channels or too little work per thread either way
    for shape, nt in (
        ((1, 256, 14, 14), 1),
        ((1, 32, 56, 56), 2),
        ((4, 512, 7, 7), 2),
        ((1, 512, 7, 7), 1),
        ((32, 64, 7, 7), 2),
    ):
        assert not pays(shape, nt, on) and not pays(shape, nt, off), (shape, nt)


def test_auto_winograd_on_narrow_planes_follows_the_tiles_per_thread():
    """Planes with fewer F(2x2) tiles per row than WINOGRAD_FLAT_MIN_TILES (7x7) run flat
    Winograd from WINOGRAD_FLAT_NARROW_MIN_TILES tiles over the batch per thread and
    WINOGRAD_FLAT_NARROW_MIN_THREAD_MACS, deep channels or not; and the plan runs."""
    if _plan.vector_bytes() // 4 <= 4:
        pytest.skip("4 tiles per row fill a 4-lane vector: not flat")
    t = _plan.winograd_tuning(_plan.vector_bytes())
    for N, C in ((1, 512), (4, 512), (8, 512), (16, 512), (8, 256), (16, 128), (32, 128), (8, 64)):
        for nt in (1, 2):
            plan = fastconv.explain((N, C, 7, 7), (C, C, 3, 3), padding=1, num_threads=nt)
            tiles, macs = N * 16, N * C * C * 9 * 49
            want = (
                C >= t.WINOGRAD_FLAT_MIN_CHANNELS
                and C <= t.WINOGRAD_MAX_CHANNELS_F32
                and tiles >= nt * t.WINOGRAD_FLAT_NARROW_MIN_TILES
                and macs // nt >= t.WINOGRAD_FLAT_NARROW_MIN_THREAD_MACS
            )
            assert (plan.kind == Kind.WINOGRAD2) == want, (N, C, nt)
            assert not want or plan.flat
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 32, 7, 7)).astype(np.float32)
    w = rng.standard_normal((40, 32, 3, 3)).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    force = Force(
        tuning=dict(
            WINOGRAD_FLAT_MIN_CHANNELS=32,
            WINOGRAD_FLAT_NARROW_MIN_TILES=1,
            WINOGRAD_FLAT_NARROW_MIN_THREAD_MACS=1,
            WINOGRAD_HALF_RATE_CPUS=(),
        )
    )
    a = fastconv._args.conv2d_args(x, w, b, 1, 1, 1, 1, "zeros")
    assert _plan.conv2d(a, "auto", 2, force).kind == Kind.WINOGRAD2
    y = fastconv.conv._conv2d(x, w, b, 1, 1, 1, 1, "zeros", None, 2, "auto", force)
    np.testing.assert_allclose(y, conv2d_ref(x, w, b, pads=(1, 1, 1, 1)), rtol=1e-4, atol=1e-4)


def test_explain():
    plan = fastconv.explain((8, 64, 56, 56), (64, 64, 3, 3), padding=1)
    assert plan.kind == Kind.WINOGRAD2 and plan.algorithm == "winograd"
    assert "WINOGRAD_MIN_CHANNELS" in plan.reason and "winograd2" in str(plan)
    assert fastconv.explain((8, 64, 56, 56), (64, 64, 3, 3), padding=1, dtype=np.float64).kind == Kind.WINOGRAD4
    x = np.zeros((1, 64, 56, 56), np.float32)
    x[0, 0, 0, 0] = np.nan  # Winograd would spread it: the direct kernels instead
    w = np.ones((64, 64, 3, 3), np.float32)
    plan = fastconv.explain(x, w, padding=1, num_threads=1)
    assert plan.algorithm == "direct" and "non-finite" in plan.reason
    assert fastconv.explain((1, 0, 5, 5), (3, 0, 3, 3)).kind == Kind.BIAS_ONLY
    assert fastconv.explain(x, w, padding=1, algorithm="direct").kind in (Kind.LANES, Kind.COLUMNS)
    with pytest.raises(ValueError, match="explain: groups=3 must divide"):
        fastconv.explain((1, 64, 8, 8), (3, 64, 3, 3), groups=3)
    with pytest.raises(ValueError, match="negative"):
        fastconv.explain((1, -1, 8, 8), (3, 1, 3, 3))
    # the plan is what conv2d runs: the same result as forcing its kind
    r = np.random.default_rng(0)
    x = r.standard_normal((2, 8, 20, 21)).astype(np.float32)
    w = r.standard_normal((16, 8, 3, 3)).astype(np.float32)
    plan = fastconv.explain(x, w, padding=1)
    forced = fastconv.conv._conv2d(x, w, None, 1, 1, 1, 1, "zeros", None, None, "auto", Force(kind=plan.kind))
    np.testing.assert_array_equal(fastconv.conv2d(x, w, padding=1), forced)


def test_memoised_plans_follow_the_data_and_the_table(monkeypatch):
    """Plans are memoised by shape, but the data-dependent rules and the tuning table still
    decide each call: the same shapes with NaN, then finite again, then another threshold."""
    r = np.random.default_rng(1)
    x = r.standard_normal((1, 32, 48, 56)).astype(np.float32)
    w = r.standard_normal((32, 32, 3, 3)).astype(np.float32)
    assert fastconv.explain(x, w, padding=1, num_threads=1).kind == Kind.WINOGRAD2
    for bad_x in (True, False):
        xb, wb = x.copy(), w.copy()
        (xb if bad_x else wb)[0, 3, 2, 2] = np.inf
        assert fastconv.explain(xb, wb, padding=1, num_threads=1).algorithm == "direct"
        got = fastconv.conv2d(xb, wb, padding=1, num_threads=1)
        ref = conv2d_ref(xb, wb, None, (1, 1), (1, 1, 1, 1), (1, 1), 1, "zeros")
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    assert fastconv.explain(x, w, padding=1, num_threads=1).kind == Kind.WINOGRAD2
    # one channel per output channel: the in-place kernels only with finite weights
    xd = r.standard_normal((1, 4, 64, 64)).astype(np.float32)
    wd = r.standard_normal((4, 1, 3, 3)).astype(np.float32)
    assert fastconv.explain(xd, wd, padding=1, groups=4).kind in (Kind.DW_STRIP, Kind.DW_SWEEP, Kind.DW_FLAT)
    wd[2, 0, 1, 1] = np.nan
    assert fastconv.explain(xd, wd, padding=1, groups=4).kind not in (Kind.DW_STRIP, Kind.DW_SWEEP, Kind.DW_FLAT)
    # a changed threshold (a monkeypatched table entry) is seen by the next call
    monkeypatch.setattr(fastconv._tuning, "WINOGRAD_MIN_CHANNELS", 64)
    assert fastconv.explain(x, w, padding=1, num_threads=1).algorithm == "direct"


def test_cuda_kinds_are_the_planners():
    from fastconv import cuda

    for cin_g, cout_g, k in ((3, 6, 5), (10, 35, 3), (64, 8, 3), (7, 16, 3), (8, 16, 3)):
        kind, why = _plan.cuda(cin_g, cout_g, k, k)
        assert why and cuda.conv2d_kernel(cin_g, cout_g, k, k) == cuda.KIND_KERNELS[kind]
        gemm = cin_g * k * k >= fastconv._tuning.CUDA_GEMM_MIN_K and cout_g >= fastconv._tuning.CUDA_GEMM_MIN_COUT
        assert kind == (Kind.CUDA_IGEMM if gemm else Kind.CUDA_DIRECT)


def test_small_calls_run_on_one_thread(monkeypatch):
    x = np.ones((1, 3, 32, 32), np.float32)
    w = np.ones((6, 3, 5, 5), np.float32)
    macs = 6 * 28 * 28 * 3 * 25
    monkeypatch.setattr(fastconv._tuning, "PARALLEL_MIN_MACS", macs + 1)
    assert fastconv.explain(x, w, num_threads=2).threads == 1
    monkeypatch.setattr(fastconv._tuning, "PARALLEL_MIN_MACS", macs)
    assert fastconv.explain(x, w, num_threads=2).threads == 2
    np.testing.assert_array_equal(fastconv.conv2d(x, w, num_threads=2), fastconv.conv2d(x, w, num_threads=1))
    # depthwise layers: their own threshold, whatever PARALLEL_MIN_MACS says
    xd = np.ones((1, 192, 14, 14), np.float32)
    wd = np.ones((192, 1, 3, 3), np.float32)
    macs = 192 * 14 * 14 * 9
    monkeypatch.setattr(fastconv._tuning, "PARALLEL_MIN_MACS", 10 * macs)
    monkeypatch.setattr(fastconv._tuning, "PARALLEL_MIN_MACS_DEPTHWISE", macs)
    assert fastconv.explain(xd, wd, padding=1, groups=192, num_threads=2).threads == 2
    monkeypatch.setattr(fastconv._tuning, "PARALLEL_MIN_MACS_DEPTHWISE", macs + 1)
    assert fastconv.explain(xd, wd, padding=1, groups=192, num_threads=2).threads == 1
    got = fastconv.conv2d(xd, wd, padding=1, groups=192, num_threads=2)
    np.testing.assert_array_equal(got, fastconv.conv2d(xd, wd, padding=1, groups=192, num_threads=1))


def test_threads_block():
    before = fastconv._omp.user_threads()
    with fastconv.threads(1):
        assert fastconv.get_num_threads() == 1
        with fastconv.threads(3):
            assert fastconv.get_num_threads() == min(3, fastconv._omp.thread_cap())
        assert fastconv.get_num_threads() == 1
    assert fastconv._omp.user_threads() == before

    @fastconv.threads(2)
    def inner():
        return fastconv.get_num_threads()

    assert inner() == 2 and fastconv._omp.user_threads() == before
    with pytest.raises(ValueError, match=">= 1"):
        fastconv.threads(0)
    with pytest.raises(TypeError, match="int or None"):
        fastconv.threads("2")
    try:
        with fastconv.threads(1):
            raise KeyError
    except KeyError:
        pass
    assert fastconv._omp.user_threads() == before


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular", "symmetric"])
def test_conv2d_takes_the_separable_passes_for_rank_one_kernels(mode, dtype):
    """Rank-1 kernels of more than DIRECT_MAX_TAPS taps, one per channel: the separable
    passes, within the direct kernels' error of the float64 reference, with the direct
    kernels' pattern of NaN and +-inf."""
    r = np.random.default_rng(7)
    g = np.exp(-0.5 * (np.arange(-7, 8) / 2.5) ** 2)
    cols = np.stack([g, g[::-1] * 0.5, np.abs(r.standard_normal(15))])
    rows = np.stack([g, r.standard_normal(15), np.ones(15)])
    w = (cols[:, :, None] * rows[:, None, :]).astype(dtype)[:, None]  # (3, 1, 15, 15)
    x = r.standard_normal((2, 3, 40, 37)).astype(dtype)
    b = r.standard_normal(3).astype(dtype)
    plan = fastconv.explain(x, w, b, padding=9, groups=3, padding_mode=mode)
    assert plan.kind == Kind.SEPARABLE and "outer product" in plan.reason
    got = fastconv.conv2d(x, w, b, padding=9, groups=3, padding_mode=mode)
    ref = conv2d_ref(x, w, b, (1, 1), (9, 9, 9, 9), (1, 1), 3, mode)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(got, ref, rtol=0, atol=64 * eps * (np.abs(ref).max() + 1))
    xb = x.copy()
    xb[0, 1, 5, 6] = np.nan
    xb[1, 2, 30, 30] = np.inf
    xb[1, 2, 31, 33] = -np.inf
    xb[1, 0, 0, 0] = np.inf
    got = fastconv.conv2d(xb, w, b, padding=9, groups=3, padding_mode=mode)
    direct = fastconv.conv2d(xb, w, b, padding=9, groups=3, padding_mode=mode, algorithm="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(direct))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(direct))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(direct))
    # one channel that is not rank 1: the whole layer takes another kernel
    w2 = w.copy()
    w2[1, 0, 3, 4] += 0.1
    assert fastconv.explain(x, w2, b, padding=9, groups=3).kind != Kind.SEPARABLE
    a = fastconv._args.conv2d_args(x, w2, b, 1, 9, 1, 3, "zeros")
    with pytest.raises(ValueError, match="SEPARABLE"):
        _plan.conv2d(a, "auto", None, Force(kind=Kind.SEPARABLE))
    # small kernels stay direct
    w3 = np.ones((3, 1, 3, 3), dtype)
    assert fastconv.explain(x, w3, padding=1, groups=3).kind != Kind.SEPARABLE


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_channel_chunks_are_exact(vb, dtype):
    """Big weights: tall bands whose output-channel blocks are shared out in chunks (also
    in place); the same bits as one item per band, at channel counts around the blocks."""
    r = np.random.default_rng(11)
    vl = vb // np.dtype(dtype).itemsize
    # (small planes split by the weights' rule alone, with the row tiles on both sides)
    base = {"SPLIT_CHANNELS_MAX_PLANE_PIXELS": 0, "PARALLEL_MIN_MACS": 0}
    split = Force(vector_bytes=vb, tuning=dict(base, SPLIT_CHANNELS_MIN_WEIGHT_BYTES=1))
    plain = Force(vector_bytes=vb, tuning=dict(base, SPLIT_CHANNELS_MIN_WEIGHT_BYTES=1 << 60))
    for coutg in sorted({3, 2 * vl - 1, 2 * vl + 1, 4 * vl + 3}):
        for k, pad, stride, groups in ((3, 1, 1, 1), (1, 0, 1, 2), (3, 1, 2, 1)):
            x = r.standard_normal((2, 4 * groups, 9, 11)).astype(dtype)
            w = r.standard_normal((coutg * groups, 4, k, k)).astype(dtype)
            b = r.standard_normal(coutg * groups).astype(dtype)
            a = fastconv._args.conv2d_args(x, w, b, stride, pad, 1, groups, "zeros")
            plan = _plan.conv2d(a, "direct", 2, split)
            got = fastconv.conv._conv2d(x, w, b, stride, pad, 1, groups, "zeros", None, 2, "direct", split)
            ref = fastconv.conv._conv2d(x, w, b, stride, pad, 1, groups, "zeros", None, 2, "direct", plain)
            np.testing.assert_array_equal(got, ref)
            if plan.channel_block < coutg:
                assert plan.channel_chunks > 1
            exact = conv2d_ref(x, w, b, a.stride, a.pads, a.dilation, groups, "zeros")
            eps = np.finfo(dtype).eps
            np.testing.assert_allclose(got, exact, rtol=0, atol=16 * eps * (np.abs(exact).max() + 1))


def test_small_planes_share_channels_not_rows():
    """Several threads on output planes of at most SPLIT_CHANNELS_MAX_PLANE_PIXELS pixels
    share output-channel blocks, each plane whole (row bands would share a cache line of
    every plane); one thread, bigger planes and batches whose planes need no cutting keep
    row bands; the result is the bits of the row bands'."""
    t = fastconv._tuning
    r = np.random.default_rng(23)

    def plan(n, c, hw, cout, k, nt, force=None):
        x = r.standard_normal((n, c, hw, hw)).astype(np.float32)
        w = r.standard_normal((cout, c, k, k)).astype(np.float32)
        a = fastconv._args.conv2d_args(x, w, None, 1, k // 2, 1, 1, "zeros")
        return _plan.conv2d(a, "direct", nt, force), x, w

    p, x, w = plan(1, 64, 14, 384, 1, 2)  # MobileNetV2's expansion on 14x14 at batch 1
    assert p.kind == Kind.LANES and p.channel_chunks > 1 and p.band_rows == 14
    old = Force(tuning={"SPLIT_CHANNELS_MAX_PLANE_PIXELS": 0})
    assert plan(1, 64, 14, 384, 1, 2, old)[0].band_rows < 14
    for nt in (2, 3):
        got = fastconv.conv._conv2d(x, w, None, 1, 0, 1, 1, "zeros", None, nt, "direct", None)
        ref = fastconv.conv._conv2d(x, w, None, 1, 0, 1, 1, "zeros", None, nt, "direct", old)
        np.testing.assert_array_equal(got, ref)
    p, _, _ = plan(1, 32, 7, 64, 3, 2)
    assert p.channel_chunks > 1 and p.band_rows == 7
    # a 1x1 layer on channels-last pixels runs each plane as one row (on one thread too),
    # its output-channel blocks shared out
    xl = r.standard_normal((1, 14, 14, 96)).astype(np.float32).transpose(0, 3, 1, 2)
    wl = r.standard_normal((64, 96, 1, 1)).astype(np.float32)
    a = fastconv._args.conv2d_args(xl, wl, None, 1, 0, 1, 1, "zeros")
    p = _plan.conv2d(a, "direct", 2)
    assert p.plane_row and p.channel_chunks > 1 and _plan.conv2d(a, "direct", 1).plane_row
    ref = conv2d_ref(xl, wl, None, (1, 1), (0, 0, 0, 0), (1, 1), 1, "zeros")
    one = fastconv.conv2d(xl, wl, num_threads=1)
    np.testing.assert_allclose(one, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    for nt in (2, 3):
        np.testing.assert_array_equal(fastconv.conv2d(xl, wl, num_threads=nt), one)
        np.testing.assert_array_equal(fastconv.conv2d(xl, wl, num_threads=nt, memory_format="preserve"), one)
    assert plan(1, 64, 14, 384, 1, 1)[0].channel_chunks == 1
    side = int(t.SPLIT_CHANNELS_MAX_PLANE_PIXELS**0.5) + 1
    p, _, _ = plan(1, 32, side, 64, 3, 2)
    assert p.channel_chunks == 1 and p.band_rows < side
    p, _, _ = plan(32, 32, 7, 64, 3, 2)  # items of whole planes already
    assert p.channel_chunks == 1 and p.sample_group == 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_weights_packed_block_by_block(vb, dtype):
    """One band of one plane (batch 1, a small plane): each item packs its output-channel
    blocks just before their tiles.  Against the float64 reference on 1 to 3 threads (the
    blocks shared out in chunks), channel counts around the blocks, the channel-lane and
    column tiles, NaN and inf among the weights and the inputs."""
    r = np.random.default_rng(17)
    vl = vb // np.dtype(dtype).itemsize
    for kind in (Kind.LANES, Kind.COLUMNS):
        for coutg in sorted({5, 2 * vl - 1, 2 * vl + 1, 6 * vl + 3}):
            for k, pad, stride, groups, mode in ((3, 1, 1, 1, "zeros"), (3, 1, 2, 1, "reflect"), (1, 0, 1, 2, "zeros")):
                x = r.standard_normal((1, 5 * groups, 7, 7)).astype(dtype)
                w = r.standard_normal((coutg * groups, 5, k, k)).astype(dtype)
                b = r.standard_normal(coutg * groups).astype(dtype)
                w[coutg - 1, 2, 0, 0] = np.nan
                w[coutg // 2, 4, k - 1, k - 1] = -np.inf
                x[0, 3, 6, 6] = np.inf
                a = fastconv._args.conv2d_args(x, w, b, stride, pad, 1, groups, mode)
                with np.errstate(invalid="ignore"):  # inf - inf: NaN, as the kernels give
                    exact = conv2d_ref(x, w, b, a.stride, a.pads, a.dilation, groups, mode)
                finite = exact[np.isfinite(exact)]
                tol = 16 * np.finfo(dtype).eps * (np.abs(finite).max() + 1) * np.sqrt(5 * k * k)
                for nt in (1, 2, 3):
                    tuning = {"PARALLEL_MIN_MACS": 0, "SPLIT_CHANNELS_MIN_WEIGHT_BYTES": 1}
                    force = Force(kind=kind, vector_bytes=vb, tuning=tuning)
                    plan = _plan.conv2d(a, "direct", nt, force)
                    assert plan.kind == kind
                    if coutg > plan.channel_block and not plan.plane_row:  # several blocks: one band
                        assert plan.band_rows == a.out_shape[2]
                    got = fastconv.conv._conv2d(x, w, b, stride, pad, 1, groups, mode, None, nt, "direct", force)
                    np.testing.assert_allclose(got, exact, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_sample_groups_are_exact(vb, dtype):
    """Big weights, several samples: items of a group of samples run block by block give the
    bits of one sample per item, on 1 to 3 threads, for the channel-lane and column tiles,
    packed and in place, with a last group of fewer samples; NaN and inf where they were."""
    r = np.random.default_rng(19)
    vl = vb // np.dtype(dtype).itemsize
    base = {"SPLIT_CHANNELS_MIN_WEIGHT_BYTES": 1, "PARALLEL_MIN_MACS": 0}
    for kind in (Kind.LANES, Kind.COLUMNS):
        for k, pad, stride, mode in ((3, 1, 1, "zeros"), (3, 1, 2, "reflect"), (3, 0, 1, "zeros")):
            x = r.standard_normal((5, 6, 7, 9)).astype(dtype)
            w = r.standard_normal((4 * vl + 3, 6, k, k)).astype(dtype)
            b = r.standard_normal(w.shape[0]).astype(dtype)
            x[3, 2, 1, 1] = np.nan
            w[vl + 1, 5, 1, 2] = np.inf
            a = fastconv._args.conv2d_args(x, w, b, stride, pad, 1, 1, mode)
            one = Force(kind=kind, vector_bytes=vb, tuning=dict(base, SAMPLE_GROUP_BYTES=0))
            ref = fastconv.conv._conv2d(x, w, b, stride, pad, 1, 1, mode, None, 1, "direct", one)
            with np.errstate(invalid="ignore"):
                exact = conv2d_ref(x, w, b, a.stride, a.pads, a.dilation, 1, mode)
            finite = exact[np.isfinite(exact)]
            tol = 16 * np.finfo(dtype).eps * (np.abs(finite).max() + 1) * np.sqrt(6 * k * k)
            np.testing.assert_allclose(ref, exact, rtol=0, atol=tol)
            for group_bytes in (1 << 12, 1 << 40):
                force = Force(kind=kind, vector_bytes=vb, tuning=dict(base, SAMPLE_GROUP_BYTES=group_bytes))
                for nt in (1, 2, 3):
                    plan = _plan.conv2d(a, "direct", nt, force)
                    if group_bytes > 1 << 30 and nt == 1:
                        assert plan.sample_group == 5 or plan.flat
                    assert 1 <= plan.sample_group <= 5
                    got = fastconv.conv._conv2d(x, w, b, stride, pad, 1, 1, mode, None, nt, "direct", force)
                    np.testing.assert_array_equal(got, ref)


def _group_makespan(N, g, bands, nob, chunks, nt):
    """The busiest thread's work (samples times output-channel blocks) when OpenMP's static
    schedule deals out the items of groups of g samples, bands and channel chunks."""
    work = [
        min(g, N - s * g) * ((c + 1) * nob // chunks - c * nob // chunks)
        for s in range(-(-N // g))
        for _ in range(bands)
        for c in range(chunks)
    ]
    q, r = divmod(len(work), nt)
    starts = np.cumsum([0] + [q + (k < r) for k in range(nt)])
    return max(sum(work[starts[k] : starts[k + 1]]) for k in range(nt))


def test_sample_groups_balance_the_threads():
    """The big-weights plans' groups of samples and channel chunks on several threads: the
    static schedule's busiest thread gets no more work than with the largest groups that
    fit (a last group of fewer samples, items dealt out unevenly), and N = 8 in groups of at
    most 3 on 2 threads splits evenly (the groups of 3, 3 and 2 left one thread 15 of 24
    parts)."""
    t = fastconv._tuning
    for N in range(1, 11):
        for most in range(1, N + 1):
            for bands in (1, 2, 3):
                for nob in (1, 2, 5, 16):
                    for nt in (2, 3, 4):
                        g, chunks = _plan._balanced_groups(N, most, bands, nob, nt)
                        assert 1 <= g <= most and 1 <= chunks <= nob
                        plain = min(nob, -(-(nt * t.ITEMS_PER_THREAD) // (-(-N // most) * bands)))
                        assert _group_makespan(N, g, bands, nob, chunks, nt) <= _group_makespan(
                            N, most, bands, nob, plain, nt
                        )
    g, chunks = _plan._balanced_groups(8, 3, 1, 16, 2)
    assert 8 % g == 0 and (8 // g * chunks) % 2 == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_stride2_depthwise_sweep(vb, dtype, monkeypatch):
    """The strips' stride-2 3x3 sweep along the rows (fc_dw_sweep_s2): interior spans just
    under, at and past a vector and several vectors with a remainder (the last chunk
    shifted left), output rows in blocks of FC_RB and single ones, every padding mode,
    padding 0 and 1, odd and even widths, NaN and +-inf inside the swept part and at its
    edges: the NaN / inf pattern of the packed tiles and their values."""
    monkeypatch.setattr(fastconv._tuning, "DW_PLANE_MAX_ELEMS", 0)
    r = np.random.default_rng(29)
    vl = vb // np.dtype(dtype).itemsize
    force = Force(vector_bytes=vb)
    narrow = Force(kind=Kind.COLUMNS_NARROW, vector_bytes=vb)
    eps = np.finfo(dtype).eps
    for W in (2 * vl + 1, 2 * vl + 2, 2 * vl + 3, 2 * vl + 4, 4 * vl + 7, 6 * vl):
        for H in (3, 4, 9, 18):
            for pad, mode in ((1, "zeros"), (0, "zeros"), (1, "reflect"), (1, "replicate"), (1, "circular")):
                x = r.standard_normal((2, 2, H, W)).astype(dtype)
                x[1, 1, H // 2, W // 2] = np.nan
                x[0, 0, H - 1, 2 * vl] = np.inf
                x[0, 1, 0, 1] = -np.inf
                w = r.standard_normal((2, 1, 3, 3)).astype(dtype)
                b = r.standard_normal(2).astype(dtype)
                a = fastconv._args.conv2d_args(x, w, b, 2, pad, 1, 2, mode)
                assert _plan.conv2d(a, "auto", None, force).kind == Kind.DW_STRIP
                got = fastconv.conv._conv2d(x, w, b, 2, pad, 1, 2, mode, None, None, "auto", force)
                packed = fastconv.conv._conv2d(x, w, b, 2, pad, 1, 2, mode, None, None, "auto", narrow)
                np.testing.assert_array_equal(np.isnan(got), np.isnan(packed))
                np.testing.assert_array_equal(np.isinf(got), np.isinf(packed))
                np.testing.assert_array_equal(got[np.isinf(got)], packed[np.isinf(packed)])
                fin = np.isfinite(packed)
                ref = conv2d_ref(
                    np.nan_to_num(x, nan=0, posinf=0, neginf=0), w, b, a.stride, a.pads, a.dilation, 2, mode
                )
                np.testing.assert_allclose(got[fin], ref[fin], rtol=0, atol=16 * eps * (np.abs(ref).max() + 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_column_strided_depthwise_runs_in_place(vb, dtype, monkeypatch):
    """A column stride 2, one input channel per output channel, planes too big for the
    kernel of VL planes at a time: the in-place strips at column stride 2, at widths around
    the two vectors a stride-2 tap loads (edge chunks by shuffles from 2 VL - 1 columns,
    through the edge buffer below that and in the other padding modes) and wide enough for
    interior chunks, with dilated taps; NaN and +-inf where the packed tiles put them."""
    monkeypatch.setattr(fastconv._tuning, "DW_PLANE_MAX_ELEMS", 0)
    r = np.random.default_rng(13)
    vl = vb // np.dtype(dtype).itemsize
    force = Force(vector_bytes=vb)
    for W in sorted({2 * vl - 2, 2 * vl - 1, 2 * vl, 2 * vl + 1, 5 * vl + 3, 3}):
        for k, pad, stride, dil, mode in (
            (3, 1, 2, 1, "zeros"),
            (3, 1, (1, 2), 1, "reflect"),
            (5, 2, 2, 1, "circular"),
            (3, 2, 2, 2, "symmetric"),
            (5, 4, (1, 2), 2, "zeros"),
            (5, 2, 2, 1, "replicate"),
        ):
            x = r.standard_normal((2, 3, 9, W)).astype(dtype)
            x[1, 2, 4, W // 2] = np.nan
            x[0, 1, 2, 0] = np.inf
            w = r.standard_normal((3, 1, k, k)).astype(dtype)
            b = r.standard_normal(3).astype(dtype)
            if W + 2 * pad < (k - 1) * dil + 1:
                continue
            a = fastconv._args.conv2d_args(x, w, b, stride, pad, dil, 3, mode)
            plan = _plan.conv2d(a, "auto", None, force)
            assert plan.kind == Kind.DW_STRIP, plan
            got = fastconv.conv._conv2d(x, w, b, stride, pad, dil, 3, mode, None, None, "auto", force)
            packed = fastconv.conv._conv2d(
                x, w, b, stride, pad, dil, 3, mode, None, None, "auto", Force(kind=Kind.COLUMNS_NARROW, vector_bytes=vb)
            )
            np.testing.assert_array_equal(np.isnan(got), np.isnan(packed))
            np.testing.assert_array_equal(np.isinf(got), np.isinf(packed))
            fin = np.isfinite(packed)
            ref = conv2d_ref(np.nan_to_num(x, nan=0, posinf=0), w, b, a.stride, a.pads, a.dilation, 3, mode)
            eps = np.finfo(dtype).eps
            np.testing.assert_allclose(got[fin], packed[fin], rtol=0, atol=32 * eps * (np.abs(ref).max() + 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vb", WIDTHS)
def test_column_tiles_pack_blocks_of_the_smallest_tile(vb, dtype):
    """Column tiles pack a group's weights in blocks of the smallest tile that holds its
    channels (the widest tile's count past that), at every count around the tiles' edges and
    with groups; the result is the reference's, NaN and +-inf where they reach."""
    sizes = _direct.tile_sizes(vb)
    tiles, wide = sizes["ocb_tiles"], sizes["ocb_wide"]
    r = np.random.default_rng(31)
    eps = np.finfo(dtype).eps
    for coutg in range(3, 2 * wide + 2):
        for groups in (1, 2):
            cg = 3
            x = r.standard_normal((2, cg * groups, 9, 11)).astype(dtype)
            x[1, 0, 4, 5] = np.nan
            x[0, -1, 2, 0] = np.inf
            w = r.standard_normal((coutg * groups, cg, 3, 3)).astype(dtype)
            b = r.standard_normal(coutg * groups).astype(dtype)
            force = Force(kind=Kind.COLUMNS, vector_bytes=vb)
            a = fastconv._args.conv2d_args(x, w, b, 1, 1, 1, groups, "zeros")
            plan = _plan.conv2d(a, "auto", None, force)
            want = min(t for t in tiles if t >= min(coutg, wide))
            assert plan.kind == Kind.COLUMNS and plan.channel_block == want, (coutg, plan.channel_block)
            got = fastconv.conv._conv2d(x, w, b, 1, 1, 1, groups, "zeros", None, None, "auto", force)
            ref = conv2d_ref(x, w, b, (1, 1), a.pads, (1, 1), groups, "zeros")
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
            fin = np.isfinite(ref)
            np.testing.assert_allclose(got[fin], ref[fin], rtol=0, atol=64 * eps * (np.abs(ref[fin]).max() + 1))
