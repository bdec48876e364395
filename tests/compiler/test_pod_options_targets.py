"""A component's pod options on both cluster targets: Argo's pod spec fields (checked against
Argo's upstream JSON schema) and kfp-kubernetes' platform spec (parsed against the messages of
its proto, and read back by the KFP SDK's loader). No Secret value is ever in a spec."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from google.protobuf import json_format
from kfp_platform_proto import parse_executor_config

import dagwright
from dagwright import (
    ConfigMapEnv,
    NodeAffinity,
    Secret,
    ValidationError,
    Volume,
    component,
    pipeline,
)
from dagwright.compiler.argo.validate import SCHEMA
from dagwright.runtimes import Spark

pytest.importorskip("hera")
pytest.importorskip("kfp")

DELIVERY = {"dagwright": "dagwright==0.1.0"}  # a release the pods install (this is a checkout)
SECRET = "never-in-a-spec-4d9a71"


@component(
    volumes=[
        Volume.pvc("data", "/data"),
        Volume.empty_dir("/scratch", medium="Memory", size_limit="1Gi"),
        Volume.config_map("settings", "/etc/settings"),
        Volume.secret("tls", "/etc/tls", optional=True),
    ],
    secrets=[Secret("db", "password", env="DB_PASSWORD")],
    config_maps=[ConfigMapEnv("settings", "mode", env="MODE")],
    env={"PLAIN": "yes"},
    node_selector={"pool": "gpu"},
    affinity=[NodeAffinity("zone", "In", ("a", "b")), NodeAffinity("ssd", "Exists", weight=5)],
    image_pull_secrets=["registry-creds"],
    labels={"team": "ml"},
    annotations={"example.com/owner": "ana"},
)
def train(rate: float) -> float:
    return rate


@component
def report(x: float) -> float:
    return x


@pipeline
def pods(rate: float = 0.5) -> float:
    first = train(rate=rate)
    # a task's own settings, as kfp-kubernetes' helpers name them
    return report(x=first.output).mount_pvc("data", "/data").add_pod_label("step", "report").output


def _argo(p: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(dagwright.compile(p, target="argo", **DELIVERY))
    upstream = json.loads(gzip.decompress(SCHEMA.read_bytes()))
    jsonschema.Draft202012Validator(upstream).validate(data)
    return data


def _kfp(p: Any, path: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    text = dagwright.compile(p, target="kfp", path=path, **DELIVERY)
    spec, *rest = list(yaml.safe_load_all(text))
    return spec, (rest[0] if rest else {})


def _template(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in data["spec"]["templates"] if t["name"] == name)


def test_argo_templates_carry_the_pod_fields() -> None:
    box = _template(_argo(pods), "train")
    env = {e["name"]: e for e in box["container"]["env"]}
    assert env["PLAIN"] == {"name": "PLAIN", "value": "yes"}
    assert env["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"key": "password", "name": "db"}}
    assert env["MODE"]["valueFrom"] == {"configMapKeyRef": {"key": "mode", "name": "settings"}}
    mounts = {m["mountPath"]: m["name"] for m in box["container"]["volumeMounts"]}
    volumes = {v["name"]: v for v in box["volumes"]}
    assert set(mounts.values()) == set(volumes)
    assert volumes[mounts["/data"]]["persistentVolumeClaim"] == {"claimName": "data"}
    assert volumes[mounts["/scratch"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Gi"}
    assert volumes[mounts["/etc/settings"]]["configMap"] == {"name": "settings"}
    assert volumes[mounts["/etc/tls"]]["secret"] == {"secretName": "tls", "optional": True}
    assert box["nodeSelector"] == {"pool": "gpu"}
    node = box["affinity"]["nodeAffinity"]
    assert node["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
    ]
    assert node["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] == 5
    assert box["metadata"] == {
        "labels": {"team": "ml"},
        "annotations": {"example.com/owner": "ana"},
    }
    # a template has no imagePullSecrets of its own: the pod spec patch carries them
    assert json.loads(box["podSpecPatch"]) == {"imagePullSecrets": [{"name": "registry-creds"}]}
    # the task's variant of its component: a template of its own, named after its digest
    cid = pods.ir.task("report").component
    other = _template(_argo(pods), cid)
    assert other["metadata"] == {"labels": {"step": "report"}}
    assert [v["persistentVolumeClaim"]["claimName"] for v in other["volumes"]] == ["data"]


def _named(name: str) -> dict[str, Any]:
    """A name as kfp-kubernetes >= 1.4 writes it beside the deprecated field: a constant."""
    return {"runtimeValue": {"constant": name}}


def test_kfp_platform_spec_carries_the_pod_fields(tmp_path: Path) -> None:
    from kfp import components

    path = tmp_path / "p.yaml"
    spec, platform = _kfp(pods, path)
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    config = executors["exec-train"]
    assert config["secretAsEnv"] == [
        {
            "secretName": "db",
            "secretNameParameter": _named("db"),
            "keyToEnv": [{"secretKey": "password", "envVar": "DB_PASSWORD"}],
        }
    ]
    assert config["configMapAsEnv"] == [
        {
            "configMapName": "settings",
            "configMapNameParameter": _named("settings"),
            "keyToEnv": [{"configMapKey": "mode", "envVar": "MODE"}],
        }
    ]
    assert config["pvcMount"] == [
        {"constant": "data", "pvcNameParameter": _named("data"), "mountPath": "/data"}
    ]
    assert config["emptyDirMounts"] == [
        {
            "volumeName": "empty-dir-scratch",
            "mountPath": "/scratch",
            "medium": "Memory",
            "sizeLimit": "1Gi",
        }
    ]
    assert config["configMapAsVolume"] == [
        {
            "configMapName": "settings",
            "configMapNameParameter": _named("settings"),
            "mountPath": "/etc/settings",
        }
    ]
    assert config["secretAsVolume"] == [
        {
            "secretName": "tls",
            "secretNameParameter": _named("tls"),
            "mountPath": "/etc/tls",
            "optional": True,
        }
    ]
    assert config["nodeSelector"] == {"labels": {"pool": "gpu"}}
    assert config["nodeAffinity"] == [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
        {"matchExpressions": [{"key": "ssd", "operator": "Exists"}], "weight": 5},
    ]
    assert config["imagePullSecret"] == [
        {"secretName": "registry-creds", "secretNameParameter": _named("registry-creds")}
    ]
    assert config["podMetadata"] == {
        "labels": {"team": "ml"},
        "annotations": {"example.com/owner": "ana"},
    }
    (label,) = [k for k in executors if k.startswith("exec-report")]
    assert executors[label]["podMetadata"] == {"labels": {"step": "report"}}
    box = spec["deploymentSpec"]["executors"]["exec-train"]["container"]
    assert {e["name"]: e["value"] for e in box["env"]} == {"PLAIN": "yes"}
    for config in executors.values():  # every field as the backend's driver parses it
        assert json_format.MessageToDict(parse_executor_config(config)) == config
    loaded = components.load_component_from_file(str(path))
    assert json_format.MessageToDict(loaded.component_spec.platform_spec) == platform


def test_bad_read_only_pvc_is_refused_for_kfp_and_compiled_for_argo() -> None:
    @component(volumes=[Volume.pvc("data", "/data", read_only=True)])
    def reads() -> None:
        pass

    @pipeline
    def p():
        reads()

    with pytest.raises(ValidationError) as caught:
        _kfp(p)
    assert caught.value.field == "volumes" and "read-only" in str(caught.value)
    box = _template(_argo(p), "reads")
    assert box["container"]["volumeMounts"][0]["readOnly"] is True


@pytest.mark.parametrize("target", ["argo", "kfp"])
def test_bad_pod_options_on_a_custom_resource_step_are_refused(target: str) -> None:
    @component(runtime=Spark(), volumes=[Volume.pvc("data", "/data")])
    def aggregate(n: int) -> None:
        pass

    @pipeline
    def p(n: int = 1):
        aggregate(n=n)

    with pytest.raises(ValidationError) as caught:
        dagwright.compile(p, target=target, **DELIVERY)
    assert caught.value.field == "pod" and "custom resource" in str(caught.value)


def test_no_secret_value_is_in_any_compiled_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value is where a local run would read it (the environment, a secrets file) while
    every target compiles: only the Secret's name and key are written."""
    secrets_file = tmp_path / "local.env"
    secrets_file.write_text(f"DB_PASSWORD={SECRET}\nMODE=fast\n", encoding="utf-8")
    monkeypatch.setenv("DAGWRIGHT_SECRETS_FILE", str(secrets_file))
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    for target in ("ir", "argo", "kfp"):
        options = {} if target == "ir" else DELIVERY
        text = dagwright.compile(pods, target=target, path=tmp_path / f"{target}.yaml", **options)
        assert SECRET not in text
        assert SECRET not in (tmp_path / f"{target}.yaml").read_text(encoding="utf-8")
        assert "DB_PASSWORD" in text and "password" in text


def test_a_runtimes_pod_fields_and_the_components_are_joined_on_argo() -> None:
    from dagwright.runtimes import Job

    @component(
        runtime=Job(node_selector={"pool": "gpu"}, secrets=["whole"], env={"JOB": "1"}),
        secrets=[Secret("db", "password", env="DB_PASSWORD")],
        node_selector={"zone": "a"},
        volumes=[Volume.empty_dir("/scratch")],
    )
    def joined() -> None:
        pass

    @pipeline
    def p():
        joined()

    box = _template(_argo(p), "joined")
    assert box["nodeSelector"] == {"pool": "gpu", "zone": "a"}
    assert box["container"]["envFrom"] == [{"secretRef": {"name": "whole"}}]
    names = [e["name"] for e in box["container"]["env"]]
    assert "JOB" in names and "DB_PASSWORD" in names
    assert [m["mountPath"] for m in box["container"]["volumeMounts"]] == ["/scratch"]
