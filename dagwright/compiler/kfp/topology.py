"""Dependencies as KFP's backend runs them, where that differs from ``dagwright run``.

KFP's backend (``backend/src/v2/compiler/argocompiler/dag.go``) turns each ``dependentTasks``
entry into Argo's ``<task>.Succeeded``. Two consequences shape what the KFP target emits:

- An exit task (trigger strategy ALL_UPSTREAM_TASKS_COMPLETED) is not a task of its DAG but
  an exit hook set on *each* task it depends on, so it may depend on its ExitHandler block
  only: any other dependency (``.after()`` or reading a task's output, which the backend turns
  into a dependency) runs it early and more than once, and a task that waits on it or reads
  it names a task missing from the Argo DAG, which Argo rejects. The KFP SDK refuses both
  (``kfp/dsl/tasks_group.py``: "exit_task cannot depend on any other tasks"); so does this.
- An If block whose condition is false is a *skipped* Argo node, and ``condition-N.Succeeded``
  is then false: a task waiting on the block would never run. ``dagwright run`` runs it (a
  skipped branch is not a failed one), so an If block that something waits on is wrapped in a
  plain block of its own, which Argo marks Succeeded when the branch inside was skipped and
  Failed when it failed (``workflow/controller/dag.go``, ``assessDAGPhase``: a skipped node
  counts as successful): the waiter then runs exactly when ``dagwright run`` runs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from dagwright.errors import ValidationError
from dagwright.names import free_name
from dagwright.pipelines.blocks import blocks, value_tasks
from dagwright.pipelines.ir import GroupIR, PipelineIR

Fail = Callable[..., ValidationError]
WRAPPER_SUFFIX = "-outcome"


def check_exit_tasks(ir: PipelineIR, fail: Fail) -> None:
    """Refuse an exit task that depends on anything but its block, or that anything awaits."""
    found = blocks(ir)
    for group in ir.groups:
        if group.kind != "exit_handler" or group.exit_task is None:
            continue
        exit_task = ir.task(group.exit_task)
        for name, value in exit_task.inputs.items():
            read = value_tasks(value)
            if read:
                raise fail(
                    f"exit task '{exit_task.name}' of {group.id} reads the output of "
                    f"'{read[0]}'; KFP's backend would set it as an exit hook on '{read[0]}' "
                    "too, running it early and more than once (the KFP SDK refuses an exit "
                    "task with dependencies)",
                    fix=f"pass '{name}' a pipeline parameter or a constant (on KFP an exit "
                    "task reads no task's output), or compile for Argo (--target argo)",
                    task=exit_task.name,
                    field=name,
                )
        if exit_task.after:
            raise fail(
                f"exit task '{exit_task.name}' of {group.id} waits (.after) on "
                f"'{exit_task.after[0]}'; KFP's backend would set it as an exit hook on that "
                "task too, running it early and more than once (the KFP SDK refuses an exit "
                "task with dependencies)",
                fix="drop the .after(); the exit task already runs after everything in its "
                "ExitHandler, so move what it waits for inside the block",
                task=exit_task.name,
                field="after",
            )
        block = found[group.parent]
        waiting = block.downstream.get(exit_task.name, [])
        if waiting:
            raise fail(
                f"'{waiting[0]}' waits on exit task '{exit_task.name}' of {group.id} or reads "
                "its output; KFP's backend runs an exit task as an Argo exit hook, outside "
                "its DAG, so Argo rejects a task that depends on it",
                fix=f"let '{exit_task.name}' end the pipeline, or make '{waiting[0]}' wait "
                "on the ExitHandler's last task instead",
                task=exit_task.name,
                field="exit_task",
            )


def wrap_awaited_conditions(ir: PipelineIR) -> PipelineIR:
    """The IR with each If block that a sibling waits on inside a plain block of its own (see
    the module's docstring); the IR itself when no If block is awaited."""
    awaited: set[str] = set()
    kinds = {g.id: g.kind for g in ir.groups}
    for block in blocks(ir).values():
        for node in block.nodes:
            awaited.update(u for u in block.upstream[node] if kinds.get(u) == "condition")
    if not awaited:
        return ir
    taken = {t.name for t in ir.tasks} | set(kinds)
    groups: list[GroupIR] = []
    for group in ir.groups:
        if group.id in awaited:
            wrapper = free_name(f"{group.id}{WRAPPER_SUFFIX}", taken)
            groups.append(GroupIR(id=wrapper, kind="pipeline", parent=group.parent))
            groups.append(dataclasses.replace(group, parent=wrapper))
        else:
            groups.append(dataclasses.replace(group))
    return dataclasses.replace(ir, groups=groups)
