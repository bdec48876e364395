"""Where Argo stores a compiled spec's artifacts: every location it is given is one Argo keeps.

Argo v4.1.2 keeps an artifact's location only when it is full (``S3Artifact.HasLocation``:
endpoint, bucket and key; ``GCSArtifact.HasLocation``: bucket and key, in
``pkg/apis/workflow/v1alpha1/workflow_types.go``); any other is replaced by the default
repository's, its key kept (``ArtifactLocation.Relocate``, called by the executor and the
controller for key-only artifacts). Its S3 driver takes the endpoint as ``host[:port]`` and
connects with TLS unless ``insecure`` is true. No Argo runs here: the stand-in
(``argo_controller.dropped_location_fields``) models that reading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import pytest
import yaml
from argo_controller import ArgoControllerStandIn, dropped_location_fields

import dagwright
from dagwright.errors import ValidationError

pytest.importorskip("hera")


def manifest(p: Any = corpus.loop_over_output, **options: Any) -> dict[str, Any]:
    return yaml.safe_load(dagwright.compile(p, target="argo", **options))


def locations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every S3 location in the manifest (template outputs, Collected arguments)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("s3"), dict):
                found.append(node["s3"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


@pytest.mark.parametrize(
    ("endpoint", "host", "insecure"),
    [
        ("minio.ml.svc:9000", "minio.ml.svc:9000", None),
        ("http://minio.ml.svc:9000", "minio.ml.svc:9000", True),
        ("https://s3.amazonaws.com", "s3.amazonaws.com", None),
        ("https://s3.eu-west-1.amazonaws.com/", "s3.eu-west-1.amazonaws.com", None),
        ("http://10.0.0.7:9000", "10.0.0.7:9000", True),
    ],
)
def test_a_bucket_gets_its_endpoint_as_host_and_port_and_insecure_for_http(
    endpoint: str, host: str, insecure: bool | None
) -> None:
    spec = manifest(
        artifact_repository="s3://team-bucket/runs",
        artifact_endpoint=endpoint,
        artifact_secret="store-creds",
    )
    found = locations(spec)
    assert len(found) >= 2  # the loop's outputs and the Collected argument that reads them
    for location in found:
        assert location["bucket"] == "team-bucket" and location["key"].startswith("runs/")
        assert location["endpoint"] == host
        assert location.get("insecure") is insecure
        assert location["accessKeySecret"] == {"name": "store-creds", "key": "accesskey"}
    assert dropped_location_fields(spec) == []


def test_the_default_repository_gets_keys_only() -> None:
    """Key-only locations are meant to be relocated into the cluster's default repository."""
    spec = manifest()
    assert locations(spec) and all(set(loc) == {"key"} for loc in locations(spec))
    assert dropped_location_fields(spec) == []


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"artifact_repository": "s3://b/p/", "artifact_endpoint": "minio:9000"}, "s3://b/"),
        ({"artifact_repository": "gs://b"}, "gs://b/"),
        ({"artifact_repository": "gs://b/p"}, "gs://b/"),  # the key holds the prefix
        ({}, ""),  # the cluster's default repository: the key alone
        ({"artifact_repository": "gcs"}, ""),
        ({"artifact_repository_ref": "repos:team"}, ""),
    ],
)
def test_each_pod_is_told_where_its_outputs_are_kept(options: dict[str, Any], said: str) -> None:
    """One ``--stored-at`` per template storing artifacts (the pod adds output and pod name),
    naming the object its location's key is: for ``dagwright replay``, which reads no pod's
    files. No credential in it."""
    spec = manifest(**options, artifact_secret="creds" if "://" in said else None)
    for template in spec["spec"]["templates"]:
        stored = template.get("outputs", {}).get("artifacts") or []
        args = template.get("container", {}).get("args") or []
        if not stored:
            assert "--stored-at" not in args
            continue
        told = args[args.index("--stored-at") + 1]
        assert args.count("--stored-at") == 1
        for artifact in stored:
            key = (artifact.get("s3") or artifact["gcs"])["key"]
            assert said + key == f"{told}/{artifact['name']}/{{{{pod.name}}}}"
        assert "creds" not in told and "@" not in told


def test_a_bucket_with_an_http_endpoint_runs_under_the_stand_in(tmp_path: Path) -> None:
    spec = manifest(artifact_repository="s3://b/p", artifact_endpoint="http://minio:9000")
    node = ArgoControllerStandIn(spec, tmp_path).run({"n": "2"})
    assert node.phase == "Succeeded"
    assert (
        node.params["output"]
        == dagwright.run(
            corpus.loop_over_output, {"n": 2}, echo=False, root=tmp_path / "store"
        ).outputs["output"]
    )


@pytest.mark.parametrize(
    ("location", "dropped"),
    [
        ({"s3": {"bucket": "b", "key": "k"}}, ["s3:bucket"]),  # no endpoint
        ({"s3": {"endpoint": "minio:9000", "key": "k"}}, ["s3:endpoint"]),  # no bucket
        (
            {"s3": {"key": "k", "accessKeySecret": {"name": "c", "key": "a"}}},
            ["s3:accessKeySecret"],
        ),
        ({"gcs": {"key": "k", "serviceAccountKeySecret": {"name": "c", "key": "s"}}}, None),
        ({"s3": {"key": "k"}}, []),
        ({"s3": {"endpoint": "e", "bucket": "b", "key": "k", "insecure": True}}, []),
        ({"gcs": {"bucket": "b", "key": "k"}}, []),
    ],
)
def test_the_stand_in_finds_the_fields_argo_would_drop(
    location: dict[str, Any], dropped: list[str] | None
) -> None:
    expected = ["gcs:serviceAccountKeySecret"] if dropped is None else dropped
    spec = {"spec": {"templates": [{"outputs": {"artifacts": [{"name": "a", **location}]}}]}}
    assert dropped_location_fields(spec) == expected


def test_the_stand_in_refuses_a_manifest_whose_bucket_argo_would_drop(tmp_path: Path) -> None:
    spec = manifest(artifact_repository="s3://b/p", artifact_endpoint="minio:9000")
    for location in locations(spec):
        del location["endpoint"]  # what dagwright used to write without --artifact-endpoint
    with pytest.raises(AssertionError, match="s3:bucket"):
        ArgoControllerStandIn(spec, tmp_path)


@pytest.mark.parametrize(
    ("options", "field", "says"),
    [
        ({"artifact_repository": "s3://bucket/p"}, "artifact_endpoint", "has no endpoint"),
        ({"artifact_repository": "s3://"}, "artifact_repository", "not an artifact repository"),
        ({"artifact_endpoint": "minio:9000"}, "artifact_endpoint", "without a bucket"),
        ({"artifact_secret": "creds"}, "artifact_secret", "without a bucket"),
        (
            {"artifact_repository": "gcs", "artifact_secret": "creds"},
            "artifact_secret",
            "without a bucket",
        ),
        (
            {"artifact_repository": "gs://b/p", "artifact_endpoint": "minio:9000"},
            "artifact_endpoint",
            "for S3",
        ),
        (
            {
                "artifact_repository": "s3://b/p",
                "artifact_endpoint": "minio:9000",
                "artifact_repository_ref": "artifacts:minio",
            },
            "artifact_repository_ref",
            "do not use the repository",
        ),
        (
            {"artifact_repository": "s3://b/p", "artifact_endpoint": "ftp://minio:21"},
            "artifact_endpoint",
            "scheme ftp://",
        ),
        (
            {"artifact_repository": "s3://b/p", "artifact_endpoint": "http://minio:9000/b"},
            "artifact_endpoint",
            "not a host[:port]",
        ),
        (
            {"artifact_repository": "s3://b/p", "artifact_endpoint": "minio :9000"},
            "artifact_endpoint",
            "not a host[:port]",
        ),
    ],
)
def test_bad_artifact_settings_argo_would_drop_are_refused(
    options: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(ValidationError) as err:
        manifest(corpus.retried, **options)
    assert err.value.field == field
    assert says in err.value.problem
    assert err.value.fix
