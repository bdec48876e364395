"""What ``dagwright.remote.argo`` hands back: a submitted Workflow and, after waiting, how it
ended; a WorkflowTemplate or CronWorkflow created or updated."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dagwright.specs import run_summary

# Workflow phases after which a workflow does not change any more
FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})
# nodes that only group others: the summary lists the steps inside them
_GROUP_NODES = frozenset({"DAG", "Steps", "StepGroup", "TaskGroup"})


@dataclass
class Submission:
    """A Workflow created on Argo and, after ``wait=True``, how it ended.

    Attributes:
        name: The workflow's name (the server fills in a ``generateName``).
        namespace: Its namespace.
        uid: Its Kubernetes uid.
        phase: Its last known phase (``Pending``, ``Running``, ``Succeeded``, ``Failed``,
            ``Error``); None while the controller has not picked it up.
        url: Its page in the Argo UI (served by the same argo-server).
        linted: The server linted it before it was created.
        duration: Seconds from start to end (waited workflows only).
        nodes: ``(step, phase, message)`` for each step, in the order they started.
        message: The workflow's status message (why it failed).
        waited: Whether it was polled until it ended or the timeout passed.
    """

    name: str
    namespace: str
    uid: str | None
    phase: str | None
    url: str | None
    linted: bool = False
    duration: float | None = None
    nodes: list[tuple[str, str, str | None]] = field(default_factory=list)
    message: str | None = None
    waited: bool = False

    @property
    def finished(self) -> bool:
        """The workflow has reached a final phase."""
        return self.phase in FINAL_PHASES

    @property
    def succeeded(self) -> bool:
        """The workflow ended in ``Succeeded``."""
        return self.phase == "Succeeded"

    def ended(self, workflow: Any, elapsed: float) -> None:
        """Take the phase, steps, duration and message of the last ``get_workflow`` answer.

        Args:
            workflow: Hera's ``Workflow`` model.
            elapsed: Seconds measured here, used when the server gives no times.
        """
        status = workflow.status
        self.phase = phase_of(workflow)
        self.waited = True
        self.nodes = node_states(workflow)
        self.message = getattr(status, "message", None) or None
        started = _time(getattr(status, "started_at", None))
        finished = _time(getattr(status, "finished_at", None))
        if started is not None and finished is not None:
            self.duration = max((finished - started).total_seconds(), 0.0)
        else:
            self.duration = elapsed

    def summary(self, timeout: float | None = None) -> list[str]:
        """Lines that tell how a waited workflow ended: name, phase, duration, message, steps."""
        return run_summary(
            f"workflow {self.namespace}/{self.name}",
            self.phase or "not started",
            finished=self.finished,
            duration=self.duration,
            timeout=timeout,
            url=self.url,
            note=("message", self.message),
            # a step's message says why it did not succeed; a succeeded step's is noise
            steps=[
                (step, f"{phase}: {message}" if message and phase != "Succeeded" else phase)
                for step, phase, message in self.nodes
            ],
        )


@dataclass
class Applied:
    """A WorkflowTemplate or CronWorkflow created or updated on Argo.

    Attributes:
        kind: ``WorkflowTemplate`` or ``CronWorkflow``.
        name: Its name.
        namespace: Its namespace.
        action: ``created`` or ``updated``.
        resource_version: Its Kubernetes resourceVersion after the change.
        url: Its page in the Argo UI.
        schedules: A CronWorkflow's cron expressions.
        timezone: A CronWorkflow's time zone (None: the controller's).
    """

    kind: str
    name: str
    namespace: str
    action: str
    resource_version: str | None
    url: str | None
    schedules: list[str] = field(default_factory=list)
    timezone: str | None = None


def phase_of(workflow: Any) -> str | None:
    """A workflow's phase, or None before the controller has set one."""
    phase = getattr(getattr(workflow, "status", None), "phase", None)
    return str(phase) if phase else None


def node_states(workflow: Any) -> list[tuple[str, str, str | None]]:
    """``(step, phase, message)`` for each step of a workflow, in the order they started.

    Group nodes (the DAG, step groups) are left out, and a step retried by Argo appears once,
    as its Retry node, not once per attempt. Argo leaves ``status.nodes`` empty when it has
    offloaded or compressed a large node status; then there is nothing to list.
    """
    nodes: dict[str, Any] = dict(getattr(workflow.status, "nodes", None) or {})
    attempts = {
        child for node in nodes.values() if node.type == "Retry" for child in node.children or []
    }
    steps = [
        node
        for node_id, node in nodes.items()
        if node.type not in _GROUP_NODES and node_id not in attempts
    ]
    steps.sort(key=lambda n: (_time(n.started_at) or datetime.max, n.display_name or n.name))
    return [(str(n.display_name or n.name), str(n.phase or "-"), n.message or None) for n in steps]


def _time(value: Any) -> datetime | None:
    """A datetime from Hera's ``Time`` model (a root model around a datetime), or None."""
    value = getattr(value, "root", value)
    if isinstance(value, datetime):
        # compared with datetime.max and each other: all as naive UTC
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    return None
