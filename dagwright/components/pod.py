"""What a step's pod gets besides its container: volumes, Secrets and ConfigMaps as variables,
node placement, image pull secrets, labels and annotations (``PodOptions``).

Plain data, kept on the ``ComponentSpec`` (``pod``) and so in the IR and the digest. A
Secret's value never is: only the Secret's name and key travel, and a local run reads the
value where it runs (``dagwright/engine/secrets.py``). ``pod_fields`` writes the options as
Kubernetes container and pod fields, which both compilers take as they take a runtime's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from dagwright import names
from dagwright.components.spec import PodOptions

# The field naming the object of each kfp-kubernetes platform-spec entry: the plain one,
# deprecated since kfp-kubernetes 1.4, and the parameter that replaced it
# (kubernetes_executor_config.proto in kubeflow/pipelines). The KFP compiler writes both; the
# KFP importer reads the parameter first. One table, so the two cannot drift apart.
KFP_NAME_FIELDS = {
    "secretAsEnv": ("secretName", "secretNameParameter"),
    "secretAsVolume": ("secretName", "secretNameParameter"),
    "configMapAsEnv": ("configMapName", "configMapNameParameter"),
    "configMapAsVolume": ("configMapName", "configMapNameParameter"),
    "pvcMount": ("constant", "pvcNameParameter"),
    "imagePullSecret": ("secretName", "secretNameParameter"),
}

# {mount path: folder} of a step's volumes in a local run (engine/pod_env.py); reserved (names.py)
MOUNTS_ENV = names.MOUNTS_ENV
# what each kind of volume is called in a Kubernetes pod spec
VOLUME_KINDS = ("pvc", "empty_dir", "config_map", "secret")


@dataclass(frozen=True)
class Volume:
    """A volume mounted into the step's container; make one with ``Volume.pvc``,
    ``Volume.empty_dir``, ``Volume.config_map`` or ``Volume.secret``."""

    kind: str
    mount_path: str
    name: str = ""  # the PVC, ConfigMap or Secret; for an empty dir, the volume's own name
    read_only: bool = False
    medium: str | None = None
    size_limit: str | None = None
    optional: bool = False

    @classmethod
    def pvc(cls, name: str, mount_path: str, read_only: bool = False) -> Volume:
        """The PersistentVolumeClaim ``name`` mounted at ``mount_path``."""
        return cls("pvc", mount_path, name, read_only=read_only)

    @classmethod
    def empty_dir(
        cls,
        mount_path: str,
        *,
        name: str | None = None,
        medium: str | None = None,
        size_limit: str | None = None,
    ) -> Volume:
        """An empty folder for the step's life (``medium="Memory"`` for a tmpfs); its volume
        name defaults to one made from the mount path."""
        return cls("empty_dir", mount_path, name or "", medium=medium, size_limit=size_limit)

    @classmethod
    def config_map(cls, name: str, mount_path: str, *, optional: bool = False) -> Volume:
        """The ConfigMap ``name``'s keys as files under ``mount_path`` (read-only)."""
        return cls("config_map", mount_path, name, read_only=True, optional=optional)

    @classmethod
    def secret(cls, name: str, mount_path: str, *, optional: bool = False) -> Volume:
        """The Secret ``name``'s keys as files under ``mount_path`` (read-only)."""
        return cls("secret", mount_path, name, read_only=True, optional=optional)

    @property
    def volume_name(self) -> str:
        """The name of the volume in the pod spec."""
        from dagwright.names import to_k8s_name

        if self.kind == "empty_dir" and self.name:
            return self.name
        base = to_k8s_name(f"{self.kind}-{self.name or self.mount_path}")
        return base[:63].rstrip("-") or self.kind.replace("_", "-")

    def to_dict(self) -> dict[str, Any]:
        """The volume as IR data (the fields that are set)."""
        data: dict[str, Any] = {"kind": self.kind, "mount_path": self.mount_path}
        if self.name:
            data["name"] = self.name
        for key in ("read_only", "optional"):
            if getattr(self, key):
                data[key] = True
        for key in ("medium", "size_limit"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class _KeyAsEnv:
    """One key of a named Kubernetes object as the environment variable ``env``."""

    name: str
    key: str
    env: str

    def to_dict(self) -> dict[str, Any]:
        """The reference as IR data (never the value)."""
        return {"name": self.name, "key": self.key, "env": self.env}


@dataclass(frozen=True)
class Secret(_KeyAsEnv):
    """Key ``key`` of the Kubernetes Secret ``name`` as the environment variable ``env``.

    On a cluster the pod reads it from the Secret; a local run reads it from
    ``--secrets-file`` (``DAGWRIGHT_SECRETS_FILE``) or this environment, and masks it.
    """


@dataclass(frozen=True)
class ConfigMapEnv(_KeyAsEnv):
    """Key ``key`` of the ConfigMap ``name`` as the environment variable ``env``: as a
    ``Secret`` but plain configuration, so a local run does not mask it."""


@dataclass(frozen=True)
class NodeAffinity:
    """A node-affinity rule: the node label ``key`` ``operator`` ``values`` (Kubernetes'
    NodeSelectorRequirement). Required unless a ``weight`` (1-100) makes it preferred."""

    key: str
    operator: str = "In"
    values: tuple[str, ...] = ()
    weight: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rule as IR data."""
        data: dict[str, Any] = {"key": self.key, "operator": self.operator}
        if self.values:
            data["values"] = list(self.values)
        if self.weight is not None:
            data["weight"] = self.weight
        return data


def pod_fields(options: PodOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options as Kubernetes fields: (container fields, pod fields).

    The pod fields carry ``metadata`` (labels, annotations) beside the PodSpec's own, which
    each compiler puts where its target keeps a pod's metadata.
    """
    container: dict[str, Any] = {}
    pod: dict[str, Any] = {}
    env = [_env_ref(s.env, "secretKeyRef", s.name, s.key) for s in options.secrets]
    env += [_env_ref(c.env, "configMapKeyRef", c.name, c.key) for c in options.config_maps]
    if env:
        container["env"] = env
    if options.volumes:
        container["volumeMounts"] = [_mount(v) for v in options.volumes]
        # one volume mounted at two paths is one entry of the pod's volumes
        volumes = {v.volume_name: pod_volume(v) for v in options.volumes}
        pod["volumes"] = list(volumes.values())
    if options.node_selector:
        pod["nodeSelector"] = dict(options.node_selector)
    if options.affinity:
        pod["affinity"] = {"nodeAffinity": _node_affinity(options.affinity)}
    if options.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": n} for n in options.image_pull_secrets]
    metadata = {
        key: dict(value)
        for key, value in (("labels", options.labels), ("annotations", options.annotations))
        if value
    }
    if metadata:
        pod["metadata"] = metadata
    return container, pod


def _env_ref(env: str, kind: str, name: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {kind: {"name": name, "key": key}}}


def _mount(volume: Volume) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": volume.volume_name, "mountPath": volume.mount_path}
    if volume.read_only:
        mount["readOnly"] = True
    return mount


def pod_volume(volume: Volume) -> dict[str, Any]:
    """The volume as an entry of a pod spec's ``volumes``."""
    source: dict[str, Any]
    if volume.kind == "pvc":
        source = {"persistentVolumeClaim": {"claimName": volume.name}}
        if volume.read_only:
            source["persistentVolumeClaim"]["readOnly"] = True
    elif volume.kind == "empty_dir":
        empty = {"medium": volume.medium, "sizeLimit": volume.size_limit}
        source = {"emptyDir": {k: v for k, v in empty.items() if v is not None}}
    elif volume.kind == "config_map":
        source = {"configMap": {"name": volume.name}}
    else:
        source = {"secret": {"secretName": volume.name}}
    if volume.optional:
        next(iter(source.values()))["optional"] = True
    return {"name": volume.volume_name, **source}


def _node_affinity(rules: tuple[NodeAffinity, ...]) -> dict[str, Any]:
    required = [_requirement(r) for r in rules if r.weight is None]
    preferred = [
        {"weight": r.weight, "preference": {"matchExpressions": [_requirement(r)]}}
        for r in rules
        if r.weight is not None
    ]
    affinity: dict[str, Any] = {}
    if required:  # one term: every required rule must hold on the node
        affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
            "nodeSelectorTerms": [{"matchExpressions": required}]
        }
    if preferred:
        affinity["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    return affinity


def _requirement(rule: NodeAffinity) -> dict[str, Any]:
    data: dict[str, Any] = {"key": rule.key, "operator": rule.operator}
    if rule.values:
        data["values"] = list(rule.values)
    return data


# each PodOptions field in the IR: the type of its list's items, or None for a mapping
POD_FIELDS: dict[str, Any] = {
    "volumes": Volume,
    "secrets": Secret,
    "config_maps": ConfigMapEnv,
    "affinity": NodeAffinity,
    "image_pull_secrets": str,
    "node_selector": None,
    "labels": None,
    "annotations": None,
}


def mounted(path: str | os.PathLike[str]) -> Path:
    """Where a path under a volume's mount path is: in a pod the path itself; in a local run,
    where each volume is a folder of the store, the same path under that folder."""
    wanted = PurePosixPath(path)
    mounts: dict[str, str] = json.loads(os.environ.get(MOUNTS_ENV) or "{}")
    best = max(
        (m for m in mounts if wanted == PurePosixPath(m) or PurePosixPath(m) in wanted.parents),
        key=len,
        default=None,
    )
    if best is None:
        return Path(path)
    return Path(mounts[best], wanted.relative_to(best))
