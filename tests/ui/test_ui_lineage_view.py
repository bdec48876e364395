"""The lineage page's data from real runs' lineage: a search by artifact name, digest prefix,
step and run, the graph around what it found (data flowing down), and two runs' diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import Dataset, Input, Output, component, pipeline
from dagwright.engine.result import RunResult
from dagwright.errors import ValidationError
from dagwright.ui.lineage_view import lineage_diff, lineage_search


@component
def extract(rows: int, table: Output[Dataset]) -> None:
    with open(table.path, "w") as f:
        f.write("\n".join(str(i) for i in range(rows)))


@component
def featurize(table: Input[Dataset], features: Output[Dataset]) -> None:
    with open(table.path) as src, open(features.path, "w") as out:
        out.write(src.read().upper() + "!")


@component
def fit(features: Input[Dataset], rate: float) -> float:
    with open(features.path) as f:
        return len(f.read()) * rate


@pipeline
def chain(rows: int = 3, rate: float = 0.5) -> float:
    table = extract(rows=rows)
    features = featurize(table=table.outputs["table"])
    return fit(features=features.outputs["features"], rate=rate).output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult, RunResult]:
    store = tmp_path_factory.mktemp("lineage") / "store"
    first = dagwright.run(chain, root=store, echo=False)
    second = dagwright.run(chain, root=store, echo=False, rows=4, rate=0.25)
    assert first.succeeded and second.succeeded
    return store, first, second


def _digest(result: RunResult, task: str, output: str) -> str:
    digest = result.step(task).outputs[output].digest
    assert digest and len(digest) == 64
    return str(digest)


def _check_downward(graph: dict[str, Any]) -> None:
    nodes = {n["id"]: n for n in graph["nodes"]}
    for edge in graph["edges"]:
        assert nodes[edge["source"]]["y"] + nodes[edge["source"]]["h"] < nodes[edge["target"]]["y"]


def test_an_artifact_found_by_digest_prefix_with_its_neighbourhood(runs: Any) -> None:
    store, first, _ = runs
    digest = _digest(first, "featurize", "features")
    found = lineage_search(store, digest[:10])
    assert [m["id"] for m in found["matches"]] == [f"artifact:{digest}"]
    assert found["matches"][0]["name"] == "features"
    assert found["matches"][0]["label"] == f"features@{digest[:12]}"
    graph = found["graph"]
    nodes = {n["id"]: n for n in graph["nodes"]}
    run = first.run_id
    made_by, used_by = f"step:{run}/featurize", f"step:{run}/fit"
    table = f"artifact:{_digest(first, 'extract', 'table')}"
    # depth 2: the step that made it and what that step used; the step that used it
    assert {made_by, used_by, table} <= set(nodes)
    assert nodes[f"artifact:{digest}"]["match"] and not nodes[made_by]["match"]
    assert nodes[made_by]["label"] == "featurize" and nodes[made_by]["run_id"] == run
    assert nodes[made_by]["status"] == "succeeded"
    edges = {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}
    assert (made_by, f"artifact:{digest}", "wasGeneratedBy") in edges  # cause above effect
    assert (f"artifact:{digest}", used_by, "used") in edges
    assert (table, made_by, "used") in edges
    assert f"step:{run}/extract" not in nodes  # three edges up: past depth 2
    _check_downward(graph)
    deeper = {n["id"] for n in lineage_search(store, digest[:10], depth=3)["graph"]["nodes"]}
    assert f"step:{run}/extract" in deeper
    everything = {n["id"] for n in lineage_search(store, digest[:10], depth=None)["graph"]["nodes"]}
    assert deeper <= everything
    with pytest.raises(ValidationError) as caught:
        lineage_search(store, digest[:10], depth=-1)
    assert caught.value.field == "depth"


def test_the_graph_is_capped(runs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagwright.ui import lineage_view

    store, _, _ = runs
    assert len(lineage_search(store, "featur", depth=None)["graph"]["nodes"]) > 5
    monkeypatch.setattr(lineage_view, "MAX_NODES", 5)
    graph = lineage_search(store, "featur", depth=None)["graph"]
    assert len(graph["nodes"]) == 5
    assert sum(n["match"] for n in graph["nodes"]) == 4  # the matches first


def test_an_artifact_found_by_name_in_both_runs(runs: Any) -> None:
    store, first, second = runs
    found = lineage_search(store, "Features")  # case does not matter
    artifacts = [m for m in found["matches"] if m["kind"] == "artifact"]
    assert {m["digest"] for m in artifacts} == {
        _digest(first, "featurize", "features"),
        _digest(second, "featurize", "features"),
    }
    assert len(found["matches"]) == 2
    assert {n["run_id"] for n in found["graph"]["nodes"] if n["kind"] == "step"} == {
        first.run_id,
        second.run_id,
    }
    _check_downward(found["graph"])
    # a prefix: of the artifacts' names and of the steps' tasks; artifacts first
    found = lineage_search(store, "featur")
    assert [m["kind"] for m in found["matches"]] == ["artifact", "artifact", "step", "step"]
    assert {m["task"] for m in found["matches"][2:]} == {"featurize"}
    # a task's name: its step in each run
    assert {m["id"] for m in lineage_search(store, "fit")["matches"]} == {
        f"step:{first.run_id}/fit",
        f"step:{second.run_id}/fit",
    }


def test_a_step_and_a_run_by_name(runs: Any) -> None:
    store, first, _ = runs
    found = lineage_search(store, f"{first.run_id}/fit")
    assert found["matches"][0]["id"] == f"step:{first.run_id}/fit"
    assert lineage_search(store, first.run_id[:-2])["matches"][0]["id"] == f"run:{first.run_id}"


def test_no_match_and_no_lineage_give_empty_results(runs: Any, tmp_path: Path) -> None:
    store, _, _ = runs
    empty = {"matches": [], "graph": {"nodes": [], "edges": [], "width": 0.0, "height": 0.0}}
    assert lineage_search(store, "no-such-thing") == empty
    assert lineage_search(tmp_path / "nothing", "features") == empty
    with pytest.raises(ValidationError) as caught:
        lineage_search(store, "  ")
    assert caught.value.field == "q"


def test_the_diff_of_two_runs_as_plain_json(runs: Any) -> None:
    store, first, second = runs
    diff = lineage_diff(store, first.run_id, second.run_id)
    assert diff["run_a"] == first.run_id and diff["run_b"] == second.run_id
    assert {p["name"]: (p["before"], p["after"]) for p in diff["params"]} == {
        "rows": ("3", "4"),
        "rate": ("0.5", "0.25"),
    }
    changed = {i["step"]: i for i in diff["inputs"]}
    assert set(changed) == {"extract", "featurize", "fit"}
    assert changed["featurize"]["removed"] == [_digest(first, "extract", "table")]
    assert diff["same"] is False
    with pytest.raises(ValidationError) as caught:
        lineage_diff(store, first.run_id, "no-such-run")
    assert caught.value.field == "RUN_B"


def test_bad_a_search_holding_a_nul_is_refused_naming_q(runs: Any) -> None:
    # typed into the page's search box it reaches /api/lineage?q=%00: a 400, not a 500
    store, _, _ = runs
    with pytest.raises(ValidationError) as caught:
        lineage_search(store, "features\x00")
    assert caught.value.field == "q" and caught.value.fix
