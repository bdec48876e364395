"""A pipeline's DAG as the graph JSON the UI draws: tasks, blocks, edges, statuses, layout.

Read from the IR as plain data (the dict a run keeps in the run database's ``runs.ir``), never
through ``PipelineIR.from_dict``: drawing needs no component checked, and an IR a newer
dagwright wrote still draws. Nodes are the tasks and the blocks (If/Elif/Else, ParallelFor,
ExitHandler, a nested pipeline), each with its enclosing block as ``parent``. Edges: ``data``
from a task whose output a task or block reads (a block's condition or loop items; an exit
task reads its block's final status), ``after`` for ``.after`` and from an ExitHandler's
block to its exit task.

A run's statuses come from its step rows. A task inside a loop is one node: its iterations are
counted by status, and its status is the worst of them (``RANK``), so one failing iteration
shows; it is ``cached`` only when every iteration came from the cache. While the run goes, a
loop over a literal list also counts the iterations still to come (``pending``). A task with
no row yet is ``pending`` while the run goes (or may resume); once the run has ended, it did
not run (``skipped``; the engine writes its own ``skipped`` rows for the tasks of a false If).
A block's status is the worst of what it holds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from dagwright.pipelines.blocks import value_tasks
from dagwright.redact import MASK, is_secret_name, looks_secret, shown
from dagwright.ui.layout import layout

# worst first: the status a node shows when its iterations (or a block's children) differ
RANK = (
    "failed",
    "upstream_failed",
    "interrupted",
    "cancelled",
    "running",
    "pending",
    "succeeded",
    "cached",
    "skipped",
)
_WHOLE_BLOCK = ("skipped", "upstream_failed", "cancelled")
_UNKNOWN_RANK = RANK.index("cancelled")  # a status this code does not know yet still shows
_BLOCKS = {"loop": "parallel_for", "exit_handler": "exit_handler", "pipeline": "pipeline"}
_SYMBOLS = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_LABEL_MAX = 60
Graph = dict[str, Any]


def pipeline_graph(ir_json: dict[str, Any]) -> Graph:
    """The DAG of a pipeline before it runs: no statuses."""
    nodes, edges = _model(ir_json)
    return layout(nodes, edges)


def run_graph(
    ir_json: dict[str, Any], steps: list[dict[str, Any]] | None, run_status: str | None = None
) -> Graph:
    """The DAG of a run, each node with the status its step rows give.

    Args:
        ir_json: The IR the run recorded (``runs.ir``, parsed).
        steps: The run's step rows (``RunDatabase.steps``: task, iteration, status, cached).
        run_status: The run's status; when not given, the run counts as going while no row
            is recorded or one is ``running``.
    """
    nodes, edges = _model(ir_json)
    rows = list(steps or [])
    going = (
        run_status == "running"
        if run_status is not None
        else (not rows or any(r.get("status") == "running" for r in rows))
    )
    # a run stopped early may be resumed: what it never reached is still to come
    unreached = "pending" if going or run_status in ("interrupted", "cancelled") else "skipped"
    _statuses(nodes, ir_json, rows, unreached)
    return layout(nodes, edges)


def _model(ir: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Nodes (blocks, then tasks, in IR order) and edges, before layout."""
    groups = [g for g in ir.get("groups") or [] if isinstance(g, dict) and "id" in g]
    tasks = [t for t in ir.get("tasks") or [] if isinstance(t, dict) and "name" in t]
    names = {t["name"] for t in tasks}
    # node ids are task names and block ids; a block named as a task (an imported IR) differs
    block_id = {g["id"]: g["id"] if g["id"] not in names else f"block:{g['id']}" for g in groups}
    nodes: list[dict[str, Any]] = []
    for group in groups:
        nodes.append(_node(block_id[group["id"]], "block", _block_label(group), group, block_id))
    for task in tasks:
        label = task.get("display_name") or task["name"]
        nodes.append(_node(task["name"], "task", label, task, block_id))
    found: dict[tuple[str, str], str] = {}

    def link(source: str | None, target: str, kind: str) -> None:
        if source is not None and source != target:
            found.setdefault((source, target), kind)  # data wins: it is added first

    for task in tasks:
        for value in (task.get("inputs") or {}).values():
            if not isinstance(value, dict):
                continue
            if "final_status" in value:
                ref = value["final_status"]
                link(block_id.get(ref, ref if ref in names else None), task["name"], "data")
            for source in value_tasks(value):
                link(source if source in names else None, task["name"], "data")
    for group in groups:
        for value in (group.get("condition"), group.get("items")):
            for source in value_tasks(value) if isinstance(value, dict) else []:
                link(source if source in names else None, block_id[group["id"]], "data")
    for task in tasks:
        for source in task.get("after") or []:
            link(source if source in names else None, task["name"], "after")
    for group in groups:
        if group.get("exit_task") in names:
            link(block_id[group["id"]], group["exit_task"], "after")
    edges = [{"source": s, "target": t, "kind": k} for (s, t), k in found.items()]
    return nodes, edges


def _node(
    node_id: str, kind: str, label: str, data: dict[str, Any], block_id: dict[str, str]
) -> dict[str, Any]:
    parent = data.get("parent") if kind == "block" else data.get("group")
    block = None
    if kind == "block":
        block = _BLOCKS.get(data.get("kind", ""), data.get("kind"))
        if data.get("kind") == "condition":
            block = data.get("branch") or "if"
    return {
        "id": node_id,
        "kind": kind,
        "label": label,
        "task": data["name"] if kind == "task" else None,
        "block": block,
        "parent": block_id.get(parent) if parent is not None else None,
        "status": None,
        "iterations": None,
    }


def _block_label(group: dict[str, Any]) -> str:
    kind = group.get("kind")
    if kind == "condition":
        branch = group.get("branch") or "if"
        words = [branch.capitalize(), _text(_own_condition(group)) if branch != "else" else ""]
    elif kind == "loop":
        words = ["ParallelFor", _text(group["items"]) if "items" in group else ""]
    elif kind == "exit_handler":
        words = ["ExitHandler", f"(exit: {group['exit_task']})" if group.get("exit_task") else ""]
    elif kind == "pipeline":
        words = ["pipeline", group["id"]]
    else:
        words = [str(kind), group["id"]]
    text = " ".join(w for w in words if w)
    return text if len(text) <= _LABEL_MAX else text[: _LABEL_MAX - 1] + "…"


def _own_condition(group: dict[str, Any]) -> Any:
    """An Elif's condition as written: the IR keeps it after the earlier branches' negation
    (``pipelines/control.py``), which the block's place in its chain already says."""
    condition = group.get("condition", {"constant": True})
    if group.get("branch") == "elif" and isinstance(condition, dict):
        args = condition.get("args") or []
        if condition.get("op") == "and" and len(args) == 2 and args[0].get("op") == "not":
            return args[1]
    return condition


def _text(value: Any) -> str:
    """A value or condition as people write it in a pipeline (``num.output > 5``)."""
    if not isinstance(value, dict):
        return json.dumps(value, default=str)
    if "constant" in value:  # a literal of the code: URI passwords out, secret-looking masked
        return json.dumps(_masked(value["constant"]), default=str)
    if "param" in value:
        return str(value["param"])
    if "masked" in value:
        return MASK
    if "task" in value:
        return f"{value['task']}.{value.get('output', 'output')}"
    if "loop_item" in value:
        return f"item[{value['key']!r}]" if "key" in value else "item"
    if "collected" in value:
        return f"Collected({_text(value['collected'])})"
    if "one_of" in value:
        return f"OneOf({', '.join(_text(v) for v in value['one_of'])})"
    op = value.get("op")
    if op in _SYMBOLS:
        left, right = value.get("left"), value.get("right")
        if _secret_param(left) or _secret_param(right):  # what it is compared with is too
            left, right = (v if not _literal(v) else {"masked": True} for v in (left, right))
        return f"{_text(left)} {_SYMBOLS[op]} {_text(right)}"
    if op in ("and", "or"):
        return "(" + f" {op} ".join(_text(a) for a in value.get("args", [])) + ")"
    if op == "not":
        return f"not {_text(value.get('arg'))}"
    return json.dumps(value, default=str)


def _masked(literal: Any) -> Any:
    if isinstance(literal, list):
        return [_masked(item) for item in literal]
    if isinstance(literal, dict):
        return {k: MASK if is_secret_name(str(k)) else _masked(v) for k, v in literal.items()}
    return MASK if looks_secret(literal) else shown("", literal)


def _secret_param(value: Any) -> bool:
    return isinstance(value, dict) and is_secret_name(str(value.get("param", "")))


def _literal(value: Any) -> bool:
    return isinstance(value, dict) and "constant" in value


def _rank(status: str) -> int:
    return RANK.index(status) if status in RANK else _UNKNOWN_RANK


def worst(statuses: list[str]) -> str:
    """The status a node shows for several: the first of them in ``RANK``."""
    return min(statuses, key=_rank)


def _statuses(
    nodes: list[dict[str, Any]],
    ir: dict[str, Any],
    rows: list[dict[str, Any]],
    unreached: str,
) -> None:
    """Fill each node's status (and a loop task's iteration counts) from the step rows."""
    by_task: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        status = str(row.get("status") or "pending")
        if row.get("cached") and status == "succeeded":
            status = "cached"
        by_task[str(row.get("task"))].append(status)
    groups = {g["id"]: g for g in ir.get("groups") or [] if isinstance(g, dict) and "id" in g}
    group_of = {t["name"]: t.get("group") for t in ir.get("tasks") or [] if isinstance(t, dict)}
    held: dict[str, list[str]] = defaultdict(list)
    blocks: list[dict[str, Any]] = []
    for node in nodes:
        if node["kind"] == "block":
            blocks.append(node)
            continue
        seen = by_task.get(node["task"], [])
        loops = _loops(group_of.get(node["task"]), groups)
        if loops:
            counts: dict[str, int] = defaultdict(int)
            for status in seen:
                counts[status] += 1
            total = _iterations(loops)
            # a skipped or failed block's row stands for all its iterations: none to come
            whole = any(status in _WHOLE_BLOCK for status in seen)
            if unreached == "pending" and total is not None and total > len(seen) and not whole:
                counts["pending"] += total - len(seen)  # literal items: the rest are to come
                seen = [*seen, "pending"]
            node["iterations"] = {"total": sum(counts.values()), "by_status": dict(counts)}
        node["status"] = worst(seen) if seen else unreached
        if node["parent"] is not None:
            held[node["parent"]].append(node["status"])
    parent = {n["id"]: n["parent"] for n in blocks}
    for node in sorted(blocks, key=lambda n: -_depth(n["id"], parent)):  # innermost first
        # a block's own row: its condition or items could not be evaluated (the engine's)
        statuses = held.get(node["id"], []) + by_task.get(_own_id(node["id"], group_of), [])
        node["status"] = worst(statuses) if statuses else unreached
        if node["parent"] is not None:
            held[node["parent"]].append(node["status"])


def _own_id(node_id: str, tasks: dict[str, Any]) -> str:
    """The IR id of a block node (its node id, unless a task has that name: see _model)."""
    own = node_id.removeprefix("block:")
    return own if own != node_id and own in tasks else node_id


def _depth(node: str, parent: dict[str, str | None]) -> int:
    depth, seen = 0, {node}
    at = parent.get(node)
    while at is not None and at not in seen:
        seen.add(at)
        depth, at = depth + 1, parent.get(at)
    return depth


def _loops(group_id: str | None, groups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The loops around a block, innermost first (none: the block is in no loop)."""
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    at = group_id
    while at is not None and at in groups and at not in seen:
        if groups[at].get("kind") == "loop":
            found.append(groups[at])
        seen.add(at)
        at = groups[at].get("parent")
    return found


def _iterations(loops: list[dict[str, Any]]) -> int | None:
    """How many times a task in these loops runs, when every loop's items are a literal list
    (None: items computed at run time, known only from the rows)."""
    total = 1
    for loop in loops:
        items = (loop.get("items") or {}).get("constant")
        if not isinstance(items, list):
            return None
        total *= len(items)
    return total
