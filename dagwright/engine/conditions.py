"""Evaluating IR condition trees against run-time values (no ``eval``)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from dagwright.errors import ValidationError
from dagwright.pipelines.ir import Value

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}

_SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def evaluate(expr: Value, resolve: Callable[[Value], Any], block: str | None = None) -> bool:
    """Evaluate a condition; ``resolve`` turns an operand value dict into its run-time value.

    Raises:
        ValidationError: naming ``block``, the operator and both values' types, for values
            that cannot be compared (``None > 3``, ``1 > '2'``).
    """
    op = expr.get("op")
    if op is None:
        return bool(expr["constant"])
    if op == "and":
        return all(evaluate(arg, resolve, block) for arg in expr["args"])
    if op == "or":
        return any(evaluate(arg, resolve, block) for arg in expr["args"])
    if op == "not":
        return not evaluate(expr["arg"], resolve, block)
    left, right = resolve(expr["left"]), resolve(expr["right"])
    try:
        return bool(_COMPARE[op](left, right))
    except TypeError as exc:
        raise ValidationError(
            f"its condition cannot compare {type(left).__name__} {left!r} {_SYMBOL[op]} "
            f"{type(right).__name__} {right!r}",
            block=block,
            field="condition",
            fix="compare values of one type (cast the value where the condition is written)",
        ) from exc
