"""Pod fields checked against the Kubernetes client's own models, strictly.

The ``kubernetes`` client's models (``V1Container``, ``V1Toleration``, ``V1PodSpec`` ...) list
every field with its JSON name (``attribute_map``) and type (``openapi_types``), but building
one checks only that required fields are there: the client's deserializer silently drops
unknown keys and coerces wrong types (``5`` becomes ``"5"``). ``build`` walks a manifest
fragment (Kubernetes' camelCase, as in YAML) along those tables instead, refusing unknown keys
and wrong types with the path of the offending field, and returns the model object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dagwright.errors import ValidationError

_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "float": (int, float),
    "object": (object,),
}

Fail = Callable[[str, str, str], ValidationError]


def default_fail(where: str, problem: str, fix: str) -> ValidationError:
    """A ValidationError naming the field that failed a Kubernetes check."""
    return ValidationError(problem, field=where, fix=fix)


def build(data: Any, type_name: str, where: str, fail: Fail = default_fail) -> Any:
    """The client model (or list, dict, primitive) of ``type_name`` made from ``data``.

    Args:
        data: The fragment, with Kubernetes' JSON field names.
        type_name: A client type as ``openapi_types`` writes it (``"V1Toleration"``,
            ``"list[V1EnvVar]"``, ``"dict(str, str)"``, ``"str"``).
        where: The fragment's path, for messages (``"tolerations[0]"``).
        fail: Makes the error from (field path, problem, fix).

    Raises:
        ValidationError: naming the path of an unknown key, a wrong type or a missing field.
    """
    if type_name.startswith("list["):
        if not isinstance(data, list):
            raise fail(where, f"{where} is a {type(data).__name__}, not a list", "pass a list")
        inner = type_name[5:-1]
        return [build(item, inner, f"{where}[{i}]", fail) for i, item in enumerate(data)]
    if type_name.startswith("dict("):
        if not isinstance(data, Mapping):
            raise fail(where, f"{where} is a {type(data).__name__}, not a dict", "pass a dict")
        inner = type_name[5:-1].partition(", ")[2]
        return {key: build(value, inner, f"{where}.{key}", fail) for key, value in data.items()}
    if type_name in _PRIMITIVES:
        wanted = _PRIMITIVES[type_name]
        # bool is an int in Python, never in Kubernetes
        if not isinstance(data, wanted) or (isinstance(data, bool) and bool not in wanted):
            raise fail(
                where,
                f"{where}={data!r} is of type {type(data).__name__}; Kubernetes takes {type_name}",
                f"write {where} as a value of type {type_name}",
            )
        return data
    return _model(data, type_name, where, fail)


def _model(data: Any, type_name: str, where: str, fail: Fail) -> Any:
    from kubernetes import client

    cls = getattr(client, type_name)
    if not isinstance(data, Mapping):
        raise fail(
            where, f"{where} is a {type(data).__name__}, not an object", "pass a dict of fields"
        )
    attributes = {json_name: name for name, json_name in cls.attribute_map.items()}
    kwargs = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in attributes:
            known = ", ".join(sorted(attributes))
            raise fail(path, f"{type_name} has no field '{key}'", f"use one of: {known}")
        name = attributes[key]
        kwargs[name] = build(value, cls.openapi_types[name], path, fail)
    try:
        return cls(**kwargs)
    except ValueError as exc:  # the model's own check: a required field is missing
        raise fail(where or type_name, f"{type_name}: {exc}", "add the missing field") from None
