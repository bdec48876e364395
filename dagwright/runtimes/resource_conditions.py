"""Conditions on a Kubernetes resource, in Argo's resource-template notation.

Argo reads ``successCondition`` and ``failureCondition`` as Kubernetes label-selector
requirements whose keys are JSON paths of the resource, separated by commas: ``path == V``
(or ``=``), ``path != V``, ``path in (A, B)``, ``path notin (A, B)``, ``path > 3``,
``path < 3`` (whole numbers), ``path`` (the field exists) and ``!path``. A field's value is
compared as its text; a missing field matches ``!=`` and ``notin`` and nothing else. All
requirements of a success condition must hold; any one of a failure condition fails the step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dagwright.errors import ValidationError

_PATH = r"[A-Za-z0-9_./-]+"
_VALUE = r"[A-Za-z0-9_.-]*"
_COMPARE = re.compile(rf"^({_PATH})\s*(==|=|!=|>|<)\s*({_VALUE})$")
_SET = re.compile(rf"^({_PATH})\s+(in|notin)\s*\(([^()]*)\)$")
_EXISTS = re.compile(rf"^(!?)\s*({_PATH})$")
_CONDITION_FIX = (
    "write comma-separated requirements such as 'status.state == COMPLETED', "
    "'status.state in (FAILED, UNKNOWN)' or 'status.failed > 0'"
)


@dataclass(frozen=True)
class Requirement:
    """One requirement of a condition: ``path op values``."""

    path: str
    op: str  # "==", "!=", "in", "notin", ">", "<", "exists", "!exists"
    values: tuple[str, ...] = ()

    def holds(self, obj: Any) -> bool:
        """Whether the requirement holds for the resource ``obj`` (as Argo evaluates it)."""
        found, value = lookup(obj, self.path)
        if self.op == "exists":
            return found
        if self.op == "!exists":
            return not found
        if self.op in ("!=", "notin"):  # a missing field differs from every value
            return not found or text_of(value) not in self.values
        if not found:
            return False
        if self.op in ("==", "in"):
            return text_of(value) in self.values
        number = _number(text_of(value))
        if number is None:
            return False
        limit = int(self.values[0])
        return number > limit if self.op == ">" else number < limit

    def __str__(self) -> str:
        if self.op in ("in", "notin"):
            return f"{self.path} {self.op} ({', '.join(self.values)})"
        if self.op in ("exists", "!exists"):
            return ("!" if self.op == "!exists" else "") + self.path
        return f"{self.path} {self.op} {self.values[0]}"


def parse_condition(text: str | None, field: str = "condition") -> list[Requirement]:
    """The requirements of a condition in Argo's notation (empty for None or "").

    Raises:
        ValidationError: naming ``field``, for text that is not such a condition.
    """
    if not text or not text.strip():
        return []
    requirements = []
    for part in _split(text, field):
        requirements.append(_requirement(part.strip(), text, field))
    return requirements


def _split(text: str, field: str) -> list[str]:
    """Split at the commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth not in (0, 1):
            raise ValidationError(
                f"condition {text!r} has unbalanced parentheses", field=field, fix=_CONDITION_FIX
            )
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _requirement(part: str, text: str, field: str) -> Requirement:
    match = _COMPARE.match(part)
    if match:
        path, op, value = match.groups()
        if op in (">", "<") and not re.fullmatch(r"-?[0-9]+", value):
            raise ValidationError(
                f"condition {text!r} compares {path} {op} {value!r}, which is not an integer",
                field=field,
                fix="compare with > and < only against whole numbers, as label selectors do",
            )
        return Requirement(path, "==" if op == "=" else op, (value,))
    match = _SET.match(part)
    if match:
        path, op, listed = match.groups()
        values = tuple(v.strip() for v in listed.split(","))
        if all(re.fullmatch(_VALUE, v) and v for v in values):
            return Requirement(path, op, values)
    match = _EXISTS.match(part)
    if match and part:
        negated, path = match.groups()
        return Requirement(path, "!exists" if negated else "exists")
    raise ValidationError(
        f"{part!r} in condition {text!r} is not a requirement", field=field, fix=_CONDITION_FIX
    )


def lookup(obj: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted path (a number picks a list item) and whether it is there."""
    for key in path.split("."):
        if isinstance(obj, Mapping) and key in obj:
            obj = obj[key]
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            return False, None
    return True, obj


def text_of(value: Any) -> str:
    """A JSON value as Argo compares it: its text (null as "", true as "true", 2.0 as "2")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
