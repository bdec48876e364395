"""``dagwright.importer`` tasks on Argo: no template runs for them. Each task that reads the
imported artifact gets it as an input artifact whose location is the importer's URI, which
Argo fetches into the pod like any other input.

Argo keeps a location only when it is full (``ArtifactLocation.Relocate``: endpoint, bucket
and key for S3; bucket and key for GCS), so an ``s3://`` URI carries the target's
``artifact_endpoint`` (AWS's ``s3.amazonaws.com`` when none is given) and a GCS one its
bucket. Credentials are the target's ``artifact_secret``; without one, S3 uses the SDK's own
(``useSDKCreds``: the pod's service account or instance role). A local path, or a URI from a
pipeline parameter, cannot be an Argo location and is refused by name.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from dagwright.compiler.argo.objects import obj
from dagwright.compiler.argo.values import encode
from dagwright.components.importer import URI_INPUT, scheme_of
from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR, TaskIR

AWS_ENDPOINT = "s3.amazonaws.com"


def importer_tasks(ir: PipelineIR) -> dict[str, TaskIR]:
    """The importer tasks of the pipeline, by name."""
    return {t.name: t for t in ir.tasks if ir.component_of(t).importer is not None}


def moved_out(ir: PipelineIR, task: TaskIR, kept: set[str]) -> TaskIR:
    """An importer task in the innermost block that is kept (``kept``: the blocks holding a
    task that runs): a block holding nothing but importers has no template to live in."""
    group = task.group
    while group is not None and group not in kept:
        group = ir.group(group).parent
    return task if group == task.group else dataclasses.replace(task, group=group)


def imported_argument(ir: PipelineIR, task: TaskIR, options: Any) -> tuple[dict[str, Any], str]:
    """The input artifact argument (its location fields) of a task reading ``task``'s
    import, and the text of its ``-meta`` parameter (the importer's metadata).

    Raises:
        ValidationError: for a URI Argo cannot fetch (a local path) or one not known when
            the workflow is written (a pipeline parameter, a task output).
    """
    spec = ir.component_of(task)
    assert spec.importer is not None
    value = task.inputs.get(URI_INPUT, {})
    if "constant" not in value:
        raise ValidationError(
            f"Argo target: importer '{task.name}' takes its URI from "
            f"{json.dumps(value)}, but an Argo input artifact's location is written into the "
            "workflow",
            pipeline=ir.name,
            task=task.name,
            field=URI_INPUT,
            fix="give the URI as a string in dagwright.importer('s3://...'), or compile for "
            "KFP, whose importer reads it at run time",
        )
    uri = value["constant"]
    if len(spec.inputs) > 1:
        raise ValidationError(
            f"Argo target: importer '{task.name}' has metadata from pipeline values "
            f"({', '.join(i.name for i in spec.inputs[1:])}), known only at run time, but its "
            "readers get the metadata when the workflow is written",
            pipeline=ir.name,
            task=task.name,
            field="metadata",
            fix="give the importer constant metadata, or compile for KFP",
        )
    # where it is kept, as a pod's output names it (values.stored), for ``dagwright replay``
    meta = encode({"metadata": spec.importer.get("metadata") or {}, "stored_at": uri})
    # not optional, unlike a Collected location (dags.py): the pod must not start without it
    return {"optional": None, **_location(ir, task, uri, options)}, meta


def _location(ir: PipelineIR, task: TaskIR, uri: str, options: Any) -> dict[str, Any]:
    scheme = scheme_of(uri)
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    bucket, _, key = rest.partition("/")
    secret = options.artifact_secret
    if scheme == "s3" and bucket and key:
        from dagwright.compiler.argo import s3_endpoint

        host, insecure = s3_endpoint(options.artifact_endpoint or AWS_ENDPOINT)
        return {
            "s3": obj(
                bucket=bucket,
                key=key,
                endpoint=host,
                insecure=True if insecure else None,
                accessKeySecret=obj(name=secret, key="accesskey") if secret else None,
                secretKeySecret=obj(name=secret, key="secretkey") if secret else None,
                useSDKCreds=None if secret else True,
            )
        }
    if scheme == "gs" and bucket and key:
        account = obj(name=secret, key="serviceAccountKey") if secret else None
        return {"gcs": obj(bucket=bucket, key=key, serviceAccountKeySecret=account)}
    if scheme in ("http", "https"):
        return {"http": obj(url=uri)}
    what = {"": "a local path", "file": "a local file:// URL"}.get(scheme, f"'{scheme}://'")
    raise ValidationError(
        f"Argo target: importer '{task.name}' imports {uri!r}, {what}, which Argo cannot fetch "
        "into a pod" + ("" if scheme in ("", "file") else " (no bucket and key)"),
        pipeline=ir.name,
        task=task.name,
        field=URI_INPUT,
        fix="put the artifact where pods can read it and import that: s3://bucket/key, "
        "gs://bucket/key or an http(s):// URL",
    )
