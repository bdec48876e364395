"""The static shape of a run, computed once from the IR: blocks, loops and exit tasks."""

from __future__ import annotations

from dagwright.pipelines.blocks import Block, blocks
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR


class Plan:
    """Everything the dispatch loop looks up while it runs, derived from one IR."""

    def __init__(self, ir: PipelineIR) -> None:
        self.ir = ir
        self.tasks: dict[str, TaskIR] = {task.name: task for task in ir.tasks}
        self.groups: dict[str, GroupIR] = {group.id: group for group in ir.groups}
        self.blocks: dict[str | None, Block] = blocks(ir)
        self.exit_tasks = {g.exit_task for g in ir.groups if g.exit_task}
        # tasks that run whatever happened upstream and whether or not the run is stopping
        self.run_anyway = self.exit_tasks | {t.name for t in ir.tasks if t.ignore_upstream_failure}
        self._loops: dict[str | None, list[str]] = {}
        self.inside: dict[str, list[str]] = {gid: [] for gid in self.groups}
        for task in ir.tasks:
            for group in ir.ancestors(task.group):
                self.inside[group.id].append(task.name)
        self.loops = {task.name: self.loops_of(task.group) for task in ir.tasks}
        # nodes (tasks and blocks) after an exit task, and all inside those blocks: an exit
        # pipeline runs whole once the run is stopping, as KFP runs an exit DAG whole; they
        # still wait on, and skip after, a failure of their own upstream
        self.exit_side = self._after_exits()

    def _after_exits(self) -> set[str]:
        found: set[str] = set()
        todo = [(task, self.tasks[task].group) for task in self.exit_tasks]
        while todo:
            node, block = todo.pop()
            for down in self.blocks[block].downstream.get(node, []):
                if down not in found:
                    found.add(down)
                    todo.append((down, block))
        inside = [name for node in found if node in self.groups for name in self.inside[node]]
        nested = [g.id for g in self.ir.groups if {a.id for a in self.ir.ancestors(g.id)} & found]
        return found | set(inside) | set(nested)

    def reads_status(self, task: str) -> bool:
        """Does ``task`` take a final status (an exit task's PipelineTaskFinalStatus)?"""
        return any("final_status" in v for v in self.tasks[task].inputs.values())

    def loops_of(self, group_id: str | None) -> list[str]:
        """Loop ids enclosing a block, outermost first."""
        if group_id not in self._loops:
            chain = reversed(self.ir.ancestors(group_id))
            self._loops[group_id] = [g.id for g in chain if g.kind == "loop"]
        return self._loops[group_id]
