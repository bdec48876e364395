"""Checks for the values and task fields KFP's control flow brought into the IR.

- ``{"one_of": [...]}``: task outputs from distinct branches of one If/Elif/Else chain that
  ends in an Else (KFP's rule: some branch always runs), all of one type, each made directly
  inside its branch, the chain visible where the value is used.
- ``{"final_status": id}``: only for an input typed ``PipelineTaskFinalStatus``, given to the
  exit task of ExitHandler ``id``, or to a task that ignores upstream failures, naming one of
  the tasks it waits for.
- ``ignore_upstream_failure``: every input read from another task has a default, which it
  takes when that task made nothing (KFP's rule, ``PipelineTask.ignore_upstream_failure``).
"""

from __future__ import annotations

from typing import Any

from dagwright.components import types as t
from dagwright.components.final_status import FINAL_STATUS
from dagwright.pipelines.blocks import dependencies, value_tasks
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR, Value


def wants_flat(type_str: str) -> bool:
    """Does an input of this type take one flat list of a Collected over nested loops (a list
    of something other than lists), rather than KFP's list of lists (``list``, ``list[list]``,
    ``any``)?"""
    item = t.element_type(t.unwrap_optional(type_str))
    return item is not None and item != t.ANY and t.parse(t.unwrap_optional(item))[0] != "list"


def nested_type(item: str, depth: int) -> str:
    """The type of a Collected over ``depth`` loops of an output of type ``item``."""
    return "list[" * depth + item + "]" * depth


def branch_sets(ir: PipelineIR) -> dict[str, tuple[int, bool]]:
    """Each condition block's If/Elif/Else chain: ``(chain number, the chain has an Else)``.

    A chain is an ``if`` block and the ``elif``/``else`` blocks that follow it in the same
    parent, in the order the IR lists blocks.
    """
    found: dict[str, int] = {}
    open_chain: dict[str | None, int] = {}  # the chain an elif/else would continue, by parent
    has_else: dict[int, bool] = {}
    last: dict[str | None, GroupIR] = {}
    for group in ir.groups:
        previous = last.get(group.parent)
        last[group.parent] = group
        if group.kind != "condition":
            continue
        continues = (
            group.branch in ("elif", "else")
            and previous is not None
            and previous.kind == "condition"
            and previous.branch != "else"
            and group.parent in open_chain
        )
        if not continues:
            open_chain[group.parent] = len(has_else)
            has_else[open_chain[group.parent]] = False
        chain = open_chain[group.parent]
        found[group.id] = chain
        if group.branch == "else":
            has_else[chain] = True
    return {gid: (chain, has_else[chain]) for gid, chain in found.items()}


def one_of_type(checker: Any, value: Value, scope: str | None, **where: Any) -> str:
    """The type of a ``one_of`` value used in ``scope``, or the first problem with it."""
    ir: PipelineIR = checker.ir
    members = value["one_of"]
    sets = getattr(checker, "branch_sets", None)
    if sets is None:  # once per check of an IR, not once per OneOf
        sets = checker.branch_sets = branch_sets(ir)
    types: list[str] = []
    branches: dict[str, str] = {}
    chain: int | None = None
    consumer = {g.id for g in ir.ancestors(scope)}
    for member in members:
        if "task" not in member:
            raise checker.fail(
                f"OneOf takes task outputs, not {_what(member)}",
                fix="pass OneOf the outputs of tasks inside the If/Elif/Else branches",
                **where,
            )
        types.append(checker._output(member, **where))
        producer = checker.tasks[member["task"]]
        hidden = [
            g
            for g in ir.ancestors(producer.group)
            if g.id not in consumer and g.kind in ("loop", "condition")
        ]
        if len(hidden) != 1 or hidden[0].id != producer.group or hidden[0].kind != "condition":
            raise checker.fail(
                f"OneOf member '{producer.name}' is not a task directly inside an If, Elif or "
                "Else branch that the consumer is outside of",
                fix="put each OneOf task directly in one branch of an If/Elif/Else chain and "
                "use the OneOf after the chain",
                **where,
            )
        branch = hidden[0]
        if branch.id in branches:
            raise checker.fail(
                f"OneOf members '{branches[branch.id]}' and '{producer.name}' sit in the same "
                f"branch {branch.id}",
                fix="give OneOf one output from each branch",
                **where,
            )
        branches[branch.id] = producer.name
        this_chain, has_else = sets[branch.id]
        if chain is not None and this_chain != chain:
            raise checker.fail(
                f"OneOf members sit in different If/Elif/Else chains ('{producer.name}' in "
                f"{branch.id})",
                fix="take every OneOf member from the branches of one chain",
                **where,
            )
        chain = this_chain
        if not has_else:
            raise checker.fail(
                f"OneOf over the chain of {branch.id}, which has no Else: no branch may run",
                fix="end the chain with an Else block giving an output to the OneOf",
                **where,
            )
    artifacts = {t.is_artifact_type(kind) for kind in types}
    if len(artifacts) > 1:
        raise checker.fail(
            "OneOf mixes artifacts and parameters", fix="pass outputs of one type", **where
        )
    for kind in types[1:]:
        if not (t.compatible(kind, types[0]) and t.compatible(types[0], kind)):
            raise checker.fail(
                f"OneOf members have different types ({types[0]} and {kind})",
                fix="pass outputs of one type",
                **where,
            )
    return types[0]


def check_final_status(checker: Any, task: TaskIR, name: str, type_str: str, value: Value) -> bool:
    """Check a ``final_status`` value, or a ``PipelineTaskFinalStatus`` input given another
    value; True when the input is such a value and has been checked."""
    ir: PipelineIR = checker.ir
    if "final_status" not in value:
        if type_str == FINAL_STATUS:
            raise checker.fail(
                f"input '{name}' is a PipelineTaskFinalStatus, which the pipeline fills; it "
                "cannot be passed",
                task=task.name,
                field=name,
                fix="leave it out and make the task an ExitHandler's exit task",
            )
        return False
    if type_str != FINAL_STATUS:
        raise checker.fail(
            f"input '{name}' ({type_str}) cannot take a final status",
            task=task.name,
            field=name,
            fix="annotate the parameter with dagwright.PipelineTaskFinalStatus",
        )
    target = value["final_status"]
    group = checker.groups.get(target)
    if group is not None and group.kind == "exit_handler":
        if group.exit_task != task.name:
            raise checker.fail(
                f"input '{name}' takes the final status of {target}, but the task is not its "
                "exit task",
                task=task.name,
                field=name,
                fix=f"use it only in the exit task of {target} ({group.exit_task})",
            )
        return True
    if target in checker.tasks and task.ignore_upstream_failure:
        if target not in dependencies(ir, task):
            raise checker.fail(
                f"input '{name}' takes the final status of '{target}', which the task does "
                "not wait for",
                task=task.name,
                field=name,
                fix=f"make the task depend on '{target}' (.after or one of its outputs)",
            )
        return True
    raise checker.fail(
        f"input '{name}' takes the final status of '{target}', which is neither an "
        "ExitHandler whose exit task this is nor an upstream task of a task that ignores "
        "upstream failures",
        task=task.name,
        field=name,
        fix="use PipelineTaskFinalStatus in an ExitHandler's exit task",
    )


def missing_final_status(checker: Any, task: TaskIR, name: str) -> Exception:
    """The error for a ``PipelineTaskFinalStatus`` input nothing fills."""
    return checker.fail(
        f"input '{name}' is a PipelineTaskFinalStatus, given only to an ExitHandler's exit task",
        task=task.name,
        field=name,
        fix="create the task just before `with ExitHandler(task):`, or remove the parameter",
    )


def check_ignoring(checker: Any, task: TaskIR) -> None:
    """A task that ignores upstream failures has a default for every input another task
    makes (KFP's rule), since a failed task makes nothing."""
    if not task.ignore_upstream_failure:
        return
    spec = checker.ir.component_of(task)
    for name, value in task.inputs.items():
        declared = spec.input(name)
        if declared is None or declared.type == FINAL_STATUS:
            continue
        made = value_tasks(value)
        if made and not declared.has_default:
            raise checker.fail(
                f"task ignores upstream failures but input '{name}' (from '{made[0]}') has no "
                "default to take when that task fails",
                task=task.name,
                field=name,
                fix=f"give '{name}' a default in the component",
            )


def _what(value: Value) -> str:
    if "param" in value:
        return f"parameter '{value['param']}'"
    if "collected" in value:
        return "a Collected list"
    return next(iter(value), "a value")
