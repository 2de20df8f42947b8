"""The benchmark suite: fastconv against every installed peer, in one run.

Cases are those of the project's benchmark list (convolution C1-C10, pooling P1-P4, image
pipelines I1-I3).  Each implementation is checked against fastconv's output, then timed as
the median of ``reps`` repetitions after a warm-up, with inner repetitions so that one timing
lasts at least ``min_time``; at 1 thread and at all cores.  Before each case the suite
touches and frees 1 GiB (:func:`warm_memory`).  Reported: median time, GFLOP/s
(2 flops per multiply-add) or GB/s (bytes read + written, for pooling), the speed-up of
fastconv over each peer (peer time / fastconv time, > 1 means fastconv is faster) and, for
the big cases, the peak extra resident memory of one call.

Peers: PyTorch (when installed, with ``torch.set_num_threads`` equal to ours), NumPy
(im2col with ``sliding_window_view`` + one matmul; pooling by a loop of ``np.maximum`` over
the window taps), SciPy (``signal.correlate`` summed over channels, ``signal.correlate2d``,
``ndimage.correlate``) and OpenCV ``filter2D`` (single-channel cases, when installed).
SciPy's channel loop is timed once when one run takes more than a second, and extrapolated
from one output channel (marked ``~``) when a full run would take more than 20 s.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import fastconv

CONV_CASES: Dict[str, Tuple[int, ...]] = {
    # N, C_in, H, W, C_out, k, stride, pad, dilation, groups
    "C1": (4, 3, 32, 32, 6, 5, 1, 0, 1, 1),
    "C2": (4, 6, 14, 14, 16, 5, 1, 0, 1, 1),
    "C3": (1, 128, 100, 100, 256, 5, 1, 2, 1, 1),
    "C4": (1, 128, 100, 100, 32, 1, 1, 0, 1, 1),
    "C5": (8, 64, 56, 56, 64, 3, 1, 1, 1, 1),
    "C6": (8, 64, 56, 56, 128, 3, 2, 1, 1, 1),
    "C7": (8, 128, 56, 56, 128, 3, 1, 1, 1, 128),
    "C8": (1, 1, 1024, 1024, 1, 15, 1, 7, 1, 1),
    "C9": (1, 1, 4096, 4096, 1, 5, 1, 2, 1, 1),
    "C10": (4, 32, 64, 64, 32, 3, 1, 2, 2, 1),
}
POOL_CASES: Dict[str, Dict[str, Any]] = {
    "P1": dict(op="max", shape=(8, 64, 112, 112), k=2, s=2, p=0),
    "P2": dict(op="max", shape=(8, 64, 112, 112), k=3, s=2, p=1),
    "P3": dict(op="max", shape=(1, 1, 4096, 4096), k=2, s=2, p=0),
    "P4": dict(op="avg", shape=(8, 64, 56, 56), k=3, s=1, p=1, ceil_mode=True, count_include_pad=False),
}
IMAGE_CASES: Dict[str, Dict[str, Any]] = {
    "I1": dict(shape=(4096, 4096), k=(5, 5), mode="same", boundary="symm"),
    "I2": dict(shape=(2048, 2048), k=(31, 31), mode="same", boundary="fill"),
    "I3": dict(shape=(64, 512, 512), k=(7, 7), mode="same", boundary="wrap", gaussian=True),
}
#: Gradient and training cases (B1-B5): see _grad_case.
GRAD_CASES: Dict[str, str] = {
    "B1": "conv2d_input and conv2d_weight of the C-case layers C1-C7, C10",
    "B2": "max-pool backward from indices on P1 and P2, avg-pool backward on P4",
    "B3": "conv_transpose2d (8, 128, 64, 64) -> 64 channels: k2 s2, and k4 s2 p1",
    "B4": "one LeNet training step (forward, backward, SGD) on a (64, 3, 32, 32) batch",
    "B5": "one epoch of `fastconv train` on scikit-learn's digits",
}
#: Signal, volume and layout cases (V1-V6): see _volume_case.
VOLUME_CASES: Dict[str, str] = {
    "V1": "volume 256^3 float32, 5^3 kernel, mode same",
    "V2": "conv3d (2, 16, 16, 112, 112), 3^3, 16 -> 32 channels, padding 1",
    "V3": "1-D signal of 10^7 samples, 101 taps, mode same",
    "V4": "conv1d (32, 64, 4096), kernel 9, 64 -> 64 channels, padding 4",
    "V5": "C5, C6, C7 and pooling P1, P2, P4 with channels-last (NHWC-strided) input",
    "V6": "(3000, 4000, 3) RGB image, 15 x 15 Gaussian per channel, axes=(0, 1)",
}
BIG_CASES = ("C3", "C9", "I1", "I2", "B1/C3.input", "B1/C3.weight", "V1")

#: A network's convolution layers: (C_in, H, W, C_out, k, stride, pad, groups), times used.
Layer = Tuple[int, int, int, int, int, int, int, int]


def _resnet18() -> Dict[Layer, int]:
    """torchvision's ResNet-18 on a 224x224 input: the stem, four stages of two basic
    blocks (3x3 convolutions) and the 1x1 stride-2 shortcuts."""
    layers: Dict[Layer, int] = {(3, 224, 224, 64, 7, 2, 3, 1): 1}
    c, hw = 64, 56
    for out, first_stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block in range(2):
            s = first_stride if block == 0 else 1
            h2 = hw // s
            for key in ((c, hw, hw, out, 3, s, 1, 1), (out, h2, h2, out, 3, 1, 1, 1)):
                layers[key] = layers.get(key, 0) + 1
            if s != 1 or c != out:
                key = (c, hw, hw, out, 1, s, 0, 1)
                layers[key] = layers.get(key, 0) + 1
            c, hw = out, h2
    return layers


def _mobilenet_v2() -> Dict[Layer, int]:
    """torchvision's MobileNetV2 (width 1.0) on a 224x224 input: the stem, the inverted
    residual blocks (1x1 expand, 3x3 depthwise, 1x1 project) and the last 1x1."""
    layers: Dict[Layer, int] = {(3, 224, 224, 32, 3, 2, 1, 1): 1}
    c, hw = 32, 112
    for t, out, n, s0 in (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ):
        for i in range(n):
            s = s0 if i == 0 else 1
            hid = c * t
            keys = [(c, hw, hw, hid, 1, 1, 0, 1)] if t != 1 else []
            keys += [(hid, hw, hw, hid, 3, s, 1, hid), (hid, -(-hw // s), -(-hw // s), out, 1, 1, 0, 1)]
            for key in keys:
                layers[key] = layers.get(key, 0) + 1
            c, hw = out, -(-hw // s)
    layers[(320, 7, 7, 1280, 1, 1, 0, 1)] = 1
    return layers


#: ``fastconv bench --networks``: every convolution layer of these networks, at these batches.
NETWORKS: Dict[str, Callable[[], Dict[Layer, int]]] = {"resnet18": _resnet18, "mobilenet_v2": _mobilenet_v2}
NETWORK_BATCHES = (1, 8)
QUICK_CASES = ("C1", "C2", "C7", "C10", "P1", "P4", "I3")


@dataclass
class Result:
    case: str
    threads: int
    impl: str
    time_s: Optional[float]
    reps: int
    rate: Optional[float] = None  # GFLOP/s or GB/s
    unit: str = ""
    speedup: Optional[float] = None  # peer time / fastconv time (fastconv rows: None)
    check: str = "ok"  # "ok", "skipped" or the mismatch
    peak_extra_mb: Optional[float] = None
    note: str = ""


@dataclass
class Suite:
    results: List[Result] = field(default_factory=list)
    machine: Dict[str, Any] = field(default_factory=dict)
    #: seconds each job took (``"C3 threads=1"``: the case with all its peers), and in all
    seconds: Dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------- timing


def time_call(f: Callable[[], Any], reps: int = 7, min_time: float = 0.02) -> Tuple[float, int]:
    """Median seconds per call over ``reps`` timings of >= ``min_time`` each, after a warm-up."""
    t0 = time.perf_counter()
    f()
    once = time.perf_counter() - t0
    inner = max(1, int(min_time / max(once, 1e-7)) + 1) if once < min_time else 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        times.append((time.perf_counter() - t0) / inner)
    return float(np.median(times)), reps


def warm_memory(mib: int = 1024) -> None:
    """Touch and free ``mib`` MiB, before each case.

    On a virtual machine the first touch of guest memory that the host has not yet backed
    costs several times a normal page fault; big results (C9's 64 MiB) then run 2-10x slower
    for whichever implementation happens to allocate them first.  The host takes freed memory
    back after a while: C9 on 2 threads went from 5.5 to 9.5 ms after 20 s without large
    allocations (a case whose peers run for minutes), and back to 5.5 ms once 256 MiB were
    touched.  Touching a block just before a case makes the allocations of every
    implementation alike (about 0.1 s when the memory is backed already).
    """
    block = np.ones(mib << 20, dtype=np.uint8)
    del block


def _status_kb(key: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_extra_mb(f: Callable[[], Any]) -> Optional[float]:
    """Peak resident memory one call adds (Linux: VmHWM after resetting it), result included.

    fastconv's block cache is emptied first, so a call that takes its result from a kept
    block is measured as one that allocates it."""
    fastconv.set_buffer_cache(fastconv.set_buffer_cache(0))
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return None
    base = _status_kb("VmRSS:")
    res = f()
    peak = _status_kb("VmHWM:")
    del res
    if base is None or peak is None:
        return None
    return max(0.0, (peak - base) / 1024.0)


# ----------------------------------------------------------------------------- peers


def _torch() -> Any:
    try:
        import torch

        return torch
    except Exception:
        return None


def _cv2() -> Any:
    try:
        import cv2

        return cv2
    except Exception:
        return None


def _set_threads(n: int) -> None:
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(n)
    cv2 = _cv2()
    if cv2 is not None:
        cv2.setNumThreads(n)


def numpy_im2col_conv(x: np.ndarray, w: np.ndarray, stride: int, pad: int, dil: int, groups: int) -> np.ndarray:
    """The best plain-NumPy conv2d: sliding_window_view + one matmul per group."""
    from numpy.lib.stride_tricks import sliding_window_view

    N, C, H, W = x.shape
    Cout, Cg, kH, kW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    ext = dil * (kH - 1) + 1
    win = sliding_window_view(xp, (ext, ext), axis=(2, 3))[:, :, ::stride, ::stride, ::dil, ::dil]
    Ho, Wo = win.shape[2], win.shape[3]
    coutg = Cout // groups
    outs = []
    for g in range(groups):
        cols = win[:, g * Cg : (g + 1) * Cg].transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, Cg * kH * kW)
        outs.append((cols @ w[g * coutg : (g + 1) * coutg].reshape(coutg, -1).T).reshape(N, Ho, Wo, coutg))
    return np.concatenate(outs, axis=3).transpose(0, 3, 1, 2)


def scipy_conv(
    x: np.ndarray, w: np.ndarray, stride: int, pad: int, dil: int, groups: int, channels: Optional[int] = None
) -> np.ndarray:
    """scipy.signal.correlate summed over each group's input channels (optionally only the
    first ``channels`` output channels, for extrapolation)."""
    from scipy.signal import correlate

    N, C, H, W = x.shape
    Cout, Cg, kH, kW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    wd = np.zeros((Cout, Cg, dil * (kH - 1) + 1, dil * (kW - 1) + 1), w.dtype)
    wd[:, :, ::dil, ::dil] = w
    coutg = Cout // groups
    outs = []
    for n in range(N):
        planes = []
        for o in range(channels if channels is not None else Cout):
            g = o // coutg
            acc = sum(correlate(xp[n, g * Cg + c], wd[o, c], mode="valid") for c in range(Cg))
            planes.append(acc[::stride, ::stride])
        outs.append(np.stack(planes))
    return np.stack(outs)


def numpy_max_pool(x: np.ndarray, k: int, s: int, p: int) -> np.ndarray:
    """Plain NumPy max pooling: a loop of np.maximum over the k*k window taps."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf) if p else x
    Ho = (xp.shape[2] - k) // s + 1
    Wo = (xp.shape[3] - k) // s + 1
    out = np.full(x.shape[:2] + (Ho, Wo), -np.inf, x.dtype)
    for i in range(k):
        for j in range(k):
            np.maximum(out, xp[:, :, i : i + s * (Ho - 1) + 1 : s, j : j + s * (Wo - 1) + 1 : s], out=out)
    return out


def numpy_max_pool_indices(x: np.ndarray, k: int, s: int) -> Tuple[np.ndarray, np.ndarray]:
    """Plain NumPy max pooling with indices (no padding): sliding_window_view argmax."""
    from numpy.lib.stride_tricks import sliding_window_view

    H, W = x.shape[2:]
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    flat = win.reshape(win.shape[:4] + (k * k,))
    a = flat.argmax(axis=-1)
    vals = np.take_along_axis(flat, a[..., None], axis=-1)[..., 0]
    Ho, Wo = a.shape[2:]
    idx = (np.arange(Ho)[:, None] * s + a // k) * W + np.arange(Wo)[None, :] * s + a % k
    return vals, idx


# ----------------------------------------------------------------------------- cases


def _close(a: Any, b: Any, rtol: float = 1e-3) -> str:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return f"shape {b.shape} != {a.shape}"
    scale = max(np.abs(a).max(), 1e-30)
    err = float(np.abs(a - b).max() / scale)
    return "ok" if err <= rtol else f"max rel err {err:.1e}"


def _conv_case(cid: str, nt: int, reps: int, suite: Suite, memory: bool) -> None:
    N, C, H, W, Co, k, s, p, d, g = CONV_CASES[cid]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((Co, C // g, k, k)).astype(np.float32)
    flops = fastconv.conv2d_cost(x.shape, w.shape, s, p, d, g, bias=False).flops
    ours = fastconv.conv2d(x, w, None, s, p, d, g, num_threads=nt)
    f_fc = lambda: fastconv.conv2d(x, w, None, s, p, d, g, num_threads=nt)  # noqa: E731
    t_fc, r = time_call(f_fc, reps)
    mem = peak_extra_mb(f_fc) if memory and cid in BIG_CASES else None
    method = fastconv.explain(x, w, None, s, p, d, g, num_threads=nt).algorithm
    suite.results.append(
        Result(
            cid, nt, "fastconv", t_fc, r, flops / t_fc / 1e9, "GFLOP/s", peak_extra_mb=mem, note=f"algorithm={method}"
        )
    )
    peers: List[Tuple[str, Callable[[], Any]]] = []
    torch = _torch()
    if torch is not None:
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        peers.append(("pytorch", lambda: torch.nn.functional.conv2d(tx, tw, None, s, p, d, g).numpy()))
    if not (cid in ("C8", "C9") or C * k * k * H * W * N > 4e8):
        peers.append(("numpy-im2col", lambda: numpy_im2col_conv(x, w, s, p, d, g)))
    cv2 = _cv2()
    if cv2 is not None and C == 1 and Co == 1 and s == 1 and d == 1:
        peers.append(("opencv", lambda: _cv2_conv(cv2, x, w, p)))
    for name, f in peers:
        _time_peer(suite, cid, nt, name, f, ours, t_fc, flops / 1e9, "GFLOP/s", reps, memory, rtol=2e-3)
    _scipy_peer(suite, cid, nt, x, w, s, p, d, g, ours, t_fc, flops)


def _network_case(net: str, batch: int, nt: int, reps: int, suite: Suite) -> None:
    """Every convolution layer of ``net`` at ``batch``, float32: fastconv, PyTorch with NCHW
    tensors and with ``channels_last`` ones, and "pytorch-best", the faster of the two per
    layer; then "fastconv-cl", fastconv on the ``channels_last`` input with a channels-last
    result (``memory_format="preserve"``), whose speed-up is PyTorch ``channels_last``'s
    time over its own (the same layout on both sides); then the network's sums (each layer
    times its uses)."""
    torch = _torch()
    rng = np.random.default_rng(0)
    sums: Dict[str, float] = {}
    for i, ((C, H, W, Co, k, s, p, g), uses) in enumerate(sorted(NETWORKS[net]().items(), key=lambda kv: -kv[0][1])):
        cid = f"{net}/b{batch}.{i:02d}"
        x = rng.standard_normal((batch, C, H, W)).astype(np.float32)
        w = rng.standard_normal((Co, C // g, k, k)).astype(np.float32)
        flops = fastconv.conv2d_cost(x.shape, w.shape, s, p, 1, g, bias=False).flops
        ours = fastconv.conv2d(x, w, None, s, p, 1, g, num_threads=nt)
        t_fc, r = time_call(lambda: fastconv.conv2d(x, w, None, s, p, 1, g, num_threads=nt), reps)
        kind = fastconv.explain(x, w, None, s, p, 1, g, num_threads=nt).kind.name
        what = f"{C}->{Co} {k}x{k}/{s} on {H}x{W}" + (f" g{g}" if g > 1 else "") + f", x{uses}, {kind}"
        suite.results.append(Result(cid, nt, "fastconv", t_fc, r, flops / t_fc / 1e9, "GFLOP/s", note=what))
        sums["fastconv"] = sums.get("fastconv", 0.0) + uses * t_fc
        x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        ours_cl = fastconv.conv2d(x_cl, w, None, s, p, 1, g, num_threads=nt, memory_format="preserve")
        check_cl = _close(ours, ours_cl, 2e-3)
        t_cl, r_cl = time_call(
            lambda: fastconv.conv2d(x_cl, w, None, s, p, 1, g, num_threads=nt, memory_format="preserve"), reps
        )
        kind_cl = fastconv.explain(x_cl, w, None, s, p, 1, g, num_threads=nt, memory_format="preserve").kind.name
        sums["fastconv-cl"] = sums.get("fastconv-cl", 0.0) + uses * t_cl
        cl_row = Result(cid, nt, "fastconv-cl", t_cl, r_cl, flops / t_cl / 1e9, "GFLOP/s", check=check_cl)
        cl_row.note = f"{kind_cl}; speed-up: pytorch-cl / fastconv-cl"
        if torch is None:
            suite.results.append(cl_row)
            continue
        best = None
        for name, fmt in (("pytorch", torch.contiguous_format), ("pytorch-cl", torch.channels_last)):
            tx = torch.from_numpy(x).contiguous(memory_format=fmt)
            tw = torch.from_numpy(w).contiguous(memory_format=fmt)
            f = lambda: torch.nn.functional.conv2d(tx, tw, None, s, p, 1, g)  # noqa: E731
            check = _close(ours, f().contiguous().numpy(), 2e-3)
            t, r = time_call(f, reps)
            suite.results.append(Result(cid, nt, name, t, r, flops / t / 1e9, "GFLOP/s", t / t_fc, check))
            sums[name] = sums.get(name, 0.0) + uses * t
            best = t if best is None else min(best, t)
            if name == "pytorch-cl":
                cl_row.speedup = t / t_cl
        assert best is not None
        suite.results.append(Result(cid, nt, "pytorch-best", best, r, flops / best / 1e9, "GFLOP/s", best / t_fc))
        sums["pytorch-best"] = sums.get("pytorch-best", 0.0) + uses * best
        suite.results.append(cl_row)
    total = sums.pop("fastconv")
    total_cl = sums.pop("fastconv-cl")
    suite.results.append(Result(f"{net}/b{batch}", nt, "fastconv", total, reps, note="sum of every conv layer"))
    for name, t in sums.items():
        suite.results.append(Result(f"{net}/b{batch}", nt, name, t, reps, speedup=t / total, note="sum"))
    cl_sum = sums.get("pytorch-cl")
    suite.results.append(
        Result(
            f"{net}/b{batch}",
            nt,
            "fastconv-cl",
            total_cl,
            reps,
            speedup=None if cl_sum is None else cl_sum / total_cl,
            note="sum; speed-up: pytorch-cl / fastconv-cl",
        )
    )


def _cv2_conv(cv2: Any, x: np.ndarray, w: np.ndarray, p: int) -> np.ndarray:
    """filter2D with a zero border; for odd k and pad (k-1)/2 this is conv2d's 'same'."""
    k = w.shape[-1]
    anchor = (k // 2, k // 2)
    img = x[0, 0] if p == k // 2 else np.pad(x[0, 0], p - k // 2)
    return cv2.filter2D(img, -1, w[0, 0], anchor=anchor, borderType=cv2.BORDER_CONSTANT)[None, None]


def _time_peer(
    suite: Suite,
    cid: str,
    nt: int,
    name: str,
    f: Callable[[], Any],
    ours: Any,
    t_fc: float,
    work: float,
    unit: str,
    reps: int,
    memory: bool,
    rtol: float = 1e-3,
) -> None:
    try:
        res = f()
        check = _close(ours, res[0] if isinstance(res, tuple) else res, rtol)
        t, r = time_call(f, reps)
        mem = peak_extra_mb(f) if memory and cid in BIG_CASES else None
        suite.results.append(Result(cid, nt, name, t, r, work / t, unit, t / t_fc, check, mem))
    except Exception as exc:  # a peer that cannot run this case is reported, not fatal
        suite.results.append(Result(cid, nt, name, None, 0, check="skipped", note=f"{type(exc).__name__}: {exc}"))


def _scipy_peer(
    suite: Suite,
    cid: str,
    nt: int,
    x: np.ndarray,
    w: np.ndarray,
    s: int,
    p: int,
    d: int,
    g: int,
    ours: Any,
    t_fc: float,
    flops: int,
) -> None:
    scipy_conv(x[:1], w, s, p, d, g, channels=1)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    one = scipy_conv(x[:1], w, s, p, d, g, channels=1)
    t_one = time.perf_counter() - t0
    est = t_one * x.shape[0] * w.shape[0]
    check = _close(ours[:1, :1], one, 2e-3)
    if est > 20:
        suite.results.append(
            Result(
                cid,
                nt,
                "scipy-correlate",
                est,
                1,
                flops / est / 1e9,
                "GFLOP/s",
                est / t_fc,
                check,
                note="~ extrapolated from one output channel",
            )
        )
        return
    f = lambda: scipy_conv(x, w, s, p, d, g)  # noqa: E731
    if est > 1:
        t0 = time.perf_counter()
        f()
        t, r = time.perf_counter() - t0, 1
    else:
        t, r = time_call(f, 7)
    suite.results.append(Result(cid, nt, "scipy-correlate", t, r, flops / t / 1e9, "GFLOP/s", t / t_fc, check))


def _pool_case(cid: str, nt: int, reps: int, suite: Suite, memory: bool) -> None:
    c = POOL_CASES[cid]
    x = np.random.default_rng(1).standard_normal(c["shape"]).astype(np.float32)
    k, s, p = c["k"], c["s"], c["p"]
    torch = _torch()
    variants = [False, True] if c["op"] == "max" else [False]
    for with_idx in variants:
        label = cid + ("+idx" if with_idx else "")
        if c["op"] == "max":
            f_fc = lambda: fastconv.max_pool2d(x, k, s, p, return_indices=with_idx, num_threads=nt)  # noqa: E731
        else:
            f_fc = lambda: fastconv.avg_pool2d(
                x,
                k,
                s,
                p,
                c["ceil_mode"],
                c["count_include_pad"],  # noqa: E731
                num_threads=nt,
            )
        ours: Any = f_fc()
        out_v: np.ndarray = ours[0] if with_idx else ours
        nbytes = x.nbytes + out_v.nbytes + (ours[1].nbytes if with_idx else 0)
        t_fc, r = time_call(f_fc, reps)
        suite.results.append(Result(label, nt, "fastconv", t_fc, r, nbytes / t_fc / 1e9, "GB/s"))
        peers: List[Tuple[str, Callable[[], Any]]] = []
        if torch is not None:
            tx = torch.from_numpy(x)
            if c["op"] == "max":
                peers.append(
                    (
                        "pytorch",
                        lambda: _torch_tuple(torch.nn.functional.max_pool2d(tx, k, s, p, return_indices=with_idx)),
                    )
                )
            else:
                peers.append(
                    (
                        "pytorch",
                        lambda: torch.nn.functional.avg_pool2d(
                            tx, k, s, p, c["ceil_mode"], c["count_include_pad"]
                        ).numpy(),
                    )
                )
        if c["op"] == "max" and not with_idx:
            peers.append(("numpy", lambda: numpy_max_pool(x, k, s, p)))
        if c["op"] == "max" and with_idx and p == 0:
            peers.append(("numpy", lambda: numpy_max_pool_indices(x, k, s)))
        for name, f in peers:
            _time_peer(suite, label, nt, name, f, out_v, t_fc, nbytes / 1e9, "GB/s", reps, False)


def _torch_tuple(res: Any) -> Any:
    return tuple(t.numpy() for t in res) if isinstance(res, tuple) else res.numpy()


def _image_case(cid: str, nt: int, reps: int, suite: Suite, memory: bool) -> None:
    from scipy import ndimage, signal

    from fastconv.signal import auto_method

    c = IMAGE_CASES[cid]
    rng = np.random.default_rng(2)
    img = rng.standard_normal(c["shape"]).astype(np.float32)
    kh, kw = c["k"]
    if c.get("gaussian"):
        g = np.exp(-((np.arange(kh) - kh // 2) ** 2) / (2 * 1.5**2))
        ker = np.outer(g, g).astype(np.float32)
        ker /= ker.sum()
    else:
        ker = rng.standard_normal((kh, kw)).astype(np.float32)
    mode, boundary = c["mode"], c["boundary"]
    # flops are counted for the work each implementation does: kH*kW multiply-adds per
    # pixel for a 2-D filter, kH + kW for two 1-D passes (a separable kernel)
    flops = 2 * img.size * kh * kw
    flops_1d = 2 * img.size * (kh + kw)
    f_fc = lambda: fastconv.correlate2d(img, ker, mode, boundary, num_threads=nt)  # noqa: E731
    ours = f_fc()
    t_fc, r = time_call(f_fc, reps)
    mem = peak_extra_mb(f_fc) if memory and cid in BIG_CASES else None
    method = auto_method(ker, ours.shape[-2] * ours.shape[-1])
    suite.results.append(
        Result(
            cid,
            nt,
            "fastconv",
            t_fc,
            r,
            (flops_1d if method == "separable" else flops) / t_fc / 1e9,
            "GFLOP/s",
            peak_extra_mb=mem,
            note=f"method={method}",
        )
    )
    nd_mode = {"fill": "constant", "wrap": "wrap", "symm": "reflect"}[boundary]
    planes = img if img.ndim == 3 else img[None]
    peers: List[Tuple[str, Callable[[], Any]]] = []
    # ndimage.correlate centres even kernels differently; all cases here use odd kernels
    peers.append(
        (
            "scipy-ndimage",
            lambda: np.stack([ndimage.correlate(pl, ker, mode=nd_mode) for pl in planes]).reshape(ours.shape),
        )
    )
    if boundary == "fill":
        peers.append(
            (
                "scipy-correlate-auto",
                lambda: np.stack([signal.correlate(pl, ker, mode="same", method="auto") for pl in planes]).reshape(
                    ours.shape
                ),
            )
        )
    cv2 = _cv2()
    if cv2 is not None:
        border = {"fill": cv2.BORDER_CONSTANT, "wrap": cv2.BORDER_WRAP, "symm": cv2.BORDER_REFLECT}[boundary]
        if boundary != "wrap":  # filter2D does not support BORDER_WRAP
            peers.append(
                (
                    "opencv",
                    lambda: np.stack([cv2.filter2D(pl, -1, ker, borderType=border) for pl in planes]).reshape(
                        ours.shape
                    ),
                )
            )
    for name, f in peers:
        _time_peer(suite, cid, nt, name, f, ours, t_fc, flops / 1e9, "GFLOP/s", reps, memory, rtol=2e-3)
    if c.get("gaussian"):
        # the fair peer of a separable kernel: SciPy's own two 1-D passes
        g1 = np.ascontiguousarray(ker.sum(axis=1) / np.sqrt(ker.sum()), dtype=np.float32)

        def two_pass() -> np.ndarray:
            rows = [ndimage.correlate1d(pl, g1, axis=-1, mode=nd_mode) for pl in planes]
            return np.stack([ndimage.correlate1d(pl, g1, axis=-2, mode=nd_mode) for pl in rows]).reshape(ours.shape)

        _time_peer(
            suite, cid, nt, "scipy-correlate1d-x2", two_pass, ours, t_fc, flops_1d / 1e9, "GFLOP/s", reps, memory, 2e-3
        )
    # scipy.signal.correlate2d: brute force and single-threaded; one timed run
    if img.ndim == 2:
        t0 = time.perf_counter()
        ref = signal.correlate2d(img, ker, mode, boundary)
        t = time.perf_counter() - t0
        suite.results.append(
            Result(cid, nt, "scipy-correlate2d", t, 1, flops / t / 1e9, "GFLOP/s", t / t_fc, _close(ours, ref, 2e-3))
        )


def roofline(reps: int = 5) -> Dict[str, float]:
    """This CPU's reachable peaks: NumPy float32 matmul 2048^3 (BLAS) and a large copy."""
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    t, _ = time_call(lambda: a @ a, reps)
    big = np.ones(64 << 20, dtype=np.uint8)
    dst = np.empty_like(big)
    tc, _ = time_call(lambda: np.copyto(dst, big), reps)
    return {"sgemm_gflops": 2 * 2048**3 / t / 1e9, "copy_gbps": 2 * big.nbytes / tc / 1e9}


# ----------------------------------------------------------------------------- gradients


def _blas_threads(n: int) -> Any:
    """NumPy's BLAS (conv2d_weight's reductions, Linear layers) limited to n threads, like
    fastconv's and PyTorch's, when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(n, user_api="blas")


def _grad_case(cid: str, nt: int, reps: int, suite: Suite, memory: bool) -> None:
    # the training cases run NumPy's BLAS (the Linear layers) on one thread, as `fastconv
    # train` does: BLAS threads spinning beside fastconv's OpenMP team compete for the
    # same cores
    with _blas_threads(1 if cid in ("B4", "B5") else nt):
        {"B1": _b1, "B2": _b2, "B3": _b3, "B4": _b4, "B5": _b5}[cid](nt, reps, suite, memory)


def _b1(nt: int, reps: int, suite: Suite, memory: bool) -> None:
    from fastconv import grad

    torch = _torch()
    for conv in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C10"):
        N, C, H, W, Co, k, s, p, d, g = CONV_CASES[conv]
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N, C, H, W)).astype(np.float32)
        w = rng.standard_normal((Co, C // g, k, k)).astype(np.float32)
        go = rng.standard_normal(fastconv.conv2d_output_shape(x.shape, w.shape, s, p, d)).astype(np.float32)
        flops = fastconv.conv2d_cost(x.shape, w.shape, s, p, d, g, bias=False).flops / 1e9
        for part in ("input", "weight"):
            cid = f"B1/{conv}.{part}"
            if part == "input":
                f = lambda: grad.conv2d_input(x.shape, w, go, s, p, d, g)  # noqa: E731
            else:
                f = lambda: grad.conv2d_weight(x, w.shape, go, s, p, d, g)  # noqa: E731
            ours = f()
            t_fc, r = time_call(f, reps)
            mem = peak_extra_mb(f) if memory and cid in BIG_CASES else None
            suite.results.append(Result(cid, nt, "fastconv", t_fc, r, flops / t_fc, "GFLOP/s", peak_extra_mb=mem))
            if torch is not None:
                tx, tw, tg = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(go)
                if part == "input":
                    tf = lambda: torch.nn.grad.conv2d_input(x.shape, tw, tg, s, p, d, g)  # noqa: E731
                else:
                    tf = lambda: torch.nn.grad.conv2d_weight(tx, w.shape, tg, s, p, d, g)  # noqa: E731
                _time_peer(suite, cid, nt, "pytorch", tf, ours, t_fc, flops, "GFLOP/s", reps, memory, rtol=2e-3)


def _b2(nt: int, reps: int, suite: Suite, memory: bool) -> None:
    from fastconv import grad

    torch = _torch()
    for case in ("P1", "P2", "P4"):
        c = POOL_CASES[case]
        k, s, p = c["k"], c["s"], c["p"]
        x = np.random.default_rng(1).standard_normal(c["shape"]).astype(np.float32)
        cid = f"B2/{case}"
        if c["op"] == "max":
            y, idx = fastconv.max_pool2d(x, k, s, p, return_indices=True)
            go = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
            f = lambda: grad.max_pool2d_input(go, idx, x.shape)  # noqa: E731
        else:
            cm, cip = c["ceil_mode"], c["count_include_pad"]
            y = fastconv.avg_pool2d(x, k, s, p, cm, cip)
            go = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
            f = lambda: grad.avg_pool2d_input(go, x.shape, k, s, p, cm, cip)  # noqa: E731
        ours = f()
        gb = (ours.nbytes + go.nbytes) / 1e9
        t_fc, r = time_call(f, reps)
        suite.results.append(Result(cid, nt, "fastconv", t_fc, r, gb / t_fc, "GB/s"))
        if torch is None:
            continue
        tx, tg = torch.from_numpy(x), torch.from_numpy(go)
        if c["op"] == "max":
            ti = torch.from_numpy(idx)
            tf = lambda: torch.ops.aten.max_pool2d_with_indices_backward(  # noqa: E731
                tg, tx, [k, k], [s, s], [p, p], [1, 1], False, ti
            )
        else:
            tf = lambda: torch.ops.aten.avg_pool2d_backward(tg, tx, [k, k], [s, s], [p, p], cm, cip, None)  # noqa: E731
        _time_peer(suite, cid, nt, "pytorch", tf, ours, t_fc, gb, "GB/s", reps, memory)


def _b3(nt: int, reps: int, suite: Suite, memory: bool) -> None:
    torch = _torch()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 128, 64, 64)).astype(np.float32)
    for name, k, s, p in (("B3/k2s2", 2, 2, 0), ("B3/k4s2p1", 4, 2, 1)):
        w = rng.standard_normal((128, 64, k, k)).astype(np.float32)
        flops = 2 * x.size * 64 * k * k / 1e9
        f = lambda: fastconv.conv_transpose2d(x, w, None, s, p, num_threads=nt)  # noqa: E731
        ours = f()
        t_fc, r = time_call(f, reps)
        suite.results.append(Result(name, nt, "fastconv", t_fc, r, flops / t_fc, "GFLOP/s"))
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            tf = lambda: torch.nn.functional.conv_transpose2d(tx, tw, None, s, p)  # noqa: E731
            _time_peer(suite, name, nt, "pytorch", tf, ours, t_fc, flops, "GFLOP/s", reps, memory, rtol=2e-3)


def _lenet_pair(torch: Any) -> Tuple[Any, Any]:
    """The classic LeNet (CIFAR-10 sized) in fastconv, and in PyTorch with the same weights."""
    from fastconv import nn

    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 5, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(400, 120, rng=rng),
        nn.ReLU(),
        nn.Linear(120, 84, rng=rng),
        nn.ReLU(),
        nn.Linear(84, 10, rng=rng),
    )
    if torch is None:
        return model, None
    tnn = torch.nn
    tm = tnn.Sequential(
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
    )
    tm.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    return model, tm


def _b4(nt: int, reps: int, suite: Suite, memory: bool) -> None:
    from fastconv import nn, optim

    torch = _torch()
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model, tm = _lenet_pair(torch)
    opt = optim.SGD(model, lr=1e-3, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> Any:
        with fastconv.threads(nt):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
        return np.asarray(loss)

    ours = step()  # the first step's loss, from the shared initial weights
    t_fc, r = time_call(step, reps)
    suite.results.append(Result("B4", nt, "fastconv", t_fc, r, note="forward, backward, SGD step; BLAS 1 thread"))
    if torch is None:
        return
    topt = torch.optim.SGD(tm.parameters(), lr=1e-3, momentum=0.9)
    tloss = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def tstep() -> Any:
        topt.zero_grad()
        loss = tloss(tm(tx), ty)
        loss.backward()
        topt.step()
        return loss.detach().numpy()

    _time_peer(suite, "B4", nt, "pytorch", tstep, ours, t_fc, 1.0, "steps", reps, False, rtol=1e-4)
    suite.results[-1].rate = None


def _b5(nt: int, reps: int, suite: Suite, memory: bool) -> None:
    try:
        from fastconv import train

        train.require("sklearn", "bench case B5")
    except ImportError as exc:
        suite.results.append(Result("B5", nt, "fastconv", None, 0, check="skipped", note=str(exc)))
        return
    times = []
    acc = 0.0
    for _ in range(max(3, reps // 2)):
        with fastconv.threads(nt):
            _, hist = train.fit(epochs=1, seed=0)
        times.append(hist.seconds[0])
        acc = hist.test_accuracy[0]
    t = float(np.median(times))
    suite.results.append(
        Result("B5", nt, "fastconv", t, len(times), note=f"one epoch, held-out accuracy {100 * acc:.1f}% after it")
    )


# ----------------------------------------------------------------------------- N-D and layouts


def _volume_case(cid: str, nt: int, reps: int, suite: Suite, memory: bool) -> None:
    import scipy.ndimage
    import scipy.signal

    torch = _torch()
    rng = np.random.default_rng(5)
    peers: List[Tuple[str, Callable[[], Any]]] = []
    if cid == "V1":
        v = rng.standard_normal((256, 256, 256)).astype(np.float32)
        k = rng.standard_normal((5, 5, 5)).astype(np.float32)
        f = lambda: fastconv.correlate(v, k, "same", num_threads=nt)  # noqa: E731
        work, unit = 2 * v.size * k.size / 1e9, "GFLOP/s"
        peers.append(("scipy-correlate", lambda: scipy.signal.correlate(v, k, "same")))
        peers.append(("scipy-ndimage", lambda: scipy.ndimage.correlate(v, k, mode="constant")))
        if torch is not None:
            tv, tk = torch.from_numpy(v)[None, None], torch.from_numpy(k)[None, None]
            peers.append(("pytorch", lambda: torch.nn.functional.conv3d(tv, tk, padding=2)[0, 0]))
    elif cid == "V2":
        x = rng.standard_normal((2, 16, 16, 112, 112)).astype(np.float32)
        w = rng.standard_normal((32, 16, 3, 3, 3)).astype(np.float32)
        f = lambda: fastconv.conv3d(x, w, padding=1, num_threads=nt)  # noqa: E731
        work, unit = 2 * 2 * 32 * 16 * 27 * 16 * 112 * 112 / 1e9, "GFLOP/s"
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            peers.append(("pytorch", lambda: torch.nn.functional.conv3d(tx, tw, padding=1)))
    elif cid == "V3":
        sig = rng.standard_normal(10**7).astype(np.float32)
        k1 = rng.standard_normal(101).astype(np.float32)
        f = lambda: fastconv.correlate(sig, k1, "same", num_threads=nt)  # noqa: E731
        work, unit = 2 * sig.size * k1.size / 1e9, "GFLOP/s"
        peers.append(("scipy-correlate", lambda: scipy.signal.correlate(sig, k1, "same")))
        peers.append(("numpy-convolve", lambda: np.convolve(sig, k1[::-1], "same")))
    elif cid == "V4":
        x = rng.standard_normal((32, 64, 4096)).astype(np.float32)
        w = rng.standard_normal((64, 64, 9)).astype(np.float32)
        f = lambda: fastconv.conv1d(x, w, padding=4, num_threads=nt)  # noqa: E731
        work, unit = 2 * 32 * 64 * 4096 * 64 * 9 / 1e9, "GFLOP/s"
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            peers.append(("pytorch", lambda: torch.nn.functional.conv1d(tx, tw, padding=4)))
    elif cid == "V6":
        img = rng.random((3000, 4000, 3)).astype(np.float32)
        g1 = np.exp(-0.5 * ((np.arange(15) - 7) / 2.5) ** 2)
        kk = (np.outer(g1, g1) / np.outer(g1, g1).sum()).astype(np.float32)
        f = lambda: fastconv.correlate(img, kk[:, :, None], "same", axes=(0, 1), num_threads=nt)  # noqa: E731
        work, unit = 2 * img.size * kk.size / 1e9, "GFLOP/s"
        peers.append(
            (
                "scipy-ndimage",
                lambda: np.stack([scipy.ndimage.correlate(img[:, :, c], kk, mode="constant") for c in range(3)], -1),
            )
        )
        cv2 = _cv2()
        if cv2 is not None:
            peers.append(("opencv", lambda: cv2.filter2D(img, -1, kk, borderType=cv2.BORDER_CONSTANT)))
    else:  # V5: channels-last input of C5, C6, C7
        for conv in ("C5", "C6", "C7"):
            N, C, H, W, Co, kk5, st, p, d, g = CONV_CASES[conv]
            x = rng.standard_normal((N, C, H, W)).astype(np.float32)
            w = rng.standard_normal((Co, C // g, kk5, kk5)).astype(np.float32)
            xcl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # NHWC memory, NCHW shape
            flops = fastconv.conv2d_cost(x.shape, w.shape, st, p, d, g, bias=False).flops / 1e9
            f = lambda: fastconv.conv2d(  # noqa: E731
                xcl, w, None, st, p, d, g, num_threads=nt, memory_format="preserve"
            )
            ours = f()
            t_fc, r = time_call(f, reps)
            name = f"V5/{conv}"
            suite.results.append(
                Result(name, nt, "fastconv", t_fc, r, flops / t_fc, "GFLOP/s", note="NHWC input and result")
            )
            own = lambda: fastconv.conv2d(x, w, None, st, p, d, g, num_threads=nt)  # noqa: E731
            _time_peer(suite, name, nt, "fastconv-nchw", own, ours, t_fc, flops, "GFLOP/s", reps, False, rtol=2e-3)
            if torch is not None:
                tx = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
                tw = torch.from_numpy(w).contiguous(memory_format=torch.channels_last)
                tf = lambda: torch.nn.functional.conv2d(tx, tw, None, st, p, d, g)  # noqa: E731
                _time_peer(suite, name, nt, "pytorch-cl", tf, ours, t_fc, flops, "GFLOP/s", reps, False, rtol=2e-3)
        for pool in ("P1", "P2", "P4"):  # pooling of channels-last data, result channels-last too
            c = POOL_CASES[pool]
            kk, ps, pp = c["k"], c["s"], c["p"]
            x = rng.standard_normal(c["shape"]).astype(np.float32)
            xcl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
            if c["op"] == "max":
                f = lambda: fastconv.max_pool2d(xcl, kk, ps, pp, num_threads=nt, memory_format="preserve")  # noqa: E731
                own = lambda: fastconv.max_pool2d(x, kk, ps, pp, num_threads=nt)  # noqa: E731
            else:
                extra = dict(ceil_mode=c["ceil_mode"], count_include_pad=c["count_include_pad"])
                f = lambda: fastconv.avg_pool2d(xcl, kk, ps, pp, **extra, num_threads=nt, memory_format="preserve")  # noqa: E731
                own = lambda: fastconv.avg_pool2d(x, kk, ps, pp, **extra, num_threads=nt)  # noqa: E731
            ours = f()
            t_fc, r = time_call(f, reps)
            gbytes = (x.nbytes + ours.nbytes) / 1e9
            name = f"V5/{pool}"
            suite.results.append(Result(name, nt, "fastconv", t_fc, r, gbytes / t_fc, "GB/s", note="NHWC in and out"))
            _time_peer(suite, name, nt, "fastconv-nchw", own, ours, t_fc, gbytes, "GB/s", reps, False)
            if torch is not None:
                tx = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
                if c["op"] == "max":
                    tf = lambda: torch.nn.functional.max_pool2d(tx, kk, ps, pp)  # noqa: E731
                else:
                    tf = lambda: torch.nn.functional.avg_pool2d(tx, kk, ps, pp, **extra)  # noqa: E731
                _time_peer(suite, name, nt, "pytorch-cl", tf, ours, t_fc, gbytes, "GB/s", reps, False)
        return
    ours = f()
    t_fc, r = time_call(f, reps)
    mem = peak_extra_mb(f) if memory and cid in BIG_CASES else None
    suite.results.append(Result(cid, nt, "fastconv", t_fc, r, work / t_fc, unit, peak_extra_mb=mem))
    for name, pf in peers:
        _time_peer(suite, cid, nt, name, pf, ours, t_fc, work, unit, reps, memory, rtol=2e-3)


# ----------------------------------------------------------------------------- driver


def run(
    cases: Optional[Sequence[str]] = None,
    threads: Optional[Sequence[int]] = None,
    quick: bool = False,
    reps: Optional[int] = None,
    memory: bool = True,
    progress: Optional[Callable[[int, int, str], None]] = None,
    networks: Optional[Sequence[str]] = None,
    report: Optional[Callable[[Suite, List[Result]], None]] = None,
) -> Suite:
    """Run the suite and return its results.

    Parameters
    ----------
    cases : sequence of str, optional
        Case ids (C1-C10, P1-P4, I1-I3, B1-B5, V1-V6); all by default, ``QUICK_CASES`` with ``quick``.
    threads : sequence of int, optional
        Thread counts; by default 1 and all cores.
    quick : bool
        The one-minute subset, 3 repetitions.
    reps : int, optional
        Timings per measurement (default 7, or 3 with ``quick``).
    networks : sequence of str, optional
        Networks of :data:`NETWORKS` to run layer by layer at each of NETWORK_BATCHES
        (instead of the cases, unless ``cases`` names some).
    progress : callable, optional
        ``progress(i, n, label)`` before job ``i`` of ``n`` (0-based) starts.
    report : callable, optional
        ``report(suite, rows)`` after each job, with the rows it added (to print results as
        they come).
    """
    all_ids = list(CONV_CASES) + list(POOL_CASES) + list(IMAGE_CASES) + list(GRAD_CASES) + list(VOLUME_CASES)
    nets = list(networks or ())
    bad_nets = [n for n in nets if n not in NETWORKS]
    if bad_nets:
        raise ValueError(f"bench: unknown network(s) {bad_nets}; known: {', '.join(NETWORKS)}")
    ids = list(cases) if cases else ([] if nets else list(QUICK_CASES) if quick else all_ids)
    unknown = [c for c in ids if c not in all_ids]
    if unknown:
        raise ValueError(f"bench: unknown case(s) {unknown}; known: {', '.join(all_ids)}")
    ncpu = os.cpu_count() or 1
    ths = list(threads) if threads else sorted({1, ncpu})
    reps = reps or (3 if quick else 7)
    suite = Suite(machine=_machine())
    if not quick and ids:
        suite.machine.update(roofline())
    jobs = [(c, t) for t in ths for c in ids] + [(f"{n}/b{b}", t) for t in ths for n in nets for b in NETWORK_BATCHES]
    t_start = time.perf_counter()
    for i, (cid, nt) in enumerate(jobs):
        label = f"{cid} threads={nt}"
        if progress:
            progress(i, len(jobs), label)
        t_job, first = time.perf_counter(), len(suite.results)
        _set_threads(nt)
        warm_memory()
        if "/b" in cid:
            net, batch = cid.split("/b")
            _network_case(net, int(batch), nt, reps, suite)
        elif cid in CONV_CASES:
            _conv_case(cid, nt, reps, suite, memory)
        elif cid in POOL_CASES:
            _pool_case(cid, nt, reps, suite, memory)
        elif cid in GRAD_CASES:
            _grad_case(cid, nt, reps, suite, memory)
        elif cid in VOLUME_CASES:
            _volume_case(cid, nt, reps, suite, memory)
        else:
            _image_case(cid, nt, reps, suite, memory)
        suite.seconds[label] = time.perf_counter() - t_job
        if report:
            report(suite, suite.results[first:])
    suite.seconds["total"] = time.perf_counter() - t_start
    return suite


def _machine() -> Dict[str, Any]:
    from fastconv._config import config

    cfg = config()
    torch = _torch()
    cv2 = _cv2()
    import scipy

    return {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "simd": cfg["simd"],
        "fastconv": cfg["fastconv"],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch": getattr(torch, "__version__", None),
        "opencv": getattr(cv2, "__version__", None),
    }


def format_header(machine: Dict[str, Any]) -> str:
    """The table's first lines: the machine, the roofline, the column names."""
    m = machine
    lines = [
        f"fastconv {m.get('fastconv')}  {m.get('date')}  {m.get('cores')} cores  SIMD {m.get('simd')}  "
        f"numpy {m.get('numpy')}  scipy {m.get('scipy')}  torch {m.get('torch')}  opencv {m.get('opencv')}"
    ]
    if "sgemm_gflops" in m:
        lines.append(f"roofline: NumPy sgemm 2048^3 {m['sgemm_gflops']:.0f} GFLOP/s, copy {m['copy_gbps']:.1f} GB/s")
    hdr = (
        f"{'case':<14}{'thr':>4}  {'implementation':<22}{'median':>12}{'rate':>18}{'speed-up':>10}  "
        f"{'check':<8}{'peak MB':>9}  note"
    )
    return "\n".join(lines + [hdr, "-" * len(hdr)])


def format_rows(rows: Sequence[Result]) -> str:
    """One table line per result."""
    lines = []
    for r in rows:
        t = "-" if r.time_s is None else (f"{r.time_s * 1e3:10.3f} ms")
        rate = "" if r.rate is None else f"{r.rate:9.2f} {r.unit}"
        sp = "" if r.speedup is None else f"{r.speedup:9.2f}x"
        mem = "" if r.peak_extra_mb is None else f"{r.peak_extra_mb:8.1f}"
        approx = "~" if r.note.startswith("~") else " "
        lines.append(
            f"{r.case:<14}{r.threads:>4}  {r.impl:<22}{approx}{t:>11}{rate:>18}{sp:>10}  {r.check:<8}{mem:>9}  {r.note}"
        )
    return "\n".join(lines)


def format_table(suite: Suite) -> str:
    """The whole table: :func:`format_header` and one line per result."""
    return format_header(suite.machine) + "\n" + format_rows(suite.results)


def to_json(suite: Suite) -> str:
    return json.dumps(
        {"machine": suite.machine, "results": [asdict(r) for r in suite.results], "seconds": suite.seconds}, indent=1
    )


def plot(suite: Suite, path: str) -> None:
    """Bar chart of fastconv's speed-up over each peer (log scale), one panel per thread count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ths = sorted({r.threads for r in suite.results})
    fig, axes = plt.subplots(len(ths), 1, figsize=(12, 4 * len(ths)), squeeze=False)
    for ax, nt in zip(axes[:, 0], ths):
        rows = [r for r in suite.results if r.threads == nt and r.speedup]
        peers = sorted({r.impl for r in rows})
        cases = list(dict.fromkeys(r.case for r in rows))
        width = 0.8 / max(len(peers), 1)
        for i, peer in enumerate(peers):
            vals = [next((r.speedup for r in rows if r.case == c and r.impl == peer), 0) for c in cases]
            ax.bar(np.arange(len(cases)) + i * width, vals, width, label=peer)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(cases)) + 0.4 - width / 2)
        ax.set_xticklabels(cases, rotation=45)
        ax.set_ylabel("fastconv speed-up (peer time / ours)")
        ax.set_title(f"{nt} thread(s)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
