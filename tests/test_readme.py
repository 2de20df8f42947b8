"""Every Python code block of the README and the docs runs as written (in a scratch folder),
so the examples cannot rot."""

import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DOCS = ["README.md"] + sorted(
    os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")
)
BLOCKS = [
    pytest.param(code, id=f"{doc}:{n}")
    for doc in DOCS
    for n, code in enumerate(re.findall(r"```python\n(.*?)```", open(os.path.join(ROOT, doc)).read(), flags=re.S))
]


@pytest.mark.parametrize("code", BLOCKS)
def test_code_block_runs(code, tmp_path, monkeypatch):
    if "cupy" in code or "dask" in code:
        pytest.importorskip("cupy" if "cupy" in code else "dask")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "<doc>", "exec"), {"__name__": "__doc_example__"})


def test_the_readme_has_examples():
    assert any("README.md" in p.id for p in BLOCKS)
