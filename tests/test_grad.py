"""Gradients (fastconv.grad) and conv_transpose2d: against torch.autograd over random
configuration grids, and without PyTorch against float64 finite differences and the
adjoint identity <conv2d(x, w), g> == <x, conv2d_input(x.shape, w, g)>."""

from __future__ import annotations

import numpy as np
import pytest

import fastconv
from fastconv import _args, _tuning, grad

from conftest import requires_torch
from helpers import MODES

TORCH_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _conv_config(rng, trial):
    """A random conv2d configuration that conv2d accepts: (x, w, kwargs)."""
    while True:
        dt = (np.float32, np.float64)[trial % 2]
        g = int(rng.choice([1, 2, 3]))
        cg, og = (int(v) for v in rng.integers(1, 4, 2))
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        H, W = (int(v) for v in rng.integers(5, 13, 2))
        N = int(rng.integers(1, 3))
        form = trial % 4
        if form == 0:
            pad = "same"
        elif form == 1:
            pad = (
                (int(rng.integers(0, 4)), int(rng.integers(0, 4))),
                (int(rng.integers(0, 4)), int(rng.integers(0, 4))),
            )
        elif form == 2:
            pad = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        else:
            pad = "valid"
        kw_ = dict(stride=s, padding=pad, dilation=d, groups=g, padding_mode=MODES[trial % len(MODES)])
        x = rng.standard_normal((N, g * cg, H, W)).astype(dt)
        w = rng.standard_normal((g * og, cg, kh, kw)).astype(dt)
        try:
            fastconv.conv2d(x, w, **kw_)
        except ValueError:
            continue
        return x, w, kw_


@requires_torch
@pytest.mark.parametrize("trial", range(120))
def test_conv2d_gradients_match_autograd(trial):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(1000 + trial)
    x, w, kw = _conv_config(rng, trial)
    if kw["padding_mode"] == "symmetric":
        kw["padding_mode"] = "zeros"
    y = fastconv.conv2d(x, w, **kw)
    go = rng.standard_normal(y.shape).astype(x.dtype)
    pads = _args.normalize_padding(kw["padding"], w.shape[2:], kw["stride"], kw["dilation"], x.shape[2:], "t")
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.zeros(w.shape[0], dtype=xt.dtype, requires_grad=True)
    mode = TORCH_MODES[kw["padding_mode"]]
    # torch's reflect/circular need the padding below the size; numpy.pad's meaning beyond
    # that is covered by the adjoint tests
    if mode != "constant" and (max(pads[:2]) >= x.shape[2] or max(pads[2:]) >= x.shape[3]):
        mode = "constant"
        kw["padding_mode"] = "zeros"
        y = fastconv.conv2d(x, w, **kw)
    xp = F.pad(xt, (pads[2], pads[3], pads[0], pads[1]), mode=mode) if any(pads) else xt
    F.conv2d(xp, wt, bt, kw["stride"], 0, kw["dilation"], kw["groups"]).backward(torch.tensor(go))
    tol = dict(rtol=2e-4, atol=2e-4) if x.dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    args = (kw["stride"], kw["padding"], kw["dilation"], kw["groups"], kw["padding_mode"])
    gi = grad.conv2d_input(x.shape, w, go, *args)
    gw = grad.conv2d_weight(x, w.shape, go, *args)
    gb = grad.conv2d_bias(go)
    assert gi.shape == x.shape and gi.dtype == x.dtype
    assert gw.shape == w.shape and gw.dtype == x.dtype
    np.testing.assert_allclose(gi, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(gw, wt.grad.numpy(), **tol)
    np.testing.assert_allclose(gb, bt.grad.numpy(), **tol)
    # unbatched input: the same numbers
    gi0 = grad.conv2d_input(x.shape[1:], w, go[0], *args)
    np.testing.assert_allclose(gi0, gi[0] if x.shape[0] == 1 else grad.conv2d_input(x[:1].shape, w, go[:1], *args)[0])


@pytest.mark.parametrize("trial", range(80))
def test_conv2d_input_is_the_adjoint(trial):
    """<conv2d(x, w), g> == <x, conv2d_input(x.shape, w, g)> and the same for the weight, for
    every padding mode at any padding size (numpy.pad semantics), in float64."""
    rng = np.random.default_rng(trial)
    x, w, kw = _conv_config(rng, 1)  # float64
    if trial % 3 == 0:  # padding larger than the plane, every mode
        kw["padding"] = ((x.shape[2] + 1, 2), (1, x.shape[3] + 2))
        kw["padding_mode"] = MODES[trial % len(MODES)]
    y = fastconv.conv2d(x, w, **kw)
    go = rng.standard_normal(y.shape)
    args = (kw["stride"], kw["padding"], kw["dilation"], kw["groups"], kw["padding_mode"])
    lhs = float(np.vdot(y, go))
    np.testing.assert_allclose(np.vdot(x, grad.conv2d_input(x.shape, w, go, *args)), lhs, rtol=1e-10)
    np.testing.assert_allclose(np.vdot(w, grad.conv2d_weight(x, w.shape, go, *args)), lhs, rtol=1e-10)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_strided_input_grad_phases_written_in_place(dt, monkeypatch):
    """Strided layers' input-gradient phases that the channel-lane tiles run are written
    straight into their strided view of the result (any output strides in _direct.run):
    the same numbers as one conv2d per phase added in, at partial channel blocks, row and
    column strides 2-3, dilation, groups, padding and NaN in grad_output."""
    rng = np.random.default_rng(3)
    configs = [
        ((2, 97, 17, 19), (40, 97, 3, 3), dict(stride=2, padding=1)),
        ((1, 96, 20, 23), (70, 48, 5, 4), dict(stride=(3, 2), padding=(2, 1), dilation=(1, 2), groups=2)),
        ((2, 48, 15, 30), (20, 48, 2, 2), dict(stride=2)),
        ((1, 64, 14, 14), (64, 64, 1, 1), dict(stride=2)),
    ]
    used = []
    real = grad._phase_in_place
    # the 1x1 phases of the 2x2 kernel on the channel-lane tiles (POINTWISE, which takes
    # planes of 100 pixels on with 32-byte vectors, writes no strided view)
    monkeypatch.setattr(_tuning, "POINTWISE_MIN_PIXELS_32", _tuning.POINTWISE_MIN_PIXELS)

    def spy(*args):
        used.append(real(*args))
        return used[-1]

    for xs, ws, kw in configs:
        w = rng.standard_normal(ws).astype(dt)
        go = rng.standard_normal(fastconv.conv2d(np.zeros(xs, dt), w, **kw).shape).astype(dt)
        go[0, 1, 2, 3] = np.nan
        monkeypatch.setattr(grad, "_phase_in_place", spy)
        got = grad.conv2d_input(xs, w, go, **kw)
        monkeypatch.setattr(grad, "_phase_in_place", lambda *args: False)
        np.testing.assert_array_equal(got, grad.conv2d_input(xs, w, go, **kw))
    assert any(used) and sum(used) >= 8, used


def _finite_difference(f, a, eps=1e-6, count=6, rng=None):
    """Central differences of the scalar f at `count` random entries of a (float64)."""
    rng = rng or np.random.default_rng(0)
    out = []
    for flat in rng.choice(a.size, size=min(count, a.size), replace=False):
        idx = np.unravel_index(flat, a.shape)
        old = a[idx]
        a[idx] = old + eps
        fp = f()
        a[idx] = old - eps
        fm = f()
        a[idx] = old
        out.append((idx, (fp - fm) / (2 * eps)))
    return out


@pytest.mark.parametrize("trial", range(12))
def test_conv2d_gradients_match_finite_differences(trial):
    rng = np.random.default_rng(50 + trial)
    x, w, kw = _conv_config(rng, 1)
    go = rng.standard_normal(fastconv.conv2d(x, w, **kw).shape)
    args = (kw["stride"], kw["padding"], kw["dilation"], kw["groups"], kw["padding_mode"])

    def loss():
        return float(np.vdot(fastconv.conv2d(x, w, **kw), go))

    gi = grad.conv2d_input(x.shape, w, go, *args)
    gw = grad.conv2d_weight(x, w.shape, go, *args)
    for idx, fd in _finite_difference(loss, x, rng=rng):
        assert gi[idx] == pytest.approx(fd, rel=1e-6, abs=1e-7)
    for idx, fd in _finite_difference(loss, w, rng=rng):
        assert gw[idx] == pytest.approx(fd, rel=1e-6, abs=1e-7)


@requires_torch
@pytest.mark.parametrize("stride", [1, 2])
def test_non_finite_weights_sum_only_existing_products(stride):
    """A weight of inf or NaN: zero padding of grad_output must not add 0 * inf."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 7, 7))
    w = rng.standard_normal((3, 2, 3, 3))
    w[0, 1, 0, 0] = np.inf
    w[1, 0, 2, 2] = np.nan
    go = rng.standard_normal(fastconv.conv2d(x, w, stride=stride, padding=1).shape)
    xt = torch.tensor(x, requires_grad=True)
    F.conv2d(xt, torch.tensor(w), stride=stride, padding=1).backward(torch.tensor(go))
    np.testing.assert_allclose(grad.conv2d_input(x.shape, w, go, stride, 1), xt.grad.numpy(), rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("trial", range(80))
def test_conv_transpose2d_matches_torch(trial):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(2000 + trial)
    dt = (np.float32, np.float64)[trial % 2]
    g = int(rng.choice([1, 2]))
    cin, cog = g * int(rng.integers(1, 4)), int(rng.integers(1, 4))
    k = tuple(int(v) for v in rng.integers(1, 5, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2))
    d = tuple(int(v) for v in rng.integers(1, 3, 2))
    p = tuple(int(v) for v in rng.integers(0, 3, 2))
    op = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in range(2))
    x = rng.standard_normal((int(rng.integers(1, 3)), cin, int(rng.integers(2, 9)), int(rng.integers(2, 9)))).astype(dt)
    w = rng.standard_normal((cin, cog, *k)).astype(dt)
    b = rng.standard_normal(cog * g).astype(dt) if trial % 3 else None
    try:
        ref = F.conv_transpose2d(
            torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), s, p, op, g, d
        ).numpy()
    except RuntimeError:
        ref = None
    if ref is None or 0 in ref.shape[2:]:  # PyTorch refuses an empty plane in most paths
        with pytest.raises(ValueError):
            fastconv.conv_transpose2d(x, w, b, s, p, op, g, d)
        return
    res = fastconv.conv_transpose2d(x, w, b, s, p, op, g, d)
    tol = dict(rtol=2e-4, atol=2e-4) if dt == np.float32 else dict(rtol=1e-10, atol=1e-10)
    assert res.shape == ref.shape and res.dtype == dt
    np.testing.assert_allclose(res, ref, **tol)
    un = fastconv.conv_transpose2d(x[0], w, b, s, p, op, g, d)
    np.testing.assert_allclose(un, res[0], **tol)
    out = np.empty_like(res)
    assert fastconv.conv_transpose2d(x, w, b, s, p, op, g, d, out=out) is out
    np.testing.assert_array_equal(out, res)


def _transpose_ref(x, w, s, p, op, g, d):
    """conv_transpose2d as a float64 scatter: every input pixel adds weight * value at
    stride s into the full result, which is then cropped by p (output_padding rows zero)."""
    N, C, H, W = x.shape
    _, og, kH, kW = w.shape
    full = np.zeros(
        (N, og * g, (H - 1) * s[0] + d[0] * (kH - 1) + 1 + op[0], (W - 1) * s[1] + d[1] * (kW - 1) + 1 + op[1])
    )
    cg = C // g
    for gi in range(g):
        xs = x[:, gi * cg : (gi + 1) * cg].astype(np.float64)
        for i in range(kH):
            for j in range(kW):
                contrib = np.einsum("nchw,co->nohw", xs, w[gi * cg : (gi + 1) * cg, :, i, j].astype(np.float64))
                full[
                    :,
                    gi * og : (gi + 1) * og,
                    i * d[0] : i * d[0] + (H - 1) * s[0] + 1 : s[0],
                    j * d[1] : j * d[1] + (W - 1) * s[1] + 1 : s[1],
                ] += contrib
    Ho, Wo = full.shape[2] - 2 * p[0], full.shape[3] - 2 * p[1]  # (full already holds op)
    return full[:, :, p[0] : p[0] + Ho, p[1] : p[1] + Wo]


@pytest.mark.parametrize("trial", range(24))
def test_conv_transpose2d_writes_every_element_of_its_window(trial):
    """Padding crops the full result without a padded temporary: each stride phase writes
    its part of the window from the phase's first row on (grad_output cut or its padding
    shortened), phases without taps or beyond grad_output's reach are zero, and every
    element of ``out`` is written (filled with NaN first)."""
    rng = np.random.default_rng(6000 + trial)
    s = tuple(int(v) for v in rng.integers(1, 4, 2))
    d = tuple(int(v) for v in rng.integers(1, 3, 2))
    k = tuple(int(v) for v in rng.integers(1, 5, 2))
    g = int(rng.choice([1, 2]))
    x = rng.standard_normal((2, 2 * g, int(rng.integers(1, 7)), int(rng.integers(1, 7))))
    w = rng.standard_normal((2 * g, int(rng.integers(1, 4)), k[0], k[1]))
    full = [(x.shape[2 + a] - 1) * s[a] + d[a] * (k[a] - 1) + 1 for a in range(2)]
    p = tuple(int(rng.integers(0, (f + 1) // 2)) for f in full)  # up to almost all of it
    op = tuple(int(rng.integers(0, max(s[a], d[a]))) for a in range(2))
    try:
        ref = _transpose_ref(x, w, s, p, op, g, d)
        shape = fastconv.conv_transpose2d(x, w, None, s, p, op, g, d).shape
    except ValueError:
        return
    out = np.full(shape, np.nan)
    got = fastconv.conv_transpose2d(x, w, None, s, p, op, g, d, out=out)
    assert got is out and not np.isnan(out).any()
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_is_conv2d_input_gradient():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 2))
    go = rng.standard_normal(fastconv.conv2d(x, w, stride=2, padding=1, groups=2).shape)
    via_grad = grad.conv2d_input(x.shape, w, go, 2, 1, 1, 2)
    full = fastconv.conv_transpose2d(go, w, stride=2, padding=1, groups=2, output_padding=(1, 1))
    np.testing.assert_allclose(full[:, :, :9, :8], via_grad, rtol=1e-12)


# ------------------------------------------------------------------------------- pooling


@requires_torch
@pytest.mark.parametrize("trial", range(80))
def test_pool_gradients_match_autograd(trial):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(3000 + trial)
    dt = (np.float32, np.float64)[trial % 2]
    k = tuple(int(v) for v in rng.integers(1, 5, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2))  # strides below the kernel overlap
    p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
    dil = tuple(int(v) for v in rng.integers(1, 3, 2))
    cm = bool(trial % 2)
    x = rng.standard_normal((2, 3, int(rng.integers(4, 11)), int(rng.integers(4, 11)))).astype(dt)
    if trial % 5 == 0:
        x = np.round(x)  # ties
    if trial % 7 == 0:
        x[0, 0, 1, 1] = np.nan
        x[1, 2, 0, :2] = np.nan
    try:
        y, idx = fastconv.max_pool2d(x, k, s, p, dil, cm, True)
    except ValueError:
        return
    go = rng.standard_normal(y.shape).astype(dt)
    xt = torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, k, s, p, dil, cm).backward(torch.tensor(go))
    gi = grad.max_pool2d_input(go, idx, x.shape)
    np.testing.assert_allclose(gi, xt.grad.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad.max_pool2d_input(go[0], idx[0], x.shape[1:]), gi[0], rtol=1e-6, atol=1e-6)

    cip = bool(rng.integers(0, 2))
    dov = (None, 3, -2)[trial % 3]
    try:
        y = fastconv.avg_pool2d(x, k, s, p, cm, cip, dov)
    except ValueError:
        return
    go = rng.standard_normal(y.shape).astype(dt)
    xt = torch.tensor(x, requires_grad=True)
    F.avg_pool2d(xt, k, s, p, cm, cip, dov).backward(torch.tensor(go))
    gi = grad.avg_pool2d_input(go, x.shape, k, s, p, cm, cip, dov)
    np.testing.assert_allclose(gi, xt.grad.numpy(), rtol=1e-6, atol=1e-6)


def _avg_scatter_ref(go, shape, k, s, p, cip, dov):
    """PyTorch's CPU avg-pool backward as NumPy: windows in row-major order, each adding
    its gradient over its divisor to the input elements it covers, in go's dtype."""
    H, W = shape[-2:]
    gx = np.zeros(shape, go.dtype)
    for oh in range(go.shape[-2]):
        h0 = oh * s[0] - p[0]
        hend = min(h0 + k[0], H + p[0])
        hs, he = max(h0, 0), min(hend, H)
        for ow in range(go.shape[-1]):
            w0 = ow * s[1] - p[1]
            wend = min(w0 + k[1], W + p[1])
            ws, we = max(w0, 0), min(wend, W)
            div = dov if dov else ((hend - h0) * (wend - w0) if cip else (he - hs) * (we - ws))
            with np.errstate(all="ignore"):
                gx[..., hs:he, ws:we] += (go[..., oh, ow] / go.dtype.type(div))[..., None, None]
    return gx


@pytest.mark.parametrize("trial", range(60))
def test_avg_pool_gradient_is_the_scatter_bit_for_bit(trial):
    """The kernel gathers each input element's window deltas (rows vectorised) in the order
    PyTorch's kernel scatters them: the same bits, NaN and +-inf included, for overlapping
    and disjoint windows, uncovered elements (stride above the kernel), wide rows, ceil
    mode, padding, every divisor rule and unbatched input."""
    rng = np.random.default_rng(4000 + trial)
    dt = (np.float32, np.float64)[trial % 2]
    k = tuple(int(v) for v in rng.integers(1, 6, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2)) if trial % 4 else (1, 1)
    p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
    cm, cip, dov = bool(trial % 3), bool(trial % 5 < 2), (None, 3, -2, None, None)[trial % 5]
    shape = (2, 3, int(rng.integers(1, 30)), int(rng.integers(1, 70)))
    if trial % 6 == 5:
        shape = shape[1:]
    try:
        y = fastconv.avg_pool2d(np.zeros(shape, dt), k, s, p, cm, cip, dov)
    except ValueError:
        return
    go = rng.standard_normal(y.shape).astype(dt)
    if trial % 4 == 1:
        go.flat[rng.integers(0, go.size, 3)] = [np.nan, np.inf, -np.inf]
    gi = grad.avg_pool2d_input(go, shape, k, s, p, cm, cip, dov)
    np.testing.assert_array_equal(gi, _avg_scatter_ref(go, shape, k, s, p, cip, dov))


@pytest.mark.parametrize("trial", range(10))
def test_pool_gradients_are_adjoints(trial):
    """Without PyTorch: the avg-pool gradient is the adjoint of the (linear) avg pool, and the
    max-pool gradient is the adjoint of the gather x -> x.flat[indices]."""
    rng = np.random.default_rng(trial)
    x = rng.standard_normal((2, 2, 9, 7))
    k, s, p, cm = (3, 2), (2, 1), (1, 1), bool(trial % 2)
    y = fastconv.avg_pool2d(x, k, s, p, cm, bool(trial % 3), None)
    go = rng.standard_normal(y.shape)
    gi = grad.avg_pool2d_input(go, x.shape, k, s, p, cm, bool(trial % 3))
    np.testing.assert_allclose(np.vdot(y, go), np.vdot(x, gi), rtol=1e-12)
    y, idx = fastconv.max_pool2d(x, k, s, p, 1, cm, True)
    gathered = np.take_along_axis(x.reshape(2, 2, -1), idx.reshape(2, 2, -1), axis=-1)
    np.testing.assert_array_equal(gathered.reshape(y.shape), y)
    go = rng.standard_normal(y.shape)
    np.testing.assert_allclose(np.vdot(y, go), np.vdot(x, grad.max_pool2d_input(go, idx, x.shape)), rtol=1e-12)


# ----------------------------------------------------------------------------- bad input


def test_bad_gradient_arguments_are_named():
    w = np.ones((4, 2, 3, 3))
    with pytest.raises(ValueError, match="grad_output has shape"):
        grad.conv2d_input((1, 2, 8, 8), w, np.ones((1, 4, 5, 6)))
    with pytest.raises(ValueError, match="grad_output has shape"):
        grad.conv2d_weight(np.ones((1, 2, 8, 8)), (4, 2, 3, 3), np.ones((1, 4, 7, 6)))
    with pytest.raises(ValueError, match="groups=3 must divide"):
        grad.conv2d_input((1, 2, 8, 8), w, np.ones((1, 4, 6, 6)), groups=3)
    with pytest.raises(TypeError, match="input_shape"):
        grad.conv2d_input("1,2,8,8", w, np.ones((1, 4, 6, 6)))
    with pytest.raises(ValueError, match="indices shape"):
        grad.max_pool2d_input(np.ones((1, 2, 3, 3)), np.zeros((1, 2, 3, 2), np.int64), (1, 2, 6, 6))
    with pytest.raises(ValueError, match="outside the input plane"):
        grad.max_pool2d_input(np.ones((1, 2, 3, 3)), np.full((1, 2, 3, 3), 36), (1, 2, 6, 6))
    with pytest.raises(ValueError, match="outside the input plane"):
        grad.max_pool2d_input(np.ones((1, 2, 3, 3)), np.full((1, 2, 3, 3), -1), (1, 2, 6, 6))
    with pytest.raises(TypeError, match="integer"):
        grad.max_pool2d_input(np.ones((1, 2, 3, 3)), np.ones((1, 2, 3, 3)), (1, 2, 6, 6))
    with pytest.raises(ValueError, match="batch and channels"):
        grad.max_pool2d_input(np.ones((1, 2, 3, 3)), np.zeros((1, 2, 3, 3), np.int64), (1, 3, 6, 6))
    with pytest.raises(ValueError, match="grad_output has shape"):
        grad.avg_pool2d_input(np.ones((1, 2, 4, 3)), (1, 2, 6, 6), 2)
    with pytest.raises(ValueError, match="output_padding"):
        fastconv.conv_transpose2d(np.ones((1, 2, 4, 4)), np.ones((2, 1, 3, 3)), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="weight.shape\\[0\\]"):
        fastconv.conv_transpose2d(np.ones((1, 2, 4, 4)), np.ones((3, 1, 3, 3)))
    with pytest.raises(TypeError, match="complex"):
        grad.conv2d_input((1, 2, 8, 8), w.astype(complex), np.ones((1, 4, 6, 6)))


def test_inputs_are_not_modified_and_any_strides_work():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 4, 10, 12)).astype(np.float32)[:, :, ::-1, ::2]
    w = np.asfortranarray(rng.standard_normal((6, 4, 3, 3)).astype(np.float32))
    go = rng.standard_normal(fastconv.conv2d(x, w, padding=1).shape).astype(np.float32).transpose(0, 1, 3, 2).copy()
    go = go.transpose(0, 1, 3, 2)
    copies = [a.copy() for a in (x, w, go)]
    gi = grad.conv2d_input(x.shape, w, go, padding=1)
    gw = grad.conv2d_weight(x, w.shape, go, padding=1)
    for a, c in zip((x, w, go), copies):
        np.testing.assert_array_equal(a, c)
    xc, wc, gc = (np.ascontiguousarray(a, dtype=np.float64) for a in (x, w, go))
    np.testing.assert_allclose(gi, grad.conv2d_input(xc.shape, wc, gc, padding=1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gw, grad.conv2d_weight(xc, wc.shape, gc, padding=1), rtol=1e-4, atol=1e-4)


def test_weight_gradient_in_blocks(monkeypatch):
    """Blocks of images and of output rows (WEIGHT_BLOCK_BYTES) give the one-block result
    (the BLAS engine's blocks), and the other engines the same numbers."""
    from fastconv import _plan

    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4, 20, 17))
    go = rng.standard_normal(fastconv.conv2d(x, np.ones((6, 2, 3, 3)), stride=2, padding="same", groups=2).shape)
    planned = grad.conv2d_weight(x, (6, 2, 3, 3), go, 2, "same", 1, 2, "reflect")
    monkeypatch.setattr(_plan, "weight_grad", lambda *a, **k: "matmul")
    whole = grad.conv2d_weight(x, (6, 2, 3, 3), go, 2, "same", 1, 2, "reflect")
    np.testing.assert_allclose(planned, whole, rtol=1e-12)
    for block in (1, 2000, 20000):
        monkeypatch.setattr(grad, "WEIGHT_BLOCK_BYTES", block)
        np.testing.assert_allclose(
            grad.conv2d_weight(x, (6, 2, 3, 3), go, 2, "same", 1, 2, "reflect"), whole, rtol=1e-12
        )


def test_empty_batch_and_zero_size():
    w = np.ones((4, 2, 3, 3), np.float32)
    gi = grad.conv2d_input((0, 2, 8, 8), w, np.ones((0, 4, 6, 6), np.float32))
    assert gi.shape == (0, 2, 8, 8)
    gw = grad.conv2d_weight(np.ones((0, 2, 8, 8), np.float32), w.shape, np.ones((0, 4, 6, 6), np.float32))
    assert gw.shape == w.shape and not gw.any()
    assert fastconv.conv_transpose2d(np.ones((0, 2, 4, 4)), np.ones((2, 3, 3, 3))).shape == (0, 3, 6, 6)


# --------------------------------------------------------------------------- 1-D and 3-D


def _random_conv_nd(rng, nd):
    g = int(rng.choice([1, 2]))
    cin, cout = 2 * g, 2 * g
    size = tuple(int(v) for v in rng.integers(4, 9 if nd == 3 else 20, nd))
    k = tuple(int(v) for v in rng.integers(1, 4, nd))
    s = tuple(int(v) for v in rng.integers(1, 3, nd))
    d = tuple(int(v) for v in rng.integers(1, 3, nd))
    p = tuple(int(v) for v in rng.integers(0, 2, nd))
    mode = str(rng.choice(["zeros", "reflect", "replicate", "circular", "symmetric"]))
    x = rng.standard_normal((2, cin) + size)
    w = rng.standard_normal((cout, cin // g) + k)
    return x, w, s, p, d, g, mode


@pytest.mark.parametrize("nd", [1, 3])
def test_nd_conv_gradients_adjoint_identities(nd):
    """<conv(x, w), g> == <x, conv_input(x.shape, w, g)> == <w, conv_weight(x, w.shape, g)>:
    convolution is linear in x and in w, for every padding mode (float64, no peer needed)."""
    rng = np.random.default_rng(40 + nd)
    conv = fastconv.conv1d if nd == 1 else fastconv.conv3d
    gin = fastconv.grad.conv1d_input if nd == 1 else fastconv.grad.conv3d_input
    gwt = fastconv.grad.conv1d_weight if nd == 1 else fastconv.grad.conv3d_weight
    ran = 0
    for _ in range(40):
        x, w, s, p, d, g, mode = _random_conv_nd(rng, nd)
        try:
            y = conv(x, w, None, s, p, d, g, mode)
        except ValueError:
            continue
        ran += 1
        go = rng.standard_normal(y.shape)
        lhs = float(np.vdot(y, go))
        assert np.isclose(lhs, np.vdot(x, gin(x.shape, w, go, s, p, d, g, mode)), rtol=1e-9)
        assert np.isclose(lhs, np.vdot(w, gwt(x, w.shape, go, s, p, d, g, mode)), rtol=1e-9)
    assert ran >= 15


@requires_torch
@pytest.mark.parametrize("nd", [1, 3])
def test_nd_conv_gradients_equal_autograd(nd):
    import torch

    F = torch.nn.functional
    rng = np.random.default_rng(50 + nd)
    conv = fastconv.conv1d if nd == 1 else fastconv.conv3d
    tconv = F.conv1d if nd == 1 else F.conv3d
    gin = fastconv.grad.conv1d_input if nd == 1 else fastconv.grad.conv3d_input
    gwt = fastconv.grad.conv1d_weight if nd == 1 else fastconv.grad.conv3d_weight
    ran = 0
    for _ in range(40):
        x, w, s, p, d, g, mode = _random_conv_nd(rng, nd)
        if mode == "symmetric":
            mode = "zeros"  # F.pad has no symmetric mode
        try:
            y = conv(x, w, None, s, p, d, g, mode)
        except ValueError:
            continue
        ran += 1
        go = rng.standard_normal(y.shape)
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        if mode == "zeros":
            ty = tconv(tx, tw, None, s, p, d, g)
        else:
            flat = tuple(v for pp in reversed(p) for v in (pp, pp))
            ty = tconv(F.pad(tx, flat, mode=mode), tw, None, s, 0, d, g)
        ty.backward(torch.from_numpy(go))
        np.testing.assert_allclose(gin(x.shape, w, go, s, p, d, g, mode), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(gwt(x, w.shape, go, s, p, d, g, mode), tw.grad.numpy(), rtol=1e-10, atol=1e-10)
    assert ran >= 15


@pytest.mark.parametrize("ceil", [False, True])
def test_nd_pool_gradients(ceil):
    """Max pooling: <values, g> == <x, max_poolNd_input(g, indices)>; average pooling is
    linear: <avg_poolNd(x), g> == <x, avg_poolNd_input(g)>, every divisor rule."""
    rng = np.random.default_rng(60 + ceil)
    x1, x3 = rng.standard_normal((2, 3, 17)), rng.standard_normal((2, 3, 9, 8, 7))
    v, i = fastconv.max_pool1d(x1, 3, 2, 1, 2, ceil, return_indices=True)
    g = rng.standard_normal(v.shape)
    assert np.isclose(np.vdot(v, g), np.vdot(x1, fastconv.grad.max_pool1d_input(g, i, x1.shape)))
    v, i = fastconv.max_pool3d(x3, 3, 2, 1, 1, ceil, return_indices=True)
    g = rng.standard_normal(v.shape)
    assert np.isclose(np.vdot(v, g), np.vdot(x3, fastconv.grad.max_pool3d_input(g, i, x3.shape)))
    for cip in (True, False):
        v = fastconv.avg_pool1d(x1, 3, 2, 1, ceil, cip)
        g = rng.standard_normal(v.shape)
        assert np.isclose(np.vdot(v, g), np.vdot(x1, fastconv.grad.avg_pool1d_input(g, x1.shape, 3, 2, 1, ceil, cip)))
        for dov in (None, 5):
            v = fastconv.avg_pool3d(x3, (3, 2, 3), (2, 1, 2), (1, 1, 0), ceil, cip, dov)
            g = rng.standard_normal(v.shape)
            gx = fastconv.grad.avg_pool3d_input(g, x3.shape, (3, 2, 3), (2, 1, 2), (1, 1, 0), ceil, cip, dov)
            assert np.isclose(np.vdot(v, g), np.vdot(x3, gx))


@requires_torch
def test_nd_pool_gradients_equal_autograd():
    import torch

    F = torch.nn.functional
    rng = np.random.default_rng(70)
    x3 = rng.standard_normal((2, 3, 9, 8, 7))
    tx = torch.tensor(x3, requires_grad=True)
    v, i = fastconv.max_pool3d(x3, 3, 2, 1, ceil_mode=True, return_indices=True)
    g = rng.standard_normal(v.shape)
    F.max_pool3d(tx, 3, 2, 1, ceil_mode=True).backward(torch.from_numpy(g))
    np.testing.assert_allclose(fastconv.grad.max_pool3d_input(g, i, x3.shape), tx.grad.numpy())
    for cip, dov in ((True, None), (False, None), (False, 5)):
        tx = torch.tensor(x3, requires_grad=True)
        F.avg_pool3d(tx, 3, 2, 1, True, cip, dov).backward(torch.from_numpy(g))
        got = fastconv.grad.avg_pool3d_input(g, x3.shape, 3, 2, 1, True, cip, dov)
        np.testing.assert_allclose(got, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_nd_gradient_bad_input():
    w = np.ones((2, 2, 3))
    with pytest.raises(ValueError, match="grad_output has shape"):
        fastconv.grad.conv1d_input((1, 2, 10), w, np.ones((1, 2, 9)))
    with pytest.raises(ValueError, match="grad_output has shape"):
        fastconv.grad.conv3d_weight(np.ones((1, 2, 4, 4, 4)), (2, 2, 3, 3, 3), np.ones((1, 2, 3, 2, 2)))
    with pytest.raises(ValueError, match="grad_output has shape"):
        fastconv.grad.avg_pool3d_input(np.ones((1, 2, 3, 3, 3)), (1, 2, 4, 4, 4), 2)
    with pytest.raises(ValueError, match="indices shape"):
        fastconv.grad.max_pool3d_input(np.ones((1, 2, 2, 2, 2)), np.zeros((1, 2, 2, 2), np.int64), (1, 2, 4, 4, 4))


# --------------------------------------------------------------------------- weight-gradient engines


def _weight_grad_reference(x, go, w_shape, stride, pads, dilation, groups, mode):
    """float64 sum of go * padded x per tap, the padding made by numpy.pad (explicit values,
    so a non-finite gradient meets the zeros of the padding as autograd through F.pad
    multiplies them)."""
    Cout, Cg, kH, kW = w_shape
    t, b, l, r = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (t, b), (l, r)), mode=_args.PADDING_MODES[mode][1])
    go = go.astype(np.float64)
    Ho, Wo = go.shape[2:]
    og = Cout // groups
    gw = np.zeros(w_shape)
    with np.errstate(invalid="ignore", over="ignore"):
        for o in range(Cout):
            for c in range(Cg):
                src = xp[:, (o // og) * Cg + c]
                for p in range(kH):
                    for q in range(kW):
                        r0, c0 = p * dilation[0], q * dilation[1]
                        rows = slice(r0, r0 + stride[0] * (Ho - 1) + 1, stride[0])
                        win = src[:, rows, c0 : c0 + stride[1] * (Wo - 1) + 1 : stride[1]]
                        gw[o, c, p, q] = np.sum(go[:, o] * win)
    return gw


WEIGHT_ENGINES = ("planes", "tiles_in", "tiles_out", "matmul")


def _force_engine(monkeypatch, engine):
    from fastconv import _plan

    monkeypatch.setattr(_plan, "weight_grad", lambda *a, **k: engine)


@pytest.mark.parametrize("engine", WEIGHT_ENGINES)
@pytest.mark.parametrize("trial", range(40))
def test_weight_gradient_engines_match_float64_reference(trial, engine, monkeypatch):
    """Every weight-gradient engine the planner names: the plane-pair kernel
    (depthwise/grad.h), the register tiles (direct/wgrad.h) with either side across the
    lanes, and BLAS; one input channel per group (depthwise, channel multipliers) and
    several, channel counts around the vector and tile sizes; every padding form and mode,
    strides, dilations, rows longer than two vectors and not a multiple of one, planes
    longer than one run of products."""
    rng = np.random.default_rng(7000 + trial)
    cg = 1 if trial % 4 == 0 else int(rng.choice([2, 3, 5, 7, 17]))
    while True:
        dt = (np.float32, np.float64)[trial % 2]
        N, C, mult = int(rng.integers(1, 4)), cg * int(rng.integers(1, 3)), int(rng.choice([1, 2, 5, 7, 13]))
        kh, kw = (int(v) for v in rng.integers(1, 6, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        H, W = int(rng.integers(1, 40)), int(rng.choice([3, 17, 33, 50, 71]))
        pad = ("same", "valid", (int(rng.integers(0, 3)), int(rng.integers(0, 4))))[trial % 3]
        mode = MODES[trial % len(MODES)]
        x = rng.standard_normal((N, C, H, W)).astype(dt)
        groups = C // cg
        w_shape = (groups * mult, cg, kh, kw)
        try:
            y = fastconv.conv2d(
                x, np.ones(w_shape, dt), stride=s, padding=pad, dilation=d, groups=groups, padding_mode=mode
            )
        except ValueError:
            continue
        break
    _force_engine(monkeypatch, engine)
    go = rng.standard_normal(y.shape).astype(dt)
    pads = _args.normalize_padding(pad, (kh, kw), s, d, (H, W), "t")
    gw = grad.conv2d_weight(x, w_shape, go, s, pad, d, groups, mode)
    ref = _weight_grad_reference(x, go, w_shape, s, pads, d, groups, mode)
    assert gw.dtype == dt and gw.shape == w_shape
    tol = 1e-5 if dt == np.float32 else 1e-12
    scale = _weight_grad_reference(np.abs(x), np.abs(go), w_shape, s, pads, d, groups, mode)
    assert np.all(np.abs(gw - ref) <= tol * (scale + 1e-30))


@pytest.mark.parametrize("engine", WEIGHT_ENGINES)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("groups", [6, 2, 1])
def test_weight_gradient_non_finite(dt, groups, engine, monkeypatch):
    """NaN and +-inf in the input (inside and on the border) and in grad_output: the NaN/inf
    pattern of the explicit-padding sum, planes with and without them in one call (the
    plane kernel's 1, 3 and 6 output-gradient planes a call)."""
    _force_engine(monkeypatch, engine)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 20, 37)).astype(dt)
    go = rng.standard_normal((2, 6, 20, 37)).astype(dt)
    x[0, 1, 5, 5] = np.nan
    x[1, 2, 0, 0] = np.inf
    x[1, 3, 19, 36] = -np.inf
    go[0, 4, 0, 0] = np.inf  # meets the zero padding: NaN for the taps that read it
    go[1, 5, 10, 10] = np.nan
    w_shape = (6, 6 // groups, 3, 3)
    for mode in ("zeros", "reflect"):
        gw = grad.conv2d_weight(x, w_shape, go, 1, 1, 1, groups, mode)
        ref = _weight_grad_reference(x, go, w_shape, (1, 1), (1, 1, 1, 1), (1, 1), groups, mode)
        np.testing.assert_array_equal(np.isnan(gw), np.isnan(ref))
        np.testing.assert_array_equal(np.isposinf(gw), np.isposinf(ref))
        np.testing.assert_array_equal(np.isneginf(gw), np.isneginf(ref))
        ok = np.isfinite(ref)
        np.testing.assert_allclose(gw[ok], ref[ok], rtol=1e-4 if dt == np.float32 else 1e-12, atol=1e-3)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("dh", [1, 2, 3])
def test_plane_weight_gradient_lane_shifts(dt, dh, monkeypatch):
    """The plane kernel's 3x3 unit-stride path that makes the column taps by lane shifts
    from rows padded to whole vectors (64-byte vectors; the other widths take the general
    path): output widths around and across the vector size, planes longer than one run of
    products, row dilations, padding modes, one and several output channels per input
    channel, a NaN plane among finite ones, against the float64 sum."""
    _force_engine(monkeypatch, "planes")
    rng = np.random.default_rng(31 * dh + (dt == np.float64))
    for trial, W in enumerate((1, 5, 14, 16, 17, 31, 33, 64, 70)):
        H = int(rng.integers(2 * dh + 1, 60))
        mult = (1, 1, 2)[trial % 3]
        mode = ("zeros", "reflect", "circular")[trial % 3]
        x = rng.standard_normal((2, 3, H, W)).astype(dt)
        if trial % 2:
            x[1, 2, H // 2, W - 1] = np.nan
        w_shape = (3 * mult, 1, 3, 3)
        pad = (dh, 1) if mode == "zeros" or W > 1 else (dh, 0)
        y = fastconv.conv2d(x, np.ones(w_shape, dt), padding=pad, dilation=(dh, 1), groups=3, padding_mode=mode)
        go = rng.standard_normal(y.shape).astype(dt)
        gw = grad.conv2d_weight(x, w_shape, go, 1, pad, (dh, 1), 3, mode)
        pads = (pad[0], pad[0], pad[1], pad[1])
        ref = _weight_grad_reference(x, go, w_shape, (1, 1), pads, (dh, 1), 3, mode)
        np.testing.assert_array_equal(np.isnan(gw), np.isnan(ref), err_msg=f"W={W} H={H}")
        ok = np.isfinite(ref)
        scale = _weight_grad_reference(np.abs(x), np.abs(go), w_shape, (1, 1), pads, (dh, 1), 3, mode)
        tol = 1e-5 if dt == np.float32 else 1e-12
        assert np.all(np.abs(gw - ref)[ok] <= tol * (scale[ok] + 1e-30)), f"W={W} H={H} {mode}"


@pytest.mark.parametrize("spread", [False, True])
def test_plane_weight_gradient_of_a_big_layer(spread, monkeypatch):
    """A depthwise layer whose input and gradient pass the bytes from which the plane kernel
    prefetches the next planes non-temporally (FC_DWG_STREAM_BYTES), along the 3x3 runs
    or not (the planner's choice by CPU vendor, both forced here), with a NaN plane and a
    5x5 kernel beside the 3x3 one, against the float64 sum."""
    vendors = (fastconv._omp.cpu_vendor(),) if spread else ()
    monkeypatch.setattr(_tuning, "WEIGHT_GRAD_SPREAD_VENDORS", vendors)
    assert fastconv._plan.weight_grad_spread() == spread
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 96, 83, 80)).astype(np.float32)  # 10 MB, and as much gradient
    x[2, 5, 40, 7] = np.nan
    for k in (3, 5):
        go = rng.standard_normal((4, 96, 83, 80)).astype(np.float32)
        w_shape = (96, 1, k, k)
        gw = grad.conv2d_weight(x, w_shape, go, 1, k // 2, 1, 96)
        pads = (k // 2,) * 4
        ref = _weight_grad_reference(x, go, w_shape, (1, 1), pads, (1, 1), 96, "zeros")
        np.testing.assert_array_equal(np.isnan(gw), np.isnan(ref))
        ok = np.isfinite(ref)
        scale = _weight_grad_reference(np.abs(x), np.abs(go), w_shape, (1, 1), pads, (1, 1), 96, "zeros")
        assert np.all(np.abs(gw - ref)[ok] <= 1e-5 * scale[ok])


@pytest.mark.parametrize("og", [2, 3, 4, 5, 6, 7, 8, 13])
def test_plane_weight_gradient_output_blocks(og, monkeypatch):
    """The plane kernel's blocks of output-gradient planes (up to 6 a call with 64-byte
    vectors, 3 with 32-byte ones, then the rest): every block size, strided and dilated,
    with NaN and inf in the input and the gradient, against the float64 sum."""
    _force_engine(monkeypatch, "planes")
    rng = np.random.default_rng(og)
    for s, d in (((1, 1), (1, 1)), ((2, 1), (1, 2)), ((1, 2), (2, 1))):
        for dt in (np.float32, np.float64):
            x = rng.standard_normal((2, 2, 17, 23)).astype(dt)
            x[1, 0, 3, 4] = np.inf
            x[0, 1, 16, 22] = np.nan
            y = fastconv.conv2d(x, np.ones((og, 2, 3, 3), dt), stride=s, padding=1, dilation=d)
            go = rng.standard_normal(y.shape).astype(dt)
            go[0, og - 1, 0, 0] = np.inf
            gw = grad.conv2d_weight(x, (og, 2, 3, 3), go, s, 1, d)
            ref = _weight_grad_reference(x, go, (og, 2, 3, 3), s, (1, 1, 1, 1), d, 1, "zeros")
            np.testing.assert_array_equal(np.isnan(gw), np.isnan(ref))
            np.testing.assert_array_equal(np.isinf(gw), np.isinf(ref))
            ok = np.isfinite(ref)
            np.testing.assert_allclose(gw[ok], ref[ok], rtol=1e-4 if dt == np.float32 else 1e-12, atol=1e-3)


@pytest.mark.parametrize("engine", ["planes", "tiles_in", "tiles_out"])
def test_weight_gradient_float32_deep_sum(engine, monkeypatch):
    """A 1000 x 1000 plane: a million float32 products per tap, summed in short runs into
    float64, stay within a few float32 roundings of the float64 sum."""
    _force_engine(monkeypatch, engine)
    rng = np.random.default_rng(9)
    x = (rng.random((1, 2, 1000, 1000)) + 0.5).astype(np.float32)
    go = (rng.random((1, 2, 1000, 1000)) + 0.5).astype(np.float32)
    gw = grad.conv2d_weight(x, (2, 2, 3, 3), go, 1, 1)
    ref = _weight_grad_reference(x, go, (2, 2, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, "zeros")
    np.testing.assert_allclose(gw, ref, rtol=2e-6)


@pytest.mark.parametrize("trial", range(16))
def test_pointwise_weight_gradient(trial):
    """The pointwise weight gradient (1x1 unit stride, no padding, the planes read in place,
    pixels across the lanes): against a float64 matrix product, for groups, channel counts
    off the tile sizes, planes shorter and longer than a run with pixels past the last whole
    vector, several images, NaN and inf, 1 and 2 threads (identical), float32 within
    PyTorch's error; the inputs stay as they were."""
    from fastconv import _plan, _tuning

    rng = np.random.default_rng(trial)
    dt = (np.float32, np.float64)[trial % 2]
    g = int(rng.choice([1, 1, 2, 3]))
    cg, og = int(rng.integers(7, 31)), int(rng.integers(7, 31))  # (more pairs than the plane kernel takes)
    run = _plan.weight_grad_run(np.dtype(dt).itemsize)
    P = int(rng.choice([17, run - 3, run + 5, 2 * run + 16, 3000]))
    H = int(rng.choice([1, 2])) if P % 2 == 0 else 1
    N = int(rng.integers(1, 4))
    x = rng.standard_normal((N, g * cg, H, P // H)).astype(dt)
    go = rng.standard_normal((N, g * og, H, P // H)).astype(dt)
    if trial % 4 == 3:
        x[0, 0, 0, -1] = np.nan
        go[-1, -1, -1, 0] = np.inf
    x0, go0 = x.copy(), go.copy()
    engine = _plan.weight_grad(cg, og, 1, (1, 1), x.itemsize, _plan.vector_bytes(), pixels=N * P, padded=False)
    assert engine == ("pointwise" if N * P >= _tuning.WEIGHT_GRAD_MATMUL_MAX_PIXELS else "matmul")
    with np.errstate(invalid="ignore"):
        xs = x.astype(np.float64).reshape(N, g, cg, P)
        gs = go.astype(np.float64).reshape(N, g, og, P)
        ref = np.einsum("ngop,ngcp->goc", gs, xs).reshape(g * og, cg, 1, 1)
    got = {}
    for nt in (1, 2):
        fastconv.set_num_threads(nt)
        try:
            got[nt] = grad.conv2d_weight(x, (g * og, cg, 1, 1), go, groups=g)
        finally:
            fastconv.set_num_threads(None)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(go, go0)
    assert got[1].dtype == dt
    np.testing.assert_array_equal(np.isnan(got[1]), np.isnan(ref))
    fin = np.isfinite(ref)
    np.testing.assert_array_equal(got[1][~fin], ref[~fin])
    tol = 1e-5 if dt == np.float32 else 1e-12
    np.testing.assert_allclose(got[1][fin], ref[fin], rtol=tol, atol=tol * np.sqrt(N * P))
    if trial % 4 != 3:
        np.testing.assert_allclose(got[2], got[1], rtol=tol, atol=tol * np.sqrt(N * P))


@pytest.mark.parametrize("trial", range(30))
def test_weight_gradient_planner_names_an_engine(trial):
    """The planner's rule: the plane kernel for one input channel per group, tiny groups and
    small ones on wide rows, BLAS for 1x1 unit-stride kernels over few pixels, the pointwise
    kernel for other unpadded ones of few channels, else tiles with the side that fills the
    lanes."""
    from fastconv import _plan, _tuning

    rng = np.random.default_rng(trial)
    cg, og = (int(v) for v in rng.integers(1, 70, 2))
    taps = int(rng.choice([1, 9, 25]))
    s = (1, 1) if trial % 2 else (2, 2)
    vb = (32, 64)[trial % 3 == 0]
    wo = int(rng.choice([0, 10, 24, 56]))
    pixels = int(rng.choice([0, 49, _tuning.WEIGHT_GRAD_MATMUL_MAX_PIXELS, 3136]))
    padded = bool(trial % 3)
    engine = _plan.weight_grad(cg, og, taps, s, 4, vb, out_width=wo, pixels=pixels, padded=padded)
    if cg == 1 or cg * og <= _tuning.WEIGHT_GRAD_PLANES_MAX_PAIRS:
        assert engine == "planes"
    elif cg * og <= _tuning.WEIGHT_GRAD_PLANES_WIDE_PAIRS and wo >= _tuning.WEIGHT_GRAD_PLANES_WIDE_WIDTH:
        assert engine == "planes"
    elif taps == 1 and s == (1, 1) and pixels < _tuning.WEIGHT_GRAD_MATMUL_MAX_PIXELS:
        assert engine == "matmul"
    elif taps == 1 and s == (1, 1) and not padded and cg * og / (cg + og) <= _tuning.WEIGHT_GRAD_POINTWISE_MAX_SHARE:
        assert engine == "pointwise"
    else:
        from fastconv import _direct

        cp, op, _ = _direct.weight_tile_sizes(vb, 4, cg, og, False)
        fill_in = cg / cp * og / op
        cp, op, _ = _direct.weight_tile_sizes(vb, 4, cg, og, True)
        fill_out = og / op * cg / cp
        assert engine == ("tiles_out" if fill_out > fill_in else "tiles_in")


@pytest.mark.parametrize("planes, Ho, nt", [(1, 100, 2), (1, 100, 1), (8, 28, 2), (3, 37, 2), (1, 9, 2), (2, 64, 3)])
def test_weight_gradient_bands_share_the_rows(planes, Ho, nt):
    """The bands of the tiled weight gradient: at most WEIGHT_GRAD_BAND_ROWS rows, and with
    few items over several threads the height whose busiest thread gets the fewest rows
    (counted here from OpenMP's static split), the tallest such."""
    from fastconv import _plan, _tuning

    rows = _plan.weight_grad_band_rows(planes, Ho, nt)
    assert 1 <= rows <= min(_tuning.WEIGHT_GRAD_BAND_ROWS, Ho)

    def busiest(r):
        items = ([r] * (Ho // r) + ([Ho % r] if Ho % r else [])) * planes
        chunks = np.array_split(np.array(items), nt)  # sizes as OpenMP's static schedule
        return max(int(c.sum()) for c in chunks)

    if nt == 1:
        assert rows == min(_tuning.WEIGHT_GRAD_BAND_ROWS, Ho)
    else:
        assert all(busiest(rows) <= busiest(r) for r in range(max(1, (rows + 1) // 2), rows + 1))
        assert busiest(rows) <= busiest(min(_tuning.WEIGHT_GRAD_BAND_ROWS, Ho))


def test_weight_tile_rows_match_the_kernels():
    from fastconv import _direct

    # (Cp, Op, mr) with the output channels across the lanes: Cp padded to whole tile rows,
    # the kernels' FC_WG_MR_V4 / FC_WG_MR_32 (6, tuning.h) where 8 would pad more
    assert _direct.weight_tile_sizes(64, 4, 1, 1, True)[0] == 6
    assert _direct.weight_tile_sizes(32, 4, 1, 1, True)[0] == 6
    assert _direct.weight_tile_sizes(64, 4, 1, 1, True)[2] == 6


@pytest.mark.parametrize("engine", ["tiles_in", "tiles_out"])
@pytest.mark.parametrize("cg, og", [(32, 32), (64, 128), (16, 40), (24, 80), (40, 16), (8, 8), (48, 48)])
def test_weight_tiles_of_8_rows_match_float64_reference(cg, og, engine, monkeypatch):
    """The tiles of 8 rows (64-byte vectors, where they pad the broadcast side less than 6:
    32 channels) and their last blocks of 1-3 vectors, and the in-register transposes of the
    packed rows (channel counts that are and are not whole vectors), against the float64
    sum; stride 2 and dilation too."""
    from fastconv import _direct, _plan

    _force_engine(monkeypatch, engine)
    vb = _plan.vector_bytes()
    sizes = _direct.weight_tile_sizes(vb, 4, cg, og, engine == "tiles_out")
    if vb == 64 and ((cg, og) == (32, 32) or ((cg, og) == (64, 128) and engine == "tiles_out")):
        assert sizes[2] == 8
    rng = np.random.default_rng(cg * 1000 + og)
    for s, d in (((1, 1), (1, 1)), ((2, 2), (1, 1)), ((1, 1), (2, 2))):
        x = rng.standard_normal((2, cg, 19, 37)).astype(np.float32)
        y = fastconv.conv2d(x, np.zeros((og, cg, 3, 3), np.float32), stride=s, padding=1, dilation=d)
        go = rng.standard_normal(y.shape).astype(np.float32)
        gw = grad.conv2d_weight(x, (og, cg, 3, 3), go, s, 1, d)
        ref = _weight_grad_reference(x, go, (og, cg, 3, 3), s, (1, 1, 1, 1), d, 1, "zeros")
        np.testing.assert_allclose(gw, ref, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("trial", range(40))
def test_unit_stride_input_gradient_equals_tap_by_tap_sum(trial):
    """Unit stride (one conv2d with the flipped weight, cropped by its own padding or
    folded): element by element the tap-by-tap einsum sum, for every mode and padding size
    (beyond the kernel's reach, asymmetric), dilation, groups, float32 and float64."""
    rng = np.random.default_rng(9100 + trial)
    while True:
        x, w, kw = _conv_config(rng, trial)
        kw["stride"] = 1
        kw["padding_mode"] = MODES[trial % len(MODES)]
        if trial % 4 == 3:
            kw["padding"] = ((int(rng.integers(0, 6)), int(rng.integers(0, 6))), (int(rng.integers(0, 6)), 0))
        try:
            y = fastconv.conv2d(x, w, **kw)
        except ValueError:
            continue
        break
    go = rng.standard_normal(y.shape).astype(x.dtype)
    args = (1, kw["padding"], kw["dilation"], kw["groups"], kw["padding_mode"])
    pads = _args.normalize_padding(kw["padding"], w.shape[2:], (1, 1), kw["dilation"], x.shape[2:], "t")
    gx = np.zeros(x.shape[:2] + (x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3]))
    grad._transpose_exact(go.astype(np.float64), w.astype(np.float64), (1, 1), kw["dilation"], kw["groups"], gx)
    ref = grad._fold_padding(gx, x.shape[2:], pads, kw["padding_mode"])
    got = grad.conv2d_input(x.shape, w, go, *args)
    assert got.dtype == x.dtype
    tol = 1e-4 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))
