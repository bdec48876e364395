"""Before a run starts: container components imported from KFP must have somewhere to run."""

from __future__ import annotations

from dagwright.errors import ValidationError
from dagwright.kfp_steps.component import component_of
from dagwright.kfp_steps.containers import container_engine, refusal
from dagwright.pipelines.ir import PipelineIR


def container_tasks(ir: PipelineIR) -> list[tuple[str, str]]:
    """The tasks (name, image) whose components are KFP container components."""
    found = []
    for task in ir.tasks:
        spec = ir.component_of(task)
        if spec.kfp is None or spec.importer is not None:  # an importer runs no container
            continue
        component = component_of(spec, spec.digest)
        if not component.lightweight:
            found.append((task.name, component.image))
    return found


def check_containers(ir: PipelineIR, host_containers: bool) -> None:
    """Refuse a run whose container components could not run: no Docker or Podman answers
    and ``host_containers`` is off, or it is on and a component gives its image's entrypoint
    arguments only (no command), which this machine does not have. The error names each
    task and its image."""
    tasks = container_tasks(ir)
    if not tasks or container_engine() is not None:
        return
    if not host_containers:
        raise refusal(tasks, ir.name)
    bare = sorted(set(entrypoint_only(ir)))
    if bare:
        named = ", ".join(f"'{task}' (image {image})" for task, image in bare)
        raise ValidationError(
            f"container component task{'s' if len(bare) > 1 else ''} {named} give no command, "
            "only arguments to the image's entrypoint, which cannot run on this machine",
            pipeline=ir.name,
            field="host_containers",
            fix="start Docker or Podman (`docker info` must answer) to run them in their image",
        )


def entrypoint_only(ir: PipelineIR) -> list[tuple[str, str]]:
    """The container tasks (name, image) whose KFP container has arguments but no command."""
    found = []
    for task in ir.tasks:
        spec = ir.component_of(task)
        if spec.kfp is None or spec.importer is not None:
            continue
        component = component_of(spec, spec.digest)
        if component.entrypoint and not component.lightweight:
            found.append((task.name, component.image))
    return found
