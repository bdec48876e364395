"""Before a run starts: container components imported from KFP must have somewhere to run."""

from __future__ import annotations

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
    and ``host_containers`` is off. The error names each task, its image and both fixes."""
    if host_containers:
        return
    tasks = container_tasks(ir)
    if tasks and container_engine() is None:
        raise refusal(tasks, ir.name)
