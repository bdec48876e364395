"""How the KFP importer reads one DAG: the ``Frame`` it is read in and what its tasks are.

Each DAG is read in a ``Frame``: its component, the prefix of its task names (a nested
pipeline's tasks are named ``<pipeline task>-<task>``, as ``PipelineBuilder.call_pipeline``
names them; control-flow DAGs share their parent's names, which KFP keeps unique), the block it
makes and ``env``, its inputs as IR values.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from dagwright.errors import ValidationError

Value = dict[str, Any]
_CONTROL = re.compile(r"^(condition-branches|condition|for-loop|exit-handler)-\d+$")


@dataclass
class Frame:
    """One DAG being read."""

    component: dict[str, Any]
    prefix: str = ""
    group: str | None = None
    env: dict[str, Value] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)
    absent: set[str] = field(default_factory=set)  # optional inputs given no value
    # a nested pipeline task's retryPolicy: its tasks without one of their own take it, as
    # KFP's backend retries them
    retry: dict[str, Any] | None = None

    def name(self, key: str) -> str:
        """The IR name of task (or block) ``key`` of this DAG."""
        return ir_name(self.prefix + key)

    @property
    def tasks(self) -> dict[str, Any]:
        """The DAG's tasks by their KFP names."""
        tasks: dict[str, Any] = self.component.get("dag", {}).get("tasks", {}) or {}
        return tasks


class Reader:
    """What a PipelineSpec's tasks are: their components, exit tasks and blocks."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.components: dict[str, Any] = spec.get("components", {}) or {}
        self.executors: dict[str, Any] = spec.get("deploymentSpec", {}).get("executors", {}) or {}

    def component_of(self, task: dict[str, Any], name: str) -> dict[str, Any]:
        """The KFP component a task runs."""
        ref = task.get("componentRef", {}).get("name")
        component = self.components.get(ref)
        if not isinstance(component, dict):
            raise ValidationError(
                f"task refers to unknown component {ref!r}",
                task=name,
                field="componentRef",
                fix="give the whole file kfp.compiler wrote",
            )
        return component

    def exit_tasks(self, frame: Frame) -> dict[str, str]:
        """Exit-handler DAG -> its exit task (KFP: ALL_UPSTREAM_TASKS_COMPLETED on a task whose
        dependentTasks name the ``exit-handler-N`` DAG)."""
        found: dict[str, str] = {}
        for key, task in frame.tasks.items():
            if task.get("triggerPolicy", {}).get("strategy") != "ALL_UPSTREAM_TASKS_COMPLETED":
                continue
            for dep in task.get("dependentTasks", []):
                other = frame.tasks.get(dep, {})
                if dep.startswith("exit-handler-") and "dag" in self.component_of(other, dep):
                    found[dep] = key
        return found

    def kind(self, frame: Frame, key: str, task: dict[str, Any]) -> tuple[str, str]:
        """The block a DAG task makes, and the prefix of the names inside it."""
        if "parameterIterator" in task or "artifactIterator" in task:
            return "loop", frame.prefix
        if task.get("triggerPolicy", {}).get("condition"):
            return "condition", frame.prefix
        if _CONTROL.match(key):  # exit-handler-N, condition-branches-N
            if key.startswith("exit-handler-") and key in self.exit_tasks(frame):
                return "exit_handler", frame.prefix
            return "pipeline", frame.prefix
        return "pipeline", f"{frame.prefix}{key}-"  # a nested pipeline: its own names


def ir_name(full: str) -> str:
    """``full``, or, past Kubernetes' 63 characters (a long name prefixed with its nested
    pipeline's), its start and 8 hex digits of its sha256, as the builder names traced tasks."""
    if len(full) <= 63:
        return full
    return f"{full[:54].rstrip('-')}-{hashlib.sha256(full.encode()).hexdigest()[:8]}"


def channels(task: dict[str, Any]) -> set[str]:
    """The DAG inputs a task reads directly."""
    inputs = task.get("inputs", {})
    return {
        spec.get("componentInputParameter") or spec.get("componentInputArtifact")
        for section in ("parameters", "artifacts")
        for spec in (inputs.get(section) or {}).values()
    } - {None}


def definitions(definitions: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A component's input (or output) definitions, parameters then artifacts, by name."""
    return [
        *((definitions.get("parameters") or {}).items()),
        *((definitions.get("artifacts") or {}).items()),
    ]


def ordered(tasks: dict[str, Any]) -> list[str]:
    """Task names with each after those it depends on, else in natural order (task-10 last)."""

    def natural(name: str) -> list[Any]:
        return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]

    remaining = sorted(tasks, key=natural)
    done: list[str] = []
    placed: set[str] = set()
    while remaining:
        for key in remaining:
            deps = set(tasks[key].get("dependentTasks", [])) & set(tasks)
            if deps <= placed:
                break
        else:
            key = remaining[0]  # a cycle: validation names it
        remaining.remove(key)
        done.append(key)
        placed.add(key)
    return done
