"""The Local runtime: the step runs in the calling worker thread, its prints captured."""

from __future__ import annotations

import threading
import traceback

from dagwright.executor import Step, run_step
from dagwright.runtimes import Attempt
from dagwright.runtimes.capture import captured


def _attempt(step: Step, abandoned: threading.Event | None = None) -> Attempt:
    with captured() as logs:
        try:
            outcome = run_step(step, abandoned)
            attempt = Attempt(outcome)
        except (Exception, SystemExit) as exc:  # the step's own failure is data for the engine
            attempt = Attempt(
                error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
            )
    attempt.stdout, attempt.stderr = logs["stdout"].getvalue(), logs["stderr"].getvalue()
    return attempt


def run_local(step: Step, timeout: float | None) -> Attempt:
    """Run in this thread; with a timeout, in a helper thread that is abandoned when late."""
    if timeout is None:
        return _attempt(step)
    box: list[Attempt] = []
    abandoned = threading.Event()
    worker = threading.Thread(target=lambda: box.append(_attempt(step, abandoned)), daemon=True)
    worker.start()
    worker.join(timeout)
    if box:
        return box[0]
    abandoned.set()  # if it finishes later, it publishes nothing
    return Attempt(
        error=f"TimeoutError: step '{step.task}' did not finish within {timeout:g} s "
        "(its thread was left running; use runtime=Process() to have it killed)"
    )
