"""``dagwright.importer`` on the Argo target: no template runs for it; each reader gets the
artifact as an input artifact located at the importer's URI (S3, GCS, HTTP), with the
importer's metadata. A URI Argo cannot fetch is refused by name. The stand-in runs it with the
outputs of ``dagwright run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_controller import ArgoControllerStandIn

import dagwright
from dagwright import Dataset, Input, Model, ValidationError, component, pipeline

pytest.importorskip("hera")


@component
def read(data: Input[Dataset]) -> str:
    with open(data.path, encoding="utf-8") as f:
        return f"{f.read()}|{data.metadata.get('stage')}"


@component
def weights(model: Input[Model]) -> str:
    return str(model.metadata)


def reading(uri: str) -> Any:
    """A pipeline importing ``uri`` (a constant) and reading it inside a condition."""

    @pipeline(name="reading")
    def p(go: bool = True) -> str:
        found = dagwright.importer(uri, Dataset, metadata={"stage": "prod"})
        with dagwright.If(go == True):  # noqa: E712  (builds a condition)
            read(data=found.output)
        return read(data=found.output).output

    return p


def _manifest(p: Any, **options: Any) -> dict[str, Any]:
    return yaml.safe_load(dagwright.compile(p, target="argo", **options))


def _arguments(manifest: dict[str, Any], template: str, task: str) -> dict[str, Any]:
    tasks = next(t for t in manifest["spec"]["templates"] if t["name"] == template)["dag"]["tasks"]
    return next(t for t in tasks if t["name"] == task)["arguments"]


def test_readers_get_an_s3_location_and_no_importer_template_runs() -> None:
    manifest = _manifest(reading("s3://bucket/data/rows.csv"))
    names = [t["name"] for t in manifest["spec"]["templates"]]
    assert not [n for n in names if n.startswith("importer")]
    main = next(t for t in manifest["spec"]["templates"] if t["name"] == "main")["dag"]["tasks"]
    assert {t["name"] for t in main} == {"condition-1", "read-2"}  # no task, no dependency
    assert "dependencies" not in next(t for t in main if t["name"] == "read-2")
    args = _arguments(manifest, "main", "read-2")
    assert args["artifacts"] == [
        {
            "name": "data",
            "s3": {
                "bucket": "bucket",
                "endpoint": "s3.amazonaws.com",
                "key": "data/rows.csv",
                "useSDKCreds": True,
            },
        }
    ]
    # the metadata, and where the artifact is kept, which the reader's replay record names
    meta = '{"metadata": {"stage": "prod"}, "stored_at": "s3://bucket/data/rows.csv"}'
    assert {"name": "data-meta", "value": meta} in args["parameters"]
    # inside the condition block too: the location is the same wherever the reader is
    assert _arguments(manifest, "condition-1", "read")["artifacts"] == args["artifacts"]


def test_the_targets_endpoint_and_secret_and_gcs_and_http_locations() -> None:
    s3 = _manifest(
        reading("s3://bucket/rows.csv"),
        artifact_repository="s3://runs/dagwright",
        artifact_endpoint="http://minio.kubeflow:9000",
        artifact_secret="store-creds",
    )
    location = _arguments(s3, "main", "read-2")["artifacts"][0]["s3"]
    assert location == {
        "accessKeySecret": {"key": "accesskey", "name": "store-creds"},
        "bucket": "bucket",
        "endpoint": "minio.kubeflow:9000",
        "insecure": True,
        "key": "rows.csv",
        "secretKeySecret": {"key": "secretkey", "name": "store-creds"},
    }
    gcs = _manifest(reading("gs://bucket/path/rows.csv"))
    assert _arguments(gcs, "main", "read-2")["artifacts"][0]["gcs"] == {
        "bucket": "bucket",
        "key": "path/rows.csv",
    }
    web = _manifest(reading("https://example.org/rows.csv"))
    assert _arguments(web, "main", "read-2")["artifacts"][0]["http"] == {
        "url": "https://example.org/rows.csv"
    }


@pytest.mark.parametrize(
    ("uri", "said"),
    [("/data/rows.csv", "a local path"), ("file:///data/rows.csv", "file://"), ("s3://b", "key")],
)
def test_a_uri_argo_cannot_fetch_is_refused_by_name(uri: str, said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _manifest(reading(uri))
    assert caught.value.task == "importer" and caught.value.field == "uri"
    assert said in caught.value.problem and "s3://bucket/key" in (caught.value.fix or "")


def test_a_uri_from_a_parameter_is_refused_for_argo() -> None:
    @pipeline
    def given(uri: str = "s3://bucket/rows.csv") -> str:
        return read(data=dagwright.importer(uri).output).output

    with pytest.raises(ValidationError) as caught:
        _manifest(given)
    assert caught.value.field == "uri" and "KFP" in (caught.value.fix or "")


def test_metadata_from_pipeline_values_is_refused_for_argo() -> None:
    @pipeline
    def tagged(version: int = 3) -> str:
        found = dagwright.importer("s3://bucket/rows.csv", metadata={"version": version})
        return read(data=found.output).output

    with pytest.raises(ValidationError) as caught:
        _manifest(tagged)
    assert caught.value.field == "metadata" and "KFP" in (caught.value.fix or "")


def test_an_imported_artifact_as_pipeline_output_is_refused() -> None:
    @pipeline
    def passed() -> Dataset:  # type: ignore[type-var]
        return dagwright.importer("s3://bucket/rows.csv").output

    with pytest.raises(ValidationError) as caught:
        _manifest(passed)
    assert caught.value.field == "output output"


def test_a_sub_pipeline_holding_only_an_importer_needs_no_template() -> None:
    @pipeline
    def load() -> Dataset:  # type: ignore[type-var]
        return dagwright.importer("s3://bucket/rows.csv").output

    @pipeline
    def outer() -> str:
        return read(data=load().output).output

    manifest = _manifest(outer)
    assert [t["name"] for t in manifest["spec"]["templates"]] == ["main", "read"]
    args = _arguments(manifest, "main", "read")
    assert args["artifacts"][0]["s3"]["key"] == "rows.csv"


def test_an_imported_artifact_collected_over_a_loop_is_refused() -> None:
    @component
    def count(data: Input[list[Dataset]]) -> int:
        return len(data)

    @pipeline
    def looped() -> int:
        with dagwright.ParallelFor([1, 2]):
            found = dagwright.importer("s3://bucket/rows.csv")
        return count(data=dagwright.Collected(found.output)).output

    with pytest.raises(ValidationError) as caught:
        _manifest(looped)
    assert caught.value.task == "count" and caught.value.field == "data"


def test_the_stand_in_runs_it_as_dagwright_run_does(tmp_path: Path) -> None:
    content = "a,b\n1,2\n"
    local = tmp_path / "rows.csv"
    local.write_text(content, encoding="utf-8")
    ours = dagwright.run(reading(str(local)), echo=False, root=tmp_path / "store")
    manifest = _manifest(reading("s3://bucket/data/rows.csv"))
    stand_in = ArgoControllerStandIn(manifest, tmp_path / "argo")
    stored = stand_in.repository / "data" / "rows.csv"  # the bucket, as the stand-in keeps it
    stored.parent.mkdir(parents=True)
    stored.write_text(content, encoding="utf-8")
    node = stand_in.run()
    assert node.phase == "Succeeded" and ours.succeeded
    assert node.params["output"] == ours.outputs["output"] == f"{content}|prod"
    assert stand_in.ran == ["read", "read"]  # the importer ran no pod
