"""Cancelling a run from another process: the request is a column of the run's row.

``dagwright runs cancel`` (or the UI) records it (``RunDatabase.request_cancel``); the engine
running the run looks for it at most every ``CHECK_EVERY`` seconds while steps run (one
primary-key read) and then stops as after a failure, exit tasks still running, as KFP and Argo
run exit handlers of a cancelled run: steps not started are ``cancelled``, running ones are
stopped (``Step.stop``: a subprocess is killed with its process group, an in-process step
abandoned, as on a timeout), and the run ends ``cancelled`` ("cancelled by request"). ``resume``
continues it as it does an interrupted run.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, wait
from typing import Any

from dagwright.engine.frames import Execution
from dagwright.store import RunDatabase

CANCEL_REASON = "cancelled by request"
CHECK_EVERY = 0.2  # seconds between looks at the run's row while steps run
# seconds the engine waits for the running steps to stop once asked: a Process step is killed
# within its runtime's poll (0.1 s); an in-process step without timeout is abandoned after it
GRACE = 0.5


class CancelWatch:
    """Whether a cancel of one run was requested, read at most every ``CHECK_EVERY`` s."""

    def __init__(self, db: RunDatabase, run_id: str) -> None:
        self.db = db
        self.run_id = run_id
        self.next = time.monotonic() + CHECK_EVERY

    def requested(self) -> bool:
        """Read the request when ``CHECK_EVERY`` seconds passed since the last read."""
        now = time.monotonic()
        if now < self.next:
            return False
        self.next = now + CHECK_EVERY
        return self.db.cancel_requested(self.run_id)

    def left(self) -> float:
        """Seconds until the next read is due (how long the dispatch loop may wait)."""
        return max(0.0, self.next - time.monotonic())


def stop_steps(
    running: dict[Future[Any], Execution],
) -> tuple[set[Future[Any]], set[Future[Any]]]:
    """Ask the running steps to stop; the futures that ended within ``GRACE`` seconds, and
    those still running: abandoned (an in-process step without a timeout), as a step past its
    timeout is, their records ended now and their live logs closed."""
    for execution in running.values():
        if execution.step.stop is not None:  # the run's one Event, shared by its steps
            execution.step.stop.set()
    if not running:
        return set(), set()
    ended, late = wait(running, GRACE)
    now = time.time()
    for future in late:
        execution = running[future]
        if execution.step.live is not None:
            execution.step.live.close()
        record = execution.record
        record.ended, record.duration = now, now - (record.started or now)
        record.attempts = max(record.attempts, 1)
    return set(ended), set(late)
