"""Optimizers with ``torch.optim``'s exact update rules: :class:`SGD` and :class:`Adam`.

An optimizer is built on a model (any :class:`fastconv.nn.Module`, e.g. a
:class:`~fastconv.nn.Sequential`): each :meth:`~Optimizer.step` reads the model's
``parameters()`` and ``gradients()`` by name and updates the parameter arrays in place.

Examples
--------
>>> import numpy as np
>>> from fastconv import nn, optim
>>> model = nn.Sequential(nn.Linear(4, 3, rng=0))
>>> opt = optim.SGD(model, lr=0.1, momentum=0.9)
>>> loss = nn.CrossEntropyLoss()
>>> x, y = np.ones((2, 4), dtype=np.float32), np.array([0, 2])
>>> before = float(loss(model(x), y))
>>> opt.zero_grad()
>>> grad_input = model.backward(loss.backward())
>>> opt.step()
>>> float(loss(model(x), y)) < before
True
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

__all__ = ["SGD", "Adam", "Optimizer"]


def _check_float(value: Any, name: str, fn: str, low: float = 0.0) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}")
    v = float(value)
    if not v >= low or not math.isfinite(v):
        raise ValueError(f"{fn}: {name}={value} must be a finite number >= {low}")
    return v


class Optimizer:
    """Base class: holds the model and per-parameter state keyed by parameter name."""

    def __init__(self, model: Any) -> None:
        if not (hasattr(model, "parameters") and hasattr(model, "gradients")):
            raise TypeError(f"{type(self).__name__}: pass the model (a fastconv.nn.Module), got {type(model).__name__}")
        self.model = model
        self.state: Dict[str, Dict[str, Any]] = {}

    def zero_grad(self) -> None:
        """Forget the model's gradients (``model.zero_grad()``)."""
        self.model.zero_grad()

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        params = self.model.parameters()
        grads = self.model.gradients()
        for name, p in params.items():
            g = grads.get(name)
            if g is None:
                continue
            if g.shape != p.shape:
                raise ValueError(
                    f"{type(self).__name__}: gradient of {name} has shape {g.shape}, the parameter {p.shape}"
                )
            self._update(name, p, np.asarray(g, dtype=p.dtype), self.state.setdefault(name, {}))

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, state: Dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with ``torch.optim.SGD``'s rule.

    With ``g = grad + weight_decay * p``: for ``momentum != 0`` the buffer is ``b = g`` at
    the first step and ``b = momentum * b + (1 - dampening) * g`` after, and ``g`` becomes
    ``g + momentum * b`` (nesterov) or ``b``; then ``p -= lr * g`` (``+=`` with maximize).

    Parameters
    ----------
    model : fastconv.nn.Module
    lr : float, default 1e-3
    momentum, dampening, weight_decay : float, default 0
    nesterov : bool, default False
        Needs momentum > 0 and dampening 0 (PyTorch's rule).
    maximize : bool, default False
    """

    def __init__(
        self,
        model: Any,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(model)
        fn = "SGD"
        self.lr = _check_float(lr, "lr", fn)
        self.momentum = _check_float(momentum, "momentum", fn)
        self.dampening = _check_float(dampening, "dampening", fn, -math.inf)
        self.weight_decay = _check_float(weight_decay, "weight_decay", fn)
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(f"{fn}: nesterov momentum requires a momentum > 0 and zero dampening")
        self.nesterov = bool(nesterov)
        self.maximize = bool(maximize)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, state: Dict[str, Any]) -> None:
        if self.maximize:
            g = -g
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf: Optional[np.ndarray] = state.get("momentum_buffer")
            if buf is None:
                buf = np.array(g, copy=True)
                state["momentum_buffer"] = buf
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


class Adam(Optimizer):
    """Adam with ``torch.optim.Adam``'s rule (bias-corrected moments, ``eps`` added after
    the square root, optional amsgrad and L2 ``weight_decay`` added to the gradient).

    Parameters
    ----------
    model : fastconv.nn.Module
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    amsgrad : bool, default False
    maximize : bool, default False
    """

    def __init__(
        self,
        model: Any,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(model)
        fn = "Adam"
        self.lr = _check_float(lr, "lr", fn)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{fn}: betas={betas!r} must be a pair (beta1, beta2)")
        b1, b2 = (_check_float(b, "betas", fn) for b in betas)
        if not (b1 < 1 and b2 < 1):
            raise ValueError(f"{fn}: betas={tuple(betas)} must each be in [0, 1)")
        self.betas = (b1, b2)
        self.eps = _check_float(eps, "eps", fn)
        self.weight_decay = _check_float(weight_decay, "weight_decay", fn)
        self.amsgrad = bool(amsgrad)
        self.maximize = bool(maximize)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, state: Dict[str, Any]) -> None:
        b1, b2 = self.betas
        if self.maximize:
            g = -g
        if self.weight_decay:
            g = g + self.weight_decay * p
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if self.amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (g - m) * (1.0 - b1)  # torch: exp_avg.lerp_(grad, 1 - beta1)
        v *= b2
        v += (1.0 - b2) * g * g
        bc1 = 1.0 - b1**step
        bc2_sqrt = math.sqrt(1.0 - b2**step)
        if self.amsgrad:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            denom = np.sqrt(vmax) / bc2_sqrt + self.eps
        else:
            denom = np.sqrt(v) / bc2_sqrt + self.eps
        p -= (self.lr / bc1) * (m / denom)
