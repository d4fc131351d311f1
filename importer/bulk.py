"""Helpers for the stages that touch every row of a large file."""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyarrow as pa


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a stage builds or writes a million small objects.

    Those objects hold no reference cycles, yet each allocation burst makes the collector walk
    every live row again; pausing it saves seconds on large files.  Only for CPU-bound stretches:
    never around network waits.

    On the way out the live objects are frozen (``gc.freeze``): the collector would otherwise walk
    the million new ones once per generation as they age, about a second per large file.  Frozen
    objects are still freed as soon as nothing refers to them; only a reference cycle that is
    already garbage at that moment stays until ``gc.unfreeze``.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()
            gc.enable()


def release_memory() -> None:
    """Give the memory a column-wise stage freed back to the system before the next one runs.

    Arrow's pool keeps freed buffers for reuse, and glibc keeps freed NumPy temporaries inside its
    heap; after a large file's columns are computed that is hundreds of MiB that the Python objects
    built next cannot use.
    """
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (Linux), else None: other C libraries return freed memory themselves."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_MALLOC_TRIM = _malloc_trim()
