"""The walk over a PipelineSpec's DAGs: tasks, blocks and the values that flow between them.

Each DAG is read in a ``Frame``: its component, the prefix of its task names (a nested
pipeline's tasks are named ``<pipeline task>-<task>``, as ``PipelineBuilder.call_pipeline``
names them; control-flow DAGs share their parent's names, which KFP keeps unique), the block it
makes and ``env``, its inputs as IR values. A DAG output resolves to the inner task producing
it, ``collected`` through a loop and ``one_of`` over several producers.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from dagwright.errors import ValidationError
from dagwright.sources.kfp import cel, types
from dagwright.sources.kfp.components import component_dict
from dagwright.sources.kfp.platform import settings

Value = dict[str, Any]
_CONTROL = re.compile(r"^(condition-branches|condition|for-loop|exit-handler)-\d+$")
_BRANCHES = re.compile(r"(^|-)condition-branches-\d+$")
_SELECTOR = re.compile(r"""^parseJson\(string_value\)\[\s*["']([^"']+)["']\s*\]$""")
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


@dataclass
class Frame:
    """One DAG being read."""

    component: dict[str, Any]
    prefix: str = ""
    group: str | None = None
    env: dict[str, Value] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)
    absent: set[str] = field(default_factory=set)  # optional inputs given no value

    def name(self, key: str) -> str:
        """The IR name of task (or block) ``key`` of this DAG."""
        return ir_name(self.prefix + key)

    @property
    def tasks(self) -> dict[str, Any]:
        """The DAG's tasks by their KFP names."""
        tasks: dict[str, Any] = self.component.get("dag", {}).get("tasks", {}) or {}
        return tasks


class Walker:
    """Reads a PipelineSpec's DAGs into IR groups, tasks and components (plain dicts)."""

    def __init__(self, spec: dict[str, Any], platform: dict[str, dict[str, Any]]) -> None:
        self.components: dict[str, Any] = spec.get("components", {}) or {}
        self.executors: dict[str, Any] = spec.get("deploymentSpec", {}).get("executors", {}) or {}
        self.platform = platform
        self.groups: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.ir_components: dict[str, dict[str, Any]] = {}
        self._digests: dict[str, str] = {}

    # the DAGs

    def walk(self, frame: Frame) -> None:
        """Add the tasks and blocks of ``frame``'s DAG, and of every DAG inside it."""
        exits = self._exit_tasks(frame)
        for key in _ordered(frame.tasks):
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

    def _exit_tasks(self, frame: Frame) -> dict[str, str]:
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

    def _dag_task(
        self,
        frame: Frame,
        key: str,
        task: dict[str, Any],
        component: dict[str, Any],
        exits: dict[str, str],
    ) -> None:
        name = frame.name(key)
        kind, prefix = self._kind(frame, key, task)
        if key in exits.values():
            self._exit_pipeline(frame, key, task, component)
            return
        env = self._inputs(frame, task, component, name, dag=True)
        absent = set()
        for spec_name, spec in _definitions(component.get("inputDefinitions", {})):
            if spec_name not in env and "defaultValue" in spec:
                kind_str = types.parameter_type(spec, {"task": name, "field": spec_name})
                env[spec_name] = {"constant": types.coerce(spec["defaultValue"], kind_str)}
            elif spec_name not in env:
                absent.add(spec_name)  # an optional input not given: not passed on either
        group: dict[str, Any] = {"id": name, "kind": kind}
        if frame.group is not None:
            group["parent"] = frame.group
        child = Frame(
            component, prefix, name, env, frame.after + self._after(frame, task, name), absent
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

    def _exit_name(self, frame: Frame, key: str) -> str:
        """The IR exit task of exit task ``key``: itself, or, for a pipeline, its first task
        that reads the final status (else its first task)."""
        component = self.component_of(frame.tasks[key], frame.name(key))
        if "dag" not in component:
            return frame.name(key)
        inner = Frame(component, f"{frame.prefix}{key}-")
        statuses = {
            name
            for name, spec in _definitions(component.get("inputDefinitions", {}))
            if spec.get("parameterType") == "TASK_FINAL_STATUS"
        }
        roots = [k for k in _ordered(inner.tasks) if not inner.tasks[k].get("dependentTasks")]
        reading = [k for k in roots if statuses & _channels(inner.tasks[k])]
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
        env = self._inputs(frame, task, component, name, dag=True)
        child = Frame(component, f"{frame.prefix}{key}-", frame.group, env, frame.after)
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

    def _kind(self, frame: Frame, key: str, task: dict[str, Any]) -> tuple[str, str]:
        """The block a DAG task makes, and the prefix of the names inside it."""
        if "parameterIterator" in task or "artifactIterator" in task:
            return "loop", frame.prefix
        if task.get("triggerPolicy", {}).get("condition"):
            return "condition", frame.prefix
        if _CONTROL.match(key):  # exit-handler-N, condition-branches-N
            if key.startswith("exit-handler-") and key in self._exit_tasks(frame):
                return "exit_handler", frame.prefix
            return "pipeline", frame.prefix
        return "pipeline", f"{frame.prefix}{key}-"  # a nested pipeline: its own names

    def _branch(self, frame: Frame, key: str, condition: Value) -> str:
        """if, elif or else: the position of a condition in KFP's condition-branches DAG."""
        if not _BRANCHES.search(frame.group or ""):
            return "if"
        siblings = _ordered(frame.tasks)
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
        platform = settings(self.platform.get(label, {}), label, where)
        data = component_dict(
            task["componentRef"]["name"], component, executor, task, platform, where
        )
        inputs = self._inputs(frame, task, component, name, dag=False)
        declared = {i["name"] for i in data["inputs"]}
        # KFP's own extra inputs (what placeholders in other inputs read) are passed too, so
        # the step resolves them as KFP's driver does; typed "any", they are not KFP's
        data["inputs"] += [{"name": k, "type": "any"} for k in inputs if k not in declared]
        for spec in data["inputs"]:
            # KFP gives an exit pipeline's final status to a task's dict (STRUCT) input too:
            # typed as the final status here; the step still gets the dict KFP gives
            if "final_status" in inputs.get(spec["name"], {}) and spec["type"] == "dict":
                spec["type"] = "PipelineTaskFinalStatus"
        entry: dict[str, Any] = {"name": name, "component": self._register(data)}
        entry["inputs"] = inputs
        is_exit = key in exits.values()
        after = [] if is_exit else self._after(frame, task, name)
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

    def _register(self, data: dict[str, Any]) -> str:
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

    def _inputs(
        self, frame: Frame, task: dict[str, Any], component: dict[str, Any], name: str, dag: bool
    ) -> dict[str, Value]:
        declared = dict(_definitions(component.get("inputDefinitions", {})))
        values: dict[str, Value] = {}
        inputs = task.get("inputs", {})
        for section in ("parameters", "artifacts"):
            for key, spec in (inputs.get(section) or {}).items():
                if not dag and key not in declared:
                    _check_extra_input(key, spec, name)
                kind = declared.get(key, {})
                target = (
                    types.parameter_type(kind, {"task": name, "field": key})
                    if section == "parameters" and kind
                    else "any"
                )
                value = self.input_value(frame, spec, target, name, key, section)
                if value is not None:
                    values[key] = value
        return values

    def input_value(
        self, frame: Frame, spec: dict[str, Any], target: str, task: str, key: str, section: str
    ) -> Value | None:
        """One task input as an IR value, read in ``frame`` (None: an optional input of the
        DAG that was given no value, so the task gets none either)."""
        where = {"task": task, "field": key}
        value: Value
        if "componentInputParameter" in spec or "componentInputArtifact" in spec:
            channel = spec.get("componentInputParameter") or spec["componentInputArtifact"]
            if channel in frame.absent:
                return None
            value = self.lookup(frame, channel, task)
        elif "runtimeValue" in spec and "constant" in spec["runtimeValue"]:
            value = {"constant": types.coerce(spec["runtimeValue"]["constant"], target)}
        elif "taskOutputParameter" in spec:
            out = spec["taskOutputParameter"]
            value = self.output(frame, out["producerTask"], out["outputParameterKey"], False, task)
        elif "taskOutputArtifact" in spec:
            out = spec["taskOutputArtifact"]
            value = self.output(frame, out["producerTask"], out["outputArtifactKey"], True, task)
        elif "taskFinalStatus" in spec:
            value = {"final_status": frame.name(spec["taskFinalStatus"]["producerTask"])}
        else:
            raise ValidationError(
                f"input form {sorted(spec)} cannot be imported",
                fix="pass a constant, a pipeline parameter or a task output",
                **where,
            )
        selector = spec.get("parameterExpressionSelector")
        if selector:
            value = _select(value, selector, where)
        return value

    def lookup(self, frame: Frame, channel: str, task: str) -> Value:
        """The value of DAG input ``channel`` in ``frame`` (a loop item's ``-subvar-`` field
        picks that key of the item)."""
        if channel in frame.env:
            return dict(frame.env[channel])
        base, sep, key = channel.rpartition("-subvar-")
        item = frame.env.get(base) if sep else None
        if item is not None and "loop_item" in item and "key" not in item:
            return {**item, "key": key}
        if channel in frame.absent:
            raise ValidationError(
                f"reads optional input '{channel}', which was given no value",
                task=task,
                field=channel,
                fix="pass a value for it",
            )
        raise ValidationError(
            f"reads input '{channel}', which its DAG does not have",
            task=task,
            field=channel,
            fix="give the whole file kfp.compiler wrote",
        )

    def output(self, frame: Frame, producer: str, key: str, artifact: bool, task: str) -> Value:
        """Output ``key`` of task ``producer`` of ``frame``'s DAG, resolved to the component
        task that makes it."""
        spec = frame.tasks.get(producer)
        if spec is None:
            raise ValidationError(
                f"uses an output of unknown task '{producer}'",
                task=task,
                fix="give the whole file kfp.compiler wrote",
            )
        component = self.component_of(spec, frame.name(producer))
        if "dag" not in component:
            return {"task": frame.name(producer), "output": key}
        kind, prefix = self._kind(frame, producer, spec)
        value = self.dag_output(Frame(component, prefix), key, artifact, task)
        return _collected(value, frame.name(producer), task) if kind == "loop" else value

    def dag_output(self, frame: Frame, key: str, artifact: bool, task: str) -> Value:
        """Output ``key`` of ``frame``'s DAG (its ``dag.outputs``) as an IR value."""
        outputs = frame.component.get("dag", {}).get("outputs", {}) or {}
        found = (outputs.get("artifacts" if artifact else "parameters") or {}).get(key)
        if found is None:
            raise ValidationError(
                f"uses output '{key}' of a DAG that does not produce it",
                task=task,
                fix="give the whole file kfp.compiler wrote",
            )
        if artifact:
            selectors = [
                (s["producerSubtask"], s["outputArtifactKey"])
                for s in found.get("artifactSelectors", [])
            ]
        elif "valueFromParameter" in found:
            sel = found["valueFromParameter"]
            selectors = [(sel["producerSubtask"], sel["outputParameterKey"])]
        else:
            selectors = [
                (s["producerSubtask"], s["outputParameterKey"])
                for s in found.get("valueFromOneof", {}).get("parameterSelectors", [])
            ]
        values = [self.output(frame, sub, out, artifact, task) for sub, out in selectors]
        if not values:
            raise ValidationError(
                f"output '{key}' names no producer",
                task=task,
                fix="give the whole file kfp.compiler wrote",
            )
        return values[0] if len(values) == 1 else {"one_of": values}

    def _after(self, frame: Frame, task: dict[str, Any], name: str) -> list[str]:
        """The tasks ``task`` waits for beyond the ones whose outputs it reads (``.after``)."""
        inputs = task.get("inputs", {})
        data = set()
        for section in ("parameters", "artifacts"):
            for spec in (inputs.get(section) or {}).values():
                for form in ("taskOutputParameter", "taskOutputArtifact", "taskFinalStatus"):
                    if form in spec:
                        data.add(spec[form]["producerTask"])
        after: list[str] = []
        for dep in task.get("dependentTasks", []):
            if dep not in data:
                after += self._inner_tasks(frame, dep, name)
        return list(dict.fromkeys(after))

    def _inner_tasks(self, frame: Frame, key: str, task: str) -> list[str]:
        """The component tasks of ``key`` (itself, or every one inside its DAG)."""
        spec = frame.tasks.get(key)
        if spec is None:
            raise ValidationError(
                f"runs after unknown task '{key}'",
                task=task,
                field="dependentTasks",
                fix="give the whole file kfp.compiler wrote",
            )
        component = self.component_of(spec, frame.name(key))
        if "dag" not in component:
            return [frame.name(key)]
        _, prefix = self._kind(frame, key, spec)
        inner = Frame(component, prefix)
        return [
            name for sub in _ordered(inner.tasks) for name in self._inner_tasks(inner, sub, task)
        ]


def ir_name(full: str) -> str:
    """``full``, or, past Kubernetes' 63 characters (a long name prefixed with its nested
    pipeline's), its start and 8 hex digits of its sha256, as the builder names traced tasks."""
    if len(full) <= 63:
        return full
    return f"{full[:54].rstrip('-')}-{hashlib.sha256(full.encode()).hexdigest()[:8]}"


def _check_extra_input(key: str, spec: dict[str, Any], task: str) -> None:
    """A task input its component does not declare: only the ones KFP adds are expected, the
    values a placeholder in another input reads (``pipelinechannel--x``: an f-string argument,
    a resource set from a pipeline value) and inputs holding such a placeholder."""
    constant = spec.get("runtimeValue", {}).get("constant")
    if key.startswith("pipelinechannel--") or (
        isinstance(constant, str) and constant.startswith("{{$.inputs.parameters[")
    ):
        return
    raise ValidationError(
        f"passes input '{key}', which its component does not declare",
        task=task,
        field=key,
        fix="give the whole file kfp.compiler wrote",
    )


def _channels(task: dict[str, Any]) -> set[str]:
    """The DAG inputs a task reads directly."""
    inputs = task.get("inputs", {})
    return {
        spec.get("componentInputParameter") or spec.get("componentInputArtifact")
        for section in ("parameters", "artifacts")
        for spec in (inputs.get(section) or {}).values()
    } - {None}


def _definitions(definitions: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        *((definitions.get("parameters") or {}).items()),
        *((definitions.get("artifacts") or {}).items()),
    ]


def _select(value: Value, selector: str, where: dict[str, Any]) -> Value:
    match = _SELECTOR.match(selector.strip())
    if match is None or "loop_item" not in value or "key" in value:
        raise ValidationError(
            f"the selection {selector!r} cannot be imported",
            fix="pick one field of a loop item (item.field), or pass the whole value",
            **where,
        )
    return {**value, "key": match[1]}


def _collected(value: Value, loop: str, task: str) -> Value:
    if "task" in value:
        return {"collected": value}
    if "collected" in value:
        return value  # gathered over an inner loop too: a list of lists
    if "one_of" in value:
        return {"one_of": [_collected(v, loop, task) for v in value["one_of"]]}
    raise ValidationError(
        f"an output of loop '{loop}' that is not a task output cannot be imported",
        task=task,
        fix="gather a task output with dsl.Collected",
    )


def _ordered(tasks: dict[str, Any]) -> list[str]:
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
