"""``dagwright replay`` of a step that ran in an Argo pod and read artifacts from the artifact
repository. Argo gives a pod its inputs as files at paths in the pod, which no other machine
has: each producing pod records in its ``-meta`` where the repository keeps its output
(``stored_at``, or the key alone in the cluster's default repository), its readers put that on
their inputs, and replay fetches them from the bucket.

The pipeline is compiled for Argo with a tracking URI pointing at a real ``mlflow server`` on
127.0.0.1; its pods run by the Argo controller stand-in (each pod's command a subprocess), which
keeps artifacts in a folder under their keys. That folder is then uploaded to moto's S3 server
(or gcp-storage-emulator) under the same keys and removed, as the pods' files are on no machine
but theirs, and ``dagwright replay`` runs as a command-line subprocess in another folder."""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from pod_replay import MAKE_AND_USE, store_fixtures
from replay_pipeline import dagwright

pytest.importorskip("mlflow")
pytest.importorskip("hera")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compiler"))

# moto accepts any credentials; these are looked for in what is written
ACCESS_KEY = "AKIAREPLAY7Q2W"
SECRET_KEY = "sk-replay-5e2c91d0a7b4"

SOURCE = (
    "from dagwright import Collected, Dataset, Input, Output, ParallelFor, component, pipeline\n"
    + MAKE_AND_USE
    + """

@component
def count(parts: Input[list[Dataset]]) -> int:
    sizes = [len(open(p.path).read()) for p in parts]
    print(f"count read {sizes}")
    return sum(sizes)


@pipeline
def kept(n: int = 4):
    made = make(n=n)
    use(data=made.outputs["data"], k=2)
    with ParallelFor([1, 2]) as m:
        each = make(n=m)
    count(parts=Collected(each.outputs["data"]))
"""
)


_servers = store_fixtures()
s3_endpoint = _servers.s3_endpoint
gcs_bucket = _servers.gcs_bucket


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on moto's server, reached with a credential the test looks for."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    name = f"argo-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def _ran_on_argo(folder: Path, uri: str, *compile_args: str) -> tuple[str, str, Path]:
    """Compile with tracking on, run the workflow's pods under a fresh workflow name; the
    workflow's name, the spec's text and the stand-in's repository folder."""
    from argo_controller import ArgoControllerStandIn

    folder.mkdir()
    (folder / "kept.py").write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    proc = dagwright(folder, "compile", "kept.py", "--target", "argo", "--tracking-uri", uri,
                     "-o", "wf.yaml", *compile_args)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = (folder / "wf.yaml").read_text(encoding="utf-8")
    manifest = yaml.safe_load(text)
    manifest["metadata"]["generateName"] = f"kept-{uuid.uuid4().hex[:6]}-"
    stand_in = ArgoControllerStandIn(manifest, folder / "argo")
    assert stand_in.run().phase == "Succeeded", stand_in.failures
    return stand_in.name, text, stand_in.repository


def _moved_to_s3(repository: Path, bucket: str, prefix: str = "") -> list[str]:
    """Every object the stand-in kept, uploaded under its key (after ``prefix``), then the
    folder removed: the pods' files are not on this machine. The keys uploaded."""
    import boto3

    s3 = boto3.client("s3")  # AWS_ENDPOINT_URL: moto's server
    keys = []
    for path in sorted(p for p in repository.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(repository).as_posix()
        s3.upload_file(str(path), bucket, key)
        keys.append(key)
    shutil.rmtree(repository)
    return keys


def _records(uri: str, run: str) -> list[dict[str, Any]]:
    """The replay records the pods of ``run`` kept in MLflow."""
    import tempfile

    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("kept")
    query = f"tags.`dagwright.run_id` = '{run}' and tags.`dagwright.kind` = 'run'"
    (parent,) = client.search_runs([experiment.experiment_id], query)
    with tempfile.TemporaryDirectory() as folder:
        where = Path(client.download_artifacts(parent.info.run_id, "lineage/replay", folder))
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(where.glob("*.json"))]


def test_a_step_replays_with_its_inputs_fetched_from_the_repository_s_bucket(
    mlflow_server, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    run, spec, repository = _ran_on_argo(
        tmp_path / "cluster",
        mlflow_server.uri,
        "--artifact-repository", f"s3://{bucket}/runs",
        "--artifact-endpoint", s3_endpoint,
        "--artifact-secret", "store-credentials",
    )  # fmt: skip
    # one argument per template: the entry adds the output and its pod's name
    assert f"s3://{bucket}/runs/{{{{workflow.name}}}}/{{{{inputs.parameters.dagwright-task}}}}" in (
        spec
    )
    keys = _moved_to_s3(repository, bucket)
    (key,) = [k for k in keys if k.startswith(f"runs/{run}/make/data/{run}-make-")]
    kept = f"s3://{bucket}/{key}"

    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()
    proc = dagwright(elsewhere, "replay", run, "use", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 0, proc.stderr
    assert f"  data <- {kept}" in proc.stdout
    assert "use read 4 characters" in proc.stdout  # fetched from the bucket
    assert re.search(r'^output +"xx" +"xx" +same$', proc.stdout, re.M), proc.stdout

    # a Collected list: each iteration's object, where its own pod recorded it
    proc = dagwright(elsewhere, "replay", run, "count", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"^  parts <- (.*)$", proc.stdout, re.M)
    assert found, proc.stdout
    parts = found.group(1).split(", ")
    assert len(parts) == 2 and all(
        p.startswith(f"s3://{bucket}/runs/{run}/make-2/data/") for p in parts
    )
    assert "count read [1, 2]" in proc.stdout
    assert re.search(r"^output +3 +3 +same$", proc.stdout, re.M), proc.stdout

    # no credential in the spec nor in any record: the repository's URL holds none
    records = json.dumps(_records(mlflow_server.uri, run))
    assert kept in records
    for text in (spec, records, proc.stdout, proc.stderr):
        assert SECRET_KEY not in text and ACCESS_KEY not in text


def test_a_key_in_the_cluster_s_default_repository_needs_its_bucket(
    mlflow_server, bucket: str, tmp_path: Path
) -> None:
    run, spec, repository = _ran_on_argo(tmp_path / "cluster", mlflow_server.uri)
    assert "s3://" not in spec  # the default repository: Argo fills bucket and endpoint
    _moved_to_s3(repository, bucket, prefix="argo-default/")

    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()
    proc = dagwright(elsewhere, "replay", run, "use", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 2, proc.stdout
    assert "--artifact-repository" in proc.stderr
    assert f"under the key {run}/make/data/{run}-make-" in proc.stderr  # the key it does know
    assert "Traceback" not in proc.stderr and "use read" not in proc.stdout

    proc = dagwright(elsewhere, "replay", run, "use", "--tracking-uri", mlflow_server.uri,
                     "--artifact-repository", f"s3://user:{SECRET_KEY}@{bucket}")  # fmt: skip
    assert proc.returncode == 2 and "--artifact-repository" in proc.stderr
    assert SECRET_KEY not in proc.stderr + proc.stdout

    repo = f"s3://{bucket}/argo-default"
    for step in ("use", "count"):
        proc = dagwright(elsewhere, "replay", run, step, "--tracking-uri", mlflow_server.uri,
                         "--artifact-repository", repo)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert re.search(r"^output +(\"xx\" +\"xx\"|3 +3) +same$", proc.stdout, re.M), proc.stdout
    assert f"  parts <- {repo}/{run}/make-2/data/{run}-make-" in proc.stdout


def test_a_step_replays_with_its_input_fetched_from_a_gcs_repository(
    mlflow_server, gcs_bucket: str, tmp_path: Path
) -> None:
    """The same from gs:// (gcp-storage-emulator, reached through STORAGE_EMULATOR_HOST)."""
    import gcsfs

    prefix = f"runs-{uuid.uuid4().hex[:6]}"
    run, _, repository = _ran_on_argo(
        tmp_path / "cluster", mlflow_server.uri, "--artifact-repository",
        f"gs://{gcs_bucket}/{prefix}",
    )  # fmt: skip
    fs = gcsfs.GCSFileSystem()
    for path in sorted(p for p in repository.rglob("*") if p.is_file()):
        fs.put(str(path), f"{gcs_bucket}/{path.relative_to(repository).as_posix()}")
    shutil.rmtree(repository)

    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()
    proc = dagwright(elsewhere, "replay", run, "use", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 0, proc.stderr
    assert f"  data <- gs://{gcs_bucket}/{prefix}/{run}/make/data/{run}-make-" in proc.stdout
    assert "use read 4 characters" in proc.stdout
    assert re.search(r'^output +"xx" +"xx" +same$', proc.stdout, re.M), proc.stdout
