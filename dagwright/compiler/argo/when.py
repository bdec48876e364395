"""Conditions as Argo ``when`` expressions (govaluate, after Argo substitutes ``{{...}}``).

Argo substitutes a reference's text into the expression before evaluating it, so a string
operand is quoted around the placeholder (``'{{tasks.x.outputs.parameters.y}}' == 'a'``) and
numbers and booleans stand bare. A string value that itself holds a ``'`` therefore breaks
the expression at run time; Argo offers no escaping for it.
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

# A reference -> its placeholder text and its dagwright type
Resolver = Callable[[Value], tuple[str, str]]


def render(expr: Value, resolve: Resolver) -> str:
    """The ``when`` text of a condition tree."""
    if "constant" in expr:
        return "true" if expr["constant"] else "false"
    op = expr["op"]
    if op in ("and", "or"):
        joiner = " && " if op == "and" else " || "
        return joiner.join(f"({render(arg, resolve)})" for arg in expr["args"])
    if op == "not":
        return f"!({render(expr['arg'], resolve)})"
    sides = [_side(expr[key], resolve) for key in ("left", "right")]
    quoted = any(kind == "str" for _, kind in sides)
    texts = [
        f"'{text}'" if quoted and not literal else text
        for (text, _), literal in zip(
            sides, ("constant" in expr["left"], "constant" in expr["right"]), strict=True
        )
    ]
    return f"{texts[0]} {_OPERATORS[op]} {texts[1]}"


def _side(value: Value, resolve: Resolver) -> tuple[str, str]:
    if "constant" in value:
        constant = value["constant"]
        return _literal(constant), type_of_value(constant)
    text, type_str = resolve(value)
    head, _ = parse(unwrap_optional(type_str))
    return text, head if head in ("int", "float", "str", "bool") else ANY


def _literal(constant: Any) -> str:
    text = _written(constant)
    if "{{" in text:  # Argo would substitute it before evaluating the expression
        raise ValidationError(
            f"the condition compares with {constant!r}, which holds '{{{{': Argo would read it "
            "as a variable and substitute it",
            field="condition",
            fix="compare with a value without '{{' (pass such text through a component output)",
        )
    return text


def _written(constant: Any) -> str:
    if isinstance(constant, bool):
        return "true" if constant else "false"
    if constant is None:
        return "null"
    if isinstance(constant, float) and not math.isfinite(constant):
        raise ValidationError(
            f"the condition compares with {constant}, which Argo cannot write",
            field="condition",
            fix="compare with a finite number",
        )
    if isinstance(constant, str):
        if "'" in constant:
            raise ValidationError(
                f"the condition compares with {constant!r}; Argo's when cannot quote a '",
                field="condition",
                fix="compare with a string without single quotes",
            )
        return f"'{constant}'"
    return json.dumps(constant)
