"""Volumes and node affinity in kfp-kubernetes' platform spec (``KubernetesExecutorConfig``).

A pod's ``volumes`` and its container's ``volumeMounts`` become one entry per mount:
``pvcMount``, ``secretAsVolume``, ``configMapAsVolume`` or ``emptyDirMounts``, each object
named twice as kfp-kubernetes >= 1.4 names it (``named``). A pod's ``nodeAffinity`` becomes
``nodeAffinity`` terms: one per required selector term, one per preference with its weight.
What those messages cannot say is refused: a read-only PVC mount (``PvcMount`` has no
``readOnly``), a volume kind other than those four, a mount of a volume the pod lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dagwright.components.pod import KFP_NAME_FIELDS
from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError

Fail = Callable[..., ValidationError]


def named(key: str, name: str) -> dict[str, Any]:
    """The fields naming ``name`` in a ``key`` entry of the platform spec, written both ways as
    kfp-kubernetes >= 1.4 writes a name given as a string (its ``secret.py``, ``volume.py``,
    ``config_map.py``, ``image.py``): the deprecated plain field, which older drivers read, and
    ``...NameParameter``, a ``TaskInputsSpec.InputParameterSpec`` holding the name as a
    ``runtimeValue`` constant, which the newest driver reads first and may one day read alone
    (``backend/src/v2/driver/k8s.go``). A backend older than those fields refuses them as it
    refuses any spec kfp-kubernetes >= 1.4 compiles (kubeflow/pipelines#11935).
    """
    old, new = KFP_NAME_FIELDS[key]
    return {old: name, new: {"runtimeValue": {"constant": name}}}


_FIX = "compile for Argo (--target argo), which carries every volume field, or change the volume"


def volume_config(
    spec: ComponentSpec,
    mounts: list[Mapping[str, Any]],
    volumes: list[Mapping[str, Any]],
    fail: Fail,
) -> dict[str, Any]:
    """The platform spec's volume fields for the container's mounts of the pod's volumes."""
    by_name = {v["name"]: v for v in volumes}
    config: dict[str, list[dict[str, Any]]] = {}
    for mount in mounts:
        volume = by_name.get(mount["name"])
        if volume is None:
            raise _refused(spec, fail, f"volumeMounts.{mount['name']}", "mounts no pod volume")
        path = mount["mountPath"]
        if "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]
            if mount.get("readOnly") or claim.get("readOnly"):
                raise _refused(
                    spec,
                    fail,
                    "volumes",
                    f"the PVC '{claim['claimName']}' at {path} is read-only, and KFP's platform "
                    "spec mounts a PVC read-write only (PvcMount has no readOnly)",
                    "mount it read-write for KFP (read_only=False), or compile for Argo "
                    "(--target argo)",
                )
            entry: dict[str, Any] = {**named("pvcMount", claim["claimName"]), "mountPath": path}
            key = "pvcMount"
        elif "secret" in volume:
            entry = {**named("secretAsVolume", volume["secret"]["secretName"]), "mountPath": path}
            if volume["secret"].get("optional"):
                entry["optional"] = True
            key = "secretAsVolume"
        elif "configMap" in volume:
            entry = {**named("configMapAsVolume", volume["configMap"]["name"]), "mountPath": path}
            if volume["configMap"].get("optional"):
                entry["optional"] = True
            key = "configMapAsVolume"
        elif "emptyDir" in volume:
            entry = {"volumeName": volume["name"], "mountPath": path, **volume["emptyDir"]}
            key = "emptyDirMounts"
        else:
            kind = next((k for k in volume if k != "name"), "?")
            raise _refused(spec, fail, f"volumes.{volume['name']}", f"KFP mounts no '{kind}'")
        config.setdefault(key, []).append(entry)
    return config


def node_affinity(spec: ComponentSpec, affinity: Mapping[str, Any], fail: Fail) -> list[Any]:
    """A pod's ``affinity`` as ``NodeAffinityTerm``s (node affinity only)."""
    other = sorted(set(affinity) - {"nodeAffinity"})
    if other:
        raise _refused(spec, fail, f"affinity.{other[0]}", "KFP's platform spec has no such field")
    node = affinity.get("nodeAffinity", {})
    terms: list[dict[str, Any]] = []
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution", {})
    for term in required.get("nodeSelectorTerms", []):
        terms.append(_term(term))
    for preferred in node.get("preferredDuringSchedulingIgnoredDuringExecution", []):
        terms.append({**_term(preferred["preference"]), "weight": preferred["weight"]})
    return terms


def _term(term: Mapping[str, Any]) -> dict[str, Any]:
    return {k: [dict(r) for r in term[k]] for k in ("matchExpressions", "matchFields") if k in term}


def _refused(
    spec: ComponentSpec, fail: Fail, field: str, problem: str, fix: str = _FIX
) -> ValidationError:
    return fail(f"component '{spec.name}': {problem}", fix=fix, field=field)
