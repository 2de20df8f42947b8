"""Helpers shared by the tests: random configurations, and per-call plan forcing.

The library has no process-global kernel switches: a test that wants particular kernels
passes a :class:`fastconv._plan.Force` to each call.  The fixtures below (used through
``conftest``) describe what the current test forces, and :func:`conv2d` builds the Force of
every call from that description.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

import fastconv
from fastconv import _plan

MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]

#: What the running test forces: "vector_bytes", "kind" and "tuning" overrides (fixtures
#: fill it and empty it again).
FORCING: Dict[str, Any] = {"tuning": {}}


def force(kind: Optional[_plan.Kind] = None, **tuning: Any) -> _plan.Force:
    """The Force of one call: the running test's, plus ``kind`` and ``tuning`` overrides."""
    merged = dict(FORCING["tuning"])
    merged.update(tuning)
    return _plan.Force(
        kind=kind if kind is not None else FORCING.get("kind"), vector_bytes=FORCING.get("vector_bytes"), tuning=merged
    )


def table() -> Any:
    """The tuning table the running test's calls plan with."""
    return _plan._Table(force())


def conv2d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
    *,
    out=None,
    num_threads=None,
    algorithm="auto",
    kind=None,
):
    """fastconv.conv2d with the running test's Force (and ``kind``, if given)."""
    return fastconv.conv._conv2d(
        input, weight, bias, stride, padding, dilation, groups, padding_mode, out, num_threads, algorithm, force(kind)
    )


def plan(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
    *,
    num_threads=None,
    algorithm="auto",
    kind=None,
) -> _plan.Plan:
    """The plan conv2d would follow with the running test's Force."""
    a = fastconv._args.conv2d_args(input, weight, bias, stride, padding, dilation, groups, padding_mode)
    return _plan.conv2d(a, algorithm, num_threads, force(kind))


def random_config(seed):
    """A random conv2d geometry: groups, channels, kernel, stride, dilation, padding, mode."""
    r = np.random.default_rng(seed)
    groups = int(r.choice([1, 1, 2, 3]))
    cg = int(r.integers(1, 4))
    # up to 5 output channels per group, or enough for whole and partial wide tiles
    coutg = int(r.integers(1, 6)) if r.random() < 0.7 else int(r.integers(6, 30))
    kH, kW = (int(v) for v in r.integers(1, 6, size=2))
    sh, sw = (int(v) for v in r.choice([1, 1, 2, 3], size=2))
    dh, dw = (int(v) for v in r.choice([1, 1, 2, 3], size=2))
    H = int(r.integers(max(1, dh * (kH - 1) - 2), 24))
    W = int(r.integers(max(1, dw * (kW - 1) - 2), 40))
    pads = [int(v) for v in r.integers(0, 4, size=4)]
    # the kernel must fit into the padded input
    pads[1] += max(0, dh * (kH - 1) + 1 - (H + pads[0] + pads[1]))
    pads[3] += max(0, dw * (kW - 1) + 1 - (W + pads[2] + pads[3]))
    mode = MODES[seed % len(MODES)]
    return dict(
        N=int(r.integers(1, 3)),
        C=cg * groups,
        H=H,
        W=W,
        Cout=coutg * groups,
        k=(kH, kW),
        stride=(sh, sw),
        dilation=(dh, dw),
        pads=tuple(pads),
        groups=groups,
        mode=mode,
        bias=bool(r.integers(0, 2)),
    )


def random_pool_config(seed):
    """A random pooling geometry: kernel, stride, padding, dilation, ceil_mode."""
    r = np.random.default_rng(seed)
    k = tuple(int(v) for v in r.integers(1, 5, 2))
    s = tuple(int(v) for v in r.integers(1, 4, 2))
    p = tuple(int(r.integers(0, kk // 2 + 1)) for kk in k)
    d = tuple(int(v) for v in r.choice([1, 1, 2], 2))
    H = int(r.integers(max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]), 16))
    W = int(r.integers(max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1]), 16))
    return dict(shape=(int(r.integers(1, 3)), int(r.integers(1, 4)), H, W), k=k, s=s, p=p, d=d, ceil=bool(seed % 2))
