"""conv1d/conv3d and 1-D/3-D pooling against PyTorch over random grids, and without
PyTorch against float64 loops built from SciPy's N-dimensional correlate."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import fastconv
from fastconv import _args

from conftest import requires_torch
from helpers import MODES

TORCH_MODES = {"zeros": "zeros", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _reference_conv(x, w, stride, pads, dil, groups, mode):
    """float64 N-D convolution (batched, grouped) from numpy.pad and scipy.signal.correlate
    of the dilated kernel."""
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + list(pads), mode=_args.PADDING_MODES[mode][1])
    O, cg = w.shape[:2]
    og = O // groups
    outs = []
    for n in range(x.shape[0]):
        chans = []
        for o in range(O):
            g = o // og
            acc = 0
            for c in range(cg):
                k = w[o, c].astype(np.float64)
                kd = np.zeros(tuple((s - 1) * d + 1 for s, d in zip(k.shape, dil)))
                kd[tuple(slice(None, None, d) for d in dil)] = k
                acc = acc + scipy.signal.correlate(xp[n, g * cg + c], kd, mode="valid", method="direct")
            chans.append(acc[tuple(slice(None, None, s) for s in stride)])
        outs.append(chans)
    return np.array(outs).reshape((x.shape[0], O) + outs[0][0].shape)


@pytest.mark.parametrize("trial", range(40))
def test_conv1d_conv3d_match_reference(trial):
    rng = np.random.default_rng(trial)
    mode = MODES[trial % len(MODES)]
    g = int(rng.choice([1, 2]))
    cg, og = (int(v) for v in rng.integers(1, 3, 2))
    if trial % 2:
        k = (int(rng.integers(1, 4)),)
        s, d = (int(rng.integers(1, 3)),), (int(rng.integers(1, 3)),)
        x = rng.standard_normal((2, g * cg, int(rng.integers(6, 12))))
        p = int(rng.integers(0, 4))
        pads, f, padding = [(p, p)], fastconv.conv1d, p
    else:
        k = tuple(int(v) for v in rng.integers(1, 4, 3))
        s, d = tuple(int(v) for v in rng.integers(1, 3, 3)), tuple(int(v) for v in rng.integers(1, 3, 3))
        x = rng.standard_normal((2, g * cg, 5, 6, 7))
        p3 = tuple(int(v) for v in rng.integers(0, 3, 3))
        pads, f, padding = [(v, v) for v in p3], fastconv.conv3d, p3
    w = rng.standard_normal((g * og, cg) + k)
    try:
        ref = _reference_conv(x, w, s, pads, d, g, mode)
    except ValueError:
        return
    if 0 in ref.shape:
        return
    res = f(x, w, None, s, padding, d, g, mode)
    np.testing.assert_allclose(res, ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(f(x[0], w, None, s, padding, d, g, mode), ref[0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("trial", range(24))
def test_conv3d_single_channel_volumes(trial):
    """One input and one output channel with zero padding (big single-channel volumes): the
    output slices inside the volume read it in place, those whose window reaches the depth
    padding a padded copy; any depth stride and padding, slices in neither part, bias,
    unbatched input, float32 and float64.  The input stays as it was."""
    rng = np.random.default_rng(trial)
    dtype = (np.float32, np.float64)[trial % 2]
    D = int(rng.integers(1, 12))
    kD = int(rng.integers(1, 6))
    p0 = int(rng.integers(0, 4))
    if D + 2 * p0 < kD:
        p0 = (kD - D + 1) // 2
    s = (int(rng.integers(1, 4)), 1, int(rng.integers(1, 3)))
    x = rng.standard_normal((int(rng.integers(1, 3)), 1, D, 7, 9)).astype(dtype)
    w = rng.standard_normal((1, 1, kD, 3, 2)).astype(dtype)
    b = rng.standard_normal(1).astype(dtype)
    x0 = x.copy()
    got = fastconv.conv3d(x, w, b, s, (p0, 1, 0))
    np.testing.assert_array_equal(x, x0)
    ref = _reference_conv(x, w, s, [(p0, p0), (1, 1), (0, 0)], (1, 1, 1), 1, "zeros") + b[0]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(fastconv.conv3d(x[0], w, b, s, (p0, 1, 0)), ref[0], rtol=tol, atol=tol)


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("trial", range(40))
def test_conv1d_conv3d_match_torch(trial):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(100 + trial)
    dt = (np.float32, np.float64)[trial % 2]
    g = int(rng.choice([1, 2]))
    cg, og = (int(v) for v in rng.integers(1, 4, 2))
    b = rng.standard_normal(g * og).astype(dt)
    same = trial % 3 == 0
    if trial % 2:
        k = (int(rng.integers(1, 6)),)
        s, d = (1 if same else int(rng.integers(1, 3)),), (int(rng.integers(1, 3)),)
        x = rng.standard_normal((2, g * cg, int(rng.integers(8, 30)))).astype(dt)
        p = "same" if same else int(rng.integers(0, 3))
        f, tf = fastconv.conv1d, F.conv1d
    else:
        k = tuple(int(v) for v in rng.integers(1, 4, 3))
        s = (1, 1, 1) if same else tuple(int(v) for v in rng.integers(1, 3, 3))
        d = tuple(int(v) for v in rng.integers(1, 3, 3))
        x = rng.standard_normal((2, g * cg, 6, 7, 8)).astype(dt)
        p = "same" if same else tuple(int(v) for v in rng.integers(0, 3, 3))
        f, tf = fastconv.conv3d, F.conv3d
    w = rng.standard_normal((g * og, cg) + k).astype(dt)
    try:
        ref = tf(torch.tensor(x), torch.tensor(w), torch.tensor(b), s, p, d, g).numpy()
    except RuntimeError:
        with pytest.raises(ValueError):
            f(x, w, b, s, p, d, g)
        return
    res = f(x, w, b, s, p, d, g)
    tol = dict(rtol=1e-4, atol=1e-4) if dt == np.float32 else dict(rtol=1e-10, atol=1e-10)
    assert res.dtype == dt
    np.testing.assert_allclose(res, ref, **tol)


@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv3d_padding_modes_match_torch(mode):
    import torch

    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 2, 5, 6, 7))
    layer = torch.nn.Conv3d(2, 3, 3, padding=(1, 2, 1), padding_mode=mode).double()
    ref = layer(torch.tensor(x)).detach().numpy()
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    np.testing.assert_allclose(fastconv.conv3d(x, w, b, 1, (1, 2, 1), 1, 1, mode), ref, rtol=1e-10, atol=1e-12)
    layer1 = torch.nn.Conv1d(2, 3, 3, padding=2, padding_mode=mode).double()
    x1 = rng.standard_normal((2, 2, 9))
    ref1 = layer1(torch.tensor(x1)).detach().numpy()
    w1, b1 = layer1.weight.detach().numpy(), layer1.bias.detach().numpy()
    np.testing.assert_allclose(fastconv.conv1d(x1, w1, b1, 1, 2, 1, 1, mode), ref1, rtol=1e-10, atol=1e-12)


@requires_torch
@pytest.mark.parametrize("trial", range(60))
def test_pool1d_pool3d_match_torch(trial):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(200 + trial)
    dt = (np.float32, np.float64)[trial % 2]
    three = trial % 2 == 0
    n = 3 if three else 1
    k = tuple(int(v) for v in rng.integers(1, 4, n))
    s = tuple(int(v) for v in rng.integers(1, 3, n))
    p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
    dl = tuple(int(v) for v in rng.integers(1, 3, n))
    cm = bool(trial % 3 == 0)
    shape = (2, 3, 5, 6, 7) if three else (2, 3, int(rng.integers(5, 15)))
    x = rng.standard_normal(shape).astype(dt)
    if trial % 5 == 0:
        x = np.round(x)  # ties
    if trial % 7 == 0:
        x.flat[rng.integers(0, x.size, 4)] = np.nan
    fmax, tmax = (fastconv.max_pool3d, F.max_pool3d) if three else (fastconv.max_pool1d, F.max_pool1d)
    try:
        rv, ri = tmax(torch.tensor(x), k, s, p, dl, cm, True)
    except RuntimeError:
        with pytest.raises(ValueError):
            fmax(x, k, s, p, dl, cm, True)
        return
    v, i = fmax(x, k, s, p, dl, cm, True)
    np.testing.assert_array_equal(v, rv.numpy())
    np.testing.assert_array_equal(i, ri.numpy())
    v0 = fmax(x[0], k, s, p, dl, cm, False)
    np.testing.assert_array_equal(v0, v[0])
    fun = fastconv.max_unpool3d if three else fastconv.max_unpool1d
    tun = F.max_unpool3d if three else F.max_unpool1d
    try:
        unpooled = tun(rv, ri, k, s, p).numpy()
    except RuntimeError:  # indices past the default output size (dilation, ceil_mode)
        with pytest.raises(ValueError):
            fun(v, i, k, s, p)
    else:
        np.testing.assert_array_equal(fun(v, i, k, s, p), unpooled)

    cip = bool(trial % 4 < 2)
    favg, tavg = (fastconv.avg_pool3d, F.avg_pool3d) if three else (fastconv.avg_pool1d, F.avg_pool1d)
    extra = ((None, 3, -2)[trial % 3],) if three else ()
    ref = tavg(torch.tensor(x), k, s, p, cm, cip, *extra).numpy()
    res = favg(x, k, s, p, cm, cip, *extra)
    tol = dict(rtol=1e-5, atol=1e-6) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res, ref, **tol)


def test_bad_input_names_the_function():
    with pytest.raises(ValueError, match="conv1d: groups=3 must divide"):
        fastconv.conv1d(np.ones((1, 4, 9)), np.ones((3, 1, 3)), groups=3)
    with pytest.raises(ValueError, match="conv1d: input must be"):
        fastconv.conv1d(np.ones((1, 1, 4, 9)), np.ones((3, 1, 3)))
    with pytest.raises(ValueError, match="conv3d: weight must be 5-D"):
        fastconv.conv3d(np.ones((1, 1, 4, 4, 4)), np.ones((3, 1, 3, 3)))
    with pytest.raises(ValueError, match="conv3d: kernel depth"):
        fastconv.conv3d(np.ones((1, 1, 2, 4, 4)), np.ones((3, 1, 3, 3, 3)))
    with pytest.raises(ValueError, match="max_pool3d: padding"):
        fastconv.max_pool3d(np.ones((1, 1, 4, 4, 4)), 2, padding=(2, 0, 0))
    with pytest.raises(ValueError, match="max_unpool3d: indices"):
        fastconv.max_unpool3d(np.ones((1, 1, 2, 2, 2)), np.full((1, 1, 2, 2, 2), 64), 2)
    with pytest.raises(ValueError, match="stride"):
        fastconv.conv3d(np.ones((1, 1, 4, 4, 4)), np.ones((1, 1, 2, 2, 2)), stride=(1, 2))


@requires_torch
def test_layers_match_torch():
    import torch

    from fastconv import nn

    rng = np.random.default_rng(5)
    x1 = rng.standard_normal((2, 4, 20))
    x3 = rng.standard_normal((2, 4, 6, 7, 8))
    pairs = [
        (
            nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2, dtype=np.float64),
            torch.nn.Conv1d(4, 6, 3, 2, 1, groups=2),
            x1,
        ),
        (
            nn.Conv3d(4, 2, (1, 3, 2), padding="same", dtype=np.float64),
            torch.nn.Conv3d(4, 2, (1, 3, 2), padding="same"),
            x3,
        ),
        (nn.MaxPool1d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool1d(3, 2, 1, ceil_mode=True), x1),
        (nn.MaxPool3d(2, return_indices=True), torch.nn.MaxPool3d(2, return_indices=True), x3),
        (nn.AvgPool1d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool1d(3, 2, 1, count_include_pad=False), x1),
        (nn.AvgPool3d(3, 2, 1, True, True, 5), torch.nn.AvgPool3d(3, 2, 1, True, True, 5), x3),
    ]
    for ours, theirs, x in pairs:
        theirs = theirs.double()
        if ours.parameters():
            theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.parameters().items()})
        ref = theirs(torch.tensor(x))
        res = ours(x)
        if isinstance(ref, tuple):
            np.testing.assert_array_equal(res[1], ref[1].numpy())
            ref, res = ref[0], res[0]
        np.testing.assert_allclose(res, ref.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=repr(ours))


# ------------------------------------------------------------------ N-D correlate / convolve


@pytest.mark.parametrize("trial", range(60))
@pytest.mark.parametrize("fname", ["correlate", "convolve"])
def test_correlate_convolve_match_scipy(trial, fname):
    """Dimensions 1-4, every mode and method, against scipy.signal's direct method."""
    rng = np.random.default_rng(trial)
    nd = 1 + trial % 4
    a = rng.standard_normal(tuple(int(v) for v in rng.integers(1, 9, nd)))
    b = rng.standard_normal(tuple(int(v) for v in rng.integers(1, 6, nd)))
    if trial % 5 == 0:
        a, b = a.astype(np.float32), b.astype(np.float32)
    ours, theirs = getattr(fastconv, fname), getattr(scipy.signal, fname)
    for mode in ("full", "same", "valid"):
        try:
            ref = theirs(a, b, mode, method="direct")
        except ValueError:
            with pytest.raises(ValueError, match="valid mode"):
                ours(a, b, mode)
            continue
        for method in ("auto", "direct", "fft"):
            res = ours(a, b, mode, method)
            assert res.shape == ref.shape and res.dtype == ref.dtype
            tol = 1e-4 if a.dtype == np.float32 else 1e-10
            np.testing.assert_allclose(res, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("trial", range(12))
def test_volumes_through_padded_planes(trial):
    """3-D correlation, and conv3d with one input and one output channel, whose output rows
    the row tiles cover exactly (widths of whole row tiles): the volume is zero-padded once
    and its planes read in place (rows on 64-byte boundaries: the lane-shift tiles for 5x5
    and 7x7 kernels).  Every mode, kernel depths 1-4, non-square kernels, depth strides,
    batch axes, NaN/inf, float32 and float64, 1 and 2 threads, against
    scipy.signal.correlate; the input stays as it was."""
    from fastconv import _direct, _plan, nd

    rng = np.random.default_rng(trial)
    dt = (np.float32, np.float64)[trial % 2]
    vb = _plan.vector_bytes()
    cols = _direct.tile_sizes(vb)["nv_rows"] * vb // np.dtype(dt).itemsize
    k = [(3, 5, 5), (2, 7, 7), (4, 5, 6), (1, 5, 5), (3, 6, 7), (2, 7, 5)][trial % 6]
    mode = ("same", "full", "valid")[trial % 3]
    pads = {"same": [(v // 2, (v - 1) // 2) for v in k], "full": [(v - 1, v - 1) for v in k], "valid": [(0, 0)] * 3}
    Wo = cols * int(rng.integers(1, 3))
    W = Wo - sum(pads[mode][2]) + k[2] - 1
    a = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(k[0], 9)), int(rng.integers(k[1], 14)), W))
    a = a.astype(dt)
    a[0, 0, 0, 0] = np.nan
    a[-1, -1, -1, int(rng.integers(0, W))] = rng.choice([np.inf, -np.inf])
    b = rng.standard_normal((1,) + k).astype(dt)
    a0 = a.copy()
    ref = np.stack(
        [scipy.signal.correlate(v.astype(np.float64), b[0].astype(np.float64), mode, method="direct") for v in a]
    )
    assert ref.shape[-1] == Wo
    D, H = a.shape[1:3]
    planes = np.lib.stride_tricks.as_strided(a, shape=(1, k[0], H, W), strides=(a.strides[1],) + a.strides[1:])
    assert nd.rows_in_place(planes, b, 1, tuple(pads[mode][1:]), 1, 1, Wo) == (k[0] > 1 and k[1] >= 5), k
    for nt in (1, 2):
        got = fastconv.correlate(a, b, mode, "direct", axes=(1, 2, 3), num_threads=nt)
        np.testing.assert_array_equal(a, a0)
        assert got.dtype == dt and got.shape == ref.shape
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        fin = np.isfinite(ref)
        np.testing.assert_array_equal(got[~fin], ref[~fin])
        tol = 1e-4 if dt == np.float32 else 1e-10
        np.testing.assert_allclose(got[fin], ref[fin], rtol=tol, atol=tol)
        s0 = 1 + trial % 2
        got3 = fastconv.conv3d(a[:, None], b[None], None, (s0, 1, 1), pads[mode], num_threads=nt)[:, 0]
        np.testing.assert_array_equal(a, a0)
        r3 = ref[:, ::s0]
        assert got3.shape == r3.shape
        fin = np.isfinite(r3)
        np.testing.assert_array_equal(np.isnan(got3), np.isnan(r3))
        np.testing.assert_array_equal(got3[~fin], r3[~fin])
        np.testing.assert_allclose(got3[fin], r3[fin], rtol=tol, atol=tol)


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
def test_axes_is_a_loop_over_batch_axes(fname):
    rng = np.random.default_rng(4)
    ours, theirs = getattr(fastconv, fname), getattr(scipy.signal, fname)
    img = rng.standard_normal((12, 10, 3))  # (H, W, C)
    k = rng.standard_normal((4, 3, 1))  # one kernel for every channel
    res = ours(img, k, "same", axes=(0, 1))
    for c in range(3):
        np.testing.assert_allclose(res[:, :, c], theirs(img[:, :, c], k[:, :, 0], "same"), rtol=1e-10, atol=1e-12)
    kc = rng.standard_normal((4, 3, 3))  # one kernel per channel
    res = ours(img, kc, "full", axes=[1, -3])
    for c in range(3):
        np.testing.assert_allclose(res[:, :, c], theirs(img[:, :, c], kc[:, :, c]), rtol=1e-10, atol=1e-12)
    vol = rng.standard_normal((2, 5, 6, 7))  # batch of volumes, 3-D kernel
    kv = rng.standard_normal((1, 3, 2, 4))
    res = ours(vol, kv, "valid", axes=(1, 2, 3))
    for i in range(2):
        np.testing.assert_allclose(res[i], theirs(vol[i], kv[0], "valid"), rtol=1e-10, atol=1e-12)
    sig = rng.standard_normal((3, 50))
    np.testing.assert_allclose(
        ours(sig, np.ones((1, 5)) / 5, "same", axes=-1), [theirs(s, np.ones(5) / 5, "same") for s in sig], rtol=1e-12
    )


def test_correlate_bad_input():
    with pytest.raises(ValueError, match="same number of dimensions"):
        fastconv.correlate(np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="out of range"):
        fastconv.correlate(np.ones((3, 3)), np.ones((2, 2)), axes=2)
    with pytest.raises(ValueError, match="batch axis"):
        fastconv.correlate(np.ones((3, 4)), np.ones((2, 2)), axes=0)
    with pytest.raises(ValueError, match="mode"):
        fastconv.convolve(np.ones(3), np.ones(2), "middle")
    with pytest.raises(ValueError, match="method"):
        fastconv.convolve(np.ones(3), np.ones(2), method="separable")
    with pytest.raises(TypeError, match="complex"):
        fastconv.correlate(np.ones(3, complex), np.ones(2))
    assert fastconv.correlate(np.ones(0), np.ones(2)).size == 0


EMPTY_BATCH_CALLS = {
    "conv1d": lambda f, x3, x5: f.conv1d(x3, np.ones((4, 3, 3), np.float32), padding=1),
    "conv1d-groups-reflect": lambda f, x3, x5: f.conv1d(
        x3, np.ones((6, 1, 3), np.float32), groups=3, padding=1, padding_mode="reflect"
    ),
    "conv3d": lambda f, x3, x5: f.conv3d(x5, np.ones((4, 3, 3, 3, 3), np.float32), padding=1),
    "conv3d-depth-channels-reflect": lambda f, x3, x5: f.conv3d(
        x5, np.ones((4, 3, 3, 2, 3), np.float32), padding=(1, 0, 2), stride=(2, 1, 1), padding_mode="reflect"
    ),
    "conv3d-groups": lambda f, x3, x5: f.conv3d(x5, np.ones((6, 1, 3, 3, 3), np.float32), groups=3),
    "max_pool1d": lambda f, x3, x5: f.max_pool1d(x3, 2, return_indices=True)[1],
    "avg_pool1d": lambda f, x3, x5: f.avg_pool1d(x3, 2, ceil_mode=True),
    "max_pool3d": lambda f, x3, x5: f.max_pool3d(x5, 2, return_indices=True)[0],
    "avg_pool3d": lambda f, x3, x5: f.avg_pool3d(x5, 2, padding=1, ceil_mode=True),
    "max_unpool1d": lambda f, x3, x5: f.max_unpool1d(*f.max_pool1d(x3, 2, return_indices=True), 2),
    "max_unpool3d": lambda f, x3, x5: f.max_unpool3d(*f.max_pool3d(x5, 2, return_indices=True), 2),
}


@pytest.mark.parametrize("name", sorted(EMPTY_BATCH_CALLS))
def test_empty_batch(name):
    """A batch of 0 gives an empty result of the shape a batch of 1 has, with N = 0 (as in
    PyTorch), instead of failing inside the depth loops."""
    call = EMPTY_BATCH_CALLS[name]
    one = call(fastconv, np.ones((1, 3, 9), np.float32), np.ones((1, 3, 9, 8, 7), np.float32))
    empty = call(fastconv, np.ones((0, 3, 9), np.float32), np.ones((0, 3, 9, 8, 7), np.float32))
    assert empty.shape == (0,) + one.shape[1:] and empty.dtype == one.dtype
