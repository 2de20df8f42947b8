"""The .pyi stubs stay true to the compiled modules (mypy.stubtest, empty allowlist)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_stubtest_clean():
    pytest.importorskip("mypy")
    cfg = os.path.join(ROOT, "pyproject.toml")
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "fastconv", "--mypy-config-file", cfg],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_py_typed_shipped():
    import fastconv

    assert os.path.exists(os.path.join(os.path.dirname(fastconv.__file__), "py.typed"))
