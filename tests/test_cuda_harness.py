"""The CUDA back end, run on the CPU: the real kernel source (src/fastconv/cuda/kernels.cu)
compiled with g++ against tests/cuda_harness/harness.h, launched through the real CuPy
dispatcher (fastconv.cuda) with NumPy standing in for CuPy, and compared with the CPU path."""

import ctypes
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest

import fastconv
import fastconv.cuda as fcuda
from fastconv import _args

from helpers import random_config, random_pool_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    gxx = shutil.which("g++")
    if gxx is None:  # pragma: no cover - g++ is part of the build toolchain
        pytest.skip("g++ is not installed")
    lib = tmp_path_factory.mktemp("harness") / "harness.so"
    subprocess.run(
        [
            gxx,
            "-std=c++20",
            "-O1",
            "-pthread",
            "-shared",
            "-fPIC",
            "-I",
            os.path.join(ROOT, "src", "fastconv", "cuda"),
            os.path.join(ROOT, "tests", "cuda_harness", "harness.cpp"),
            "-o",
            str(lib),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return ctypes.CDLL(str(lib))


def _c_arg(a):
    if isinstance(a, np.ndarray):
        return ctypes.c_void_p(a.ctypes.data)
    if isinstance(a, np.uint64):  # a null pointer (no bias / no indices)
        return ctypes.c_void_p(int(a) or None)
    if isinstance(a, np.int64):
        return ctypes.c_longlong(int(a))
    if isinstance(a, np.int32):
        return ctypes.c_int(int(a))
    if isinstance(a, np.float32):
        return ctypes.c_float(float(a))
    if isinstance(a, np.float64):
        return ctypes.c_double(float(a))
    raise TypeError(f"kernel argument of unexpected type {type(a)}: CuPy would reject it too")


@pytest.fixture
def gpu_on_cpu(harness, monkeypatch):
    """fastconv.cuda with NumPy as CuPy and the harness as the device."""
    fake = types.ModuleType("cupy")
    for name in ("ndarray", "empty", "zeros", "ascontiguousarray", "int64", "int32"):
        setattr(fake, name, getattr(np, name))
    monkeypatch.setitem(sys.modules, "cupy", fake)

    def kernel(name, dtype):
        full = f"{name}<{fcuda.CTYPES[np.dtype(dtype)]}>"
        assert full in fcuda.name_expressions()

        def launch(grid, block, args):
            held = [_c_arg(a) for a in args]
            ptrs = (ctypes.c_void_p * len(held))(*[ctypes.addressof(h) for h in held])
            g = tuple(grid) + (1,) * (3 - len(grid))
            b = tuple(block) + (1,) * (3 - len(block))
            assert harness.fc_harness_launch(full.encode(), *g, *b, ptrs) == 0

        return launch

    monkeypatch.setattr(fcuda, "_kernel", kernel)
    return fcuda


@pytest.mark.parametrize("kernel", [None, "fc_conv2d", "fc_conv2d_igemm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(12))
def test_conv2d_kernel_matches_cpu(gpu_on_cpu, seed, dtype, kernel):
    """The dispatcher's choice, then each conv2d kernel forced, on the random grid (every
    padding mode, stride, dilation and group count; partial K, channel and pixel tiles of the
    implicit GEMM)."""
    cfg = random_config(seed if kernel is None else 100 * (1 + len(kernel)) + seed)
    r = np.random.default_rng(seed)
    x = r.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(dtype)
    w = r.standard_normal((cfg["Cout"], cfg["C"] // cfg["groups"]) + cfg["k"]).astype(dtype)
    b = r.standard_normal(cfg["Cout"]).astype(dtype) if cfg["bias"] else None
    t, bo, l, rr = cfg["pads"]
    kw = dict(
        stride=cfg["stride"],
        padding=((t, bo), (l, rr)),
        dilation=cfg["dilation"],
        groups=cfg["groups"],
        padding_mode=cfg["mode"],
    )
    xin = x[:, ::-1] if seed % 3 == 0 else (x[:, :, ::-1] if seed % 3 == 1 else x)
    a = _args.conv2d_args(xin, w, b, kw["stride"], kw["padding"], kw["dilation"], kw["groups"], kw["padding_mode"])
    got = gpu_on_cpu.conv2d(a, kernel=kernel)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, fastconv.conv2d(xin, w, b, **kw), rtol=tol, atol=tol)


def test_conv2d_igemm_channel_heavy(gpu_on_cpu):
    """Several K slices, channel blocks and pixel blocks, chosen by the dispatcher itself."""
    r = np.random.default_rng(3)
    x = r.standard_normal((2, 20, 11, 13)).astype(np.float32)
    w = r.standard_normal((70, 10, 3, 3)).astype(np.float32)
    b = r.standard_normal(70).astype(np.float32)
    assert gpu_on_cpu.conv2d_kernel(10, 35, 3, 3) == "fc_conv2d_igemm"
    assert gpu_on_cpu.conv2d_kernel(3, 6, 5, 5) == "fc_conv2d"
    a = _args.conv2d_args(x, w, b, 1, 1, 1, 2, "circular")
    np.testing.assert_allclose(
        gpu_on_cpu.conv2d(a), fastconv.conv2d(x, w, b, 1, 1, 1, 2, "circular"), rtol=1e-4, atol=1e-4
    )


def test_grid_z_chunks(gpu_on_cpu, monkeypatch):
    """Batches whose blocks exceed gridDim.z are launched in chunks of samples."""
    monkeypatch.setattr(gpu_on_cpu, "MAX_GRID_Z", 5)
    r = np.random.default_rng(4)
    x = r.standard_normal((7, 2, 9, 8))
    w = r.standard_normal((2, 2, 3, 3))
    for kernel in ("fc_conv2d", "fc_conv2d_igemm"):
        a = _args.conv2d_args(x, w, None, 1, 1, 1, 1, "zeros")
        np.testing.assert_allclose(
            gpu_on_cpu.conv2d(a, kernel=kernel), fastconv.conv2d(x, w, None, 1, 1), rtol=1e-12, atol=1e-12
        )
    got = fastconv.correlate2d(x[:, 0], w[0, 0], "same")
    a = gpu_on_cpu.correlate2d(x[:, 0], w[0, 0], np.dtype(np.float64), (1, 1, 1, 1), 0, 0.0, got.shape)
    np.testing.assert_allclose(a, got, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(gpu_on_cpu, "MAX_GRID_Z", 1)
    with pytest.raises(ValueError, match="exceed the CUDA grid limit"):
        gpu_on_cpu.conv2d(_args.conv2d_args(x, w, None, 1, 1, 1, 1, "zeros"), kernel="fc_conv2d")


def test_conv2d_kernel_global_memory_fallback(gpu_on_cpu):
    """Strides/dilations whose input tile does not fit shared memory read global memory."""
    r = np.random.default_rng(0)
    x = r.standard_normal((1, 2, 40, 45))
    w = r.standard_normal((3, 2, 3, 3))
    for s, d in (((4, 4), (1, 1)), ((1, 1), (20, 21))):
        a = _args.conv2d_args(x, w, None, s, 2, d, 1, "reflect")
        np.testing.assert_allclose(
            gpu_on_cpu.conv2d(a), fastconv.conv2d(x, w, None, s, 2, d, 1, "reflect"), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("code,boundary", [(0, "fill"), (4, "wrap"), (2, "symm")])
def test_correlate2d_kernel_matches_cpu(gpu_on_cpu, code, boundary):
    r = np.random.default_rng(1)
    img = r.standard_normal((2, 21, 26))
    k = r.standard_normal((4, 5))
    ref = fastconv.correlate2d(img, k, "same", boundary, 0.5)
    got = gpu_on_cpu.correlate2d(img, k, np.dtype(np.float64), (1, 2, 2, 2), code, 0.5, ref.shape)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_pool_kernels_match_cpu(gpu_on_cpu, seed):
    cfg = random_pool_config(seed)
    x = np.random.default_rng(seed).integers(-2, 3, cfg["shape"]).astype(np.float32)
    x.flat[seed % x.size] = np.nan
    try:
        V, I = fastconv.max_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"], return_indices=True)
    except ValueError:
        return  # refused by the shared front before any back end runs
    _, out_shape, k, s, p, d = _args.pool2d_geometry(x.shape, cfg["k"], cfg["s"], cfg["p"], cfg["d"], cfg["ceil"], "t")
    v, i = gpu_on_cpu.max_pool2d(x[:, :, ::-1][:, :, ::-1], np.dtype(np.float32), out_shape, k, s, p, d, True)
    np.testing.assert_array_equal(v, V)
    np.testing.assert_array_equal(i, I)
    if d == (1, 1):
        for cip, div in ((True, 0), (False, 0), (True, 3)):
            got = gpu_on_cpu.avg_pool2d(x, np.dtype(np.float32), out_shape, k, s, p, cip, div)
            ref = fastconv.avg_pool2d(x, cfg["k"], cfg["s"], cfg["p"], cfg["ceil"], cip, div or None)
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)


def test_unpool_kernel(gpu_on_cpu):
    x = np.random.default_rng(2).permutation(2 * 3 * 8 * 8).reshape(2, 3, 8, 8).astype(np.float64)
    v, i = fastconv.max_pool2d(x, 2, return_indices=True)
    got = gpu_on_cpu.max_unpool2d(v, i, np.dtype(np.float64), x.shape)
    np.testing.assert_array_equal(got, fastconv.max_unpool2d(v, i, 2))
    bad = i.copy()
    bad[1, 2, 3, 3] = 64
    with pytest.raises(ValueError, match="outside the output plane"):
        gpu_on_cpu.max_unpool2d(v, bad, np.dtype(np.float64), x.shape)


def test_importing_fastconv_does_not_import_cupy():
    code = "import sys, fastconv, fastconv.cuda; fastconv.show_config(); assert 'cupy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_nvcc_compiles_every_instantiation():
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed (CI runs .ci/nvcc_check where it is)")
    subprocess.run(
        ["bash", os.path.join(ROOT, ".ci", "nvcc_check")], check=True, capture_output=True, timeout=600, cwd=ROOT
    )


@pytest.mark.skipif(fcuda.is_available(), reason="a GPU is present: the gpu tests run the benchmark's code")
def test_gpu_benchmark_script_says_no_gpu():
    r = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "gpu.py"), "--cases", "C1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "not available" in r.stderr
