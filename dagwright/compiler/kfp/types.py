"""dagwright types as KFP types: parameter types and artifact schema titles."""

from __future__ import annotations

from typing import Any

from dagwright.components.spec import ComponentSpec
from dagwright.components.types import ANY, parse, unwrap_optional
from dagwright.specs import artifact_kind

# KFP's parameter types, by the head of a dagwright type; an untyped item travels as a string
PARAMETER_TYPES = {
    "str": "STRING",
    "int": "NUMBER_INTEGER",
    "float": "NUMBER_DOUBLE",
    "bool": "BOOLEAN",
    "list": "LIST",
    "dict": "STRUCT",
    ANY: "STRING",
}

# the artifact classes the KFP UI knows how to show
SCHEMA_TITLES = {
    "Artifact": "system.Artifact",
    "Dataset": "system.Dataset",
    "Model": "system.Model",
    "Metrics": "system.Metrics",
    "HTML": "system.HTML",
    "Markdown": "system.Markdown",
}
SCHEMA_VERSION = "0.0.1"


def parameter_type(type_str: str) -> str:
    """The KFP ParameterType name of a dagwright parameter type."""
    head, _ = parse(unwrap_optional(type_str))
    return PARAMETER_TYPES.get(head, "STRING")


def schema_title(type_str: str) -> str:
    """The KFP schema title of an artifact type (``system.Dataset``...)."""
    return SCHEMA_TITLES.get(artifact_kind(type_str)[0], "system.Artifact")


def output_key(spec: ComponentSpec, name: str) -> str:
    """KFP calls a single return value "Output"; every other name stays."""
    return "Output" if spec.returns == "single" and name == "output" else name


def coerce(value: Any, type_str: str) -> Any:
    """Undo what a trip through protobuf's Value did: whole numbers declared ``int`` come
    back as floats, also inside lists and dicts."""
    type_str = unwrap_optional(type_str)
    head, args = parse(type_str)
    if head == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if head == "list" and args and isinstance(value, list):
        return [coerce(v, args[0]) for v in value]
    if head == "dict" and len(args) == 2 and isinstance(value, dict):
        return {k: coerce(v, args[1]) for k, v in value.items()}
    return value
