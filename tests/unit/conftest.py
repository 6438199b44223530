"""Fixtures shared by the unit tests: a public-domain face photo and the dlib descriptor."""

from __future__ import annotations

import numpy as np
import pytest

from livecert.identity.embedding import DlibEmbedder


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (Eileen Collins, public domain), RGB, shape (512, 512, 3)."""
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="module")
def embedder() -> DlibEmbedder:
    return DlibEmbedder()
