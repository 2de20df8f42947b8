"""GPU benchmark: fastconv's CUDA kernels (CuPy arrays) against PyTorch CUDA (cuDNN).

Runs the convolution and pooling cases of the suite (fastconv.bench) on the current CUDA
device, checks fastconv's result against PyTorch's, and prints the median time of each and
the ratio cuDNN time / fastconv time (> 1: fastconv is faster).  Timings use CUDA events
around ``reps`` launches after a warm-up (which also compiles the kernels).

    python benchmarks/gpu.py [--cases C1,C5,P1] [--reps 20] [--json PATH]

Needs CuPy and a GPU; PyTorch with CUDA is the peer when installed (without it only
fastconv's times are printed).  Exits with status 2 when no GPU is usable.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

import fastconv
import fastconv.cuda
from fastconv.bench import CONV_CASES, POOL_CASES


def _time(f: Callable[[], Any], reps: int) -> float:
    """Median milliseconds of f() measured with CUDA events."""
    import cupy

    f()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(reps):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        f()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def _torch_cuda() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def run(cases: List[str], reps: int) -> List[Dict[str, Any]]:
    import cupy

    torch = _torch_cuda()
    rows = []
    rng = np.random.default_rng(0)
    variants: Dict[str, Tuple[Callable[[], Any], Callable[..., Any]]]
    for cid in cases:
        if cid in CONV_CASES:
            N, C, H, W, Co, k, s, p, d, g = CONV_CASES[cid]
            x = cupy.asarray(rng.standard_normal((N, C, H, W), dtype=np.float32))
            w = cupy.asarray(rng.standard_normal((Co, C // g, k, k), dtype=np.float32))
            variants = {
                "": (
                    lambda: fastconv.conv2d(x, w, None, s, p, d, g),
                    (lambda tx, tw: torch.nn.functional.conv2d(tx, tw, None, s, p, d, g)),
                )
            }
            args: tuple = (x, w)
        else:
            cfg = POOL_CASES[cid]
            x = cupy.asarray(rng.standard_normal(cfg["shape"], dtype=np.float32))
            args = (x,)
            if cfg["op"] == "max":
                variants = {}
                for idx in (False, True):

                    def ours_max(idx: bool = idx) -> Any:
                        return fastconv.max_pool2d(x, cfg["k"], cfg["s"], cfg["p"], return_indices=idx)

                    def torch_max(tx: Any, idx: bool = idx) -> Any:
                        return torch.nn.functional.max_pool2d(tx, cfg["k"], cfg["s"], cfg["p"], return_indices=idx)

                    variants["+idx" if idx else ""] = (ours_max, torch_max)
            else:
                variants = {
                    "": (
                        (
                            lambda: fastconv.avg_pool2d(
                                x, cfg["k"], cfg["s"], cfg["p"], cfg["ceil_mode"], cfg["count_include_pad"]
                            )
                        ),
                        (
                            lambda tx: torch.nn.functional.avg_pool2d(
                                tx, cfg["k"], cfg["s"], cfg["p"], cfg["ceil_mode"], cfg["count_include_pad"]
                            )
                        ),
                    )
                }
        for suffix, (ours, theirs) in variants.items():
            row: Dict[str, Any] = {"case": cid + suffix, "fastconv_ms": _time(ours, reps)}
            if torch is not None:
                targs = [torch.as_tensor(a, device="cuda") for a in args]
                ref = theirs(*targs)
                got = ours()
                ref0 = ref[0] if isinstance(ref, tuple) else ref
                got0 = got[0] if isinstance(got, tuple) else got
                err = float(
                    cupy.max(cupy.abs(got0 - cupy.asarray(ref0))) / (cupy.max(cupy.abs(cupy.asarray(ref0))) + 1e-30)
                )
                row["check"] = "ok" if err < 1e-3 else f"MISMATCH {err:.1e}"
                row["cudnn_ms"] = _time(lambda: theirs(*targs), reps)
                row["speed_up"] = row["cudnn_ms"] / row["fastconv_ms"]
            rows.append(row)
            print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    return rows


def main(argv: Any = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join([c for c in CONV_CASES] + [c for c in POOL_CASES]))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json", default=None)
    opts = ap.parse_args(argv)
    if not fastconv.cuda.is_available():
        print("gpu.py: CuPy with a CUDA device is not available", file=sys.stderr)
        return 2
    import cupy

    print(f"device: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}  cupy {cupy.__version__}")
    rows = run([c.strip() for c in opts.cases.split(",") if c.strip()], opts.reps)
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 1 if any(str(r.get("check", "ok")) != "ok" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
