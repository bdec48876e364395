"""Parameter and artifact types as plain strings: what an annotation means and what fits where.

Parameter types are written the way Python spells them (``int``, ``list[int]``,
``dict[str, float]``, ``Optional[int]``); artifact types by class name (``Dataset``). ``any``
stands for a value whose type is not known when the pipeline is built (an item of an untyped list).
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Union

from dagwright.components import serializers
from dagwright.components.artifacts import (
    ARTIFACT_TYPES,
    INPUT_MARKER,
    OUTPUT_MARKER,
    Artifact,
)
from dagwright.components.final_status import FINAL_STATUS, is_final_status
from dagwright.errors import DagwrightError

_PRIMITIVES: dict[Any, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    list: "list",
    dict: "dict",
}
ANY = "any"


class UnsupportedAnnotation(DagwrightError, TypeError):
    """An annotation dagwright cannot carry between steps."""


@dataclass(frozen=True)
class TypeInfo:
    """What one annotation means for a component."""

    type: str
    artifact: bool = False
    direction: str = "in"  # "in" or "out"; only artifacts can be "out" parameters
    optional: bool = False


def describe_annotation(annotation: Any) -> TypeInfo:
    """Map a parameter annotation to a TypeInfo.

    Raises:
        UnsupportedAnnotation: for anything other than the supported parameter types and
            ``Input[...]`` / ``Output[...]`` artifacts.
    """
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        for marker, direction in ((INPUT_MARKER, "in"), (OUTPUT_MARKER, "out")):
            if marker in extras:
                return TypeInfo(_artifact_name(base), artifact=True, direction=direction)
        return describe_annotation(base)
    if is_final_status(annotation):  # filled by the engine for an exit task
        return TypeInfo(FINAL_STATUS)
    serializer = serializers.for_class(annotation)
    if serializer is not None:  # a DataFrame, ndarray or estimator: passed as a file
        return TypeInfo(serializer.type_name, artifact=True)
    if isinstance(annotation, type) and issubclass(annotation, Artifact):
        raise UnsupportedAnnotation(
            f"bare artifact type {annotation.__name__}: write Input[{annotation.__name__}] "
            f"or Output[{annotation.__name__}]"
        )
    inner = _strip_optional(annotation)
    if is_final_status(inner):  # Optional[...] as KFP components often write it
        return TypeInfo(FINAL_STATUS)
    if inner is not None:
        return TypeInfo(f"Optional[{type_string(inner)}]", optional=True)
    return TypeInfo(type_string(annotation))


def type_string(annotation: Any) -> str:
    """The type string of a parameter annotation (no artifacts)."""
    if annotation in _PRIMITIVES:
        return _PRIMITIVES[annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and len(args) == 1:
        return f"list[{type_string(args[0])}]"
    if origin is dict and len(args) == 2:
        if args[0] is not str:
            raise UnsupportedAnnotation(f"{annotation!r}: dictionary keys must be str")
        return f"dict[str, {type_string(args[1])}]"
    if _strip_optional(annotation) is not None:
        return f"Optional[{type_string(_strip_optional(annotation))}]"
    name = getattr(annotation, "__name__", repr(annotation))
    raise UnsupportedAnnotation(
        f"{name}: use str, int, float, bool, list, dict (optionally typed, e.g. list[int]), "
        "Optional[...] of those, or Input[...]/Output[...] of an artifact type"
    )


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0]
        raise UnsupportedAnnotation(
            f"{annotation!r}: unions other than Optional[X] are not supported"
        )
    return None


def _artifact_name(base: Any) -> str:
    if isinstance(base, type) and issubclass(base, Artifact):
        return base.type_name
    args = typing.get_args(base)
    if typing.get_origin(base) is list and len(args) == 1:
        return f"list[{_artifact_name(args[0])}]"  # Input[list[Dataset]]: a Collected fan-in
    raise UnsupportedAnnotation(f"{base!r} inside Input[...]/Output[...] is not an artifact type")


def is_artifact_type(type_str: str) -> bool:
    """An artifact, a value passed as a file (DataFrame...), or a list of either (what
    Collected gathers from artifact outputs)."""
    head, args = parse(type_str)
    if head == "list" and args:
        return is_artifact_type(args[0])
    return type_str in ARTIFACT_TYPES or type_str in serializers.BY_TYPE


def is_value_file(type_str: str) -> bool:
    """A value the executor writes and reads for the function (DataFrame, ndarray, model)."""
    return type_str in serializers.BY_TYPE


def parse(type_str: str) -> tuple[str, tuple[str, ...]]:
    """Split ``dict[str, list[int]]`` into ``("dict", ("str", "list[int]"))``."""
    if "[" not in type_str:
        return type_str, ()
    head, rest = type_str.split("[", 1)
    body = rest[:-1]
    args, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(body[start:i].strip())
            start = i + 1
    args.append(body[start:].strip())
    return head, tuple(args)


def unwrap_optional(type_str: str) -> str:
    """``T`` for ``Optional[T]``; any other type as it is."""
    head, args = parse(type_str)
    return args[0] if head == "Optional" else type_str


def element_type(type_str: str) -> str | None:
    """The item type of a list type, ``any`` for a bare list, None if not a list."""
    head, args = parse(unwrap_optional(type_str))
    if head == ANY:
        return ANY
    if head != "list":
        return None
    return args[0] if args else ANY


def compatible(source: str, target: str) -> bool:
    """Can a value of type ``source`` feed an input of type ``target``?"""
    if ANY in (source, target):
        return True
    if is_artifact_type(source) or is_artifact_type(target):
        if not (is_artifact_type(source) and is_artifact_type(target)):
            return False
        (s_head, s_args), (t_head, t_args) = parse(source), parse(target)
        if (s_head == "list") != (t_head == "list"):
            return False
        if s_head == "list":
            return compatible(s_args[0], t_args[0])
        if source in serializers.BY_TYPE and target not in serializers.BY_TYPE:
            return target in ("Artifact", serializers.BY_TYPE[source].kind)  # read the file
        return target in ("Artifact", source) or serializers.interchangeable(source, target)
    source, target = unwrap_optional(source), unwrap_optional(target)
    (s_head, s_args), (t_head, t_args) = parse(source), parse(target)
    if s_head == "int" and t_head == "float":
        return True
    if s_head != t_head:
        return False
    if not s_args or not t_args:
        return True
    return all(compatible(s, t) for s, t in zip(s_args, t_args, strict=True))


def value_matches(value: Any, type_str: str) -> bool:
    """Does a literal Python value fit a parameter type?"""
    head, args = parse(type_str)
    if head == ANY:
        return True
    if head == "Optional":
        return value is None or value_matches(value, args[0])
    if is_artifact_type(head):
        return False
    if head == "bool":
        return isinstance(value, bool)
    if head == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if head == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if head == "str":
        return isinstance(value, str)
    if head == "list":
        return isinstance(value, list) and (
            not args or all(value_matches(v, args[0]) for v in value)
        )
    if head == "dict":
        return (
            isinstance(value, dict)
            and all(isinstance(k, str) for k in value)
            and (not args or all(value_matches(v, args[1]) for v in value.values()))
        )
    return False


def type_of_value(value: Any) -> str:
    """The narrowest type string describing a literal value."""
    for py_type in (bool, int, float, str):
        if type(value) is py_type:
            return _PRIMITIVES[py_type]
    if isinstance(value, list):
        kinds = {type_of_value(v) for v in value}
        if kinds == {"int", "float"}:
            kinds = {"float"}
        return f"list[{kinds.pop()}]" if len(kinds) == 1 else "list"
    if isinstance(value, dict):
        return "dict"
    return ANY


def comparable(type_str: str, ordered: bool) -> bool:
    """May values of this type appear in a condition (``ordered`` for <, <=, >, >=)?"""
    head = parse(unwrap_optional(type_str))[0]
    if head == ANY:
        return True
    allowed = ("int", "float", "str") if ordered else ("int", "float", "str", "bool")
    return head in allowed


def from_text(text: str, type_str: str) -> Any:
    """Parse a command-line value (``-p name=value``) into the parameter's type.

    Raises:
        ValueError: when the text does not parse as that type.
    """
    if parse(type_str)[0] == "Optional" and text.strip() in ("null", "None"):
        return None
    head, _ = parse(unwrap_optional(type_str))
    if head == "str" or head == ANY:
        return text
    if head == "int":
        return int(text)
    if head == "float":
        return float(text)
    if head == "bool":
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not a boolean (use true or false)")
    try:
        value = json.loads(text)
        too_deep = _depth(value) > MAX_DEPTH
    except RecursionError:  # deeper than the interpreter's stack
        too_deep = True
    if too_deep:
        raise ValueError(f"the value is nested more than {MAX_DEPTH} levels deep")
    if not value_matches(value, type_str):
        raise ValueError(f"{text!r} is not a {type_str}")
    return value


MAX_DEPTH = 32  # of a -p JSON value: deeper is a mistake, and would exhaust recursion later


def _depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (walked without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((v, level + 1) for v in children)
    return deepest
