"""``dagwright.importer``: an artifact that already exists, as a task's output (KFP's
``dsl.importer``)."""

from __future__ import annotations

from typing import Any

from dagwright.components.artifacts import Dataset
from dagwright.components.importer import URI_INPUT, check_uri, importer_spec
from dagwright.pipelines.context import require_builder
from dagwright.pipelines.handles import TaskHandle
from dagwright.pipelines.refs import ParamRef


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
        metadata: JSON metadata the artifact carries to its readers.
        reimport: KFP's flag: record a new artifact even if one with this URI is known.

    Raises:
        OutsidePipeline: outside a pipeline being traced.
        ValidationError: for a URI whose scheme cannot be read, a class that is not an
            artifact class, metadata that is not a JSON object.
    """
    builder = require_builder("dagwright.importer(...)")
    where = f"pipeline '{builder.name}': importer"
    spec = importer_spec(artifact_class, metadata, reimport, where)
    if isinstance(artifact_uri, str):
        check_uri(artifact_uri, where)
    elif isinstance(artifact_uri, ParamRef):
        param = builder.ir.param(artifact_uri.name)
        if param is not None and param.has_default and param.default is not None:
            check_uri(param.default, f"{where} (the default of parameter '{param.name}')")
    return builder.add_spec_task(spec, {URI_INPUT: artifact_uri})
