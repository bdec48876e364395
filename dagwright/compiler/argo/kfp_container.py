"""A KFP container component as an Argo container: its own image, command and args.

A component imported from KFP whose executor is a container (not a Python function KFP
embedded in its command) runs in its pod as KFP runs it: no dagwright inside, so its image
needs nothing of ours (``alpine`` has no ``python3``). Its command and args keep their text,
with KFP's placeholders written as Argo's variables:

- ``{{$.inputs.parameters['x']}}`` -> ``{{inputs.parameters.x}}`` (the value as Argo carries
  it: a str raw, any other type as JSON, as KFP's launcher gives it);
- ``{{$.inputs.artifacts['a'].path}}`` -> ``{{inputs.artifacts.a.path}}``;
- ``{{$.outputs.parameters['y'].output_file}}`` -> ``{{outputs.parameters.y.path}}``, the file
  Argo reads the output parameter from (``valueFrom.path``);
- ``{{$.outputs.artifacts['a'].path}}`` -> ``{{outputs.artifacts.a.path}}``;
- the run's and task's names and ids -> ``{{workflow.name}}``, ``{{workflow.uid}}``, the task's
  name (``dagwright-task``) and ``{{pod.name}}``; the run's creation time ->
  ``{{workflow.creationTimestamp}}``;
- ``Concat`` and ``IfPresent`` resolved here, by kfp's own ``placeholder_utils``: an input is
  present when the task gives it or it has a default, as KFP's driver decides. Every task of the
  component must agree, since they share one template.

What has no Argo counterpart is refused by name: the executor input (``{{$}}``) and the
executor output file, an artifact's ``uri`` or ``metadata``, the pipeline root, the schedule
time, the workspace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from dagwright.compiler.argo.templates import TASK_PARAM
from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError

_IO = re.compile(r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']*)'\](?:\.(\w+))?\}\}")
_PLAIN = {
    "{{$.pipeline_job_name}}": "{{workflow.name}}",
    "{{$.pipeline_job_resource_name}}": "{{workflow.name}}",
    "{{$.pipeline_job_uuid}}": "{{workflow.uid}}",
    "{{$.pipeline_task_name}}": f"{{{{inputs.parameters.{TASK_PARAM}}}}}",
    "{{$.pipeline_task_uuid}}": "{{pod.name}}",
    "{{$.pipeline_job_create_time_utc}}": "{{workflow.creationTimestamp}}",
}
_WHAT = {
    "{{$}}": "the executor input JSON ({{$}})",
    "{{$.outputs.output_file}}": "the executor output file",
    "{{$.outputMetadataUri}}": "the executor output file",
    "{{$.pipeline_root}}": "the pipeline root",
    "{{$.pipeline_job_schedule_time_utc}}": "the schedule time",
    "{{$.workspace_path}}": "the workspace path",
}
_FIELDS = {
    ("inputs", "parameters", None): "inputs.parameters.{}",
    ("inputs", "artifacts", "path"): "inputs.artifacts.{}.path",
    ("outputs", "parameters", "output_file"): "outputs.parameters.{}.path",
    ("outputs", "artifacts", "path"): "outputs.artifacts.{}.path",
}


def is_container(spec: ComponentSpec) -> bool:
    """Whether the component was imported from KFP with a container executor that is not a
    Python function embedded in its command (such a one runs dagwright's entry instead)."""
    if spec.kfp is None or "container" not in (spec.kfp.get("executor") or {}):
        return False
    known = _KINDS.get(id(spec))  # asked once per task: a digest each time cost 70 us a task
    if known is not None and known[0] is spec:
        return known[1]
    from dagwright.kfp_steps.component import component_of

    found = not component_of(spec, spec.digest).lightweight
    if len(_KINDS) > 4096:  # a process compiling pipeline after pipeline
        _KINDS.clear()
    _KINDS[id(spec)] = (spec, found)  # holds the spec, so its id is not reused
    return found


_KINDS: dict[int, tuple[ComponentSpec, bool]] = {}


def container_command(
    spec: ComponentSpec, tasks: dict[str, set[str]]
) -> tuple[list[str], list[str]]:
    """The container's ``command`` and ``args`` with KFP's placeholders as Argo's variables.

    Args:
        spec: The component (``is_container``).
        tasks: Each task using it, with the names of the inputs it gives.

    Raises:
        ValidationError: for a placeholder Argo has no counterpart for, or an ``IfPresent``
            that the component's tasks resolve differently, naming it and the fix.
    """
    container = (spec.kfp or {})["executor"]["container"]
    command = [str(c) for c in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    defaults = {i.name for i in spec.inputs if i.has_default and i.default is not None}
    found: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for task, given in sorted(tasks.items()) or [("", set())]:
        present = sorted(given | defaults)
        resolved = (_struct(command, present), _struct(args, present))
        found.setdefault(resolved, []).append(task)
    if len(found) > 1:
        groups = "; ".join(", ".join(names) for names in found.values())
        raise ValidationError(
            f"Argo target: the tasks of KFP container component '{spec.name}' give different "
            f"optional inputs ({groups}), so its IfPresent placeholders resolve differently, "
            "and its tasks share one template",
            field=f"component {spec.name}: IfPresent",
            fix="give the optional inputs in every task of the component, or in none",
        )
    command_out, args_out = next(iter(found))
    return (
        [_argo(part, spec.name, "command") for part in command_out],
        [_argo(part, spec.name, "args") for part in args_out],
    )


def _struct(parts: list[str], present: Iterable[str]) -> tuple[str, ...]:
    """``Concat`` and ``IfPresent`` resolved by kfp, the list flattened (as kfp.local does)."""
    from kfp.local import placeholder_utils

    given = list(present)
    resolved = [placeholder_utils.resolve_struct_placeholders(p, given) for p in parts]
    return tuple(placeholder_utils.flatten_list(resolved))


def _argo(text: str, component: str, where: str) -> str:
    """One element with every KFP placeholder written as Argo's variable."""
    for kfp, argo in _PLAIN.items():
        text = text.replace(kfp, argo)

    def one(match: re.Match[str]) -> str:
        side, kind, name, attribute = match.groups()
        template = _FIELDS.get((side, kind, attribute))
        if template is None:
            what = f"the {attribute} of {side[:-1]} {kind[:-1]} '{name}'"
            raise _refused(component, where, match.group(0), what)
        return "{{" + template.format(name) + "}}"

    text = _IO.sub(one, text)
    left = re.search(r"\{\{\$[^{}]*\}\}", text)
    if left is not None:
        placeholder = left.group(0)
        raise _refused(component, where, placeholder, _WHAT.get(placeholder, placeholder))
    return text


def _refused(component: str, where: str, placeholder: str, what: str) -> ValidationError:
    return ValidationError(
        f"Argo target: KFP container component '{component}' uses {what} in its {where} "
        f"({json.dumps(placeholder)}), which an Argo container has no counterpart for",
        field=f"component {component}: {where}",
        fix="pass the value as an input parameter or artifact path instead, or run the "
        "pipeline with 'dagwright run' (--host-containers) or on KFP",
    )
