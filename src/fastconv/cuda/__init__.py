"""CuPy back end: our own CUDA kernels (``kernels.cu``) loaded with ``cupy.RawModule``.

Importing this package does not import CuPy; CuPy is imported on the first call with a CuPy
array.  The public functions of :mod:`fastconv` run the same validation as on the CPU
(:mod:`fastconv._args`) and then call the functions here with validated, normalised
arguments.  Kernels are compiled once per device (NVRTC, templates instantiated through
``name_expressions``) and memoised.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from fastconv import _plan
from fastconv._plan import Kind

SOURCE = Path(__file__).with_name("kernels.cu")
#: The planner's CUDA kinds -> kernel names.
KIND_KERNELS = {Kind.CUDA_DIRECT: "fc_conv2d", Kind.CUDA_IGEMM: "fc_conv2d_igemm"}

KERNELS = ("fc_conv2d", "fc_conv2d_igemm", "fc_max_pool2d", "fc_avg_pool2d", "fc_max_unpool2d")
CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_TILE = 16
_BLOCK = 256
_GEMM_BM = _GEMM_BN = 64  # FC_GEMM_BM / FC_GEMM_BN in kernels.cu


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

        return bool(cupy.cuda.runtime.getDeviceCount() > 0)
    except Exception:
        return False


def name_expressions() -> Tuple[str, ...]:
    """Every template instantiation the back end uses (also compiled by CI's nvcc check)."""
    return tuple(f"{k}<{t}>" for k in KERNELS for t in ("float", "double"))


_MODULES: Dict[int, Any] = {}


def _module(device_id: int) -> Any:
    """The compiled module for one device, built on first use and memoised."""
    mod = _MODULES.get(device_id)
    if mod is None:
        import cupy

        with cupy.cuda.Device(device_id):
            mod = cupy.RawModule(code=SOURCE.read_text(), options=("-std=c++14",), name_expressions=name_expressions())
        _MODULES[device_id] = mod
    return mod


def _kernel(name: str, dtype: np.dtype) -> Any:
    import cupy

    return _module(cupy.cuda.Device().id).get_function(f"{name}<{CTYPES[np.dtype(dtype)]}>")


def _estrides(a: Any) -> Tuple[np.int64, ...]:
    return tuple(np.int64(s // a.itemsize) for s in a.strides)


def _i64(*vals: int) -> Tuple[np.int64, ...]:
    return tuple(np.int64(v) for v in vals)


#: Largest gridDim.z (and .y) CUDA accepts.
MAX_GRID_Z = 65535


def _z_chunks(n: int, per_item: int, fn: str) -> Any:
    """Ranges [n0, n1) of the n samples such that (n1 - n0) * per_item blocks fit gridDim.z."""
    if per_item > MAX_GRID_Z:
        raise ValueError(f"{fn}: {per_item} planes per sample exceed the CUDA grid limit of {MAX_GRID_Z}")
    step = MAX_GRID_Z // per_item
    return [(n0, min(n, n0 + step)) for n0 in range(0, n, step)]


def _blocks(total: int) -> Tuple[int]:
    return ((total + _BLOCK - 1) // _BLOCK,)


def conv2d_kernel(cin_g: int, cout_g: int, kh: int, kw: int) -> str:
    """The kernel conv2d uses for these per-group sizes, as the planner names it
    (:func:`fastconv._plan.cuda`): "fc_conv2d_igemm" for channel-heavy shapes, else
    "fc_conv2d"."""
    return KIND_KERNELS[_plan.cuda(cin_g, cout_g, kh, kw)[0]]


def conv2d(a: Any, out: Any = None, kernel: Optional[str] = None) -> Any:
    """Run a validated :class:`fastconv._args.ConvArgs` on the GPU (``kernel``: force one of
    "fc_conv2d" / "fc_conv2d_igemm"; tests)."""
    import cupy

    x = a.x.astype(a.dtype, copy=False)
    w = cupy.ascontiguousarray(a.w, dtype=a.dtype)
    b = None if a.bias is None else cupy.ascontiguousarray(a.bias, dtype=a.dtype)
    shape = a.out_shape if a.batched else a.out_shape[1:]
    if out is not None:
        if not isinstance(out, cupy.ndarray):
            raise TypeError(f"conv2d: out must be a CuPy array for CuPy inputs, got {type(out).__name__}")
        if tuple(out.shape) != tuple(shape) or out.dtype != a.dtype:
            raise ValueError(
                f"conv2d: out has shape {tuple(out.shape)} and dtype {out.dtype}, the result has "
                f"shape {tuple(shape)} and dtype {a.dtype}"
            )
    N, Cout, Ho, Wo = a.out_shape
    res = cupy.empty(a.out_shape, dtype=a.dtype)
    if N and Ho and Wo:
        _, C, H, W = x.shape
        Cg, kH, kW = w.shape[1:]
        name = kernel or conv2d_kernel(Cg, Cout // a.groups, kH, kW)
        # gridDim.z is at most 65535: samples go in chunks that fit
        per_sample = a.groups if name == "fc_conv2d_igemm" else Cout
        for n0, n1 in _z_chunks(N, per_sample, "conv2d"):
            if name == "fc_conv2d_igemm":
                grid = (
                    (Ho * Wo + _GEMM_BN - 1) // _GEMM_BN,
                    (Cout // a.groups + _GEMM_BM - 1) // _GEMM_BM,
                    (n1 - n0) * a.groups,
                )
            else:
                grid = ((Wo + _TILE - 1) // _TILE, (Ho + _TILE - 1) // _TILE, (n1 - n0) * Cout)
            _kernel(name, a.dtype)(
                grid,
                (_TILE, _TILE, 1),
                (
                    x[n0:n1],
                    w,
                    b if b is not None else np.uint64(0),
                    res[n0:n1],
                    *_i64(
                        C,
                        H,
                        W,
                        Cout,
                        Cg,
                        kH,
                        kW,
                        Ho,
                        Wo,
                        a.stride[0],
                        a.stride[1],
                        a.dilation[0],
                        a.dilation[1],
                        a.pads[0],
                        a.pads[2],
                        a.groups,
                    ),
                    *_estrides(x),
                    np.int32(a.mode),
                    a.dtype.type(0),
                ),
            )
    res = res.reshape(shape)
    if out is not None:
        out[...] = res
        return out
    return res


def correlate2d(
    in1: Any, k: Any, dtype: np.dtype, pads: Tuple[int, int, int, int], mode: int, fill: float, shape: Tuple[int, ...]
) -> Any:
    """correlate2d of (..., H, W) planes with the 2-D kernel ``k`` (already flipped for
    convolve2d) and the given padding, on the GPU."""
    import cupy

    H, W = in1.shape[-2:]
    x = in1.reshape((-1, 1, H, W)).astype(dtype, copy=False)
    kk = cupy.ascontiguousarray(k, dtype=dtype)[None, None]
    kh, kw = kk.shape[2:]
    Ho, Wo = shape[-2:]
    res = cupy.empty((x.shape[0], 1, Ho, Wo), dtype=dtype)
    if x.shape[0] and Ho and Wo:
        for n0, n1 in _z_chunks(x.shape[0], 1, "correlate2d"):
            grid = ((Wo + _TILE - 1) // _TILE, (Ho + _TILE - 1) // _TILE, n1 - n0)
            _kernel("fc_conv2d", dtype)(
                grid,
                (_TILE, _TILE, 1),
                (
                    x[n0:n1],
                    kk,
                    np.uint64(0),
                    res[n0:n1],
                    *_i64(1, H, W, 1, 1, kh, kw, Ho, Wo, 1, 1, 1, 1, pads[0], pads[2], 1),
                    *_estrides(x),
                    np.int32(mode),
                    np.dtype(dtype).type(fill),
                ),
            )
    return res.reshape(shape)


def max_pool2d(
    x: Any,
    dtype: np.dtype,
    out_shape: Tuple[int, int, int, int],
    k: Tuple[int, int],
    s: Tuple[int, int],
    p: Tuple[int, int],
    d: Tuple[int, int],
    return_indices: bool,
) -> Tuple[Any, Any]:
    import cupy

    x = x.astype(dtype, copy=False)
    vals = cupy.empty(out_shape, dtype=dtype)
    idx = cupy.empty(out_shape, dtype=cupy.int64) if return_indices else None
    total = int(np.prod(out_shape))
    if total:
        _kernel("fc_max_pool2d", dtype)(
            _blocks(total),
            (_BLOCK,),
            (
                x,
                vals,
                idx if idx is not None else np.uint64(0),
                *_i64(
                    total,
                    x.shape[1],
                    x.shape[2],
                    x.shape[3],
                    out_shape[2],
                    out_shape[3],
                    k[0],
                    k[1],
                    s[0],
                    s[1],
                    p[0],
                    p[1],
                    d[0],
                    d[1],
                ),
                *_estrides(x),
            ),
        )
    return vals, idx


def avg_pool2d(
    x: Any,
    dtype: np.dtype,
    out_shape: Tuple[int, int, int, int],
    k: Tuple[int, int],
    s: Tuple[int, int],
    p: Tuple[int, int],
    count_include_pad: bool,
    divisor_override: int,
) -> Any:
    import cupy

    x = x.astype(dtype, copy=False)
    out = cupy.empty(out_shape, dtype=dtype)
    total = int(np.prod(out_shape))
    if total:
        _kernel("fc_avg_pool2d", dtype)(
            _blocks(total),
            (_BLOCK,),
            (
                x,
                out,
                *_i64(
                    total,
                    x.shape[1],
                    x.shape[2],
                    x.shape[3],
                    out_shape[2],
                    out_shape[3],
                    k[0],
                    k[1],
                    s[0],
                    s[1],
                    p[0],
                    p[1],
                ),
                np.int32(count_include_pad),
                np.int64(divisor_override),
                *_estrides(x),
            ),
        )
    return out


def max_unpool2d(x: Any, ix: Any, dtype: np.dtype, out_shape: Tuple[int, int, int, int]) -> Any:
    import cupy

    x = x.astype(dtype, copy=False)
    ix = ix.astype(cupy.int64, copy=False)
    out = cupy.zeros(out_shape, dtype=dtype)
    bad = cupy.zeros(1, dtype=cupy.int32)
    total = int(np.prod(x.shape))
    if total:
        _kernel("fc_max_unpool2d", dtype)(
            _blocks(total),
            (_BLOCK,),
            (
                x,
                ix,
                out,
                bad,
                *_i64(total, x.shape[1], x.shape[2], x.shape[3], out_shape[2] * out_shape[3]),
                *_estrides(x),
                *_estrides(ix),
            ),
        )
        if int(bad[0]):
            raise ValueError(
                f"max_unpool2d: some index is outside the output plane of {out_shape[2]} x "
                f"{out_shape[3]} = {out_shape[2] * out_shape[3]} elements"
            )
    return out
