"""Per-thread capture of what a step prints.

``sys.stdout`` and ``sys.stderr`` are replaced once by routers that write to the current
thread's buffer while a step runs there, and to the original stream otherwise, so steps running
side by side in threads each get their own output.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_LOCAL = threading.local()
_INSTALL = threading.Lock()


class _Router(io.TextIOBase):
    def __init__(self, original: TextIO, name: str) -> None:
        self.original = original
        self.name = name

    def _target(self) -> TextIO:
        buffers = getattr(_LOCAL, "buffers", None)
        return buffers[self.name] if buffers else self.original

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return False if getattr(_LOCAL, "buffers", None) else self.original.isatty()

    def fileno(self) -> int:
        return self.original.fileno()


def _install() -> None:
    with _INSTALL:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr, "stderr")


@contextmanager
def captured() -> Iterator[dict[str, io.StringIO]]:
    """Collect this thread's prints in ``{"stdout": ..., "stderr": ...}`` buffers."""
    _install()
    buffers = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    _LOCAL.buffers = buffers
    try:
        yield buffers
    finally:
        _LOCAL.buffers = None
