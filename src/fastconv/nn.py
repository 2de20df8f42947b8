"""Layers with PyTorch's constructor arguments, attributes and initialisation, called as
``layer(x)``, and a :class:`Sequential` that chains them and prints a summary table."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from fastconv import _args, _pack, _tuning
from fastconv import grad as _grad
from fastconv._args import IntPair
from fastconv.conv import conv2d
from fastconv.pool import avg_pool2d, max_pool2d, max_unpool2d, unpool_output_size
from fastconv.shapes import ConvCost, conv2d_cost, pool2d_output_shape
from fastconv.typing import ArrayLike, NDArray, Padding, PaddingMode, Reduction

Shape = Tuple[int, ...]


class Module:
    """Base class: a callable layer with optional parameters.

    Training: in training mode (the default, :meth:`train`) a call keeps what
    :meth:`backward` needs; ``backward(grad_output)`` returns the gradient with respect to
    the call's input and adds the parameters' gradients into :attr:`grads` (they add up
    over calls until :meth:`zero_grad`, as in PyTorch).  :meth:`eval` stops keeping the
    forward state (inference: less memory, and max pooling skips its indices).
    """

    training: bool = True

    def parameters(self) -> Dict[str, np.ndarray]:
        """Named parameter arrays (``weight``, ``bias``) of this layer."""
        return {k: v for k in ("weight", "bias") if isinstance(v := self.__dict__.get(k), np.ndarray)}

    def gradients(self) -> Dict[str, Optional[np.ndarray]]:
        """The gradient of each parameter (same keys as :meth:`parameters`); None before
        any :meth:`backward` and after :meth:`zero_grad`."""
        return {k: self.grads.get(k) for k in self.parameters()}

    def zero_grad(self) -> None:
        """Forget the accumulated parameter gradients (PyTorch's ``set_to_none=True``)."""
        self.__dict__["_grads"] = {}

    @property
    def grads(self) -> Dict[str, np.ndarray]:
        """Accumulated parameter gradients by name (empty before the first backward)."""
        return self.__dict__.setdefault("_grads", {})

    def train(self, mode: bool = True) -> "Module":
        """Training mode (``mode=True``) or evaluation mode; returns self."""
        self.training = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``self.train(False)``."""
        return self.train(False)

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Gradient with respect to the last call's input, given the gradient with respect
        to its output; parameter gradients are added into :attr:`grads`."""
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        """Shape of ``self(x)`` for an input of ``input_shape``, without computing it."""
        return tuple(input_shape)

    def macs(self, input_shape: Sequence[int]) -> int:
        """Multiply-adds of one call on ``input_shape``."""
        return 0

    def __call__(self, x: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _backward_params(self, grad_output: Any) -> None:
        """The parameter gradients of :meth:`backward` without the input gradient (layers
        whose input gradient costs real work override it)."""
        if self.parameters():
            self.backward(grad_output)

    # helpers for the layers
    def _keep(self, **state: Any) -> None:
        """Remember what backward needs (training mode only)."""
        self.__dict__["_saved"] = state if self.training else None

    def _saved_state(self) -> Dict[str, Any]:
        saved = self.__dict__.get("_saved")
        if saved is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward: no forward call to differentiate (call the layer "
                "in training mode, layer.train(), before backward)"
            )
        return saved

    def _add_grad(self, name: str, value: np.ndarray) -> None:
        grads = self.grads
        if grads.get(name) is None:
            grads[name] = value
        else:
            grads[name] = grads[name] + value


def _max_pool_call(layer: Any, f: Callable[..., Any], x: Any) -> Any:
    """A max-pool layer's call: in training mode it keeps the indices for backward (asking
    the function for them even when the layer does not return them)."""
    keep = layer.training and not _args.is_cupy(x)
    res = f(
        x, layer.kernel_size, layer.stride, layer.padding, layer.dilation, layer.ceil_mode, layer.return_indices or keep
    )
    if keep:
        layer._keep(indices=res[1], in_shape=np.shape(x))
    else:
        layer._keep()
    return res if layer.return_indices or not keep else res[0]


def _grad_like(fn: str, grad_output: Any, shape: Tuple[int, ...]) -> np.ndarray:
    g = _args.to_numpy(grad_output, "grad_output", fn)
    if tuple(g.shape) != tuple(shape):
        raise ValueError(f"{fn}: grad_output has shape {tuple(g.shape)}, the forward result had shape {tuple(shape)}")
    return g


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
        padding: Padding = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: PaddingMode = "zeros",
        *,
        dtype: Any = np.float32,
        rng: Union[np.random.Generator, int, None] = None,
    ) -> None:
        fn = "Conv2d"
        self.in_channels = _args.check_int(in_channels, "in_channels", fn, 1)
        self.out_channels = _args.check_int(out_channels, "out_channels", fn, 1)
        self.kernel_size = _args.as_pair(kernel_size, "kernel_size", fn, 1)
        self.stride = _args.as_pair(stride, "stride", fn, 1)
        self.padding: Padding = padding if isinstance(padding, str) else _norm_pad(padding, fn)
        self.dilation = _args.as_pair(dilation, "dilation", fn, 1)
        self.groups = _args.check_int(groups, "groups", fn, 1)
        _args.padding_mode_code(padding_mode, fn)
        self.padding_mode: PaddingMode = padding_mode
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

    def __call__(self, x: ArrayLike) -> NDArray:
        y = conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, self.padding_mode)
        self._keep(x=x, out_shape=y.shape)
        return y

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Input gradient (:func:`fastconv.grad.conv2d_input`); adds the weight and bias
        gradients into ``grads``."""
        x, g = self._backward_params_of(grad_output)
        args = (self.stride, self.padding, self.dilation, self.groups, self.padding_mode)
        return _grad.conv2d_input(x.shape, self.weight, g, *args)

    def _backward_params(self, grad_output: Any) -> None:
        self._backward_params_of(grad_output)

    def _backward_params_of(self, grad_output: Any) -> Tuple[Any, np.ndarray]:
        saved = self._saved_state()
        x = saved["x"]
        g = _grad_like("Conv2d.backward", grad_output, saved["out_shape"])
        args = (self.stride, self.padding, self.dilation, self.groups, self.padding_mode)
        self._add_grad("weight", _grad.conv2d_weight(x, self.weight.shape, g, *args).astype(self.weight.dtype))
        if self.bias is not None:
            self._add_grad("bias", _grad.conv2d_bias(g).astype(self.bias.dtype))
        return x, g

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
            s += f", padding={self.padding}"  # "same" unquoted, as PyTorch prints it
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
        return _max_pool_call(self, max_pool2d, x)

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Input gradient (:func:`fastconv.grad.max_pool2d_input`) of the values' gradient."""
        saved = self._saved_state()
        return _grad.max_pool2d_input(grad_output, saved["indices"], saved["in_shape"])

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

    def __call__(self, x: ArrayLike) -> NDArray:
        self._keep(in_shape=np.shape(x))
        return avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Input gradient (:func:`fastconv.grad.avg_pool2d_input`)."""
        saved = self._saved_state()
        return _grad.avg_pool2d_input(
            grad_output,
            saved["in_shape"],
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
        y = max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)
        self._keep(indices=indices, out_shape=y.shape)
        return y

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Gradient with respect to the unpooled values: ``grad_output`` read at the indices."""
        saved = self._saved_state()
        g = _grad_like("MaxUnpool2d.backward", grad_output, saved["out_shape"])
        idx = np.asarray(saved["indices"], dtype=np.int64)
        flat = g.reshape(g.shape[:-2] + (-1,))
        return np.take_along_axis(flat, idx.reshape(idx.shape[:-2] + (-1,)), axis=-1).reshape(idx.shape)

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        k = _args.as_pair(self.kernel_size, "kernel_size", "MaxUnpool2d")
        s = _args.as_pair(self.stride, "stride", "MaxUnpool2d")
        p = _args.as_pair(self.padding, "padding", "MaxUnpool2d", 0)
        hw = unpool_output_size(tuple(input_shape)[-2:], k, s, p, None, len(input_shape), "MaxUnpool2d")
        return tuple(input_shape)[:-2] + hw

    def __repr__(self) -> str:
        k = _args.as_pair(self.kernel_size, "kernel_size", "MaxUnpool2d", 1)
        s = _args.as_pair(self.stride, "stride", "MaxUnpool2d", 1)
        p = _args.as_pair(self.padding, "padding", "MaxUnpool2d", 0)
        return f"MaxUnpool2d(kernel_size={k}, stride={s}, padding={p})"  # PyTorch stores pairs


class ReLU(Module):
    """Element-wise ``max(x, 0)`` (NaN propagates, as in PyTorch)."""

    def __call__(self, x: ArrayLike) -> NDArray:
        y = _relu(x)
        self._keep(y=y)
        return y

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """``grad_output`` where the result was positive, else 0 (PyTorch's rule: NaN
        inputs pass no gradient)."""
        y = self._saved_state()["y"]
        g = _grad_like("ReLU.backward", grad_output, y.shape)
        if _flat_real(g) and _flat_real(y) and g.dtype == y.dtype:
            res = np.empty_like(y)
            _pack.relu_backward(g.reshape(-1), y.reshape(-1), res.reshape(-1), None, _tuning.RELU_THREAD_ELEMS)
            return res
        return np.where(y > 0, g, np.zeros((), dtype=g.dtype))

    def __repr__(self) -> str:
        return "ReLU()"


def _flat_real(a: Any) -> bool:
    """A C-contiguous NumPy float32/float64 array (the compiled element-wise kernels')."""
    return isinstance(a, np.ndarray) and a.dtype in (np.float32, np.float64) and a.flags.c_contiguous


def _relu(x: Any) -> Any:
    if _args.is_cupy(x):
        import cupy

        return cupy.maximum(x, 0)
    if _flat_real(x):  # numpy.maximum's result, on the threads
        res = np.empty_like(x)
        _pack.relu(x.reshape(-1), res.reshape(-1), None, _tuning.RELU_THREAD_ELEMS)
        return res
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

    def backward(self, grad_output: Any, *, input_grad: bool = True) -> Any:
        """Back-propagate through the layers in reverse order; returns the gradient with
        respect to the chain's input.  Every layer must be a :class:`Module` (a plain
        callable has no backward: use :class:`ReLU` instead of a function).

        ``input_grad=False`` returns None and skips the first layer's input gradient (for a
        convolution, as much work as its forward pass) where only the parameters learn:
        PyTorch skips it too for an input that does not require grad."""
        g = grad_output
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential.backward: layer {i} ({_name(layer)}) is a plain callable without a backward; "
                    "use a fastconv.nn layer"
                )
            if i == 0 and not input_grad:
                layer._backward_params(g)
                return None
            g = layer.backward(g)
        return g

    def parameters(self) -> Dict[str, np.ndarray]:
        """Every layer's parameters by PyTorch's key names (``"0.weight"``, ...): the arrays
        themselves, which an optimizer updates in place."""
        return self.state_dict()

    def gradients(self) -> Dict[str, Optional[np.ndarray]]:
        return {
            f"{i}.{k}": v
            for i, layer in enumerate(self.layers)
            if isinstance(layer, Module)
            for k, v in layer.gradients().items()
        }

    def zero_grad(self) -> None:
        for layer in self.layers:
            if isinstance(layer, Module):
                layer.zero_grad()

    def train(self, mode: bool = True) -> "Sequential":
        self.training = bool(mode)
        for layer in self.layers:
            if isinstance(layer, Module):
                layer.train(mode)
        return self

    def save_state_dict(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Save the parameters to an ``.npz`` under PyTorch's key names, readable by
        :meth:`load_state_dict` and, through ``torch.from_numpy``, by PyTorch's
        ``load_state_dict``."""
        np.savez(path, **self.state_dict())  # type: ignore[arg-type]

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


def _init_uniform(gen: np.random.Generator, bound: float, shape: Tuple[int, ...], dt: np.dtype) -> np.ndarray:
    return gen.uniform(-bound, bound, size=shape).astype(dt)


def _layer_dtype(dtype: Any, fn: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{fn}: dtype={dt} must be float32 or float64")
    return dt


def _generator(rng: Union[np.random.Generator, int, None]) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class ConvTranspose2d(Module):
    """Transposed convolution layer, ``torch.nn.ConvTranspose2d``'s arguments and
    initialisation (see :func:`fastconv.conv_transpose2d`).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, padding, output_padding, groups, dilation
        As for :func:`fastconv.conv_transpose2d`.
    bias : bool, default True
    dtype : numpy dtype, default float32
    rng : numpy.random.Generator or int, optional

    Attributes
    ----------
    weight : ndarray of shape (in_channels, out_channels // groups, kH, kW)
        Uniform in +-1/sqrt(fan_in) with PyTorch's fan_in for this layout,
        ``out_channels // groups * kH * kW``.
    bias : ndarray of shape (out_channels,) or None
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        output_padding: IntPair = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntPair = 1,
        *,
        dtype: Any = np.float32,
        rng: Union[np.random.Generator, int, None] = None,
    ) -> None:
        fn = "ConvTranspose2d"
        self.in_channels = _args.check_int(in_channels, "in_channels", fn, 1)
        self.out_channels = _args.check_int(out_channels, "out_channels", fn, 1)
        self.kernel_size = _args.as_pair(kernel_size, "kernel_size", fn, 1)
        self.stride = _args.as_pair(stride, "stride", fn, 1)
        self.padding = _args.as_pair(padding, "padding", fn, 0)
        self.output_padding = _args.as_pair(output_padding, "output_padding", fn, 0)
        self.dilation = _args.as_pair(dilation, "dilation", fn, 1)
        self.groups = _args.check_int(groups, "groups", fn, 1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"{fn}: groups={self.groups} must divide in_channels={self.in_channels} "
                f"and out_channels={self.out_channels}"
            )
        dt = _layer_dtype(dtype, fn)
        gen = _generator(rng)
        kH, kW = self.kernel_size
        bound = 1.0 / math.sqrt(self.out_channels // self.groups * kH * kW)
        self.weight: np.ndarray = _init_uniform(
            gen, bound, (self.in_channels, self.out_channels // self.groups, kH, kW), dt
        )
        self.bias: Optional[np.ndarray] = _init_uniform(gen, bound, (self.out_channels,), dt) if bias else None

    def __call__(self, x: ArrayLike) -> NDArray:
        from fastconv.conv import conv_transpose2d

        y = conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups, self.dilation
        )
        self._keep(x=x, out_shape=y.shape)
        return y

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Input gradient (a conv2d of ``grad_output`` with the weight); adds the weight and
        bias gradients into ``grads``."""
        saved = self._saved_state()
        x = np.asarray(saved["x"])
        g = _grad_like("ConvTranspose2d.backward", grad_output, saved["out_shape"])
        dt = np.result_type(x, g, self.weight, np.float32)
        batched = g.ndim == 4
        g4 = g if batched else g[None]
        x4 = x if batched else x[None]
        # the layer is conv2d's input gradient: its own input gradient is that conv2d
        gx = conv2d(g4, self.weight, None, self.stride, self.padding, self.dilation, self.groups)
        gx = gx[:, :, : x4.shape[2], : x4.shape[3]]  # output_padding >= stride adds rows conv2d sees
        p = self.padding
        gw = _grad._weight_grad(
            g4, x4, self.weight.shape, self.stride, self.dilation, (p[0], p[0], p[1], p[1]), "zeros", self.groups, dt
        )
        self._add_grad("weight", gw.astype(self.weight.dtype))
        if self.bias is not None:
            self._add_grad("bias", _grad.conv2d_bias(g).astype(self.bias.dtype))
        gx = np.ascontiguousarray(gx)
        return gx if batched else gx[0]

    def __repr__(self) -> str:
        s = f"ConvTranspose2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s + ")"


class Linear(Module):
    """Fully connected layer ``y = x @ weight.T + bias``, ``torch.nn.Linear``'s arguments
    and initialisation.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    dtype : numpy dtype, default float32
    rng : numpy.random.Generator or int, optional

    Attributes
    ----------
    weight : ndarray of shape (out_features, in_features)
        Uniform in +-1/sqrt(in_features) (PyTorch's default).
    bias : ndarray of shape (out_features,) or None
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: Any = np.float32,
        rng: Union[np.random.Generator, int, None] = None,
    ) -> None:
        fn = "Linear"
        self.in_features = _args.check_int(in_features, "in_features", fn, 1)
        self.out_features = _args.check_int(out_features, "out_features", fn, 1)
        dt = _layer_dtype(dtype, fn)
        gen = _generator(rng)
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight: np.ndarray = _init_uniform(gen, bound, (self.out_features, self.in_features), dt)
        self.bias: Optional[np.ndarray] = _init_uniform(gen, bound, (self.out_features,), dt) if bias else None

    def __call__(self, x: ArrayLike) -> NDArray:
        fn = "Linear"
        x = _args.to_numpy(x, "input", fn)
        dt = _args.result_dtype(fn, input=x, weight=self.weight)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{fn}: input's last dimension must be in_features={self.in_features}, got shape {x.shape}"
            )
        y = np.matmul(x.astype(dt, copy=False), self.weight.T.astype(dt, copy=False))
        if self.bias is not None:
            y += self.bias
        self._keep(x=x, out_shape=y.shape)
        return y

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Input gradient ``grad_output @ weight``; adds ``grad_output.T @ x`` and the bias
        gradient into ``grads``."""
        saved = self._saved_state()
        x = saved["x"]
        g = _grad_like("Linear.backward", grad_output, saved["out_shape"])
        g2 = g.reshape(-1, self.out_features)
        x2 = x.reshape(-1, self.in_features)
        self._add_grad("weight", (g2.T @ x2).astype(self.weight.dtype))
        if self.bias is not None:
            self._add_grad("bias", g2.sum(axis=0).astype(self.bias.dtype))
        return g @ self.weight

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        return tuple(input_shape)[:-1] + (self.out_features,)

    def macs(self, input_shape: Sequence[int]) -> int:
        return math.prod(tuple(input_shape)[:-1]) * self.in_features * self.out_features

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class Flatten(Module):
    """``torch.nn.Flatten``: merge dimensions ``start_dim`` to ``end_dim`` (default: all but the
    batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim = start_dim
        self.end_dim = end_dim

    def _span(self, ndim: int) -> Tuple[int, int]:
        a = self.start_dim + ndim if self.start_dim < 0 else self.start_dim
        b = self.end_dim + ndim if self.end_dim < 0 else self.end_dim
        if not 0 <= a <= b < max(ndim, 1):
            raise ValueError(
                f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not name a range of the "
                f"{ndim} dimensions of the input"
            )
        return a, b

    def output_shape(self, input_shape: Sequence[int]) -> Shape:
        shape = tuple(input_shape)
        a, b = self._span(len(shape))
        return shape[:a] + (math.prod(shape[a : b + 1]),) + shape[b + 1 :]

    def __call__(self, x: ArrayLike) -> NDArray:
        xa: Any = x  # a NumPy or CuPy array: reshaped as it is, never copied to the host
        self._keep(in_shape=np.shape(xa))
        return xa.reshape(self.output_shape(xa.shape))

    def backward(self, grad_output: ArrayLike) -> NDArray:
        return np.reshape(grad_output, self._saved_state()["in_shape"])

    def __repr__(self) -> str:
        return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"


class CrossEntropyLoss(Module):
    """``torch.nn.CrossEntropyLoss`` on logits ``(N, C)`` and class indices ``(N,)``:
    a numerically stable log-softmax followed by the negative log-likelihood.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
    label_smoothing : float in [0, 1], default 0
        The target becomes ``(1 - label_smoothing)`` on the class plus
        ``label_smoothing / C`` on every class (PyTorch's rule).

    Notes
    -----
    Called as ``loss(logits, target)``; ``backward()`` (``grad_output`` 1 by default, or the
    per-sample gradient for ``reduction="none"``) returns the gradient with respect to the
    logits: ``softmax - target_distribution``, divided by N for the mean.
    """

    def __init__(self, reduction: Reduction = "mean", label_smoothing: float = 0.0) -> None:
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"CrossEntropyLoss: reduction={reduction!r} must be 'mean', 'sum' or 'none'")
        if isinstance(label_smoothing, (bool, np.bool_)) or not isinstance(label_smoothing, (int, float, np.floating)):
            raise TypeError(f"CrossEntropyLoss: label_smoothing must be a float, got {label_smoothing!r}")
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing={label_smoothing} must be in [0, 1]")
        self.reduction = reduction
        self.label_smoothing = float(label_smoothing)

    def __call__(self, input: Any, target: Any = None) -> Any:
        fn = "CrossEntropyLoss"
        if target is None:
            raise TypeError(f"{fn}: call it as loss(logits, target)")
        x = _args.to_numpy(input, "input", fn)
        t = _args.to_numpy(target, "target", fn)
        dt = _args.result_dtype(fn, input=x)
        if x.ndim != 2:
            raise ValueError(f"{fn}: input must be (N, C) logits, got shape {x.shape}")
        if t.dtype.kind not in "iu":
            raise TypeError(f"{fn}: target must hold integer class indices, got dtype {t.dtype}")
        N, C = x.shape
        if t.shape != (N,):
            raise ValueError(f"{fn}: target must have shape (N,) = ({N},), got {t.shape}")
        if N and (t.min() < 0 or t.max() >= C):
            bad = int(t[(t < 0) | (t >= C)][0])
            raise ValueError(f"{fn}: target value {bad} is not a class index in [0, {C})")
        x = x.astype(dt, copy=False)
        z = x - x.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
        logp = z - lse
        eps = self.label_smoothing
        rows = np.arange(N)
        loss = -logp[rows, t]
        if eps:
            loss = (1.0 - eps) * loss - eps / C * logp.sum(axis=1)
        self._keep(logp=logp, target=t)
        if self.reduction == "none":
            return loss.astype(dt)
        total = loss.sum(dtype=dt)
        return dt.type(total / N) if self.reduction == "mean" else dt.type(total)

    def backward(self, grad_output: Any = 1.0) -> Any:
        """Gradient with respect to the logits."""
        saved = self._saved_state()
        logp, t = saved["logp"], saved["target"]
        N, C = logp.shape
        g = np.exp(logp)
        eps = self.label_smoothing
        if eps:
            g -= eps / C
        g[np.arange(N), t] -= 1.0 - eps
        if self.reduction == "none":
            go = _grad_like("CrossEntropyLoss.backward", grad_output, (N,))
            return (g * go[:, None]).astype(logp.dtype)
        scale = float(np.asarray(grad_output)) / (N if self.reduction == "mean" and N else 1)
        return (g * scale).astype(logp.dtype)

    def __repr__(self) -> str:
        return "CrossEntropyLoss()"


class _ConvNd(Module):
    """Conv1d / Conv3d: PyTorch's arguments and initialisation over :mod:`fastconv.nd`."""

    _nd = 0
    _name = ""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Padding = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: PaddingMode = "zeros",
        *,
        dtype: Any = np.float32,
        rng: Union[np.random.Generator, int, None] = None,
    ) -> None:
        fn = self._name
        self.in_channels = _args.check_int(in_channels, "in_channels", fn, 1)
        self.out_channels = _args.check_int(out_channels, "out_channels", fn, 1)
        self.groups = _args.check_int(groups, "groups", fn, 1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"{fn}: groups={self.groups} must divide in_channels={self.in_channels} "
                f"and out_channels={self.out_channels}"
            )
        k = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * self._nd
        if len(k) != self._nd:
            raise ValueError(f"{fn}: kernel_size={kernel_size!r} must be an int or {self._nd} ints")
        self.kernel_size = tuple(_args.check_int(v, "kernel_size", fn, 1) for v in k)

        # ints become one per spatial axis, as PyTorch stores them (validated at the call)
        def per_axis(v: Any) -> Any:
            return (v,) * self._nd if isinstance(v, int) and not isinstance(v, bool) else v

        self.stride, self.padding, self.dilation = per_axis(stride), per_axis(padding), per_axis(dilation)
        _args.padding_mode_code(padding_mode, fn)
        self.padding_mode: PaddingMode = padding_mode
        dt = _layer_dtype(dtype, fn)
        gen = _generator(rng)
        bound = 1.0 / math.sqrt(self.in_channels // self.groups * math.prod(self.kernel_size))
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight: np.ndarray = _init_uniform(gen, bound, shape, dt)
        self.bias: Optional[np.ndarray] = _init_uniform(gen, bound, (self.out_channels,), dt) if bias else None

    def __call__(self, x: ArrayLike) -> NDArray:
        from fastconv import nd

        f = nd.conv1d if self._nd == 1 else nd.conv3d
        y = f(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, self.padding_mode)
        self._keep(x=x, out_shape=y.shape)
        return y

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Input gradient (:func:`fastconv.grad.conv1d_input` / ``conv3d_input``); adds the
        weight and bias gradients into ``grads``."""
        x, g = self._backward_params_of(grad_output)
        f = _grad.conv1d_input if self._nd == 1 else _grad.conv3d_input
        return f(np.shape(x), self.weight, g, *self._args())

    def _backward_params(self, grad_output: Any) -> None:
        self._backward_params_of(grad_output)

    def _args(self) -> Tuple[Any, Any, Any, int, PaddingMode]:
        return (self.stride, self.padding, self.dilation, self.groups, self.padding_mode)

    def _backward_params_of(self, grad_output: Any) -> Tuple[Any, np.ndarray]:
        saved = self._saved_state()
        x = saved["x"]
        g = _grad_like(f"{self._name}.backward", grad_output, saved["out_shape"])
        f = _grad.conv1d_weight if self._nd == 1 else _grad.conv3d_weight
        self._add_grad("weight", f(x, self.weight.shape, g, *self._args()).astype(self.weight.dtype))
        if self.bias is not None:
            axes = tuple(i for i in range(g.ndim) if i != g.ndim - self._nd - 1)  # all but the channels
            self._add_grad("bias", g.sum(axis=axes).astype(self.bias.dtype))
        return x, g

    def __repr__(self) -> str:
        """PyTorch's layout: the arguments that differ from their defaults."""
        s = f"{self._name}({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s + ")"


class Conv1d(_ConvNd):
    """``torch.nn.Conv1d``'s arguments and initialisation; see :func:`fastconv.conv1d`."""

    _nd = 1
    _name = "Conv1d"


class Conv3d(_ConvNd):
    """``torch.nn.Conv3d``'s arguments and initialisation; see :func:`fastconv.conv3d`."""

    _nd = 3
    _name = "Conv3d"


class _PoolNd(Module):
    _f = ""
    #: the call's arguments after (kernel_size, stride, padding), by name, in order
    _extra: Tuple[str, ...] = ()

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, **extra: Any) -> None:
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        for name in self._extra:
            setattr(self, name, extra[name])

    def __call__(self, x: Any) -> Any:
        from fastconv import nd

        args = [getattr(self, name) for name in self._extra]
        y = getattr(nd, self._f)(x, self.kernel_size, self.stride, self.padding, *args)
        self._keep(in_shape=np.shape(x), out_shape=np.shape(y))
        return y

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Input gradient (``fastconv.grad.avg_pool1d_input`` / ``avg_pool3d_input``)."""
        saved = self._saved_state()
        g = _grad_like(f"{type(self).__name__}.backward", grad_output, saved["out_shape"])
        f = getattr(_grad, self._f + "_input")
        args = [getattr(self, name) for name in self._extra]
        return f(g, saved["in_shape"], self.kernel_size, self.stride, self.padding, *args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding})"


class MaxPool1d(_PoolNd):
    """``torch.nn.MaxPool1d(kernel_size, stride=None, padding=0, dilation=1,
    return_indices=False, ceil_mode=False)``; see :func:`fastconv.max_pool1d`."""

    _f = "max_pool1d"
    _extra = ("dilation", "ceil_mode", "return_indices")
    dilation: Any
    ceil_mode: bool
    return_indices: bool

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(
            kernel_size, stride, padding, dilation=dilation, ceil_mode=ceil_mode, return_indices=return_indices
        )

    def __call__(self, x: Any) -> Any:
        from fastconv import nd

        return _max_pool_call(self, getattr(nd, self._f), x)

    def backward(self, grad_output: ArrayLike) -> NDArray:
        """Input gradient (``fastconv.grad.max_pool1d_input`` / ``max_pool3d_input``) of the
        values' gradient."""
        saved = self._saved_state()
        g = _grad_like(f"{type(self).__name__}.backward", grad_output, saved["indices"].shape)
        return getattr(_grad, self._f + "_input")(g, saved["indices"], saved["in_shape"])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode})"
        )


class MaxPool3d(MaxPool1d):
    """``torch.nn.MaxPool3d``; see :func:`fastconv.max_pool3d`."""

    _f = "max_pool3d"


class AvgPool1d(_PoolNd):
    """``torch.nn.AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True)``; see :func:`fastconv.avg_pool1d`."""

    _f = "avg_pool1d"
    _extra = ("ceil_mode", "count_include_pad")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        # PyTorch stores AvgPool1d's sizes as 1-tuples
        def one(v: Any) -> Any:
            return (v,) if isinstance(v, int) and not isinstance(v, bool) else v

        super().__init__(
            one(kernel_size),
            one(stride if stride is not None else kernel_size),
            one(padding),
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )


class AvgPool3d(_PoolNd):
    """``torch.nn.AvgPool3d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None)``; see :func:`fastconv.avg_pool3d`."""

    _f = "avg_pool3d"
    _extra = ("ceil_mode", "count_include_pad", "divisor_override")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: Optional[int] = None,
    ) -> None:
        super().__init__(
            kernel_size,
            stride,
            padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
        )
