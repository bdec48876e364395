"""Conditions as the CEL expressions KFP evaluates in a task's trigger policy.

Written the way the KFP SDK writes them (``int(inputs.parameter_values['x']) > 2``), which is
also the form ``kfp.local`` knows how to evaluate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dagwright.components.types import ANY, parse, type_of_value, unwrap_optional
from dagwright.pipelines.ir import Value

_OPERATORS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

# A reference in a condition: the input name it reaches the condition's task by, and its type
Resolver = Callable[[Value], tuple[str, str]]


def render(expr: Value, resolve: Resolver) -> str:
    """The CEL text of a condition tree."""
    op = expr["op"]
    if op == "and":
        return " && ".join(_grouped(arg, resolve) for arg in expr["args"])
    if op == "or":
        return " || ".join(_grouped(arg, resolve) for arg in expr["args"])
    if op == "not":
        return f"!({render(expr['arg'], resolve)})"
    left_type, right_type = (_type(expr[side], resolve) for side in ("left", "right"))
    numbers = {left_type, right_type} == {"int", "float"}
    left = _operand(expr["left"], left_type, resolve, numbers)
    right = _operand(expr["right"], right_type, resolve, numbers)
    return f"{left} {_OPERATORS[op]} {right}"


def _grouped(expr: Value, resolve: Resolver) -> str:
    text = render(expr, resolve)
    return f"({text})" if expr["op"] in ("and", "or") else text


def _type(value: Value, resolve: Resolver) -> str:
    if "constant" in value:
        return type_of_value(value["constant"])
    head, _ = parse(unwrap_optional(resolve(value)[1]))
    return head if head in ("int", "float", "str", "bool") else ANY


def _operand(value: Value, type_str: str, resolve: Resolver, promote: bool) -> str:
    """One side of a comparison. An int compared with a float is promoted to a double, as
    CEL does not compare the two; a constant becomes a float literal, a reference double()."""
    if "constant" in value:
        return _literal(value["constant"], promote)
    name, _ = resolve(value)
    text = f"inputs.parameter_values['{name}']"
    if type_str == "int":
        text = f"int({text})"
        if promote:
            text = f"double({text})"
    return text


def _literal(constant: Any, promote: bool) -> str:
    if isinstance(constant, bool):
        return "true" if constant else "false"
    if constant is None:
        return "null"
    if isinstance(constant, int):
        return f"{float(constant)!r}" if promote else str(constant)
    if isinstance(constant, float):
        return repr(constant)
    if isinstance(constant, str):
        escaped = constant.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    return json.dumps(constant)
