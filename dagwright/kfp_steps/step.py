"""One step of an imported KFP component, run through KFP's executor contract.

``run_kfp_step`` builds the executor input (``executor_input.py``), runs a Python lightweight
component in this process (``python_step.py``) or a container component in Docker, Podman or
on this machine (``containers.py``), and reads what it wrote (``outputs.py``) into the
``StepOutcome`` the engine records like any other.

Output artifacts are written as dagwright's own are: beside their final path
(``<uri>.partial-<hex>``; in the step's folder for a remote store) and published (renamed or
uploaded) only when the step succeeds, so a failed or abandoned step publishes nothing. KFP lets
a component leave an output artifact unwritten: it is then published as nothing, except a
metrics artifact (``Metrics``, ``ClassificationMetrics``, ``SlicedClassificationMetrics``),
whose metadata is written to its file as JSON, as dagwright's ``Metrics`` does.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from datetime import datetime, timezone
from typing import Any

from dagwright.components.artifacts import Artifact
from dagwright.components.spec import ComponentSpec
from dagwright.executor import Step, StepOutcome
from dagwright.extras import require
from dagwright.kfp_steps import executor_input, outputs
from dagwright.kfp_steps.component import KfpComponent, component_of
from dagwright.kfp_steps.scratch import task_folder
from dagwright.step_outputs import publish_outputs
from dagwright.store import files, remote

_METRICS = {"system.Metrics", "system.ClassificationMetrics", "system.SlicedClassificationMetrics"}


def run_kfp_step(step: Step, abandoned: threading.Event | None = None) -> StepOutcome:
    """Run a step whose component was imported from KFP (``step.component.kfp`` is set).

    Args:
        step: What to run.
        abandoned: Set when the caller stopped waiting (a timeout): nothing is published.

    Raises:
        Exception: whatever the component raised (its traceback from its own code); a
            ``ValidationError`` for a package it would pip-install that is not installed, or a
            container component with nowhere to run; ``ContainerFailed`` when a container's
            command exits non-zero.
    """
    require("kfp", field="kfp", needed_for=f"the KFP component of task '{step.task}'")
    spec = step.component
    digest = spec.digest  # ~0.1 ms; the program and the command are read once per digest
    component = component_of(spec, digest)
    with task_folder() as task_root:
        return _run(step, component, digest, task_root, abandoned)


def _run(
    step: Step,
    component: KfpComponent,
    digest: str,
    task_root: str,
    abandoned: threading.Event | None,
) -> StepOutcome:
    spec = step.component
    inputs = {
        name: [_local_input(a, task_root) for a in (data if isinstance(data, list) else [data])]
        for name, data in step.artifacts.items()
        if data is not None
    }
    written: dict[str, Artifact] = {}
    for name, definition in component.output_artifacts.items():
        if name not in step.outputs:
            continue
        uri = step.outputs[name]
        artifact = Artifact.from_dict(
            {"type": _kind(spec, name, definition), "name": name, "uri": uri}
        )
        artifact.path = _output_path(uri, task_root, name)
        written[name] = artifact
    names = {
        "pipeline": step.run_id or "dagwright",
        "task": step.task.split("[", 1)[0],  # the task's name, without its loop iteration
        "root": _pipeline_root(step),
        "created": _utc(step.run_started or time.time()),
    }
    given = executor_input.build(
        component,
        step.parameters,
        inputs,
        {name: a.path for name, a in written.items()},
        task_root,
        names,
    )
    try:
        if component.lightweight:
            from dagwright.kfp_steps.python_step import run_python

            run_python(component, digest, given, task_root, abandoned, step.kfp_packages)
        else:
            _run_container(step, component, given, inputs, written, task_root, names, abandoned)
        metadata = outputs.metadata_file(task_root)
        values = outputs.parameter_values(spec, component, task_root, metadata)
        for name, artifact in written.items():
            artifact.metadata = outputs.artifact_metadata(metadata, name)
            artifact.name = outputs.artifact_name(metadata, name)
            _take_returned_file(artifact, outputs.artifact_uri(metadata, name))
            title = (component.output_artifacts[name].get("artifactType") or {}).get("schemaTitle")
            if title in _METRICS and not os.path.lexists(artifact.path):
                with open(artifact.path, "w", encoding="utf-8") as f:
                    json.dump(artifact.metadata, f, sort_keys=True)
        if abandoned is not None and abandoned.is_set():
            raise TimeoutError(f"step '{step.task}' finished after its timeout")
    except BaseException:
        for artifact in written.values():
            files.discard(artifact.path)
        raise
    publish_outputs(written)
    return StepOutcome(values=values, artifacts=written)


def _run_container(
    step: Step,
    component: KfpComponent,
    given: dict[str, Any],
    inputs: dict[str, list[dict[str, Any]]],
    written: dict[str, Artifact],
    task_root: str,
    names: dict[str, str],
    abandoned: threading.Event | None,
) -> None:
    from kfp.local import placeholder_utils

    from dagwright.kfp_steps.containers import run_container

    command = placeholder_utils.replace_placeholders(
        full_command=executor_input.unknown_to_kfp_local(list(component.command), given, names),
        executor_input_dict=given,
        pipeline_resource_name=names["pipeline"],
        task_resource_name=names["task"],
        pipeline_root=names["root"],
        unique_pipeline_id=names["pipeline"],
    )
    mounts = [(task_root, True)]
    mounts += [(os.path.dirname(a.path), True) for a in written.values()]
    mounts += [(os.path.dirname(a["path"]), False) for items in inputs.values() for a in items]
    run_container(component, command, step.host_containers, mounts, step.task, abandoned)


def _take_returned_file(artifact: Artifact, uri: str | None) -> None:
    """Move an artifact the function wrote at a URI of its own (a returned
    ``Dataset(uri=dsl.get_uri())``, in the step's folder) to where the step's output goes; a
    remote URI of its own is left where it is."""
    if uri is None or not remote.is_local(uri):
        return
    source = remote.local_path(uri)
    if os.path.abspath(source) != os.path.abspath(artifact.path) and os.path.lexists(source):
        shutil.move(source, artifact.path)


def _kind(spec: ComponentSpec, name: str, definition: dict[str, Any]) -> str:
    """The dagwright artifact type of an output: as the spec declares it, else from KFP's
    schema title (``system.Dataset`` is ``Dataset``)."""
    declared = spec.output(name)
    if declared is not None and declared.artifact and not declared.type.startswith("list"):
        return declared.type
    title = str((definition.get("artifactType") or {}).get("schemaTitle") or "")
    return title.split(".", 1)[1] if title.startswith("system.") else "Artifact"


def _local_input(data: dict[str, Any], task_root: str) -> dict[str, Any]:
    """An input artifact with ``path``: its local file, fetched first from a remote store."""
    uri = data["uri"]
    if remote.is_local(uri):
        return {**data, "path": remote.local_path(uri)}
    folder = tempfile.mkdtemp(dir=task_root, prefix="in-")
    return {**data, "path": remote.fetch(uri, folder)}


def _utc(seconds: float) -> str:
    """A time as KFP's backend gives ``{{$.pipeline_job_create_time_utc}}``: RFC 3339 in UTC,
    to the second (``2026-01-09T12:34:56Z``)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _output_path(uri: str, task_root: str, name: str) -> str:
    """Where the step writes an output: beside a local target, or in the step's folder."""
    if remote.is_local(uri):
        target = remote.local_path(uri)
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        return files.partial_path(target)  # renamed to the target only on success
    return os.path.join(tempfile.mkdtemp(dir=task_root, prefix="out-"), name)


def _pipeline_root(step: Step) -> str:
    """The run's artifact location's parent (KFP's pipeline root), read from an output URI
    (``<root>/<run id>/<task>/...``); '' when the step has no output."""
    marker = f"/{step.run_id}/" if step.run_id else ""
    for uri in step.outputs.values():
        if marker and marker in uri:
            return uri.split(marker, 1)[0]
    return ""
