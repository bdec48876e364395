"""``dagwright ui``'s JSON API, from a real server process over a store made by real runs:
each route's shape, the runs page's filters and pagination, masking, 4xx answers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from ui_server_helpers import SECRET, Server, call, dagwright, start, write_pipelines

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs of ``demo``, one failed ``broken`` run, and a schedule."""
    folder = tmp_path_factory.mktemp("ui-api")
    home = folder / "store"
    files = write_pipelines(folder)
    dagwright(home, "run", str(files["demo"]), "-p", "n=2")
    time.sleep(0.05)  # distinct start times: the runs page is newest first
    dagwright(home, "run", str(files["demo"]), "-p", "n=3")
    time.sleep(0.05)
    flag = folder / "flag"
    failed = dagwright(home, "run", str(files["broken"]), "-p", f"flag={flag}", check=False)
    assert failed.returncode == 1, failed.stderr
    dagwright(
        home, "schedule", "add", str(files["demo"]), "--cron", "0 3 * * *", "--name", "nightly"
    )
    listed = json.loads(dagwright(home, "runs", "ls", "--json").stdout)
    return {"home": home, "flag": flag, "runs": [r["run_id"] for r in listed]}


@pytest.fixture(scope="module")
def server(store: dict[str, Any]) -> Iterator[Server]:
    found = start(store["home"])
    yield found
    found.stop()


def get(server: Server, path: str) -> Any:
    answer = call(server.base + path)
    assert answer.status == 200, answer.text
    assert SECRET not in answer.text
    return answer.json


def error(server: Server, path: str, status: int, field: str | None, method: str = "GET") -> Any:
    answer = call(server.base + path, method=method, headers={"X-Dagwright": "1"})
    assert answer.status == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json
    assert set(body) == {"error", "field", "fix"} and body["field"] == field, body
    assert "Traceback" not in answer.text
    return body


def test_the_runs_page_is_runs_ls_json_with_a_total(server: Server, store: dict[str, Any]) -> None:
    page = get(server, "/api/runs")
    ls = json.loads(dagwright(store["home"], "runs", "ls", "--json").stdout)
    assert page["total"] == 3
    assert [r["run_id"] for r in page["runs"]] == [r["run_id"] for r in ls]
    assert page["runs"][0].keys() == ls[0].keys()
    assert all("ir" not in r for r in page["runs"])
    demo = [r for r in page["runs"] if r["pipeline"] == "demo"]
    assert {r["params"]["api_token"] for r in demo} == {"***"}


def test_the_runs_page_pages_in_order(server: Server, store: dict[str, Any]) -> None:
    newest_first = store["runs"]
    pages = [get(server, f"/api/runs?limit=1&offset={i}") for i in range(3)]
    assert [p["runs"][0]["run_id"] for p in pages] == newest_first
    assert {p["total"] for p in pages} == {3}
    beyond = get(server, "/api/runs?limit=2&offset=3")
    assert beyond == {"runs": [], "total": 3}


def test_the_runs_page_filters(server: Server) -> None:
    demo = get(server, "/api/runs?pipeline=demo")
    assert demo["total"] == 2 and {r["pipeline"] for r in demo["runs"]} == {"demo"}
    failed = get(server, "/api/runs?status=failed")
    assert failed["total"] == 1 and failed["runs"][0]["pipeline"] == "broken"
    both = get(server, "/api/runs?status=failed&status=succeeded")
    assert both["total"] == 3
    assert get(server, "/api/runs?since=2h")["total"] == 3
    assert get(server, "/api/runs?since=2999-01-01")["total"] == 0
    assert get(server, "/api/runs?before=2000-01-01")["total"] == 0
    combined = get(server, "/api/runs?pipeline=demo&status=failed")
    assert combined == {"runs": [], "total": 0}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=100000", "limit"),
        ("offset=-1", "offset"),
        ("status=exploded", "status"),
        ("since=yesterday-ish", "since"),
        ("before=soon", "before"),
    ],
)
def test_bad_query_values_are_400_json(server: Server, query: str, field: str) -> None:
    body = error(server, f"/api/runs?{query}", 400, field)
    assert body["fix"]


def test_a_run_is_runs_show_json_with_a_graph(server: Server, store: dict[str, Any]) -> None:
    run_id = store["runs"][-1]  # the first demo run
    cli = dagwright(store["home"], "runs", "show", run_id, "--json").stdout
    shown = json.loads(cli, parse_constant=str)  # the CLI writes NaN bare; the API as "NaN"
    found = get(server, f"/api/runs/{run_id[:-2]}")  # a prefix, as the CLI takes
    assert found["run_id"] == run_id
    assert "graph" in found and "ir" not in found
    assert {k: v for k, v in found.items() if k != "graph"} == shown
    assert [s["task"] for s in found["steps"]] == ["make", "add"]
    tasks = {n["task"]: n["status"] for n in found["graph"]["nodes"] if n["kind"] == "task"}
    assert tasks == {"make": "succeeded", "add": "succeeded"}
    assert [(e["source"], e["target"]) for e in found["graph"]["edges"]] == [("make", "add")]
    assert found["params"]["api_token"] == "***"
    assert "***" in found["steps"][0]["stdout"]


def test_unknown_runs_steps_and_iterations_are_404(server: Server, store: dict[str, Any]) -> None:
    run_id = store["runs"][-1]
    error(server, "/api/runs/no-such-run", 404, "run_id")
    # a prefix of both demo runs: 400 naming the API's own field, as the 404 does
    assert "more than one run" in error(server, "/api/runs/demo-", 400, "run_id")["error"]
    error(server, "/api/runs/no-such-run/steps/make", 404, "run_id")
    error(server, f"/api/runs/{run_id}/steps/nothing", 404, "task")
    error(server, f"/api/runs/{run_id}/steps/make?iteration=3", 404, "iteration")
    error(server, f"/api/runs/{run_id}/steps/make?iteration=x", 400, "iteration")
    # digits str.isdigit takes and int() refuses (a superscript, too many digits): 400, not 500
    error(server, f"/api/runs/{run_id}/steps/make?iteration=%C2%B2", 400, "iteration")
    error(server, f"/api/runs/{run_id}/logs/make?iteration={'9' * 5000}", 400, "iteration")
    error(server, f"/api/runs/{run_id}/logs/make?stream=stdin", 400, "stream")
    error(server, "/api/no/such/route", 404, None)


def test_a_step_has_its_parameters_masked_and_artifacts_with_previews(
    server: Server, store: dict[str, Any]
) -> None:
    run_id = store["runs"][-1]
    step = get(server, f"/api/runs/{run_id}/steps/make")
    assert step["status"] == "succeeded" and step["attempts"] == 1
    assert step["component"]["name"] == "make" and len(step["component"]["digest"]) == 64
    assert step["parameters"] == {"n": 2, "api_token": "***"}
    for key in ("cached", "cache_key", "error", "traceback", "stdout", "stderr", "iterations"):
        assert key in step
    scores = step["outputs"]["scores"]
    assert scores["type"] == "Metrics" and scores["metadata"] == {"accuracy": 0.7, "loss": "NaN"}
    assert scores["preview_url"] == "/api/artifacts/preview?uri=" + quote(scores["uri"], safe="")
    assert step["outputs"]["output"] == 4
    add = get(server, f"/api/runs/{run_id}/steps/add")
    assert add["parameters"] == {"x": 4}


def test_logs_are_read_from_an_offset(server: Server, store: dict[str, Any]) -> None:
    run_id = store["runs"][-1]
    whole = get(server, f"/api/runs/{run_id}/logs/make")
    assert whole["text"] == "using *** for 2\n" and whole["done"] is True
    assert whole["offset"] == len(whole["text"].encode())
    rest = get(server, f"/api/runs/{run_id}/logs/make?offset=6")
    assert rest["text"] == whole["text"][6:] and rest["offset"] == whole["offset"]
    failed = store["runs"][0]
    stderr = get(server, f"/api/runs/{failed}/logs/check?stream=stderr")
    assert stderr["done"] is True


def test_previews_come_from_the_previews_module(server: Server, store: dict[str, Any]) -> None:
    run_id = store["runs"][-1]
    outputs = get(server, f"/api/runs/{run_id}/steps/make")["outputs"]
    metrics = get(server, outputs["scores"]["preview_url"])
    assert metrics["kind"] == "metrics"
    assert [row[0] for row in metrics["rows"]] == ["accuracy", "loss"]
    assert metrics["rows"][0][1] == 0.7  # and NaN in a form JSON.parse reads (``get`` checks)
    html = get(server, outputs["page"]["preview_url"])
    assert html["kind"] == "html"
    page = call(server.base + html["raw_url"])
    assert page.status == 200 and page.text.startswith("<script>")
    assert page.headers["content-security-policy"].startswith("sandbox allow-scripts;")
    notes = get(server, outputs["notes"]["preview_url"])
    assert notes["kind"] == "markdown" and "render=md" in notes["raw_url"]
    rendered = call(server.base + notes["raw_url"])
    assert rendered.status == 200 and "<h1>Notes</h1>" in rendered.text
    assert "<script>" not in rendered.text and "<em>fine</em>" in rendered.text
    # rendered Markdown is sanitized and runs no script at all: a sandbox without allow-scripts
    assert rendered.headers["content-security-policy"].startswith("sandbox;")
    error(server, "/api/artifacts/preview", 400, "uri")
    missing = outputs["scores"]["uri"] + "-not-there"
    error(server, "/api/artifacts/preview?uri=" + quote(missing, safe=""), 404, "uri")


def test_compare_puts_runs_side_by_side(server: Server, store: dict[str, Any]) -> None:
    second, first = store["runs"][1], store["runs"][2]
    found = get(server, f"/api/compare?runs={first},{second}")
    assert [r["run_id"] for r in found["runs"]] == [first, second]
    assert found["params"] == ["api_token", "n"]
    assert found["metrics"] == ["make.accuracy", "make.loss"]
    assert [r["params"]["n"] for r in found["runs"]] == [2, 3]
    assert [r["metrics"]["make.accuracy"] for r in found["runs"]] == [0.7, 0.8]
    diff = found["lineage_diff"][second]
    assert [p["name"] for p in diff["params"]] == ["n"]
    error(server, f"/api/compare?runs={first}", 400, "runs")
    error(server, f"/api/compare?runs={first},nope", 404, "run_id")


def test_lineage_search_finds_a_run_and_its_graph(server: Server, store: dict[str, Any]) -> None:
    run_id = store["runs"][-1]
    found = get(server, f"/api/lineage?q={run_id}")
    assert [m["id"] for m in found["matches"]] == [f"run:{run_id}"]
    ids = {n["id"] for n in found["graph"]["nodes"]}
    assert f"step:{run_id}/make" in ids and f"step:{run_id}/add" in ids
    assert all({"x", "y", "w", "h", "kind", "label"} <= n.keys() for n in found["graph"]["nodes"])
    assert found["graph"]["edges"]
    by_name = get(server, "/api/lineage?q=scores")
    assert len(by_name["matches"]) == 2  # one Metrics artifact per demo run
    assert {m["kind"] for m in by_name["matches"]} == {"artifact"}
    error(server, "/api/lineage?q=", 400, "q")


def test_pipeline_and_schedules(server: Server, store: dict[str, Any]) -> None:
    run_id = store["runs"][-1]
    pipeline = get(server, f"/api/pipeline?run={run_id}")
    assert pipeline["pipeline"] == "demo"
    nodes = pipeline["graph"]["nodes"]
    assert {n["task"] for n in nodes} == {"make", "add"}
    assert {n["status"] for n in nodes} == {None}  # the DAG before it runs
    error(server, "/api/pipeline", 400, "run")
    (schedule,) = get(server, "/api/schedules")["schedules"]
    assert schedule["name"] == "nightly" and schedule["cron"] == "0 3 * * *"
    assert schedule["paused"] is False and len(schedule["next"]) == 3
    assert schedule["params"] == {} and schedule["last_runs"] == []
    headers = {"X-Dagwright": "1"}
    paused = call(server.base + "/api/schedules/nightly/pause", method="POST", headers=headers)
    assert paused.status == 200 and paused.json == {"name": "nightly", "paused": True}
    listed = json.loads(dagwright(store["home"], "schedule", "ls", "--json").stdout)
    assert listed[0]["state"] == "paused"
    assert get(server, "/api/schedules")["schedules"][0]["next"] == []
    resumed = call(server.base + "/api/schedules/nightly/resume", method="POST", headers=headers)
    assert resumed.json == {"name": "nightly", "paused": False}
    error(server, "/api/schedules/nope/pause", 404, "name", method="POST")


def test_cancel_of_a_finished_run_is_refused(server: Server, store: dict[str, Any]) -> None:
    run_id = store["runs"][-1]
    body = error(server, f"/api/runs/{run_id}/cancel", 409, "run_id", method="POST")
    assert "not running" in body["error"]
    error(server, "/api/runs/nope/cancel", 404, "run_id", method="POST")


def test_resume_runs_a_failed_run_again(server: Server, store: dict[str, Any]) -> None:
    failed = store["runs"][0]
    store["flag"].write_text("now it may pass")
    answer = call(
        server.base + f"/api/runs/{failed}/resume", method="POST", headers={"X-Dagwright": "1"}
    )
    assert answer.status == 202 and answer.json == {"run_id": failed}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if get(server, f"/api/runs/{failed}")["status"] == "succeeded":
            break
        time.sleep(0.2)
    found = get(server, f"/api/runs/{failed}")
    assert found["status"] == "succeeded", found
    assert found["steps"][0]["outputs"] == {"output": "ok"}


def test_no_answer_holds_the_secret(server: Server, store: dict[str, Any], tmp_path: Path) -> None:
    """Every route a secret could pass through (``get`` checks each answer)."""
    for run_id in store["runs"]:
        get(server, f"/api/runs/{run_id}")
        found = get(server, f"/api/runs/{run_id}")
        for step in found["steps"]:
            get(server, f"/api/runs/{run_id}/steps/{step['task']}")
            get(server, f"/api/runs/{run_id}/logs/{step['task']}")
    get(server, f"/api/compare?runs={store['runs'][1]},{store['runs'][2]}")
    get(server, "/api/lineage?q=api_token")
    get(server, "/api/runs")


def test_a_reports_step_panels_show_what_the_live_panels_show(
    server: Server, store: dict[str, Any]
) -> None:
    # `runs show --html` and the UI read a step's parameters and inputs the same way: an
    # upstream value (add's x, made by make) is a parameter in both, secrets masked in both
    from dagwright.ui.exports import run_report

    run_id = store["runs"][-1]
    details = run_report(store["home"], run_id)["steps_detail"]
    assert details["add"]["parameters"] == {"x": 4}
    for task in ("make", "add"):
        live = get(server, f"/api/runs/{run_id}/steps/{task}")
        assert details[task]["parameters"] == live["parameters"], task
        assert {k: v["uri"] for k, v in details[task]["inputs"].items()} == {
            k: v["uri"] for k, v in live["inputs"].items()
        }, task
