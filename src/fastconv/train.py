"""Training a LeNet-style network without PyTorch: the ``fastconv train`` command.

The data are scikit-learn's bundled handwritten digits (1,797 images of 8 x 8 pixels,
shipped inside scikit-learn, nothing is downloaded), split into a training and a held-out
set; the network is :func:`digits_lenet`, trained with :class:`fastconv.optim.Adam` on
:class:`fastconv.nn.CrossEntropyLoss`.  scikit-learn and tqdm (and matplotlib for plots)
come from the ``train`` extra: ``pip install "fastconv[train]"``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from fastconv import nn, optim

#: What ``pip install`` brings each optional tool in.
EXTRA = "fastconv[train]"


class MissingExtra(ImportError):
    """An optional package of the ``train`` extra is not installed."""


def require(module: str, purpose: str) -> Any:
    """Import ``module`` or raise :class:`MissingExtra` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{purpose} needs {module.split('.')[0]}: pip install '{EXTRA}'") from None


def digits_lenet(dtype: Any = np.float32, seed: int = 0) -> nn.Sequential:
    """LeNet-style network for 1 x 8 x 8 images and 10 classes: LeNet's 6- and 16-channel
    convolutions (3 x 3, padded, for the small images) with ReLU, one 2 x 2 max pooling
    between them, then fully connected 256 -> 120 -> 84 -> 10."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 3, padding=1, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(256, 120, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.Linear(120, 84, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.Linear(84, 10, dtype=dtype, rng=rng),
    )


def load_digits(seed: int = 0, test_fraction: float = 0.2) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits as float32 (N, 1, 8, 8) images and int64 labels, split into
    (x_train, y_train, x_test, y_test) by a seeded stratified shuffle and standardised."""
    datasets = require("sklearn.datasets", "fastconv train")
    model_selection = require("sklearn.model_selection", "fastconv train")
    data = datasets.load_digits()
    x = data.images.astype(np.float32)[:, None]
    y = data.target.astype(np.int64)
    xtr, xte, ytr, yte = model_selection.train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    # standardised with the training set's mean and deviation
    mean, std = xtr.mean(), xtr.std()
    return (xtr - mean) / std, ytr, (xte - mean) / std, yte


@dataclass
class History:
    """Per-epoch training loss, held-out loss and accuracy, and seconds."""

    epochs: List[int] = field(default_factory=list)
    train_loss: List[float] = field(default_factory=list)
    test_loss: List[float] = field(default_factory=list)
    test_accuracy: List[float] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)

    def as_dict(self) -> Dict[str, List[Any]]:
        return asdict(self)


def evaluate(model: nn.Sequential, x: np.ndarray, y: np.ndarray, batch: int = 512) -> Tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on (x, y), in evaluation mode."""
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total, correct = 0.0, 0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch])
        total += float(loss_fn(logits, y[i : i + batch]))
        correct += int((logits.argmax(axis=1) == y[i : i + batch]).sum())
    model.train()
    return total / len(x), correct / len(x)


def fit(
    epochs: int = 30,
    seed: int = 0,
    batch: int = 32,
    lr: float = 2e-3,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> Tuple[nn.Sequential, History]:
    """Train :func:`digits_lenet` on the digits for ``epochs`` epochs.

    Parameters
    ----------
    epochs, seed, batch, lr
        Epochs, the seed of weights, split and shuffles, the batch size and Adam's rate.
    progress : callable, optional
        ``progress(epoch, n_batches)`` returns an iterable wrapper over the batch indices of
        one epoch (e.g. a tqdm bar); the default runs without one.

    Returns
    -------
    (model, History)
    """
    xtr, ytr, xte, yte = load_digits(seed)
    with _blas_single_thread():
        return _fit(xtr, ytr, xte, yte, epochs, seed, batch, lr, progress)


def _blas_single_thread() -> Any:
    """NumPy's BLAS on one thread for the small matrix products of a training step, when
    threadpoolctl (a scikit-learn dependency) is there: BLAS threads spinning beside
    fastconv's OpenMP threads compete for the same cores (benchmarks/results/README.md)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _fit(
    xtr: np.ndarray,
    ytr: np.ndarray,
    xte: np.ndarray,
    yte: np.ndarray,
    epochs: int,
    seed: int,
    batch: int,
    lr: float,
    progress: Optional[Callable[[int, int], Any]],
) -> Tuple[nn.Sequential, History]:
    model = digits_lenet(seed=seed)
    opt = optim.Adam(model, lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    hist = History()
    n_batches = -(-len(xtr) // batch)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        order = rng.permutation(len(xtr))
        steps = range(n_batches) if progress is None else progress(epoch, n_batches)
        total = 0.0
        for b in steps:
            idx = order[b * batch : (b + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
            total += float(loss) * len(idx)
            if hasattr(steps, "set_postfix"):
                steps.set_postfix(loss=f"{float(loss):.3f}")
        seconds = time.perf_counter() - t0
        test_loss, acc = evaluate(model, xte, yte)
        hist.epochs.append(epoch)
        hist.train_loss.append(total / len(xtr))
        hist.test_loss.append(test_loss)
        hist.test_accuracy.append(acc)
        hist.seconds.append(seconds)
    return model, hist


def plot(hist: History, path: str) -> None:
    """Loss and held-out accuracy curves as a PNG (needs matplotlib)."""
    require("matplotlib", "--plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(hist.epochs, hist.train_loss, label="training")
    a.plot(hist.epochs, hist.test_loss, label="held-out")
    a.set_xlabel("epoch")
    a.set_ylabel("cross-entropy")
    a.set_yscale("log")
    a.legend()
    b.plot(hist.epochs, [100 * v for v in hist.test_accuracy], color="C2")
    b.set_xlabel("epoch")
    b.set_ylabel("held-out accuracy (%)")
    fig.suptitle("fastconv train: LeNet-style network on scikit-learn's digits")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
