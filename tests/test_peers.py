"""The peers' own test inputs, taken from the installed packages at test time.

* PyTorch: the OpInfo sample inputs and error inputs of ``nn.functional.conv2d``,
  ``max_pool2d``, ``avg_pool2d`` and ``max_unpool2d``
  (``torch.testing._internal.common_methods_invocations``), each sample run through torch
  and fastconv and compared, each error input refused by fastconv with ValueError/TypeError.
* SciPy: its own ``correlate2d``/``convolve2d`` test classes and ``firwin_2d``'s impulse test,
  run by pytest in a child process with ``scipy.signal.correlate2d``/``convolve2d`` replaced
  by a check (``peer_scipy_plugin``) that compares fastconv with SciPy on every call and
  hands SciPy's assertions fastconv's result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastconv

from conftest import HAVE_TORCH

OPS = ("nn.functional.conv2d", "nn.functional.max_pool2d", "nn.functional.avg_pool2d", "nn.functional.max_unpool2d")

# Error inputs torch refuses that fastconv accepts on purpose (documented policy).
ACCEPTED_ON_PURPOSE = {
    # fastconv promotes mixed dtypes with np.result_type(input, weight, np.float32)
    "should be the same",
}


def _op_db():
    if not HAVE_TORCH:
        pytest.skip("PyTorch is not installed")
    try:
        from torch.testing._internal.common_methods_invocations import op_db
    except Exception as exc:  # e.g. expecttest missing
        pytest.skip(f"torch's OpInfo database cannot be imported: {exc}")
    return [op for op in op_db if op.name in OPS]


def _np(v):
    import torch

    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy()
    if isinstance(v, torch.Size):
        return tuple(v)
    if isinstance(v, (list, tuple)):
        return type(v)(_np(e) for e in v)
    return v


def _fastconv_fn(name):
    return getattr(fastconv, name.rsplit(".", 1)[1])


def _samples(dtype):
    import torch

    tdt = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    out = []
    for op in _op_db():
        for i, s in enumerate(op.sample_inputs("cpu", tdt)):
            out.append(pytest.param(op, s, id=f"{op.name.rsplit('.', 1)[1]}{op.variant_test_name}-{i}"))
    return out


def _compare(op, sample, dtype):
    import torch

    expected = op.op(sample.input, *sample.args, **sample.kwargs)
    got = _fastconv_fn(op.name)(_np(sample.input), *_np(sample.args), **_np(sample.kwargs))
    rtol, atol = (2e-5, 2e-5) if dtype == np.float32 else (1e-12, 1e-12)
    if isinstance(expected, tuple):  # max_pool2d(..., return_indices=True)
        np.testing.assert_allclose(got[0], expected[0].numpy(), rtol=rtol, atol=atol)
        np.testing.assert_array_equal(got[1], expected[1].numpy())
    else:
        assert isinstance(expected, torch.Tensor)
        np.testing.assert_allclose(got, expected.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_torch_opinfo_samples(dtype):
    """Every OpInfo sample of the four ops (about 1,800 per dtype) against torch itself."""
    ops = _op_db()
    import torch

    tdt = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    counts = {}
    for op in ops:
        for i, sample in enumerate(op.sample_inputs("cpu", tdt)):
            try:
                _compare(op, sample, dtype)
            except Exception as exc:
                raise AssertionError(
                    f"{op.name}{op.variant_test_name} sample {i}: input "
                    f"{tuple(sample.input.shape)}, args {_np(sample.args)!r}, kwargs "
                    f"{_np(sample.kwargs)!r}: {exc}"
                ) from exc
            counts[op.name] = counts.get(op.name, 0) + 1
    assert set(counts) == set(OPS), counts


@pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
def test_torch_opinfo_error_inputs():
    """Every OpInfo error input torch refuses is refused by fastconv with a clear
    ValueError/TypeError (and nothing else), except the documented dtype promotion."""
    checked = 0
    for op in _op_db():
        if op.error_inputs_func is None:
            continue
        for err in op.error_inputs("cpu"):
            s = err.sample_input
            if any(p in err.error_regex for p in ACCEPTED_ON_PURPOSE):
                continue
            with pytest.raises((ValueError, TypeError)):
                _fastconv_fn(op.name)(_np(s.input), *_np(s.args), **_np(s.kwargs))
            checked += 1
    assert checked >= 20


def test_scipy_own_tests_on_fastconv(tmp_path):
    """SciPy's own correlate2d/convolve2d tests (and firwin_2d's impulse response) with
    fastconv's results, every call also compared with SciPy's."""
    pytest.importorskip("scipy.signal.tests.test_signaltools")
    report = tmp_path / "report.json"
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(
        os.environ, FASTCONV_PEER_REPORT=str(report), PYTHONPATH=here + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    targets = ["scipy.signal.tests.test_signaltools"]
    try:
        import scipy.signal.tests.test_fir_filter_design  # noqa: F401

        targets.append("scipy.signal.tests.test_fir_filter_design")
    except ImportError:
        pass
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "peer_scipy_plugin",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--pyargs",
        *targets,
        "-k",
        "Convolve2d or Correlate2d or firwin_2d or convolve2d or correlate2d",
        "-W",
        "ignore::pytest.PytestUnknownMarkWarning",
        "--rootdir",
        str(tmp_path),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, cwd=str(tmp_path))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    counts = json.loads(report.read_text())
    # SciPy 1.17's tests make about 40 calls: 24 real ones compared, 10 refused by both, 7
    # complex (not computed by fastconv)
    assert counts["compared"] >= 20, counts
    assert counts["mismatch"] == 0, counts
