"""What a KFP step wrote, read back as dagwright's outputs: parameter values from the output
metadata file (``executor_output.json``) and the output parameter files, artifact metadata
from the same metadata file.

Files win over the metadata file for a parameter, as in ``kfp.local``
(``merge_dsl_output_file_parameters_to_executor_output``), and are read by kfp's own
``special_dsl_outputpath_read`` (strings as written, anything else as JSON). Values are read
as JSON, not through the protobuf Value (which makes every number a double): integers in lists
and dicts stay integers, a ``NUMBER_INTEGER`` output is an int and a ``NUMBER_DOUBLE`` a float.
"""

from __future__ import annotations

import json
import os
from typing import Any

from dagwright.components.plain import as_json_value
from dagwright.components.spec import ComponentSpec
from dagwright.kfp_steps.component import KfpComponent
from dagwright.kfp_steps.executor_input import OUTPUT_FILE, typed


def metadata_file(task_root: str) -> dict[str, Any]:
    """The output metadata file the step wrote, or {} when it wrote none."""
    path = os.path.join(task_root, OUTPUT_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data if isinstance(data, dict) else {}


def parameter_values(
    spec: ComponentSpec, component: KfpComponent, task_root: str, written: dict[str, Any]
) -> dict[str, Any]:
    """Each output parameter the step produced, typed as declared; one never written is left
    out (KFP lets a component leave an ``OutputPath`` unwritten)."""
    from kfp.local import executor_output_utils
    from kfp.pipeline_spec import pipeline_spec_pb2

    enum = pipeline_spec_pb2.ParameterType.ParameterTypeEnum
    returned = written.get("parameterValues") or {}
    values: dict[str, Any] = {}
    for name, definition in component.output_parameters.items():
        kind = definition.get("parameterType")
        path = os.path.join(task_root, name)
        if os.path.isfile(path):
            value = executor_output_utils.special_dsl_outputpath_read(
                parameter_name=name, output_file=path, dtype=enum.Value(kind or "STRING")
            )
        elif name in returned:
            value = returned[name]
        else:
            continue
        value = typed(value, kind)
        declared = spec.output(name)
        if declared is not None and not declared.artifact:
            value = as_json_value(value, declared.type, f"component '{spec.name}' output '{name}'")
        values[name] = value
    return values


def artifact_metadata(written: dict[str, Any], name: str) -> dict[str, Any]:
    """The metadata the step gave output artifact ``name`` (its first, as KFP reads it)."""
    return dict(_first(written, name).get("metadata") or {})


def artifact_name(written: dict[str, Any], name: str) -> str:
    """The name the step gave output artifact ``name``: kfp.local passes downstream the
    artifact the executor wrote, so a function returning ``Dataset(uri=dsl.get_uri())`` hands
    on its own name ('' unless it set one); an output the step wrote nothing about keeps the
    output's name, as in the executor input.

    The KFP backend names every input artifact by its MLMD id instead
    (backend/src/v2/metadata/converter.go, ``toRuntimeArtifact``).
    """
    given = _first(written, name).get("name", name)
    return given if isinstance(given, str) else name


def artifact_uri(written: dict[str, Any], name: str) -> str | None:
    """The URI the step gave output artifact ``name`` in the metadata file, if it gave one: a
    function returning an artifact it made (``Dataset(uri=dsl.get_uri())``) names its own."""
    uri = _first(written, name).get("uri")
    return uri if isinstance(uri, str) and uri else None


def _first(written: dict[str, Any], name: str) -> dict[str, Any]:
    listed = ((written.get("artifacts") or {}).get(name) or {}).get("artifacts") or []
    return listed[0] if listed and isinstance(listed[0], dict) else {}
