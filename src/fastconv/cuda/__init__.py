"""CuPy back end.  Importing this package does not import CuPy; CuPy is looked up lazily."""

from __future__ import annotations

import importlib.util
from typing import Any, Optional


def cupy_version() -> Optional[str]:
    """CuPy's version if it is installed, else None (without importing it)."""
    if importlib.util.find_spec("cupy") is None:
        return None
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return "unknown"
    for dist in ("cupy", "cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x"):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "unknown"


def is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def _missing(*_: Any, **__: Any) -> Any:
    raise NotImplementedError("fastconv: the CuPy back end is not available in this build")


conv2d = max_pool2d = avg_pool2d = max_unpool2d = correlate2d = _missing
