"""The kfp-kubernetes platform spec (the second YAML document) for one executor.

What the IR can hold is mapped: ``activeDeadlineSeconds`` becomes the component's timeout.
Scheduling hints that change where a pod lands, not what the step computes (node selector,
tolerations, affinities, pod labels and annotations, image pull settings, the security
context, resource claims), cannot be kept by the IR: they are reported in a
``KfpImportWarning`` naming each one, never dropped silently. Secrets and ConfigMaps a task
marks optional are reported the same way: there are none without Kubernetes, and the step runs
as on a cluster where they are missing, as KFP lets it. Everything else (environment
from Secrets, ConfigMaps or pod fields, volumes, init containers, pipeline-wide settings)
changes what the step sees and is refused by name. (Secrets are not read into the IR on
purpose: specs, logs and run records never hold them.)
"""

from __future__ import annotations

import warnings
from typing import Any

from dagwright.errors import ValidationError

_HINTS = {
    "nodeSelector",
    "tolerations",
    "nodeAffinity",
    "podAffinity",
    "podMetadata",
    "imagePullSecret",
    "imagePullPolicy",
    "securityContext",
    "podResourceClaims",
}
_REFUSED = {
    "secretAsEnv": "environment variables from a Secret",
    "configMapAsEnv": "environment variables from a ConfigMap",
    "fieldPathAsEnv": "environment variables from pod fields",
    "secretAsVolume": "a Secret mounted as a volume",
    "configMapAsVolume": "a ConfigMap mounted as a volume",
    "pvcMount": "a PersistentVolumeClaim mounted",
    "emptyDirMounts": "an emptyDir volume",
    "genericEphemeralVolume": "a generic ephemeral volume",
    "enabledSharedMemory": "a shared-memory volume",
    "initContainers": "init containers run before the step",
}


# Secrets and ConfigMaps a task may do without (``optional=True``): with no Kubernetes here
# there are none, so the step runs as on a cluster where they are missing
_OPTIONAL = {"secretAsEnv", "configMapAsEnv", "secretAsVolume", "configMapAsVolume"}


class KfpImportWarning(UserWarning):
    """Part of a KFP pipeline that the IR cannot keep and that does not change its results."""


def executors(documents: list[Any]) -> dict[str, dict[str, Any]]:
    """The per-executor configs of the platform spec among the YAML ``documents``."""
    found: dict[str, dict[str, Any]] = {}
    for doc in documents:
        if isinstance(doc, dict) and "platforms" in doc:
            kube = doc["platforms"].get("kubernetes", {}) or {}
            unknown = sorted(set(doc["platforms"]) - {"kubernetes"})
            unknown += [f"kubernetes.{k}" for k in sorted(set(kube) - {"deploymentSpec"})]
            if unknown:
                raise ValidationError(
                    f"platform spec '{unknown[0]}' cannot be imported",
                    field="platforms",
                    fix="keep only the kfp-kubernetes settings of tasks (remove pipeline-wide "
                    "ones such as a workspace) and recompile",
                )
            found.update(kube.get("deploymentSpec", {}).get("executors", {}) or {})
    return found


def settings(config: dict[str, Any], label: str, where: dict[str, Any]) -> dict[str, Any]:
    """The component fields one executor's platform config sets (``timeout``).

    Raises:
        ValidationError: for a field that changes what the step sees, naming it and the task.
    """
    found: dict[str, Any] = {}
    dropped = []
    absent = []
    for key, value in config.items():
        if key == "activeDeadlineSeconds":
            found["timeout"] = float(value)
        elif key in _HINTS:
            dropped.append(key)
        elif key in _OPTIONAL and _all_optional(value):
            absent.append(key)
        elif key in _REFUSED:
            raise ValidationError(
                f"the kfp-kubernetes setting '{key}' ({_REFUSED[key]}) cannot be imported yet",
                field=f"platforms.kubernetes.deploymentSpec.executors.{label}.{key}",
                fix="pass the value as a pipeline parameter instead, or remove the "
                "kubernetes.* call for this task and recompile",
                **where,
            )
        else:
            raise ValidationError(
                f"the kfp-kubernetes setting '{key}' is not known here",
                field=f"platforms.kubernetes.deploymentSpec.executors.{label}.{key}",
                fix="remove the kubernetes.* call for this task and recompile",
                **where,
            )
    if dropped:
        warnings.warn(
            KfpImportWarning(
                f"task '{where.get('task')}': kfp-kubernetes {', '.join(sorted(dropped))} "
                "only place its pod on a cluster and are not kept in the imported pipeline"
            ),
            stacklevel=2,
        )
    if absent:
        warnings.warn(
            KfpImportWarning(
                f"task '{where.get('task')}': the optional kfp-kubernetes "
                f"{', '.join(sorted(absent))} are not there without Kubernetes; the step runs "
                "as on a cluster where they are missing"
            ),
            stacklevel=2,
        )
    return found


def _all_optional(value: Any) -> bool:
    """Does every entry of a Secret or ConfigMap setting say ``optional: true``?"""
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(isinstance(i, dict) and i.get("optional") is True for i in items)
