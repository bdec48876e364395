"""KFP's parameter and artifact types as dagwright type strings, and KFP's values as Python's.

KFP writes every number as a protobuf ``number_value`` (a double), so an ``int`` default reads
back as ``1.0``; KFP's backend hands steps JSON in which an integral number has no fraction, so
whole numbers inside lists and structs become ints here, as a step on a cluster sees them.
"""

from __future__ import annotations

from typing import Any

from dagwright.errors import ValidationError

PARAMETER_TYPES = {
    "STRING": "str",
    "NUMBER_INTEGER": "int",
    "NUMBER_DOUBLE": "float",
    "BOOLEAN": "bool",
    "LIST": "list",
    "STRUCT": "dict",
    "TASK_FINAL_STATUS": "PipelineTaskFinalStatus",
}

# schema 2.0.0 (kfp 1.8's v2-compatible mode) wrote ``type`` with these names
_OLD_TYPES = {"STRING": "STRING", "INT": "NUMBER_INTEGER", "DOUBLE": "NUMBER_DOUBLE"}

ARTIFACT_TYPES = {
    "system.Artifact": "Artifact",
    "system.Dataset": "Dataset",
    "system.Model": "Model",
    "system.Metrics": "Metrics",
    "system.HTML": "HTML",
    "system.Markdown": "Markdown",
    "system.ClassificationMetrics": "ClassificationMetrics",
    "system.SlicedClassificationMetrics": "SlicedClassificationMetrics",
}


def parameter_type(spec: dict[str, Any], where: dict[str, Any]) -> str:
    """The dagwright type of one KFP parameter definition (``parameterType``)."""
    kfp_type = spec.get("parameterType", _OLD_TYPES.get(spec.get("type", "")))
    found = PARAMETER_TYPES.get(str(kfp_type))
    if found is None:
        raise ValidationError(
            f"parameter type {kfp_type or spec.get('type')!r} cannot be imported",
            fix=f"use one of {sorted(PARAMETER_TYPES)} (recompile with kfp>=2)",
            **where,
        )
    if spec.get("isOptional") and "defaultValue" not in spec and kfp_type != "TASK_FINAL_STATUS":
        return f"Optional[{found}]"  # KFP writes a None default as optional without a value
    return found


def artifact_type(spec: dict[str, Any]) -> str:
    """The dagwright type of one KFP artifact definition (``artifactType.schemaTitle``).

    A type outside KFP's ``system.*`` set (``google.VertexModel``) is an ``Artifact`` here; the
    step itself still gets KFP's own type from the executor kept with the component.
    """
    title = spec.get("artifactType", {}).get("schemaTitle", "system.Artifact")
    name = ARTIFACT_TYPES.get(title, "Artifact")
    return f"list[{name}]" if spec.get("isArtifactList") else name


def whole(value: Any) -> Any:
    """``value`` with every integral float inside lists and dicts made an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole(v) for v in value]
    if isinstance(value, dict):
        return {k: whole(v) for k, v in value.items()}
    return value


def coerce(value: Any, type_str: str) -> Any:
    """A KFP constant as a value of dagwright type ``type_str``."""
    base = type_str[len("Optional[") : -1] if type_str.startswith("Optional[") else type_str
    if value is None:
        return None
    if base == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base in ("int", "list", "dict"):
        return whole(value)
    return value
