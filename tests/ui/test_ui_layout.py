"""The layered layout's invariants, on a traced pipeline with nested blocks, on random nested
IRs and on the large shapes (a chain, a wide fan, a grid): no two boxes overlap unless one
holds the other, every child lies inside its block's box, every edge goes down the page, and
the drawing's size covers it all. (How fast it is: bench/, not here.)"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from dagwright import ExitHandler, If, ParallelFor, PipelineTaskFinalStatus, component, pipeline
from dagwright.ui.graph import pipeline_graph
from dagwright.ui.layout import layout


@component
def make(n: int) -> int:
    return n


@component
def use(a: int, b: int = 0) -> int:
    return a + b


@component
def final(status: PipelineTaskFinalStatus) -> str:
    return status.state


@pipeline
def part(x: int) -> int:
    return use(a=make(n=x).output).output


@pipeline
def nested(n: int = 2) -> None:
    exit_task = final()
    with ExitHandler(exit_task):
        top = make(n=n)
        with ParallelFor([1, 2]) as i:
            with If(top.output > 1):
                with ParallelFor([3, 4]) as j:
                    deep = use(a=i, b=j)
                    use(a=deep.output, b=top.output)
            part(x=top.output)
        use(a=top.output).after(top)


def _boxes(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in graph["nodes"]}


def _ancestors(node: str, nodes: dict[str, dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    at = nodes[node]["parent"]
    while at is not None:
        found.add(at)
        at = nodes[at]["parent"]
    return found


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def _overlapping_pairs(nodes: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of boxes that overlap though neither holds the other (bucketed: large graphs)."""
    cells: dict[tuple[int, int], list[str]] = defaultdict(list)
    for node_id, box in nodes.items():
        for cx in range(int(box["x"] // 400), int((box["x"] + box["w"]) // 400) + 1):
            for cy in range(int(box["y"] // 400), int((box["y"] + box["h"]) // 400) + 1):
                cells[cx, cy].append(node_id)
    ancestors = {n: _ancestors(n, nodes) for n in nodes}
    bad: set[tuple[str, str]] = set()
    for members in cells.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a in ancestors[b] or b in ancestors[a]:
                    continue
                if _overlap(nodes[a], nodes[b]):
                    bad.add((a, b))
    return sorted(bad)


def _check(graph: dict[str, Any]) -> None:
    nodes = _boxes(graph)
    assert all(n["w"] > 0 and n["h"] > 0 for n in nodes.values())
    assert _overlapping_pairs(nodes) == []
    for node in nodes.values():  # inside its block, with room to spare
        if node["parent"] is not None:
            box = nodes[node["parent"]]
            assert box["kind"] == "block"
            assert box["x"] < node["x"] and node["x"] + node["w"] < box["x"] + box["w"]
            assert box["y"] < node["y"] and node["y"] + node["h"] < box["y"] + box["h"]
        assert node["x"] >= 0 and node["x"] + node["w"] <= graph["width"]
        assert node["y"] >= 0 and node["y"] + node["h"] <= graph["height"]
    for edge in graph["edges"]:  # down the page: the source ends above the target's top
        source, target = nodes[edge["source"]], nodes[edge["target"]]
        assert source["y"] + source["h"] < target["y"], edge


def test_a_traced_pipeline_with_nested_blocks() -> None:
    graph = pipeline_graph(nested.ir.to_dict())
    _check(graph)
    nodes = _boxes(graph)
    # the inner loop's tasks sit in the inner loop's box, in the If's, in the outer loop's
    deep = nodes["use"]
    chain = [deep["parent"]]
    while nodes[chain[-1]]["parent"] is not None:
        chain.append(nodes[chain[-1]]["parent"])
    assert [nodes[b]["block"] for b in chain] == [
        "parallel_for",
        "if",
        "parallel_for",
        "exit_handler",
    ]
    # what a block reads is above the block; the exit task is below its block
    assert nodes["make"]["y"] + nodes["make"]["h"] < nodes["condition-1"]["y"]
    handler = nodes["exit-handler-1"]
    assert handler["y"] + handler["h"] < nodes["final"]["y"]


def _random_ir(seed: int, tasks: int = 120) -> dict[str, Any]:
    """A random IR made as tracing makes one: blocks opened and closed around the tasks
    added in between, each task reading earlier ones (so no cycle among blocks either)."""
    rng = random.Random(seed)
    kinds = ["loop", "condition", "exit_handler", "pipeline"]
    groups: list[dict[str, Any]] = []
    open_blocks: list[str] = []
    names: list[str] = []
    ir_tasks = []
    for i in range(tasks):
        roll = rng.random()
        if roll < 0.2:
            parent = open_blocks[-1] if open_blocks else None
            groups.append({"id": f"g{len(groups)}", "kind": rng.choice(kinds), "parent": parent})
            open_blocks.append(groups[-1]["id"])
        elif roll < 0.35 and open_blocks:
            open_blocks.pop()
        name = f"t{i}"
        inputs = {
            f"in{k}": {"task": rng.choice(names), "output": "output"}
            for k in range(rng.randint(0, 3) if names else 0)
        }
        after = [rng.choice(names)] if names and rng.random() < 0.2 else []
        group = open_blocks[-1] if open_blocks else None
        ir_tasks.append(
            {"name": name, "component": "c", "inputs": inputs, "after": after, "group": group}
        )
        names.append(name)
    return {"name": "random", "groups": groups, "tasks": ir_tasks}


@pytest.mark.parametrize("seed", range(6))
def test_random_nested_pipelines_keep_the_invariants(seed: int) -> None:
    ir = _random_ir(seed)
    graph = pipeline_graph(ir)
    assert len(graph["nodes"]) == 120 + len(ir["groups"]) and len(ir["groups"]) > 10
    _check(graph)


def _tasks(names: list[str]) -> list[dict[str, Any]]:
    return [{"id": n, "kind": "task", "parent": None} for n in names]


def _links(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"source": s, "target": t, "kind": "data"} for s, t in pairs]


def test_2000_tasks_in_a_chain_a_fan_and_a_grid() -> None:
    chain = [f"c{i}" for i in range(2000)]
    graph = layout(_tasks(chain), _links(list(zip(chain, chain[1:], strict=False))))
    _check(graph)
    assert len({n["x"] for n in graph["nodes"]}) == 1  # one column

    middle = [f"m{i}" for i in range(1000)]
    pairs = [("a", m) for m in middle] + [(m, "z") for m in middle]
    graph = layout(_tasks(["a", *middle, "z"]), _links(pairs))
    _check(graph)
    assert len({n["y"] for n in graph["nodes"]}) == 3  # three layers

    grid = [[f"g{r}_{c}" for c in range(50)] for r in range(40)]
    pairs = [(grid[r][c], grid[r + 1][c]) for r in range(39) for c in range(50)]
    pairs += [(grid[r][c], grid[r + 1][c + 1]) for r in range(39) for c in range(49)]
    graph = layout(_tasks([n for row in grid for n in row]), _links(pairs))
    _check(graph)
    rows = defaultdict(list)
    for node in graph["nodes"]:
        rows[node["y"]].append(node)
    assert len(rows) == 40 and {len(r) for r in rows.values()} == {50}
    # the barycentre ordering keeps each column in place: no edge crosses another
    order = {n["id"]: n["x"] for n in graph["nodes"]}
    assert all(order[grid[r][c]] < order[grid[r][c + 1]] for r in range(40) for c in range(49))


def test_crossings_are_undone_by_the_sweeps() -> None:
    # a's child is listed last and b's first: left as listed, the two edges would cross
    graph = layout(
        _tasks(["a", "b", "under_b", "under_a"]), _links([("a", "under_a"), ("b", "under_b")])
    )
    x = {n["id"]: n["x"] for n in graph["nodes"]}
    assert (x["a"] < x["b"]) == (x["under_a"] < x["under_b"])


def test_a_cycle_or_an_unknown_parent_is_still_drawn() -> None:
    nodes = [
        {"id": "a", "kind": "task", "parent": "nowhere"},
        {"id": "b", "kind": "task", "parent": None},
        {"id": "box", "kind": "block", "parent": "box"},  # its own parent: the top level
        {"id": "c", "kind": "task", "parent": "box"},
    ]
    graph = layout(nodes, _links([("a", "b"), ("b", "a"), ("b", "c"), ("x", "a")]))
    boxes = _boxes(graph)
    assert boxes["a"]["y"] == boxes["b"]["y"]  # a cycle shares a layer
    assert boxes["a"]["parent"] == "nowhere"  # kept as given; drawn at the top level
    assert (
        _overlapping_pairs({k: {**v, "parent": None} for k, v in boxes.items() if k != "box"}) == []
    )
    assert [e["source"] for e in graph["edges"]] == ["a", "b", "b"]  # x is no node: dropped


def test_an_empty_graph() -> None:
    assert layout([], []) == {"nodes": [], "edges": [], "width": 0.0, "height": 0.0}


def test_a_block_is_as_wide_as_its_label_and_centres_its_child() -> None:
    label = "If " + "x" * 60
    nodes = [
        {"id": "box", "kind": "block", "parent": None, "label": label},
        {"id": "t", "kind": "task", "parent": "box"},
    ]
    graph = layout(nodes, [])
    box, task = _boxes(graph)["box"], _boxes(graph)["t"]
    assert box["w"] >= len(label) * 7
    assert abs((box["x"] + box["w"] / 2) - (task["x"] + task["w"] / 2)) < 1e-6
    _check(graph)
