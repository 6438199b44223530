"""livecert: certify that a live, specific person is in front of a camera.

The public API is what ``__init__.pyi`` lists: that stub is the one list of
exported names, read here to load each name from its module on first use.
Heavy dependencies (mediapipe, OpenCV, dlib, PyAV) load on first use too.
"""

from __future__ import annotations

import ast
import importlib
import logging
from pathlib import Path

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def _read_stub() -> dict[str, str]:
    """Exported name -> module, from the ``from X import a, b`` lines of ``__init__.pyi``."""
    tree = ast.parse((Path(__file__).parent / "__init__.pyi").read_text(encoding="utf-8"))
    return {
        alias.asname or alias.name: node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("livecert.")
        for alias in node.names
    }


_EXPORTS = _read_stub()
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'livecert' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
