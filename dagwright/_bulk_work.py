"""Pausing Python's cyclic garbage collector around bulk work on large pipelines."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause the cyclic collector while a large IR or spec is checked or built.

    Such work makes hundreds of thousands of short-lived objects; each full collection walks
    all of them, which made the time grow faster than the pipeline (a 5,000-task spec took 8x
    a 1,000-task one). Reference counting still frees everything; collection resumes after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
