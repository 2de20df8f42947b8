import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except Exception:  # pragma: no cover - torch is optional
    HAVE_TORCH = False


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")


@pytest.fixture(params=[64, 32], ids=["vec64", "vec32"])
def vector_width(request):
    """Run a test with the widest convolution kernels this CPU has, then with the 32-byte
    (AVX2/baseline) ones, so an AVX-512 machine tests both: the conv2d calls of
    ``helpers`` force the width per call."""
    from fastconv import _plan

    import helpers

    helpers.FORCING["vector_bytes"] = request.param
    try:
        yield _plan.vector_bytes(_plan.Force(vector_bytes=request.param))
    finally:
        helpers.FORCING.pop("vector_bytes")
