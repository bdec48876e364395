"""What a step's function produced, made into its outputs: returned values checked against
their declared types, output artifacts checked to be written, values holding a Secret's value
refused, and artifacts published.

A Secret's value is never stored: an output parameter (a returned value, or part of one) or an
artifact's metadata holding it fails the step before anything is published, naming the output
and the Secret, never the value. A value shorter than ``redact.MIN_MASKED`` counts only when a
whole value is it (as a substring it would be found in almost any text).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from dagwright.components import serializers
from dagwright.components.artifacts import Artifact
from dagwright.components.plain import as_json_value
from dagwright.components.spec import ComponentSpec
from dagwright.components.types import is_value_file, value_matches
from dagwright.errors import DagwrightError
from dagwright.redact import MIN_MASKED
from dagwright.store import files, remote


class OutputNotWritten(DagwrightError):
    """The step ended without writing one of its output artifacts."""


class SecretInOutput(DagwrightError):
    """A step's output or artifact metadata holds the value of one of its Secrets."""


def returned_values(spec: ComponentSpec, returned: Any) -> dict[str, Any]:
    """The function's return value as outputs by name, each checked against its type and in
    the JSON form it is stored in (a value file's output kept as the object, to be dumped).

    Raises:
        TypeError: a value that does not match its declared type.
    """
    if spec.returns == "none":
        return {}
    value_outputs = [o for o in spec.outputs if not o.artifact or is_value_file(o.type)]
    if spec.returns == "single":
        values = {value_outputs[0].name: returned}
    elif hasattr(returned, "_fields"):
        values = {o.name: getattr(returned, o.name) for o in value_outputs}
    else:
        values = dict(zip([o.name for o in value_outputs], returned, strict=True))
    for out in value_outputs:
        if is_value_file(out.type):
            continue
        if not value_matches(values[out.name], out.type):
            raise TypeError(
                f"component '{spec.name}' returned {values[out.name]!r} for output "
                f"'{out.name}', which is declared {out.type}"
            )
        # stored and passed on as JSON: one type now, from the cache and after resume
        values[out.name] = as_json_value(
            values[out.name], out.type, f"component '{spec.name}' output '{out.name}'"
        )
    return values


def dump_value(spec: ComponentSpec, name: str, value: Any, artifact: Artifact) -> None:
    """Write a returned DataFrame, array or model to its output artifact."""
    serializer = serializers.BY_TYPE[type_of(spec, name)]
    if not serializer.matches(type(value)):
        raise TypeError(
            f"component '{spec.name}' returned {type(value).__name__} for output '{name}', "
            f"which is declared {serializer.type_name}"
        )
    artifact.metadata["format"] = serializer.dump(value, artifact.path)


def check_written(spec: ComponentSpec, name: str, artifact: Artifact) -> None:
    """An output artifact must be a file or a non-empty folder once the step returns: a
    consumer would otherwise fail later, far from the cause.

    Raises:
        OutputNotWritten: nothing, or an empty folder, at the artifact's path.
    """
    path = artifact.path
    if os.path.isdir(path) and not os.path.islink(path):
        if any(os.path.isfile(os.path.join(d, f)) for d, _, names in os.walk(path) for f in names):
            return
        found = "a folder without files" if os.listdir(path) else "an empty folder"
    elif os.path.lexists(path):
        return
    else:
        found = "nothing"
    raise OutputNotWritten(
        f"component '{spec.name}' did not write its output '{name}' "
        f"(Output[{type_of(spec, name)}]): found {found} at {name}.path; write a file or a "
        "folder with files there, or remove the output"
    )


def type_of(spec: ComponentSpec, name: str) -> str:
    """The declared type of the output ``name``."""
    out = spec.output(name)
    assert out is not None
    return out.type


def refuse_secrets(
    spec: ComponentSpec,
    task: str,
    env: Mapping[str, str],
    values: Mapping[str, Any],
    artifacts: Mapping[str, Artifact],
) -> None:
    """Fail the step when an output value or an artifact's metadata holds the value of one of
    its Secrets (read from ``env``, else from this process's environment: a child's or a
    pod's).

    Raises:
        SecretInOutput: naming the output and the Secret.
    """
    secrets = [
        (f"{ref.name}/{ref.key}", value)
        for ref in spec.pod.secrets
        if (value := env.get(ref.env, os.environ.get(ref.env)))
    ]
    if not secrets:
        return
    places = [(f"output '{name}'", value) for name, value in values.items()]
    for name, artifact in artifacts.items():
        places.append((f"a metadata key of output '{name}'", list(artifact.metadata)))
        places += [(f"metadata '{k}' of output '{name}'", v) for k, v in artifact.metadata.items()]
    for where, value in places:
        for secret_name, secret in secrets:
            if any(_holds(text, secret) for text in _texts(value)):
                raise SecretInOutput(
                    f"{where} of step '{task}' holds the value of Secret {secret_name}; "
                    "secrets are never stored: pass the Secret to the steps that need it"
                )


def _holds(text: str, secret: str) -> bool:
    return text == secret or (len(secret) >= MIN_MASKED and secret in text)


def _texts(value: Any) -> Iterator[str]:
    """Every text in a JSON-like value: strings, numbers as written, and mapping keys."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield json.dumps(value)
        yield str(value)


def publish_outputs(written: dict[str, Artifact]) -> None:
    """Put a successful step's output artifacts where they belong, each with its digest: a
    local one renamed into place, a remote one uploaded (one written nowhere is left out)."""
    for artifact in written.values():
        artifact.digest = files.sha256_of(artifact.path)
        if remote.is_local(artifact.uri):
            files.publish(artifact.path, remote.local_path(artifact.uri))
            artifact.path = remote.local_path(artifact.uri)
        elif os.path.lexists(artifact.path):
            remote.upload(artifact.path, artifact.uri)
            artifact.path = artifact.uri
