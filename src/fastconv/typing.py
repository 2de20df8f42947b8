"""Type aliases of fastconv's public API, for annotating code that calls it.

Array arguments take anything :func:`numpy.asarray` takes (``numpy.typing.ArrayLike``);
results are ``numpy.typing.NDArray``.  CuPy arrays are accepted at run time and give CuPy
results; CuPy ships no type information, so a static checker sees them as ``Any``, which
every array argument accepts.

Every string option is a ``Literal`` of the values the function accepts, so that a typo
(``padding_mode="reflection"``) is a type error as well as a run-time ``ValueError``.  The
options are written as unions of one-value literals: type checkers read them exactly as
``Literal["a", "b"]``, and at run time they are unions, which ``mypy.stubtest`` recognises.

Examples
--------
>>> import numpy as np
>>> from fastconv.typing import PaddingMode
>>> def smooth(x: np.ndarray, mode: PaddingMode = "reflect") -> np.ndarray: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Sequence, Union

import numpy.typing as npt

if TYPE_CHECKING:  # typing.TypeAlias is Python >= 3.10; the annotations are never evaluated
    from typing_extensions import TypeAlias

__all__ = [
    "Algorithm",
    "ArrayLike",
    "Boundary",
    "Correlate2DMethod",
    "CorrelateMethod",
    "MemoryFormat",
    "Mode",
    "NDArray",
    "Padding",
    "PaddingMode",
    "Reduction",
]

#: Anything ``numpy.asarray`` accepts (CuPy arrays too, at run time).
ArrayLike: TypeAlias = npt.ArrayLike
#: A result array (a CuPy array when the inputs were CuPy arrays).
NDArray: TypeAlias = npt.NDArray[Any]

#: ``padding_mode`` of the convolutions: how the border is filled (``numpy.pad`` modes
#: constant, reflect, symmetric, edge, wrap).
PaddingMode: TypeAlias = Union[
    Literal["zeros"], Literal["reflect"], Literal["symmetric"], Literal["replicate"], Literal["circular"]
]
#: ``mode`` of correlate/convolve: the output size.
Mode: TypeAlias = Union[Literal["full"], Literal["same"], Literal["valid"]]
#: ``boundary`` of correlate2d/convolve2d (SciPy's names and aliases).
Boundary: TypeAlias = Union[
    Literal["fill"], Literal["pad"], Literal["wrap"], Literal["circular"], Literal["symm"], Literal["symmetric"]
]
#: ``method`` of correlate2d/convolve2d.
Correlate2DMethod: TypeAlias = Union[Literal["auto"], Literal["direct"], Literal["separable"], Literal["fft"]]
#: ``method`` of the N-D correlate/convolve (SciPy's).
CorrelateMethod: TypeAlias = Union[Literal["auto"], Literal["direct"], Literal["fft"]]
#: ``algorithm`` of conv2d.
Algorithm: TypeAlias = Union[
    Literal["auto"], Literal["direct"], Literal["winograd"], Literal["winograd4"], Literal["fft"]
]
#: ``memory_format`` of conv2d: the layout of the result.
MemoryFormat: TypeAlias = Union[Literal["contiguous"], Literal["preserve"], Literal["channels_last"]]
#: ``reduction`` of the losses.
Reduction: TypeAlias = Union[Literal["mean"], Literal["sum"], Literal["none"]]

#: ``padding`` of the convolutions: one size, one size per spatial axis, one (before, after)
#: pair per spatial axis, "valid" or "same" (conv2d: 3, (1, 2) or ((0, 1), (2, 2))).
Padding: TypeAlias = Union[int, Sequence[int], Sequence[Sequence[int]], Literal["valid"], Literal["same"]]
