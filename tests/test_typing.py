"""The .pyi stubs stay true to the compiled modules (mypy.stubtest, empty allowlist)."""

import os
import subprocess
import sys

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
    """mypy sees a tuple only for return_indices=True, in all three call forms."""
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
    assert "tuple[" not in lines[0] and "tuple[" in lines[1] and "tuple[" in lines[2]
    assert "tuple[" not in lines[3]
