"""Array type aliases used across livecert's signatures, and checks of the numbers callers give.

Shapes cannot be typed yet; docstrings give them (numpydoc style).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard

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


def is_finite_number(value: object) -> TypeGuard[int | float]:
    """True for a finite int or float; False for a bool, nan, inf or anything else."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def per_frame(
    owner: str,
    columns: Mapping[str, object],
    code: ErrorCode,
    *,
    integer: Collection[str] = (),
) -> dict[str, AnyArray]:
    """Parallel per-frame columns as arrays: float64, or int64 for the names in ``integer``.

    Parameters
    ----------
    owner : str
        Who checks, for the messages (e.g. ``"FrameTrace"``).
    columns : mapping of str to array_like
        Parallel per-frame values by name; the first one sets the length.
    code : ErrorCode
        The code of the errors raised.
    integer : collection of str, optional
        Columns converted to int64 instead of float64.

    Returns
    -------
    dict of str to ndarray, each of shape (N,)
        The columns in the order given.

    Raises
    ------
    InputError
        With ``code``: a column that is not numbers, is not
        one-dimensional, or differs in length from the first.
    """
    arrays: dict[str, AnyArray] = {}
    first: tuple[str, int] | None = None
    for name, given in columns.items():
        dtype = np.int64 if name in integer else np.float64
        try:
            values = np.asarray(given, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{owner}: {name} must be numbers, one per frame ({exc})", code=code) from None
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
        arrays[name] = values
    return arrays
