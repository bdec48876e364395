"""The walk over a PipelineSpec's DAGs into the IR's blocks, tasks and components."""

from __future__ import annotations

import json
import re
from typing import Any

from dagwright.errors import ValidationError
from dagwright.sources.kfp import cel, types
from dagwright.sources.kfp.components import component_dict
from dagwright.sources.kfp.frames import Frame, Value, channels, definitions, ordered
from dagwright.sources.kfp.platform import settings
from dagwright.sources.kfp.values import Values

_BRANCHES = re.compile(r"(^|-)condition-branches-\d+$")
_TASK_KEYS = {
    "taskInfo",
    "componentRef",
    "inputs",
    "dependentTasks",
    "cachingOptions",
    "retryPolicy",
    "triggerPolicy",
    "parameterIterator",
    "artifactIterator",
    "iteratorPolicy",
}


class Walker(Values):
    """Reads a PipelineSpec's DAGs into IR groups, tasks and components (plain dicts)."""

    def __init__(self, spec: dict[str, Any], platform: dict[str, dict[str, Any]]) -> None:
        super().__init__(spec)
        self.platform = platform
        self.groups: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.ir_components: dict[str, dict[str, Any]] = {}
        self._digests: dict[str, str] = {}

    # the DAGs

    def walk(self, frame: Frame) -> None:
        """Add the tasks and blocks of ``frame``'s DAG, and of every DAG inside it."""
        exits = self.exit_tasks(frame)
        for key in ordered(frame.tasks):
            task = frame.tasks[key]
            name = frame.name(key)
            unknown = sorted(set(task) - _TASK_KEYS)
            if unknown:
                raise ValidationError(
                    f"task field '{unknown[0]}' cannot be imported",
                    task=name,
                    field=unknown[0],
                    fix="recompile the pipeline with kfp 2",
                )
            component = self.component_of(task, name)
            if "dag" in component:
                self._dag_task(frame, key, task, component, exits)
            else:
                self._step(frame, key, task, component, exits)

    def _dag_task(
        self,
        frame: Frame,
        key: str,
        task: dict[str, Any],
        component: dict[str, Any],
        exits: dict[str, str],
    ) -> None:
        name = frame.name(key)
        kind, prefix = self.kind(frame, key, task)
        if key in exits.values():
            self._exit_pipeline(frame, key, task, component)
            return
        env, absent = self._env(frame, task, component, name)
        group: dict[str, Any] = {"id": name, "kind": kind}
        if frame.group is not None:
            group["parent"] = frame.group
        child = Frame(
            component,
            prefix,
            name,
            env,
            frame.after + self.after(frame, task, name),
            absent,
            task.get("retryPolicy") or frame.retry,
        )
        if kind == "loop":
            self._loop(frame, task, group, child)
        elif kind == "condition":
            text = task["triggerPolicy"]["condition"]
            group["condition"] = cel.condition(
                text, lambda channel: self.lookup(child, channel, name), block=name
            )
            group["branch"] = self._branch(frame, key, group["condition"])
        elif kind == "exit_handler":
            group["exit_task"] = self._exit_name(frame, exits[key])
        self.groups.append(group)
        self.walk(child)

    def _env(
        self, frame: Frame, task: dict[str, Any], component: dict[str, Any], name: str
    ) -> tuple[dict[str, Value], set[str]]:
        """A DAG's inputs as IR values (its defaults for those not given), and the optional
        ones given no value."""
        env = self.inputs(frame, task, component, name, dag=True)
        absent = set()
        for spec_name, spec in definitions(component.get("inputDefinitions", {})):
            if spec_name not in env and "defaultValue" in spec:
                kind_str = types.parameter_type(spec, {"task": name, "field": spec_name})
                env[spec_name] = {"constant": types.coerce(spec["defaultValue"], kind_str)}
            elif spec_name not in env:
                absent.add(spec_name)  # an optional input not given: not passed on either
        return env, absent

    def _exit_name(self, frame: Frame, key: str) -> str:
        """The IR exit task of exit task ``key``: itself, or, for a pipeline, its first task
        that reads the final status (else its first task)."""
        component = self.component_of(frame.tasks[key], frame.name(key))
        if "dag" not in component:
            return frame.name(key)
        inner = Frame(component, f"{frame.prefix}{key}-")
        statuses = {
            name
            for name, spec in definitions(component.get("inputDefinitions", {}))
            if spec.get("parameterType") == "TASK_FINAL_STATUS"
        }
        roots = [k for k in ordered(inner.tasks) if not inner.tasks[k].get("dependentTasks")]
        reading = [k for k in roots if statuses & channels(inner.tasks[k])]
        first = next(iter(reading or roots), None)
        if first is None or "dag" in self.component_of(inner.tasks[first], inner.name(first)):
            raise ValidationError(
                "an exit pipeline whose first task is a block cannot be imported",
                task=frame.name(key),
                fix="start the exit pipeline with a component task",
            )
        return inner.name(first)

    def _exit_pipeline(
        self, frame: Frame, key: str, task: dict[str, Any], component: dict[str, Any]
    ) -> None:
        """A pipeline as an ExitHandler's exit task, laid out beside the handler's block (the
        IR's exit task sits there): its first task is the exit task; its other first tasks
        wait for that one, whatever became of it, as they would for the block on KFP."""
        name = frame.name(key)
        env, absent = self._env(frame, task, component, name)
        child = Frame(
            component,
            f"{frame.prefix}{key}-",
            frame.group,
            env,
            frame.after,
            absent,
            task.get("retryPolicy") or frame.retry,
        )
        exit_task = self._exit_name(frame, key)
        start = len(self.tasks)
        keys = {child.name(k): k for k in child.tasks}
        self.walk(child)
        for entry in self.tasks[start:]:
            spec = child.tasks.get(keys.get(entry["name"], ""))
            if spec is not None and not spec.get("dependentTasks") and entry["name"] != exit_task:
                entry["after"] = [*entry.get("after", []), exit_task]
                entry["ignore_upstream_failure"] = True
        roots = [k for k, t in child.tasks.items() if not t.get("dependentTasks")]
        for root in roots:
            if "dag" in self.component_of(child.tasks[root], child.name(root)):
                if child.name(root) != exit_task:
                    raise ValidationError(
                        "an exit pipeline starting with a block beside its first task cannot "
                        "be imported",
                        task=child.name(root),
                        fix="make the block depend on the exit pipeline's first task",
                    )

    def _branch(self, frame: Frame, key: str, condition: Value) -> str:
        """if, elif or else: the position of a condition in KFP's condition-branches DAG."""
        if not _BRANCHES.search(frame.group or ""):
            return "if"
        siblings = ordered(frame.tasks)
        if siblings.index(key) == 0:
            return "if"
        terms = condition.get("args", [condition]) if condition.get("op") == "and" else [condition]
        return "else" if all(term.get("op") == "not" for term in terms) else "elif"

    def _loop(
        self, frame: Frame, task: dict[str, Any], group: dict[str, Any], child: Frame
    ) -> None:
        name = group["id"]
        iterator = task.get("parameterIterator") or task.get("artifactIterator") or {}
        items = iterator.get("items", {})
        if "raw" in items:
            try:
                group["items"] = {"constant": json.loads(items["raw"])}
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    f"loop items {items['raw']!r} are not JSON ({exc})",
                    block=name,
                    field="parameterIterator.items.raw",
                    fix="recompile the pipeline with kfp",
                ) from None
        elif "inputParameter" in items or "inputArtifact" in items:
            group["items"] = self.lookup(
                child, items.get("inputParameter") or items["inputArtifact"], name
            )
        else:
            raise ValidationError(
                f"loop items {sorted(items)} cannot be imported",
                block=name,
                field="items",
                fix="loop over a list given as a literal, a parameter or a task output",
            )
        limit = task.get("iteratorPolicy", {}).get("parallelismLimit")
        if limit:
            group["parallelism"] = int(limit)
        item_input = iterator.get("itemInput")
        if item_input:
            child.env[item_input] = {"loop_item": name}
            child.absent.discard(item_input)

    def _step(
        self,
        frame: Frame,
        key: str,
        task: dict[str, Any],
        component: dict[str, Any],
        exits: dict[str, str],
    ) -> None:
        name = frame.name(key)
        where = {"task": name}
        if task.get("triggerPolicy", {}).get("condition"):
            raise ValidationError(
                "a condition on a component task cannot be imported",
                task=name,
                field="triggerPolicy.condition",
                fix="recompile the pipeline with kfp 2, which puts conditions on dsl.If blocks",
            )
        label = str(component.get("executorLabel", ""))
        executor = self.executors.get(label)
        if not isinstance(executor, dict):
            raise ValidationError(
                f"executor {label!r} of component '{task['componentRef']['name']}' is missing",
                task=name,
                field="deploymentSpec.executors",
                fix="give the whole file kfp.compiler wrote",
            )
        plain = {e["name"]: str(e.get("value", "")) for e in _container_env(executor)}
        platform = settings(self.platform.get(label, {}), label, where, plain)
        if frame.retry and "retryPolicy" not in task:
            task = {**task, "retryPolicy": frame.retry}
        data = component_dict(
            task["componentRef"]["name"], component, executor, task, platform, where
        )
        inputs = self.inputs(frame, task, component, name, dag=False)
        declared = {i["name"] for i in data["inputs"]}
        # KFP's own extra inputs (what placeholders in other inputs read) are passed too, so
        # the step resolves them as KFP's driver does; typed "any", they are not KFP's
        data["inputs"] += [{"name": k, "type": "any"} for k in inputs if k not in declared]
        for spec in data["inputs"]:
            # KFP gives an exit pipeline's final status to a task's dict (STRUCT) input too:
            # typed as the final status here; the step still gets the dict KFP gives
            if "final_status" in inputs.get(spec["name"], {}) and spec["type"] == "dict":
                spec["type"] = "PipelineTaskFinalStatus"
        entry: dict[str, Any] = {"name": name, "component": self.register(data)}
        entry["inputs"] = inputs
        is_exit = key in exits.values()
        after = [] if is_exit else self.after(frame, task, name)
        after = [a for a in frame.after + after if a != name]
        if after:
            entry["after"] = list(dict.fromkeys(after))
        if frame.group is not None:
            entry["group"] = frame.group
        shown = task.get("taskInfo", {}).get("name")
        if shown and shown != key:
            entry["display_name"] = shown
        strategy = task.get("triggerPolicy", {}).get("strategy")
        if strategy == "ALL_UPSTREAM_TASKS_COMPLETED" and not is_exit:
            entry["ignore_upstream_failure"] = True
        elif strategy not in (None, "ALL_UPSTREAM_TASKS_SUCCEEDED", "ALL_UPSTREAM_TASKS_COMPLETED"):
            raise ValidationError(
                f"trigger strategy {strategy!r} cannot be imported",
                task=name,
                field="triggerPolicy.strategy",
                fix="use the default strategy or ignore_upstream_failure()",
            )
        self.tasks.append(entry)

    def register(self, data: dict[str, Any]) -> str:
        """The component's id: its name, or ``<name>-<digest[:8]>`` beside another of that name."""
        from dagwright.components.spec import ComponentSpec

        digest = ComponentSpec.from_dict(data).digest
        cid = data["name"]
        if cid in self._digests and self._digests[cid] != digest:
            cid = f"{cid}-{digest[:8]}"
        self._digests[cid] = digest
        self.ir_components.setdefault(cid, data)
        return cid

    # values


def _container_env(executor: dict[str, Any]) -> list[dict[str, Any]]:
    return list(executor.get("container", {}).get("env") or [])
