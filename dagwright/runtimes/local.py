"""The Local runtime: the step runs in the calling worker thread, its prints captured."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from dagwright.executor import Step, run_step
from dagwright.runtimes import Attempt, Fragments, PodStep, RuntimeConfig, Session, cancelled
from dagwright.runtimes.capture import captured
from dagwright.runtimes.exits import guarded
from dagwright.runtimes.post_mortem import enabled, on_failure
from dagwright.runtimes.step_env import in_process, withdraw_abandoned
from dagwright.tracebacks import step_traceback


class LocalRuntime:
    """``Local()``: a worker thread of the engine; nothing to add on Kubernetes."""

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        """Run the step in this thread."""
        return run_local(step, timeout)

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        """Nothing beyond the step's own container."""
        return Fragments()

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        """Nothing to hand over."""
        return contextlib.nullcontext({})


def attempt_step(
    step: Step,
    abandoned: threading.Event | None = None,
    provided: Mapping[str, Any] | None = None,
) -> Attempt:
    """Run the step in this thread with its prints captured; its failure becomes the Attempt.
    A step with Secrets runs alone among the in-process steps (``step_env.in_process``)."""
    secret = [ref.env for ref in step.component.pod.secrets]
    with captured(step.live) as logs:
        try:  # guarded: os._exit fails the step, not the engine
            with in_process(step.env, secret, abandoned), guarded():
                outcome = run_step(step, abandoned, provided)
            attempt = Attempt(outcome)
        except (Exception, SystemExit) as exc:  # the step's own failure is data for the engine
            on_failure(exc, step.task)  # run --pdb: a post-mortem on the terminal first
            attempt = Attempt(error=f"{type(exc).__name__}: {exc}", traceback=step_traceback(exc))
    attempt.stdout, attempt.stderr = logs["stdout"].getvalue(), logs["stderr"].getvalue()
    return attempt


POLL = 0.1  # seconds between looks at a cancel while a helper thread runs the step

AttemptFn = Callable[[Step, threading.Event | None, Mapping[str, Any] | None], Attempt]


def run_local(
    step: Step,
    timeout: float | None,
    provided: Mapping[str, Any] | None = None,
    attempt: Callable[
        [Step, threading.Event | None, Mapping[str, Any] | None], Attempt
    ] = attempt_step,
) -> Attempt:
    """Run in this thread; with a timeout, in a helper thread that is abandoned when late, or
    when the engine cancels the step (``step.stop``). Without a timeout a cancelled step's
    thread (this one) is abandoned by the engine and publishes nothing if it ends later.

    Args:
        step: The step.
        timeout: Seconds, or None.
        provided: Values the runtime hands to the function (``spark``, ``client``).
        attempt: What runs the step and captures its prints (a runtime may wrap it).
    """
    stop = step.stop
    if timeout is None or enabled():  # run --pdb: a debugger session would outlast it
        return attempt(step, stop, provided)
    box: list[Attempt] = []
    abandoned = threading.Event()
    worker = threading.Thread(
        target=lambda: box.append(attempt(step, abandoned, provided)), daemon=True
    )
    worker.start()
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.0, deadline - time.monotonic())
        worker.join(left if stop is None else min(left, POLL))
        if box:
            return box[0]
        if stop is not None and stop.is_set():
            abandoned.set()
            withdraw_abandoned()
            return cancelled(step)
        if left == 0.0:
            break
    abandoned.set()  # if it finishes later, it publishes nothing
    withdraw_abandoned()  # nor keeps its Secrets in os.environ for what runs next
    return Attempt(
        error=f"TimeoutError: step '{step.task}' did not finish within {timeout:g} s "
        "(its thread was left running; use runtime=Process() to have it killed)"
    )
