"""What ``dagwright.remote.kfp`` hands back: a run or a recurring run, and a run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dagwright.specs import run_summary

# v2beta1RuntimeState values after which a run does not change any more
FINAL_STATES = frozenset({"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"})
OK_STATES = frozenset({"SUCCEEDED", "SKIPPED"})  # SKIPPED: e.g. every task came from cache


@dataclass
class Submission:
    """A run sent to KFP and, after ``wait=True``, how it ended.

    Attributes:
        run_id: The run's id on the KFP server.
        state: Its last known ``v2beta1RuntimeState`` (``PENDING``, ``RUNNING``, ``SUCCEEDED``,
            ``FAILED``, ...); None while the server has not said.
        url: The run's page in the KFP UI (None without a host).
        experiment_id: The experiment it belongs to.
        pipeline_id: The pipeline (``upload=True`` or a version picked by name only).
        pipeline_version_id: The pipeline version that ran (likewise).
        duration: Seconds from creation to the end (waited runs only).
        tasks: ``(task, state)`` pairs from the run's details, when the server gives them.
        error: The server's error message for a failed run.
        waited: Whether the run was polled until it ended or the timeout passed.
    """

    run_id: str
    state: str | None
    url: str | None
    experiment_id: str | None
    pipeline_id: str | None = None
    pipeline_version_id: str | None = None
    duration: float | None = None
    tasks: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    waited: bool = False

    @property
    def finished(self) -> bool:
        """The run has reached a final state."""
        return self.state in FINAL_STATES

    @property
    def succeeded(self) -> bool:
        """The run ended well (SUCCEEDED, or SKIPPED as a whole, e.g. by caching)."""
        return self.state in OK_STATES

    def ended(self, run: Any, elapsed: float) -> None:
        """Take the state, tasks, duration and error of the last ``get_run`` answer.

        Args:
            run: A ``V2beta1Run``.
            elapsed: Seconds measured here, used when the server gives no times.
        """
        self.state = run.state
        self.waited = True
        self.tasks = task_states(run)
        created, finished = getattr(run, "created_at", None), getattr(run, "finished_at", None)
        if isinstance(created, datetime) and isinstance(finished, datetime):
            self.duration = max((finished - created).total_seconds(), 0.0)
        else:
            self.duration = elapsed
        self.error = getattr(getattr(run, "error", None), "message", None) or None

    def summary(self, timeout: float | None = None) -> list[str]:
        """Lines that tell how a waited run ended: id, state, duration, error, task states."""
        return run_summary(
            f"run {self.run_id}",
            self.state,
            finished=self.finished,
            duration=self.duration,
            timeout=timeout,
            url=self.url,
            note=("error", self.error),
            steps=self.tasks,
        )


@dataclass
class Schedule:
    """A recurring run created on KFP.

    Attributes:
        recurring_run_id: Its id on the KFP server.
        name: Its display name.
        cron: The six-field cron KFP got (seconds first).
        url: Its page in the KFP UI (None without a host).
        experiment_id: The experiment its runs go to.
        max_concurrency: How many of its runs may run at once.
        catchup: Whether KFP starts the runs missed while it was behind or paused.
        status: ``ENABLED`` or ``DISABLED`` as the server reports it.
        pipeline_id: The uploaded pipeline (``upload=True`` only).
        pipeline_version_id: The pipeline version it runs (``upload=True`` only).
    """

    recurring_run_id: str
    name: str
    cron: str
    url: str | None
    experiment_id: str | None
    max_concurrency: int
    catchup: bool
    status: str | None
    pipeline_id: str | None = None
    pipeline_version_id: str | None = None


def task_states(run: Any) -> list[tuple[str, str]]:
    """``(task, state)`` for each task in a ``V2beta1Run``'s ``run_details``, in its order."""
    details = getattr(run, "run_details", None)
    return [
        (str(t.display_name or t.task_id), str(t.state or "-"))
        for t in (getattr(details, "task_details", None) or [])
    ]
