"""A loop's iterations through the API: one step execution per ``?iteration=``, its loop
item read back from the run's lineage, its own log, and the collected values downstream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from ui_server_helpers import SECRET, Server, call, dagwright, start, write_pipelines

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def looped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    folder = tmp_path_factory.mktemp("ui-loops")
    home = folder / "store"
    dagwright(home, "run", str(write_pipelines(folder)["looped"]))
    (run,) = json.loads(dagwright(home, "runs", "ls", "--json").stdout)
    server = start(home)
    yield server, run["run_id"]
    server.stop()


def _get(server: Server, path: str) -> dict:
    answer = call(server.base + path)
    assert answer.status == 200, answer.text
    assert SECRET not in answer.text
    return answer.json


def test_each_iteration_has_its_item_and_log(looped: tuple[Server, str]) -> None:
    server, run_id = looped
    for index, item in enumerate([1, 2, 3]):
        step = _get(server, f"/api/runs/{run_id}/steps/square?iteration={index}")
        assert step["iteration"] == str(index)
        assert step["parameters"] == {"x": item, "api_token": "***"}
        assert step["outputs"] == {"output": item * item}
        log = _get(server, f"/api/runs/{run_id}/logs/square?iteration={index}")
        assert log["text"] == f"square of {item} with ***\n"
    first = _get(server, f"/api/runs/{run_id}/steps/square")
    assert [i["iteration"] for i in first["iterations"]] == ["0", "1", "2"]
    assert {i["status"] for i in first["iterations"]} == {"succeeded"}
    missing = call(server.base + f"/api/runs/{run_id}/steps/square?iteration=0,1")
    assert missing.status == 404 and missing.json["field"] == "iteration"


def test_collected_values_reach_the_step_downstream(looped: tuple[Server, str]) -> None:
    server, run_id = looped
    total = _get(server, f"/api/runs/{run_id}/steps/total")
    assert total["parameters"] == {"xs": [1, 4, 9]}
    assert total["outputs"] == {"output": 14}


def test_the_graph_collapses_the_loop(looped: tuple[Server, str]) -> None:
    server, run_id = looped
    graph = _get(server, f"/api/runs/{run_id}")["graph"]
    (square,) = [n for n in graph["nodes"] if n.get("task") == "square"]
    assert square["iterations"] == {"total": 3, "by_status": {"succeeded": 3}}
    assert any(n["kind"] == "block" and n["block"] == "parallel_for" for n in graph["nodes"])
