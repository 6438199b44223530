"""Array type aliases used across livecert's signatures.

Shapes cannot be typed yet; docstrings give them (numpydoc style).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

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
