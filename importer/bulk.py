"""Helpers for the stages that touch every row of a large file."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a stage builds or writes a million small objects.

    Those objects hold no reference cycles, yet each allocation burst makes the collector walk
    every live row again; pausing it saves seconds on large files.  Only for CPU-bound stretches:
    never around network waits.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
