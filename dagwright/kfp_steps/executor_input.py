"""KFP's executor input for one step, as ``kfp.local`` builds it: parameter values, input
artifacts (name, type, URI, metadata; the URI a local path), an output file per output
parameter, a URI per output artifact and the output metadata file (``outputs.outputFile``).

An input from a remote store keeps its own URI (``gs://...``, ``s3://...``), as KFP's backend
gives it (a component may hand ``.uri`` to a cloud service); its ``.path`` is the local copy
dagwright fetched, carried as the RuntimeArtifact's ``customPath`` and set on kfp's
artifact (``point_at_local_copies``) and in ``.path`` placeholders. KFP's launcher does
the same with its own mount (``/gcs/...``): the URI stays, the path is local.

Built as the JSON dict the executor reads rather than through the ``ExecutorInput`` protobuf
``kfp.local`` makes first: the protobuf holds every number as a double, so integers inside
lists and dicts came out as floats (kfp.local's bug; KFP's backend keeps them). Parameters
typed ``NUMBER_INTEGER`` are ints, as ``executor_input_utils.executor_input_to_dict`` makes
them. Placeholders inside string values (an f-string argument) are resolved by kfp's own
``placeholder_utils``.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any

from dagwright.kfp_steps.component import DOUBLE, INTEGER, KfpComponent
from dagwright.store import remote

OUTPUT_FILE = "executor_output.json"  # kfp.local's name for the output metadata file
LOCAL_COPY = "customPath"  # RuntimeArtifact.custom_path: where a remote input's copy is


def typed(value: Any, parameter_type: str | None) -> Any:
    """A parameter value as KFP's type says: an integral number for NUMBER_INTEGER is an int,
    a NUMBER_DOUBLE a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if parameter_type == INTEGER and float(value).is_integer():
        return int(value)
    if parameter_type == DOUBLE:
        return float(value)
    return value


def schema_title(kind: str, declared: dict[str, Any] | None) -> dict[str, str]:
    """KFP's artifact type for a dagwright artifact of ``kind`` (``Dataset`` is
    ``system.Dataset``); the declared type when dagwright's kind says less (``Artifact``)."""
    from kfp.dsl.types import artifact_types

    title = f"system.{kind}"
    known = title in artifact_types._SCHEMA_TITLE_TO_TYPE  # kfp's own table of its types
    declared_type = dict((declared or {}).get("artifactType") or {})
    if known and (kind != "Artifact" or not declared_type):
        return {"schemaTitle": title, "schemaVersion": "0.0.1"}
    return declared_type or {"schemaTitle": "system.Artifact", "schemaVersion": "0.0.1"}


def runtime_artifact(data: dict[str, Any], declared: dict[str, Any] | None) -> dict[str, Any]:
    """One input artifact (``Artifact.to_dict()`` with ``path`` a local file) as KFP's
    RuntimeArtifact JSON: a local one by its path, a remote one by its URI with the path of
    its local copy."""
    made = {
        "name": data.get("name", ""),
        "type": schema_title(str(data.get("type", "Artifact")), declared),
        "uri": data["path"],
        "metadata": dict(data.get("metadata") or {}),
    }
    uri = str(data.get("uri") or "")
    if uri and not remote.is_local(uri):
        made["uri"], made[LOCAL_COPY] = uri, data["path"]
    return made


def point_at_local_copies(input_artifacts: dict[str, Any], given: dict[str, Any]) -> None:
    """Give each of kfp's input artifacts (``Executor.input_artifacts``) whose RuntimeArtifact
    in ``given`` carries a local copy that copy as its ``.path`` (kfp's own executor would
    map ``gs://b/k`` to ``/gcs/b/k``, a mount that is not here)."""
    listed = (given.get("inputs") or {}).get("artifacts") or {}
    for name, made in input_artifacts.items():
        runtime = (listed.get(name) or {}).get("artifacts") or []
        kfps = made if isinstance(made, list) else [made]
        for artifact, data in zip(kfps, runtime, strict=False):
            if data.get(LOCAL_COPY):
                artifact.custom_path = data[LOCAL_COPY]


def build(
    component: KfpComponent,
    parameters: dict[str, Any],
    artifacts: dict[str, list[dict[str, Any]]],
    outputs: dict[str, str],
    task_root: str,
    names: dict[str, str],
) -> dict[str, Any]:
    """The executor input.

    Args:
        component: The KFP component.
        parameters: Parameter values by input name.
        artifacts: Input artifacts by name (each a list; ``path`` is the local file).
        outputs: Local path each output artifact is written at, by name.
        task_root: The step's folder: output parameter files and the output metadata file.
        names: ``pipeline`` (the run id), ``task``, ``root`` (the run's artifact folder), for
            KFP's ``{{$.pipeline_job_name}}``-style placeholders.
    """
    declared = component.input_parameters
    values: dict[str, Any] = {}
    for name, definition in declared.items():
        if name in parameters:
            values[name] = typed(parameters[name], definition.get("parameterType"))
        elif "defaultValue" in definition:
            values[name] = typed(definition["defaultValue"], definition.get("parameterType"))
    for name, value in parameters.items():  # KFP's injected inputs (pipelinechannel--...)
        values.setdefault(name, value)
    inputs: dict[str, Any] = {"parameterValues": values}
    in_artifacts = component.input_artifacts
    given = {
        name: {"artifacts": [runtime_artifact(a, in_artifacts.get(name)) for a in items]}
        for name, items in artifacts.items()
        if items
    }
    if given:
        inputs["artifacts"] = given
    out_artifacts = {
        name: {
            "artifacts": [
                {
                    "name": name,
                    "type": dict(definition.get("artifactType") or {}),
                    "uri": outputs[name],
                    "metadata": {},
                }
            ]
        }
        for name, definition in component.output_artifacts.items()
        if name in outputs
    }
    result: dict[str, Any] = {
        "inputs": inputs,
        "outputs": {
            "parameters": {
                name: {"outputFile": os.path.join(task_root, name)}
                for name in component.output_parameters
            },
            "artifacts": out_artifacts,
            "outputFile": os.path.join(task_root, OUTPUT_FILE),
        },
    }
    if any(_placeholder_in(v) for v in values.values()):
        from kfp.local import placeholder_utils

        values.update(unknown_to_kfp_local(values, result, names))
        context = {
            "executor_input_dict": result,
            "pipeline_resource_name": names["pipeline"],
            "task_resource_name": names["task"],
            "pipeline_root": names["root"],
            "pipeline_job_id": names["pipeline"],
            "pipeline_task_id": str(uuid.uuid4()),
        }
        result = placeholder_utils.resolve_self_references_in_executor_input(**context)
        # inside a list or dict argument too (``[f"Hello {name}"]``), as kfp.local does
        for name, value in values.items():
            if isinstance(value, (list, dict)) and _placeholder_in(value):
                values[name] = placeholder_utils.recursively_resolve_json_dict_placeholders(
                    value, **context
                )
    return result


def _placeholder_in(value: Any) -> bool:
    if isinstance(value, str):
        return "{{$" in value
    if isinstance(value, list):
        return any(_placeholder_in(v) for v in value)
    if isinstance(value, dict):
        return any(_placeholder_in(k) or _placeholder_in(v) for k, v in value.items())
    return False


# an input artifact (a list of them) given whole to a container command, as KFP's launcher
# does: the JSON of its RuntimeArtifacts (name, type, uri, metadata)
_WHOLE_ARTIFACT = re.compile(r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\}\}")


def unknown_to_kfp_local(obj: Any, given: dict[str, Any], names: dict[str, str]) -> Any:
    """``obj`` (a string, or lists and dicts of them) with the placeholders kfp.local's
    ``placeholder_utils`` does not know resolved first (it fails on them with an IndexError):
    ``{{$.pipeline_job_resource_name}}`` (the run, as ``{{$.pipeline_job_name}}``), the job's
    create and schedule times (both the run's start, ``names["created"]``: KFP's backend gives
    an unscheduled run its create time as schedule time) and a whole input artifact,
    ``{{$.inputs.artifacts['name']}}``."""
    from kfp import dsl

    if isinstance(obj, list):
        return [unknown_to_kfp_local(v, given, names) for v in obj]
    if isinstance(obj, dict):
        return {k: unknown_to_kfp_local(v, given, names) for k, v in obj.items()}
    if not isinstance(obj, str) or "{{$" not in obj:
        return obj
    text = obj.replace(dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER, names["pipeline"])
    for time_placeholder in (
        dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER,
        dsl.PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER,
    ):
        text = text.replace(time_placeholder, names["created"])
    artifacts = (given.get("inputs") or {}).get("artifacts") or {}
    for name, listed in artifacts.items():  # kfp.local's path of an input is its URI
        first = (listed.get("artifacts") or [{}])[0]
        if first.get(LOCAL_COPY):
            text = text.replace(f"{{{{$.inputs.artifacts['{name}'].path}}}}", first[LOCAL_COPY])

    def whole(match: re.Match[str]) -> str:
        listed = (artifacts.get(match.group(1)) or {}).get("artifacts")
        return match.group(0) if listed is None else json.dumps(listed)

    return _WHOLE_ARTIFACT.sub(whole, text)
