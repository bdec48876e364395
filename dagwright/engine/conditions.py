"""Evaluating IR condition trees against run-time values (no ``eval``)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from dagwright.pipelines.ir import Value

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def evaluate(expr: Value, resolve: Callable[[Value], Any]) -> bool:
    """Evaluate a condition; ``resolve`` turns an operand value dict into its run-time value."""
    op = expr.get("op")
    if op is None:
        return bool(expr["constant"])
    if op == "and":
        return all(evaluate(arg, resolve) for arg in expr["args"])
    if op == "or":
        return any(evaluate(arg, resolve) for arg in expr["args"])
    if op == "not":
        return not evaluate(expr["arg"], resolve)
    return bool(_COMPARE[op](resolve(expr["left"]), resolve(expr["right"])))
