"""Before a run starts: steps imported from KFP need kfp installed, and their container
components somewhere to run."""

from __future__ import annotations

from dagwright.errors import ValidationError
from dagwright.extras import require
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


def check_kfp_installed(ir: PipelineIR) -> None:
    """Refuse a run with steps imported from KFP when kfp cannot be imported: each runs
    through kfp's executor or its placeholder resolver (an importer runs no code, and needs
    none). The error names a task and the extra to install."""
    tasks = [
        task.name
        for task in ir.tasks
        if ir.component_of(task).kfp is not None and ir.component_of(task).importer is None
    ]
    if tasks:
        more = f" and {len(tasks) - 1} more" if len(tasks) > 1 else ""
        require(
            "kfp",
            field="kfp",
            needed_for=f"running task '{tasks[0]}'{more} (components imported from KFP)",
        )


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
