"""Layers, Sequential, the state_dict round trip and the CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest

import fastconv
from fastconv import nn

from conftest import requires_torch
from reference import conv2d_ref


def test_conv2d_layer_attributes_and_call():
    layer = nn.Conv2d(3, 6, 5, stride=2, padding=1, rng=0)
    assert layer.kernel_size == (5, 5) and layer.stride == (2, 2) and layer.padding == (1, 1)
    assert layer.weight.shape == (6, 3, 5, 5) and layer.bias.shape == (6,)
    assert layer.weight.dtype == np.float32
    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16)).astype(np.float32)
    y = layer(x)
    ref = conv2d_ref(x, layer.weight, layer.bias, (2, 2), (1, 1, 1, 1))
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    assert layer.output_shape(x.shape) == y.shape
    assert layer.cost(x.shape) == fastconv.conv2d_cost(x.shape, layer.weight.shape, 2, 1)
    assert repr(layer) == "Conv2d(3, 6, kernel_size=(5, 5), stride=(2, 2), padding=(1, 1))"
    assert (
        repr(nn.Conv2d(4, 4, 3, groups=2, bias=False, padding_mode="reflect"))
        == "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), groups=2, bias=False, padding_mode=reflect)"
    )


def test_initialisation_statistics():
    layer = nn.Conv2d(16, 64, 3, rng=np.random.default_rng(3), dtype=np.float64)
    bound = 1 / np.sqrt(16 * 9)
    w = layer.weight
    assert w.dtype == np.float64
    assert np.abs(w).max() <= bound and np.abs(layer.bias).max() <= bound
    # uniform(-b, b): mean 0, variance b^2 / 3
    assert abs(w.mean()) < 0.05 * bound
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.05
    # seeded: reproducible
    np.testing.assert_array_equal(nn.Conv2d(2, 2, 3, rng=7).weight, nn.Conv2d(2, 2, 3, rng=7).weight)


def test_layer_errors():
    with pytest.raises(ValueError, match="groups=2 must divide"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(TypeError, match="dtype=int64 must be float32 or float64"):
        nn.Conv2d(3, 6, 3, dtype=np.int64)
    with pytest.raises(ValueError, match="padding_mode='bogus'"):
        nn.Conv2d(3, 6, 3, padding_mode="bogus")


def test_pool_layers_and_unpool():
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    mp = nn.MaxPool2d(2, return_indices=True)
    v, i = mp(x)
    np.testing.assert_array_equal(v, fastconv.max_pool2d(x, 2))
    up = nn.MaxUnpool2d(2)
    assert up(v, i).shape == x.shape == up.output_shape(v.shape)
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x), fastconv.avg_pool2d(x, 2))
    assert repr(nn.MaxPool2d(2, 2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"


def lenet(seed=0):
    return nn.Sequential(
        nn.Conv2d(3, 6, 5, rng=seed), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5, rng=seed + 1), nn.MaxPool2d(2, 2)
    )


def test_lenet_shape_trace_and_summary():
    model = lenet()
    x = np.random.default_rng(0).uniform(-1, 1, (4, 3, 32, 32)).astype(np.float32)
    shapes = [y.shape for _, y in model.trace(x)]
    assert shapes == [(4, 6, 28, 28), (4, 6, 14, 14), (4, 16, 10, 10), (4, 16, 5, 5)]
    assert model.output_shape(x.shape) == (4, 16, 5, 5)
    text = model.summary(x.shape)
    c1 = fastconv.conv2d_cost((4, 3, 32, 32), (6, 3, 5, 5))
    c2 = fastconv.conv2d_cost((4, 6, 14, 14), (16, 6, 5, 5))
    assert f"{c1.macs:,}" in text and f"{c2.macs:,}" in text
    assert f"Total params: {c1.params + c2.params:,}" in text
    assert f"Total MACs: {c1.macs + c2.macs:,}" in text


def test_sequential_with_plain_callable():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.ReLU(), lambda t: t * 2)
    x = np.random.default_rng(0).standard_normal((1, 1, 6, 6))
    ref = np.maximum(fastconv.conv2d(x, model[0].weight, model[0].bias), 0) * 2
    np.testing.assert_allclose(model(x), ref)


def test_state_dict_npz_round_trip(tmp_path):
    model = lenet(1)
    path = tmp_path / "w.npz"
    np.savez(path, **{"features." + k: v for k, v in model.state_dict().items()})
    other = lenet(5)
    other.load_state_dict(str(path), prefix="features.")
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32)
    np.testing.assert_array_equal(other(x), model(x))
    with pytest.raises(KeyError, match=r"missing key.*'0.weight'"):
        other.load_state_dict({})
    with pytest.raises(ValueError, match="0.weight has shape"):
        other.load_state_dict({**model.state_dict(), "0.weight": np.zeros((1, 1, 1, 1))})


@requires_torch
def test_torch_state_dict_gives_same_output(tmp_path):
    import torch

    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 5),
        torch.nn.MaxPool2d(2, 2),
        torch.nn.Conv2d(6, 16, 5, padding=1),
        torch.nn.MaxPool2d(2, 2),
    )
    path = tmp_path / "torch.npz"
    np.savez(path, **{k: v.numpy() for k, v in tm.state_dict().items()})
    ours = nn.Sequential(nn.Conv2d(3, 6, 5), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5, padding=1), nn.MaxPool2d(2, 2))
    ours.load_state_dict(str(path))
    x = np.random.default_rng(0).uniform(-1, 1, (4, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        ref = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x), ref, rtol=1e-5, atol=1e-5)


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "fastconv", *args], capture_output=True, text=True, timeout=timeout)


def test_cli_info():
    proc = _cli("info")
    assert proc.returncode == 0, proc.stderr
    assert "openmp" in proc.stdout and "result matches SciPy" in proc.stdout
    # a real peer is timed: SciPy's correlate with its own method choice (PyTorch too, when installed)
    assert "scipy.signal.correlate (method auto)" in proc.stdout and "as fast" in proc.stdout
    assert "simd compiled" in proc.stdout


def test_cli_info_json():
    proc = _cli("info", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["config"]["fastconv"] == fastconv.__version__ and data["config"]["openmp"] is not None
    check = data["check"]
    assert check["ok"] and check["max_relative_error"] < 1e-5 and check["fastconv_ms"] > 0
    assert any(name.startswith("scipy.signal.correlate") for name in check["peers"])
    assert all(p["speedup"] > 0 for p in check["peers"].values())


def test_cli_bench_prints_each_case_as_it_finishes():
    """Without a terminal: one plain progress line per case on stderr (no carriage
    returns), the table's rows on stdout, and the run's duration."""
    proc = _cli("bench", "--cases", "C1,P4", "--threads", "1", "--reps", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\r" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("bench: [1/2] C1 threads=1") and lines[1].startswith("bench: [2/2] P4 threads=1")
    assert "left)" in lines[1]  # the estimate of the time left
    out = proc.stdout
    assert out.index("C1 ") < out.index("P4 ") < out.index("2 cases in")


def test_cli_bench_help_says_how_long():
    proc = _cli("bench", "--help")
    assert proc.returncode == 0 and "minutes" in proc.stdout and "--quick" in proc.stdout


def test_cli_demo():
    proc = _cli("demo", "--check")
    try:
        import torch  # noqa: F401
    except ImportError:  # a check that cannot run is a failure, said on stderr
        assert proc.returncode == 2 and "nothing was checked" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[4, 3, 32, 32] -> [4, 6, 28, 28] -> [4, 6, 14, 14] -> [4, 16, 10, 10] -> [4, 16, 5, 5]" in proc.stdout
    assert "Total params" in proc.stdout and "time per batch" in proc.stdout


def test_cli_bench_quick_json(tmp_path):
    out = tmp_path / "r.json"
    proc = _cli(
        "bench", "--quick", "--cases", "C1,P4", "--threads", "1", "--reps", "1", "--json", str(out), "--no-progress"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    impls = {(r["case"], r["impl"]) for r in data["results"]}
    assert ("C1", "fastconv") in impls and ("C1", "numpy-im2col") in impls and ("P4", "fastconv") in impls
    assert all(r["check"] in ("ok", "skipped") for r in data["results"])


def test_cli_bench_unknown_case():
    proc = _cli("bench", "--cases", "C99")
    assert proc.returncode != 0 and "unknown case" in proc.stderr


@pytest.mark.parametrize(
    "args, says",
    [
        (("bench", "--threads", "abc"), "'abc' is not an integer"),
        (("bench", "--threads", "1,0"), "0 must be >= 1"),
        (("bench", "--reps", "-1"), "-1 must be >= 1"),
        (("bench", "--json", "/nonexistent-folder/x.json"), "does not exist"),
        (("bench", "--plot", "/nonexistent-folder/x.png"), "does not exist"),
        (("bench", "--networks", "vgg"), "unknown network"),
        (("demo", "--batch", "-1"), "-1 must be >= 1"),
        (("demo", "--batch", "x"), "not an integer"),
    ],
)
def test_cli_refuses_bad_options_before_running(args, says):
    proc = _cli(*args, timeout=120)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr


def test_cli_version():
    proc = _cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"fastconv {fastconv.__version__}"


def test_network_layer_lists():
    """ResNet-18 has 20 convolutions, MobileNetV2 52 (torchvision's layouts)."""
    from fastconv import bench

    assert sum(bench.NETWORKS["resnet18"]().values()) == 20
    mb = bench.NETWORKS["mobilenet_v2"]()
    assert sum(mb.values()) == 52
    assert sum(n for (c, h, w, co, k, s, p, g), n in mb.items() if g > 1) == 17  # depthwise
    assert (960, 7, 7, 960, 3, 1, 1, 960) in mb and (320, 7, 7, 1280, 1, 1, 0, 1) in mb


def test_console_script_installed():
    import shutil

    exe = shutil.which("fastconv")
    if exe is None:
        pytest.skip("the console script is not on PATH (package not installed with pip)")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "bench" in proc.stdout


def test_cli_output_piped_into_a_closed_reader():
    """`fastconv demo | head -1`: no BrokenPipeError traceback when the reader goes away."""
    proc = subprocess.Popen([sys.executable, "-m", "fastconv", "demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert "Traceback" not in err, err
    assert proc.returncode == 0


def test_sequential_repr():
    net = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.Sequential(nn.MaxPool2d(2, 2)))
    assert repr(net) == (
        "Sequential(\n  (0): Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))\n  (1): ReLU()\n"
        "  (2): Sequential(\n    (0): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  )\n)"
    )
    assert repr(nn.Sequential()) == "Sequential()"


@requires_torch
def test_sequential_repr_is_pytorchs():
    import torch

    ours = nn.Sequential(
        nn.Conv2d(3, 6, 5),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5, padding=1, bias=False),
        nn.Sequential(nn.AvgPool2d(2)),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2, 2),
        torch.nn.Conv2d(6, 16, 5, padding=1, bias=False),
        torch.nn.Sequential(torch.nn.AvgPool2d(2)),
    )
    assert repr(ours) == repr(theirs)


LAYER_REPRS = [
    "Conv2d(3, 6, 5)",
    "Conv2d(3, 6, (5, 3), stride=2, padding=1, dilation=2, groups=3, bias=False, padding_mode='reflect')",
    "Conv2d(3, 6, 3, padding='same')",
    "Conv1d(3, 6, 5, stride=2, padding=1)",
    "Conv1d(4, 4, 3, padding='same', dilation=2, groups=2, padding_mode='circular')",
    "Conv3d(3, 6, 3, padding=1, bias=False)",
    "ConvTranspose2d(8, 4, 2, stride=2)",
    "ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, groups=2, bias=False)",
    "MaxPool1d(3, 2, 1, 2, True, True)",
    "MaxPool2d(3, stride=2, padding=1, return_indices=True, ceil_mode=True)",
    "MaxPool3d(2, stride=1)",
    "AvgPool1d(3, 2, 1, True, False)",
    "AvgPool2d(3, stride=1, padding=1, ceil_mode=True, count_include_pad=False, divisor_override=4)",
    "AvgPool3d(2)",
    "MaxUnpool2d(2, stride=2)",
    "ReLU()",
    "Flatten(0, 2)",
    "Linear(4, 2, bias=False)",
    "CrossEntropyLoss(label_smoothing=0.1, reduction='sum')",
]


@requires_torch
@pytest.mark.parametrize("expr", LAYER_REPRS)
def test_layer_repr_is_pytorchs(expr):
    import torch

    assert repr(eval("nn." + expr)) == repr(eval("torch.nn." + expr, {"torch": torch}))


def test_layer_reprs_without_torch():
    """Every layer shows its class and arguments (PyTorch's form), never an object address."""
    for expr in LAYER_REPRS:
        text = repr(eval("nn." + expr))
        assert text.startswith(expr.split("(")[0] + "(") and " at 0x" not in text


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_equal_numpy(dtype):
    """ReLU and its gradient run compiled (one pass, on the threads) for C-contiguous float
    arrays: numpy.maximum(x, 0)'s values and zero signs, and the gradient where(y > 0, g, 0)
    (NaN or inf of the gradient where the result is not positive gives 0), on arrays above
    and below the per-thread size, 1 and 2 threads, and the NumPy route for other inputs."""
    rng = np.random.default_rng(3)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45], dtype)
    for shape in ((3, 5), (2, 6, 100, 100)):
        x = rng.standard_normal(shape).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        x.flat[rng.integers(0, x.size, 50)] = rng.choice(special, 50)
        g.flat[rng.integers(0, g.size, 50)] = rng.choice(special, 50)
        ref_y = np.maximum(x, dtype(0))
        ref_g = np.where(ref_y > 0, g, dtype(0))
        for nt in (1, 2):
            with fastconv.threads(nt):
                for xin in (x, np.asfortranarray(x)):
                    layer = nn.ReLU()
                    y = layer(xin)
                    np.testing.assert_array_equal(y, ref_y)
                    np.testing.assert_array_equal(np.signbit(y), np.signbit(ref_y))
                    got = layer.backward(g)
                    np.testing.assert_array_equal(got, ref_g)
                    assert got.dtype == dtype
