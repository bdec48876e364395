"""The kfp-kubernetes platform spec (the second YAML document) for one executor.

What the IR can hold is mapped: ``activeDeadlineSeconds`` becomes the component's timeout, and
the fields dagwright's pod options hold (Secrets and ConfigMaps as variables or volumes, PVC
and emptyDir mounts, node selector and affinity, image pull secrets, pod labels and
annotations) become the component's ``pod`` (``pod.py``). Scheduling hints that change where
a pod lands, not what the step computes, and that no option holds (tolerations, pod
affinity, the image pull policy, the security context, resource claims, or a mapped hint in a
form the options cannot say) are reported in a ``KfpImportWarning`` naming each one, never
dropped silently. Secret and ConfigMap variables a task marks optional are reported the same
way: there are none without Kubernetes, and the step runs as on a cluster where they are
missing, as KFP lets it. The rest (variables from pod fields, ephemeral and shared-memory
volumes, init containers, pipeline-wide settings) changes what the step sees and is refused by
name. (Secrets are not read into the IR on purpose: only their names and keys are.)
"""

from __future__ import annotations

import warnings
from typing import Any

from dagwright.errors import ValidationError
from dagwright.sources.kfp.pod import MAPPED, pod_options

_HINTS = {
    "tolerations",
    "podAffinity",
    "imagePullPolicy",
    "securityContext",
    "podResourceClaims",
}
_REFUSED = {
    "fieldPathAsEnv": (
        "environment variables from pod fields",
        "pass the value as a pipeline parameter instead, or remove the "
        "kubernetes.use_field_path_as_env call for this task and recompile",
    ),
    "genericEphemeralVolume": (
        "a generic ephemeral volume",
        "mount an empty dir instead (kubernetes.empty_dir_mount), or a PVC that exists "
        "(kubernetes.mount_pvc), and recompile",
    ),
    "enabledSharedMemory": (
        "a shared-memory volume",
        "mount an empty dir in memory at /dev/shm instead (kubernetes.empty_dir_mount(task, "
        "volume_name=..., mount_path='/dev/shm', medium='Memory')) and recompile",
    ),
    "initContainers": (
        "init containers run before the step",
        "do their work in a task the step runs after, or remove the "
        "kubernetes.add_init_container call for this task, and recompile",
    ),
}
# Secret and ConfigMap variables a task may do without (``optional=True``): with no Kubernetes
# here there are none, so the step runs as on a cluster where they are missing
_OPTIONAL = {"secretAsEnv", "configMapAsEnv"}


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


def settings(
    config: dict[str, Any], label: str, where: dict[str, Any], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The component fields one executor's platform config sets (``timeout``, ``pod``).

    ``env`` is the executor's plain variables, which a Secret or ConfigMap may not set too.

    Raises:
        ValidationError: for a field that changes what the step sees and that no option
            holds, or a mapped one the option cannot say, naming it and the task.
    """
    found: dict[str, Any] = {}
    dropped = []
    absent = []
    mapped: dict[str, Any] = {}
    field = f"platforms.kubernetes.deploymentSpec.executors.{label}"
    for key, value in config.items():
        if key == "activeDeadlineSeconds":
            found["timeout"] = float(value)
        elif key in _HINTS:
            dropped.append(key)
        elif key in _OPTIONAL:
            entries = value if isinstance(value, list) else [value]
            kept = [e for e in entries if not (isinstance(e, dict) and e.get("optional") is True)]
            if len(kept) < len(entries):
                absent.append(key)
            if kept:
                mapped[key] = kept
        elif key in MAPPED:
            mapped[key] = value
        elif key in _REFUSED:
            what, fix = _REFUSED[key]
            raise ValidationError(
                f"the kfp-kubernetes setting '{key}' ({what}) has no dagwright pod option "
                "and cannot be imported",
                field=f"{field}.{key}",
                fix=fix,
                **where,
            )
        else:
            raise ValidationError(
                f"the kfp-kubernetes setting '{key}' is not known here",
                field=f"{field}.{key}",
                fix="remove the kubernetes.* call for this task and recompile",
                **where,
            )
    if mapped:
        pod, unkept = pod_options(mapped, env or {}, field, where)
        if pod:
            found["pod"] = pod
        dropped += unkept
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
