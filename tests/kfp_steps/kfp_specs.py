"""ComponentSpecs of KFP components, made the way the importer makes them: the component is
compiled by kfp (as a one-task pipeline), and its executor and interface are taken from the
YAML into ``ComponentSpec.kfp`` as the contract of issue 17 says."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import yaml

from dagwright.components.spec import ComponentSpec, IOSpec
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR

_TYPES = {
    "STRING": "str",
    "NUMBER_INTEGER": "int",
    "NUMBER_DOUBLE": "float",
    "BOOLEAN": "bool",
    "LIST": "list",
    "STRUCT": "dict",
    "TASK_FINAL_STATUS": "PipelineTaskFinalStatus",
}


def compiled(component: Any, folder: Path) -> dict[str, Any]:
    """The PipelineSpec kfp writes for ``component`` (a one-task pipeline)."""
    from kfp import compiler

    path = folder / f"{component.name}.yaml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiler.Compiler().compile(component, str(path))
    return yaml.safe_load(path.read_text())


def spec_of(component: Any, folder: Path) -> ComponentSpec:
    """The dagwright ComponentSpec of a KFP component, ``kfp`` set."""
    document = compiled(component, folder)
    (key, comp), *_ = [(k, c) for k, c in document["components"].items() if "executorLabel" in c]
    executor = document["deploymentSpec"]["executors"][comp["executorLabel"]]
    kfp = {
        "executor": executor,
        "inputDefinitions": comp.get("inputDefinitions", {}),
        "outputDefinitions": comp.get("outputDefinitions", {}),
    }
    container = executor["container"]
    full = list(container.get("command", [])) + list(container.get("args", []))
    runner = next((i for i, p in enumerate(full) if "ephemeral_component.py" in p), None)
    source = full[runner + 1] if runner is not None else ""
    function = full[full.index("--function_to_execute") + 1] if source else key[len("comp-") :]
    return ComponentSpec(
        name=key[len("comp-") :],
        inputs=_ports(comp.get("inputDefinitions", {})),
        outputs=_ports(comp.get("outputDefinitions", {})),
        source=source,
        function=function,
        image=container.get("image"),
        kfp=kfp,
    )


def _ports(definitions: dict[str, Any]) -> list[IOSpec]:
    ports = []
    for name, p in (definitions.get("parameters") or {}).items():
        port = IOSpec(name=name, type=_TYPES[p["parameterType"]])
        if "defaultValue" in p:
            port.default = p["defaultValue"]
        elif p.get("isOptional"):
            port.default = None
        ports.append(port)
    for name, a in (definitions.get("artifacts") or {}).items():
        kind = a["artifactType"]["schemaTitle"].split(".", 1)[1]
        if a.get("isArtifactList"):
            kind = f"list[{kind}]"
        ports.append(IOSpec(name=name, type=kind, artifact=True))
    return ports


def pipeline_of(
    name: str,
    tasks: list[tuple[str, ComponentSpec, dict[str, Any]]],
    params: list[dict[str, Any]] | None = None,
    groups: list[GroupIR] | None = None,
    outputs: dict[str, Any] | None = None,
) -> PipelineIR:
    """A hand-made PipelineIR: tasks as (name, spec, inputs), components by spec name."""
    components = {spec.name: spec for _, spec, _ in tasks}
    return PipelineIR.from_dict(
        {
            "apiVersion": "dagwright.dev/v1alpha1",
            "kind": "Pipeline",
            "name": name,
            "params": params or [],
            "outputs": outputs or {},
            "groups": [g.to_dict() for g in groups or []],
            "tasks": [
                TaskIR(name=t, component=spec.name, inputs=inputs).to_dict()
                for t, spec, inputs in tasks
            ],
            "components": {
                cid: {**spec.to_dict(), "digest": spec.digest} for cid, spec in components.items()
            },
        }
    )
