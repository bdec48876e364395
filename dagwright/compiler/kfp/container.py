"""One KFP executor per dagwright component: a lightweight Python component that runs dagwright.

The command has the shape of the KFP SDK's lightweight components (install, write the module,
``python3 -m kfp.dsl.executor_main``), so KFP's launcher, its UI and ``kfp.local``'s
SubprocessRunner all treat it as one. The module it writes holds only the component as data
and a call to ``dagwright.compiler.kfp.entry``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dagwright.compiler.delivery import CodeDelivery
from dagwright.components.spec import ComponentSpec, Resources

_PROGRAM = (
    "program_path=$(mktemp -d)\n"
    'printf "%s" "$0" > "$program_path/ephemeral_component.py"\n'
    "_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main"
    ' --component_module_path "$program_path/ephemeral_component.py" "$@"\n'
)


def module_source(spec: ComponentSpec, delivery: CodeDelivery) -> str:
    """The Python module the pod writes and KFP's executor imports."""
    carried = delivery.carried_spec(spec).to_dict()
    data = json.dumps(carried, sort_keys=True, separators=(",", ":"))
    return (
        "from dagwright.compiler.kfp.entry import entry\n\n"
        f"{spec.function} = entry(__import__('json').loads({data!r}), {spec.digest!r})\n"
    )


def container(spec: ComponentSpec, delivery: CodeDelivery, pb: Any) -> Any:
    """The PipelineContainerSpec message of a component's executor."""
    if spec.kfp is not None:  # imported from KFP: its own executor (imported.py)
        from dagwright.compiler.kfp.imported import imported_container

        return imported_container(spec, pb)
    box = pb.PipelineDeploymentConfig.PipelineContainerSpec(image=delivery.image_for(spec))
    install = delivery.install_command(spec)
    if install is not None:
        box.command.extend(["sh", "-c", f'{install} && "$0" "$@"\n'])
    box.command.extend(["sh", "-ec", _PROGRAM, module_source(spec, delivery)])
    box.args.extend(["--executor_input", "{{$}}", "--function_to_execute", spec.function])
    for name, value in spec.env.items():
        box.env.add(name=name, value=value)
    set_resources(box.resources, spec.resources)
    return box


def importer_executor(target: Any, spec: ComponentSpec) -> None:
    """Fill ``target`` (an ImporterSpec message) for a ``dagwright.importer`` component: KFP's
    importer reads the URI from the task's ``uri`` input, whether a constant or a parameter."""
    from dagwright.compiler.kfp.types import SCHEMA_VERSION, schema_title
    from dagwright.components.importer import URI_INPUT

    assert spec.importer is not None
    target.artifact_uri.runtime_parameter = URI_INPUT
    target.type_schema.schema_title = schema_title(spec.importer["type"])
    target.type_schema.schema_version = SCHEMA_VERSION
    if spec.importer.get("metadata"):
        target.metadata.update(spec.importer["metadata"])
    if spec.importer.get("reimport"):
        target.reimport = True


def set_resources(target: Any, res: Resources) -> None:
    """Requests and limits both as Kubernetes quantities and, for KFP backends before 2.3,
    as the numbers those read."""
    if res.cpu:
        target.resource_cpu_request = res.cpu
        target.cpu_request = _cpu(res.cpu)
    if res.cpu_limit:
        target.resource_cpu_limit = res.cpu_limit
        target.cpu_limit = _cpu(res.cpu_limit)
    if res.memory:
        target.resource_memory_request = res.memory
        target.memory_request = _gigabytes(res.memory)
    if res.memory_limit:
        target.resource_memory_limit = res.memory_limit
        target.memory_limit = _gigabytes(res.memory_limit)
    if res.gpu:
        target.accelerator.resource_type = "nvidia.com/gpu"
        target.accelerator.resource_count = str(res.gpu)
        target.accelerator.type = "nvidia.com/gpu"
        target.accelerator.count = res.gpu


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


_UNITS = {
    "": 1,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def _gigabytes(quantity: str) -> float:
    match = re.match(r"^([0-9.eE+-]+?)([kMGTPE]i?|)$", quantity)
    if not match:
        return float(quantity) / 1e9
    number, unit = match.groups()
    return float(number) * _UNITS[unit] / 1e9
