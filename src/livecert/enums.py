"""The base of livecert's string enums."""

from __future__ import annotations

import enum


class StrEnum(str, enum.Enum):
    """A ``str`` enum whose ``str()`` and f-string form is its value (as Python 3.11's
    ``enum.StrEnum``; livecert also runs on 3.10), so codes print and compare as text."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)
