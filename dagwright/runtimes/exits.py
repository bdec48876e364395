"""``os._exit`` in a Local step fails that step instead of ending the engine.

Local steps run in the engine's own process, for speed. ``sys.exit()`` raises ``SystemExit``,
which the step's thread catches like any failure; ``os._exit()`` would end the process at once,
with every other running step and the run's records. While a step runs in a thread, a call to
``os._exit`` from that thread raises ``ExitCalled`` instead. Any other thread, and a child made
by ``fork`` (another pid), gets the real ``os._exit``. What no Python code can catch (a
segfault in C code, SIGKILL) still ends the engine; the run database then records the run
``interrupted`` once its owner is seen gone (``store/owner.py``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

_real_exit = os._exit
_steps = threading.local()  # ``pid``: set while a step runs in this thread
_lock = threading.Lock()


class ExitCalled(SystemExit):
    """A Local step called ``os._exit``."""

    def __str__(self) -> str:
        return (
            f"the step called os._exit({self.code}), which would have ended the engine and "
            "every other step: Local steps run inside the engine's process; raise an "
            "exception to fail, or use runtime=Process()"
        )


def _guarded_exit(status: int) -> NoReturn:
    if getattr(_steps, "pid", None) == os.getpid():
        raise ExitCalled(status)
    _real_exit(status)


@contextmanager
def guarded() -> Iterator[None]:
    """While open, ``os._exit`` from this thread raises ``ExitCalled``."""
    with _lock:
        if os._exit is not _guarded_exit:
            os._exit = _guarded_exit
    previous = getattr(_steps, "pid", None)
    _steps.pid = os.getpid()
    try:
        yield
    finally:
        _steps.pid = previous
