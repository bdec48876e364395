"""Runtimes on the Argo target: a Job's pod fields on its template, a resource runtime's
custom resource as a resource template.

No Argo controller, Kubernetes API server or operator runs here. Every compiled Workflow is
checked by the compiler against Argo's own JSON schema plus its strict unknown-key check (and
here against the upstream schema file as well); emitted SparkApplications and MPIJobs against
the operators' CRD schemas (``dagwright.runtimes.crd``). The controller stand-in
(``argo_controller.py``) runs container templates as local subprocesses and, asked to, records
what a resource template would create after Argo's placeholder substitution.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
import yaml
from argo_controller import ArgoControllerStandIn, ResourceTemplateError

import dagwright
from dagwright import Dataset, Input, Output, ParallelFor, component, pipeline
from dagwright.compiler.argo.runtimes import generate_name, manifest_text
from dagwright.compiler.argo.validate import SCHEMA
from dagwright.errors import ValidationError
from dagwright.runtimes import Fragments, Job, PodStep, RuntimeConfig, register_runtime

pytest.importorskip("hera")
# Argo v4.1.2's schema as shipped (verbatim) in the package
UPSTREAM_SCHEMA = json.loads(gzip.decompress(SCHEMA.read_bytes()))


def compiled(p: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(dagwright.compile(p, target="argo"))
    jsonschema.Draft202012Validator(UPSTREAM_SCHEMA).validate(data)
    return data


def template(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in spec["spec"]["templates"] if t["name"] == name)


# a Job step


@component(
    cpu="250m",
    gpu=1,
    env={"STEP_OWN": "component"},
    runtime=Job(
        image="registry.example/train:1.2",
        cpu="1",
        memory_limit="2Gi",
        node_selector={"pool": "gpu"},
        tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        service_account="trainer",
        env={"JOB_MODE": "fast"},
        secrets=["db-creds"],
    ),
)
def job_train(rate: float) -> str:
    import os

    return f"{os.environ.get('JOB_MODE')}/{os.environ.get('STEP_OWN')}/{rate}"


@pipeline
def job_pipeline(rate: float = 0.5):
    return job_train(rate=rate)


def test_a_job_steps_template_carries_its_pod_fields() -> None:
    box = template(compiled(job_pipeline), "job-train")
    assert box["nodeSelector"] == {"pool": "gpu"}
    assert box["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert box["serviceAccountName"] == "trainer"
    container = box["container"]
    assert container["image"] == "registry.example/train:1.2"
    assert container["envFrom"] == [{"secretRef": {"name": "db-creds"}}]
    # the component's env first, the Job's after it
    assert container["env"] == [
        {"name": "STEP_OWN", "value": "component"},
        {"name": "JOB_MODE", "value": "fast"},
    ]
    # the Job's request replaces the component's; the component's GPU limit stays
    assert container["resources"] == {
        "requests": {"cpu": "1"},
        "limits": {"nvidia.com/gpu": "1", "memory": "2Gi"},
    }
    assert "podSpecPatch" not in box


def test_a_job_step_run_by_the_stand_in_sees_the_jobs_env(tmp_path: Path) -> None:
    """The stand-in runs the container template's command with its env, as a pod would."""
    spec = compiled(job_pipeline)
    node = ArgoControllerStandIn(spec, tmp_path).run({"rate": "0.25"})
    assert node.phase == "Succeeded"
    assert node.params["output"] == "fast/component/0.25"


def test_a_bad_toleration_is_refused_before_it_reaches_the_compiler() -> None:
    with pytest.raises(ValidationError, match="is not a taint effect") as info:
        Job(tolerations=[{"key": "gpu", "effect": "Sometimes"}])
    assert info.value.field == "tolerations[0].effect"


# a third-party runtime: its own config class and runtime, through the public registry


@dataclass(frozen=True)
class Batch(RuntimeConfig):
    """Runs the step as a Kubernetes batch Job resource (a stand-in for an operator's CRD)."""

    kind: ClassVar[str] = "test-argo-batch"
    parallelism: int = 2


class BatchRuntime:
    def run(self, step: Any, timeout: float | None, session: Any) -> Any:
        raise NotImplementedError("compiled only in these tests")

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        assert isinstance(config, Batch)
        box = {"name": "main", "image": pod.image, "command": pod.command}
        if pod.env:
            box["env"] = [{"name": k, "value": v} for k, v in pod.env.items()]
        return Fragments(
            resource={
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": pod.name, "labels": {"team": "data"}},
                "spec": {
                    "parallelism": config.parallelism,
                    "template": {"spec": {"restartPolicy": "Never", "containers": [box]}},
                },
            },
            success_condition="status.succeeded > 0",
            failure_condition="status.failed > 0",
        )

    def in_pod(self, config: RuntimeConfig) -> contextlib.AbstractContextManager[dict[str, Any]]:
        return contextlib.nullcontext({})


register_runtime(Batch, BatchRuntime())


@component
def make_path(word: str) -> str:
    return f"s3://bucket/{word}"


@component(runtime=Batch(parallelism=3), env={"LEVEL": "debug"})
def crunch(path: str, repeats: int = 2) -> None:
    print(path * repeats)


@pipeline
def batch_pipeline(word: str = "data"):
    crunch(path=make_path(word=word).output)


def test_a_resource_runtime_makes_a_resource_template() -> None:
    spec = compiled(batch_pipeline)
    step = template(spec, "crunch")
    assert "container" not in step and "outputs" not in step
    # no dagwright-task: the step stores no artifact and records no lineage
    assert [p["name"] for p in step["inputs"]["parameters"]] == ["path", "repeats"]
    resource = step["resource"]
    assert resource["action"] == "create" and resource["setOwnerReference"] is True
    assert resource["successCondition"] == "status.succeeded > 0"
    assert resource["failureCondition"] == "status.failed > 0"
    manifest = yaml.safe_load(resource["manifest"])
    assert manifest["kind"] == "Job" and manifest["spec"]["parallelism"] == 3
    # a fresh name per run, iteration and retry; the runtime's other metadata kept
    assert manifest["metadata"] == {"generateName": "crunch-", "labels": {"team": "data"}}
    box = manifest["spec"]["template"]["spec"]["containers"][0]
    assert box["env"] == [{"name": "LEVEL", "value": "debug"}]
    command = box["command"]
    assert "path={{inputs.parameters.path}}" in command
    assert "repeats={{inputs.parameters.repeats}}" in command
    assert "--output-param" not in command
    # the plain steps around it stay container templates
    assert "container" in template(spec, "make-path")


def test_the_resource_manifest_survives_argos_substitution(tmp_path: Path) -> None:
    """Argo pastes parameter text into the manifest as it is; the stand-in does the same.
    The upstream step's real output (quotes, ': ', '#', leading spaces) arrives intact."""

    @component
    def awkward(word: str) -> str:
        return f'  it\'s "{word}": yes # not a comment'

    @pipeline
    def tricky(word: str = "data"):
        crunch(path=awkward(word=word).output, repeats=3)

    stand_in = ArgoControllerStandIn(compiled(tricky), tmp_path, record_resources=True)
    assert stand_in.run({"word": "x: {y}"}).phase == "Succeeded"
    assert stand_in.ran == ["awkward", "crunch"]
    [created] = stand_in.created
    command = created["spec"]["template"]["spec"]["containers"][0]["command"]
    assert 'path=  it\'s "x: {y}": yes # not a comment' in command
    assert "repeats=3" in command
    pod = command[command.index("--pod") + 1]
    assert pod.startswith("tricky-stand-in-crunch-")


def test_the_stand_in_refuses_a_resource_template_by_default(tmp_path: Path) -> None:
    stand_in = ArgoControllerStandIn(compiled(batch_pipeline), tmp_path)
    with pytest.raises(ResourceTemplateError, match="creates a Job; the stand-in has no"):
        stand_in.run()


@component(runtime=Batch())
def returns_value(path: str) -> int:
    return len(path)


@component(runtime=Batch())
def writes_artifact(path: str, out: Output[Dataset]) -> None:
    Path(out.path).write_text(path)


@component(runtime=Batch())
def reads_artifact(data: Input[Dataset]) -> None:
    print(Path(data.path).read_text())


@component
def produce(out: Output[Dataset]) -> None:
    Path(out.path).write_text("rows")


@pipeline
def returning():
    returns_value(path="s3://b/x")


@pipeline
def writing():
    writes_artifact(path="s3://b/x")


@pipeline
def reading():
    reads_artifact(data=produce().outputs["out"])


@pytest.mark.parametrize(
    ("p", "task", "field", "problem"),
    [
        (returning, "returns-value", "output output", "cannot hand a return value back"),
        (writing, "writes-artifact", "output out", "cannot hand an artifact output back"),
        (reading, "reads-artifact", "input data", "cannot receive the artifact input 'data'"),
    ],
)
def test_a_resource_step_with_outputs_or_artifact_inputs_is_refused(
    p: Any, task: str, field: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem) as info:
        dagwright.compile(p, target="argo")
    assert info.value.task == task
    assert info.value.field == field
    assert info.value.fix == "pass data locations as str parameters, or use runtime=Job()"


# what a runtime may return, and what is refused as the runtime's bug


@dataclass(frozen=True)
class Odd(RuntimeConfig):
    kind: ClassVar[str] = "test-argo-odd"
    container: tuple[tuple[str, Any], ...] = ()
    pod: tuple[tuple[str, Any], ...] = ()
    resource: bool = False


class OddRuntime:
    def run(self, step: Any, timeout: float | None, session: Any) -> Any:
        raise NotImplementedError

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        assert isinstance(config, Odd)
        made = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": pod.name}}
        return Fragments(
            container=dict(config.container),
            pod=dict(config.pod),
            resource=made if config.resource else None,
        )

    def in_pod(self, config: RuntimeConfig) -> contextlib.AbstractContextManager[dict[str, Any]]:
        return contextlib.nullcontext({})


register_runtime(Odd, OddRuntime())


def _with(config: RuntimeConfig) -> Any:
    @component(name="odd", runtime=config)
    def odd() -> None:
        pass

    @pipeline(name="odd-pipeline")
    def odd_pipeline():
        odd()

    return odd_pipeline


def test_a_pod_field_argo_templates_lack_goes_into_the_pod_spec_patch() -> None:
    config = Odd(pod=(("runtimeClassName", "gvisor"), ("priorityClassName", "high")))
    step = template(compiled(_with(config)), "odd")
    assert step["priorityClassName"] == "high"
    assert json.loads(step["podSpecPatch"]) == {"runtimeClassName": "gvisor"}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (Odd(container=(("imagePulPolicy", "Always"),)), "container field 'imagePulPolicy'"),
        (Odd(pod=(("nodeSelecter", {"a": "b"}),)), "pod field 'nodeSelecter'"),
        (Odd(resource=True), "bad success_condition"),
    ],
)
def test_a_runtimes_bad_fragment_is_refused(config: RuntimeConfig, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as info:
        dagwright.compile(_with(config), target="argo")
    assert info.value.field == "runtime"


def test_a_runtime_config_without_a_runtime_is_refused() -> None:
    @dataclass(frozen=True)
    class Unserved(RuntimeConfig):
        kind: ClassVar[str] = "test-argo-unserved"

    with pytest.raises(ValidationError, match="no runtime registered") as info:
        dagwright.compile(_with(Unserved()), target="argo")
    assert info.value.field == "runtime"
    assert info.value.fix is not None and "register_runtime" in info.value.fix


# the manifest text and name on their own


@pytest.mark.parametrize(
    "value", ["plain", '  "quoted": yes # no comment', "'single'", "[1, 2]", "a\\b", "- dash", ""]
)
def test_any_one_line_value_pasted_into_the_manifest_parses_back(value: str) -> None:
    text = manifest_text({"args": ["x={{inputs.parameters.x}}", "{{inputs.parameters.x}}"]})
    pasted = text.replace("{{inputs.parameters.x}}", value)
    assert yaml.safe_load(pasted) == {"args": [f"x={value}", value]}


def test_generated_names_are_short_dns_labels_starting_with_a_letter() -> None:
    assert generate_name("crunch") == "crunch-"
    assert generate_name("7-up") == "s-7-up-"
    long = generate_name("a" * 30 + "-" + "b" * 30)
    assert long == "a" * 30 + "-bbb-" and len(long) + 5 <= 40


# the scale-out runtimes written beside this one


@pytest.mark.skipif(
    importlib.util.find_spec("dagwright.runtimes.spark") is None
    or importlib.util.find_spec("dagwright.runtimes.horovod") is None,
    reason="the Spark and Horovod runtimes are not there yet",
)
def test_spark_and_horovod_steps_become_resources_their_operators_accept() -> None:
    from dagwright.runtimes import Horovod, Spark, crd

    @component(runtime=Spark(executors=3))
    def aggregate(table: str, spark: Any = None) -> None:
        spark.read.parquet(table).count()

    @component(runtime=Horovod(np=4))
    def fit(table: str, epochs: int = 2) -> None:
        print(table, epochs)

    @pipeline(name="scale-out")
    def scale_out(table: str = "s3://bucket/table"):
        aggregate(table=table)
        fit(table=table)

    spec = compiled(scale_out)
    kinds = {}
    for name, schema in (("aggregate", crd.SPARK), ("fit", crd.MPI)):
        resource = template(spec, name)["resource"]
        manifest = yaml.safe_load(resource["manifest"])
        crd.validate(manifest, schema)
        kinds[name] = manifest["kind"]
        assert manifest["metadata"]["generateName"] == f"{name}-"
        assert resource["successCondition"] and resource["failureCondition"]
        assert "table={{inputs.parameters.table}}" in resource["manifest"]
    assert kinds == {"aggregate": "SparkApplication", "fit": "MPIJob"}


def test_resources_refer_to_the_name_argo_generates_for_them(tmp_path: Path) -> None:
    """Argo creates each resource under generateName; the DaskJob's scheduler Service selects
    its scheduler by a label (copied by the operator from scheduler.metadata) holding the
    resource template's pod name, unique per node and retry; the MPIJob finds rank 0 through
    the operator's hostfile. The stand-in substitutes as Argo does, twice, in a loop."""
    from dagwright.runtimes import Dask, Horovod

    @component(runtime=Dask(workers=2))
    def shard(part: int) -> None:
        print(part)

    @component(runtime=Horovod(np=2))
    def fit(epochs: int) -> None:
        print(epochs)

    @pipeline(name="named")
    def named(epochs: int = 2):
        with ParallelFor([1, 2]) as part:
            shard(part=part)
        fit(epochs=epochs)

    stand_in = ArgoControllerStandIn(compiled(named), tmp_path, record_resources=True)
    assert stand_in.run().phase == "Succeeded"
    jobs = [c for c in stand_in.created if c["kind"] == "DaskJob"]
    assert len(jobs) == 2
    instances = set()
    for job in jobs:
        assert job["metadata"]["generateName"] == "shard-"
        scheduler = job["spec"]["cluster"]["spec"]["scheduler"]
        value = scheduler["service"]["selector"]["dagwright.io/instance"]
        assert scheduler["metadata"]["labels"]["dagwright.io/instance"] == value
        assert value.startswith("named-stand-in-shard-")
        instances.add(value)
    assert len(instances) == 2  # each iteration's Service selects its own scheduler only
    [mpi] = [c for c in stand_in.created if c["kind"] == "MPIJob"]
    assert "worker-0" not in json.dumps(mpi)


@pytest.mark.skipif(
    importlib.util.find_spec("dagwright.runtimes.nuclio") is None,
    reason="the Nuclio runtime is not there yet",
)
def test_a_serving_step_stays_a_container_that_outputs_its_url() -> None:
    """Nuclio's fragments carry the NuclioFunction, but the step's own pod deploys it."""
    from dagwright.runtimes import Nuclio

    @component(runtime=Nuclio())
    def answer(context: Any, event: Any) -> str:
        return "hi"

    @pipeline(name="serving")
    def serving():
        return answer()

    step = template(compiled(serving), "answer")
    assert "resource" not in step and "container" in step
    assert [p["name"] for p in step["outputs"]["parameters"]] == ["output"]
