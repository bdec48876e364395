"""KFP's control flow from the IR: OneOf, final status and ignore_upstream_failure, written as
the KFP SDK writes them, where KFP's backend runs them as ``dagwright run`` does.

- ``one_of``: the KFP SDK (``pipeline_spec_builder.py``, ``build_oneof_dag_outputs``) puts an
  If/Elif/Else chain in a ``condition-branches-N`` DAG whose output takes ``valueFromOneof``
  over the branches; the reader reads that output. ``wrap_branch_sets`` makes the block, and
  ``channels.BlockChannels`` the output. For artifacts the SDK writes several
  ``artifactSelectors``, of which the backend's driver (``resolve.go``, ``GetProducerTask``)
  takes the last whichever branch ran: refused.
- ``final_status``: a ``TASK_FINAL_STATUS`` input (optional, as the SDK declares it) taking
  ``taskFinalStatus.producerTask``: the ExitHandler block, or the one task a tolerant task
  waits for.
- ``ignore_upstream_failure``: trigger strategy ``ALL_UPSTREAM_TASKS_COMPLETED``. The backend
  (``argocompiler/dag.go``) runs such a task as an exit hook on each task it depends on, so
  one with several dependencies, or that another task waits for, is refused (the checks
  ``topology.check_exit_tasks`` makes for exit tasks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dagwright.compiler.branches import one_of_values, wrap_chains
from dagwright.errors import ValidationError
from dagwright.pipelines.blocks import blocks
from dagwright.pipelines.flow_values import wants_flat
from dagwright.pipelines.ir import PipelineIR, Value

Fail = Callable[..., ValidationError]


def wrap_branch_sets(ir: PipelineIR, fail: Fail) -> tuple[PipelineIR, dict[str, str]]:
    """The IR with each If/Elif/Else chain a OneOf reads inside a plain block of its own, and
    that block's id by the id of each branch in it; OneOf over artifacts refused."""
    for value, where in one_of_values(ir):
        first = value["one_of"][0]
        out = ir.component_of(first["task"]).output(first["output"])
        if out is not None and out.artifact:
            raise fail(
                "OneOf over artifacts: KFP's backend (resolve.go, GetProducerTask) takes the "
                "last of a DAG output's artifactSelectors, whichever branch ran",
                fix="compile for Argo (--target argo), or choose between parameters",
                **where,
            )
    return wrap_chains(ir, [value for value, _ in one_of_values(ir)])


def check_tolerant_tasks(ir: PipelineIR, fail: Fail) -> None:
    """Refuse a task ignoring upstream failures that KFP's backend would run as an exit hook on
    more than one task, or that another task waits for (see the module's docstring)."""
    found = blocks(ir)
    for task in ir.tasks:
        if not task.ignore_upstream_failure:
            continue
        block = found[task.group]
        upstream = sorted(block.upstream.get(task.name, set()))
        if len(upstream) > 1:
            raise fail(
                f"task '{task.name}' ignores upstream failures and waits for {upstream}; KFP's "
                "backend sets such a task as an exit hook on each task it waits for, running "
                "it early and more than once",
                fix="make it wait for one task (or one block holding the others), or compile "
                "for Argo (--target argo)",
                task=task.name,
                field="ignore_upstream_failure",
            )
        for name, value in task.inputs.items():
            target = value.get("final_status")
            if target is None or target in found:  # an ExitHandler block's status
                continue
            if ir.task(target).group != task.group:
                raise fail(
                    f"task '{task.name}' takes the final status of '{target}', which sits in "
                    "another block; KFP reads a final status only from a task of the same DAG",
                    fix="put the two tasks in the same block",
                    task=task.name,
                    field=name,
                )
        waiting = block.downstream.get(task.name, [])
        if waiting:
            raise fail(
                f"'{waiting[0]}' waits for '{task.name}', which ignores upstream failures; "
                "KFP's backend runs such a task as an exit hook, outside its DAG, so Argo "
                "rejects a task that depends on it",
                fix=f"let '{task.name}' end its branch of the pipeline, or compile for Argo",
                task=task.name,
                field="ignore_upstream_failure",
            )


def check_collected(
    channels: Any, value: Value, block: str | None, wanted: str | None, fail: Fail, **where: Any
) -> None:
    """KFP gathers a loop output into one list per loop it leaves, as ``dagwright run`` does,
    except where the reader declares a flat list (``list[int]``: dagwright flattens it) or the
    output is an artifact (KFP has no list of lists of artifacts): refused."""
    if "collected" not in value:
        return
    home = channels.path(channels.task_groups[value["collected"]["task"]])
    left = [g for g in home if g not in channels.path(block) and g is not None]
    if sum(channels.kinds[g] == "loop" for g in left) <= 1:
        return
    computed = [g for g in left if channels.kinds[g] == "loop" and not _constant(channels, g)]
    if computed:
        raise fail(
            f"Collected gathers an output over nested ParallelFor loops, and the items of "
            f"{computed[0]} are known only at run time; KFP's driver fails the reader when a "
            "loop turns out to have none, and no guard (see guards.py) covers nested loops",
            fix="loop over constant lists, or collect inside the outer loop first",
            **where,
        )
    artifact = channels.type_of(value)[1]
    if artifact or (wanted is not None and wants_flat(wanted)):
        made = (
            "a list of lists of artifacts, which it has no type for"
            if artifact
            else f"a list of lists where the reader's {wanted} makes dagwright flatten it"
        )
        raise fail(
            f"Collected gathers an output over nested ParallelFor loops; KFP would make {made}",
            fix="collect inside the outer loop first (a task there taking Collected), declare "
            "the input a list of lists, or loop over one flat list",
            **where,
        )


def _constant(channels: Any, loop: str) -> bool:
    items = channels.ir.group(loop).items or {}
    return "constant" in items
