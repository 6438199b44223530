"""Array type aliases used across livecert's signatures.

Shapes cannot be typed yet; docstrings give them (numpydoc style).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from livecert.errors import ErrorCode, InputError

#: Any numeric array (float64 unless a docstring says otherwise).
FloatArray = npt.NDArray[np.floating[Any]]
#: Integer array (counts, indices, flag bitmasks).
IntArray = npt.NDArray[np.integer[Any]]
#: Boolean mask.
BoolArray = npt.NDArray[np.bool_]
#: An 8-bit picture, shape (H, W, 3) RGB or (H, W) gray.
Image = npt.NDArray[np.uint8]
#: Any array whose dtype is checked at run time (inputs from callers).
AnyArray = npt.NDArray[Any]


def check_per_frame(owner: str, columns: Mapping[str, AnyArray], code: ErrorCode) -> None:
    """``InputError`` with ``code`` unless every array is one-dimensional and as long as the first.

    Parameters
    ----------
    owner : str
        Who checks, for the message (e.g. ``"FrameTrace"``).
    columns : mapping of str to ndarray
        Parallel per-frame arrays by name; the first one sets the length.
    code : ErrorCode
    """
    first: tuple[str, int] | None = None
    for name, values in columns.items():
        if values.ndim != 1:
            raise InputError(
                f"{owner}: {name} must be one-dimensional (one value per frame), got shape {values.shape}", code=code
            )
        if first is None:
            first = (name, values.shape[0])
        elif values.shape[0] != first[1]:
            raise InputError(
                f"{owner}: {name} has {values.shape[0]} values where {first[0]} has {first[1]}; give one per frame",
                code=code,
            )
