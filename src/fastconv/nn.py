"""Layers with PyTorch's constructor arguments, attributes and initialisation, called as
``layer(x)``, and a :class:`Sequential` that chains them and prints a summary table."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from fastconv import _args
from fastconv._args import IntPair
from fastconv.conv import conv2d
from fastconv.pool import avg_pool2d, max_pool2d, max_unpool2d, unpool_output_size
from fastconv.shapes import ConvCost, conv2d_cost, pool2d_output_shape

Shape = Tuple[int, ...]


class Module:
    """Base class: a callable layer with optional parameters."""

    def parameters(self) -> Dict[str, np.ndarray]:
        """Named parameter arrays (``weight``, ``bias``) of this layer."""
        return {}

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        """Shape of ``self(x)`` for an input of ``input_shape``, without computing it."""
        return tuple(input_shape)

    def macs(self, input_shape: Sequence[int]) -> int:
        """Multiply-adds of one call on ``input_shape``."""
        return 0

    def __call__(self, x: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Conv2d(Module):
    """2-D convolution layer, ``torch.nn.Conv2d``'s arguments and initialisation.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, padding, dilation, groups, padding_mode
        As for :func:`fastconv.conv2d`.
    bias : bool, default True
    dtype : numpy dtype, default float32
        float32 or float64.
    rng : numpy.random.Generator or int, optional
        Source (or seed) for the initial weights.

    Attributes
    ----------
    weight : ndarray of shape (out_channels, in_channels // groups, kH, kW)
        Uniform in +-1/sqrt(fan_in), fan_in = in_channels // groups * kH * kW (PyTorch's
        default, kaiming_uniform with a = sqrt(5)).
    bias : ndarray of shape (out_channels,) or None
        Uniform in +-1/sqrt(fan_in).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: Any = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        dtype: Any = np.float32,
        rng: Union[np.random.Generator, int, None] = None,
    ) -> None:
        fn = "Conv2d"
        self.in_channels = _args.check_int(in_channels, "in_channels", fn, 1)
        self.out_channels = _args.check_int(out_channels, "out_channels", fn, 1)
        self.kernel_size = _args.as_pair(kernel_size, "kernel_size", fn, 1)
        self.stride = _args.as_pair(stride, "stride", fn, 1)
        self.padding = padding if isinstance(padding, str) else _norm_pad(padding, fn)
        self.dilation = _args.as_pair(dilation, "dilation", fn, 1)
        self.groups = _args.check_int(groups, "groups", fn, 1)
        _args.padding_mode_code(padding_mode, fn)
        self.padding_mode = padding_mode
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"{fn}: groups={self.groups} must divide in_channels={self.in_channels} "
                f"and out_channels={self.out_channels}"
            )
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise TypeError(f"{fn}: dtype={dt} must be float32 or float64")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        kH, kW = self.kernel_size
        fan_in = self.in_channels // self.groups * kH * kW
        bound = 1.0 / math.sqrt(fan_in)
        shape = (self.out_channels, self.in_channels // self.groups, kH, kW)
        self.weight: np.ndarray = gen.uniform(-bound, bound, size=shape).astype(dt)
        self.bias: Optional[np.ndarray] = (
            gen.uniform(-bound, bound, size=self.out_channels).astype(dt) if bias else None
        )

    def __call__(self, x: Any) -> Any:
        return conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, self.padding_mode
        )

    def parameters(self) -> Dict[str, np.ndarray]:
        p = {"weight": self.weight}
        if self.bias is not None:
            p["bias"] = self.bias
        return p

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        return self.cost(input_shape).output_shape

    def cost(self, input_shape: Sequence[int]) -> ConvCost:
        """:func:`fastconv.conv2d_cost` of this layer on ``input_shape``."""
        return conv2d_cost(
            input_shape, self.weight.shape, self.stride, self.padding, self.dilation, self.groups, self.bias is not None
        )

    def macs(self, input_shape: Sequence[int]) -> int:
        return self.cost(input_shape).macs

    def __repr__(self) -> str:
        s = f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s + ")"


def _norm_pad(padding: Any, fn: str) -> Any:
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(isinstance(p, (tuple, list)) for p in padding):
        return tuple(tuple(_args.check_int(v, "padding", fn, 0) for v in p) for p in padding)
    return _args.as_pair(padding, "padding", fn, 0)


class MaxPool2d(Module):
    """``torch.nn.MaxPool2d``: see :func:`fastconv.max_pool2d`."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: Optional[IntPair] = None,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def __call__(self, x: Any) -> Any:
        return max_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        return pool2d_output_shape(
            input_shape, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )

    def __repr__(self) -> str:
        return (
            f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode})"
        )


class AvgPool2d(Module):
    """``torch.nn.AvgPool2d``: see :func:`fastconv.avg_pool2d`."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: Optional[IntPair] = None,
        padding: IntPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: Optional[int] = None,
    ) -> None:
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def __call__(self, x: Any) -> Any:
        return avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        return pool2d_output_shape(input_shape, self.kernel_size, self.stride, self.padding, 1, self.ceil_mode)

    def __repr__(self) -> str:
        return f"AvgPool2d(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding})"


class MaxUnpool2d(Module):
    """``torch.nn.MaxUnpool2d``: called as ``layer(x, indices, output_size=None)``."""

    def __init__(self, kernel_size: IntPair, stride: Optional[IntPair] = None, padding: IntPair = 0) -> None:
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def __call__(self, x: Any, indices: Any = None, output_size: Optional[Sequence[int]] = None) -> Any:
        if indices is None:
            raise TypeError("MaxUnpool2d: call it as layer(x, indices) with the pooling indices")
        return max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        k = _args.as_pair(self.kernel_size, "kernel_size", "MaxUnpool2d")
        s = _args.as_pair(self.stride, "stride", "MaxUnpool2d")
        p = _args.as_pair(self.padding, "padding", "MaxUnpool2d", 0)
        hw = unpool_output_size(tuple(input_shape)[-2:], k, s, p, None, len(input_shape), "MaxUnpool2d")
        return tuple(input_shape)[:-2] + hw

    def __repr__(self) -> str:
        return f"MaxUnpool2d(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding})"


class ReLU(Module):
    """Element-wise ``max(x, 0)`` (NaN propagates, as in PyTorch)."""

    def __call__(self, x: Any) -> Any:
        return _relu(x)

    def __repr__(self) -> str:
        return "ReLU()"


def _relu(x: Any) -> Any:
    if _args.is_cupy(x):
        import cupy

        return cupy.maximum(x, 0)
    return np.maximum(x, x.dtype.type(0)) if isinstance(x, np.ndarray) else np.maximum(np.asarray(x), 0)


class Sequential(Module):
    """Chain layers (and plain callables such as a ReLU) in order.

    Parameters
    ----------
    *layers : Module or callable
        Applied left to right.  Keys of :meth:`state_dict` are ``"{index}.weight"`` /
        ``"{index}.bias"``, like a ``torch.nn.Sequential``.
    """

    def __init__(self, *layers: Union[Module, Callable[[Any], Any]]) -> None:
        self.layers: List[Any] = list(layers)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Any:
        return self.layers[i]

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def __repr__(self) -> str:
        """PyTorch's layout: one ``(index): layer`` line per layer, nested ones indented."""
        if not self.layers:
            return "Sequential()"
        lines = []
        for i, layer in enumerate(self.layers):
            text = repr(layer) if isinstance(layer, Module) else _name(layer)
            lines.append(f"  ({i}): " + text.replace("\n", "\n  "))
        return "Sequential(\n" + "\n".join(lines) + "\n)"

    def trace(self, x: Any) -> List[Tuple[str, Any]]:
        """Run the chain and return ``(layer name, output)`` after every layer."""
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append((_name(layer), x))
        return out

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape) if isinstance(layer, Module) else shape
        return shape

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Parameters by PyTorch's Sequential key names (``"0.weight"``, ...)."""
        return {
            f"{i}.{k}": v
            for i, layer in enumerate(self.layers)
            if isinstance(layer, Module)
            for k, v in layer.parameters().items()
        }

    def load_state_dict(
        self, state: Union[Mapping[str, Any], str, "os.PathLike[str]"], prefix: str = "", strict: bool = True
    ) -> None:
        """Load weights saved from a PyTorch model.

        Parameters
        ----------
        state : mapping or path to an ``.npz``
            ``{name: array}``, e.g. ``np.savez(path, **{k: v.numpy() for k, v in
            model.state_dict().items()})``.
        prefix : str, default ""
            Prefix of this chain's keys in ``state`` (``"features."`` for a submodule).
        strict : bool, default True
            Every parameter must be found and no unused key with ``prefix`` may remain.

        Raises
        ------
        KeyError
            A missing key, or (strict) unexpected ones; every key is named.
        ValueError
            A key of the wrong shape, a non-numeric dtype (strings, objects, structured,
            complex, dates), a damaged or truncated ``.npz`` member; the key is named.

        Notes
        -----
        A file is treated as untrusted: only the members for this model's keys are read,
        each member's header (dtype and shape) is checked before its data, exactly the
        bytes of the expected array are decompressed, and nothing is ever unpickled.  The
        load is all or nothing: every value is read and checked before any layer changes.
        """
        wanted: Dict[str, Tuple[Module, str, np.ndarray]] = {}
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Module):
                for name, arr in layer.parameters().items():
                    wanted[f"{prefix}{i}.{name}"] = (layer, name, arr)
        if isinstance(state, (str, os.PathLike)):
            values, keys = _read_npz(state, {k: v[2] for k, v in wanted.items()})
        else:
            keys = list(state)
            values = {}
            for key, (_, _, arr) in wanted.items():
                if key in state:
                    values[key] = _checked_value(key, np.asarray(state[key]), arr)
        missing = [k for k in wanted if k not in values]
        if strict and missing:
            raise KeyError(f"load_state_dict: missing key(s) {missing}")
        extra = [k for k in keys if k.startswith(prefix) and k not in wanted and k.split(".")[-1] in ("weight", "bias")]
        if strict and extra:
            raise KeyError(f"load_state_dict: unexpected key(s) {extra}")
        for key, value in values.items():  # every value checked: now change the layers
            layer, name, arr = wanted[key]
            setattr(layer, name, value.astype(arr.dtype))

    def summary(self, input_shape: Sequence[int]) -> str:
        """A per-layer table (output shape, parameters, multiply-adds), like torchsummary."""
        rows = [("Layer", "Output shape", "Params", "MACs")]
        shape = tuple(input_shape)
        tp = tm = 0
        for i, layer in enumerate(self.layers):
            is_mod = isinstance(layer, Module)
            macs = layer.macs(shape) if is_mod else 0
            params = sum(int(v.size) for v in layer.parameters().values()) if is_mod else 0
            shape = layer.output_shape(shape) if is_mod else shape
            rows.append((f"{i}: {_name(layer)}", str(list(shape)), f"{params:,}", f"{macs:,}"))
            tp += params
            tm += macs
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        line = "-" * (sum(widths) + 9)
        out = [line, _fmt(rows[0], widths), line] + [_fmt(r, widths) for r in rows[1:]] + [line]
        out.append(f"Total params: {tp:,}    Total MACs: {tm:,}    FLOPs: {2 * tm:,}")
        return "\n".join(out)


def _check_header(key: str, dtype: np.dtype, shape: Tuple[int, ...], like: np.ndarray) -> None:
    """A ValueError naming ``key`` unless ``dtype`` is a plain real number type (bool, int,
    float) and ``shape`` is ``like``'s."""
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(
            f"load_state_dict: {key} has dtype {dtype}; parameters must be real numbers (bool, integer or float)"
        )
    if tuple(shape) != like.shape:
        raise ValueError(f"load_state_dict: {key} has shape {tuple(shape)}, the layer expects {like.shape}")


def _checked_value(key: str, value: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``value`` for parameter ``key`` after :func:`_check_header`."""
    _check_header(key, value.dtype, value.shape, like)
    return value


def _read_npz(
    path: Union[str, "os.PathLike[str]"], wanted: Mapping[str, np.ndarray]
) -> Tuple[Dict[str, np.ndarray], List[str]]:
    """The arrays of ``wanted``'s keys from the ``.npz`` at ``path``, and every key the file
    holds.  Only those members are opened; each header is checked (numeric dtype, the
    expected shape) before exactly its array's bytes are decompressed; nothing is unpickled."""
    import zipfile

    fmt = np.lib.format
    values: Dict[str, np.ndarray] = {}
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"load_state_dict: {os.fspath(path)!r} is not an .npz file ({exc})") from None
    with zf:
        members = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
        for key, like in wanted.items():
            if key not in members:
                continue
            with zf.open(members[key]) as f:
                try:
                    version = fmt.read_magic(f)
                    read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                    shape, fortran, dtype = read_header(f)
                except Exception as exc:  # a damaged member: bad magic or header
                    raise ValueError(f"load_state_dict: {key} in {os.fspath(path)!r} cannot be read ({exc})") from None
                _check_header(key, dtype, shape, like)
                nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                try:
                    data = f.read(nbytes)
                except Exception as exc:  # damaged compressed data
                    raise ValueError(f"load_state_dict: {key} in {os.fspath(path)!r} cannot be read ({exc})") from None
            if len(data) != nbytes:
                raise ValueError(
                    f"load_state_dict: {key} in {os.fspath(path)!r} is truncated ({len(data)} of {nbytes} bytes)"
                )
            arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
            values[key] = arr
    return values, list(members)


def _fmt(row: Sequence[str], widths: Sequence[int]) -> str:
    return f"{row[0]:<{widths[0]}}   {row[1]:>{widths[1]}}   {row[2]:>{widths[2]}}   {row[3]:>{widths[3]}}"


def _name(layer: Any) -> str:
    return type(layer).__name__ if isinstance(layer, Module) else getattr(layer, "__name__", type(layer).__name__)
