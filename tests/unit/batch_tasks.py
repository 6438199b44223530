"""Task functions for the batch runner's tests: a module of their own, light to import
in each spawned worker."""

from __future__ import annotations

import os

INITIALIZED: list[str] = []


def initializer(tag: str) -> None:
    INITIALIZED.append(tag)


def pid_and_init(x: int) -> tuple[int, int, list[str]]:
    return x, os.getpid(), list(INITIALIZED)


def crash_on_odd(x: int) -> int:
    if x % 2:
        os._exit(3)  # a crash in native code, as the pool sees it
    return x * 10


def raise_on_two(x: int) -> int:
    if x == 2:
        raise RuntimeError("boom")
    return x
