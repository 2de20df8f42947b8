"""Training with fastconv.nn and fastconv.optim: layer backward passes, the loss, SGD and
Adam against PyTorch (when installed), finite differences without it, and the
``fastconv train`` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fastconv import cli, nn, optim

from conftest import requires_torch

F64 = np.float64


def lenet(seed=0, dtype=F64):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 5, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(400, 120, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.Linear(120, 84, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.Linear(84, 10, dtype=dtype, rng=rng),
    )


def torch_lenet():
    import torch.nn as tnn

    return tnn.Sequential(
        tnn.Conv2d(3, 6, 5),
        tnn.ReLU(),
        tnn.MaxPool2d(2, 2),
        tnn.Conv2d(6, 16, 5),
        tnn.ReLU(),
        tnn.MaxPool2d(2, 2),
        tnn.Flatten(),
        tnn.Linear(400, 120),
        tnn.ReLU(),
        tnn.Linear(120, 84),
        tnn.ReLU(),
        tnn.Linear(84, 10),
    ).double()


def _load_into_torch(tm, model):
    import torch

    tm.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})


@requires_torch
@pytest.mark.parametrize(
    "make_opt",
    [
        lambda m: optim.SGD(m, lr=0.05, momentum=0.9),
        lambda m: optim.SGD(m, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3),
        lambda m: optim.SGD(m, lr=0.05, momentum=0.9, weight_decay=1e-4, nesterov=True),
        lambda m: optim.Adam(m, lr=1e-3),
        lambda m: optim.Adam(m, lr=2e-3, betas=(0.8, 0.99), weight_decay=1e-3, amsgrad=True),
    ],
)
def test_lenet_training_reproduces_pytorch(make_opt):
    """20 steps of LeNet in float64 from the same weights and batches: PyTorch's losses to
    1e-10 relative (SGD with momentum, nesterov, weight decay; Adam, amsgrad)."""
    import torch
    import torch.nn as tnn

    model = lenet()
    tm = torch_lenet()
    _load_into_torch(tm, model)
    opt = make_opt(model)
    name = type(opt).__name__
    kw = {k: getattr(opt, k) for k in ("lr", "momentum", "dampening", "weight_decay", "nesterov") if hasattr(opt, k)}
    if name == "Adam":
        kw = dict(lr=opt.lr, betas=opt.betas, eps=opt.eps, weight_decay=opt.weight_decay, amsgrad=opt.amsgrad)
    topt = getattr(torch.optim, name)(tm.parameters(), **kw)
    loss_fn, tloss_fn = nn.CrossEntropyLoss(label_smoothing=0.05), tnn.CrossEntropyLoss(label_smoothing=0.05)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.standard_normal((8, 3, 32, 32))
        y = rng.integers(0, 10, 8)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()
        topt.zero_grad()
        tl = tloss_fn(tm(torch.from_numpy(x)), torch.from_numpy(y))
        tl.backward()
        topt.step()
        assert float(loss) == pytest.approx(tl.item(), rel=1e-10)
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v, tm.state_dict()[k].numpy(), rtol=1e-9, atol=1e-12)


@requires_torch
def test_layer_backward_matches_autograd():
    import torch
    import torch.nn as tnn

    rng = np.random.default_rng(1)
    cases = [
        (
            nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, padding_mode="reflect", dtype=F64, rng=1),
            tnn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, padding_mode="reflect"),
            (2, 4, 9, 8),
        ),
        (
            nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=F64, rng=2),
            tnn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
            (2, 4, 5, 6),
        ),
        (
            nn.ConvTranspose2d(2, 3, (2, 3), stride=(1, 2), dilation=(3, 1), output_padding=(2, 0), dtype=F64, rng=3),
            tnn.ConvTranspose2d(2, 3, (2, 3), stride=(1, 2), dilation=(3, 1), output_padding=(2, 0)),
            (1, 2, 4, 5),
        ),
        (nn.Linear(7, 5, dtype=F64, rng=4), tnn.Linear(7, 5), (3, 2, 7)),
        (nn.MaxPool2d(3, 2, 1), tnn.MaxPool2d(3, 2, 1), (2, 3, 9, 9)),
        (
            nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
            tnn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
            (2, 3, 8, 9),
        ),
        (nn.ReLU(), tnn.ReLU(), (2, 3, 4, 4)),
        (nn.Flatten(), tnn.Flatten(), (2, 3, 4, 4)),
    ]
    for layer, tlayer, shape in cases:
        tlayer = tlayer.double()
        params = layer.parameters()
        if params:
            tlayer.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
        x = rng.standard_normal(shape)
        y = layer(x)
        xt = torch.tensor(x, requires_grad=True)
        yt = tlayer(xt)
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        go = rng.standard_normal(y.shape)
        gx = layer.backward(go)
        yt.backward(torch.tensor(go))
        np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=repr(layer))
        for k, p in tlayer.named_parameters():
            np.testing.assert_allclose(layer.grads[k], p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{layer} {k}")


@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_matches_torch(reduction, smoothing):
    import torch

    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 5)) * 30  # large logits: the log-softmax must be stable
    y = rng.integers(0, 5, 6)
    lf = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    xt = torch.tensor(x, requires_grad=True)
    lt = torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)(xt, torch.tensor(y))
    loss = lf(x, y)
    np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-12)
    go = rng.standard_normal(6) if reduction == "none" else 1.7
    lt.backward(torch.tensor(go, dtype=torch.float64))
    np.testing.assert_allclose(lf.backward(go), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_network_gradient_matches_finite_differences():
    """Without PyTorch: d loss / d parameter of a small conv net, float64."""
    rng = np.random.default_rng(3)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular", dtype=F64, rng=rng),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.ConvTranspose2d(3, 2, 2, stride=2, dtype=F64, rng=rng),
        nn.MaxPool2d(2, 1),
        nn.Flatten(),
        nn.Linear(2 * 5 * 5, 4, dtype=F64, rng=rng),
    )
    lf = nn.CrossEntropyLoss()
    x = rng.standard_normal((3, 2, 6, 6))
    y = rng.integers(0, 4, 3)
    model.zero_grad()
    lf(model(x), y)
    gx = model.backward(lf.backward())
    grads = model.gradients()
    eps = 1e-6
    for name, p in model.parameters().items():
        for flat in rng.choice(p.size, size=min(3, p.size), replace=False):
            idx = np.unravel_index(flat, p.shape)
            old = p[idx]
            p[idx] = old + eps
            fp = float(lf(model(x), y))
            p[idx] = old - eps
            fm = float(lf(model(x), y))
            p[idx] = old
            assert grads[name][idx] == pytest.approx((fp - fm) / (2 * eps), rel=1e-5, abs=1e-8), name
    idx = (1, 0, 2, 3)
    x[idx] += eps
    fp = float(lf(model(x), y))
    x[idx] -= 2 * eps
    fm = float(lf(model(x), y))
    assert gx[idx] == pytest.approx((fp - fm) / (2 * eps), rel=1e-5, abs=1e-8)


def test_gradients_accumulate_until_zero_grad():
    layer = nn.Linear(3, 2, dtype=F64, rng=0)
    x = np.ones((4, 3))
    layer(x)
    layer.backward(np.ones((4, 2)))
    once = layer.grads["weight"].copy()
    layer(x)
    layer.backward(np.ones((4, 2)))
    np.testing.assert_allclose(layer.grads["weight"], 2 * once)
    layer.zero_grad()
    assert layer.gradients() == {"weight": None, "bias": None}


def test_eval_mode_keeps_nothing_and_backward_says_so():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2))
    model.eval()
    y = model(np.ones((1, 1, 6, 6), np.float32))
    with pytest.raises(RuntimeError, match="training mode"):
        model.backward(np.ones_like(y))
    model.train()
    model(np.ones((1, 1, 6, 6), np.float32))
    assert model.backward(np.ones_like(y)).shape == (1, 1, 6, 6)
    with pytest.raises(ValueError, match="grad_output has shape"):
        model[0].backward(np.ones((1, 2, 3, 3)))
    with pytest.raises(TypeError, match="plain callable"):
        seq = nn.Sequential(nn.Conv2d(1, 2, 3), lambda v: v)
        seq(np.ones((1, 1, 6, 6), np.float32))
        seq.backward(np.ones((1, 2, 4, 4), np.float32))


def test_state_dict_round_trip(tmp_path):
    model = lenet(seed=1, dtype=np.float32)
    path = tmp_path / "lenet.npz"
    model.save_state_dict(path)
    other = lenet(seed=2, dtype=np.float32)
    other.load_state_dict(path)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v)
    assert sorted(model.parameters()) == sorted(np.load(path).files)


def test_optimizer_arguments_are_checked():
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(model, lr=-1.0)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(model, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(model, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="model"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="class index"):
        nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)


def test_train_command_learns_the_digits(tmp_path, capsys):
    """``fastconv train``: at least 97% held-out accuracy on scikit-learn's digits."""
    pytest.importorskip("sklearn")
    pytest.importorskip("tqdm")
    out = tmp_path / "train.json"
    assert cli.main(["train", "--seed", "0", "--json", str(out), "--no-progress"]) == 0
    result = json.loads(out.read_text())
    assert result["test_accuracy"][-1] >= 0.97
    assert len(result["epochs"]) == result["config"]["epochs"]
    assert all(math.isfinite(v) for v in result["train_loss"])
    assert "held-out accuracy" in capsys.readouterr().out


def test_train_command_names_the_missing_extra(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    monkeypatch.setattr("importlib.import_module", lambda name: no_sklearn(name))
    assert cli.main(["train", "--epochs", "1", "--no-progress"]) == 2
    assert "fastconv[train]" in capsys.readouterr().err


def _nd_pair(torch, nd):
    """The same small network in fastconv.nn and torch.nn, for 1-D or 3-D data."""
    from fastconv import nn as fnn

    C = {1: "1d", 3: "3d"}[nd]
    ours = fnn.Sequential(
        getattr(fnn, "Conv" + C)(2, 4, 3, padding=1, padding_mode="reflect", rng=0),
        fnn.ReLU(),
        getattr(fnn, "MaxPool" + C)(2),
        getattr(fnn, "Conv" + C)(4, 4, 3, stride=2, groups=2, rng=1),
        getattr(fnn, "AvgPool" + C)(2, ceil_mode=True, count_include_pad=False),
    )
    for layer in ours:
        if hasattr(layer, "weight"):
            layer.weight = layer.weight.astype(np.float64)
            layer.bias = layer.bias.astype(np.float64)
    theirs = torch.nn.Sequential(
        getattr(torch.nn, "Conv" + C)(2, 4, 3, padding=1, padding_mode="reflect"),
        torch.nn.ReLU(),
        getattr(torch.nn, "MaxPool" + C)(2),
        getattr(torch.nn, "Conv" + C)(4, 4, 3, stride=2, groups=2),
        getattr(torch.nn, "AvgPool" + C)(2, ceil_mode=True, count_include_pad=False),
    ).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


@requires_torch
@pytest.mark.parametrize("nd", [1, 3])
def test_nd_layers_backward_equal_autograd(nd):
    """Conv1d/3d, MaxPool1d/3d and AvgPool1d/3d learn: input and parameter gradients equal
    PyTorch's through a small network."""
    import torch

    ours, theirs = _nd_pair(torch, nd)
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((2, 2) + ((40,) if nd == 1 else (12, 11, 10)))
    y = ours(x)
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(tx)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    gx = ours.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    tparams = dict(theirs.named_parameters())
    for i, layer in enumerate(ours):
        for name, value in layer.gradients().items():
            np.testing.assert_allclose(value, tparams[f"{i}.{name}"].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv1d_layer_gradient_finite_differences():
    """Without a peer: the weight gradient of a Conv1d + AvgPool1d loss against central
    differences in float64."""
    from fastconv import nn as fnn

    rng = np.random.default_rng(5)
    conv = fnn.Conv1d(3, 2, 4, stride=2, padding=2, padding_mode="circular", dtype=np.float64, rng=0)
    pool = fnn.AvgPool1d(3, 1, 1)
    x = rng.standard_normal((2, 3, 15))
    t = rng.standard_normal(pool(conv(x)).shape)

    def loss() -> float:
        return float(np.sum(pool(conv(x)) * t))

    loss()
    conv.backward(pool.backward(t))
    gw = conv.gradients()["weight"]
    eps = 1e-6
    for idx in [(0, 0, 0), (1, 2, 3), (0, 1, 2)]:
        w0 = conv.weight[idx]
        conv.weight[idx] = w0 + eps
        up = loss()
        conv.weight[idx] = w0 - eps
        down = loss()
        conv.weight[idx] = w0
        assert np.isclose(gw[idx], (up - down) / (2 * eps), rtol=1e-6, atol=1e-8)
