"""KFP's control flow on Argo: OneOf, a final status, tasks that ignore upstream failures and
loops over artifacts.

- ``one_of``: each branch of the If/Elif/Else chain is a DAG task (``when``) whose template
  outputs its member; the reader takes an expression tag choosing the branch that ran:
  ``{{=tasks['condition-1'].status == 'Succeeded' ? tasks['condition-1'].outputs.parameters['x']
  : ...}}``. Argo puts each finished ancestor's ``tasks.<name>.status`` and outputs in the scope
  a task's arguments are resolved in (``workflow/controller/dag.go``,
  ``resolveDependencyReferences``; ``operator.go``, ``processNodeOutputs``) and runs the tag
  with expr-lang, whose ``?:`` evaluates only the branch it takes. Leaving a block, the
  choice is a DAG output's ``valueFrom.expression``; over artifacts (an argument artifact takes
  no expression) the chain goes in a block of its own whose output takes ``fromExpression``.
- ``final_status``: the exit task is its block's exit hook, resolved in a scope holding
  ``tasks.<block>.status`` (``dag.go``: ``scope.addParamToScope("tasks.%s.status")`` before
  ``runOnExitNode``); it travels as JSON with the run's name and the block's id, and the pod's
  entry (``entry.final_status``) makes KFP's dict of it. Argo has no failure message there:
  the message names the block and its phase.
- a loop over artifacts (``artifact_loops``): over their Collected metadata, each iteration
  reading the object its pod stored.
- ``ignore_upstream_failure``: ``depends`` with every result a finished task can have (Argo's
  enhanced depends has no "completed"); Argo refuses ``depends`` beside ``dependencies`` in one
  DAG, so every task of that DAG is written with ``depends`` (``dags.py``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from dagwright.compiler.argo.scopes import var
from dagwright.compiler.argo.values import SKIPPED
from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR, Value

if TYPE_CHECKING:
    from dagwright.compiler.argo.scopes import ScopeVariables

# every result of a task that has finished, whatever happened (enhanced depends logic)
_FINISHED = ("Succeeded", "Skipped", "Daemoned", "Failed", "Errored", "Omitted")


def final_status_text(target: str) -> str:
    """The parameter text an exit task (or a tolerant task) gets for a final status."""
    return json.dumps(
        {
            "state": var("tasks", target, "status"),
            "pipelineJobResourceName": var("workflow", "name"),
            "pipelineTaskName": target,
        },
        separators=(",", ":"),
    )


def depends(dependencies: list[str], tolerant: bool) -> str:
    """``dependencies`` as an enhanced ``depends`` expression: a bare name (Succeeded, Skipped
    or Daemoned, what ``dependencies`` means), or any finished result for a tolerant task."""
    if not tolerant:
        return " && ".join(dependencies)
    return " && ".join(
        "(" + " || ".join(f"{name}.{result}" for result in _FINISHED) + ")" for name in dependencies
    )


_OUTPUT_REF = re.compile(
    r"^\{\{tasks\.([-a-zA-Z0-9_]+)\.outputs\.parameters\.([-a-zA-Z0-9_]+)\}\}$"
)


def or_skipped(text: str) -> str:
    """A tolerant task's argument read from a task's output: the output when that task
    succeeded, else dagwright's SKIPPED mark, which the pod's entry reads as "left out" so the
    input's default applies (a failed task has no outputs, and Argo errors a task whose
    argument names one)."""
    match = _OUTPUT_REF.match(text)
    if match is None:
        return text
    task, output = match.groups()
    read = f"tasks['{task}'].outputs.parameters['{output}']"
    return "{{=" + f"tasks['{task}'].status == 'Succeeded' ? {read} : '{SKIPPED}'" + "}}"


def one_of_param(variables: ScopeVariables, value: Value, scope: str) -> str:
    """The text of a ``one_of`` value (``meta``: its artifacts' metadata) in ``scope``."""
    ir: PipelineIR = variables.ir
    first = ir.task(value["one_of"][0]["task"])
    branch = variables.groups[first.group or ""]
    home = variables.inner(branch.parent)
    name = f"{first.name}-{value['one_of'][0]['output']}-oneof"
    if value.get("meta"):  # a OneOf artifact's metadata, beside it
        name += "-meta"
    if scope == home:
        return _choice(variables, value, home)
    home_path = variables.path(home)
    if scope in home_path:  # used outside the block holding the chain: passed up to it
        child = variables.scopes[home_path[home_path.index(scope) + 1]]
        if name not in child.out_params:
            child.out_params[name] = one_of_param(variables, value, child.name)
        assert child.caller is not None
        return var("tasks", child.caller, "outputs", "parameters", name)
    return variables._imported(scope, name, value, artifact=False)


def _choice(variables: ScopeVariables, value: Value, scope: str) -> str:
    choices: list[tuple[str, str]] = []
    for member in value["one_of"]:
        member = {**member, "meta": True} if value.get("meta") else member
        output = member["output"] + ("-meta" if value.get("meta") else "")
        branch = variables.ir.task(member["task"]).group or ""
        key = variables._exported(branch, member, member["task"], output, False)
        choices.append((branch, f"tasks['{branch}'].outputs.parameters['{key}']"))
    return _expression_tag(choices)


def artifact_loops(ir: PipelineIR) -> dict[str, str]:
    """The loops over a list of artifacts, each with the key prefix its artifacts are stored
    under (``{{workflow.name}}/<task>/<output>``, one object per pod: ``templates.py``).

    Argo loops over parameters only, so such a loop goes over the artifacts' metadata (the
    Collected ``-meta`` list, one object per iteration naming its ``pod``), and each iteration
    reads its artifact from the key its ``pod`` completes. Refused where that list may hold an
    iteration that made nothing (an If around the producer inside its loop), which Argo would
    still loop over, and for items that are not a Collected output.
    """
    from dagwright.components.types import is_artifact_type
    from dagwright.pipelines.validate import value_type

    found: dict[str, str] = {}
    for group in ir.groups:
        if group.kind != "loop" or group.items is None:
            continue
        if not is_artifact_type(value_type(ir, group.items, group.parent)):
            continue
        ref: Value = group.items.get("collected") or {}
        producer = ir.task(ref["task"]) if ref else None
        around = {g.id for g in ir.ancestors(group.parent)}
        inside = [
            g
            for g in ir.ancestors(producer.group if producer else None)
            if g.kind != "pipeline" and g.id not in around
        ]
        if producer is None or [g.kind for g in inside] != ["loop"]:
            raise ValidationError(
                f"Argo target: {group.id} loops over artifacts that are not one Collected "
                "output made directly in a ParallelFor; Argo loops over parameters only, and "
                "only such a list has the metadata of each artifact to loop over",
                pipeline=ir.name,
                block=group.id,
                field="items",
                fix="collect the artifacts from a task made directly in a ParallelFor, or "
                "compile for KFP (--target kfp)",
            )
        found[group.id] = f"{var('workflow', 'name')}/{ref['task']}/{ref['output']}"
    return found


def one_of_artifact(variables: ScopeVariables, value: Value, scope: str) -> str:
    """The ``from`` of a ``one_of`` over artifacts in ``scope``: the output of the chain's
    condition-branches block (``workflow.py`` wraps the chain), whose ``fromExpression``
    picks the branch that ran (``scope.go``, ``resolveArtifact``; an argument artifact takes
    no expression, ``validateArguments``)."""
    first = variables.ir.task(value["one_of"][0]["task"])
    wrapper = variables.groups[first.group or ""].parent or ""
    name = f"{first.name}-{value['one_of'][0]['output']}-oneof"
    outer = variables.scopes[wrapper]
    if name not in outer.out_artifacts:
        choices = []
        for member in value["one_of"]:
            branch = variables.ir.task(member["task"]).group or ""
            key = variables._exported(branch, member, member["task"], member["output"], True)
            choices.append((branch, f"tasks['{branch}'].outputs.artifacts['{key}']"))
        outer.out_artifacts[name] = _expression_tag(choices)
    home = variables.inner(variables.groups[wrapper].parent)
    if scope == home:
        return var("tasks", wrapper, "outputs", "artifacts", name)
    home_path = variables.path(home)
    if scope in home_path:  # used outside the block holding the chain: passed up to it
        child = variables.scopes[home_path[home_path.index(scope) + 1]]
        if name not in child.out_artifacts:
            child.out_artifacts[name] = one_of_artifact(variables, value, child.name)
        assert child.caller is not None
        return var("tasks", child.caller, "outputs", "artifacts", name)
    return variables._imported(scope, name, value, artifact=True)


def _expression_tag(choices: list[tuple[str, str]]) -> str:
    """``{{=...}}`` picking the first branch whose phase is Succeeded (the last otherwise)."""
    expression = choices[-1][1]  # none ran: the tag stays unresolved and the task errors
    for branch, read in reversed(choices[:-1]):
        expression = f"tasks['{branch}'].status == 'Succeeded' ? {read} : ({expression})"
    return "{{=" + expression + "}}"


def artifact_one_ofs(ir: PipelineIR) -> list[Value]:
    """The OneOf values over artifacts: their chains are wrapped in a block of their own."""
    from dagwright.compiler.branches import one_of_values

    found = []
    for value, _ in one_of_values(ir):
        first = value["one_of"][0]
        out = ir.component_of(first["task"]).output(first["output"])
        if out is not None and out.artifact:
            found.append(value)
    return found
