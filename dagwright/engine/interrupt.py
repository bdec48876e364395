"""Stopping a run on a signal: SIGTERM becomes the same orderly stop as Ctrl-C.

Python turns SIGINT into ``KeyboardInterrupt`` in the main thread; ``on_sigterm`` makes SIGTERM
raise ``Terminated``, a ``KeyboardInterrupt`` too, so the engine records either the same way:
the run ``interrupted`` with a reason, its running steps ``interrupted``. A shell expects
128 + the signal's number as the exit code (130, 143).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by SIGTERM."""

    signum = signal.SIGTERM


def signal_of(exc: BaseException) -> int:
    """The signal behind an interruption: SIGTERM for ``Terminated``, else SIGINT."""
    return int(getattr(exc, "signum", signal.SIGINT))


def reason(exc: BaseException) -> str:
    """The reason recorded for a run that a signal ended."""
    if signal_of(exc) == signal.SIGTERM:
        return "stopped by SIGTERM"
    return "interrupted by Ctrl-C (SIGINT)"


def ending(exc: BaseException) -> tuple[str, str]:
    """The status and the reason of a run that ``exc`` ended early."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", reason(exc)
    return "failed", f"the engine failed: {type(exc).__name__}: {exc}"


def exit_code(exc: BaseException) -> int:
    """The exit status of a command that a signal ended (128 + the signal's number)."""
    return 128 + signal_of(exc)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextmanager
def on_sigterm() -> Iterator[None]:
    """While open, SIGTERM raises ``Terminated`` in the main thread (elsewhere: nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
