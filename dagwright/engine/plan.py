"""The static shape of a run, computed once from the IR: blocks, their nodes and the edges
between nodes of one block.

A block is the top level or one group. Its nodes are its own tasks and its direct child groups;
a dependency of any task inside a child group counts as a dependency of that group's node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR
from dagwright.pipelines.validate import dependencies


@dataclass
class BlockPlan:
    """Nodes of one block in source order, with the edges among them."""

    nodes: list[str] = field(default_factory=list)
    upstream: dict[str, set[str]] = field(default_factory=dict)
    downstream: dict[str, list[str]] = field(default_factory=dict)


class Plan:
    """Everything the scheduler looks up while it runs, derived from one IR."""

    def __init__(self, ir: PipelineIR) -> None:
        self.ir = ir
        self.tasks: dict[str, TaskIR] = {task.name: task for task in ir.tasks}
        self.groups: dict[str, GroupIR] = {group.id: group for group in ir.groups}
        self.deps = {task.name: dependencies(ir, task) for task in ir.tasks}
        self.loops = {task.name: self.loops_of(task.group) for task in ir.tasks}
        self.exit_tasks = {g.exit_task for g in ir.groups if g.exit_task}
        self.inside: dict[str, list[str]] = {gid: [] for gid in self.groups}
        for task in ir.tasks:
            for group in ir.ancestors(task.group):
                self.inside[group.id].append(task.name)
        self.blocks = {gid: self._block(gid) for gid in [None, *self.groups]}

    def loops_of(self, group_id: str | None) -> list[str]:
        """Loop ids enclosing a block, outermost first."""
        return [g.id for g in reversed(self.ir.ancestors(group_id)) if g.kind == "loop"]

    def node_in(self, task: str, block: str | None) -> str | None:
        """The node standing for ``task`` among the children of ``block`` (None: not inside)."""
        group_id = self.tasks[task].group
        if group_id == block:
            return task
        for group in self.ir.ancestors(group_id):
            if group.parent == block:
                return group.id
        return None

    def _block(self, block: str | None) -> BlockPlan:
        plan = BlockPlan()
        for task in self.ir.tasks:
            node = self.node_in(task.name, block)
            if node is None:
                continue
            if node not in plan.upstream:
                plan.nodes.append(node)
                plan.upstream[node] = set()
                plan.downstream.setdefault(node, [])
            for dep in self.deps[task.name]:
                upstream = self.node_in(dep, block)
                if upstream is not None and upstream != node:
                    plan.upstream[node].add(upstream)
        for group in self.ir.groups:  # a block with no tasks is still a node
            if group.parent == block and group.id not in plan.upstream:
                plan.nodes.append(group.id)
                plan.upstream[group.id] = set()
                plan.downstream.setdefault(group.id, [])
        for node in plan.nodes:
            for upstream in sorted(plan.upstream[node]):
                plan.downstream.setdefault(upstream, []).append(node)
        return plan
