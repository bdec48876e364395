"""``dagwright run --pdb``: a step run in this process (Local, a Spark or Dask driver) that
raises opens pdb's post-mortem on the terminal, and a ``breakpoint()`` in one prompts there,
not into the step's captured output.

Turned on once per process (``enable``) by the command line, which also runs steps one at a
time so that two prompts never interleave; ``local.run_local`` then enforces no timeout (a
debugger session would outlast it, and the step be recorded as timed out). The debugger reads
this process's stdin and writes to the stream beneath the step capture
(``capture.underlying``); for a post-mortem the capture is suspended in the step's thread, so
``!print(...)`` at the prompt shows there too. Steps run in another process (``Process``, a
cluster) get none of this.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagwright.runtimes.capture import suspended, underlying

_ON = {"enabled": False}


def enable() -> None:
    """Post-mortems for failing in-process steps from now on, and ``breakpoint()`` on the terminal
    (unless ``PYTHONBREAKPOINT`` chooses another debugger)."""
    _ON["enabled"] = True
    if not os.environ.get("PYTHONBREAKPOINT"):
        sys.breakpointhook = _breakpoint


@contextmanager
def breakpoints_refused() -> Iterator[None]:
    """Without ``--pdb``, for the block: a ``breakpoint()`` in an in-process step fails that
    step at once, naming the fix, instead of writing its prompt into the step's captured
    output and waiting on stdin unseen (unless ``PYTHONBREAKPOINT`` chooses a debugger, ``0``
    none). The hook is put back afterwards (a command run inside a test process)."""
    if _ON["enabled"] or os.environ.get("PYTHONBREAKPOINT"):
        yield
        return
    before = sys.breakpointhook
    sys.breakpointhook = _refused
    try:
        yield
    finally:
        sys.breakpointhook = before


def enabled() -> bool:
    """Whether ``enable`` was called in this process."""
    return _ON["enabled"]


def _debugger() -> Any:
    import pdb

    # stdin given, so pdb writes its prompt to its own stdout (the terminal), not through
    # input() into sys.stdout (the step's capture); SIGINT stays the command's
    return pdb.Pdb(stdin=sys.stdin, stdout=underlying(sys.stdout), nosigint=True)


def on_failure(exc: BaseException, task: str) -> None:
    """When enabled, pdb's post-mortem at the step's exception, on the terminal; it returns
    when the user continues or quits, and the step then fails as it would have."""
    if not _ON["enabled"] or exc.__traceback__ is None or quit_debugger(exc):
        return
    with suspended():
        out = underlying(sys.stdout)
        out.write(
            f"\n--- step {task} raised {type(exc).__name__}\n"  # its message may hold a Secret
            "--- post-mortem (c or q: the step fails and the run goes on)\n"
        )
        out.flush()
        debugger = _debugger()
        debugger.reset()
        debugger.interaction(None, exc.__traceback__)


def quit_debugger(exc: BaseException) -> bool:
    """Is ``exc`` pdb's own ``BdbQuit`` (``q`` at a ``breakpoint()``): the user is done, and
    wants no post-mortem of it."""
    bdb = sys.modules.get("bdb")  # not loaded: no debugger ran, so it cannot be its quit
    return bdb is not None and isinstance(exc, bdb.BdbQuit)


def _breakpoint(*args: Any, **kwargs: Any) -> None:
    """``sys.breakpointhook``: pdb at the caller, prompting on the terminal."""
    _debugger().set_trace(sys._getframe(1))


def _refused(*args: Any, **kwargs: Any) -> None:
    """``sys.breakpointhook`` under a ``dagwright run`` without ``--pdb``."""
    from dagwright.errors import UsageError

    raise UsageError(
        "breakpoint() in a step whose output is captured: its prompt would show nowhere. "
        "Fix: run with --pdb, or replay the step here with 'dagwright replay RUN STEP'"
    )
