"""The ``fastconv`` command: ``info`` (the default), ``demo`` and ``bench``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional

import numpy as np


def _check_against_scipy() -> int:
    """Run conv2d on a real-sized example and compare with a SciPy float64 reference."""
    from scipy.signal import correlate

    import fastconv

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 16, 128, 128)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    fastconv.conv2d(x, w, b, padding=1)  # warm-up
    t0 = time.perf_counter()
    y = fastconv.conv2d(x, w, b, padding=1)
    t_fc = time.perf_counter() - t0
    t0 = time.perf_counter()
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.empty(y.shape)
    for n in range(x.shape[0]):
        for o in range(w.shape[0]):
            ref[n, o] = sum(correlate(xp[n, c], w[o, c].astype(np.float64), mode="valid")
                            for c in range(x.shape[1])) + b[o]
    t_sp = time.perf_counter() - t0
    err = float(np.abs(y - ref).max() / np.abs(ref).max())
    print(f"\nconv2d (2, 16, 128, 128) * (32, 16, 3, 3), padding 1, float32:")
    print(f"  fastconv {t_fc * 1e3:9.2f} ms   scipy.signal.correlate loop {t_sp * 1e3:9.2f} ms "
          f"  speed-up {t_sp / t_fc:7.1f}x   max relative error {err:.1e}")
    ok = err < 1e-5
    print("  result matches SciPy" if ok else "  RESULT DIFFERS FROM SCIPY")
    return 0 if ok else 1


def cmd_info(args: argparse.Namespace) -> int:
    import fastconv

    fastconv.show_config()
    return _check_against_scipy()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fastconv", description="fast CPU 2-D convolution and pooling")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("info", help="build configuration and a conv2d check against SciPy (default)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "info"
    return {"info": cmd_info}[command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
