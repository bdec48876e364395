"""Stopping a run on a signal: SIGTERM becomes the same orderly stop as Ctrl-C.

Python turns SIGINT into ``KeyboardInterrupt`` in the main thread; ``on_sigterm`` makes SIGTERM
raise ``Terminated``, a ``KeyboardInterrupt`` too, so the engine records either the same way:
the run ``interrupted`` with a reason, its running steps ``interrupted``. A shell expects
128 + the signal's number as the exit code (130, 143).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from dagwright.engine.result import INTERRUPTED, RunResult

if TYPE_CHECKING:
    from dagwright.engine.local import LocalEngine


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


def abandon(engine: LocalEngine, exc: BaseException, arguments: dict[str, Any]) -> None:
    """The run ends early: Ctrl-C or SIGTERM (``interrupted``), or a fault of the engine
    itself (``failed``). Record why, and the steps that were running, so that no run stays
    ``running`` and ``resume`` continues it."""
    status, reason = ending(exc)
    exc.run_id = engine.run_id  # type: ignore[attr-defined]  # for the CLI's message
    now = time.time()
    for record in (execution.record for execution in engine.running.values()):
        record.status, record.error, record.ended = INTERRUPTED, reason, now
        record.duration = now - (record.started or now)
        engine.records.append(record)
    try:
        engine.flush()  # steps that ended since the last dispatch round
        engine.db.stop_run(engine.run_id, status, reason)  # with the step rows still running
        if engine.observer:
            engine.records.sort(key=lambda r: (engine.position[r.task], r.iteration))
            result = RunResult(engine.run_id, engine.ir.name, status, {}, engine.records)
            result.artifacts, result.params = engine.store.run_uri(engine.run_id), arguments
            result.reason = reason
            engine.observer.run_finished(result)
    except Exception:  # recording must not hide why the run stopped
        logging.getLogger("dagwright").warning(
            "could not record the end of run %s", engine.run_id, exc_info=True
        )


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
