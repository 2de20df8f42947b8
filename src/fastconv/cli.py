"""The ``fastconv`` command: ``info`` (the default), ``demo``, ``bench`` and ``train``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Dict, List, Optional

import numpy as np


def _check_against_peers() -> Dict[str, Any]:
    """conv2d on a real-sized layer, checked against a float64 reference and timed against
    the peers a user would reach for: ``scipy.signal.correlate`` with its own method choice
    (one call per image and output channel: a "valid" correlation over the whole channel
    depth is the channel sum), and ``torch.nn.functional.conv2d`` when PyTorch is installed."""
    from scipy.signal import correlate

    import fastconv
    from fastconv.bench import _torch, time_call

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 16, 128, 128)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    y = fastconv.conv2d(x, w, b, padding=1)
    t_fc, _ = time_call(lambda: fastconv.conv2d(x, w, b, padding=1), reps=5)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))

    def scipy_conv(xs: np.ndarray, ws: np.ndarray, method: str = "auto") -> np.ndarray:
        out = np.empty((xs.shape[0], ws.shape[0]) + y.shape[2:], np.result_type(xs, ws))
        for n in range(xs.shape[0]):
            for o in range(ws.shape[0]):
                out[n, o] = correlate(xs[n], ws[o], mode="valid", method=method)[0]
        return out + b[:, None, None]

    ref = scipy_conv(xp.astype(np.float64), w.astype(np.float64), "direct")
    err = float(np.abs(y - ref).max() / np.abs(ref).max())
    peers: Dict[str, Any] = {}
    t_sp, _ = time_call(lambda: scipy_conv(xp, w), reps=3)
    peers["scipy.signal.correlate (method auto)"] = {"ms": t_sp * 1e3, "speedup": t_sp / t_fc}
    torch = _torch()
    if torch is not None:
        tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        with torch.no_grad():
            t_pt, _ = time_call(lambda: torch.nn.functional.conv2d(tx, tw, tb, padding=1), reps=5)
        peers[f"torch.nn.functional.conv2d ({torch.__version__})"] = {"ms": t_pt * 1e3, "speedup": t_pt / t_fc}
    return {
        "case": "conv2d (2, 16, 128, 128) * (32, 16, 3, 3), padding 1, float32",
        "fastconv_ms": t_fc * 1e3,
        "peers": peers,
        "max_relative_error": err,
        "ok": err < 1e-5,
    }


def cmd_info(args: argparse.Namespace) -> int:
    import fastconv
    from fastconv._config import config

    check = _check_against_peers()
    if getattr(args, "json", False):
        print(json.dumps({"config": config(), "check": check}, indent=1, default=str))
        return 0 if check["ok"] else 1
    fastconv.show_config()
    print(f"\n{check['case']} (median of 5 runs, {fastconv.get_num_threads()} threads):")
    print(f"  {'fastconv':<44}{check['fastconv_ms']:9.2f} ms")
    for name, p in check["peers"].items():
        print(f"  {name:<44}{p['ms']:9.2f} ms   fastconv {p['speedup']:.1f}x as fast")
    if len(check["peers"]) == 1:
        print("  (pip install torch==2.13.0 adds PyTorch to the comparison)")
    print(f"  max relative error against a float64 reference: {check['max_relative_error']:.1e}")
    print("  result matches SciPy" if check["ok"] else "  RESULT DIFFERS FROM SCIPY")
    return 0 if check["ok"] else 1


def lenet(rng: int = 0) -> "Any":
    """The classic pipeline: Conv2d(3, 6, 5) -> MaxPool2d(2, 2) -> Conv2d(6, 16, 5) -> MaxPool2d(2, 2)."""
    from fastconv import nn

    return nn.Sequential(
        nn.Conv2d(3, 6, 5, rng=rng), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5, rng=rng + 1), nn.MaxPool2d(2, 2)
    )


def cmd_demo(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1.0, 1.0, size=(args.batch, 3, 32, 32)).astype(np.float32)  # CIFAR-10-like, in [-1, 1]
    model = lenet(args.seed)
    print("LeNet-style pipeline on a batch of CIFAR-10-sized images:")
    shapes = [list(x.shape)] + [list(y.shape) for _, y in model.trace(x)]
    print("  " + " -> ".join(str(s) for s in shapes))
    print()
    print(model.summary(x.shape))
    model(x)
    reps = 200
    t0 = time.perf_counter()
    for _ in range(reps):
        y = model(x)
    dt = (time.perf_counter() - t0) / reps
    print(f"\ntime per batch of {args.batch}: {dt * 1e6:.1f} us")
    if args.check:
        try:
            import torch
        except ImportError:
            print("--check: PyTorch is not installed, so nothing was checked", file=sys.stderr)
            return 2
        tm = torch.nn.Sequential(
            torch.nn.Conv2d(3, 6, 5), torch.nn.MaxPool2d(2, 2), torch.nn.Conv2d(6, 16, 5), torch.nn.MaxPool2d(2, 2)
        )
        tm.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
        with torch.no_grad():
            ref = tm(torch.from_numpy(x)).numpy()
            tm(torch.from_numpy(x))
            t0 = time.perf_counter()
            for _ in range(reps):
                tm(torch.from_numpy(x))
            tt = (time.perf_counter() - t0) / reps
        err = float(np.abs(ref - y).max())
        ok = err < 1e-4
        print(
            f"--check against PyTorch {torch.__version__}: max abs difference {err:.2e} "
            f"({'OK' if ok else 'MISMATCH'}); PyTorch {tt * 1e6:.1f} us per batch, "
            f"fastconv {tt / dt:.2f}x as fast"
        )
        return 0 if ok else 1
    return 0


class _Progress:
    """Progress of ``fastconv bench`` on stderr: a tqdm bar with ETA on a terminal (tqdm
    from the ``bench`` extra), else one plain line per case with the time left estimated
    from the cases done so far."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def start(self, i: int, n: int, label: str) -> None:
        if not self.enabled:
            return
        if self.tty and self.bar is None:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=n, unit="case", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                self.bar = False
        if self.bar:
            self.bar.set_description(label)
            return
        elapsed = time.perf_counter() - self.t0
        left = "" if i == 0 else f", about {_duration(elapsed / i * (n - i))} left"
        line = f"bench: [{i + 1}/{n}] {label} ({_duration(elapsed)} so far{left})"
        if self.tty:  # a terminal without tqdm: one line, rewritten
            print("\r" + line.ljust(78), end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def write(self, text: str) -> None:
        """Print result lines to stdout without breaking the bar."""
        if self.bar:
            self.bar.write(text, file=sys.stdout)
        else:
            if self.enabled and self.tty:
                print("\r" + " " * 78 + "\r", end="", file=sys.stderr, flush=True)
            print(text, flush=True)

    def done(self) -> None:
        if self.bar:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def cmd_bench(args: argparse.Namespace) -> int:
    from fastconv import bench

    prog = _Progress(not args.no_progress)
    printed_header = False

    def report(suite: Any, rows: List[Any]) -> None:
        nonlocal printed_header
        if not printed_header:
            prog.write(bench.format_header(suite.machine))
            printed_header = True
        if rows:
            prog.write(bench.format_rows(rows))
        prog.done()

    try:
        suite = bench.run(
            args.cases,
            args.threads,
            quick=args.quick,
            reps=args.reps,
            progress=prog.start,
            networks=args.networks,
            report=report,
        )
    finally:
        prog.close()
    print(f"\n{len(suite.seconds) - 1} cases in {_duration(suite.seconds['total'])}")
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(bench.to_json(suite))
        print(f"wrote {args.json}")
    if args.plot:
        try:
            bench.plot(suite, args.plot)
            print(f"wrote {args.plot}")
        except ImportError:
            print("--plot needs matplotlib: pip install 'fastconv[bench]'", file=sys.stderr)
            return 2
    bad = [r for r in suite.results if r.check not in ("ok", "skipped")]
    for r in bad:
        print(f"CHECK FAILED: {r.case} {r.impl}: {r.check}", file=sys.stderr)
    return 1 if bad else 0


def cmd_train(args: argparse.Namespace) -> int:
    from fastconv import train

    try:
        train.require("sklearn", "fastconv train")
        tqdm = None if args.no_progress else train.require("tqdm", "the progress bar of fastconv train").tqdm
        if args.plot:
            train.require("matplotlib", "--plot")
    except train.MissingExtra as exc:
        print(str(exc), file=sys.stderr)
        return 2

    def bar(epoch: int, n: int) -> Any:
        assert tqdm is not None
        return tqdm(range(n), desc=f"epoch {epoch}/{args.epochs}", unit="batch", leave=False, file=sys.stderr)

    t0 = time.perf_counter()
    model, hist = train.fit(
        epochs=args.epochs, seed=args.seed, batch=args.batch, lr=args.lr, progress=None if tqdm is None else bar
    )
    total = time.perf_counter() - t0
    print(model)
    print(f"\n{'epoch':>5} {'train loss':>11} {'held-out loss':>14} {'held-out accuracy':>18} {'seconds':>8}")
    for e, a, b, c, d in zip(hist.epochs, hist.train_loss, hist.test_loss, hist.test_accuracy, hist.seconds):
        print(f"{e:>5} {a:>11.4f} {b:>14.4f} {100 * c:>17.2f}% {d:>8.2f}")
    print(
        f"\nheld-out accuracy {100 * hist.test_accuracy[-1]:.2f}% after {args.epochs} epochs, "
        f"{total:.1f} s in all ({sum(hist.seconds) / len(hist.seconds):.2f} s per epoch)"
    )
    if args.json:
        with open(args.json, "w") as fh:
            config = dict(epochs=args.epochs, seed=args.seed, batch=args.batch, lr=args.lr)
            json.dump(dict(hist.as_dict(), config=config, total_seconds=total), fh, indent=1)
        print(f"wrote {args.json}")
    if args.plot:
        train.plot(hist, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{v} must be a positive finite number")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be >= 1")
    return v


def _int_list(text: str) -> List[int]:
    """Comma-separated thread counts, each >= 1."""
    return [_positive_int(t.strip()) for t in text.split(",")]


def _case_list(text: str) -> List[str]:
    from fastconv import bench

    known = [*bench.CONV_CASES, *bench.POOL_CASES, *bench.IMAGE_CASES, *bench.GRAD_CASES, *bench.VOLUME_CASES]
    cases = [c.strip() for c in text.split(",")]
    bad = [c for c in cases if c not in known]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown case(s) {', '.join(bad)}; known: {', '.join(known)}")
    return cases


def _network_list(text: str) -> List[str]:
    from fastconv import bench

    nets = [n.strip() for n in text.split(",")]
    bad = [n for n in nets if n not in bench.NETWORKS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown network(s) {', '.join(bad)}; known: {', '.join(bench.NETWORKS)}")
    return nets


def _writable(text: str) -> str:
    """A path whose folder exists (checked before a run that may take minutes)."""
    import os

    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist")
    return text


def build_parser() -> argparse.ArgumentParser:
    from fastconv import __version__

    p = argparse.ArgumentParser(prog="fastconv", description="fast CPU 2-D convolution and pooling")
    p.add_argument("--version", action="version", version=f"fastconv {__version__}")
    sub = p.add_subparsers(dest="command")
    i = sub.add_parser(
        "info",
        help="build configuration, and a conv2d checked against a float64 reference and timed against "
        "SciPy and PyTorch (the default command)",
    )
    i.add_argument("--json", action="store_true", help="print the configuration and the check as JSON")
    d = sub.add_parser("demo", help="the LeNet-style pipeline on a batch of random CIFAR-10-sized images")
    d.add_argument("--batch", type=_positive_int, default=4, help="images per batch (default 4)")
    d.add_argument("--seed", type=int, default=0, help="seed of the random images and weights (default 0)")
    d.add_argument("--check", action="store_true", help="compare with PyTorch (fails when it is not installed)")
    b = sub.add_parser(
        "bench",
        help="the benchmark suite against every installed peer",
        description="The benchmark cases against every installed peer (PyTorch, NumPy, SciPy, OpenCV), each "
        "peer's result checked first; results print as each case finishes.  The full run (28 cases at 1 thread "
        "and at all cores) takes about 10 minutes on 2 cores, --quick about a minute, --networks about 10 "
        "minutes more.",
    )
    b.add_argument("--quick", action="store_true", help="the one-minute subset")
    b.add_argument("--cases", type=_case_list, help="comma-separated case ids, e.g. C1,C3,P1,I1")
    b.add_argument("--threads", type=_int_list, help="comma-separated thread counts (default: 1 and all cores)")
    b.add_argument("--reps", type=_positive_int, help="timings per measurement (default 7, 3 with --quick)")
    b.add_argument(
        "--networks",
        nargs="?",
        const=["resnet18", "mobilenet_v2"],
        type=_network_list,
        metavar="NAMES",
        help="every conv layer of ResNet-18 and MobileNetV2 (or the comma-separated NAMES) at batch 1 and 8, "
        "against PyTorch NCHW and channels_last, with per-network sums (about 10 minutes)",
    )
    b.add_argument("--json", metavar="PATH", type=_writable, help="write machine-readable results")
    b.add_argument("--plot", metavar="PATH", type=_writable, help="write a PNG bar chart (needs matplotlib)")
    b.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    t = sub.add_parser(
        "train",
        help="train a LeNet-style network on scikit-learn's handwritten digits (needs fastconv[train])",
    )
    t.add_argument("--epochs", type=_positive_int, default=30, help="passes over the training set (default 30)")
    t.add_argument("--seed", type=int, default=0, help="seed of the weights, split and shuffles (default 0)")
    t.add_argument("--batch", type=_positive_int, default=32, help="images per step (default 32)")
    t.add_argument("--lr", type=_positive_float, default=2e-3, help="Adam's learning rate (default 0.002)")
    t.add_argument("--json", metavar="PATH", type=_writable, help="write the per-epoch history as JSON")
    t.add_argument("--plot", metavar="PATH", type=_writable, help="write loss and accuracy curves as a PNG")
    t.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "info"
    try:
        return {"info": cmd_info, "demo": cmd_demo, "bench": cmd_bench, "train": cmd_train}[command](args)
    except BrokenPipeError:
        # the reader (e.g. `fastconv bench | head`) went away: stop quietly, and keep Python's
        # final flush of stdout from raising again
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
