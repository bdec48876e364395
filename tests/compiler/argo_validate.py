"""What workflow/validate/validate.go (Argo v4.1.2) refuses of a manifest before anything
runs, as far as dagwright's specs meet it; a model for the test stand-in, not Argo.

Parameter and artifact names outside ``paramOrArtifactNameRegex``; a DAG task name beginning
with a digit when tasks use ``dependencies`` (``validateDAG``); a ``{{`` without its ``}}``
(fasttemplate cannot parse the template); a variable with one of Argo's prefixes
(``GlobalVarValidWorkflowVariablePrefix`` in workflow/common) that nothing in scope resolves
(``resolveAllVariables``), input parameter defaults included; a task argument taken from a task
it does not depend on (``validateDAGTaskArgumentDependency``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from argo_values import ArgoRejected, tags

PARAM_NAME = re.compile(r"^[-a-zA-Z0-9_]+[-a-zA-Z0-9_]*$")
PREFIXES = ("item.", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")
GLOBALS = (
    "workflow.name",
    "workflow.namespace",
    "workflow.uid",
    "workflow.serviceAccountName",
    "workflow.mainEntrypoint",
    "workflow.status",
    "workflow.parameters",
    "workflow.parameters.json",
)
RUNTIME_PREFIXES = ("workflow.creationTimestamp", "workflow.scheduledTime", "workflow.duration")


def validate(manifest: dict[str, Any]) -> None:
    """Refuse what workflow/validate/validate.go refuses of these points (module docstring)."""
    spec = manifest["spec"]
    arguments = spec.get("arguments", {})
    _names(arguments.get("parameters", []), "spec.arguments.parameters")
    _names(arguments.get("artifacts", []), "spec.arguments.artifacts")
    globals_ = set(GLOBALS) | {
        f"workflow.parameters.{p['name']}" for p in arguments.get("parameters", [])
    }
    if spec.get("onExit"):  # ValidateWorkflow: the exit handler's scope has both
        globals_ |= {"workflow.status", "workflow.failures"}
    templates = {t["name"]: t for t in spec["templates"]}
    for template in spec["templates"]:
        where = f"templates.{template['name']}"
        inputs, outputs = template.get("inputs", {}), template.get("outputs", {})
        _names(inputs.get("parameters", []), f"{where}.inputs.parameters")
        _names(inputs.get("artifacts", []), f"{where}.inputs.artifacts")
        _names(outputs.get("parameters", []), f"{where}.outputs.parameters")
        _names(outputs.get("artifacts", []), f"{where}.outputs.artifacts")
        scope = globals_ | {f"inputs.parameters.{p['name']}" for p in inputs.get("parameters", [])}
        scope |= {f"inputs.artifacts.{a['name']}" for a in inputs.get("artifacts", [])}
        if "dag" in template:
            _dag(template, templates, scope, where)
            continue
        scope |= {"pod.name", "retries", "inputs.parameters"}
        scope |= {f"inputs.artifacts.{a['name']}.path" for a in inputs.get("artifacts", [])}
        _resolved(json.dumps(template), scope, where)


def _names(items: list[dict[str, Any]], where: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        name = item.get("name", "")
        if not PARAM_NAME.match(name):
            raise ArgoRejected(f"{where}[{i}].name: '{name}' is invalid")
        if name in seen:
            raise ArgoRejected(f"{where}[{i}].name '{name}' is not unique")
        seen.add(name)


def _dag(template: dict[str, Any], templates: dict[str, Any], scope: set[str], where: str) -> None:
    tasks = {t["name"]: t for t in template["dag"]["tasks"]}
    using_depends = any("depends" in t for t in tasks.values())
    outputs: set[str] = set()
    for name, task in tasks.items():
        if (using_depends or task.get("dependencies")) and name[:1].isdigit():
            raise ArgoRejected(
                f"{where}.tasks.{name} name cannot begin with a digit when using either "
                "'depends' or 'dependencies'"
            )
        prefix = f"tasks.{name}"
        outputs |= {f"{prefix}.status", f"{prefix}.outputs.parameters"}
        called = templates.get(task.get("template", ""), {}).get("outputs", {})
        for kind in ("parameters", "artifacts"):
            outputs |= {f"{prefix}.outputs.{kind}.{o['name']}" for o in called.get(kind, [])}
    for name, task in tasks.items():
        arguments = task.get("arguments", {})
        _names(arguments.get("parameters", []), f"{where}.tasks.{name}.arguments.parameters")
        _names(arguments.get("artifacts", []), f"{where}.tasks.{name}.arguments.artifacts")
        upstream = ancestors(name, tasks)
        for p in arguments.get("parameters", []):
            value = str(p.get("value", ""))
            if value.startswith("{{tasks.") and value.split(".")[1] not in upstream:
                raise ArgoRejected(
                    f"{where}.tasks.{name} missing dependency '{value.split('.')[1]}' for "
                    f"parameter '{p['name']}'"
                )
        items: set[str] = set()
        any_item = "withParam" in task
        for item in task.get("withItems", []):
            if isinstance(item, dict):
                items |= {f"item.{key}" for key in item}
        _resolved(json.dumps(task), scope | outputs | items, f"{where}.tasks.{name}", any_item)
    _resolved(json.dumps(template.get("outputs", {})), scope | outputs, f"{where}.outputs")


def ancestors(name: str, tasks: dict[str, Any]) -> set[str]:
    """Every task ``name`` depends on, directly or through others, in one DAG's ``tasks``."""
    found: set[str] = set()
    todo = direct(tasks[name], tasks)
    while todo:
        upstream = todo.pop()
        if upstream not in found:
            found.add(upstream)
            todo += direct(tasks[upstream], tasks)
    return found


def direct(task: dict[str, Any], tasks: dict[str, Any]) -> list[str]:
    """The tasks one DAG task names: its ``dependencies``, or the task names its ``depends``
    expression reads (``common.GetTaskDependencies``: each operand's name before a result)."""
    if "depends" not in task:
        return list(task.get("dependencies", []))
    names = re.findall(r"[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?", task["depends"])
    return [n.split(".")[0] for n in names if n.split(".")[0] in tasks]


def _resolved(text: str, scope: set[str], where: str, any_item: bool = False) -> None:
    """``resolveAllVariables``: a tag with one of Argo's prefixes must be in scope."""
    for tag in tags(text):
        name = tag.strip()
        if name.startswith("=") or not name.startswith(PREFIXES) or name in scope:
            continue
        if any_item and name.startswith("item."):
            continue
        if name.startswith(("outputs.", *RUNTIME_PREFIXES)):
            continue
        raise ArgoRejected(f"{where}: failed to resolve {{{{{tag}}}}}")
