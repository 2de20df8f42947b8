"""The .pyi stubs stay true to the compiled modules (mypy.stubtest, empty allowlist)."""

import os
import re
import runpy
import subprocess
import sys
import typing
from typing import Any, List

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_stubtest_clean():
    pytest.importorskip("mypy")
    cfg = os.path.join(ROOT, "pyproject.toml")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "fastconv", "--mypy-config-file", cfg],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_py_typed_shipped():
    import fastconv

    assert os.path.exists(os.path.join(os.path.dirname(fastconv.__file__), "py.typed"))


def test_max_pool2d_overloads_reveal_types(tmp_path):
    """mypy sees an ndarray, and a tuple of two only for return_indices=True, in all three call forms."""
    pytest.importorskip("mypy")
    src = tmp_path / "use_pool.py"
    src.write_text(
        "import numpy as np\n"
        "import fastconv\n"
        "x = np.zeros((1, 4, 4), np.float32)\n"
        "a = fastconv.max_pool2d(x, 2)\n"
        "b = fastconv.max_pool2d(x, 2, return_indices=True)\n"
        "c = fastconv.max_pool2d(x, 2, 2, 0, 1, False, True)\n"
        "d = fastconv.max_pool2d(x, 2, return_indices=False)\n"
        "reveal_type(a)\nreveal_type(b)\nreveal_type(c)\nreveal_type(d)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", str(src)], capture_output=True, text=True, timeout=600
    )
    lines = [ln for ln in proc.stdout.splitlines() if "Revealed type" in ln]
    assert len(lines) == 4, proc.stdout + proc.stderr
    kinds = [ln.split('Revealed type is "')[1].split("[")[0] for ln in lines]
    assert kinds == ["numpy.ndarray", "tuple", "tuple", "numpy.ndarray"], lines


TYPING = os.path.join(ROOT, "tests", "typing")


def _mypy_strict(script: str, tmp_path: Any) -> List[str]:
    """mypy --strict on one user script, run outside the repository (so that only the
    installed package and its inline types count); returns its error lines."""
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), script],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        timeout=600,
    )
    return [ln for ln in proc.stdout.splitlines() if ": error:" in ln]


def test_strict_user_script_is_clean(tmp_path):
    """Results are NDArray (no no-any-return under --strict) and every documented option
    value type-checks."""
    errors = _mypy_strict(os.path.join(TYPING, "user_ok.py"), tmp_path)
    assert errors == [], "\n".join(errors)


def test_strict_user_script_mistakes_all_caught(tmp_path):
    """Each line marked ``# error`` has a mypy error, and no other line has one."""
    script = os.path.join(TYPING, "user_mistakes.py")
    with open(script) as fh:
        marked = {i for i, ln in enumerate(fh, 1) if ln.rstrip().endswith("# error")}
    assert len(marked) >= 12
    errors = _mypy_strict(script, tmp_path)
    found = {int(re.match(r".*?:(\d+): error", ln).group(1)) for ln in errors}
    assert found == marked, "\n".join(errors)


def test_user_scripts_run():
    """The clean script also runs, and its types describe what it really returns."""
    runpy.run_path(os.path.join(TYPING, "user_ok.py"), run_name="__typing_example__")


def test_literal_options_match_runtime_choices():
    """The Literal aliases list exactly the values the functions accept at run time."""
    from fastconv import _args, _plan, signal
    from fastconv.typing import Algorithm, Boundary, Correlate2DMethod, CorrelateMethod, PaddingMode

    def values(alias: Any) -> set:
        return {v for arg in typing.get_args(alias) for v in typing.get_args(arg)}

    assert values(PaddingMode) == set(_args.PADDING_MODES)
    assert values(Boundary) == set(signal.BOUNDARIES)
    assert values(Correlate2DMethod) == set(signal.METHODS)
    assert values(CorrelateMethod) == set(signal.ND_METHODS)
    assert values(Algorithm) == set(_plan.ALGORITHMS)


@pytest.mark.parametrize(
    "call",
    [
        lambda f, x, w: f.conv2d(x, w, padding_mode="reflection"),
        lambda f, x, w: f.conv2d(x, w, algorithm="winograd3"),
        lambda f, x, w: f.conv2d(x, w, memory_format="nhwc"),
        lambda f, x, w: f.conv2d(x, w, padding="full"),
        lambda f, x, w: f.correlate2d(x[0, 0], w[0, 0], mode="sam"),
        lambda f, x, w: f.correlate2d(x[0, 0], w[0, 0], boundary="reflect"),
        lambda f, x, w: f.correlate(x[0, 0], w[0, 0], method="separable"),
        lambda f, x, w: f.nn.CrossEntropyLoss(reduction="average"),
    ],
)
def test_typed_mistakes_also_fail_at_run_time(call):
    """What the types reject, the functions reject too, with a ValueError."""
    import numpy as np

    import fastconv

    with pytest.raises(ValueError):
        call(fastconv, np.zeros((1, 3, 8, 8), np.float32), np.zeros((6, 3, 3, 3), np.float32))
