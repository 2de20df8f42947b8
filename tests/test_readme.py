"""Every Python code block of the README and the docs runs as written (in a scratch folder),
so the examples cannot rot."""

import doctest
import importlib
import os
import re
import runpy

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DOCS = ["README.md"] + sorted(
    os.path.relpath(os.path.join(folder, f), ROOT)
    for folder, subdirs, files in os.walk(os.path.join(ROOT, "docs"))
    if "_build" not in folder and "auto_examples" not in folder
    for f in files
    if f.endswith(".md")
)
#: The gallery (docs/examples/plot_*.py): run at the docs build, and here, so that they are
#: tested wherever the tests run.
EXAMPLES = sorted(
    f for f in os.listdir(os.path.join(ROOT, "docs", "examples")) if f.startswith("plot_") and f.endswith(".py")
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


def test_the_guide_pages_are_collected():
    assert any("guide" in p.id for p in BLOCKS) and len(EXAMPLES) >= 4


def test_readme_links_resolve():
    """Every relative link of the README and the docs points at a file that exists."""
    for doc in DOCS:
        text = open(os.path.join(ROOT, doc)).read()
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            path = os.path.normpath(os.path.join(ROOT, os.path.dirname(doc), target))
            assert os.path.exists(path), f"{doc}: broken link {target}"


@pytest.mark.parametrize("name", EXAMPLES)
def test_gallery_example_runs(name, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    if "lenet" in name:
        pytest.importorskip("sklearn")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    path = os.path.join(ROOT, "docs", "examples", name)
    try:
        runpy.run_path(path, run_name="__main__")
        assert plt.get_fignums(), f"{name} drew no figure"
    finally:
        plt.close("all")


#: Modules whose docstrings the API pages render: their ``>>>`` examples run as doctests.
DOCTEST_MODULES = [
    "fastconv",
    "fastconv.conv",
    "fastconv.pool",
    "fastconv.signal",
    "fastconv.nd",
    "fastconv.grad",
    "fastconv.shapes",
    "fastconv.nn",
    "fastconv.optim",
    "fastconv.typing",
    "fastconv._threads",
    "fastconv._config",
    "fastconv.dask",
    "fastconv.cuda",
]


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module):
    if module == "fastconv.dask":
        pytest.importorskip("dask")
    mod = importlib.import_module(module)
    tests = [t for t in doctest.DocTestFinder().find(mod, module) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    report: list = []
    for t in tests:
        runner.run(t, out=report.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(report)


def test_api_page_lists_every_public_name():
    """docs/api.rst names every function of fastconv.__all__ and every layer of fastconv.nn."""
    import fastconv
    from fastconv import nn

    text = open(os.path.join(ROOT, "docs", "api.rst")).read()
    listed = set(re.findall(r"^   (\w+)$", text, flags=re.M))
    modules = {"grad", "nn", "optim", "__version__"}
    missing = [n for n in fastconv.__all__ if n not in modules and n not in listed]
    layers = [n for n, v in vars(nn).items() if isinstance(v, type) and issubclass(v, nn.Module) and n[0] != "_"]
    missing += [n for n in layers if n not in listed]
    assert not missing, f"not on the API page: {missing}"
