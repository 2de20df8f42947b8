"""conv2d_output_shape, pool2d_output_shape and conv2d_cost against direct formulas and
against the shapes the functions really produce."""

import numpy as np
import pytest

import fastconv
from fastconv import ConvCost, conv2d, conv2d_cost, conv2d_output_shape, pool2d_output_shape

from conftest import requires_torch
from reference import pool_out as pool_size_formula  # PyTorch's pooling_output_shape, written out


def test_cost_textbook_example():
    cost = conv2d_cost((1, 128, 100, 100), (256, 128, 5, 5), padding=2)
    assert isinstance(cost, ConvCost)
    assert cost.output_shape == (1, 256, 100, 100)
    assert cost.params == 819_456
    assert cost.macs == 8_192_000_000
    assert cost.flops == 2 * cost.macs


def test_cost_groups_and_bias():
    cost = conv2d_cost((8, 128, 56, 56), (128, 1, 3, 3), padding=1, groups=128, bias=False)
    assert cost.params == 128 * 9
    assert cost.macs == 8 * 128 * 56 * 56 * 9
    unb = conv2d_cost((3, 32, 32), (6, 3, 5, 5))
    assert unb.output_shape == (6, 28, 28) and unb.params == 6 * 75 + 6


@pytest.mark.parametrize("seed", range(25))
def test_output_shape_matches_conv2d(seed):
    r = np.random.default_rng(seed)
    k = tuple(int(v) for v in r.integers(1, 5, 2))
    s = tuple(int(v) for v in r.integers(1, 4, 2))
    d = tuple(int(v) for v in r.integers(1, 3, 2))
    pad = ["same", "valid", 1, (2, 0)][seed % 4]
    shape = (2, 4, int(r.integers(9, 20)), int(r.integers(9, 20)))
    wshape = (4, 2) + k
    expect = conv2d(np.zeros(shape), np.zeros(wshape), stride=s, padding=pad, dilation=d, groups=2).shape
    assert conv2d_output_shape(shape, wshape, s, pad, d) == expect
    assert conv2d_output_shape(shape[1:], wshape, s, pad, d) == expect[1:]
    assert conv2d_cost(shape, wshape, s, pad, d, groups=2).output_shape == expect


def test_output_shape_errors():
    with pytest.raises(ValueError, match="weight_shape must have 4 entries"):
        conv2d_output_shape((1, 3, 8, 8), (3, 3, 3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv2d_output_shape((1, 3, 4, 4), (3, 3, 5, 5))


@pytest.mark.parametrize("n", [1, 2, 5, 7, 8, 32])
@pytest.mark.parametrize(
    "k,s,p,d", [(1, 1, 0, 1), (2, 2, 0, 1), (3, 2, 1, 1), (2, 3, 0, 1), (3, 3, 1, 1), (2, 1, 1, 2), (4, 3, 2, 1)]
)
@pytest.mark.parametrize("ceil", [False, True])
def test_pool_output_shape_formula(n, k, s, p, d, ceil):
    o = pool_size_formula(n, k, s, p, d, ceil)
    if o < 1:  # PyTorch: "Output size is too small"
        with pytest.raises(ValueError):
            pool2d_output_shape((1, n, n), k, s, p, d, ceil)
        return
    try:
        got = pool2d_output_shape((2, 1, n, n + 1), k, s, p, d, ceil)
    except ValueError as e:  # only when some window would be empty (dilation skips the input)
        assert "holds no input element" in str(e)
        return
    assert got == (2, 1, o, pool_size_formula(n + 1, k, s, p, d, ceil))


def test_pool_shapes_textbook():
    assert pool2d_output_shape((3, 32, 32), 2) == (3, 16, 16)
    assert pool2d_output_shape((3, 32, 32), 3) == (3, 10, 10)
    assert pool2d_output_shape((1, 1, 7, 7), 2, stride=3, ceil_mode=True) == (1, 1, 3, 3)
    # ceil_mode keeps one clipped window when the kernel is one larger than the input (PyTorch)
    assert pool2d_output_shape((1, 1, 1, 3), (2, 1), (2, 1), ceil_mode=True) == (1, 1, 1, 3)
    with pytest.raises(ValueError, match="at most half of kernel_size"):
        pool2d_output_shape((1, 1, 8, 8), 2, padding=2)


@requires_torch
@pytest.mark.parametrize("n", [3, 6, 7, 10])
@pytest.mark.parametrize(
    "k,s,p,d,ceil",
    [(2, 2, 0, 1, True), (3, 2, 1, 1, True), (2, 3, 1, 1, True), (3, 2, 1, 2, False), (3, 3, 1, 1, True)],
)
def test_pool_shapes_vs_torch(n, k, s, p, d, ceil):
    import torch

    try:
        expect = torch.nn.functional.max_pool2d(torch.zeros(1, 1, n, n), k, s, p, d, ceil_mode=ceil).shape
    except RuntimeError:
        with pytest.raises(ValueError):
            pool2d_output_shape((1, 1, n, n), k, s, p, d, ceil)
        return
    assert pool2d_output_shape((1, 1, n, n), k, s, p, d, ceil) == tuple(expect)


def _random_nd_conv(rng, nd):
    """A random conv1d/conv3d configuration (possibly invalid), small enough to run."""
    groups = int(rng.choice([1, 2]))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    size = tuple(int(v) for v in rng.integers(1, 9, nd))
    k = tuple(int(v) for v in rng.integers(1, 4, nd))
    s = tuple(int(v) for v in rng.integers(1, 3, nd))
    d = tuple(int(v) for v in rng.integers(1, 3, nd))
    form = rng.integers(0, 4)
    if form == 0:
        padding = int(rng.integers(0, 3))
    elif form == 1:
        padding = tuple(int(v) for v in rng.integers(0, 3, nd))
    elif form == 2:
        padding = str(rng.choice(["same", "valid"]))
        if padding == "same":
            s = (1,) * nd  # torch refuses "same" with a stride; ours allows it, the helpers must agree
    else:
        padding = tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (nd, 2)))
        if nd == 1:
            padding = padding[0]  # conv1d's asymmetric form is (left, right)
    batched = bool(rng.integers(0, 2))
    in_shape = ((int(rng.integers(0, 3)),) if batched else ()) + (cin,) + size
    w_shape = (cout, cin // groups) + k
    return in_shape, w_shape, s, padding, d, groups


@pytest.mark.parametrize("nd", [1, 3])
def test_nd_conv_shape_and_cost_helpers_match_the_functions(nd):
    """conv1d/conv3d_output_shape and _cost agree with the shapes of real calls, and refuse
    exactly the configurations the functions refuse."""
    rng = np.random.default_rng(nd)
    conv = fastconv.conv1d if nd == 1 else fastconv.conv3d
    shape_fn = fastconv.conv1d_output_shape if nd == 1 else fastconv.conv3d_output_shape
    cost_fn = fastconv.conv1d_cost if nd == 1 else fastconv.conv3d_cost
    ran = 0
    for _ in range(150):
        in_shape, w_shape, s, p, d, g = _random_nd_conv(rng, nd)
        x, w = np.ones(in_shape, np.float32), np.ones(w_shape, np.float32)
        try:
            ref = conv(x, w, None, s, p, d, g).shape
        except ValueError:
            with pytest.raises(ValueError):
                shape_fn(in_shape, w_shape, s, p, d)
            continue
        ran += 1
        assert shape_fn(in_shape, w_shape, s, p, d) == ref
        cost = cost_fn(in_shape, w_shape, s, p, d, g, bias=True)
        assert cost.output_shape == ref
        assert cost.params == int(np.prod(w_shape)) + w_shape[0]
        assert cost.macs == int(np.prod(ref)) * int(np.prod(w_shape[1:])) and cost.flops == 2 * cost.macs
    assert ran > 50


@pytest.mark.parametrize("nd", [1, 3])
def test_nd_pool_shape_helpers_match_the_functions(nd):
    rng = np.random.default_rng(10 + nd)
    pools = [fastconv.max_pool1d, fastconv.avg_pool1d] if nd == 1 else [fastconv.max_pool3d, fastconv.avg_pool3d]
    shape_fn = fastconv.pool1d_output_shape if nd == 1 else fastconv.pool3d_output_shape
    ran = 0
    for _ in range(150):
        size = tuple(int(v) for v in rng.integers(1, 10, nd))
        k = tuple(int(v) for v in rng.integers(1, 4, nd))
        s = None if rng.integers(0, 3) == 0 else tuple(int(v) for v in rng.integers(1, 4, nd))
        p = tuple(int(v) for v in rng.integers(0, 2, nd))
        ceil = bool(rng.integers(0, 2))
        in_shape = (int(rng.integers(1, 3)), 2) + size
        x = np.ones(in_shape, np.float32)
        for pool in pools:
            try:
                ref = pool(x, k, s, p, ceil_mode=ceil).shape
            except ValueError:
                with pytest.raises(ValueError):
                    shape_fn(in_shape, k, s, p, 1, ceil)
                continue
            ran += 1
            assert shape_fn(in_shape, k, s, p, 1, ceil) == ref
            assert shape_fn(in_shape[1:], k, s, p, 1, ceil) == ref[1:]
    assert ran > 50


@requires_torch
def test_nd_shape_helpers_match_pytorch():
    import torch

    F = torch.nn.functional
    assert fastconv.conv1d_output_shape((4, 6, 50), (8, 3, 5), 2, 3, 2) == tuple(
        F.conv1d(torch.ones(4, 6, 50), torch.ones(8, 3, 5), None, 2, 3, 2, 2).shape
    )
    assert fastconv.conv3d_output_shape((2, 4, 9, 10, 11), (6, 4, 3, 2, 3), (2, 1, 3), (1, 0, 2), (1, 2, 1)) == tuple(
        F.conv3d(torch.ones(2, 4, 9, 10, 11), torch.ones(6, 4, 3, 2, 3), None, (2, 1, 3), (1, 0, 2), (1, 2, 1)).shape
    )
    assert fastconv.pool3d_output_shape((1, 2, 9, 8, 7), 3, 2, 1, 1, True) == tuple(
        F.max_pool3d(torch.ones(1, 2, 9, 8, 7), 3, 2, 1, 1, True).shape
    )
    assert fastconv.pool1d_output_shape((1, 2, 9), 2, 2, 1, 2, True) == tuple(
        F.max_pool1d(torch.ones(1, 2, 9), 2, 2, 1, 2, True).shape
    )
