"""The local engine: walks the IR block by block and runs each ready task.

Tasks run one at a time in a stable topological order. A block (If, ParallelFor, ExitHandler or
a sub-pipeline) is one node in its parent's order; a loop runs its block once per item. A task
whose upstream failed is marked ``upstream_failed`` and not run; an exit task always runs.
"""

from __future__ import annotations

import secrets
import time
import traceback
from collections.abc import Callable
from typing import Any

from dagwright.components.artifacts import Artifact
from dagwright.engine.conditions import evaluate
from dagwright.engine.result import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    UPSTREAM_FAILED,
    RunResult,
    StepRecord,
)
from dagwright.executor import Step
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR, Value
from dagwright.pipelines.validate import dependencies, value_tasks
from dagwright.runtimes import runner_for
from dagwright.store import LocalStore, RunStore

Path_ = tuple[int, ...]
_BAD = (FAILED, UPSTREAM_FAILED)


class LocalEngine:
    """Runs one pipeline IR in this process."""

    def __init__(
        self,
        ir: PipelineIR,
        store: RunStore | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.ir = ir
        self.store = store or LocalStore()
        self.echo = echo or (lambda line: None)
        self.tasks = {task.name: task for task in ir.tasks}
        self.groups = {group.id: group for group in ir.groups}
        self.deps = {task.name: dependencies(ir, task) for task in ir.tasks}
        self.loops = {task.name: self._loops_of(task.group) for task in ir.tasks}
        self.exit_tasks = {g.exit_task for g in ir.groups if g.exit_task}
        self.order = {gid: self._block_order(gid) for gid in [None, *self.groups]}

    def _loops_of(self, group_id: str | None) -> list[str]:
        return [g.id for g in reversed(self.ir.ancestors(group_id)) if g.kind == "loop"]

    def _node_in(self, task: TaskIR, block: str | None) -> str | None:
        """The node standing for ``task`` among the children of ``block`` (None: not inside)."""
        if task.group == block:
            return task.name
        for group in self.ir.ancestors(task.group):
            if group.parent == block:
                return group.id
        return None

    def _block_order(self, block: str | None) -> list[str]:
        import networkx as nx

        graph = nx.DiGraph()
        position: dict[str, int] = {}
        for i, task in enumerate(self.ir.tasks):
            node = self._node_in(task, block)
            if node is None:
                continue
            position.setdefault(node, i)
            graph.add_node(node)
            for dep in self.deps[task.name]:
                upstream = self._node_in(self.tasks[dep], block)
                if upstream is not None and upstream != node:
                    graph.add_edge(upstream, node)
        for group in self.ir.groups:  # blocks without tasks still evaluate nothing, but stay known
            if group.parent == block and group.id not in position:
                position[group.id] = len(self.ir.tasks)
                graph.add_node(group.id)
        return list(nx.lexicographical_topological_sort(graph, key=lambda n: (position[n], n)))

    # running

    def run(self, arguments: dict[str, Any]) -> RunResult:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.run_id = f"{self.ir.name}-{stamp}-{secrets.token_hex(3)}"
        self.params = arguments
        self.values: dict[tuple[str, Path_], dict[str, Any]] = {}
        self.status: dict[tuple[str, Path_], str] = {}
        self.instances: dict[str, list[Path_]] = {}
        self.records: list[StepRecord] = []
        self._run_block(None, (), {})
        failed = any(r.status in _BAD for r in self.records)
        outputs: dict[str, Any] = {}
        if not failed:
            outputs = {name: self._resolve(v, [], (), {}) for name, v in self.ir.outputs.items()}
        result = RunResult(
            self.run_id,
            self.ir.name,
            FAILED if failed else SUCCEEDED,
            outputs,
            self.records,
            self.store.run_dir(self.run_id),
            dict(arguments),
        )
        self.store.write_record(self.run_id, result.to_record())
        return result

    def _run_block(self, block: str | None, path: Path_, items: dict[str, Any]) -> None:
        for node in self.order[block]:
            if node in self.tasks:
                self._run_task(self.tasks[node], path, items)
            else:
                self._run_group(self.groups[node], path, items)

    def _run_group(self, group: GroupIR, path: Path_, items: dict[str, Any]) -> None:
        scope = self._loops_of(group.parent)
        source = group.condition if group.kind == "condition" else group.items
        if source is not None and self._failed_upstream(value_tasks(source), scope, path):
            return self._mark(group.id, path, UPSTREAM_FAILED)
        try:
            if group.kind == "condition" and not evaluate(
                source or {"constant": True}, lambda v: self._resolve(v, scope, path, items)
            ):
                return self._mark(group.id, path, SKIPPED)
            if group.kind == "loop":
                values = list(self._resolve(source or {"constant": []}, scope, path, items))
        except Exception as exc:  # e.g. None > 3: the block fails, the run goes on
            failure = StepRecord(group.id, path, FAILED, error=f"{type(exc).__name__}: {exc}")
            self.records.append(failure)
            self.echo(f"  ✗ {failure.label:<32} {FAILED:<16} {failure.error}")
            return self._mark(group.id, path, UPSTREAM_FAILED)
        if group.kind != "loop":
            return self._run_block(group.id, path, items)
        for i, item in enumerate(values):
            self._run_block(group.id, (*path, i), {**items, group.id: item})
        return None

    def _mark(self, group_id: str, path: Path_, status: str) -> None:
        """Record every task inside a block that will not run."""
        for task in self.ir.tasks:
            if self.groups[group_id] in self.ir.ancestors(task.group):
                self.status[(task.name, path)] = status
                self.instances.setdefault(task.name, []).append(path)
                self.records.append(StepRecord(task.name, path, status))
                self.echo(f"  - {StepRecord(task.name, path).label:<32} {status}")

    def _failed_upstream(self, deps: list[str], scope: list[str], path: Path_) -> bool:
        return any(s in _BAD for dep in deps for s in self._states(dep, scope, path))

    def _states(self, task: str, scope: list[str], path: Path_) -> list[str]:
        keys = self._keys(task, scope, path)
        return [self.status.get(key, SUCCEEDED) for key in keys]

    def _keys(self, task: str, scope: list[str], path: Path_) -> list[tuple[str, Path_]]:
        """The executions of ``task`` visible from a scope: one, or every loop iteration."""
        loops = self.loops[task]
        common = 0
        while common < min(len(loops), len(scope)) and loops[common] == scope[common]:
            common += 1
        prefix = path[:common]
        if common == len(loops):
            return [(task, prefix)]
        return [(task, p) for p in self.instances.get(task, []) if p[:common] == prefix]

    def _resolve(self, value: Value, scope: list[str], path: Path_, items: dict[str, Any]) -> Any:
        if "constant" in value:
            return value["constant"]
        if "param" in value:
            return self.params[value["param"]]
        if "loop_item" in value:
            item = items[value["loop_item"]]
            return item[value["key"]] if "key" in value else item
        if "task" in value:
            key = self._keys(value["task"], scope, path)[0]
            return self.values[key][value["output"]]
        ref = value["collected"]
        keys = self._keys(ref["task"], scope, path)
        return [self.values[k][ref["output"]] for k in keys if k in self.values]

    def _run_task(self, task: TaskIR, path: Path_, items: dict[str, Any]) -> None:
        scope = self.loops[task.name]
        record = StepRecord(task.name, path)
        self.instances.setdefault(task.name, []).append(path)
        if task.name not in self.exit_tasks and self._failed_upstream(
            self.deps[task.name], scope, path
        ):
            record.status = UPSTREAM_FAILED
        else:
            self._execute(task, record, scope, path, items)
        self.status[(task.name, path)] = record.status
        self.records.append(record)
        mark = {SUCCEEDED: "✓", FAILED: "✗"}.get(record.status, "-")
        self.echo(f"  {mark} {record.label:<32} {record.status:<16} {record.duration:.3f}s")
        if record.error:
            detail = record.traceback or record.error
            self.echo("\n".join("      " + line for line in detail.rstrip().splitlines()))

    def _execute(
        self, task: TaskIR, record: StepRecord, scope: list[str], path: Path_, items: dict[str, Any]
    ) -> None:
        spec = self.ir.components[task.component]
        step = Step(spec, record.label)
        for out in spec.output_artifacts:
            step.outputs[out.name] = self.store.artifact_uri(self.run_id, task.name, path, out.name)
        try:
            for name, value in task.inputs.items():
                resolved = self._resolve(value, scope, path, items)
                target = spec.input(name)
                if target is not None and target.artifact:
                    step.artifacts[name] = _artifact_dicts(resolved)
                else:
                    step.parameters[name] = resolved
        except Exception as exc:  # an input that cannot be had fails this step, not the engine
            record.status, record.error = FAILED, f"{type(exc).__name__}: {exc}"
            return
        runner = runner_for(spec.runtime)
        started = time.perf_counter()
        for attempt in range(1, spec.retry.limit + 2):
            record.attempts = attempt
            try:
                outcome = runner(step)
            except Exception as exc:  # the step's own failure, recorded, maybe retried
                record.status, record.error = FAILED, f"{type(exc).__name__}: {exc}"
                record.traceback = traceback.format_exc()
                if attempt <= spec.retry.limit:
                    time.sleep(spec.retry.delay(attempt))
                continue
            record.status, record.error, record.traceback = SUCCEEDED, None, None
            record.outputs = {**outcome.values, **outcome.artifacts}
            self.values[(task.name, path)] = record.outputs
            break
        record.duration = time.perf_counter() - started


def _artifact_dicts(value: Any) -> Any:
    if isinstance(value, list):
        return [_artifact_dicts(v) for v in value]
    if isinstance(value, Artifact):
        return value.to_dict()
    return value
