"""Checks on a component's pod options (``PodOptions``), so Kubernetes never sees a bad one.

Names follow Kubernetes' rules: a PVC, ConfigMap, Secret or image pull secret is a DNS-1123
subdomain; a volume a DNS-1123 label; label and annotation keys qualified names; label values
at most 63 characters of the same alphabet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dagwright.components.pod import (
    VOLUME_KINDS,
    ConfigMapEnv,
    NodeAffinity,
    Secret,
    Volume,
    pod_volume,
)
from dagwright.components.spec import PodOptions
from dagwright.errors import ValidationError
from dagwright.names import ENV_NAME, QUANTITY, is_k8s_name, refuse_reserved_env

Fail = Callable[[str, str, str], ValidationError]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_PART = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
_MEDIA = ("", "Memory")


def checked_pod(
    fail: Fail,
    *,
    volumes: Any = (),
    secrets: Any = (),
    config_maps: Any = (),
    node_selector: Any = None,
    affinity: Any = (),
    image_pull_secrets: Any = (),
    labels: Any = None,
    annotations: Any = None,
    env: Mapping[str, str] | None = None,
) -> PodOptions:
    """The options as a checked ``PodOptions``, or a ValidationError naming the bad one.

    ``env`` is the component's plain variables: a Secret or ConfigMap may not set one of them.
    """
    vols = _items(volumes, Volume, "volumes", "Volume.pvc('data', '/data')", fail)
    for i, vol in enumerate(vols):
        _check_volume(vol, f"volumes[{i}]", fail)
    _unique_paths(vols, fail)
    secs = _items(secrets, Secret, "secrets", "Secret('db', 'password', env='DB_PASSWORD')", fail)
    maps = _items(
        config_maps, ConfigMapEnv, "config_maps", "ConfigMapEnv('cfg', 'mode', env='MODE')", fail
    )
    for what, refs in (("secrets", secs), ("config_maps", maps)):
        for i, ref in enumerate(refs):
            _check_ref(ref, f"{what}[{i}]", fail)
    _unique_env(secs, maps, env or {}, fail)
    rules = _items(affinity, NodeAffinity, "affinity", "NodeAffinity('zone', 'In', ('a',))", fail)
    rules = [_checked_rule(r, f"affinity[{i}]", fail) for i, r in enumerate(rules)]
    pulls = image_pull_secrets
    if isinstance(pulls, str) or not isinstance(pulls, Iterable):
        raise fail("image_pull_secrets", f"{pulls!r} is not a list", f"write [{pulls!r}]")
    for name in pulls:
        _subdomain(name, "image_pull_secrets", fail)
    return PodOptions(
        volumes=tuple(vols),
        secrets=tuple(secs),
        config_maps=tuple(maps),
        node_selector=_labels(node_selector, "node_selector", fail),
        affinity=tuple(rules),
        image_pull_secrets=tuple(pulls),
        labels=_labels(labels, "labels", fail),
        annotations=_annotations(annotations, fail),
    )


def _items(value: Any, kind: type, field: str, example: str, fail: Fail) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, kind):
        value = [value]
    if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
        raise fail(field, f"{field} {value!r} is not a list", f"write {field}=[{example}]")
    items = list(value)
    for item in items:
        if not isinstance(item, kind):
            raise fail(
                field,
                f"{field} holds {item!r}, not a {kind.__name__}",
                f"write {field}=[{example}]",
            )
    return items


def _check_volume(vol: Volume, field: str, fail: Fail) -> None:
    if vol.kind not in VOLUME_KINDS:
        raise fail(field, f"volume kind {vol.kind!r} is not known", "use Volume.pvc(...) etc.")
    path = vol.mount_path
    if not isinstance(path, str) or not path.startswith("/") or ":" in path:
        raise fail(
            f"{field}.mount_path",
            f"mount path {path!r} is not an absolute path",
            "give a path in the container such as '/data' (no ':')",
        )
    # the container's root hidden, a '..' Kubernetes keeps as written (two paths for one
    # folder), a control character: each a pod that does not start, or a clash unseen
    parts = path.split("/")
    if path.strip("/") == "" or ".." in parts or any(c < " " or c == "\x7f" for c in path):
        raise fail(
            f"{field}.mount_path",
            f"mount path {path!r} is the container's root, has a '..' or a control character",
            "give a folder in the container such as '/data'",
        )
    if vol.kind == "empty_dir":
        if vol.name and not is_k8s_name(vol.name):
            raise fail(f"{field}.name", f"volume name {vol.name!r} is not a DNS-1123 label", _LBL)
        if vol.medium not in (None, *_MEDIA):
            raise fail(f"{field}.medium", f"medium {vol.medium!r} is not known", "use 'Memory'")
        if vol.size_limit is not None and not (
            isinstance(vol.size_limit, str) and QUANTITY.match(vol.size_limit)
        ):
            raise fail(
                f"{field}.size_limit",
                f"size_limit {vol.size_limit!r} is not a Kubernetes quantity",
                "write it as a string such as '1Gi'",
            )
    else:
        _subdomain(vol.name, f"{field}.name", fail)
    if not isinstance(vol.read_only, bool):
        raise fail(f"{field}.read_only", f"read_only {vol.read_only!r} is not a bool", "use True")


_LBL = "use lowercase letters, digits and '-', at most 63 characters"


def _unique_paths(vols: list[Volume], fail: Fail) -> None:
    seen: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, vol in enumerate(vols):
        path = vol.mount_path.rstrip("/") or "/"
        if path in seen:
            raise fail(
                f"volumes[{i}].mount_path",
                f"mount path {vol.mount_path!r} is also the mount path of volumes[{seen[path]}]",
                "mount each volume at a path of its own",
            )
        seen[path] = i
        other = names.get(vol.volume_name)
        if other is not None and pod_volume(vols[other]) != pod_volume(vol):
            raise fail(
                f"volumes[{i}].name",
                f"volume name {vol.volume_name!r} is also that of volumes[{other}]",
                "name each empty dir (name=...) and mount one PVC read-only or not, not both",
            )
        names[vol.volume_name] = i


def _check_ref(ref: Secret | ConfigMapEnv, field: str, fail: Fail) -> None:
    _subdomain(ref.name, f"{field}.name", fail)
    if not isinstance(ref.key, str) or not re.fullmatch(r"[-._A-Za-z0-9]+", ref.key):
        raise fail(
            f"{field}.key",
            f"key {ref.key!r} is not a Secret or ConfigMap key",
            "use letters, digits, '-', '_' and '.'",
        )
    if not isinstance(ref.env, str) or not ENV_NAME.match(ref.env):
        raise fail(
            f"{field}.env",
            f"environment variable name {ref.env!r} is not valid",
            "use letters, digits and '_', not starting with a digit",
        )
    refuse_reserved_env(ref.env, f"{field}.env", fail)


def _unique_env(
    secs: list[Secret], maps: list[ConfigMapEnv], env: Mapping[str, str], fail: Fail
) -> None:
    seen = {name: f"env['{name}']" for name in env}
    groups: tuple[tuple[str, list[Any]], ...] = (("secrets", secs), ("config_maps", maps))
    for what, refs in groups:
        for i, ref in enumerate(refs):
            if ref.env in seen:
                raise fail(
                    f"{what}[{i}].env",
                    f"environment variable {ref.env} is set twice ({seen[ref.env]} and "
                    f"{what}[{i}])",
                    "give each variable one source",
                )
            seen[ref.env] = f"{what}[{i}]"


def _checked_rule(rule: NodeAffinity, field: str, fail: Fail) -> NodeAffinity:
    _qualified(rule.key, f"{field}.key", fail)
    if rule.operator not in _OPERATORS:
        raise fail(
            f"{field}.operator",
            f"operator {rule.operator!r} is not a node selector operator",
            f"use one of {', '.join(_OPERATORS)}",
        )
    values = rule.values
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise fail(f"{field}.values", f"values {values!r} is not a list", f"write ({values!r},)")
    values = tuple(values)
    if not all(isinstance(v, str) for v in values):
        raise fail(f"{field}.values", f"values {values!r} are not all strings", "quote them")
    wants = rule.operator in ("In", "NotIn", "Gt", "Lt")
    if wants != bool(values):
        raise fail(
            f"{field}.values",
            f"operator {rule.operator} {'needs' if wants else 'takes no'} values",
            "In/NotIn take values, Gt/Lt one number, Exists/DoesNotExist none",
        )
    weight = rule.weight
    if weight is not None and (
        isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100
    ):
        raise fail(f"{field}.weight", f"weight {weight!r} is not 1-100", "use e.g. weight=50")
    return NodeAffinity(rule.key, rule.operator, values, weight)


def _labels(value: Any, field: str, fail: Fail) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail(field, f"{field} {value!r} is not a mapping", f"write {field}={{'team': 'ml'}}")
    for key, val in value.items():
        _qualified(key, f"{field}.{key}", fail)
        if not isinstance(val, str) or len(val) > 63 or not _NAME_PART.match(val):
            raise fail(
                f"{field}.{key}",
                f"label value {val!r} is not valid",
                "at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
            )
    return dict(sorted(value.items()))


def _annotations(value: Any, fail: Fail) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail("annotations", f"annotations {value!r} is not a mapping", "use a dict")
    for key, val in value.items():
        _qualified(key, f"annotations.{key}", fail)
        if not isinstance(val, str):
            raise fail(f"annotations.{key}", f"annotation {key} is {val!r}", f"write {str(val)!r}")
    return dict(sorted(value.items()))


def _qualified(key: Any, field: str, fail: Fail) -> None:
    """A Kubernetes qualified name: ``[prefix/]name``, the prefix a DNS subdomain."""
    prefix, _, name = key.rpartition("/") if isinstance(key, str) else ("", "", "")
    ok = bool(name) and len(name) <= 63 and _NAME_PART.match(name) is not None
    if ok and prefix:
        ok = len(prefix) <= 253 and _SUBDOMAIN.match(prefix) is not None
    if not ok:
        raise fail(
            field,
            f"key {key!r} is not a Kubernetes qualified name",
            "use [prefix/]name: a name of letters, digits, '-', '_', '.' (at most 63), an "
            "optional DNS prefix such as 'example.com/'",
        )


def _subdomain(name: Any, field: str, fail: Fail) -> None:
    if not isinstance(name, str) or len(name) > 253 or not _SUBDOMAIN.match(name):
        raise fail(
            field,
            f"name {name!r} is not a Kubernetes object name",
            "use lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
        )
