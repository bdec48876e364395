"""A pipeline seen block by block: each block's nodes and the dependency edges among them.

A block is the top level (``None``) or one group. Its nodes are its own tasks and its direct
child groups. A dependency between two tasks becomes an edge between the nodes that hold them in
their innermost common block, so a group waits for everything any task inside it needs. The
engine schedules these nodes; validation refuses a cycle among them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dagwright.pipelines.ir import PipelineIR, TaskIR, Value


@dataclass
class Block:
    """Nodes of one block in source order, with the edges among them."""

    nodes: list[str] = field(default_factory=list)
    upstream: dict[str, set[str]] = field(default_factory=dict)
    downstream: dict[str, list[str]] = field(default_factory=dict)

    def add(self, node: str) -> None:
        """Add a node (once)."""
        if node not in self.upstream:
            self.nodes.append(node)
            self.upstream[node] = set()
            self.downstream[node] = []


def blocks(ir: PipelineIR) -> dict[str | None, Block]:
    """Every block of the pipeline, in one pass over its tasks and their dependencies."""
    found: dict[str | None, Block] = {None: Block(), **{g.id: Block() for g in ir.groups}}
    paths = {task.name: _path(ir, task.group) for task in ir.tasks}
    for task in ir.tasks:
        path = paths[task.name]
        for depth, block_id in enumerate(path):
            inner = path[depth + 1] if depth + 1 < len(path) else task.name
            found[block_id].add(inner or task.name)
    for group in ir.groups:  # a block without tasks is still a node of its parent
        found[group.parent].add(group.id)
    needs = [(task.name, paths[task.name], dependencies(ir, task)) for task in ir.tasks]
    for group in ir.groups:  # what a block's condition or items read, even with no task inside
        read = value_tasks(group.condition or {}) + value_tasks(group.items or {})
        needs.append((group.id, _path(ir, group.parent), read))
    for node, node_path, deps in needs:
        for dep in deps:
            edge = _lifted(paths[dep], dep, node_path, node)
            if edge is not None:
                block_id, up_node, down_node = edge
                found[block_id].upstream[down_node].add(up_node)
    for block in found.values():
        for node in block.nodes:
            for up in sorted(block.upstream[node]):
                block.downstream[up].append(node)
    return found


def _path(ir: PipelineIR, group: str | None) -> list[str | None]:
    """The blocks around a task, outermost (the top level, None) first."""
    return [None, *(g.id for g in reversed(ir.ancestors(group)))]


def _lifted(
    up_path: list[str | None], up: str, down_path: list[str | None], down: str
) -> tuple[str | None, str, str] | None:
    """The innermost common block of two tasks and the nodes standing for each in it
    (None when both are inside the same child block of it)."""
    common = 1
    while common < min(len(up_path), len(down_path)) and up_path[common] == down_path[common]:
        common += 1
    up_node = up_path[common] if common < len(up_path) else up
    down_node = down_path[common] if common < len(down_path) else down
    if up_node == down_node or up_node is None or down_node is None:
        return None
    return up_path[common - 1], up_node, down_node


def value_tasks(value: Value) -> list[str]:
    """Tasks whose outputs a value or condition reads."""
    if "task" in value:
        return [value["task"]]
    if "collected" in value:
        return [value["collected"]["task"]]
    found: list[str] = []
    for member in value.get("one_of", []):  # waits for every branch: any of them may run
        found += value_tasks(member)
    for key in ("left", "right", "arg"):
        if isinstance(value.get(key), dict):
            found += value_tasks(value[key])
    for arg in value.get("args", []):
        found += value_tasks(arg)
    return found


def dependencies(ir: PipelineIR, task: TaskIR) -> list[str]:
    """Every task that must finish before ``task`` starts: data, .after, enclosing blocks."""
    deps = list(task.after)
    for value in task.inputs.values():
        deps += value_tasks(value)
    for group in ir.ancestors(task.group):
        deps += value_tasks(group.condition or {}) + value_tasks(group.items or {})
    for group in ir.groups:
        if group.exit_task == task.name:
            deps += [inner.name for inner in ir.tasks if group in ir.ancestors(inner.group)]
    return list(dict.fromkeys(d for d in deps if d != task.name))
