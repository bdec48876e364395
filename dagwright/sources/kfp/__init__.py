"""Kubeflow Pipelines v2 as a source: a PipelineSpec (the YAML ``kfp.compiler`` writes) into IR.

``import_pipeline(x)`` takes a path, YAML text, a parsed dict or a ``@dsl.pipeline`` and gives a
validated ``PipelineIR``; ``ir_dict`` gives the IR as plain data. Components keep KFP's executor
verbatim under ``kfp``, so their steps run through KFP's executor contract.

What maps to what:

===============================================  ===========================================
KFP                                              IR
===============================================  ===========================================
root ``inputDefinitions.parameters``             ``params`` (PipelineJob runtimeConfig wins)
root ``dag.outputs``                             ``outputs``
component task (``executorLabel``)               task + component (``kfp``: the executor)
nested pipeline DAG                              ``pipeline`` group, names ``<task>-<inner>``
``condition-branches-N`` DAG                     ``pipeline`` group
``triggerPolicy.condition`` (CEL)                ``condition`` group, full condition tree
``parameterIterator`` / ``artifactIterator``     ``loop`` group (``parallelismLimit``)
``exit-handler-N`` DAG + its exit task           ``exit_handler`` group
``taskFinalStatus``                              ``{"final_status": <exit handler>}``
``valueFromOneof`` / several artifactSelectors   ``{"one_of": [...]}``
a loop DAG's output                              ``{"collected": ...}``
``parameterExpressionSelector`` on a loop item   ``{"loop_item": ..., "key": field}``
ALL_UPSTREAM_TASKS_COMPLETED (not an exit task)  ``ignore_upstream_failure: true``
``dependentTasks`` beyond data                   ``after``
``retryPolicy``                                  component ``retry``
a nested pipeline task's ``retryPolicy``          ``retry`` of its tasks that set none
``cachingOptions.enableCache``                   component ``cache`` (as the YAML says)
``cachingOptions.cacheKey``                      ``cache_version`` (the inputs still count)
container ``resources`` / ``env``                component ``resources`` / ``env``
``importer`` executor                            component with ``importer``
root ``inputDefinitions.artifacts``               ``str`` param + importer task (``roots.py``)
kfp-kubernetes ``activeDeadlineSeconds``         component ``timeout``
kfp-kubernetes scheduling hints                  not kept, a ``KfpImportWarning`` names them
a ``system.Artifact`` output to a typed input     that input typed ``Artifact`` (KFP allows it)
===============================================  ===========================================

Refused by name (a ``ValidationError`` naming the construct, the task and a fix), never dropped:

================================================  ==========================================
construct                                         why
================================================  ==========================================
``schemaVersion`` other than 2.0.0 / 2.1.0        another format
a root input that is a list of artifacts         one URI cannot give it
a root PipelineTaskFinalStatus parameter          only an ExitHandler gives one
an executor other than container / importer       nothing to run it with
CEL beyond comparisons, ``!``, ``&&``, ``||``     no IR condition for it
``parameterExpressionSelector`` not on a loop     the IR picks fields of loop items only
item, or other than ``parseJson(...)["field"]``
a condition on a component task                   KFP 2 puts them on DAGs
an exit task that is a nested pipeline            the IR's exit task is one task
trigger strategies other than the two KFP writes  no IR meaning
kfp-kubernetes env from Secrets, ConfigMaps or    changes what the step sees; not yet mapped
pod fields; volumes; unknown settings
input forms and task fields this reader does not  unknown meaning
know
================================================  ==========================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagwright.errors import ValidationError
from dagwright.sources.kfp.document import (
    Document,
    is_graph_component,
    is_kfp_component,
    is_pipeline_spec,
    read,
)
from dagwright.sources.kfp.platform import KfpImportWarning

if TYPE_CHECKING:
    from dagwright.pipelines.ir import PipelineIR

__all__ = [
    "KfpImportWarning",
    "import_pipeline",
    "ir_dict",
    "is_graph_component",
    "is_kfp_component",
    "is_pipeline_spec",
]


def import_pipeline(source: Any) -> PipelineIR:
    """The validated IR of a KFP pipeline: a path, YAML text, a dict, a ``@dsl.pipeline`` or a
    lone kfp component (compiled by kfp as a one-task pipeline, as KFP lets one be run).

    Raises:
        ValidationError: the source is not a KFP v2 pipeline, or holds a construct that cannot
            be imported (named, with the task and a fix).
    """
    from dagwright.pipelines.ir import PipelineIR
    from dagwright.pipelines.validate import validate_ir

    ir = PipelineIR.from_dict(ir_dict(source))
    validate_ir(ir)
    return ir


def ir_dict(source: Any) -> dict[str, Any]:
    """The IR of a KFP pipeline as plain data (what ``PipelineIR.from_dict`` reads)."""
    from dagwright.components.importer import URI_INPUT
    from dagwright.names import is_k8s_name, to_k8s_name
    from dagwright.pipelines.ir import IR_VERSION
    from dagwright.sources.kfp import platform
    from dagwright.sources.kfp.dag import Walker
    from dagwright.sources.kfp.frames import Frame
    from dagwright.sources.kfp.roots import importer_component, root_artifacts

    document = read(source)
    spec = document.spec
    info = spec.get("pipelineInfo", {}) or {}
    name = str(info.get("name", "pipeline"))
    name = name if is_k8s_name(name) else to_k8s_name(name) or "pipeline"
    root = spec.get("root", {}) or {}
    params, env = _params(root, document, name)
    taken: set[str] = set()
    while True:  # again, when an importer's name is one a KFP task has
        given, artifacts, importers, absent = root_artifacts(root, name, set(taken))
        walker = Walker(spec, platform.executors(document.others))
        for task, key, type_name in importers:
            component = walker.register(importer_component(type_name, name))
            walker.tasks.append(
                {"name": task, "component": component, "inputs": {URI_INPUT: {"param": key}}}
            )
        frame = Frame(root, env={**env, **artifacts}, absent=absent)
        try:
            walker.walk(frame)
        except ValidationError as exc:
            raise exc.within(pipeline=name) from None
        walked = {t["name"] for t in walker.tasks[len(importers) :]}
        if not walked & {task for task, _, _ in importers}:
            break
        taken |= walked
    outputs: dict[str, Any] = {}
    try:
        dag_outputs = root.get("dag", {}).get("outputs", {}) or {}
        for section in ("parameters", "artifacts"):
            for key in dag_outputs.get(section) or {}:
                artifact = section == "artifacts"
                outputs[key] = walker.dag_output(frame, key, artifact, f"output {key}")
    except ValidationError as exc:
        raise exc.within(pipeline=name) from None
    _widen_generic_inputs(walker.tasks, walker.ir_components)
    data: dict[str, Any] = {"apiVersion": IR_VERSION, "kind": "Pipeline", "name": name}
    description = info.get("description") or root.get("description")
    if description:
        data["description"] = str(description)
    data["params"] = params + given
    data["outputs"] = outputs
    optional = _from_inside_an_if(outputs, walker.tasks, walker.groups)
    if optional:
        data["optional_outputs"] = optional
    data["groups"] = walker.groups
    data["tasks"] = walker.tasks
    data["components"] = walker.ir_components
    return data


def _from_inside_an_if(
    outputs: dict[str, Any], tasks: list[dict[str, Any]], groups: list[dict[str, Any]]
) -> list[str]:
    """The outputs made by a task inside an If: KFP compiles `return dsl.Collected(t.output)`
    from an If to such an output, there when the branch ran (validation allows it for these)."""
    group_of = {task["name"]: task.get("group") for task in tasks}
    blocks = {group["id"]: group for group in groups}
    optional = []
    for key, value in outputs.items():
        group = group_of.get(value.get("task", ""))
        while group is not None and blocks[group]["kind"] != "condition":
            group = blocks[group].get("parent")
        if group is not None:
            optional.append(key)
    return optional


def _params(
    root: dict[str, Any], document: Document, pipeline: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from dagwright.sources.kfp import types

    definitions = root.get("inputDefinitions", {}) or {}
    params = []
    env: dict[str, Any] = {}
    for key, spec in (definitions.get("parameters") or {}).items():
        kind = types.parameter_type(spec, {"pipeline": pipeline, "field": key})
        if kind == "PipelineTaskFinalStatus":
            raise ValidationError(
                f"the pipeline takes a PipelineTaskFinalStatus '{key}', which only an "
                "ExitHandler gives",
                pipeline=pipeline,
                field=key,
                fix="run the pipeline that uses this one as its ExitHandler's exit task",
            )
        param: dict[str, Any] = {"name": key, "type": kind}
        if spec.get("description"):
            param["description"] = str(spec["description"])
        if key in document.defaults:
            param["default"] = types.coerce(document.defaults[key], kind)
        elif "defaultValue" in spec:
            param["default"] = types.coerce(spec["defaultValue"], kind)
        elif spec.get("isOptional"):
            param["default"] = None
        params.append(param)
        env[key] = {"param": key}
    return params, env


def _widen_generic_inputs(tasks: list[dict[str, Any]], components: dict[str, Any]) -> None:
    """KFP's rule: a ``system.Artifact`` fits any artifact input (a v1 component's ``CSV``
    output feeding an ``Input[Dataset]``). Such an input is typed ``Artifact`` here; the step
    still gets the type its KFP definition names."""
    by_name = {task["name"]: task for task in tasks}
    for task in tasks:
        spec = components[task["component"]]
        for name, value in task["inputs"].items():
            members = value["one_of"] if "one_of" in value else [value]
            refs = [m.get("collected", m) for m in members]
            if not any(_generic_output(by_name, components, ref) for ref in refs):
                continue
            for declared in spec["inputs"]:
                if declared["name"] == name and declared.get("artifact"):
                    listed = declared["type"].startswith("list[")
                    declared["type"] = "list[Artifact]" if listed else "Artifact"


def _generic_output(
    tasks: dict[str, dict[str, Any]], components: dict[str, Any], ref: dict[str, Any]
) -> bool:
    producer = tasks.get(ref.get("task", ""))
    if producer is None:
        return False
    outputs = components[producer["component"]]["outputs"]
    found = next((o for o in outputs if o["name"] == ref.get("output")), None)
    return found is not None and found["type"] in ("Artifact", "list[Artifact]")
