"""The graph JSON of pipelines and of real runs read back from the run database: blocks and
their parents, edges, a loop task's iterations by status, skipped branches, cached reruns and
a run still going."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import (
    Elif,
    Else,
    ExitHandler,
    If,
    ParallelFor,
    PipelineTaskFinalStatus,
    component,
    pipeline,
)
from dagwright.store.rundb import RunDatabase
from dagwright.ui.graph import pipeline_graph, run_graph


@component
def num(n: int) -> int:
    return n


@component
def add(a: int, b: int) -> int:
    if (a, b) == (2, 1):
        raise ValueError("iteration 2,1 fails")
    return a + b


@component
def show(x: int) -> str:
    return str(x)


@component
def cleanup(status: PipelineTaskFinalStatus) -> str:
    return status.state


@pipeline
def inner(x: int) -> int:
    first = num(n=x)
    return add(a=first.output, b=10).output


@pipeline
def flows(n: int = 3) -> None:
    done = cleanup()
    with ExitHandler(done):
        first = num(n=n)
        with If(first.output > 5):
            show(x=first.output)
        with Elif(first.output > 1):
            show(x=first.output).set_display_name("middle")
        with Else():
            show(x=0)
        with ParallelFor([1, 2, 3]) as i:
            with ParallelFor([1, 2]) as j:
                add(a=i, b=j)
        sub = inner(x=first.output)
        last = show(x=sub.output)
        num(n=1).after(last)


def _recorded(store: Path, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """What the UI reads: the IR, the step rows and the status the run database keeps."""
    db = RunDatabase(store / "runs.db")
    try:
        row = db.find_run(run_id)
        return json.loads(row["ir"]), db.steps(run_id), row["status"]
    finally:
        db.close()


def _by_id(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in graph["nodes"]}


def _edges(graph: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}


def test_a_pipeline_graph_has_every_block_with_its_parent_and_every_edge() -> None:
    graph = pipeline_graph(flows.ir.to_dict())
    nodes = _by_id(graph)
    blocks = {n["id"]: (n["block"], n["parent"]) for n in graph["nodes"] if n["kind"] == "block"}
    assert blocks == {
        "exit-handler-1": ("exit_handler", None),
        "condition-1": ("if", "exit-handler-1"),
        "condition-2": ("elif", "exit-handler-1"),
        "condition-3": ("else", "exit-handler-1"),
        "loop-1": ("parallel_for", "exit-handler-1"),
        "loop-2": ("parallel_for", "loop-1"),
        "inner": ("pipeline", "exit-handler-1"),
    }
    tasks = {n["id"]: n["parent"] for n in graph["nodes"] if n["kind"] == "task"}
    assert tasks == {
        "cleanup": None,
        "num": "exit-handler-1",
        "show": "condition-1",
        "show-2": "condition-2",
        "show-3": "condition-3",
        "add": "loop-2",
        "inner-num": "inner",
        "inner-add": "inner",
        "show-4": "exit-handler-1",
        "num-2": "exit-handler-1",
    }
    assert all(nodes[t]["task"] == t and nodes[t]["block"] is None for t in tasks)
    assert nodes["show-2"]["label"] == "middle"  # the display name, the task name kept
    assert nodes["condition-1"]["label"] == "If num.output > 5"
    assert nodes["condition-2"]["label"] == "Elif num.output > 1"  # its own condition
    assert nodes["condition-3"]["label"] == "Else"
    assert nodes["loop-2"]["label"] == "ParallelFor [1, 2]"
    assert _edges(graph) == {
        ("num", "show", "data"),
        ("num", "show-2", "data"),
        ("num", "inner-num", "data"),
        ("inner-num", "inner-add", "data"),
        ("inner-add", "show-4", "data"),
        ("show-4", "num-2", "after"),
        # the blocks' conditions read num
        ("num", "condition-1", "data"),
        ("num", "condition-2", "data"),
        ("num", "condition-3", "data"),
        # the exit task reads its block's final status
        ("exit-handler-1", "cleanup", "data"),
    }
    assert {n["status"] for n in graph["nodes"]} == {None}
    assert {str(n["iterations"]) for n in graph["nodes"]} == {"None"}


def test_a_run_with_a_failing_iteration_and_false_branches(store: Path) -> None:
    result = dagwright.run(flows, root=store, echo=False, keep_going=True)
    assert result.status == "failed"
    ir, steps, status = _recorded(store, result.run_id)
    graph = run_graph(ir, steps, status)
    nodes = _by_id(graph)
    assert nodes["add"]["status"] == "failed"  # one iteration of six: the worst shows
    assert nodes["add"]["iterations"] == {"total": 6, "by_status": {"succeeded": 5, "failed": 1}}
    assert nodes["loop-2"]["status"] == nodes["loop-1"]["status"] == "failed"
    assert nodes["exit-handler-1"]["status"] == "failed"
    # n=3: the If and the Else are false, the Elif runs
    assert nodes["show"]["status"] == nodes["show-3"]["status"] == "skipped"
    assert nodes["condition-1"]["status"] == nodes["condition-3"]["status"] == "skipped"
    assert nodes["show-2"]["status"] == nodes["condition-2"]["status"] == "succeeded"
    assert nodes["cleanup"]["status"] == "succeeded"
    assert nodes["inner"]["status"] == "succeeded"
    assert all(nodes[t]["iterations"] is None for t in ("num", "show-2", "inner-add"))
    # without the run's status: it has ended (no row running), so the same statuses
    assert _by_id(run_graph(ir, steps))["show"]["status"] == "skipped"


@component(cache=True)
def square(x: int) -> int:
    return x * x


@pipeline
def squares(items: list[int]) -> None:
    with ParallelFor(items) as item:
        doubled = square(x=item)
    first = square(x=100)
    show(x=first.output)
    num(n=1).after(doubled)


def test_a_cached_rerun_is_cached_only_where_every_iteration_came_from_the_cache(
    store: Path,
) -> None:
    dagwright.run(squares, root=store, echo=False, items=[1, 2])
    again = dagwright.run(squares, root=store, echo=False, items=[1, 2])
    more = dagwright.run(squares, root=store, echo=False, items=[1, 2, 3])
    nodes = _by_id(run_graph(*_recorded(store, again.run_id)))
    assert nodes["square"]["status"] == "cached"
    assert nodes["square"]["iterations"] == {"total": 2, "by_status": {"cached": 2}}
    assert nodes["square-2"]["status"] == "cached"
    assert nodes["show"]["status"] == "succeeded"  # not a cached component
    nodes = _by_id(run_graph(*_recorded(store, more.run_id)))
    assert nodes["square"]["status"] == "succeeded"  # item 3 ran
    assert nodes["square"]["iterations"] == {
        "total": 3,
        "by_status": {"cached": 2, "succeeded": 1},
    }
    assert nodes["loop-1"]["status"] == "succeeded"
    assert ("loop-1", "num", "after") not in _edges(run_graph(*_recorded(store, more.run_id)))
    assert ("square", "num", "after") in _edges(run_graph(*_recorded(store, more.run_id)))


@component
def wait_for(path: str) -> str:
    deadline = time.monotonic() + 60
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.02)
    return path


@pipeline
def gated(path: str) -> None:
    opened = wait_for(path=path)
    with ParallelFor([1, 2]) as i:
        num(n=i).after(opened)
    show(x=1).after(opened)


def test_a_run_still_going_shows_its_running_step_and_pending_ones(
    store: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    ended: list[Any] = []
    worker = threading.Thread(
        target=lambda: ended.append(dagwright.run(gated, root=store, echo=False, path=str(gate))),
    )
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            db = RunDatabase(store / "runs.db") if (store / "runs.db").exists() else None
            rows = db.runs(1) if db else []
            steps = db.steps(rows[0]["run_id"]) if rows else []
            if db:
                db.close()
            if any(s["status"] == "running" for s in steps):
                break
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.02)
        ir, steps, status = _recorded(store, rows[0]["run_id"])
        assert status == "running"
        nodes = _by_id(run_graph(ir, steps, status))
        assert nodes["wait-for"]["status"] == "running"
        assert nodes["show"]["status"] == nodes["num"]["status"] == "pending"
        # the loop's items are a literal list: its two iterations are still to come
        assert nodes["num"]["iterations"] == {"total": 2, "by_status": {"pending": 2}}
        assert nodes["loop-1"]["status"] == "pending"
        # the run's status inferred from its rows: one is running, so the run is going
        assert _by_id(run_graph(ir, steps))["show"]["status"] == "pending"
    finally:
        gate.touch()
        worker.join(60)
    assert ended and ended[0].status == "succeeded"
    nodes = _by_id(run_graph(*_recorded(store, ended[0].run_id)))
    assert nodes["num"]["iterations"] == {"total": 2, "by_status": {"succeeded": 2}}
    assert {n["status"] for n in nodes.values()} == {"succeeded"}


def test_a_run_without_rows_yet_is_all_pending() -> None:
    graph = run_graph(flows.ir.to_dict(), None)
    assert {n["status"] for n in graph["nodes"]} == {"pending"}
    graph = run_graph(flows.ir.to_dict(), [], "interrupted")  # may still be resumed
    assert {n["status"] for n in graph["nodes"]} == {"pending"}


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_a_task_an_ended_run_never_reached_is_skipped(status: str) -> None:
    ir = flows.ir.to_dict()
    steps = [{"task": "num", "iteration": "", "status": "succeeded", "cached": False}]
    nodes = _by_id(run_graph(ir, steps, status))
    assert nodes["num"]["status"] == "succeeded"
    assert nodes["show-4"]["status"] == "skipped"
    assert nodes["exit-handler-1"]["status"] == "succeeded"  # skipped ranks below succeeded


def test_a_block_whose_condition_failed_shows_the_engines_row() -> None:
    ir = flows.ir.to_dict()
    steps = [
        {"task": "num", "iteration": "", "status": "succeeded", "cached": False},
        {"task": "condition-1", "iteration": "", "status": "failed", "cached": False},
        {"task": "show", "iteration": "", "status": "upstream_failed", "cached": False},
    ]
    nodes = _by_id(run_graph(ir, steps, "failed"))
    assert nodes["condition-1"]["status"] == "failed"
    assert nodes["show"]["status"] == "upstream_failed"
    assert nodes["exit-handler-1"]["status"] == "failed"


def test_a_block_named_as_a_task_keeps_distinct_node_ids() -> None:
    ir = {
        "name": "clash",
        "groups": [{"id": "x", "kind": "loop", "items": {"constant": [1]}}],
        "tasks": [
            {"name": "x", "component": "c", "inputs": {}},
            {"name": "y", "component": "c", "inputs": {}, "group": "x", "after": ["x"]},
        ],
    }
    graph = pipeline_graph(ir)
    nodes = _by_id(graph)
    assert nodes["block:x"]["kind"] == "block" and nodes["x"]["kind"] == "task"
    assert nodes["y"]["parent"] == "block:x"
    assert _edges(graph) == {("x", "y", "after")}


@pipeline
def guarded(api_token: str, n: int = 1) -> None:
    with If(api_token == "hunter2"):
        num(n=n)
    with ParallelFor(
        ["https://user:pa55word@example.com/x", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]
    ):
        num(n=2)


def test_block_labels_never_show_a_secret() -> None:
    text = json.dumps(pipeline_graph(guarded.ir.to_dict()))
    assert "hunter2" not in text and "pa55word" not in text and "a1B2" not in text
    nodes = _by_id(pipeline_graph(guarded.ir.to_dict()))
    assert nodes["condition-1"]["label"] == "If api_token == ***"
    assert nodes["loop-1"]["label"] == 'ParallelFor ["***", "***"]'


def test_a_literal_loop_going_counts_the_iterations_still_to_come() -> None:
    ir = flows.ir.to_dict()
    steps = [
        {"task": "num", "iteration": "", "status": "succeeded", "cached": False},
        {"task": "add", "iteration": "0.0", "status": "succeeded", "cached": False},
        {"task": "add", "iteration": "0.1", "status": "succeeded", "cached": True},
        {"task": "add", "iteration": "1.0", "status": "running", "cached": False},
    ]
    nodes = _by_id(run_graph(ir, steps, "running"))
    assert nodes["add"]["status"] == "running"
    assert nodes["add"]["iterations"] == {
        "total": 6,
        "by_status": {"succeeded": 1, "cached": 1, "running": 1, "pending": 3},
    }
    # once the run has ended, only the iterations that have rows are counted
    nodes = _by_id(run_graph(ir, steps[:3], "succeeded"))
    assert nodes["add"]["iterations"] == {"total": 2, "by_status": {"succeeded": 1, "cached": 1}}
