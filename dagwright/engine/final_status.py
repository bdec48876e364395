"""The final status an exit task is given: how its ExitHandler's block ended.

The value is what KFP's driver passes an executor for a ``taskFinalStatus`` input
(``backend/src/v2/driver``: a ``PipelineTaskFinalStatus`` message written with protojson):
``state``, ``pipelineJobResourceName``, ``pipelineTaskName`` and ``error``, empty when the block
succeeded, else the code kfp.local gives (1) and the first failure's message.
"""

from __future__ import annotations

from typing import Any

from dagwright.engine.plan import Plan
from dagwright.engine.result import BAD, CANCELLED, FAILED, StepRecord
from dagwright.engine.state import Path_


def final_status(
    records: list[StepRecord], plan: Plan, target: str, path: Path_, run_id: str
) -> dict[str, Any]:
    """The final status of block (or task) ``target`` in the frame at ``path``, from the
    records of the executions in it so far (all of them: it has finished)."""
    tasks = set(plan.inside.get(target, [target]))
    tasks.update(g for g in plan.groups if target in _ancestors(plan, g))  # failed blocks
    tasks.add(target)
    mine = [r for r in records if r.task in tasks and r.iteration[: len(path)] == path]
    failures = [r for r in mine if r.status == FAILED]
    if failures:
        state = "FAILED"
    elif any(r.status in BAD for r in mine):
        state = "CANCELLED" if any(r.status == CANCELLED for r in mine) else "FAILED"
    else:
        state = "SUCCEEDED"
    error: dict[str, Any] = {}
    if state != "SUCCEEDED":
        first = failures[0] if failures else next(r for r in mine if r.status in BAD)
        message = (first.error or first.status).strip().splitlines()
        error = {"code": 1, "message": f"{first.label}: {message[-1] if message else ''}"}
    return {
        "state": state,
        "pipelineJobResourceName": run_id,
        "pipelineTaskName": target,
        "error": error,
    }


def _ancestors(plan: Plan, group: str) -> list[str]:
    return [g.id for g in plan.ir.ancestors(group)]
