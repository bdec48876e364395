"""What a run returns: its id, status, outputs and one record per step execution."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.components.artifacts import Artifact
from dagwright.errors import UnknownKey

if TYPE_CHECKING:
    from dagwright.pipelines.ir import PipelineIR

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"  # an If block whose condition was false
UPSTREAM_FAILED = "upstream_failed"
# not started because an earlier step failed (fail fast) or the run was cancelled; a cancelled
# run's status too
CANCELLED = "cancelled"
# the run was stopped (Ctrl-C, SIGTERM) or its engine process ended while this ran
INTERRUPTED = "interrupted"
BAD = (FAILED, UPSTREAM_FAILED, CANCELLED)


@dataclass
class StepRecord:
    """One execution of one task (once per loop iteration inside a ParallelFor)."""

    task: str
    iteration: tuple[int, ...] = ()
    status: str = SUCCEEDED
    duration: float = 0.0
    attempts: int = 0
    error: str | None = None
    traceback: str | None = None
    outputs: dict[str, Any] | None = None
    started: float | None = None
    ended: float | None = None
    stdout: str | None = None
    stderr: str | None = None
    cache_key: str | None = None
    cached: bool = False
    reused: bool = False  # taken from the run being resumed
    # what the step was given: {"parameters": {...}, "artifacts": {name: Artifact dict | list}}
    inputs: dict[str, Any] | None = None
    note: str | None = None  # e.g. why a cache entry was not used
    display_name: str | None = None  # the task's (set_display_name), shown, never stored
    # the cache key's parts and the lookup's result, secrets masked (engine/cache.look_up)
    recorded_inputs: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """The task's name, with its loop iteration (``train[0,2]``) inside loops."""
        if not self.iteration:
            return self.task
        return f"{self.task}[{','.join(str(i) for i in self.iteration)}]"

    @property
    def shown(self) -> str:
        """The label, and the task's display name when it has one (progress and report)."""
        return f"{self.label} ({self.display_name})" if self.display_name else self.label

    def to_row(self) -> dict[str, Any]:
        """The run database's row for this execution."""
        outputs = None
        if self.outputs is not None:
            outputs = json.dumps({k: jsonable(v) for k, v in self.outputs.items()}, default=str)
        return {
            "task": self.task,
            "iteration": self.iteration,
            "status": self.status,
            "attempts": self.attempts,
            "started": self.started,
            "ended": self.ended,
            "error": self.error,
            "traceback": self.traceback,
            "outputs": outputs,
            "cache_key": self.cache_key,
            "cached": int(self.cached),
            "stdout": self.stdout,
            "stderr": self.stderr,
            "note": self.note,
            "inputs": (
                json.dumps(self.recorded_inputs, default=str) if self.recorded_inputs else None
            ),
        }


@dataclass
class RunResult:
    """The outcome of ``dagwright.run``.

    Attributes:
        run_id: Unique id of the run; its artifacts live under ``artifacts``.
        pipeline: Pipeline name.
        status: "succeeded" or "failed" ("interrupted" when the run was stopped, "cancelled"
            when a cancel was requested: ``runs cancel``, ``dagwright.cancel``).
        outputs: Pipeline outputs by name; a single return value under "output".
        steps: Every step execution in the order it ran.
        artifacts: The folder or URL holding the run's artifacts.
    """

    run_id: str
    pipeline: str
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    artifacts: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why the run ended early (interrupted, or the engine failed)
    # the pipeline that ran (for ``_repr_html_``'s graph); not part of the outcome
    ir: PipelineIR | None = field(default=None, repr=False, compare=False)

    @property
    def run_dir(self) -> Path | None:
        """The local folder of the run's artifacts (None when they live at a URL)."""
        from dagwright.store.remote import is_local, local_path

        if self.artifacts is None or not is_local(self.artifacts):
            return None
        return Path(local_path(self.artifacts))

    @property
    def succeeded(self) -> bool:
        """Whether the run succeeded."""
        return self.status == SUCCEEDED

    def step(self, task: str, iteration: tuple[int, ...] = ()) -> StepRecord:
        """The record of one task execution."""
        for record in self.steps:
            if record.task == task and record.iteration == tuple(iteration):
                return record
        raise UnknownKey(f"no step '{task}' at iteration {iteration} in run {self.run_id}")

    def json_outputs(self) -> dict[str, Any]:
        """The outputs with artifacts as dicts, as the run database keeps them."""
        return {k: jsonable(v) for k, v in self.outputs.items()}

    def _repr_html_(self) -> str:
        """The run's graph coloured by status, for Jupyter (no server needed)."""
        # the UI sits above the engine: imported here only (an .importlinter exception)
        from dagwright.ui.notebook import result_html

        return result_html(self)


def jsonable(value: Any) -> Any:
    """Artifacts as their dicts (type, name, uri, metadata); other values as they are."""
    if isinstance(value, Artifact):
        return value.to_dict()
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value
