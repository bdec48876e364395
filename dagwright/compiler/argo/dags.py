"""A scope's DAG template (plain dicts, ``objects.py``): its tasks, with an exit task as the
lifecycle hook of its block's task, their arguments, and the scope's inputs and outputs. A
task's arguments and dependencies are written in YAML's flow style (``specs.Inline``, folded at
80 columns like the rest): a DAG repeats them for every task, and a line per key made the
benchmark's 1,000-task chain 18% larger (277 KB, not 236 KB).

``workflow.WorkflowBuilder`` fills the scopes (``scopes.Scope``) in one pass over the IR; this
turns each into the ``Template`` of a ``dag``.
"""

from __future__ import annotations

from typing import Any

from dagwright.compiler.argo.flow import depends
from dagwright.compiler.argo.naming import digit_free, param_name, renamed_refs, renamed_task
from dagwright.compiler.argo.objects import obj
from dagwright.compiler.argo.scopes import Scope
from dagwright.specs import Inline, InlineList


def dag_template(scope: Scope, template_name: str, parallelism: int | None) -> dict[str, Any]:
    """The DAG template of one scope, named ``template_name``: its tasks (an exit task as its
    block task's exit hook), their arguments, and the scope's inputs and outputs."""
    renamed = digit_free(scope.tasks)
    # Argo refuses depends beside dependencies in one DAG: a tolerant task makes them all depends
    enhanced = any(f.get("tolerant") for f in scope.tasks.values())
    tasks = [_dag_task(renamed_task(f, renamed), enhanced) for f in scope.tasks.values()]
    for fields in scope.tasks.values():
        for key in ("parameters", "artifacts"):
            for name in fields.get(key, {}):
                param_name(name, f"argument {name} of task {fields['name']}")
    inputs = None
    if scope.in_params or scope.in_artifacts:
        inputs = obj(
            parameters=[obj(name=n) for n in scope.in_params] or None,
            artifacts=[obj(name=n) for n in scope.in_artifacts] or None,
        )
    outputs = None
    if scope.out_params or scope.out_artifacts:
        outputs = obj(
            parameters=[
                obj(name=n, valueFrom=_value_from(renamed_refs(v, renamed), scope.defaults.get(n)))
                for n, v in scope.out_params.items()
            ]
            or None,
            artifacts=[
                _artifact_from(n, renamed_refs(v, renamed)) for n, v in scope.out_artifacts.items()
            ]
            or None,
        )
    return obj(
        name=template_name,
        dag=obj(tasks=tasks),
        inputs=inputs,
        outputs=outputs,
        parallelism=parallelism,
    )


def _value_from(value: str, default: str | None) -> dict[str, Any]:
    """A DAG output's ``valueFrom``: a variable as ``parameter``, an expression tag (a OneOf,
    see flow.py) as ``expression``, which Argo runs with expr-lang over the DAG's scope
    (``scope.go``, ``resolveParameter``); ``parameter`` takes no expression."""
    if value.startswith("{{=") and value.endswith("}}"):
        return obj(expression=value[3:-2], default=default)
    return obj(parameter=value, default=default)


def _artifact_from(name: str, value: str) -> dict[str, Any]:
    """A DAG output artifact: ``from`` a variable, or ``fromExpression`` (a OneOf)."""
    if value.startswith("{{=") and value.endswith("}}"):
        return obj(name=name, fromExpression=value[3:-2])
    return obj(name=name, **{"from": value})


def _dag_task(fields: dict[str, Any], enhanced: bool = False) -> dict[str, Any]:
    fields = dict(fields)
    tolerant = fields.pop("tolerant", False)
    if enhanced and "dependencies" in fields:
        fields["depends"] = depends(fields.pop("dependencies"), tolerant)
    arguments = _arguments(fields.pop("parameters", {}), fields.pop("artifacts", {}))
    hooks = fields.pop("hooks", None)
    if hooks is not None:
        exit_task = dict(hooks["exit"])
        exit_args = _arguments(exit_task.pop("parameters", {}), exit_task.pop("artifacts", {}))
        fields["hooks"] = {"exit": obj(arguments=exit_args, **exit_task)}
    if "dependencies" in fields:
        fields["dependencies"] = InlineList(fields["dependencies"])
    return obj(arguments=arguments, **fields)


def _arguments(params: dict[str, str], artifacts: dict[str, Any]) -> dict[str, Any] | None:
    if not params and not artifacts:
        return None
    arts: list[dict[str, Any]] = []
    for name, source in artifacts.items():
        if isinstance(source, str):
            arts.append(Inline(obj(name=name, **{"from": source})))
        else:  # a storage location: Collected artifacts, read by key prefix. A loop
            # over no items (or whose iterations all skipped) leaves nothing there; the
            # argument must say optional, since Argo's ProcessArgs replaces the template's
            # artifact by the argument and keeps only its path, mode and recurseMode. An
            # imported artifact's location (imports.py) says None: it must be there
            arts.append(obj(name=name, **{"optional": True, **source}))
    return Inline(
        obj(
            parameters=[Inline(obj(name=k, value=v)) for k, v in params.items()] or None,
            artifacts=arts or None,
        )
    )
