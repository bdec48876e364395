"""``dagwright replay`` of a step that ran in an Argo pod: there is no run database row of it,
only what its pod recorded in MLflow. The pipeline is compiled with a tracking URI pointing at a
real ``mlflow server`` on 127.0.0.1, its pods run by the Argo controller stand-in (each step's
container command as a subprocess, as tests/compiler runs them), then ``dagwright replay`` runs
as a command-line subprocess reading the step back from MLflow."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from pod_replay import MAKE_AND_USE, store_fixtures
from replay_pipeline import dagwright

pytest.importorskip("mlflow")
COMPILER_TESTS = Path(__file__).resolve().parents[1] / "compiler"
sys.path.insert(0, str(COMPILER_TESTS))

SOURCE = (
    "from dagwright import Dataset, Input, Output, component, pipeline\n"
    + MAKE_AND_USE
    + """

@pipeline
def podded(n: int = 4):
    made = make(n=n)
    use(data=made.outputs["data"], k=2)
"""
)


def _ran_on_argo(folder: Path, uri: str) -> str:
    """Compile with tracking on, run the workflow's pods; the run id the pods recorded."""
    from argo_controller import ArgoControllerStandIn
    from mlflow.tracking import MlflowClient

    (folder / "podded.py").write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    proc = dagwright(
        folder, "compile", "podded.py", "--target", "argo", "--tracking-uri", uri, "-o", "wf.yaml"
    )
    assert proc.returncode == 0, proc.stderr
    manifest = yaml.safe_load((folder / "wf.yaml").read_text())
    assert ArgoControllerStandIn(manifest, folder / "argo").run().phase == "Succeeded"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("podded")
    runs = client.search_runs([experiment.experiment_id], "tags.`dagwright.kind` = 'run'")
    assert len(runs) == 1
    return str(runs[0].data.tags["dagwright.run_id"])


def test_a_step_run_in_a_pod_replays_from_mlflow(mlflow_server, tmp_path: Path) -> None:
    run = _ran_on_argo(tmp_path, mlflow_server.uri)

    proc = dagwright(tmp_path, "replay", run, "use", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 0, proc.stderr
    assert "use read 4 characters" in proc.stdout  # the input the pod was given
    assert re.search(r'^output +"xx" +"xx" +same$', proc.stdout, re.M), proc.stdout
    assert "k = 2" in proc.stdout

    env = {"MLFLOW_TRACKING_URI": mlflow_server.uri}  # as the rest of dagwright reads it
    proc = dagwright(tmp_path, "replay", run, "make", "-p", "n=6", env=env)
    assert proc.returncode == 1, proc.stderr  # an output differs, as diff says it
    found = re.search(r"^data +(sha256:\w+) +(sha256:\w+) +differs$", proc.stdout, re.M)
    assert found and found.group(1) != found.group(2), proc.stdout
    assert re.search(r"^output +8 +12 +differs$", proc.stdout, re.M), proc.stdout
    scratch = Path(re.search(r"outputs go to (\S+)", proc.stdout).group(1))
    assert (scratch / "data").read_text() == "x" * 6

    now = textwrap.dedent(SOURCE).replace("return text[:k]", "return text[:k].upper()")
    (tmp_path / "podded_now.py").write_text(now, encoding="utf-8")
    proc = dagwright(tmp_path, "replay", run, "use", "--code-from", "podded_now.py", env=env)
    assert proc.returncode == 1, proc.stderr  # an output differs, as diff says it
    assert re.search(r'^output +"xx" +"XX" +differs$', proc.stdout, re.M), proc.stdout
    assert "code as podded_now.py defines it now" in proc.stdout

    proc = dagwright(tmp_path, "replay", run, "nope", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 2
    assert "recorded no step 'nope'" in proc.stderr and "make@podded-stand-in-make-0" in proc.stderr


def test_an_unknown_run_says_where_else_it_is_looked_for(mlflow_server, tmp_path: Path) -> None:
    proc = dagwright(tmp_path, "replay", "wf-nowhere", "use")
    assert proc.returncode == 2
    assert "no run 'wf-nowhere'" in proc.stderr
    assert "--tracking-uri" in proc.stderr and "compiled with --tracking-uri" in proc.stderr
    assert "Traceback" not in proc.stderr

    proc = dagwright(tmp_path, "replay", "wf-nowhere", "use", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 2
    assert f"no run 'wf-nowhere' in the run database nor in MLflow at {mlflow_server.uri}" in (
        proc.stderr
    )


s3_endpoint = store_fixtures().s3_endpoint


def _pod_command(manifest: dict, template: str, values: dict[str, str]) -> list[str]:
    """A container template's command with Argo's variables filled in, as its pod runs it."""
    box = next(t for t in manifest["spec"]["templates"] if t["name"] == template)["container"]
    return [
        re.sub(r"\{\{([^{}]+)\}\}", lambda m: values[m.group(1)], part)
        for part in box["command"] + box.get("args", [])
    ]


def test_a_pod_step_replays_with_its_input_fetched_from_s3(
    mlflow_server, s3_endpoint: str, tmp_path: Path
) -> None:
    """The pod's input artifact is an object in S3 (moto's server): the record keeps its URI,
    and the replay here fetches it from the bucket."""
    import hashlib
    import os
    import subprocess
    import uuid

    import boto3

    bucket = f"pods-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="podded/make/data", Body=b"xxxxx")
    digest = hashlib.sha256(b"xxxxx").hexdigest()
    (tmp_path / "podded.py").write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    proc = dagwright(tmp_path, "compile", "podded.py", "--target", "argo", "--tracking-uri",
                     mlflow_server.uri, "-o", "wf.yaml")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    manifest = yaml.safe_load((tmp_path / "wf.yaml").read_text())
    run = f"podded-{uuid.uuid4().hex[:6]}"
    values = {
        "pod.name": f"{run}-use-1",
        "workflow.name": run,
        "inputs.artifacts.data.path": f"s3://{bucket}/podded/make/data",
        "inputs.parameters.data-meta": json.dumps({"digest": digest, "metadata": {}}),
        "inputs.parameters.k": "3",
        "inputs.parameters.dagwright-task": "use",
        "outputs.parameters.output.path": str(tmp_path / "pod" / "output"),
    }
    template = next(t["name"] for t in manifest["spec"]["templates"] if t["name"].startswith("use"))
    pod_env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    pod_env["MLFLOW_TRACKING_URI"] = mlflow_server.uri
    pod = subprocess.run(
        _pod_command(manifest, template, values), env=pod_env, capture_output=True, text=True
    )
    assert pod.returncode == 0, pod.stderr
    assert (tmp_path / "pod" / "output").read_text() == "xxx\n"

    proc = dagwright(tmp_path, "replay", run, "use", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 0, proc.stderr
    assert f"  data <- s3://{bucket}/podded/make/data" in proc.stdout
    assert "use read 5 characters" in proc.stdout  # fetched from the bucket
    assert re.search(r'^output +"xxx" +"xxx" +same$', proc.stdout, re.M), proc.stdout

    proc = dagwright(tmp_path, "replay", run, "use", "-p", "k=1", "--tracking-uri",
                     mlflow_server.uri)  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # an output differs, as diff says it
    assert re.search(r'^output +"xxx" +"x" +differs$', proc.stdout, re.M), proc.stdout
    assert "k = 1  (-p)" in proc.stdout


def test_a_step_run_by_kfp_replays_from_mlflow(mlflow_server, tmp_path: Path) -> None:
    """KFP's executor (kfp.local, as tests/lineage/test_pods.py runs it) hands the pod its
    inputs; the record keeps where KFP's pipeline root keeps them."""
    from kfp import components

    import dagwright as dw
    from dagwright.loader import load_pipeline
    from dagwright.verify.kfp_local import init

    (tmp_path / "podded.py").write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    dw.compile(load_pipeline(str(tmp_path / "podded.py")), target="kfp", path=spec,
               tracking_uri=mlflow_server.uri)  # fmt: skip
    init(tmp_path / "kfp")
    before = _run_ids(mlflow_server.uri)
    components.load_component_from_file(str(spec))(n=5)
    (run,) = _run_ids(mlflow_server.uri) - before  # the pods of one run share one parent

    proc = dagwright(tmp_path, "replay", run, "use", "--tracking-uri", mlflow_server.uri)
    assert proc.returncode == 0, proc.stderr
    assert "use read 5 characters" in proc.stdout
    assert re.search(r'^output +"xx" +"xx" +same$', proc.stdout, re.M), proc.stdout


def _run_ids(uri: str) -> set[str]:
    """The dagwright run ids of the pipeline runs in MLflow's ``podded`` experiment."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("podded")
    if experiment is None:
        return set()
    runs = client.search_runs([experiment.experiment_id], "tags.`dagwright.kind` = 'run'")
    return {r.data.tags["dagwright.run_id"] for r in runs}
