"""conv2d_output_shape, pool2d_output_shape and conv2d_cost against direct formulas and
against the shapes the functions really produce."""

import numpy as np
import pytest

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
