"""Per-thread capture of what a step prints.

``sys.stdout`` and ``sys.stderr`` are replaced once by routers that write to the current
thread's buffer while a step runs there, and to the original stream otherwise, so steps running
side by side in threads each get their own output.

A router never writes back into itself: it wraps the stream beneath any proxy it finds (rich's
``FileProxy`` prints on a console that looks ``sys.stderr`` up again, which would be the
router), and a write that still comes back to it in the same thread goes to the process's
real stream instead of looping.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from dagwright.store.live_logs import LiveLog

_LOCAL = threading.local()
_INSTALL = threading.Lock()


def underlying(stream: Any) -> Any:
    """The stream that ``stream`` finally writes to: beneath routers and rich's proxies."""
    seen: set[int] = set()
    while id(stream) not in seen:
        seen.add(id(stream))
        if isinstance(stream, _Router):
            stream = stream.original
        elif getattr(stream, "rich_proxied_file", None) is not None:
            stream = stream.rich_proxied_file
        else:
            break
    return stream


class _Router(io.TextIOBase):
    def __init__(self, original: TextIO, name: str) -> None:
        self.original = underlying(original)
        self.name = name

    def _target(self) -> TextIO:
        buffers = getattr(_LOCAL, "buffers", None)
        return buffers[self.name] if buffers else self.original

    def _fallback(self) -> TextIO | None:
        real = sys.__stdout__ if self.name == "stdout" else sys.__stderr__
        return None if real is None or real is self or isinstance(real, _Router) else real

    def write(self, text: str) -> int:
        if getattr(_LOCAL, "writing", False):  # the original wrote back into a router
            real = self._fallback()
            return real.write(text) if real is not None else len(text)
        _LOCAL.writing = True
        try:
            return self._target().write(text)
        finally:
            _LOCAL.writing = False

    def flush(self) -> None:
        if getattr(_LOCAL, "writing", False):
            return
        _LOCAL.writing = True
        try:
            self._target().flush()
        finally:
            _LOCAL.writing = False

    def isatty(self) -> bool:
        return False if getattr(_LOCAL, "buffers", None) else self.original.isatty()

    def fileno(self) -> int:
        return self.original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", None) or "utf-8"


def _install() -> None:
    with _INSTALL:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr, "stderr")


class _Teed(io.StringIO):
    """A step's buffer that also hands each write to its live log files."""

    def __init__(self, live: LiveLog, stream: str) -> None:
        super().__init__()
        self.live = live
        self.stream = stream

    def write(self, text: str) -> int:
        written = super().write(text)
        self.live.write(self.stream, text)
        return written


@contextmanager
def captured(live: LiveLog | None = None) -> Iterator[dict[str, io.StringIO]]:
    """Collect this thread's prints in ``{"stdout": ..., "stderr": ...}`` buffers (and, with
    ``live``, in the step's live log files as they are printed)."""
    _install()
    if live is None:
        buffers = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    else:
        buffers = {"stdout": _Teed(live, "stdout"), "stderr": _Teed(live, "stderr")}
    _LOCAL.buffers = buffers
    try:
        yield buffers
    finally:
        _LOCAL.buffers = None


@contextmanager
def suspended() -> Iterator[None]:
    """This thread's prints go to the real streams for the block, not to its step's buffers
    (a debugger's prompt and what is typed at it belong on the terminal)."""
    buffers = getattr(_LOCAL, "buffers", None)
    _LOCAL.buffers = None
    try:
        yield
    finally:
        _LOCAL.buffers = buffers
