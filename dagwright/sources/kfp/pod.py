"""The kfp-kubernetes fields that dagwright's pod options hold, read into ``PodOptions``.

Each ``KubernetesExecutorConfig`` field below has a dagwright option of the same meaning, so an
imported task keeps it: it runs locally as a dagwright task with that option does (Secret and
ConfigMap values from ``--secrets-file`` or the environment, volumes as folders of the store)
and compiles back to the same platform spec. kfp-kubernetes writes a name twice, in the
deprecated field (``secretName``, ``constant``...) and as ``...NameParameter``, a constant
``runtimeValue`` or, for a name given as a pipeline value, a parameter; dagwright names a
fixed object, so a name from a pipeline value is refused, as is what the option cannot say (a
PVC's ``subPath``). A Secret or ConfigMap variable marked ``optional`` is left to
``platform.py`` (reported: there is none without Kubernetes). The result is checked by
``checked_pod``, as ``@component``'s options are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dagwright.components.pod import KFP_NAME_FIELDS
from dagwright.errors import ValidationError

# the fields read here, and the dagwright option each becomes
MAPPED = {
    "secretAsEnv": "secrets",
    "configMapAsEnv": "config_maps",
    "pvcMount": "volumes",
    "emptyDirMounts": "volumes",
    "secretAsVolume": "volumes",
    "configMapAsVolume": "volumes",
    "nodeSelector": "node_selector",
    "nodeAffinity": "affinity",
    "imagePullSecret": "image_pull_secrets",
    "podMetadata": "labels and annotations",
}
_FROM_VALUE = ("componentInputParameter", "taskOutputParameter")

Fail = Callable[[str, str, str], ValidationError]


class _Unkept(Exception):
    """A scheduling field whose form the options cannot hold (reported, as other hints)."""


def pod_options(
    config: dict[str, Any], env: dict[str, str], field: str, where: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The ``PodOptions`` (as IR data) of one executor's mapped fields, and the scheduling
    fields whose form cannot be kept (node affinity over several required terms...).

    Args:
        config: The executor's ``KubernetesExecutorConfig`` fields that ``MAPPED`` names,
            optional Secret and ConfigMap variables already taken out.
        env: The component's plain variables (a Secret may not set one of them).
        field: Where the executor's config is, for errors.
        where: The task, for errors.

    Raises:
        ValidationError: for a name from a pipeline value, a field the option cannot say or
            a value Kubernetes would refuse, naming the field and the fix.
    """

    def fail(at: str, problem: str, fix: str) -> ValidationError:
        return ValidationError(problem, field=f"{field}.{at}", fix=fix, **where)

    from dagwright.components import pod
    from dagwright.components.pod_checks import checked_pod

    options: dict[str, Any] = {"volumes": [], "secrets": [], "config_maps": []}
    unkept: list[str] = []
    for key, value in config.items():
        items = _entries(value, key, fail)
        if key in ("secretAsEnv", "configMapAsEnv"):
            ref, object_key, target = (
                (pod.Secret, "secretKey", "secrets")
                if key == "secretAsEnv"
                else (pod.ConfigMapEnv, "configMapKey", "config_maps")
            )
            for i, item in enumerate(items):
                name = _name(item, key, f"{key}[{i}]", fail)
                for pair in _entries(item.get("keyToEnv") or [], f"{key}[{i}].keyToEnv", fail):
                    env_ref = ref(name, pair.get(object_key, ""), pair.get("envVar", ""))
                    options[target].append(env_ref)
        elif key in ("secretAsVolume", "configMapAsVolume"):
            make = pod.Volume.secret if key == "secretAsVolume" else pod.Volume.config_map
            for i, item in enumerate(items):
                name = _name(item, key, f"{key}[{i}]", fail)
                optional = bool(item.get("optional", False))
                options["volumes"].append(make(name, item.get("mountPath", ""), optional=optional))
        elif key == "pvcMount":
            for i, item in enumerate(items):
                if item.get("subPath"):
                    raise fail(
                        f"{key}[{i}].subPath",
                        f"the PVC mount at {item.get('mountPath')} mounts a sub path "
                        f"({item['subPath']!r}), which dagwright's Volume.pvc has no field for",
                        "mount the whole claim (leave sub_path out of kubernetes.mount_pvc) "
                        "and read the sub folder under the mount path, then recompile",
                    )
                name = _name(item, key, f"{key}[{i}]", fail)
                options["volumes"].append(pod.Volume.pvc(name, item.get("mountPath", "")))
        elif key == "emptyDirMounts":
            for item in items:
                options["volumes"].append(
                    pod.Volume.empty_dir(
                        item.get("mountPath", ""),
                        name=item.get("volumeName") or None,
                        medium=item.get("medium") or None,
                        size_limit=item.get("sizeLimit") or None,
                    )
                )
        elif key == "imagePullSecret":
            try:
                pulls = [_name(item, key, f"{key}[{i}]", fail) for i, item in enumerate(items)]
            except _Unkept:
                unkept.append(key)
            else:
                options["image_pull_secrets"] = pulls
        elif key == "nodeSelector":
            if set(items[0]) - {"labels"}:  # nodeSelectorJson: from a pipeline value
                unkept.append(key)
            else:
                options["node_selector"] = dict(items[0].get("labels") or {})
        elif key == "nodeAffinity":
            try:
                options["affinity"] = _affinity(items)
            except _Unkept:
                unkept.append(key)
        elif key == "podMetadata":
            options["labels"] = dict(items[0].get("labels") or {})
            options["annotations"] = dict(items[0].get("annotations") or {})
    checked = checked_pod(fail, env=env, **options)
    return (checked.to_dict() if checked else {}), unkept


def _entries(value: Any, key: str, fail: Fail) -> list[dict[str, Any]]:
    """A field's entries (one for a message field, as ``nodeSelector``), each a mapping."""
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise fail(
                f"{key}[{i}]" if isinstance(value, list) else key,
                f"{item!r} is not a kfp-kubernetes {key} entry",
                "recompile the pipeline with kfp and kfp-kubernetes",
            )
    return items


def _name(item: dict[str, Any], key: str, at: str, fail: Fail) -> str:
    """The object an entry names: its ``...NameParameter``'s constant, else the plain field."""
    plain, parameter = KFP_NAME_FIELDS[key]
    given = item.get(parameter)
    if isinstance(given, dict) and any(k in given for k in _FROM_VALUE):
        if key == "imagePullSecret":  # only where the pod is pulled from: reported
            raise _Unkept(key)
        raise fail(
            f"{at}.{parameter}",
            f"the name in {key} is a pipeline value, known only when the task runs; "
            "dagwright's pod options name a fixed object",
            "give the name as a string in the kubernetes.* call, then recompile",
        )
    if isinstance(given, dict) and "constant" in given.get("runtimeValue", {}):
        return str(given["runtimeValue"]["constant"])
    if key == "pvcMount" and any(k in item for k in _FROM_VALUE):  # the older oneof forms
        raise fail(
            at,
            "the PVC's name is a pipeline value (a parameter or a CreatePVC task's output), "
            "known only when the task runs; dagwright mounts a claim that exists",
            "create the claim beforehand and mount it by name (kubernetes.mount_pvc(task, "
            "'name', ...)), then recompile",
        )
    if not item.get(plain):
        raise fail(at, f"an entry of {key} names no object", f"give the name ({plain})")
    return str(item[plain])


def _affinity(terms: list[Any]) -> list[Any]:
    """``NodeAffinityTerm``s as dagwright's rules: one required term (every rule holds) and
    preferences of one expression each, as ``pod_fields`` writes them; other forms raise
    ``_Unkept``."""
    from dagwright.components.pod import NodeAffinity

    rules: list[NodeAffinity] = []
    required = [t for t in terms if t.get("weight") is None]
    if len(required) > 1:  # either term may match: no one set of rules says that
        raise _Unkept("nodeAffinity")
    for term in terms:
        if set(term) - {"matchExpressions", "weight"}:  # matchFields, nodeAffinityJson
            raise _Unkept("nodeAffinity")
        expressions = term.get("matchExpressions") or []
        weight = term.get("weight")
        if weight is not None and len(expressions) != 1:
            raise _Unkept("nodeAffinity")
        for e in expressions:
            values = tuple(str(v) for v in e.get("values") or ())
            rules.append(NodeAffinity(e.get("key", ""), e.get("operator", ""), values, weight))
    return rules
