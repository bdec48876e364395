"""A component's pod options (``ComponentSpec.pod``) added to its runtime's fragments, so that
each compiler carries them as it carries a runtime's container and pod fields.

Lists (``env``, ``volumeMounts``, ``volumes``, ``imagePullSecrets``) are joined, the
runtime's first; mappings (``nodeSelector``, ``metadata``'s labels and annotations) merged,
the component's winning; a runtime's node affinity is kept beside the component's. A step
whose runtime becomes a custom resource has no pod of its own to carry them: refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from dagwright.components.pod import pod_fields
from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError
from dagwright.runtimes import Fragments

_LISTS = ("env", "volumeMounts", "volumes", "imagePullSecrets")


def with_pod_options(
    spec: ComponentSpec, fragments: Fragments, fail: Callable[..., ValidationError]
) -> Fragments:
    """``fragments`` with the component's pod options merged in.

    Args:
        spec: The component.
        fragments: Its runtime's fragments.
        fail: Makes the target's ValidationError from a problem, ``fix`` and ``field``.

    Raises:
        ValidationError: when the runtime makes a custom resource and the component has pod
            options.
    """
    if not spec.pod:
        return fragments
    if fragments.resource is not None and not spec.runtime.serves:
        raise fail(
            f"component '{spec.name}' (runtime {spec.runtime.kind}) becomes a custom resource, "
            "whose pods the runtime config describes: its pod options (volumes, secrets, "
            "labels...) have no pod to go to",
            fix="leave the pod options out of this component, or give the runtime config "
            "what it takes (Job(secrets=..., node_selector=...))",
            field="pod",
        )
    container, pod = pod_fields(spec.pod)
    return dataclasses.replace(
        fragments,
        container=_merged(fragments.container, container),
        pod=_merged(fragments.pod, pod),
    )


def _merged(theirs: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    out = dict(theirs)
    for key, value in ours.items():
        if key not in out:
            out[key] = value
        elif key in _LISTS:
            out[key] = [*out[key], *value]
        elif key == "affinity":
            out[key] = {**out[key], **value}
        elif key == "metadata":
            out[key] = {k: {**out[key].get(k, {}), **v} for k, v in value.items()}
        else:  # nodeSelector
            out[key] = {**out[key], **value}
    return out
