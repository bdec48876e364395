"""A pipeline's own input artifacts (``def p(data: Input[Dataset])``), given to a run by URI.

KFP's backend takes such inputs only from an enclosing pipeline, and kfp.local not at all; here
a run gives each one as it would hand one over, a path or a URI (``-p data=s3://...``). Each
required one becomes a ``str`` parameter of its name and a synthetic importer task (dagwright's
built-in importer, metadata empty, the artifact class of the KFP definition) whose output every
task reading the input gets. An optional one is left out, as an optional input given no value.
"""

from __future__ import annotations

from typing import Any

from dagwright.errors import ValidationError
from dagwright.sources.kfp import types

Value = dict[str, Any]


def root_artifacts(
    root: dict[str, Any], pipeline: str, taken: set[str]
) -> tuple[list[dict[str, Any]], dict[str, Value], list[tuple[str, str, str]], set[str]]:
    """The parameters, DAG values, importer tasks ``(task, input, artifact type)`` and absent
    (optional) inputs of the root's input artifacts; ``taken``: task names already used.

    Raises:
        ValidationError: for a list of artifacts, which one URI cannot give.
    """
    from dagwright.names import to_k8s_name

    artifacts = (root.get("inputDefinitions", {}) or {}).get("artifacts") or {}
    params: list[dict[str, Any]] = []
    env: dict[str, Value] = {}
    importers: list[tuple[str, str, str]] = []
    absent: set[str] = set()
    for key, spec in artifacts.items():
        if spec.get("isOptional"):
            absent.add(key)
            continue
        if spec.get("isArtifactList"):
            raise ValidationError(
                f"the pipeline takes a list of artifacts '{key}' as an input, which a run "
                "cannot give as one URI",
                pipeline=pipeline,
                field=key,
                fix="take one artifact per input (Input[Dataset]), or the URIs as a list "
                "parameter and a dsl.importer in a dsl.ParallelFor",
            )
        base = to_k8s_name(f"import-{key}") or "import"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        param: dict[str, Any] = {"name": key, "type": "str"}
        if spec.get("description"):
            param["description"] = str(spec["description"])
        params.append(param)
        env[key] = {"task": name, "output": "artifact"}
        importers.append((name, key, types.artifact_type(spec)))
    return params, env, importers, absent


def importer_component(type_name: str, pipeline: str) -> dict[str, Any]:
    """The built-in importer component for artifacts of ``type_name``, as IR data."""
    from dagwright.components.artifacts import ARTIFACT_TYPES
    from dagwright.components.importer import importer_spec

    spec = importer_spec(ARTIFACT_TYPES[type_name], {}, False, f"pipeline '{pipeline}'")
    data: dict[str, Any] = spec.to_dict()
    return data
