"""fastconv: fast CPU 2-D convolution and pooling with PyTorch and SciPy semantics.

The public API (see the project's API contract) is re-exported here.  Importing fastconv
never imports CuPy or Dask.
"""

from __future__ import annotations

from fastconv import grad, nn, optim
from fastconv._buffers import buffer_cache_info, set_buffer_cache
from fastconv._config import show_config
from fastconv._omp import get_num_threads, openmp_enabled, set_num_threads
from fastconv._threads import threads
from fastconv._version import __version__
from fastconv.conv import conv2d, conv_transpose2d, explain
from fastconv.nd import avg_pool1d, avg_pool3d, conv1d, conv3d, max_pool1d, max_pool3d, max_unpool1d, max_unpool3d
from fastconv.pool import avg_pool2d, max_pool2d, max_unpool2d
from fastconv.shapes import (
    ConvCost,
    conv1d_cost,
    conv1d_output_shape,
    conv2d_cost,
    conv2d_output_shape,
    conv3d_cost,
    conv3d_output_shape,
    pool1d_output_shape,
    pool2d_output_shape,
    pool3d_output_shape,
)
from fastconv.signal import convolve, convolve2d, correlate, correlate2d

__all__ = [
    "__version__",
    "ConvCost",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "buffer_cache_info",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv1d_cost",
    "conv1d_output_shape",
    "conv2d_cost",
    "conv2d_output_shape",
    "conv3d_cost",
    "conv3d_output_shape",
    "conv_transpose2d",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "explain",
    "get_num_threads",
    "grad",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "nn",
    "optim",
    "openmp_enabled",
    "pool1d_output_shape",
    "pool2d_output_shape",
    "pool3d_output_shape",
    "set_buffer_cache",
    "set_num_threads",
    "show_config",
    "threads",
]
