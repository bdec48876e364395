"""The built-in importer component: an artifact that already exists somewhere, brought into
a pipeline by its URI (KFP's ``dsl.importer``).

Its spec has one ``uri`` input (str) and one artifact output, ``artifact``; ``importer``
holds the artifact's class, its metadata and KFP's ``reimport`` flag. No code runs for it:
the executor (``importer_step.py``) makes the output point at the URI.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dagwright.components.artifacts import ARTIFACT_TYPES, Artifact
from dagwright.components.spec import ComponentSpec, IOSpec
from dagwright.errors import ValidationError

NAME = "importer"
URI_INPUT = "uri"
OUTPUT = "artifact"

# where a step can read an imported artifact from: a path here, or what fsspec fetches
SCHEMES = {
    "": "a local path",
    "file": "a local file:// URL",
    "s3": "S3 (s3fs)",
    "gs": "Google Cloud Storage (gcsfs)",
    "http": "HTTP",
    "https": "HTTPS",
}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def scheme_of(uri: str) -> str:
    """The URI's scheme (lowercase), ``""`` for a plain path."""
    match = _SCHEME.match(uri)
    return match[1].lower() if match else ""


def check_uri(uri: Any, where: str) -> str:
    """The URI, when it is one an importer can read.

    Raises:
        ValidationError: for a value that is not a non-empty string, or an unknown scheme
            (``minio://``, ``hdfs://``...), named with the ones that work.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise ValidationError(
            f"{where}: artifact_uri {uri!r} is not a URI",
            field="artifact_uri",
            fix="give a path or a URL, e.g. 's3://bucket/data.csv' or '/data/train.csv'",
        )
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@]*:[^/@]*@", uri):
        raise ValidationError(
            f"{where}: artifact_uri holds a password (scheme://user:password@...), which "
            "would be written into the pipeline's spec and its run records",
            field="artifact_uri",
            fix="give the URI without credentials and the credentials through the "
            "environment (AWS_ACCESS_KEY_ID..., GOOGLE_APPLICATION_CREDENTIALS, a netrc file)",
        )
    scheme = scheme_of(uri)
    if scheme not in SCHEMES:
        raise ValidationError(
            f"{where}: artifact_uri {uri!r} has the scheme '{scheme}://', which dagwright "
            "cannot read",
            field="artifact_uri",
            fix="use a local path, file://, s3:// (for KFP's minio:// give s3:// and the "
            "endpoint in the environment), gs://, http:// or https://",
        )
    return uri


def placeholder(name: str) -> str:
    """KFP's placeholder of an input parameter, as its importers write it in metadata."""
    return "{{$.inputs.parameters['" + name + "']}}"


_PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.parameters\['([^'\]]+)'\]\}\}")


def resolved(value: Any, parameters: dict[str, Any]) -> Any:
    """``value`` (the importer's metadata) with KFP's input placeholders filled from the
    step's parameters, as text (a number becomes ``"3"``), as kfp.local fills them: the
    metadata of a KFP importer is the same here. Keys are filled too: KFP compiles
    ``metadata={task.output: ...}`` to a placeholder key."""
    if isinstance(value, dict):
        return {resolved(k, parameters): resolved(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, parameters) for v in value]
    if not isinstance(value, str) or "{{$" not in value:
        return value

    def text(match: re.Match[str]) -> str:
        found = parameters.get(match[1], match[0])
        return found if isinstance(found, str) else json.dumps(found)

    return _PLACEHOLDER.sub(text, value)


def importer_spec(
    artifact_class: Any,
    metadata: Any,
    reimport: Any,
    where: str,
    inputs: list[IOSpec] | None = None,
) -> ComponentSpec:
    """The importer component for artifacts of ``artifact_class`` with this metadata
    (``inputs``: the parameters its placeholders read, after ``uri``).

    Raises:
        ValidationError: for a class that is not one of dagwright's artifact classes,
            metadata that is not a JSON object, or a ``reimport`` that is not a bool.
    """
    if not (isinstance(artifact_class, type) and issubclass(artifact_class, Artifact)) or (
        ARTIFACT_TYPES.get(artifact_class.type_name) is not artifact_class
    ):
        raise ValidationError(
            f"{where}: artifact_class {artifact_class!r} is not an artifact class",
            field="artifact_class",
            fix=f"use one of {', '.join(sorted(ARTIFACT_TYPES))} (from dagwright)",
        )
    metadata = {} if metadata is None else metadata
    try:
        ok = isinstance(metadata, dict) and json.loads(json.dumps(metadata)) == metadata
    except (TypeError, ValueError):
        ok = False
    if not ok or not all(isinstance(k, str) for k in metadata):
        raise ValidationError(
            f"{where}: metadata {metadata!r} is not a JSON object",
            field="metadata",
            fix="give a dict of strings to JSON values, e.g. metadata={'source': 'survey'}",
        )
    if not isinstance(reimport, bool):
        raise ValidationError(
            f"{where}: reimport {reimport!r} is not True or False",
            field="reimport",
            fix="write reimport=True or reimport=False",
        )
    return ComponentSpec(
        name=NAME,
        description=f"Import an existing {artifact_class.type_name} by its URI",
        inputs=[IOSpec(URI_INPUT, "str"), *(inputs or [])],
        outputs=[IOSpec(OUTPUT, artifact_class.type_name, artifact=True)],
        source="",
        function=NAME,
        importer={
            "type": artifact_class.type_name,
            "metadata": metadata,
            "reimport": reimport,
        },
    )
