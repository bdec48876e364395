"""A task's pod settings (``task.add_volume``, ``task.use_secret_as_env``...), named as
kfp-kubernetes' helpers are (``kubernetes.mount_pvc(task, ...)`` is ``task.mount_pvc(...)``).

Each gives the task a component variant with the setting added to its ``PodOptions``, checked
as ``@component``'s are (``task_options.vary``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagwright.components.pod import ConfigMapEnv, Secret, Volume
    from dagwright.components.spec import PodOptions
    from dagwright.pipelines.handles import TaskHandle


class PodMethods:
    """The pod settings of a task handle."""

    def add_volume(self, volume: Volume) -> TaskHandle:
        """Mount a volume (``Volume.pvc``, ``Volume.empty_dir``, ...) into the task's pod."""
        return _added(self, "add_volume", volumes=(volume,))

    def mount_pvc(self, pvc_name: str, mount_path: str, read_only: bool = False) -> TaskHandle:
        """Mount the PersistentVolumeClaim ``pvc_name`` at ``mount_path``."""
        from dagwright.components.pod import Volume

        return _added(self, "mount_pvc", volumes=(Volume.pvc(pvc_name, mount_path, read_only),))

    def empty_dir_mount(
        self,
        volume_name: str,
        mount_path: str,
        medium: str | None = None,
        size_limit: str | None = None,
    ) -> TaskHandle:
        """Mount an empty folder, for the pod's life, at ``mount_path``."""
        from dagwright.components.pod import Volume

        vol = Volume.empty_dir(mount_path, name=volume_name, medium=medium, size_limit=size_limit)
        return _added(self, "empty_dir_mount", volumes=(vol,))

    def use_secret_as_volume(
        self, secret_name: str, mount_path: str, optional: bool = False
    ) -> TaskHandle:
        """Mount the Secret's keys as files under ``mount_path``."""
        from dagwright.components.pod import Volume

        vol = Volume.secret(secret_name, mount_path, optional=optional)
        return _added(self, "use_secret_as_volume", volumes=(vol,))

    def use_config_map_as_volume(
        self, config_map_name: str, mount_path: str, optional: bool = False
    ) -> TaskHandle:
        """Mount the ConfigMap's keys as files under ``mount_path``."""
        from dagwright.components.pod import Volume

        vol = Volume.config_map(config_map_name, mount_path, optional=optional)
        return _added(self, "use_config_map_as_volume", volumes=(vol,))

    def use_secret_as_env(
        self, secret_name: str, secret_key_to_env: Mapping[str, str]
    ) -> TaskHandle:
        """Set variables from the Secret's keys (``{"password": "DB_PASSWORD"}``)."""
        from dagwright.components.pod import Secret

        refs = _as_env(self, "use_secret_as_env", Secret, secret_name, secret_key_to_env)
        return _added(self, "use_secret_as_env", secrets=refs)

    def use_config_map_as_env(
        self, config_map_name: str, config_map_key_to_env: Mapping[str, str]
    ) -> TaskHandle:
        """Set variables from the ConfigMap's keys (``{"mode": "MODE"}``)."""
        from dagwright.components.pod import ConfigMapEnv

        method, mapping = "use_config_map_as_env", config_map_key_to_env
        refs = _as_env(self, method, ConfigMapEnv, config_map_name, mapping)
        return _added(self, method, config_maps=refs)

    def add_node_selector(self, label_key: str, label_value: str) -> TaskHandle:
        """Run the task's pod only on nodes with this label."""
        return _merged(self, "add_node_selector", "node_selector", label_key, label_value)

    def add_node_affinity(
        self,
        key: str,
        operator: str = "In",
        values: Iterable[str] = (),
        weight: int | None = None,
    ) -> TaskHandle:
        """A node-affinity rule; with a ``weight`` (1-100) a preference, else a requirement."""
        from dagwright.components.pod import NodeAffinity

        rule = NodeAffinity(key, operator, tuple(values), weight)
        return _added(self, "add_node_affinity", affinity=(rule,))

    def set_image_pull_secrets(self, secret_names: Iterable[str]) -> TaskHandle:
        """The Secrets the task's image is pulled with."""
        return _added(self, "set_image_pull_secrets", image_pull_secrets=tuple(secret_names))

    def add_pod_label(self, label_key: str, label_value: str) -> TaskHandle:
        """A label on the task's pod."""
        return _merged(self, "add_pod_label", "labels", label_key, label_value)

    def add_pod_annotation(self, annotation_key: str, annotation_value: str) -> TaskHandle:
        """An annotation on the task's pod."""
        return _merged(self, "add_pod_annotation", "annotations", annotation_key, annotation_value)


def _handle(obj: Any) -> TaskHandle:
    return obj  # PodMethods is mixed into TaskHandle only


def _changed(obj: Any, method: str, change: Callable[[PodOptions], dict[str, Any]]) -> TaskHandle:
    """The task with a variant whose pod options have ``change(options)``'s fields."""
    from dagwright.pipelines import task_options

    handle = _handle(obj)
    task_options.runs_code(handle, method)
    pod = handle.builder.ir.component_of(handle.name).pod
    task_options.vary(handle, method, pod=dataclasses.replace(pod, **change(pod)))
    return handle


def _added(obj: Any, method: str, **more: tuple[Any, ...]) -> TaskHandle:
    """Items appended to the pod options' lists."""
    return _changed(
        obj, method, lambda pod: {k: (*getattr(pod, k), *items) for k, items in more.items()}
    )


def _merged(obj: Any, method: str, field: str, key: Any, value: Any) -> TaskHandle:
    """One entry set in one of the pod options' mappings."""
    return _changed(obj, method, lambda pod: {field: {**getattr(pod, field), key: value}})


def _as_env(
    obj: Any, method: str, ref: type[Secret | ConfigMapEnv], name: str, mapping: Any
) -> tuple[Any, ...]:
    """A Secret's or ConfigMap's keys as variables, one ``ref`` per key."""
    return tuple(ref(name, key, env) for key, env in _pairs(obj, method, mapping))


def _pairs(obj: Any, method: str, mapping: Any) -> list[tuple[Any, Any]]:
    from dagwright.errors import ValidationError

    if not isinstance(mapping, Mapping) or not mapping:
        raise ValidationError(
            f"task '{_handle(obj).name}' ({method}): {mapping!r} is not a mapping of keys to "
            "variable names",
            field=method,
            fix=f"write {method}('name', {{'key': 'ENV_NAME'}})",
        )
    return list(mapping.items())
