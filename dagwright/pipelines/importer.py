"""``dagwright.importer``: an artifact that already exists, as a task's output (KFP's
``dsl.importer``)."""

from __future__ import annotations

from typing import Any

from dagwright.components.artifacts import Dataset
from dagwright.components.importer import URI_INPUT, check_uri, importer_spec, placeholder
from dagwright.components.spec import IOSpec
from dagwright.pipelines.context import require_builder
from dagwright.pipelines.handles import TaskHandle
from dagwright.pipelines.refs import Collected, Operand, ParamRef, to_value


def importer(
    artifact_uri: Any,
    artifact_class: type = Dataset,
    metadata: dict[str, Any] | None = None,
    reimport: bool = False,
) -> TaskHandle:
    """Bring the artifact at ``artifact_uri`` into the pipeline; ``.output`` is the artifact.

    Nothing is copied: consumers read it where it is (a local path, ``file://``, ``s3://``,
    ``gs://``, ``http(s)://``). On KFP it is KFP's importer; on Argo an input artifact of the
    tasks that read it.

    Args:
        artifact_uri: The URI: a string, or a pipeline parameter (or task output) holding one.
        artifact_class: Its class (``Dataset``, ``Model``, ``Metrics``...).
        metadata: JSON metadata the artifact carries to its readers; a value in it may be a
            pipeline parameter or task output (filled in when the step runs).
        reimport: KFP's flag: record a new artifact even if one with this URI is known.

    Raises:
        OutsidePipeline: outside a pipeline being traced.
        ValidationError: for a URI whose scheme cannot be read, a class that is not an
            artifact class, metadata that is not a JSON object.
    """
    builder = require_builder("dagwright.importer(...)")
    where = f"pipeline '{builder.name}': importer"
    given: dict[str, Any] = {URI_INPUT: artifact_uri}
    # a pipeline value in the metadata is an input of the importer, read through KFP's
    # placeholder, as the KFP SDK compiles it
    metadata = _with_placeholders(metadata, given)
    inputs = [IOSpec(name, builder.type_of(to_value(ref))) for name, ref in given.items()][1:]
    spec = importer_spec(artifact_class, metadata, reimport, where, inputs)
    if isinstance(artifact_uri, str):
        check_uri(artifact_uri, where)
    elif isinstance(artifact_uri, ParamRef):
        param = builder.ir.param(artifact_uri.name)
        if param is not None and param.has_default and param.default is not None:
            check_uri(param.default, f"{where} (the default of parameter '{param.name}')")
    return builder.add_spec_task(spec, given)


def _with_placeholders(value: Any, inputs: dict[str, Any]) -> Any:
    """``value`` with each reference in it replaced by the placeholder of a new input
    (``metadata``, ``metadata-2``...) that ``inputs`` gets."""
    if isinstance(value, (Operand, Collected)):
        same = [k for k, v in inputs.items() if k != URI_INPUT and _same(v, value)]
        name = same[0] if same else "metadata" if len(inputs) == 1 else f"metadata-{len(inputs)}"
        inputs[name] = value
        return placeholder(name)
    if isinstance(value, dict):
        return {k: _with_placeholders(v, inputs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_with_placeholders(v, inputs) for v in value]
    return value


def _same(one: Any, other: Any) -> bool:
    """Do two references name the same value (one input serves both, as in KFP)?"""
    return isinstance(one, (Operand, Collected)) and to_value(one) == to_value(other)
