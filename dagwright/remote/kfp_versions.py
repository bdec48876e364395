"""Pipeline versions on Kubeflow Pipelines: upload a package once as a named version, list a
pipeline's versions, and find the one a run should use.

A version uploaded by dagwright is named ``--version`` or, by default, after the package's
digest (``sha256-`` and 16 hex digits of the SHA-256 of its documents as canonical JSON, so
neither YAML layout nor key order changes it), and its description records the whole digest.
Before uploading, the version of that name is looked up: an unchanged package is run from the
version already there, never uploaded twice; a name already taken by another package is
refused, since KFP keeps a version's spec for good. A new pipeline is created empty and given
its first version the same way (KFP's upload would name that version after the pipeline).

Every request goes through ``kfp.Client`` and its generated ``kfp_server_api``; the tests hold
them to the upstream v2beta1 swagger through the KFP API stand-in.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError

Echo = Callable[[str], None]

DIGEST_NOTE = "dagwright package sha256:"
PAGE_SIZE = 100  # versions asked for per page
_LIST_FIX = "list them with: dagwright pipelines versions {name} --target kfp"


@dataclass(frozen=True)
class PipelineVersion:
    """One version of a KFP pipeline, as the server lists it.

    Attributes:
        name: The version's name.
        version_id: Its id on the server.
        pipeline_id: The pipeline's id.
        created_at: When it was uploaded (None when the server does not say).
        digest: The package's SHA-256 for a version dagwright uploaded, else None.
        description: Its description.
        spec: Its PipelineSpec when the server gives it, to check a run's arguments against.
    """

    name: str
    version_id: str
    pipeline_id: str
    created_at: datetime | None
    digest: str | None
    description: str
    spec: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON data (``created_at`` as ISO 8601)."""
        return {
            "name": self.name,
            "version_id": self.version_id,
            "pipeline_id": self.pipeline_id,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "digest": self.digest,
            "description": self.description,
        }


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """kfp.Client prints links and warns on its own; our caller says what happened instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with contextlib.redirect_stdout(io.StringIO()):
            yield


def package_digest(path: Path) -> str:
    """The SHA-256 of a package: of its YAML documents as canonical JSON, else of its bytes."""
    if path.suffix in (".yaml", ".yml"):
        import yaml

        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        data = json.dumps(docs, sort_keys=True, separators=(",", ":"), default=str).encode()
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def default_version(digest: str) -> str:
    """The name an upload gets when none is given: ``sha256-`` and 16 hex digits."""
    return f"sha256-{digest[:16]}"


def find_pipeline(client: Any, name: str, namespace: str | None) -> Any | None:
    """The pipeline of that name (a ``V2beta1Pipeline``), or None."""
    import kfp_server_api

    try:
        return client.pipelines.pipeline_service_get_pipeline_by_name(
            name=name, namespace=namespace
        )
    except kfp_server_api.ApiException as exc:
        if exc.status != 404:
            raise
        return None


def list_versions(client: Any, pipeline_id: str, name: str | None = None) -> list[PipelineVersion]:
    """Every version of a pipeline, oldest first; only the one named ``name`` when given."""
    query: dict[str, Any] = {"sort_by": "created_at", "page_size": PAGE_SIZE}
    if name is not None:
        wanted = {"key": "name", "operation": "EQUALS", "string_value": name}
        query["filter"] = json.dumps({"predicates": [wanted]})
    found: list[PipelineVersion] = []
    token = ""
    while True:
        page = client.list_pipeline_versions(pipeline_id, page_token=token, **query)
        found += [_version(v) for v in page.pipeline_versions or []]
        token = page.next_page_token or ""
        if not token:
            return [v for v in found if name is None or v.name == name]


def pipeline_versions(client: Any, name: str, namespace: str | None) -> list[PipelineVersion]:
    """The versions of the pipeline ``name``, oldest first.

    Raises:
        ValidationError: (field ``name``) when there is no such pipeline.
    """
    pipeline = find_pipeline(client, name, namespace)
    if pipeline is None:
        raise ValidationError(
            f"KFP has no pipeline named '{name}'" + (f" in {namespace}" if namespace else ""),
            field="name",
            fix="upload it first: dagwright submit FILE.py --target kfp --upload",
        )
    return list_versions(client, str(pipeline.pipeline_id))


def chosen_version(
    client: Any, pipeline: str, version: str, namespace: str | None
) -> PipelineVersion:
    """The version ``version`` of the pipeline ``pipeline``, to run as it is.

    Raises:
        ValidationError: (field ``--version``) when the pipeline or the version is missing.
    """
    found = find_pipeline(client, pipeline, namespace)
    versions = [] if found is None else list_versions(client, str(found.pipeline_id), version)
    if not versions:
        where = "no such pipeline" if found is None else "no version of that name"
        raise ValidationError(
            f"pipeline '{pipeline}' has no version '{version}' ({where})",
            field="--version",
            fix="upload it with --upload --version NAME, or pick one; "
            + _LIST_FIX.format(name=pipeline),
        )
    return versions[-1]


def upload(
    client: Any,
    path: Path,
    name: str,
    version: str | None,
    namespace: str | None,
    say: Echo,
) -> tuple[str, str]:
    """Upload the package as the version ``version`` of the pipeline ``name``, unless that
    version holds this package already; the pipeline is created when missing.

    Args:
        client: A ``kfp.Client``.
        path: The package.
        name: The pipeline's name.
        version: The version's name; None names it after the package's digest.
        namespace: The Kubernetes namespace (multi-user KFP).
        say: Takes what was done.

    Returns:
        The pipeline's and the version's ids.

    Raises:
        ValidationError: (field ``--version``) when that version holds another package.
    """
    import kfp_server_api

    digest = package_digest(path)
    version = version or default_version(digest)
    pipeline = find_pipeline(client, name, namespace)
    if pipeline is None:
        made = kfp_server_api.V2beta1Pipeline(name=name, display_name=name, namespace=namespace)
        try:
            pipeline = client.pipelines.pipeline_service_create_pipeline(pipeline=made)
            say(f"created pipeline '{name}' ({pipeline.pipeline_id})")
        except kfp_server_api.ApiException as exc:
            pipeline = _made_meanwhile(exc, lambda: find_pipeline(client, name, namespace))
    pipeline_id = str(pipeline.pipeline_id)
    there = _same(list_versions(client, pipeline_id, version), name, version, digest, say)
    if there is not None:
        return pipeline_id, there
    try:
        with quiet():
            uploaded = client.upload_pipeline_version(
                str(path),
                pipeline_version_name=version,
                pipeline_id=pipeline_id,
                description=f"{DIGEST_NOTE}{digest}",
            )
    except kfp_server_api.ApiException as exc:
        # another submit of this package uploaded it between our look and our upload
        again = _made_meanwhile(exc, lambda: list_versions(client, pipeline_id, version))
        there = _same(again, name, version, digest, say)
        assert there is not None  # _same raises for another package's version
        return pipeline_id, there
    say(f"uploaded version '{version}' of pipeline '{name}' ({pipeline_id})")
    return pipeline_id, str(uploaded.pipeline_version_id)


def _same(
    there: list[PipelineVersion], name: str, version: str, digest: str, say: Echo
) -> str | None:
    """The id of the version found when it holds this package; None when there is none.

    Raises:
        ValidationError: (field ``--version``) when it holds another package.
    """
    if not there:
        return None
    if there[-1].digest == digest:
        say(f"version '{version}' of pipeline '{name}' holds this package already")
        return there[-1].version_id
    raise ValidationError(
        f"pipeline '{name}' has a version '{version}' already, of another package",
        field="--version",
        fix="give a new --version (KFP keeps a version's spec for good), or leave "
        "--upload out to run that version as it is",
    )


def _made_meanwhile(exc: Exception, again: Callable[[], Any]) -> Any:
    """What a 409 (AlreadyExists) was about, made by another client since we looked; any other
    error, or nothing found after all, is raised as it came."""
    if getattr(exc, "status", None) != 409:
        raise exc
    found = again()
    if not found:
        raise exc
    return found


def _version(item: Any) -> PipelineVersion:
    description = str(item.description or "")
    digest = description[len(DIGEST_NOTE) :] if description.startswith(DIGEST_NOTE) else None
    created = item.created_at if isinstance(item.created_at, datetime) else None
    # the server gives {pipeline_spec, platform_spec} when the package had a platform part
    spec = item.pipeline_spec
    if isinstance(spec, dict) and isinstance(spec.get("pipeline_spec"), dict):
        spec = spec["pipeline_spec"]
    return PipelineVersion(
        name=str(item.name or item.display_name or ""),
        version_id=str(item.pipeline_version_id),
        pipeline_id=str(item.pipeline_id),
        created_at=created,
        digest=digest,
        description=description,
        spec=spec if isinstance(spec, dict) and "root" in spec else None,
    )
