"""The Job runtime: a real subprocess locally, pod fields on a target.

No Kubernetes API server runs here: the pod fields are checked against the ``kubernetes``
client's models (field names and types) and the API server's rules for tolerations, labels
and requests against limits, as written in Kubernetes' validation; the local face runs each
step in a real ``python -m dagwright.executor`` subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

import dagwright
from dagwright import component, pipeline
from dagwright.errors import ValidationError
from dagwright.runtimes import Fragments, Job, PodStep, runtime_for
from dagwright.runtimes.job import JobRuntime
from dagwright.runtimes.kube import build

POD = PodStep(
    name="train",
    image="python:3.11-slim",
    command=["python3", "-m", "dagwright.compiler.argo.entry", "--param", "x=1"],
    env={"STEP_OWN": "yes"},
    resources={"requests": {"cpu": "500m"}, "limits": {"nvidia.com/gpu": "1"}},
)


def fragments(**fields: Any) -> Fragments:
    config = Job(**fields)
    return runtime_for(config).fragments(config, POD)


def test_the_config_names_this_runtime() -> None:
    assert isinstance(runtime_for(Job()), JobRuntime)


def test_an_empty_job_adds_nothing() -> None:
    assert fragments() == Fragments()


def test_every_field_becomes_its_container_or_pod_field() -> None:
    got = fragments(
        image="registry.example/train:1.2",
        cpu="1",
        memory="1Gi",
        cpu_limit="2",
        memory_limit="2Gi",
        node_selector={"pool": "gpu", "kubernetes.io/arch": "amd64"},
        tolerations=[
            {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
            {
                "key": "spot",
                "operator": "Equal",
                "value": "true",
                "effect": "NoExecute",
                "tolerationSeconds": 60,
            },
        ],
        service_account="trainer",
        env={"MODE": "fast"},
        secrets=["db-creds", "s3-creds"],
    )
    assert got.container == {
        "image": "registry.example/train:1.2",
        "env": [{"name": "MODE", "value": "fast"}],
        "envFrom": [{"secretRef": {"name": "db-creds"}}, {"secretRef": {"name": "s3-creds"}}],
        # the step's own GPU limit stays; the Job's quantities replace or join the rest
        "resources": {
            "requests": {"cpu": "1", "memory": "1Gi"},
            "limits": {"nvidia.com/gpu": "1", "cpu": "2", "memory": "2Gi"},
        },
    }
    assert got.pod == {
        "nodeSelector": {"pool": "gpu", "kubernetes.io/arch": "amd64"},
        "tolerations": [
            {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
            {
                "key": "spot",
                "operator": "Equal",
                "value": "true",
                "effect": "NoExecute",
                "tolerationSeconds": 60,
            },
        ],
        "serviceAccountName": "trainer",
    }
    assert got.resource is None


def test_a_limit_alone_keeps_the_steps_requests() -> None:
    got = fragments(memory_limit="4Gi")
    assert got.container == {
        "resources": {
            "requests": {"cpu": "500m"},
            "limits": {"nvidia.com/gpu": "1", "memory": "4Gi"},
        }
    }


@pytest.mark.parametrize(
    ("toleration", "field", "fix"),
    [
        ({"key": "gpu", "effect": "NoLunch"}, "tolerations[0].effect", "NoSchedule"),
        ({"key": "gpu", "operator": "Maybe"}, "tolerations[0].operator", "'Exists'"),
        ({"key": "gpu", "colour": "red"}, "tolerations[0].colour", "tolerationSeconds"),
        ({"key": 7}, "tolerations[0].key", "of type str"),
        (
            {"key": "gpu", "effect": "NoExecute", "tolerationSeconds": "60"},
            "tolerations[0].tolerationSeconds",
            "of type int",
        ),
        (
            {"key": "gpu", "effect": "NoExecute", "tolerationSeconds": True},
            "tolerations[0].tolerationSeconds",
            "of type int",
        ),
        (
            {"key": "gpu", "effect": "NoSchedule", "tolerationSeconds": 60},
            "tolerations[0].tolerationSeconds",
            "effect='NoExecute'",
        ),
        ({"key": "gpu", "operator": "Exists", "value": "x"}, "tolerations[0].value", "drop"),
        ({"operator": "Equal", "value": "x"}, "tolerations[0].operator", "operator='Exists'"),
        ({"key": "bad key!"}, "tolerations[0].key", "label key"),
        ({"key": "Bad_Prefix/gpu"}, "tolerations[0].key", "label key"),
        ({"key": "gpu", "value": "not a label value"}, "tolerations[0].value", "label value"),
    ],
)
def test_a_bad_toleration_is_refused_naming_its_field(
    toleration: dict[str, Any], field: str, fix: str
) -> None:
    with pytest.raises(ValidationError) as info:
        fragments(tolerations=[toleration])
    assert info.value.field == field
    assert info.value.fix is not None and fix in info.value.fix


def test_the_second_bad_toleration_is_named_by_its_index() -> None:
    good = {"key": "gpu", "operator": "Exists"}
    with pytest.raises(ValidationError) as info:
        fragments(tolerations=[good, {"key": "gpu", "effect": "Never"}])
    assert info.value.field == "tolerations[1].effect"


def test_a_toleration_of_every_taint_is_accepted() -> None:
    assert fragments(tolerations=[{"operator": "Exists"}]).pod == {
        "tolerations": [{"operator": "Exists"}]
    }


@pytest.mark.parametrize(
    ("selector", "problem"),
    [
        ({"bad key": "x"}, "is not a label key"),
        ({"pool": "two words"}, "is not a label value"),
        ({"pool": "x" * 64}, "is not a label value"),
        ({"UPPER.example/pool": "x"}, "prefix that is not a DNS subdomain"),
    ],
)
def test_a_bad_node_selector_is_refused(selector: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as info:
        fragments(node_selector=selector)
    assert info.value.field == f"node_selector[{next(iter(selector))!r}]"


def test_a_request_above_its_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="above its limit") as info:
        fragments(memory="4Gi", memory_limit="2Gi")
    assert info.value.field == "memory_limit"
    # the step's own request (500m) against the Job's limit
    with pytest.raises(ValidationError, match="cpu request 500m is above its limit 100m") as info:
        fragments(cpu_limit="100m")
    assert info.value.field == "cpu_limit"


def test_bad_config_values_are_refused_when_made() -> None:
    with pytest.raises(ValidationError) as info:
        Job(cpu="lots")
    assert info.value.field == "cpu"
    with pytest.raises(ValidationError) as info:
        Job(secrets=["Not_A_Name"])
    assert info.value.field == "secrets"
    with pytest.raises(ValidationError) as info:
        Job(tolerations={"key": "gpu"})  # type: ignore[arg-type]
    assert info.value.field == "tolerations"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"tolerations": [{"operator": "Bogus"}]}, "tolerations[0].operator"),
        ({"node_selector": {"bad key!": "x"}}, "node_selector['bad key!']"),
        (
            {"tolerations": [{"key": "a", "operator": "Exists", "tolerationSeconds": 5}]},
            "tolerations[0].tolerationSeconds",
        ),
        ({"tolerations": [{"key": "gpu", "colour": "red"}]}, "tolerations[0].colour"),
    ],
)
def test_tolerations_and_labels_are_refused_when_the_job_is_made(
    settings: dict[str, Any], field: str
) -> None:
    """Not only when a target compiles it: ``Job(...)`` itself refuses, naming the field."""
    with pytest.raises(ValidationError) as info:
        Job(**settings)
    assert info.value.field == field and info.value.fix


def test_making_a_job_imports_no_kubernetes_client() -> None:
    code = (
        "import sys; from dagwright.runtimes import Job; "
        "Job(tolerations=[{'key': 'gpu', 'operator': 'Exists', 'tolerationSeconds': 1, "
        "'effect': 'NoExecute'}], node_selector={'pool': 'gpu'}); "
        "print('kubernetes' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "False\n"


def test_the_model_walk_refuses_what_the_clients_deserializer_lets_through() -> None:
    """The client's models hold what the walk built; what they would silently accept is not."""
    from kubernetes import client

    built = build(
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        "V1EnvVar",
        "env[0]",
    )
    assert isinstance(built, client.V1EnvVar)
    assert built.value_from.secret_key_ref.key == "k"
    with pytest.raises(ValidationError, match="has no field 'valu'") as info:
        build({"name": "A", "valu": "1"}, "V1EnvVar", "env[0]")
    assert info.value.field == "env[0].valu"
    with pytest.raises(ValidationError, match="must not be `None`") as info:
        build({"value": "1"}, "V1EnvVar", "env[0]")
    assert info.value.field == "env[0]"
    with pytest.raises(ValidationError) as info:
        build({"containers": "main"}, "V1PodSpec", "")
    assert info.value.field == "containers"


def test_in_pod_hands_over_nothing() -> None:
    with JobRuntime().in_pod(Job()) as provided:
        assert provided == {}


@component(
    env={"STEP_OWN": "component", "COMPONENT_ONLY": "kept"},
    runtime=Job(env={"JOB_MODE": "fast", "STEP_OWN": "job"}, secrets=["db-creds"]),
)
def job_env(marker: str) -> dict:
    import os as inner_os

    return {
        "mode": inner_os.environ.get("JOB_MODE"),
        "own": inner_os.environ.get("STEP_OWN"),
        "component": inner_os.environ.get("COMPONENT_ONLY"),
        "pid": inner_os.getpid(),
        "marker": marker,
    }


@pipeline
def job_pipeline(marker: str = "m1"):
    return job_env(marker=marker)


def test_a_job_step_runs_in_a_subprocess_with_its_env(tmp_path: Any) -> None:
    """The step's function reads os.environ in its own process: the Job's env over the
    component's (as the Job's entries follow the component's in a compiled container). The
    Secret is not resolvable here, so its keys are simply absent and the step still runs."""
    result = dagwright.run(job_pipeline, root=tmp_path, echo=False, raise_on_error=True)
    out = result.outputs["output"]
    assert out["mode"] == "fast" and out["own"] == "job" and out["marker"] == "m1"
    assert out["component"] == "kept"
    assert out["pid"] != os.getpid()
    assert "JOB_MODE" not in os.environ  # the env went to the child only
