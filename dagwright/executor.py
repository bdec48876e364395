"""The one step executor: runs one component call from a step description.

Every backend runs steps through ``run_step``: the in-process runtime calls it directly, and a
subprocess, KFP pod or Argo pod runs ``python -m dagwright.executor --step step.json
--result result.json``. The component's function comes from this process when it was defined
here, else from its module when that imports to the same code, else from the source in the spec
(``components/functions.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagwright.components import serializers
from dagwright.components.artifacts import Artifact
from dagwright.components.final_status import FINAL_STATUS, PipelineTaskFinalStatus
from dagwright.components.functions import resolve_function
from dagwright.components.spec import ComponentSpec
from dagwright.components.types import is_value_file
from dagwright.runtimes.step_env import applied
from dagwright.step_outputs import (
    check_written,
    dump_value,
    publish_outputs,
    refuse_secrets,
    returned_values,
)
from dagwright.store import files, remote

if TYPE_CHECKING:
    from dagwright.store.live_logs import LiveLog


@dataclass
class Step:
    """Everything needed to run one task once.

    Attributes:
        component: The component's spec.
        task: The task name (with the loop iteration, when inside a ParallelFor).
        parameters: Parameter inputs by name, already resolved to values.
        artifacts: Artifact inputs by name, as ``Artifact.to_dict()`` (a list for Collected).
        outputs: Output artifacts by name: the URI each must be written to.
        allow_pickle: Load pickle-based values (joblib models) from a non-local store.
        remote_inputs: The artifact files came from a store elsewhere though they are at
            local paths now (a pod's inputs): pickle-based values need ``allow_pickle``.
        digest: The component's digest when it was compiled. A spec without source (image
            delivery) is imported from its module, which must still have this digest.
        require_outputs: Fail when an output artifact was not written (off for the Horovod
            ranks that do not publish, which often write only on rank 0).
        run_id: The run the step belongs to (KFP's ``{{$.pipeline_job_name}}`` in an imported
            KFP component).
        host_containers: An imported KFP container component may run its command on this
            machine when no Docker or Podman answers (``--host-containers``).
        kfp_packages: The run's folder of packages installed for imported KFP components
            (``--install-packages``; empty: none are installed).
        run_started: When the run was first started (epoch seconds; 0 when unknown): KFP's
            ``{{$.pipeline_job_create_time_utc}}`` in an imported KFP component.
        stop: Set by the local engine when the run is cancelled while the step runs: its
            runtime kills or abandons it as on a timeout (never sent to another process).
        live: Where the local engine wants what the step prints while it runs (its live log
            files); None: nowhere but the attempt's stdout/stderr (never sent either).
        env: The variables the local engine gives the step (its component's, its Secrets'
            and ConfigMaps' values, its volumes' folders): a Local step's in this process's
            environment while it runs, a Process step's child's; never written to a file.
    """

    component: ComponentSpec
    task: str
    parameters: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    allow_pickle: bool = False
    digest: str | None = None
    require_outputs: bool = True
    remote_inputs: bool = False
    run_id: str = ""
    host_containers: bool = False
    run_started: float = 0.0
    kfp_packages: str = ""
    stop: threading.Event | None = field(default=None, compare=False, repr=False)
    live: LiveLog | None = field(default=None, compare=False, repr=False)
    # the step's variables in a local run, Secret values among them: never in to_dict
    env: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON data (``step.json`` of a Process step)."""
        data: dict[str, Any] = {
            "digest": self.digest,
            "component": self.component.to_dict(),
            "task": self.task,
            "parameters": self.parameters,
            "artifacts": self.artifacts,
            "outputs": self.outputs,
            "allow_pickle": self.allow_pickle,
            "require_outputs": self.require_outputs,
            "remote_inputs": self.remote_inputs,
        }
        if self.run_id:
            data["run_id"] = self.run_id
        if self.host_containers:
            data["host_containers"] = True
        if self.run_started:
            data["run_started"] = self.run_started
        if self.kfp_packages:
            data["kfp_packages"] = self.kfp_packages
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        """The step from ``to_dict``'s data."""
        return cls(
            component=ComponentSpec.from_dict(data["component"]),
            task=data["task"],
            parameters=data.get("parameters", {}),
            artifacts=data.get("artifacts", {}),
            outputs=data.get("outputs", {}),
            allow_pickle=data.get("allow_pickle", False),
            digest=data.get("digest"),
            require_outputs=data.get("require_outputs", True),
            remote_inputs=data.get("remote_inputs", False),
            run_id=data.get("run_id", ""),
            host_containers=data.get("host_containers", False),
            run_started=data.get("run_started", 0.0),
            kfp_packages=data.get("kfp_packages", ""),
        )


@dataclass
class StepOutcome:
    """What one successful step produced: return values and written artifacts."""

    values: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON data (``result.json`` of a Process step)."""
        return {
            "values": self.values,
            "artifacts": {k: a.to_dict() for k, a in self.artifacts.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepOutcome:
        """The outcome from ``to_dict``'s data."""
        return cls(
            values=data.get("values", {}),
            artifacts={k: Artifact.from_dict(a) for k, a in data.get("artifacts", {}).items()},
        )


def run_step(
    step: Step,
    abandoned: threading.Event | None = None,
    provided: Mapping[str, Any] | None = None,
) -> StepOutcome:
    """Run the component once and return its outputs.

    Artifacts on another filesystem (an fsspec URL) are copied to a local scratch folder for
    the function and uploaded after it succeeds; local ones are written beside their final path
    and renamed into place. Either way a failed step publishes nothing.

    Args:
        step: What to run.
        abandoned: Set when the caller stopped waiting (a timeout); the step then publishes
            nothing, so a late finish cannot overwrite what a retry wrote.
        provided: What the runtime hands to the function by name (``spark``, ``client``);
            the function gets those of them it declares.

    Raises:
        Exception: whatever the component raised; TypeError when it returned a value that
            does not match its declared output type.
    """
    spec = step.component
    if spec.importer is not None:  # a built-in importer: no code runs, see importer_step.py
        from dagwright.importer_step import run_importer

        return run_importer(step)
    if spec.kfp is not None:  # imported from KFP: runs through KFP's executor contract
        from dagwright.kfp_steps import run_kfp_step

        return run_kfp_step(step, abandoned)
    if spec.runtime.serves and provided is None:  # a compiled step's pod deploys the function
        from dagwright.runtimes import ServingRuntime, runtime_for

        server = runtime_for(spec.runtime)
        if not isinstance(server, ServingRuntime):
            raise TypeError(f"runtime '{spec.runtime.kind}' serves functions but cannot deploy")
        return server.deploy(step)
    if spec.injected and provided is None:  # a compiled step's pod: the runtime makes them here
        from dagwright.runtimes import runtime_for

        with runtime_for(spec.runtime).in_pod(spec.runtime) as made:
            return run_step(step, abandoned, made)
    func = resolve_function(spec, step.digest)
    missing = [name for name in spec.injected if name not in (provided or {})]
    if missing:
        raise TypeError(
            f"component '{spec.name}' declares {', '.join(missing)}, which its runtime "
            f"'{spec.runtime.kind}' provides only when the step runs under that runtime"
        )
    with _Scratch() as scratch:
        kwargs = _load_inputs(step, scratch, provided)
        # inputs that are variables (task.set_env_variable with a pipeline value), not arguments
        env = {
            var: _env_text(kwargs.pop(port))
            for var, port in spec.env_inputs.items()
            if port in kwargs
        }
        kwargs.update({name: (provided or {})[name] for name in spec.injected})
        written: dict[str, Artifact] = {}
        for out in spec.output_artifacts:
            kind = serializers.BY_TYPE[out.type].kind if is_value_file(out.type) else out.type
            artifact = Artifact.from_dict(
                {"type": kind, "name": out.name, "uri": step.outputs[out.name]}
            )
            artifact.path = _output_path(artifact.uri, scratch)
            written[out.name] = artifact
            if not is_value_file(out.type):
                kwargs[out.name] = artifact
        try:
            with applied(env, abandoned):
                returned = func(**kwargs)
            values = returned_values(spec, returned)
            for name, artifact in written.items():
                if name in values:  # a returned DataFrame, array or model: write it
                    dump_value(spec, name, values.pop(name), artifact)
                artifact._finish()
                if step.require_outputs:
                    check_written(spec, name, artifact)
            refuse_secrets(spec, step.task, step.env, values, written)
            if abandoned is not None and abandoned.is_set():
                raise TimeoutError(f"step '{step.task}' finished after its timeout")
        except BaseException:
            for artifact in written.values():
                files.discard(artifact.path)
            raise
        publish_outputs(written)
    return StepOutcome(values=values, artifacts=written)


def _env_text(value: Any) -> str:
    """A value as a variable holds it: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


@contextmanager
def bound_inputs(step: Step) -> Iterator[dict[str, Any]]:
    """The step's inputs as its function takes them, by name: parameter values and loaded
    artifacts. Remote artifacts are fetched to a scratch folder that lives while the context is
    open, so a served function (Nuclio) keeps them for as long as it serves."""
    with _Scratch() as scratch:
        yield _load_inputs(step, scratch)


def _load_inputs(
    step: Step, scratch: _Scratch, provided: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    spec = step.component
    kwargs = dict(step.parameters)
    for port in spec.inputs:  # the dict KFP's driver passes, as the object it stands for
        if port.type == FINAL_STATUS and isinstance(kwargs.get(port.name), dict):
            kwargs[port.name] = PipelineTaskFinalStatus.from_dict(kwargs[port.name])
    for name, data in step.artifacts.items():
        items = data if isinstance(data, list) else [data]
        loaded = [_input(Artifact.from_dict(d), scratch) for d in items]
        kwargs[name] = loaded if isinstance(data, list) else loaded[0]
        declared = spec.input(name)
        if declared is not None and is_value_file(declared.type):
            kwargs[name] = _load_value(kwargs[name], step, declared.type, provided)
    return kwargs


def _load_value(
    artifact: Artifact, step: Step, into: str, provided: Mapping[str, Any] | None
) -> Any:
    fmt = artifact.metadata.get("format", "")
    local = remote.is_local(artifact.uri) and not step.remote_inputs
    return serializers.load(
        artifact.path,
        fmt,
        local=local,
        allow_pickle=step.allow_pickle,
        into=into,
        provided=provided,
    )


class _Scratch:
    """A temporary folder made only if a step has remote artifacts (most steps have none)."""

    def __init__(self) -> None:
        self._folder: str | None = None

    def folder(self) -> str:
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="dagwright-")
        return tempfile.mkdtemp(dir=self._folder)

    def __enter__(self) -> _Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def _input(artifact: Artifact, scratch: _Scratch) -> Artifact:
    if remote.is_local(artifact.uri):
        artifact.path = remote.local_path(artifact.uri)
    else:
        artifact.path = remote.fetch(artifact.uri, scratch.folder())
    return artifact


def _output_path(uri: str, scratch: _Scratch) -> str:
    """Where the function writes an output: beside a local target, or in the scratch folder."""
    if remote.is_local(uri):
        target = remote.local_path(uri)
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        return files.partial_path(target)  # renamed to the target only on success
    return os.path.join(scratch.folder(), uri.rstrip("/").rsplit("/", 1)[-1])


def main(argv: list[str] | None = None) -> int:
    """``python -m dagwright.executor --step STEP.json --result RESULT.json``."""
    parser = argparse.ArgumentParser(prog="python -m dagwright.executor")
    parser.add_argument("--step", required=True, help="step description (JSON)")
    parser.add_argument("--result", required=True, help="where to write the outcome (JSON)")
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # whole lines reach the step's log as printed
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    with open(args.step, encoding="utf-8") as f:
        step = Step.from_dict(json.load(f))
    try:
        outcome: dict[str, Any] = run_step(step).to_dict()
        code = 0
    except Exception as exc:  # report any failure of user code as data, exit 1
        from dagwright.tracebacks import step_traceback

        print(step_traceback(exc), end="", file=sys.stderr)
        outcome = {"error": f"{type(exc).__name__}: {exc}", "traceback": step_traceback(exc)}
        code = 1
    tmp = args.result + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(outcome, f)
    os.replace(tmp, args.result)
    return code


if __name__ == "__main__":
    sys.exit(main())
