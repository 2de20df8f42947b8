"""show_config(): what this build of fastconv is and what it found at run time."""

from __future__ import annotations

import platform
import sys
from typing import Any, Dict, Optional, TextIO

import numpy as np


def config() -> Dict[str, Any]:
    """Return the build and runtime configuration as a dict (what :func:`show_config` prints)."""
    from fastconv import __version__, _buffers, _direct, _omp, cuda

    return {
        "fastconv": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "compiler": _omp.compiler(),
        "openmp": _omp.openmp_enabled(),
        "threads": _omp.get_num_threads(),
        "cpu vendor": _omp.cpu_vendor() or "unknown",
        "L2 cache KiB": _omp.cpu_l2_bytes() // 1024 or "unknown",
        "simd": _omp.simd_level(),
        "simd compiled": _omp.simd_compiled(),
        "conv vector bits": 8 * _direct.cpu_vector_bytes(),
        "buffer cache MiB": _buffers.buffer_cache_info()["limit"] / (1 << 20),
        "cupy": cuda.cupy_version(),
        "gpu": cuda.is_available(),
    }


def show_config(file: Optional[TextIO] = None) -> None:
    """Print the build (compiler, OpenMP, SIMD level), the thread count and the GPU status.

    Parameters
    ----------
    file : text stream, optional
        Where to print; defaults to ``sys.stdout``.
    """
    cfg = config()
    width = max(len(k) for k in cfg)
    out = file if file is not None else sys.stdout
    for key, value in cfg.items():
        if key == "openmp":
            value = "yes" if value else "NO (serial build)"
        elif key in ("cupy",) and value is None:
            value = "not installed"
        elif key == "gpu":
            value = "available" if value else "not available"
        print(f"{key:<{width}} : {value}", file=out)
