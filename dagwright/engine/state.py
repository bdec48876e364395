"""What a run has produced so far: each task execution's status and outputs, and how a value
used in one scope is read from executions made in another.

An execution is keyed ``(task, path)``: ``path`` holds the iteration index of every loop around
the task, outermost first (``()`` outside loops).
"""

from __future__ import annotations

from typing import Any

from dagwright.engine.plan import Plan
from dagwright.engine.result import SUCCEEDED
from dagwright.errors import NotFound
from dagwright.pipelines.ir import Value

Path_ = tuple[int, ...]
Key = tuple[str, Path_]


class RunState:
    """Statuses and outputs of task executions, and the parameters of the run."""

    def __init__(self, plan: Plan, params: dict[str, Any]) -> None:
        self.plan = plan
        self.params = params
        self.values: dict[Key, dict[str, Any]] = {}
        self.status: dict[Key, str] = {}
        self.instances: dict[str, list[Path_]] = {}

    def add(self, task: str, path: Path_, status: str, outputs: dict[str, Any] | None) -> None:
        """Record an execution's status, and its outputs when it has them."""
        self.status[(task, path)] = status
        self.instances.setdefault(task, []).append(path)
        if outputs is not None:
            self.values[(task, path)] = outputs

    def keys(self, task: str, scope: list[str], path: Path_) -> list[Key]:
        """The executions of ``task`` visible from a scope: one, or every loop iteration."""
        loops = self.plan.loops[task]
        common = self._common(task, scope)
        prefix = path[:common]
        if common == len(loops):
            return [(task, prefix)]
        found = [p for p in self.instances.get(task, []) if p[:common] == prefix]
        return [(task, p) for p in sorted(found)]

    def states(self, tasks: list[str], scope: list[str], path: Path_) -> list[str]:
        """The statuses of every execution of ``tasks`` visible from a scope (unrun counts as
        succeeded)."""
        return [
            self.status.get(key, SUCCEEDED)
            for task in tasks
            for key in self.keys(task, scope, path)
        ]

    def resolve(self, value: Value, scope: list[str], path: Path_, items: dict[str, Any]) -> Any:
        """The run-time value of an IR value dict, seen from ``scope`` at ``path``."""
        if "constant" in value:
            return value["constant"]
        if "param" in value:
            return self.params[value["param"]]
        if "loop_item" in value:
            item = items[value["loop_item"]]
            return item[value["key"]] if "key" in value else item
        if "task" in value:
            key = self.keys(value["task"], scope, path)[0]
            return self.values[key][value["output"]]
        if "one_of" in value:  # the branch that ran: the one member whose task made outputs
            for member in value["one_of"]:
                key = self.keys(member["task"], scope, path)[0]
                if key in self.values:
                    return self.values[key][member["output"]]
            tasks = ", ".join(m["task"] for m in value["one_of"])
            raise NotFound(f"none of the OneOf's tasks ({tasks}) ran")
        ref = value["collected"]
        common = self._common(ref["task"], scope)
        found = [
            (k[1][common:], self.values.get(k, {}).get(ref["output"], _NONE))
            for k in self.keys(ref["task"], scope, path)
        ]
        return _nested(found, len(self.plan.loops[ref["task"]]) - common)

    def outputs(self, values: dict[str, Value]) -> tuple[dict[str, Any], str | None]:
        """The pipeline's outputs, or none and why one was not made (its task sits in an If
        block that did not run)."""
        found: dict[str, Any] = {}
        for name, value in values.items():
            try:
                found[name] = self.resolve(value, [], (), {})
            except LookupError:
                tasks = [m["task"] for m in value.get("one_of", [value])]
                made_by = ", ".join(f"task '{task}'" for task in tasks)
                return {}, f"pipeline output '{name}' was not made: {made_by} did not run"
        return found, None

    def depth(self, task: str, scope: list[str]) -> int:
        """How many loops around ``task`` a Collected read in ``scope`` leaves."""
        return len(self.plan.loops[task]) - self._common(task, scope)

    def _common(self, task: str, scope: list[str]) -> int:
        """How many of the loops around ``task`` also enclose ``scope``."""
        loops = self.plan.loops[task]
        common = 0
        while common < min(len(loops), len(scope)) and loops[common] == scope[common]:
            common += 1
        return common


_NONE: Any = object()  # an iteration that made nothing (its If was false, it failed)


def _nested(found: list[tuple[Path_, Any]], depth: int) -> list[Any]:
    """Values by their indices in the loops a Collected leaves: one list per loop (KFP's
    nested fan-in), iterations that made nothing left out."""
    if depth <= 1:
        return [value for _, value in found if value is not _NONE]
    groups: dict[int, list[tuple[Path_, Any]]] = {}
    for index, value in found:
        groups.setdefault(index[0], []).append((index[1:], value))
    return [_nested(groups[i], depth - 1) for i in sorted(groups)]


def flatten(value: list[Any], depth: int) -> list[Any]:
    """A Collected list over ``depth`` loops as one flat list, in iteration order."""
    if depth <= 1:
        return value
    return [item for inner in value for item in flatten(inner, depth - 1)]
