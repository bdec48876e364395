"""Lineage in MLflow, against a real ``mlflow server`` on 127.0.0.1 (SQLite backend, started
once per session by the ``mlflow_server`` fixture) and against the default local SQLite store.

A pipeline run is an MLflow run, each step a nested run; the graph is the ``lineage.json``
artifact and loads back as the same graph. These runs wait for MLflow (``wait_lineage=True``)
to look at what it holds; ``test_syncer.py`` has the background upload a run gets by default.
A run whose MLflow is down still succeeds, keeps its lineage locally with a ``.pending``
marker, and ``sync`` uploads it later.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow_server import MlflowServer, free_port
from syncers import wait_for_syncers

import dagwright
from dagwright import Dataset, Input, Metrics, Output, Pipeline, component, pipeline
from dagwright.engine.result import RunResult
from dagwright.lineage import tracking
from dagwright.lineage.graph import GENERATED_BY, Lineage, step_node
from dagwright.lineage.recorder import load as load_local

mlflow = pytest.importorskip("mlflow")


@component
def write(text: str, data: Output[Dataset]) -> None:
    with open(data.path, "w", encoding="utf-8") as f:
        f.write(text)


@component
def score(data: Input[Dataset], lr: float, metrics: Output[Metrics]) -> float:
    with open(data.path, encoding="utf-8") as f:
        rows = len(f.read().split(","))
    metrics.log_metric("accuracy", 0.75)
    metrics.log_metric("rows", rows)
    return 0.75


@component(cache=True)
def constant(data: Output[Dataset]) -> None:
    with open(data.path, "w", encoding="utf-8") as f:
        f.write("the same bytes in every run")


@component
def inc(x: int) -> int:
    return x + 1


@component
def boom(x: int) -> int:
    raise ValueError("no luck")


@pipeline
def failing(x: int = 1) -> int:
    return boom(x=x).output


@pipeline
def train(text: str = "a,b,c", lr: float = 0.1) -> float:
    made = write(text=text)
    return score(data=made.outputs["data"], lr=lr).output


@pipeline
def left() -> None:
    constant()


@pipeline
def right(text: str = "x") -> None:
    constant()
    write(text=text)


def chain(steps: int, name: str = "chain") -> Pipeline:
    p = Pipeline(name)
    prev: Any = p.param("x", int, default=0)
    for _ in range(steps):
        prev = p.add(inc, x=prev).output
    return p


def run(
    pipeline: Any, root: Path, uri: str | None = None, wait: bool = True, **params: Any
) -> RunResult:
    result = dagwright.run(
        pipeline, params, root=root, echo=False, tracking_uri=uri, wait_lineage=wait
    )
    assert result.succeeded
    return result


def local(result: RunResult, root: Path) -> Lineage:
    return load_local(root / "lineage" / f"{result.run_id}.json")


def assert_same_graph(a: Lineage, b: Lineage) -> None:
    assert set(a.graph.nodes) == set(b.graph.nodes)
    assert set(a.graph.edges(keys=True)) == set(b.graph.edges(keys=True))


def client(uri: str) -> Any:
    return mlflow.tracking.MlflowClient(uri)


def step_runs(uri: str, parent: str) -> dict[str, Any]:
    """The nested runs of a pipeline run, by step label."""
    c = client(uri)
    experiment = c.get_run(parent).info.experiment_id
    found = c.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{parent}'")
    return {r.data.tags["dagwright.step"]: r for r in found}


def test_a_run_round_trips_through_the_server(tmp_path: Path, mlflow_server: MlflowServer) -> None:
    result = run(train, tmp_path, mlflow_server.uri)
    stats = tracking.stats(result.run_id)
    assert stats is not None and not stats.pending and stats.error is None
    assert not (tmp_path / "lineage" / f"{result.run_id}.pending").exists()
    assert_same_graph(tracking.load(result.run_id, mlflow_server.uri), local(result, tmp_path))
    by_mlflow_id = tracking.load(str(stats.mlflow_run_id), mlflow_server.uri)
    assert_same_graph(by_mlflow_id, local(result, tmp_path))


def test_the_default_local_store_round_trips(tmp_path: Path, default_tracking: None) -> None:
    result = run(train, tmp_path)
    assert (tmp_path / "mlflow.db").exists()
    stats = tracking.stats(result.run_id)
    assert stats is not None and not stats.pending
    assert stats.tracking_uri == f"sqlite:///{(tmp_path / 'mlflow.db').absolute().as_posix()}"
    assert_same_graph(tracking.load(result.run_id, root=tmp_path), local(result, tmp_path))


def test_steps_are_nested_runs_with_params_metrics_and_tags(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    result = run(train, tmp_path, mlflow_server.uri, text="a,b,c,d", lr=0.5)
    stats = tracking.stats(result.run_id)
    assert stats is not None and stats.mlflow_run_id
    c = client(mlflow_server.uri)
    parent = c.get_run(stats.mlflow_run_id)
    assert c.get_experiment(parent.info.experiment_id).name == "train"
    assert parent.info.status == "FINISHED" and parent.info.run_name == result.run_id
    assert parent.data.params == {"text": "a,b,c,d", "lr": "0.5"}
    assert parent.data.tags["dagwright.run_id"] == result.run_id
    assert [a.path for a in c.list_artifacts(parent.info.run_id)] == ["lineage.json"]
    steps = step_runs(mlflow_server.uri, parent.info.run_id)
    assert set(steps) == {"write", "score"}
    scored, made = steps["score"], steps["write"]
    assert scored.data.params == {"lr": "0.5"}
    assert made.data.params == {"text": "a,b,c,d"}
    assert scored.data.metrics == {"accuracy": 0.75, "rows": 4.0}
    assert scored.info.status == "FINISHED" and scored.info.run_name == "score"
    record = result.step("score")
    tags = scored.data.tags
    assert tags["dagwright.component"] == "score"
    assert tags["dagwright.component_digest"] == score.digest
    assert tags["dagwright.status"] == "succeeded" and tags["dagwright.cached"] == "false"
    assert tags["dagwright.artifact.metrics"] == record.outputs["metrics"].uri
    assert made.data.tags["dagwright.artifact.data"] == result.step("write").outputs["data"].uri


def test_a_failed_step_fails_its_mlflow_runs(tmp_path: Path, mlflow_server: MlflowServer) -> None:
    result = dagwright.run(
        failing, root=tmp_path, echo=False, tracking_uri=mlflow_server.uri, wait_lineage=True
    )
    assert not result.succeeded
    stats = tracking.stats(result.run_id)
    assert stats is not None and not stats.pending and stats.mlflow_run_id
    parent = client(mlflow_server.uri).get_run(stats.mlflow_run_id)
    assert parent.info.status == "FAILED" and parent.data.tags["dagwright.status"] == "failed"
    step = step_runs(mlflow_server.uri, stats.mlflow_run_id)["boom"]
    assert step.info.status == "FAILED" and step.data.tags["dagwright.status"] == "failed"
    assert "ValueError: no luck" in step.data.tags["dagwright.error"]


def test_a_cached_step_links_the_artifact_it_reuses(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    first = run(left, tmp_path, mlflow_server.uri)
    again = run(left, tmp_path, mlflow_server.uri)
    assert again.step("constant").cached
    stats = tracking.stats(again.run_id)
    assert stats is not None and stats.mlflow_run_id
    tags = step_runs(mlflow_server.uri, stats.mlflow_run_id)["constant"].data.tags
    assert tags["dagwright.cached"] == "true"
    assert tags["dagwright.cache_key"] == again.step("constant").cache_key
    assert tags["dagwright.artifact.data"] == first.step("constant").outputs["data"].uri
    merged = Lineage()
    for result in (first, again):
        merged.merge(tracking.load(result.run_id, mlflow_server.uri))
    node = f"artifact:{first.step('constant').outputs['data'].digest}"
    makers = {v for u, v, k in merged.graph.out_edges(node, keys=True) if k == GENERATED_BY}
    assert makers == {step_node(first.run_id, "constant"), step_node(again.run_id, "constant")}


def test_the_same_content_in_two_pipelines_is_one_node_after_merging(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    a = run(left, tmp_path / "a", mlflow_server.uri)
    b = run(right, tmp_path / "b", mlflow_server.uri)  # another store: not a cache hit
    assert not b.step("constant").cached
    merged = Lineage()
    merged.merge(tracking.load(a.run_id, mlflow_server.uri))
    merged.merge(tracking.load(b.run_id, mlflow_server.uri))
    digest = a.step("constant").outputs["data"].digest
    assert digest == b.step("constant").outputs["data"].digest
    artifacts = [n for n, attrs in merged.graph.nodes(data=True) if attrs["kind"] == "artifact"]
    assert sorted(artifacts).count(f"artifact:{digest}") == 1
    node = f"artifact:{digest}"
    makers = {v for u, v, k in merged.graph.out_edges(node, keys=True) if k == GENERATED_BY}
    assert makers == {step_node(a.run_id, "constant"), step_node(b.run_id, "constant")}
    assert len(merged.graph.nodes[node]["uris"]) == 2


def test_a_run_with_mlflow_down_finishes_and_syncs_later(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_TRACKING_FLUSH_TIMEOUT", "2")  # the syncer gives up soon
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.perf_counter()
    result = run(train, tmp_path, down, wait=False)
    assert time.perf_counter() - started < 10  # the run does not wait for MLflow at all
    assert wait_for_syncers(tmp_path)  # its syncer tried, retried, and left the run pending
    state = tracking.state(tmp_path, result.run_id)
    assert state["state"] == "pending" and "Connection" in str(state["error"])
    marker = tmp_path / "lineage" / f"{result.run_id}.pending"
    assert (tmp_path / "lineage" / f"{result.run_id}.json").exists() and marker.exists()
    kept = json.loads(marker.read_text(encoding="utf-8"))
    assert kept["tracking_uri"] == down and len(kept["steps"]) == 2
    assert tracking.pending(tmp_path) == [result.run_id]

    assert tracking.sync(tmp_path, mlflow_server.uri) == [result.run_id]
    assert not marker.exists() and tracking.pending(tmp_path) == []
    assert_same_graph(tracking.load(result.run_id, mlflow_server.uri), local(result, tmp_path))
    found = client(mlflow_server.uri).search_runs(
        [client(mlflow_server.uri).get_experiment_by_name("train").experiment_id],
        f"tags.`dagwright.run_id` = '{result.run_id}' and tags.`dagwright.kind` = 'run'",
    )
    assert len(found) == 1 and found[0].info.status == "FINISHED"
    steps = step_runs(mlflow_server.uri, found[0].info.run_id)
    assert steps["score"].data.metrics == {"accuracy": 0.75, "rows": 3.0}  # from the marker


def test_sync_completes_a_half_uploaded_run(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagwright.lineage import payload
    from dagwright.lineage.uploader import Calls, Uploader

    # tracking off: no marker, the graph alone is the source (nothing to wait for)
    result = run(train, tmp_path, wait=False)
    final, steps = payload.graph_payloads(local(result, tmp_path), result.run_id)
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    uploader, calls = Uploader(mlflow_server.uri), Calls()
    parent = uploader.start_run(final, calls)  # an upload cut short: one step done, one not
    done = next(s for s in steps if s["label"] == "write")
    written = uploader.log_step(parent, done, calls)
    cut = next(s for s in steps if s["label"] == "score")  # created, never finished
    tags = {**cut["tags"], "mlflow.parentRunId": parent.run_id}
    half = uploader.client.create_run(parent.experiment_id, tags=tags)

    assert tracking.sync(tmp_path, mlflow_server.uri, result.run_id) == [result.run_id]
    runs = step_runs(mlflow_server.uri, parent.run_id)
    assert set(runs) == {"write", "score"}
    assert runs["write"].info.run_id == written  # complete already: left alone
    assert runs["score"].info.run_id != half.info.run_id  # the half-made one was replaced
    assert all(r.info.status == "FINISHED" for r in runs.values())
    assert runs["score"].data.params == {"lr": "0.1"}
    assert runs["score"].data.metrics == {"accuracy": 0.75, "rows": 3.0}  # read from the file
    assert uploader.client.get_run(half.info.run_id).info.lifecycle_stage == "deleted"
    assert uploader.client.get_run(parent.run_id).info.status == "FINISHED"
    assert_same_graph(tracking.load(result.run_id, mlflow_server.uri), local(result, tmp_path))


def test_a_20_step_chain_costs_3_calls_per_step(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    run(chain(2, "calls"), tmp_path, mlflow_server.uri)  # the experiment exists now
    before = mlflow_server.rest_calls()
    result = run(chain(20, "calls"), tmp_path, mlflow_server.uri)
    stats = tracking.stats(result.run_id)
    assert stats is not None and not stats.pending and stats.steps == 20
    assert stats.step_calls == 3 * 20  # create with tags, one log_batch, terminate
    # the experiment, what MLflow holds of the run already (none: the upload is idempotent),
    # then create, log_batch, lineage.json, terminate
    assert stats.calls - stats.step_calls == 6
    deadline = time.monotonic() + 5
    while mlflow_server.rest_calls() - before < stats.calls and time.monotonic() < deadline:
        time.sleep(0.05)  # the access log line follows the response
    assert mlflow_server.rest_calls() - before == stats.calls  # the count is the server's count
    assert stats.engine_seconds < 1.0  # the engine's thread only queues: no MLflow call on it


def test_which_sink_a_run_gets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tracking.sink_for(None, tmp_path) is None  # DAGWRIGHT_TRACKING=off (conftest)
    sink = tracking.sink_for("http://127.0.0.1:5000", tmp_path)  # an explicit URI wins
    assert sink is not None and getattr(sink, "tracking_uri", None) == "http://127.0.0.1:5000"
    monkeypatch.delenv("DAGWRIGHT_TRACKING")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    assert tracking.resolve_uri(None, tmp_path) == "http://tracking:5000"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    relative = Path("store")
    monkeypatch.chdir(tmp_path)
    assert (
        tracking.resolve_uri(None, relative) == f"sqlite:///{tmp_path.as_posix()}/store/mlflow.db"
    )
    monkeypatch.setattr(tracking, "mlflow_installed", lambda: False)
    assert tracking.sink_for(None, tmp_path) is None  # lineage stays local


def test_a_deleted_experiment_is_restored_for_the_next_run(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    from mlflow.tracking import MlflowClient

    first = run(train, tmp_path, mlflow_server.uri)
    client = MlflowClient(mlflow_server.uri)
    experiment = client.get_experiment_by_name(first.pipeline)
    assert experiment is not None
    client.delete_experiment(experiment.experiment_id)
    again = run(train, tmp_path, mlflow_server.uri)
    stats = tracking.stats(again.run_id)
    assert stats is not None and not stats.pending, stats
    assert client.get_experiment(experiment.experiment_id).lifecycle_stage == "active"


@component
def flaky(flag: str) -> int:
    import os

    if not os.path.exists(flag):
        raise ValueError("not yet")
    return 1


@pipeline
def retried(flag: str = "") -> int:
    return flaky(flag=flag).output


def test_a_resumed_run_gets_an_mlflow_run_of_its_own(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    flag = tmp_path / "ready"
    first = dagwright.run(
        retried,
        root=tmp_path,
        echo=False,
        tracking_uri=mlflow_server.uri,
        wait_lineage=True,
        flag=str(flag),
    )
    assert not first.succeeded
    flag.write_text("go")
    again = dagwright.resume(
        first.run_id, root=tmp_path, echo=False, tracking_uri=mlflow_server.uri, wait_lineage=True
    )
    assert again.succeeded and again.run_id == first.run_id
    c = client(mlflow_server.uri)
    experiment = c.get_experiment_by_name("retried").experiment_id
    query = f"tags.`dagwright.run_id` = '{first.run_id}' and tags.`dagwright.kind` = 'run'"
    found = c.search_runs([experiment], query)
    assert sorted(r.info.status for r in found) == ["FAILED", "FINISHED"]  # one per execution
    assert tracking.state(tmp_path, first.run_id)["state"] == "in_mlflow"
