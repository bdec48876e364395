"""Cache keys: the same code, parameters and input contents give the same key.

The key is a sha256 over the component's digest (its source and options), the parameter
values, the digests of the input artifacts and the component's ``cache_version``. Outputs
taken from the cache (or from the run being resumed) are used only while every artifact still
has the sha256 recorded when it was written: one changed or deleted since means running again.

Every step the engine runs keeps the parts of its key (``KeyParts``) and what its lookup found
in its run database row (``steps.inputs``; ``RunDatabase.step_inputs``), as
``dagwright cache explain`` reads them: the key is made from those very parts, so the two
cannot disagree. Values of parameters whose names or looks say they are secret, or that hold
one of the run's secret values, are kept as ``***`` and named under ``masked``; their key part
cannot be compared afterwards.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagwright.components.artifacts import Artifact
from dagwright.components.spec import ComponentSpec
from dagwright.executor import Step, StepOutcome
from dagwright.redact import MASK, looks_secret, masked, redact_text, redact_uri, scrub, shown

if TYPE_CHECKING:
    from dagwright.engine.result import StepRecord
    from dagwright.store.rundb import RunDatabase


@dataclass(frozen=True)
class KeyParts:
    """What a step's cache key is made of: the component (name, digest), its cache_version,
    the parameter values and the input artifacts (as ``Artifact.to_dict()``, a list for a
    Collected input: their digests count)."""

    component: str
    digest: str
    version: str | None
    parameters: dict[str, Any]
    artifacts: dict[str, Any]

    @classmethod
    def of(cls, step: Step) -> KeyParts:
        """The parts of ``step``'s key."""
        spec = step.component
        return cls(spec.name, spec.digest, spec.cache_version, step.parameters, step.artifacts)

    def key(self) -> str:
        """The cache key: a sha256 of the canonical JSON of the parts."""
        payload = {
            "component": self.digest,
            "version": self.version,
            "parameters": self.parameters,
            "artifacts": {name: _digests(value) for name, value in self.artifacts.items()},
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def recorded(self, key: str = "", secrets: Sequence[str] = ()) -> dict[str, Any]:
        """The parts as the run database keeps them, with the key (``key``, when made
        already): secret parameters masked (named under ``masked``), by their name or look or
        because they hold one of the run's ``secrets`` (a secret pipeline parameter's value
        given under another name), artifact metadata masked by key and URI passwords redacted."""
        hidden = sorted(
            n for n, v in self.parameters.items() if _secret(n, v) or _holds(v, secrets)
        )
        return {
            "key": key or self.key(),
            "component": {"name": self.component, "digest": self.digest},
            "cache_version": self.version,
            "parameters": {n: MASK if n in hidden else v for n, v in self.parameters.items()},
            "masked": hidden,
            "artifacts": {n: _shown_artifact(v) for n, v in self.artifacts.items()},
        }


def cache_key(step: Step) -> str:
    """The step's cache key: a sha256 of its component, cache version, parameters and inputs."""
    return KeyParts.of(step).key()


def look_up(
    db: RunDatabase,
    step: Step,
    record: StepRecord,
    cache: bool | None,
    secrets: Sequence[str] = (),
) -> StepOutcome | None:
    """Look ``step`` up in the cache when caching is on for it (``cache``: the run's choice,
    None for the component's), and keep on ``record`` the key's parts and what was found:
    the entry's run and task, or why an entry could not be used (``secrets``: the run's
    secret values, masked wherever a parameter holds one).

    Returns:
        The cached outputs, or None when the step must run.
    """
    spec = step.component
    parts = KeyParts.of(step)
    enabled = cache if cache is not None else spec.cache
    lookup: dict[str, Any] = {
        "enabled": enabled,
        "set_by": "run" if cache is not None else "component",
    }
    outcome = None
    key = parts.key()
    if enabled:
        record.cache_key = key
        entry = db.cache_entry(record.cache_key)
        lookup["result"] = "miss"
        if entry is not None:
            outcome, why = restore(spec, json.loads(entry["outputs"]))
            lookup.update(run_id=entry["run_id"], task=entry["task"], created=entry["created"])
            lookup["result"] = "hit" if outcome is not None else "unusable"
            if why:
                record.note = f"cache entry invalid: {why}"
                lookup["reason"] = redact_text(why)
        record.cached = outcome is not None
    record.recorded_inputs = {**parts.recorded(key, secrets), "cache": lookup, "at": time.time()}
    return outcome


def _secret(name: str, value: Any) -> bool:
    """Is a parameter kept masked: its name says so, its value looks like a credential, or
    showing it would change it (a URI's password); inside a list or a dict, any item or key
    that would (a config dict's ``password``)?"""
    if isinstance(value, dict):
        return any(_secret(str(k), v) or _secret(name, v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_secret(name, v) for v in value)
    if looks_secret(value):
        return True
    seen = shown(name, value)
    return seen is not value and seen != value


def _holds(value: Any, secrets: Sequence[str]) -> bool:
    """Does a parameter's value hold one of ``secrets`` (as text, or inside JSON)?"""
    if not secrets:
        return False
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return scrub(text, secrets) != text


def _shown_artifact(value: Any) -> Any:
    if isinstance(value, list):
        return [_shown_artifact(v) for v in value]
    if not isinstance(value, dict):
        return value
    found = {**value, "metadata": masked(value.get("metadata") or {})}
    if isinstance(found.get("uri"), str):
        found["uri"] = redact_uri(found["uri"])
    return found


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
