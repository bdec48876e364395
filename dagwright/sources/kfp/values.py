"""The values that flow between imported tasks: a task input, a DAG input, a DAG output.

A DAG output resolves to the inner task producing it, ``collected`` through a loop and
``one_of`` over several producers; a DAG input is what the DAG task was given in its parent.
"""

from __future__ import annotations

import re
from typing import Any

from dagwright.errors import ValidationError
from dagwright.sources.kfp import types
from dagwright.sources.kfp.frames import Frame, Reader, Value, definitions, ordered

_SELECTOR = re.compile(r"""^parseJson\(string_value\)\[\s*["']([^"']+)["']\s*\]$""")


class Values(Reader):
    """Reads task inputs and DAG outputs as IR values."""

    def inputs(
        self, frame: Frame, task: dict[str, Any], component: dict[str, Any], name: str, dag: bool
    ) -> dict[str, Value]:
        """A task's inputs as IR values (``dag``: the task runs a DAG, whose inputs are all
        its own; a component task also passes KFP's extra inputs, checked here)."""
        declared = dict(definitions(component.get("inputDefinitions", {})))
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
                value = self.input_value(frame, spec, target, name, key)
                if value is not None:
                    values[key] = value
        return values

    def input_value(
        self, frame: Frame, spec: dict[str, Any], target: str, task: str, key: str
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
        elif len(spec.get("runtimeValue", {}).get("constantValue", {})) == 1:  # schema 2.0.0
            ((kind, text),) = spec["runtimeValue"]["constantValue"].items()
            constant = {"intValue": int, "doubleValue": float}.get(kind, str)(text)
            value = {"constant": types.coerce(constant, target)}
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
        kind, prefix = self.kind(frame, producer, spec)
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

    def after(self, frame: Frame, task: dict[str, Any], name: str) -> list[str]:
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
                after += self.inner_tasks(frame, dep, name)
        return list(dict.fromkeys(after))

    def inner_tasks(self, frame: Frame, key: str, task: str) -> list[str]:
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
        _, prefix = self.kind(frame, key, spec)
        inner = Frame(component, prefix)
        return [name for sub in ordered(inner.tasks) for name in self.inner_tasks(inner, sub, task)]


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
