"""pytest plugin for tests/test_peers.py: runs SciPy's own tests with fastconv in the place
of ``scipy.signal.correlate2d`` and ``convolve2d``.

Loaded with ``-p peer_scipy_plugin`` before SciPy's test modules import the functions, it
replaces them by a check that calls SciPy and fastconv on the same arguments and

* when SciPy raises, requires fastconv to raise ValueError or TypeError too, then re-raises
  SciPy's exception (so SciPy's ``assert_raises`` still sees what it expects);
* when SciPy returns a real result, compares fastconv's with it (per element, a few ulps of
  the sum of magnitudes) and returns fastconv's, cast to SciPy's dtype, so that SciPy's own
  assertions judge fastconv;
* hands complex inputs (which fastconv refuses by design) to SciPy, counting them.

Counts go to the JSON file named by ``FASTCONV_PEER_REPORT`` at the end of the session.
"""

from __future__ import annotations

import json
import os

import numpy as np
import scipy.signal

import fastconv

COUNTS = {"compared": 0, "refused_both": 0, "complex_skipped": 0, "mismatch": 0}


def _check(name):
    ref_fn = getattr(scipy.signal, name)
    fast_fn = getattr(fastconv, name)

    def checked(in1, in2, *args, **kwargs):
        try:
            ref = ref_fn(in1, in2, *args, **kwargs)
        except Exception as exc:
            try:
                fast_fn(in1, in2, *args, **kwargs)
            except (ValueError, TypeError):
                COUNTS["refused_both"] += 1
                raise exc from None
            COUNTS["mismatch"] += 1
            raise AssertionError(f"fastconv.{name} accepted arguments SciPy refused ({exc!r})") from None
        a1, a2 = np.asarray(in1), np.asarray(in2)
        if np.iscomplexobj(a1) or np.iscomplexobj(a2) or np.iscomplexobj(ref):
            COUNTS["complex_skipped"] += 1
            return ref
        got = fast_fn(in1, in2, *args, **kwargs)
        # per element: a few ulps of the sum of |products| each output makes
        scale = np.abs(ref_fn(np.abs(a1.astype(np.float64)), np.abs(a2.astype(np.float64)), *args, **_no_fill(kwargs)))
        eps = np.finfo(got.dtype).eps
        ok = got.shape == ref.shape and bool(
            np.all(
                (np.isnan(got) == np.isnan(ref))
                & ((got == ref) | (np.abs(got - ref) <= 16 * eps * (scale + np.abs(ref)) + 1e-300))
            )
        )
        if not ok:
            COUNTS["mismatch"] += 1
            raise AssertionError(
                f"fastconv.{name} differs from SciPy on shapes {a1.shape}, {a2.shape}, args {args}, kwargs {kwargs}"
            )
        COUNTS["compared"] += 1
        if ref.dtype.kind in "iub":
            return np.rint(got).astype(ref.dtype)
        return got.astype(ref.dtype)

    checked.__name__ = name
    checked.__doc__ = ref_fn.__doc__
    return checked


def _no_fill(kwargs):
    """The sum of magnitudes ignores a constant fill (it adds at most |fill| * taps)."""
    return {k: v for k, v in kwargs.items() if k != "fillvalue"}


def _install(name):
    checked = _check(name)
    original = getattr(scipy.signal, name)
    try:  # SciPy's array-API test markers look functions up in this table
        from scipy._lib._array_api import xp_capabilities_table

        if original in xp_capabilities_table:
            xp_capabilities_table[checked] = xp_capabilities_table[original]
    except ImportError:
        pass
    setattr(scipy.signal, name, checked)


_install("correlate2d")
_install("convolve2d")


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("FASTCONV_PEER_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(COUNTS, f)
