"""``PipelineTaskFinalStatus``: how an ExitHandler's block ended, as its exit task sees it.

A component parameter annotated with it is not passed by the caller: the engine fills it for
the exit task of an ExitHandler (or for a task that ignores upstream failures, from its one
upstream task). The value travels as KFP's driver hands it to an executor: a dict with
``state``, ``pipelineJobResourceName``, ``pipelineTaskName`` and ``error`` (``code``,
``message``), so a KFP component reading it and a dagwright one see the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FINAL_STATUS = "PipelineTaskFinalStatus"  # the type string of such an input


@dataclass(frozen=True)
class PipelineTaskFinalStatus:
    """The final status of a block or task, with KFP's attribute names.

    Attributes:
        state: ``SUCCEEDED``, ``FAILED`` or ``CANCELLED``.
        pipeline_job_resource_name: The run's id.
        pipeline_task_name: The block (or task) whose status this is.
        error_code: A non-zero code when it did not succeed, else None.
        error_message: The first failure's message when it did not succeed, else None.
    """

    state: str
    pipeline_job_resource_name: str
    pipeline_task_name: str
    error_code: int | None = None
    error_message: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineTaskFinalStatus:
        """Read the dict KFP's driver passes (camelCase keys; snake_case accepted too)."""
        error = data.get("error") or {}
        return cls(
            state=data.get("state", ""),
            pipeline_job_resource_name=data.get(
                "pipelineJobResourceName", data.get("pipeline_job_resource_name", "")
            ),
            pipeline_task_name=data.get("pipelineTaskName", data.get("pipeline_task_name", "")),
            error_code=error.get("code"),
            error_message=error.get("message"),
        )


def is_final_status(annotation: Any) -> bool:
    """Is this annotation dagwright's PipelineTaskFinalStatus (or KFP's, by its name)?"""
    if annotation is PipelineTaskFinalStatus:
        return True
    return (
        isinstance(annotation, type)
        and annotation.__name__ == FINAL_STATUS
        and annotation.__module__.startswith("kfp.")
    )
