"""Cache keys: the same code, parameters and input contents give the same key.

The key is a sha256 over the component's digest (its source and options), the parameter
values, the digests of the input artifacts and the component's ``cache_version``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dagwright.components.artifacts import Artifact
from dagwright.components.spec import ComponentSpec
from dagwright.executor import Step, StepOutcome


def cache_key(step: Step) -> str:
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


def restore(spec: ComponentSpec, stored: dict[str, Any]) -> StepOutcome | None:
    """Outputs saved for a step, as a StepOutcome; None when an artifact file is gone."""
    from dagwright.store.remote import exists

    outcome = StepOutcome()
    for out in spec.outputs:
        if out.name not in stored:
            return None
        if out.artifact:
            artifact = Artifact.from_dict(stored[out.name])
            if not exists(artifact.uri):
                return None
            outcome.artifacts[out.name] = artifact
        else:
            outcome.values[out.name] = stored[out.name]
    return outcome
