"""Sphinx configuration of fastconv's documentation site.

Build: ``pip install ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html``
(the gallery's examples run during the build, with matplotlib's Agg back end).
"""

import os

import fastconv

project = "fastconv"
author = "The fastconv developers"
copyright = "2026, the fastconv developers"
release = fastconv.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]

# API pages: numpydoc renders the docstrings; every public function and layer is listed
# explicitly in api.rst, so the members of classes need no extra autosummary tables.
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Markdown pages (the user guide): heading anchors for in-page links.
myst_heading_anchors = 3

# The gallery: every examples/plot_*.py runs at build time; a failing example fails the build.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "remove_config_comments": True,
    "show_signature": False,
}
os.environ.setdefault("MPLBACKEND", "Agg")

html_theme = "alabaster"
html_title = f"fastconv {release}"
html_theme_options = {
    "description": "Fast CPU convolution and pooling with PyTorch's and SciPy's semantics",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_static_path: list = []
