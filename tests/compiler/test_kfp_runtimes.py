"""Runtimes on the KFP target: fragments in the container, the platform spec, launchers.

No KFP backend runs here. Specs are read back with the KFP SDK's own loaders
(``load_component_from_file``, the Client's package reader, the SDK compiler re-using a loaded
spec), and each executor's platform config is parsed with protobuf's JSON parser against the
messages of kfp-kubernetes' ``kubernetes_executor_config.proto`` (kfp_platform_proto.py), as
the backend's driver reads it. Runtimes are registered here through the public
``register_runtime`` API, as a third-party package would.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import kfp_corpus as corpus
import pytest
import yaml
from google.protobuf import json_format
from kfp_backend_checks import assert_runs_as_compiled, problems
from kfp_platform_proto import parse_executor_config

import dagwright
from dagwright import Dataset, Input, Output, component, pipeline
from dagwright.compiler import kfp as kfp_target
from dagwright.compiler.deadline import BOOTSTRAP_SECONDS
from dagwright.errors import ValidationError
from dagwright.runtimes import (
    Dask,
    Fragments,
    Horovod,
    Job,
    Nuclio,
    PodStep,
    RuntimeConfig,
    Spark,
    crd,
    register_runtime,
)
from dagwright.runtimes import launcher as ln
from dagwright.runtimes.resource_conditions import parse_condition

pytest.importorskip("kfp")


@dataclass(frozen=True)
class Pods(RuntimeConfig):
    """A runtime that hands back the fragments it is given (container and pod fields)."""

    kind: ClassVar[str] = "test-kfp-pods"
    container: dict[str, Any] = field(default_factory=dict)
    pod: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Widget(RuntimeConfig):
    """A runtime whose step becomes a custom resource running the step's command."""

    kind: ClassVar[str] = "test-kfp-widget"
    success: str = "status.state == DONE"
    failure: str = "status.state in (FAILED, LOST)"


class _PodsRuntime:
    seen: list[PodStep] = []

    def run(self, step: Any, timeout: float | None, session: Any) -> Any:
        raise NotImplementedError

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        assert isinstance(config, Pods)
        self.seen.append(pod)
        return Fragments(container=dict(config.container), pod=dict(config.pod))

    def in_pod(self, config: RuntimeConfig) -> Any:
        return contextlib.nullcontext({})


class _WidgetRuntime(_PodsRuntime):
    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        assert isinstance(config, Widget)
        manifest = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": pod.name},
            "spec": {
                "image": pod.image,
                "command": pod.command,
                "env": [{"name": k, "value": v} for k, v in pod.env.items()],
            },
        }
        return Fragments(
            resource=manifest,
            success_condition=config.success,
            failure_condition=config.failure,
        )


register_runtime(Pods, _PodsRuntime())
register_runtime(Widget, _WidgetRuntime())

JOB_LIKE = Pods(
    container={
        "image": "registry.example/train:1",
        "env": [
            {"name": "MODE", "value": "fast"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        ],
        "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"nvidia.com/gpu": "1"}},
    },
    pod={
        "nodeSelector": {"pool": "gpu"},
        "tolerations": [
            {"key": "gpu", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}
        ],
        "imagePullSecrets": [{"name": "regcred"}],
        "activeDeadlineSeconds": 600,
    },
)


def _documents(text: str) -> list[dict[str, Any]]:
    assert_runs_as_compiled(text)  # as KFP's backend runs it, not only kfp.local
    return [d for d in yaml.safe_load_all(text) if d is not None]


def _one_step(runtime: RuntimeConfig, **options: Any) -> Any:
    @component(runtime=runtime, env={"MODE": "slow", "KEEP": "1"}, cpu="500m", timeout=90)
    def train(rows: int, name: str = "x") -> None:
        print(rows, name)

    @pipeline
    def runtimes_pipeline(rows: int = 10) -> None:
        train(rows=rows)

    return runtimes_pipeline


def test_job_like_fragments_fill_the_container_and_the_platform_spec(tmp_path: Path) -> None:
    from kfp import components
    from kfp.client.client import _extract_pipeline_yaml

    path = tmp_path / "p.yaml"
    text = dagwright.compile(_one_step(JOB_LIKE), target="kfp", path=path)
    spec, platform = _documents(text)
    box = spec["deploymentSpec"]["executors"]["exec-train"]["container"]
    assert box["image"] == "registry.example/train:1"
    # the runtime's MODE replaces the component's; its secret and field refs are not here
    assert {e["name"]: e["value"] for e in box["env"]} == {"MODE": "fast", "KEEP": "1"}
    assert box["resources"]["resourceCpuRequest"] == "2"
    assert box["resources"]["resourceMemoryRequest"] == "4Gi"
    assert box["resources"]["accelerator"]["resourceCount"] == "1"
    config = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]
    assert config == {
        "nodeSelector": {"labels": {"pool": "gpu"}},
        "tolerations": [
            {"key": "gpu", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": "30"}
        ],
        "imagePullSecret": [
            {
                "secretName": "regcred",
                "secretNameParameter": {"runtimeValue": {"constant": "regcred"}},
            }
        ],
        # the runtime's 600, under the component's timeout=90 plus the bootstrap's allowance
        # (the entry times the step itself)
        "activeDeadlineSeconds": "600",
        "secretAsEnv": [
            {
                "secretName": "creds",
                "secretNameParameter": {"runtimeValue": {"constant": "creds"}},
                "keyToEnv": [{"secretKey": "token", "envVar": "TOKEN"}],
            }
        ],
        "fieldPathAsEnv": [{"name": "NODE", "fieldPath": "spec.nodeName"}],
    }
    # the proto's own JSON form, field for field (int64 as strings, as MessageToDict writes)
    assert json_format.MessageToDict(parse_executor_config(config)) == config
    loaded = components.load_component_from_file(str(path))
    assert json_format.MessageToDict(loaded.component_spec.platform_spec) == platform
    assert json_format.MessageToDict(_extract_pipeline_yaml(str(path)).platform_spec) == platform


def test_the_runtime_sees_the_executor_as_a_pod_step() -> None:
    _PodsRuntime.seen.clear()
    dagwright.compile(_one_step(Pods()), target="kfp")
    (pod,) = _PodsRuntime.seen
    assert pod.name == "exec-train"
    assert pod.image == "python:3.11-slim"
    assert pod.env == {"MODE": "slow", "KEEP": "1"}
    assert pod.resources == {"requests": {"cpu": "500m"}}
    assert pod.command[-4:] == ["--executor_input", "{{$}}", "--function_to_execute", "train"]


def test_the_kfp_sdk_keeps_the_platform_spec_when_it_reuses_the_pipeline(tmp_path: Path) -> None:
    from kfp import compiler, components, dsl

    path = tmp_path / "p.yaml"
    dagwright.compile(_one_step(JOB_LIKE), target="kfp", path=path)
    inner = components.load_component_from_file(str(path))

    @dsl.pipeline
    def outer():  # type: ignore[no-untyped-def]  # KFP reads "None" here as a type name
        inner(rows=3)

    out = tmp_path / "outer.yaml"
    compiler.Compiler().compile(outer, str(out))
    platform = _documents(out.read_text())[1]
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert executors["exec-train"]["nodeSelector"] == {"labels": {"pool": "gpu"}}


@pytest.mark.parametrize("name", ["branches", "loop_over_output", "nested", "options"])
def test_pipelines_without_runtimes_have_no_platform_spec(name: str) -> None:
    """(test_kfp_golden.py checks their bytes did not change.)"""
    ir = dagwright.api.to_ir(getattr(corpus, name))
    spec, platform = kfp_target.documents(ir)
    assert platform == {}
    assert len(_documents(kfp_target.to_yaml(spec, platform))) == 1


def test_a_runtime_with_no_fragments_changes_nothing() -> None:
    plain = dagwright.compile(_one_step(Pods()), target="kfp")
    platform = _documents(plain)[1]  # only the component's timeout=90 (and the bootstrap)
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert executors == {"exec-train": {"activeDeadlineSeconds": str(90 + BOOTSTRAP_SECONDS)}}


def test_the_smaller_of_timeout_and_the_runtimes_deadline_applies() -> None:
    platform = _documents(
        dagwright.compile(_one_step(Pods(pod={"activeDeadlineSeconds": 30})), target="kfp")
    )[1]
    config = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]
    assert config == {"activeDeadlineSeconds": "30"}
    assert parse_executor_config(config).active_deadline_seconds == 30


def test_a_launched_resource_keeps_its_timeout_in_the_launcher() -> None:
    """The launcher waits for the resource and deletes it on timeout; a pod deadline would
    kill it first and leave the resource running."""
    spec, *rest = _documents(dagwright.compile(_one_step(Widget()), target="kfp"))
    box = spec["deploymentSpec"]["executors"]["exec-train"]["container"]
    assert box["args"][box["args"].index("--timeout") + 1] == "90"
    assert all(
        "activeDeadlineSeconds" not in c
        for doc in rest
        for c in doc["platforms"]["kubernetes"]["deploymentSpec"]["executors"].values()
    )


@pytest.mark.parametrize(
    ("runtime", "field", "words"),
    [
        (Pods(pod={"serviceAccountName": "trainer"}), "service_account", "service_account="),
        (Pods(container={"envFrom": [{"secretRef": {"name": "s"}}]}), "envFrom", "key by key"),
        # node affinity is carried (nodeAffinity terms); pod (anti-)affinity is not
        (
            Pods(pod={"affinity": {"podAntiAffinity": {}}}),
            "affinity.podAntiAffinity",
            "no such field",
        ),
        (Pods(container={"workingDir": "/w"}), "workingDir", "container field"),
        (
            Pods(container={"resources": {"limits": {"example.com/fpga": "1"}}}),
            "resources.limits.example.com/fpga",
            "no resource",
        ),
        (
            Pods(pod={"tolerations": [{"key": "a", "tolerations": 1}]}),
            "tolerations.tolerations",
            "no such key",
        ),
        (
            Pods(container={"env": [{"name": "X", "valueFrom": {"resourceFieldRef": {}}}]}),
            "env X",
            "cannot set",
        ),
    ],
)
def test_settings_kfp_cannot_carry_are_refused_naming_task_and_field(
    runtime: RuntimeConfig, field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(_one_step(runtime), target="kfp")
    error = caught.value
    assert error.task == "train"
    assert error.field == field
    assert words in str(error)
    assert error.fix


def test_service_account_refusal_points_at_the_run() -> None:
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(_one_step(Pods(pod={"serviceAccountName": "trainer"})), target="kfp")
    assert "run_pipeline(service_account=...)" in str(caught.value.fix)


def _launcher_args(spec: dict[str, Any], label: str = "exec-train") -> tuple[list[str], list[str]]:
    box = spec["deploymentSpec"]["executors"][label]["container"]
    return box["command"], box["args"]


def _arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_a_resource_runtime_becomes_a_launcher_pod() -> None:
    text = dagwright.compile(_one_step(Widget()), target="kfp")
    spec, platform = _documents(text)
    command, args = _launcher_args(spec)
    assert command[-3:] == ["python3", "-m", "dagwright.runtimes.launcher"]
    assert "kubernetes==" in command[2] and "dagwright==" in command[2]
    assert "kfp" not in command[2]  # the launcher runs no KFP executor
    assert _arg(args, "--success") == "status.state == DONE"
    assert _arg(args, "--failure") == "status.state in (FAILED, LOST)"
    assert _arg(args, "--timeout") == "90"
    assert _arg(args, "--executor-input") == "{{$}}"
    encoded = _arg(args, "--manifest")
    assert "{{" not in encoded  # KFP substitutes nothing inside the manifest
    manifest = json.loads(encoded)
    assert manifest["kind"] == "Widget" and manifest["metadata"]["name"] == "exec-train"
    # the resource's pods run the step's ordinary command, executor input placeholder and all
    assert manifest["spec"]["command"][-4:] == [
        "--executor_input",
        "{{$}}",
        "--function_to_execute",
        "train",
    ]
    assert {"name": "MODE", "value": "slow"} in manifest["spec"]["env"]
    config = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]
    assert config["fieldPathAsEnv"] == [
        {"name": ln.POD_NAME_ENV, "fieldPath": "metadata.name"},
        {"name": ln.POD_UID_ENV, "fieldPath": "metadata.uid"},
        {"name": ln.POD_NAMESPACE_ENV, "fieldPath": "metadata.namespace"},
    ]
    parse_executor_config(config)


def test_launcher_fills_the_run_ids_from_its_inputs(tmp_path: Path) -> None:
    """KFP's launcher (``backend/src/v2/component/launcher_v2.go``) fills no run placeholder
    in args, so the resource's step reads the run ids as input parameters, which the driver
    (``backend/src/v2/driver/resolve.go``) fills and the launcher pod substitutes."""
    from kfp import components

    path = tmp_path / "p.yaml"
    text = dagwright.compile(
        _one_step(Widget()), target="kfp", tracking_uri="http://mlflow:5000", path=path
    )
    spec = _documents(text)[0]
    _, args = _launcher_args(spec)
    assert "--placeholder" not in args  # nothing left for a backend that would not fill it
    manifest = json.loads(_arg(args, "--manifest"))
    inputs = {"dagwright-run": "run-7", "dagwright-task": "step", "dagwright-task-id": "41"}
    filled = ln.substitute(manifest, {"inputs": {"parameterValues": inputs}}, {})
    command = filled["spec"]["command"]
    assert _arg(command, "--dagwright-run") == "run-7"
    assert _arg(command, "--dagwright-task") == "step@41"
    task_inputs = spec["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"]
    assert task_inputs["dagwright-run"] == {"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}}
    components.load_component_from_file(str(path))


@component(runtime=Widget(), image="registry.example/project:1")
def packaged(rows: int) -> None:
    print(rows)


@pipeline
def packaged_pipeline() -> None:
    packaged(rows=1)


def test_image_delivery_launcher_installs_nothing() -> None:
    spec = _documents(dagwright.compile(packaged_pipeline, target="kfp", code="image"))[0]
    command, _ = _launcher_args(spec, "exec-packaged")
    assert command == ["python3", "-m", "dagwright.runtimes.launcher"]
    box = spec["deploymentSpec"]["executors"]["exec-packaged"]["container"]
    assert box["image"] == "registry.example/project:1"


@component(runtime=Widget())
def counts(rows: int) -> int:
    return rows


@component(runtime=Widget())
def reads(data: Input[Dataset]) -> None:
    print(data)


@component(runtime=Widget())
def writes(rows: int, out: Output[Dataset]) -> None:
    print(rows, out)


@component
def plain_writer(out: Output[Dataset]) -> None:
    Path(out.path).write_text("x")


@pipeline
def counting() -> None:
    counts(rows=1)


@pipeline
def reading() -> None:
    reads(data=plain_writer().outputs["out"])


@pipeline
def writing() -> None:
    writes(rows=1)


@pytest.mark.parametrize(
    ("pipe", "task", "field_name"),
    [(counting, "counts", "output"), (reading, "reads", "data"), (writing, "writes", "out")],
)
def test_resource_steps_take_parameters_only_and_make_no_outputs(
    pipe: Any, task: str, field_name: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(pipe, target="kfp")
    assert caught.value.task == task
    assert caught.value.field == field_name
    assert "use runtime=Job()" in str(caught.value.fix)


@pytest.mark.parametrize("bad", ["status.state >= 3", "status.n > 1.5", "a in (b", "a == b c"])
def test_a_bad_condition_never_leaves_the_compiler(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(_one_step(Widget(success=bad)), target="kfp")
    assert caught.value.field == "success_condition"


# the runtimes dagwright ships


@component(
    runtime=Job(
        image="registry.example/train:2",
        cpu="1",
        memory_limit="2Gi",
        node_selector={"pool": "cpu"},
        tolerations=[{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
        env={"STAGE": "prod"},
    )
)
def job_step(rows: int) -> None:
    print(rows)


@pipeline
def job_pipeline(rows: int = 1) -> None:
    job_step(rows=rows)


def test_a_job_step_compiles_with_pod_fields_in_the_platform_spec(tmp_path: Path) -> None:
    from kfp import components

    path = tmp_path / "job.yaml"
    spec, platform = _documents(dagwright.compile(job_pipeline, target="kfp", path=path))
    box = spec["deploymentSpec"]["executors"]["exec-job-step"]["container"]
    assert box["image"] == "registry.example/train:2"
    assert {"name": "STAGE", "value": "prod"} in box["env"]
    assert box["resources"]["resourceCpuRequest"] == "1"
    assert box["resources"]["resourceMemoryLimit"] == "2Gi"
    config = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-job-step"]
    assert config == {
        "nodeSelector": {"labels": {"pool": "cpu"}},
        "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
    }
    parse_executor_config(config)
    components.load_component_from_file(str(path))


@pytest.mark.parametrize(
    ("job", "field_name"),
    [(Job(service_account="trainer"), "service_account"), (Job(secrets=["creds"]), "secrets")],
)
def test_job_settings_kfp_has_no_form_for_are_refused(job: Job, field_name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        dagwright.compile(_one_step(job), target="kfp")
    assert caught.value.field == field_name
    assert caught.value.task == "train"
    assert "--target argo" in str(caught.value.fix)


@component(runtime=Spark(executors=2))
def spark_step(rows: int, spark: Any) -> None:
    print(rows, spark)


@component(runtime=Horovod(np=2))
def horovod_step(epochs: int) -> None:
    print(epochs)


@pipeline
def scaled(rows: int = 3) -> None:
    spark_step(rows=rows)
    horovod_step(epochs=rows)


@pytest.mark.parametrize(
    ("label", "kind", "schema"),
    [("exec-spark-step", "SparkApplication", crd.SPARK), ("exec-horovod-step", "MPIJob", crd.MPI)],
)
def test_spark_and_horovod_steps_compile_to_launchers_of_valid_resources(
    label: str, kind: str, schema: str
) -> None:
    """Checked against the operators' CRD schemas, before and after the launcher fills the
    executor input in (no operator runs here)."""
    spec, platform = _documents(dagwright.compile(scaled, target="kfp"))
    command, args = _launcher_args(spec, label)
    assert command[-1] == "dagwright.runtimes.launcher"
    manifest = json.loads(_arg(args, "--manifest"))
    assert manifest["kind"] == kind
    crd.validate(manifest, schema)
    assert parse_condition(_arg(args, "--success"), "success_condition")
    executor_input = {"inputs": {"parameterValues": {"rows": 3, "epochs": 3}}, "outputs": {}}
    crd.validate(ln.substitute(manifest, executor_input, {}), schema)
    assert label in platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


@component(runtime=Dask(workers=2))
def dask_step(rows: int) -> None:
    print(rows)


@pipeline
def clustered(rows: int = 3) -> None:
    dask_step(rows=rows)
    horovod_step(epochs=rows)


def test_resources_refer_to_the_name_the_launcher_gives_them() -> None:
    """The launcher renames each resource per pod; the DaskJob's scheduler Service must still
    select its own scheduler (by the label the operator copies from scheduler.metadata), and
    the MPIJob's ranks find rank 0 through the operator's hostfile, not a compile-time name."""
    spec, _ = _documents(dagwright.compile(clustered, target="kfp"))
    owners = [{"name": "pod-a", "uid": "aaaaaaaa-1"}, {"name": "pod-b", "uid": "bbbbbbbb-2"}]
    _, args = _launcher_args(spec, "exec-dask-step")
    compiled = json.loads(_arg(args, "--manifest"))
    jobs = [ln.named(compiled, "ns", owner) for owner in owners]
    names = [job["metadata"]["name"] for job in jobs]
    assert len(set(names)) == 2  # two iterations or tasks of one executor: two DaskJobs
    for job, name in zip(jobs, names, strict=True):
        scheduler = job["spec"]["cluster"]["spec"]["scheduler"]
        assert scheduler["service"]["selector"]["dagwright.io/instance"] == name
        assert scheduler["metadata"]["labels"]["dagwright.io/instance"] == name
        assert "$(DAGWRIGHT_INSTANCE)" not in json.dumps(job)
    _, args = _launcher_args(spec, "exec-horovod-step")
    mpi = ln.named(json.loads(_arg(args, "--manifest")), "ns", owners[0])
    command = mpi["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    assert "MASTER_ADDR" in command["command"]
    assert "worker-0" not in json.dumps(mpi)  # no worker name fixed before the launcher's rename
    crd.validate(mpi, crd.MPI)


@component(runtime=Nuclio())
def greeter(context: Any, event: Any, name: str) -> str:
    return "hello " + name


@pipeline
def serving(name: str = "you") -> None:
    greeter(name=name)


def test_a_serving_step_stays_a_pod_that_deploys_and_outputs_its_url() -> None:
    documents = _documents(dagwright.compile(serving, target="kfp"))
    assert len(documents) == 1  # no launcher, no platform spec
    command, args = _launcher_args(documents[0], "exec-greeter")
    assert "dagwright.runtimes.launcher" not in command
    assert args[-2:] == ["--function_to_execute", "greeter"]


@pytest.mark.parametrize("asked", [True, False, None])
def test_secret_optional_is_written_only_when_asked(asked: bool | None) -> None:
    """kfp-kubernetes' ``optional`` on secretAsEnv/configMapAsEnv is known only to backends
    from 2025-09 on (older drivers parse the platform spec strictly), so it is written only
    when a reference asks for it; ``false`` is what every backend does without it."""
    ref: dict[str, Any] = {"name": "creds", "key": "token"}
    if asked is not None:
        ref["optional"] = asked
    pods = Pods(
        container={
            "env": [
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": ref}},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": dict(ref, name="conf")}},
            ]
        }
    )
    _, platform = _documents(dagwright.compile(_one_step(pods), target="kfp"))
    config = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]
    for kind in ("secretAsEnv", "configMapAsEnv"):
        (item,) = config[kind]
        assert item.get("optional") == (True if asked else None)
    parse_executor_config(config)


def test_the_check_finds_an_unasked_optional_false() -> None:
    spec = _documents(dagwright.compile(_one_step(JOB_LIKE), target="kfp"))[0]
    executor = {"secretAsEnv": [{"secretName": "creds", "keyToEnv": [], "optional": False}]}
    platform = {
        "platforms": {"kubernetes": {"deploymentSpec": {"executors": {"exec-x": executor}}}}
    }
    assert problems(spec, platform) == [
        "exec-x: secretAsEnv optional: false is written unasked; backends before 2025-09 refuse "
        "the field"
    ]
