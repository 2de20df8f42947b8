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
