"""A step's attempts, in a worker thread of the engine: its retries, and their end when the
run is cancelled (``Step.stop``)."""

from __future__ import annotations

import time

from dagwright.components.spec import ComponentSpec
from dagwright.executor import Step
from dagwright.runtimes import Attempt, Session, runtime_for


def attempts(step: Step, session: Session) -> tuple[Attempt, int]:
    """Run a step with its retries; return the last attempt and the count.

    A cancel (``step.stop``) ends the retries, also during the backoff between two. The step's
    live log is closed once no attempt will write to it.
    """
    spec: ComponentSpec = step.component
    runtime = runtime_for(spec.runtime)
    stop = step.stop
    try:
        for number in range(1, spec.retry.limit + 2):
            attempt = runtime.run(step, spec.timeout, session)
            if attempt.ok or number > spec.retry.limit or (stop is not None and stop.is_set()):
                return attempt, number
            if stop is None:
                time.sleep(spec.retry.delay(number))
            elif stop.wait(spec.retry.delay(number)):  # cancelled during the backoff
                return attempt, number
        raise AssertionError("unreachable: the last attempt returns")
    finally:
        if step.live is not None:
            step.live.close()
