"""Steps run by KFP (through kfp.local) and by the Argo controller stand-in record the same
lineage in MLflow as a local run. The MLflow store is a SQLite file the pods share; no KFP
backend or Argo controller runs here (see tests/compiler for how each target is exercised)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import dagwright
from dagwright.lineage import tracking
from dagwright.lineage.graph import GENERATED_BY, Lineage
from dagwright.lineage.recorder import load as load_local
from dagwright.verify.kfp_local import init

pytest.importorskip("mlflow")
COMPILER_TESTS = Path(__file__).resolve().parents[1] / "compiler"
sys.path.insert(0, str(COMPILER_TESTS))
import kfp_corpus as corpus  # noqa: E402


def _pipeline_run(uri: str, pipeline: str) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(pipeline)
    assert experiment is not None
    runs = client.search_runs(
        [experiment.experiment_id], "tags.`dagwright.kind` = 'run'", order_by=["start_time ASC"]
    )
    assert len(runs) == 1, [r.info.run_id for r in runs]  # one parent however many pods
    return str(runs[0].info.run_id)


def _shape(lineage: Lineage) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """Task names, artifact nodes, and which task generated which artifact."""
    graph = lineage.graph
    task = {n: a["task"].split("@")[0] for n, a in graph.nodes(data=True) if a["kind"] == "step"}
    artifacts = {n for n, a in graph.nodes(data=True) if a["kind"] == "artifact"}
    made = {(u, task[v]) for u, v, k in graph.edges(keys=True) if k == GENERATED_BY}
    return set(task.values()), artifacts, made


def _local_shape(pipeline: Any, root: Path) -> Any:
    result = dagwright.run(pipeline, echo=False, root=root)
    return _shape(load_local(root / "lineage" / f"{result.run_id}.json"))


def test_kfp_pods_record_the_same_lineage(tmp_path: Path) -> None:
    from kfp import components

    uri = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    spec = tmp_path / "spec.yaml"
    dagwright.compile(corpus.artifact_types, target="kfp", path=spec, tracking_uri=uri)
    init(tmp_path / "kfp")
    components.load_component_from_file(str(spec))()
    recorded = tracking.load(_pipeline_run(uri, "artifact-types"), uri)
    assert _shape(recorded) == _local_shape(corpus.artifact_types, tmp_path / "local")


def test_argo_pods_record_the_same_lineage(tmp_path: Path) -> None:
    from argo_controller import ArgoControllerStandIn

    uri = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    manifest = yaml.safe_load(
        dagwright.compile(corpus.artifact_types, target="argo", tracking_uri=uri)
    )
    assert ArgoControllerStandIn(manifest, tmp_path / "argo").run().phase == "Succeeded"
    recorded = tracking.load(_pipeline_run(uri, "artifact-types"), uri)
    assert _shape(recorded) == _local_shape(corpus.artifact_types, tmp_path / "local")


def test_parallel_pods_share_one_pipeline_run(tmp_path: Path) -> None:
    """Loop iterations start together; whichever pods made a pipeline run, one is kept."""
    from kfp import components

    uri = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    spec = tmp_path / "spec.yaml"
    dagwright.compile(corpus.loop_over_param, target="kfp", path=spec, tracking_uri=uri)
    init(tmp_path / "kfp")
    components.load_component_from_file(str(spec))(xs=[1, 2, 3, 4])
    recorded = tracking.load(_pipeline_run(uri, "loop-over-param"), uri)
    tasks = sorted(
        a["task"].split("@")[0] for _, a in recorded.graph.nodes(data=True) if a["kind"] == "step"
    )
    assert tasks == ["square"] * 4 + ["total"]
