"""Cache keys: the same code, parameters and input contents give the same key.

The key is a sha256 over the component's digest (its source and options), the parameter
values, the digests of the input artifacts and the component's ``cache_version``. Outputs
taken from the cache (or from the run being resumed) are used only while every artifact still
has the sha256 recorded when it was written: one changed or deleted since means running again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dagwright.components.artifacts import Artifact
from dagwright.components.spec import ComponentSpec
from dagwright.executor import Step, StepOutcome


def cache_key(step: Step) -> str:
    """The step's cache key: a sha256 of its component, cache version, parameters and inputs."""
    spec = step.component
    payload = {
        "component": spec.digest,
        "version": spec.cache_version,
        "parameters": step.parameters,
        "artifacts": {name: _digests(value) for name, value in step.artifacts.items()},
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _digests(value: Any) -> Any:
    if isinstance(value, list):
        return [_digests(v) for v in value]
    return value.get("digest") or value.get("uri")


def restore(spec: ComponentSpec, stored: dict[str, Any]) -> tuple[StepOutcome | None, str]:
    """Outputs saved for a step, as a StepOutcome; or None and why they cannot be used (an
    output missing, an artifact gone or changed since it was written)."""
    outcome = StepOutcome()
    for out in spec.outputs:
        if out.name not in stored:
            return None, f"output '{out.name}' was not recorded"
        if out.artifact:
            artifact = Artifact.from_dict(stored[out.name])
            problem = _changed(artifact)
            if problem:
                return None, f"artifact '{out.name}' {problem}"
            outcome.artifacts[out.name] = artifact
        else:
            outcome.values[out.name] = stored[out.name]
    return outcome, ""


def _changed(artifact: Artifact) -> str:
    """How an artifact differs from when it was written: gone, or other content; or that it
    cannot be checked (its store does not answer), which means running the step again too."""
    from dagwright.errors import StoreUnreachable
    from dagwright.store.remote import exists

    try:
        if not exists(artifact.uri):
            return f"is gone ({artifact.uri})"
        if artifact.digest is None:
            return ""  # written before digests were recorded
        now = _digest(artifact.uri)
    except StoreUnreachable as error:
        return f"cannot be checked: {error}"
    if now != artifact.digest:
        found = f"sha256 {now[:12]}" if now else "nothing"
        return f"changed since it was written ({found}, recorded {artifact.digest[:12]})"
    return ""


def _digest(uri: str) -> str | None:
    import tempfile

    from dagwright.store import files, remote

    if remote.is_local(uri):
        return files.sha256_of(remote.local_path(uri))
    with tempfile.TemporaryDirectory(prefix="dagwright-check-") as folder:
        return files.sha256_of(remote.fetch(uri, folder))
