"""What the run managers of cluster targets hand back: a run, its steps, a step's logs.

``dagwright runs ls|show|logs|cancel|retry --target kfp|argo`` and ``dagwright.runs_on``
read runs that a cluster keeps (KFP runs, Argo Workflows) through a ``RunManager`` made by
the target's ``Client.runs``; each manager turns its server's answers into these records, the
states kept in the cluster's own words (KFP's ``FAILED``, Argo's ``Failed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from dagwright.errors import ValidationError


@dataclass
class RemoteStep:
    """One step of a run on a cluster.

    Attributes:
        name: The step's name as the cluster shows it (KFP's task display name, Argo's node
            display name).
        status: Its state (``SUCCEEDED``, ``Failed``...).
        started: When it started, in UTC (None: not said).
        finished: When it ended, in UTC (None: not ended or not said).
        message: Why it did not succeed, when the cluster says.
        pod: The Kubernetes pod that ran it, when known.
    """

    name: str
    status: str
    started: datetime | None = None
    finished: datetime | None = None
    message: str | None = None
    pod: str | None = None


@dataclass
class RemoteRun:
    """A run on a cluster: a KFP run or an Argo Workflow.

    Attributes:
        run_id: What names it for ``show``, ``logs``, ``cancel`` and ``retry`` (KFP's run id,
            Argo's workflow name).
        name: Its display name (Argo: the workflow's name).
        status: Its state in the cluster's words.
        created: When it was created, in UTC.
        finished: When it ended, in UTC (None while it runs).
        url: Its page in the cluster's UI.
        message: Why it failed, when the cluster says.
        steps: Its steps, in the order they started (filled by ``show``).
    """

    run_id: str
    name: str
    status: str
    created: datetime | None = None
    finished: datetime | None = None
    url: str | None = None
    message: str | None = None
    steps: list[RemoteStep] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The run as plain JSON values (times as ISO 8601 text)."""
        return {
            "run_id": self.run_id,
            "name": self.name,
            "status": self.status,
            "created": iso(self.created),
            "finished": iso(self.finished),
            "url": self.url,
            "message": self.message,
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "started": iso(s.started),
                    "finished": iso(s.finished),
                    "message": s.message,
                    "pod": s.pod,
                }
                for s in self.steps
            ],
        }


@dataclass
class StepLogs:
    """What one step of a run on a cluster printed.

    Attributes:
        step: The step's name.
        pod: The pod it ran in.
        text: Its log lines, joined.
    """

    step: str
    pod: str | None
    text: str


class RunManager(Protocol):
    """The runs of one cluster, as a target's ``Client.runs`` makes them (``host``,
    ``namespace``, ``token``...)."""

    def ls(self, limit: int = 20) -> list[RemoteRun]:
        """The most recent runs, newest first."""

    def show(self, run_id: str) -> RemoteRun:
        """One run with its steps."""

    def logs(self, run_id: str, step: str | None = None) -> list[StepLogs]:
        """What the run's steps (or only ``step``'s) printed."""

    def cancel(self, run_id: str) -> RemoteRun:
        """Cancel the run as the cluster does (KFP: terminate; Argo: stop, which runs the exit
        handler); what the server says of it then."""

    def retry(self, run_id: str) -> RemoteRun:
        """Run again the failed steps of a failed run, keeping those that succeeded."""


def utc(value: Any) -> datetime | None:
    """A datetime (or a model wrapping one, as Hera's ``Time``) in UTC; None otherwise."""
    value = getattr(value, "root", value)
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def iso(value: datetime | None) -> str | None:
    """A time as ISO 8601 text, to the second (None stays None)."""
    return None if value is None else value.isoformat(timespec="seconds")


def unfinished(value: datetime | None) -> datetime | None:
    """A finish time, or None for the zero time a server writes for "not yet" (KFP: 1970)."""
    return value if value is not None and value.year > 1970 else None


def chosen_steps(run: RemoteRun, step: str | None) -> list[RemoteStep]:
    """The run's steps, or only the one named ``step``.

    Raises:
        ValidationError: the run has no such step (field ``STEP``, its steps listed).
    """
    if step is None:
        return run.steps
    found = [s for s in run.steps if s.name == step]
    if not found:
        names = ", ".join(s.name for s in run.steps) or "none yet"
        raise ValidationError(
            f"run '{run.run_id}' has no step '{step}'", field="STEP", fix=f"its steps: {names}"
        )
    return found
