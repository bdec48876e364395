"""Shape checks for an IR document read from a file, before any of it is used.

Every field must have the type the IR writes; a wrong one is reported with its path in the
document (``tasks[2].inputs.x``), never as a Python error from deeper in.
"""

from __future__ import annotations

from typing import Any

from dagwright.errors import ValidationError

_COMPARE = {"eq", "ne", "lt", "le", "gt", "ge"}


class _Shape:
    def __init__(self, pipeline: str | None) -> None:
        self.pipeline = pipeline

    def fail(self, where: str, problem: str) -> ValidationError:
        return ValidationError(
            f"malformed IR at {where}: {problem}",
            pipeline=self.pipeline,
            fix="recompile it with 'dagwright compile --target ir'",
        )

    def kind(
        self, value: Any, types: type | tuple[type, ...], where: str, optional: bool = False
    ) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,)
        ):
            raise self.fail(where, f"expected {_names(types)}, got {value!r}")
        if not isinstance(value, types):
            raise self.fail(where, f"expected {_names(types)}, got {value!r}")

    def value(self, value: Any, where: str) -> None:
        self.kind(value, dict, where)
        keys = set(value)
        if keys == {"constant"}:
            return
        if keys == {"param"}:
            return self.kind(value["param"], str, f"{where}.param")
        if keys == {"task", "output"}:
            self.kind(value["task"], str, f"{where}.task")
            return self.kind(value["output"], str, f"{where}.output")
        if keys in ({"loop_item"}, {"loop_item", "key"}):
            self.kind(value["loop_item"], str, f"{where}.loop_item")
            return self.kind(value.get("key", ""), str, f"{where}.key")
        if keys == {"collected"}:
            inner = value["collected"]
            self.kind(inner, dict, f"{where}.collected")
            if set(inner) != {"task", "output"}:
                raise self.fail(f"{where}.collected", "needs exactly task and output")
            return None
        if keys == {"one_of"}:
            self.kind(value["one_of"], list, f"{where}.one_of")
            if not value["one_of"]:
                raise self.fail(f"{where}.one_of", "needs at least one value")
            for i, member in enumerate(value["one_of"]):
                self.value(member, f"{where}.one_of[{i}]")
            return None
        if keys == {"final_status"}:
            return self.kind(value["final_status"], str, f"{where}.final_status")
        raise self.fail(
            where,
            f"{value!r} is not a value (constant, param, task/output, loop_item, collected, "
            "one_of or final_status)",
        )

    def condition(self, expr: Any, where: str) -> None:
        self.kind(expr, dict, where)
        op = expr.get("op")
        if op is None:
            if set(expr) != {"constant"} or not isinstance(expr["constant"], bool):
                raise self.fail(where, f"{expr!r} is neither a comparison nor true/false")
        elif op in _COMPARE:
            if set(expr) != {"op", "left", "right"}:
                raise self.fail(where, f"'{op}' needs exactly left and right")
            self.value(expr["left"], f"{where}.left")
            self.value(expr["right"], f"{where}.right")
        elif op in ("and", "or"):
            self.kind(expr.get("args"), list, f"{where}.args")
            for i, arg in enumerate(expr["args"]):
                self.condition(arg, f"{where}.args[{i}]")
        elif op == "not":
            self.condition(expr.get("arg"), f"{where}.arg")
        else:
            raise self.fail(f"{where}.op", f"unknown operator {op!r}")


def check_shapes(data: dict[str, Any]) -> None:
    """Raise a ValidationError at the first field of the wrong type."""
    name = data.get("name")
    shape = _Shape(name if isinstance(name, str) else None)
    shape.kind(name, str, "name")
    for field, kind in (
        ("params", list),
        ("groups", list),
        ("tasks", list),
        ("outputs", dict),
        ("optional_outputs", list),
        ("components", dict),
    ):
        shape.kind(data.get(field, kind()), kind, field)
    for i, key in enumerate(data.get("optional_outputs", [])):
        shape.kind(key, str, f"optional_outputs[{i}]")
    for i, param in enumerate(data.get("params", [])):
        shape.kind(param, dict, f"params[{i}]")
        shape.kind(param.get("name"), str, f"params[{i}].name")
        shape.kind(param.get("type"), str, f"params[{i}].type")
    for key, value in data.get("outputs", {}).items():
        shape.value(value, f"outputs.{key}")
    for i, group in enumerate(data.get("groups", [])):
        where = f"groups[{i}]"
        shape.kind(group, dict, where)
        for field in ("id", "kind"):
            shape.kind(group.get(field), str, f"{where}.{field}")
        for field in ("parent", "exit_task", "branch"):
            shape.kind(group.get(field), str, f"{where}.{field}", optional=True)
        shape.kind(group.get("parallelism"), int, f"{where}.parallelism", optional=True)
        if group.get("condition") is not None:
            shape.condition(group["condition"], f"{where}.condition")
        if group.get("items") is not None:
            shape.value(group["items"], f"{where}.items")
    for i, task in enumerate(data.get("tasks", [])):
        where = f"tasks[{i}]"
        shape.kind(task, dict, where)
        shape.kind(task.get("name"), str, f"{where}.name")
        shape.kind(task.get("component"), str, f"{where}.component")
        shape.kind(task.get("group"), str, f"{where}.group", optional=True)
        shape.kind(task.get("display_name"), str, f"{where}.display_name", optional=True)
        shape.kind(task.get("inputs", {}), dict, f"{where}.inputs")
        for key, value in task.get("inputs", {}).items():
            shape.value(value, f"{where}.inputs.{key}")
        shape.kind(task.get("after", []), list, f"{where}.after")
        shape.kind(
            task.get("ignore_upstream_failure", False), bool, f"{where}.ignore_upstream_failure"
        )
        for j, other in enumerate(task.get("after", [])):
            shape.kind(other, str, f"{where}.after[{j}]")
    for cid, spec in data.get("components", {}).items():
        shape.kind(spec, dict, f"components.{cid}")
        shape.kind(spec.get("kfp"), dict, f"components.{cid}.kfp", optional=True)
        _pod_shape(shape, spec.get("pod", {}), f"components.{cid}.pod")
        env_inputs = spec.get("env_inputs", {})
        shape.kind(env_inputs, dict, f"components.{cid}.env_inputs")
        for var, port in env_inputs.items():
            shape.kind(port, str, f"components.{cid}.env_inputs.{var}")
        importer = spec.get("importer")
        if importer is not None:
            where = f"components.{cid}.importer"
            shape.kind(importer, dict, where)
            shape.kind(importer.get("type"), str, f"{where}.type")
            shape.kind(importer.get("metadata", {}), dict, f"{where}.metadata")
            shape.kind(importer.get("reimport", False), bool, f"{where}.reimport")


def _pod_shape(shape: _Shape, pod: Any, where: str) -> None:
    """A component's pod options: the lists hold mappings of their type's fields only."""
    shape.kind(pod, dict, where)
    if not pod:
        return
    from dagwright.components.pod import POD_FIELDS  # loaded only for an IR that uses it

    for key, value in pod.items():
        if key not in POD_FIELDS:
            raise shape.fail(f"{where}.{key}", "is not a pod option")
        kind = POD_FIELDS[key]
        if kind is None:
            shape.kind(value, dict, f"{where}.{key}")
            continue
        shape.kind(value, list, f"{where}.{key}")
        for i, item in enumerate(value):
            if kind is str:
                shape.kind(item, str, f"{where}.{key}[{i}]")
                continue
            shape.kind(item, dict, f"{where}.{key}[{i}]")
            unknown = sorted(set(item) - set(kind.__dataclass_fields__))
            if unknown:
                raise shape.fail(f"{where}.{key}[{i}].{unknown[0]}", "is not a field")


def _names(types: type | tuple[type, ...]) -> str:
    kinds = types if isinstance(types, tuple) else (types,)
    words = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "an integer",
        bool: "true or false",
    }
    return " or ".join(words.get(k, k.__name__) for k in kinds)
