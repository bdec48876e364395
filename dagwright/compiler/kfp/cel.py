"""Conditions as the CEL expressions KFP evaluates in a task's trigger policy.

Written the way the KFP SDK writes them (``int(inputs.parameter_values['x']) > 2``), which is
also the form ``kfp.local`` knows how to evaluate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from dagwright.components.types import ANY, parse, type_of_value, unwrap_optional
from dagwright.errors import ValidationError
from dagwright.pipelines.ir import Value

_OPERATORS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

# A reference in a condition, and the type wanted for it when it has none of its own (an item
# of an untyped list) -> the input name it reaches the condition's task by
Resolver = Callable[[Value, str], str]
# A reference -> its dagwright type ("any" when it has none)
Typer = Callable[[Value], str]
_SCALARS = ("int", "float", "str", "bool")


def render(expr: Value, resolve: Resolver, type_of: Typer) -> str:
    """The CEL text of a condition tree.

    Raises:
        ValidationError: for a constant CEL cannot write (an infinite or NaN float), or two
            values without a type compared (see ``_types``).
    """
    if "constant" in expr:  # If(True): a condition fixed when the pipeline was built
        return "true" if expr["constant"] else "false"
    op = expr["op"]
    if op == "and":
        return " && ".join(_grouped(arg, resolve, type_of) for arg in expr["args"])
    if op == "or":
        return " || ".join(_grouped(arg, resolve, type_of) for arg in expr["args"])
    if op == "not":
        return f"!({render(expr['arg'], resolve, type_of)})"
    left, right = expr["left"], expr["right"]
    left_type, right_type = _types(left, right, type_of)
    numbers = {left_type, right_type} == {"int", "float"}
    null = {left_type, right_type} & {"none"}
    return (
        f"{_operand(left, left_type, resolve, numbers, bool(null))} {_OPERATORS[op]} "
        f"{_operand(right, right_type, resolve, numbers, bool(null))}"
    )


def _grouped(expr: Value, resolve: Resolver, type_of: Typer) -> str:
    text = render(expr, resolve, type_of)
    return f"({text})" if expr.get("op") in ("and", "or") else text


def _types(left: Value, right: Value, type_of: Typer) -> tuple[str, str]:
    """Both operands' types; an untyped reference takes the other side's (a number as float,
    which compares right whether the value turns out int or float).

    An untyped reference against a string is refused as well (KFP converts it to the string
    input it reaches the condition by). Two untyped references are refused: KFP declares such
    a value with the type of its first reader, here none, so both reach the condition as
    strings and CEL would compare the texts (``"10" > "9"`` is false) where dagwright run
    compares the values (``10 > 9``).
    """
    own = [_own_type(side, type_of) for side in (left, right)]
    if own == [ANY, ANY]:
        raise ValidationError(
            "the condition compares two values that have no type; KFP would pass both as "
            "strings and compare the texts where dagwright run compares the values",
            field="condition",
            fix="give one side a type (annotate the output, e.g. -> int, or type the parameter)",
        )
    for i, side in enumerate((left, right)):
        if own[i] == ANY and own[1 - i] == "str" and "constant" not in side:
            raise ValidationError(
                "the condition compares a value that has no type with a string; KFP would "
                "convert the value to a string (5 to '5') where dagwright run finds them "
                "different",
                field="condition",
                fix="give the value a type (annotate the output, e.g. -> str or -> int)",
            )
    for i in (0, 1):
        other = own[1 - i]
        if own[i] == ANY and other in _SCALARS:
            own[i] = "float" if other in ("int", "float") else other
    return own[0], own[1]


def _own_type(value: Value, type_of: Typer) -> str:
    if "constant" in value:
        constant = value["constant"]
        return "none" if constant is None else type_of_value(constant)
    return _scalar(type_of(value))


def _scalar(type_str: str) -> str:
    head, _ = parse(unwrap_optional(type_str))
    return head if head in _SCALARS else ANY


def _operand(value: Value, type_str: str, resolve: Resolver, promote: bool, null: bool) -> str:
    """One side of a comparison. An int compared with a float is promoted to a double, as
    CEL does not compare the two; a constant becomes a float literal, a reference double().
    Compared with null, a reference is left as it is."""
    if "constant" in value:
        return _literal(value["constant"], promote)
    text = f"inputs.parameter_values['{resolve(value, type_str)}']"
    if type_str == "int" and not null:
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
        if not math.isfinite(constant):
            raise ValidationError(
                f"the condition compares with {constant}, which CEL cannot write",
                field="condition",
                fix="compare with a finite number",
            )
        return repr(constant)
    # JSON's string escapes are CEL's too. Braces as \u escapes: the backend hands the task
    # spec to Argo as text, which would read a "{{" in it as one of its variables.
    text = json.dumps(constant, ensure_ascii=False)
    return text.replace("{", "\\u007b").replace("}", "\\u007d")
